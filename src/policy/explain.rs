//! Rendering a decision's compact trace into something people read: "why did
//! this lead go to Bob?"

use std::fmt;

use serde::{Deserialize, Serialize};

use super::program::Program;
use crate::crm::records::{Lookup, LookupStatus};
use crate::decision::{
    AssignedBy, FallbackReason, Observed, RouteDecision, TraceEvent, Unavailable,
};
use crate::pool::rotation::SkipReason;

/// A decision's trace with every index resolved: rule ids, condition paths,
/// operators, expected and observed values, pool members by owner id.
///
/// Serializes to JSON; `Display` renders a short human-readable account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Explanation {
    /// One sentence: who, how, by which rule, under which policy.
    pub summary: String,
    /// Every step, in evaluation order.
    pub steps: Vec<Step>,
}

/// One explained step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Step {
    /// A condition (leaf or `all`/`any`/`not`).
    Condition {
        /// Rule id.
        rule: String,
        /// Path in the spec (`rules[1].when.all[0].country`).
        path: String,
        /// What was tested (`country`, `account.has_owner`, …).
        field: String,
        /// The operator (`in`, `within`, `is`, `any_of`, `regex`, …).
        op: String,
        /// The expected value, as written.
        expected: String,
        /// The observed value.
        observed: Observed,
        /// The result.
        result: bool,
    },
    /// A rule's verdict.
    Rule {
        /// Rule id.
        rule: String,
        /// Whether its condition held.
        matched: bool,
    },
    /// Rules not evaluated because they require a country, region, postal
    /// prefix, product or email kind the lead does not have.
    RulesSkipped {
        /// Their ids, first and last of the run.
        from: String,
        /// Last rule id of the run.
        to: String,
        /// How many.
        count: u32,
    },
    /// An assignee could not take the lead.
    Unavailable {
        /// Rule id (`None`: the fallback).
        rule: Option<String>,
        /// Why.
        reason: Unavailable,
    },
    /// A pool member passed over.
    PoolSkip {
        /// Pool id.
        pool: String,
        /// Owner id.
        owner: String,
        /// Why.
        reason: SkipReason,
    },
    /// The pool member chosen.
    PoolChoice {
        /// Pool id.
        pool: String,
        /// Owner id.
        owner: String,
        /// Why this member.
        why: String,
    },
    /// The pool store failed; the pool chose on local state.
    PoolStoreUnavailable {
        /// Pool id.
        pool: String,
    },
    /// A pool with nobody eligible handed over to its fallback.
    PoolFallback {
        /// Pool id.
        pool: String,
    },
    /// The policy fallback decided.
    Fallback {
        /// Why.
        why: String,
    },
    /// A CRM lookup could not say; the policy routed without that record.
    CrmUnavailable {
        /// Which lookup.
        lookup: Lookup,
        /// What happened.
        status: LookupStatus,
    },
}

/// Resolves a decision's trace against the program that made it.
pub(crate) fn explain(p: &Program, decision: &RouteDecision) -> Explanation {
    let rule_id = |r: u32| p.rule_id(r);
    let pool_id = |i: u32| p.pool_id(i);
    let member_id = |pool: u32, m: u32| p.member_id(pool, m);
    let steps = decision
        .trace
        .events
        .iter()
        .map(|e| match *e {
            TraceEvent::Condition { node, observed, result } => {
                let info = p.nodes.get(node as usize);
                Step::Condition {
                    rule: info.and_then(|n| n.rule).map_or_else(String::new, rule_id),
                    path: info.map(|n| n.path.clone()).unwrap_or_default(),
                    field: info.map(|n| n.field.to_owned()).unwrap_or_default(),
                    op: info.map(|n| n.op.to_owned()).unwrap_or_default(),
                    expected: info.map(|n| n.expected.clone()).unwrap_or_default(),
                    observed,
                    result,
                }
            }
            TraceEvent::Rule { rule, matched } => Step::Rule { rule: rule_id(rule), matched },
            TraceEvent::RulesSkipped { first, count } => Step::RulesSkipped {
                from: rule_id(first),
                to: rule_id(first + count.saturating_sub(1)),
                count,
            },
            TraceEvent::Unavailable { rule, reason } => Step::Unavailable { rule: rule.map(rule_id), reason },
            TraceEvent::PoolSkip { pool, member, reason } => Step::PoolSkip { pool: pool_id(pool), owner: member_id(pool, member), reason },
            TraceEvent::PoolChoice { pool, member, current, eligible_weight, eligible, replay } => Step::PoolChoice {
                pool: pool_id(pool),
                owner: member_id(pool, member),
                why: if replay {
                    "this lead id was already assigned by this pool; same owner again".into()
                } else {
                    format!("highest rotation counter ({current}) among {eligible} eligible member(s) with total weight {eligible_weight}")
                },
            },
            TraceEvent::PoolFallback { pool } => Step::PoolFallback { pool: pool_id(pool) },
            TraceEvent::PoolStoreUnavailable { pool } => Step::PoolStoreUnavailable { pool: pool_id(pool) },
            TraceEvent::Fallback { reason } => Step::Fallback {
                why: match reason {
                    FallbackReason::NoRuleMatched => "no rule matched".into(),
                    FallbackReason::RuleAsked { rule } => format!("rule `{}` could not assign and sends such leads to the fallback", rule_id(rule)),
                },
            },
            TraceEvent::CrmUnavailable { lookup, status } => Step::CrmUnavailable { lookup, status },
        })
        .collect();
    Explanation {
        summary: summary(decision),
        steps,
    }
}

