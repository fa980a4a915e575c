//! [`Checked`]: a decision under test, with chainable assertions.

use std::collections::BTreeSet;
use std::fmt;

use crate::decision::{AssignedBy, Experience, Priority, RouteDecision, Unavailable};
use crate::policy::explain::Explanation;

/// A decision under test, with chainable assertions.
///
/// Every assertion returns `&Self` so they chain, and panics on failure with
/// what was expected, what the decision said, and then the decision's full
/// [`Explanation`]. The panic is reported at the line of *your* test that
/// called the assertion (`#[track_caller]` all the way down), not inside
/// this crate.
///
/// ```
/// use leadroute::testing::PolicyTester;
/// use leadroute::decision::Priority;
///
/// let t = PolicyTester::from_toml(r#"
///     name = "inbound"
///     version = "1"
///     owners = [{ id = "ana", name = "Ana" }, { id = "queue", name = "Queue" }]
///     [[rules]]
///     id = "spam"
///     when = { email_kind = ["disposable"] }
///     then = { assign = "nobody", experience = { reject = { reason = "use your work email" } } }
///     [[rules]]
///     id = "us"
///     when = { country = ["US"] }
///     then = { assign = { owner = "ana" }, tags = ["enterprise", "us"], priority = "high", sla_minutes = 15 }
///     [fallback]
///     assign = { owner = "queue" }
/// "#);
/// t.route(r#"{"email": "cto@bigco.com", "country": "US"}"#)
///     .assert_owner("ana")
///     .assert_tag("us")
///     .assert_tags(["us", "enterprise"]) // the exact set, in any order
///     .assert_priority(Priority::High)
///     .assert_sla_minutes(15)
///     .assert_written();
/// t.route(r#"{"email": "x@mailinator.com"}"#)
///     .assert_rejected()
///     .assert_unassigned()
///     .assert_not_written();
///
/// // A failing assertion says what it expected, what it got, and why.
/// let failed = std::panic::catch_unwind(|| {
///     t.route(r#"{"email": "cto@bigco.de"}"#).assert_owner("ana");
/// });
/// let message = failed.unwrap_err().downcast::<String>().unwrap();
/// assert!(message.starts_with("expected owner `ana`, got `queue`\nAssigned to queue"));
/// assert!(message.contains("fallback: no rule matched"));
/// ```
#[derive(Debug, Clone)]
pub struct Checked {
    /// The decision.
    pub decision: RouteDecision,
    /// Its explanation (printed when an assertion fails).
    pub explanation: Explanation,
}

/// An optional id for messages: `` `ana` `` or `nobody`.
struct Who<'a>(Option<&'a str>);

impl fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, "`{id}`"),
            None => f.write_str("nobody"),
        }
    }
}

/// A list of ids for messages: `[enterprise, us]`.
struct List<'a, T>(&'a [T]);

impl<T: AsRef<str>> fmt::Display for List<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(item.as_ref())?;
        }
        f.write_str("]")
    }
}

fn priority_name(p: Option<Priority>) -> &'static str {
    match p {
        None => "none",
        Some(Priority::Low) => "low",
        Some(Priority::Normal) => "normal",
        Some(Priority::High) => "high",
        Some(Priority::Urgent) => "urgent",
    }
}

fn unavailable_name(u: Option<Unavailable>) -> String {
    match u {
        None => "no `owner_unavailable`".to_owned(),
        Some(u) => format!("`owner_unavailable = {}`", u.as_str()),
    }
}

fn assigned_by(a: &AssignedBy) -> String {
    match a {
        AssignedBy::AccountOwner => "the matched account's owner".to_owned(),
        AssignedBy::ContactOwner => "the existing contact's owner".to_owned(),
        AssignedBy::Owner => "an owner named by the policy".to_owned(),
        AssignedBy::Pool(p) => format!("pool `{p}`"),
        AssignedBy::PoolFallback(p) => format!("the fallback owner of pool `{p}`"),
        AssignedBy::Nobody => "nobody".to_owned(),
    }
}

impl Checked {
    /// Panics with `what`, then the explanation, at the caller's caller.
    #[track_caller]
    fn fail(&self, what: fmt::Arguments<'_>) -> ! {
        panic!("{what}\n{}", self.explanation)
    }

    /// Asserts the owner id.
    #[track_caller]
    pub fn assert_owner(&self, owner: &str) -> &Self {
        if self.decision.owner_id() != Some(owner) {
            self.fail(format_args!(
                "expected owner `{owner}`, got {}",
                Who(self.decision.owner_id())
            ));
        }
        self
    }

    /// Asserts that nobody was assigned.
    #[track_caller]
    pub fn assert_unassigned(&self) -> &Self {
        if let Some(o) = self.decision.owner_id() {
            self.fail(format_args!("expected no owner, got `{o}`"));
        }
        self
    }

    /// Asserts the deciding rule.
    #[track_caller]
    pub fn assert_rule(&self, rule: &str) -> &Self {
        if self.decision.rule.as_deref() != Some(rule) {
            let got = match &self.decision.rule {
                Some(r) => format!("rule `{r}`"),
                None => "the fallback".to_owned(),
            };
            self.fail(format_args!("expected rule `{rule}`, got {got}"));
        }
        self
    }

    /// Asserts the fallback decided.
    #[track_caller]
    pub fn assert_fallback(&self) -> &Self {
        if !self.decision.fallback {
            self.fail(format_args!(
                "expected the fallback, got rule {}",
                Who(self.decision.rule.as_deref())
            ));
        }
        self
    }

    /// Asserts the experience by name (`book_meeting`, `confirmation`,
    /// `customer_success`, `nurture`, `manual_review`, `reject`).
    #[track_caller]
    pub fn assert_experience(&self, name: &str) -> &Self {
        if self.decision.experience.name() != name {
            self.fail(format_args!(
                "expected experience `{name}`, got `{}`",
                self.decision.experience.name()
            ));
        }
        self
    }

