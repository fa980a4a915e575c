//! [`Checked`]: a decision under test, with chainable assertions.

use crate::decision::{Experience, RouteDecision};
use crate::policy::explain::Explanation;

/// A decision under test, with chainable assertions.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The decision.
    pub decision: RouteDecision,
    /// Its explanation (printed when an assertion fails).
    pub explanation: Explanation,
}

impl Checked {
    /// Panics with `what`, then the explanation, at the caller's caller.
    #[track_caller]
    fn fail(&self, what: std::fmt::Arguments<'_>) -> ! {
        panic!("{what}\n{}", self.explanation)
    }

    /// Asserts the owner id.
    #[track_caller]
    pub fn assert_owner(&self, owner: &str) -> &Self {
        if self.decision.owner_id() != Some(owner) {
            self.fail(format_args!(
                "expected owner `{owner}`, got {:?}",
                self.decision.owner_id()
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
            self.fail(format_args!(
                "expected rule `{rule}`, got {:?}",
                self.decision.rule
            ));
        }
        self
    }

    /// Asserts the fallback decided.
    #[track_caller]
    pub fn assert_fallback(&self) -> &Self {
        if !self.decision.fallback {
            self.fail(format_args!(
                "expected the fallback, got rule {:?}",
                self.decision.rule
            ));
        }
        self
    }

    /// Asserts the experience by name (`book_meeting`, `confirmation`, …).
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
            other => self.fail(format_args!(
                "expected a meeting with `{owner}`, got {other:?}"
            )),
        }
    }
}
