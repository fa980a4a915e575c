//! The recommended screening rules: the documented default policy for
//! spam, as [`RuleSpec`]s to put first in a policy's rules.

use crate::policy::spec::{ActionSpec, Condition, ExperienceSpec, RuleSpec, SpamTest};
use crate::submission::signal::SignalKind;

/// The score from which the recommended rules reject: 100.
pub const REJECT_AT: u32 = 100;
/// The score from which the recommended rules hold for review: 40.
pub const REVIEW_AT: u32 = 40;

/// The recommended screening rules, to put before a policy's own rules:
///
/// ```toml
/// [[rules]]
/// id = "spam-reject"
/// when = { any = [{ signal = ["honeypot", "known_bad_domain"] }, { spam = { score_at_least = 100 } }] }
/// then = { assign = "nobody", experience = { reject = { reason = "submission rejected" } }, tags = ["spam"] }
///
/// [[rules]]
/// id = "spam-review"
/// when = { spam = { score_at_least = 40 } }
/// then = { assign = "nobody", experience = "manual_review", tags = ["suspected_spam"] }
/// ```
///
/// A rejected submission is not written to the CRM; a held one is written,
/// unassigned and tagged, for a person to look at. With the default
/// [`Weights`](super::Weights), no single signal a real person can trip by
/// accident reaches the reject line, and the test table
/// (`tests/fixtures/spam_cases.json`) holds no real lead these rules
/// reject. To route suspected spam normally but tagged, replace the second
/// rule's action with your routing and a tag.
///
/// ```
/// use leadroute::policy::spec::{ActionSpec, OwnerSpec};
/// use leadroute::{PolicySpec, compile, submission};
///
/// let mut spec = PolicySpec::new("inbound", "1")
///     .owner(OwnerSpec::new("queue", "Queue"))
///     .fallback(ActionSpec::owner("queue"));
/// spec.rules.splice(0..0, submission::recommended_rules());
/// let policy = compile(&spec).unwrap();
/// assert_eq!(policy.rule_ids().collect::<Vec<_>>(), ["spam-reject", "spam-review"]);
/// ```
pub fn recommended_rules() -> Vec<RuleSpec> {
    vec![
        RuleSpec::new(
            "spam-reject",
            Condition::signal([SignalKind::Honeypot, SignalKind::KnownBadDomain])
                .or(Condition::Spam(SpamTest::at_least(REJECT_AT))),
            ActionSpec::nobody()
                .experience(ExperienceSpec::reject("submission rejected"))
                .tag("spam"),
        ),
        RuleSpec::new(
            "spam-review",
            Condition::Spam(SpamTest::at_least(REVIEW_AT)),
            ActionSpec::nobody()
                .experience(ExperienceSpec::ManualReview)
                .tag("suspected_spam"),
        ),
    ]
}