    /// Asserts the buyer is offered a meeting with `owner`.
    #[track_caller]
    pub fn assert_meeting_with(&self, owner: &str) -> &Self {
        match &self.decision.experience {
            Experience::BookMeeting { with } if &**with == owner => self,
            Experience::BookMeeting { with } => self.fail(format_args!(
                "expected a meeting with `{owner}`, got a meeting with `{with}`"
            )),
            other => self.fail(format_args!(
                "expected a meeting with `{owner}`, got experience `{}`",
                other.name()
            )),
        }
    }

    /// Asserts the lead is rejected (experience `reject`, whatever the
    /// reason).
    #[track_caller]
    pub fn assert_rejected(&self) -> &Self {
        if !self.decision.is_rejected() {
            self.fail(format_args!(
                "expected the lead to be rejected, got experience `{}`",
                self.decision.experience.name()
            ));
        }
        self
    }

    /// Asserts the decision carries `tag` (among others, perhaps).
    #[track_caller]
    pub fn assert_tag(&self, tag: &str) -> &Self {
        if !self.decision.tags.iter().any(|t| &**t == tag) {
            self.fail(format_args!(
                "expected tag `{tag}`, got tags {}",
                List(&self.decision.tags)
            ));
        }
        self
    }

    /// Asserts the decision's tags are exactly `tags`, in any order
    /// (duplicates ignored). `assert_tags([] as [&str; 0])` asserts no tags.
    #[track_caller]
    pub fn assert_tags<I, S>(&self, tags: I) -> &Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let tags: Vec<S> = tags.into_iter().collect();
        let want: BTreeSet<&str> = tags.iter().map(AsRef::as_ref).collect();
        let got: BTreeSet<&str> = self.decision.tags.iter().map(|t| &**t).collect();
        if want != got {
            let want: Vec<&str> = want.into_iter().collect();
            let got: Vec<&str> = got.into_iter().collect();
            self.fail(format_args!(
                "expected tags {}, got {}",
                List(&want),
                List(&got)
            ));
        }
        self
    }

    /// Asserts the priority.
    #[track_caller]
    pub fn assert_priority(&self, priority: Priority) -> &Self {
        if self.decision.priority != Some(priority) {
            self.fail(format_args!(
                "expected priority `{}`, got `{}`",
                priority_name(Some(priority)),
                priority_name(self.decision.priority)
            ));
        }
        self
    }

    /// Asserts the SLA in minutes.
    #[track_caller]
    pub fn assert_sla_minutes(&self, minutes: u32) -> &Self {
        if self.decision.sla_minutes != Some(minutes) {
            match self.decision.sla_minutes {
                Some(got) => self.fail(format_args!(
                    "expected an SLA of {minutes} minutes, got {got} minutes"
                )),
                None => self.fail(format_args!(
                    "expected an SLA of {minutes} minutes, got no SLA"
                )),
            }
        }
        self
    }

    /// Asserts the owner was assigned although they were unavailable at the
    /// decision time ([`RouteDecision::owner_unavailable`]: off shift or
    /// away, kept because the action does not `check_availability`).
    #[track_caller]
    pub fn assert_owner_unavailable(&self, reason: Unavailable) -> &Self {
        if self.decision.owner_unavailable != Some(reason) {
            self.fail(format_args!(
                "expected {} to be assigned while `{}`, got {}",
                Who(self.decision.owner_id()),
                reason.as_str(),
                unavailable_name(self.decision.owner_unavailable)
            ));
        }
        self
    }

    /// Asserts the decision does not say its owner is unavailable (no
    /// [`RouteDecision::owner_unavailable`]).
    #[track_caller]
    pub fn assert_owner_available(&self) -> &Self {
        if let Some(reason) = self.decision.owner_unavailable {
            self.fail(format_args!(
                "expected no `owner_unavailable`, got {} assigned while `{}`",
                Who(self.decision.owner_id()),
                reason.as_str()
            ));
        }
        self
    }

    /// Asserts the owner was chosen by round robin in `pool` (a first
    /// assignment or a replay of a lead id).
    #[track_caller]
    pub fn assert_pool(&self, pool: &str) -> &Self {
        match &self.decision.assigned_by {
            AssignedBy::Pool(p) if &**p == pool => self,
            other => self.fail(format_args!(
                "expected the owner to be chosen by pool `{pool}`, got {} chosen by {}",
                Who(self.decision.owner_id()),
                assigned_by(other)
            )),
        }
    }

    /// Asserts the lead is to be written to the CRM.
    #[track_caller]
    pub fn assert_written(&self) -> &Self {
        if !self.decision.write_to_crm {
            self.fail(format_args!(
                "expected the lead to be written to the CRM, got write_to_crm = false (experience `{}`)",
                self.decision.experience.name()
            ));
        }
        self
    }

    /// Asserts the lead is not to be written to the CRM (rejections, by
    /// default).
    #[track_caller]
    pub fn assert_not_written(&self) -> &Self {
        if self.decision.write_to_crm {
            self.fail(format_args!(
                "expected the lead not to be written to the CRM, got write_to_crm = true (experience `{}`)",
                self.decision.experience.name()
            ));
        }
        self
    }

    /// Asserts the rendered explanation contains `text` — e.g. `"CRM account
    /// lookup timed out"` or ``"pool `team`: bob skipped: unavailable"``.
    #[track_caller]
    pub fn assert_explanation_contains(&self, text: &str) -> &Self {
        if !self.explanation.to_string().contains(text) {
            self.fail(format_args!(
                "expected the explanation to contain {text:?}; it does not"
            ));
        }
        self
    }
}