fn summary(d: &RouteDecision) -> String {
    let by = match &d.rule {
        Some(r) => format!("by rule `{r}`"),
        None => "by the fallback".to_owned(),
    };
    let who = match (&d.owner, &d.assigned_by) {
        (Some(o), AssignedBy::AccountOwner) => {
            format!("Assigned to {o} (the matched account's owner {by})")
        }
        (Some(o), AssignedBy::ContactOwner) => {
            format!("Assigned to {o} (the existing contact's owner {by})")
        }
        (Some(o), AssignedBy::Pool(p)) => {
            format!("Assigned to {o} (round robin in pool `{p}` {by})")
        }
        (Some(o), _) => format!("Assigned to {o} (owner named {by})"),
        (None, _) => format!("Not assigned to anyone ({by})"),
    };
    format!(
        "{who} [policy {} v{}]; experience: {}",
        d.policy_name,
        d.policy_version,
        d.experience.name()
    )
}

impl fmt::Display for Explanation {
    /// The summary, then each rule with its conditions indented beneath it
    /// (conditions are recorded before their rule's verdict; they are shown
    /// after its header here because that is how people read).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary)?;
        let mut pending: Vec<&Step> = Vec::new();
        for step in &self.steps {
            if matches!(step, Step::Condition { .. }) {
                pending.push(step);
                continue;
            }
            if let Step::Rule { rule, matched } = step {
                writeln!(
                    f,
                    "  rule `{rule}`: {}",
                    if *matched { "matched" } else { "did not match" }
                )?;
            } else {
                write_step(f, step)?;
            }
            for c in pending.drain(..) {
                write_step(f, c)?;
            }
        }
        for c in pending {
            write_step(f, c)?;
        }
        Ok(())
    }
}

fn write_step(f: &mut fmt::Formatter<'_>, step: &Step) -> fmt::Result {
    match step {
        Step::Condition {
            field,
            op,
            expected,
            observed,
            result,
            ..
        } => match op.as_str() {
            "all" | "any" => writeln!(f, "    {op} of {expected} → {result}"),
            "not" => writeln!(f, "    not → {result}"),
            _ => writeln!(
                f,
                "    {field} {op} {expected}: observed {observed} → {result}"
            ),
        },
        Step::Rule { rule, matched } => {
            writeln!(
                f,
                "  rule `{rule}`: {}",
                if *matched { "matched" } else { "did not match" }
            )
        }
        Step::Unavailable { rule, reason } => writeln!(
            f,
            "  {} could not assign: {}",
            rule.as_deref()
                .map_or_else(|| "the fallback".to_owned(), |r| format!("rule `{r}`")),
            serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
        Step::PoolSkip {
            pool,
            owner,
            reason,
        } => {
            let why = match reason {
                SkipReason::Inactive => "inactive".to_owned(),
                SkipReason::Unavailable => "unavailable".to_owned(),
                SkipReason::AtCapacity { count, max } => format!("at capacity ({count}/{max})"),
                SkipReason::NotNext { current } => format!("not next (counter {current})"),
            };
            writeln!(f, "    pool `{pool}`: {owner} skipped: {why}")
        }
        Step::PoolChoice { pool, owner, why } => {
            writeln!(f, "    pool `{pool}`: {owner} chosen: {why}")
        }
        Step::RulesSkipped { from, to, count } => match count {
            1 => writeln!(
                f,
                "  rule `{from}`: ruled out by the index (it requires a country, region, postal prefix, product or email kind this lead lacks)"
            ),
            _ => writeln!(
                f,
                "  {count} rules `{from}` … `{to}`: ruled out by the index (each requires a country, region, postal prefix, product or email kind this lead lacks)"
            ),
        },
        Step::PoolStoreUnavailable { pool } => writeln!(
            f,
            "    pool `{pool}`: the pool store failed; chosen on this process's last known state, not recorded in the store"
        ),
        Step::PoolFallback { pool } => writeln!(
            f,
            "    pool `{pool}`: nobody eligible; using the pool's fallback"
        ),
        Step::Fallback { why } => writeln!(f, "  fallback: {why}"),
        Step::CrmUnavailable { lookup, status } => writeln!(
            f,
            "  CRM {} lookup {}; routed without it",
            lookup.as_str(),
            match status {
                LookupStatus::TimedOut => "timed out",
                _ => "failed",
            }
        ),
    }
}
