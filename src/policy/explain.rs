//! Rendering a decision's compact trace into something people read: "why did
//! this lead go to Bob?"

use std::fmt;

use serde::{Deserialize, Serialize};

use super::index::Requirements;
use super::program::Program;
use crate::crm::records::{Lookup, LookupStatus};
use crate::decision::{
    AssignedBy, FallbackReason, IndexedFact, IndexedFacts, Observed, RouteDecision, TraceEvent,
    Unavailable,
};
use crate::matching::{MatchMethod, MatchOutcome};
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
    /// How the lead was matched to an account, in words ("matched Acme
    /// Corporation (acme.com) by cross-TLD domain acme.co.uk, confidence
    /// 0.85; …"), when the decision carries the matcher's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_match: Option<String>,
    /// The SLA deadline in words, when the decision has an SLA: "SLA 15 min
    /// in ana's working hours: due Mon 09:10 Europe/Berlin
    /// (2026-12-07T08:10:00Z)" — whose working hours it counted in (the
    /// assignee's schedule, else the choosing pool's, else plain minutes)
    /// and the deadline in that schedule's zone and in UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<String>,
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
    /// Rules not evaluated: the rule index showed that each requires, of at
    /// least one fact in `by`, a value the lead does not have.
    RulesSkipped {
        /// First rule id of the run.
        from: String,
        /// Last rule id of the run.
        to: String,
        /// How many rules.
        count: u32,
        /// The lead attributes that rule them out, each with the lead's
        /// value of it.
        by: Vec<SkippedBy>,
        /// What each rule requires of the attribute that rules it out (the
        /// first few of the run; `count` says how many there are).
        rules: Vec<SkippedRule>,
    },
    /// An assignee could not take the lead.
    Unavailable {
        /// Rule id (`None`: the fallback).
        rule: Option<String>,
        /// Why.
        reason: Unavailable,
    },
    /// The owner an action named directly was off shift or away and was
    /// assigned anyway (the action does not check availability).
    OwnerOffShift {
        /// Owner id.
        owner: String,
        /// `off_shift` or `away`.
        reason: Unavailable,
        /// The decision time in the owner's zone (`"Sat 10:00"`), if they
        /// have a schedule.
        local: Observed,
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
    /// A pool that reads open-lead counts had none; it chose by rotation.
    OpenLeadsUnknown {
        /// Pool id.
        pool: String,
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
    /// How the lead was matched to an account (the trace's
    /// `account_match` event).
    AccountMatch {
        /// Matched, ambiguous or no match.
        outcome: MatchOutcome,
        /// How the account was identified.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<MatchMethod>,
        /// The confidence, 0 to 1.
        confidence: f64,
        /// The matched account's id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// How many candidates were considered.
        candidates: u32,
    },
    /// A CRM lookup could not say; the policy routed without that record.
    CrmUnavailable {
        /// Which lookup.
        lookup: Lookup,
        /// What happened.
        status: LookupStatus,
    },
    /// The trace reached its limit: this many steps are not shown here.
    Truncated {
        /// Steps left out.
        omitted: u64,
    },
}

/// Resolves a decision's trace against the program that made it.
pub(crate) fn explain(p: &Program, decision: &RouteDecision) -> Explanation {
    let rule_id = |r: u32| p.rule_id(r);
    let pool_id = |i: u32| p.pool_id(i);
    let member_id = |pool: u32, m: u32| p.member_id(pool, m);
    // Lead values are recorded before the skipped runs they explain.
    let mut lead_values: Vec<(IndexedFact, Observed)> = Vec::new();
    // A least-loaded pool's load, recorded just before its choice.
    let mut load: Option<(u32, u32, u32, u32)> = None;
    let mut steps = Vec::with_capacity(decision.trace.events.len());
    for event in &decision.trace.events {
        let step = match *event {
            TraceEvent::Condition {
                node,
                observed,
                result,
            } => {
                let info = p.nodes.get(node as usize);
                let texts = &p.node_texts;
                let (field, op) = info.map_or(("", ""), |n| texts.kind(n));
                Step::Condition {
                    rule: info.and_then(|n| n.rule).map_or_else(String::new, rule_id),
                    path: info.map(|n| texts.path(n)).unwrap_or_default(),
                    field: field.to_owned(),
                    op: op.to_owned(),
                    expected: info
                        .map(|n| texts.expected(n).to_owned())
                        .unwrap_or_default(),
                    observed,
                    result,
                }
            }
            TraceEvent::Rule { rule, matched } => Step::Rule {
                rule: rule_id(rule),
                matched,
            },
            TraceEvent::LeadValue { fact, observed } => {
                lead_values.push((fact, observed));
                continue;
            }
            TraceEvent::RulesSkipped { first, count, by } => {
                skipped_step(p, (first, count), by, &lead_values)
            }
            TraceEvent::Unavailable { rule, reason } => Step::Unavailable {
                rule: rule.map(rule_id),
                reason,
            },
            TraceEvent::OwnerOffShift {
                owner,
                reason,
                local,
            } => Step::OwnerOffShift {
                owner: p
                    .owners
                    .get(owner as usize)
                    .map_or_else(|| format!("#{owner}"), |o| o.id.to_string()),
                reason,
                local,
            },
            TraceEvent::PoolSkip {
                pool,
                member,
                reason,
            } => Step::PoolSkip {
                pool: pool_id(pool),
                owner: member_id(pool, member),
                reason,
            },
            TraceEvent::PoolLoad {
                pool,
                member,
                open,
                eligible,
            } => {
                load = Some((pool, member, open, eligible));
                continue;
            }
            TraceEvent::PoolChoice {
                pool,
                member,
                current,
                eligible_weight,
                eligible,
                replay,
            } => Step::PoolChoice {
                pool: pool_id(pool),
                owner: member_id(pool, member),
                why: if let Some((_, _, open, among)) =
                    load.take().filter(|l| (l.0, l.1) == (pool, member))
                {
                    let leads = if open == 1 { "lead" } else { "leads" };
                    format!("{open} open {leads}, fewest among {among} eligible")
                } else if replay {
                    "this lead id was already assigned by this pool; same owner again".into()
                } else {
                    format!(
                        "highest rotation counter ({current}) among {eligible} eligible member(s) with total weight {eligible_weight}"
                    )
                },
            },
            TraceEvent::PoolFallback { pool } => Step::PoolFallback {
                pool: pool_id(pool),
            },
            TraceEvent::OpenLeadsUnknown { pool } => Step::OpenLeadsUnknown {
                pool: pool_id(pool),
            },
            TraceEvent::PoolStoreUnavailable { pool } => Step::PoolStoreUnavailable {
                pool: pool_id(pool),
            },
            TraceEvent::Fallback { reason } => Step::Fallback {
                why: match reason {
                    FallbackReason::NoRuleMatched => "no rule matched".into(),
                    FallbackReason::RuleAsked { rule } => format!(
                        "rule `{}` could not assign and sends such leads to the fallback",
                        rule_id(rule)
                    ),
                },
            },
            TraceEvent::CrmUnavailable { lookup, status } => {
                Step::CrmUnavailable { lookup, status }
            }
            TraceEvent::AccountMatch {
                outcome,
                method,
                confidence,
                account,
                candidates,
            } => Step::AccountMatch {
                outcome,
                method,
                confidence: f64::from(confidence) / 1000.0,
                account: account.map(|a| a.to_string()),
                candidates,
            },
            TraceEvent::Truncated { omitted } => Step::Truncated { omitted },
        };
        steps.push(step);
    }
    Explanation {
        summary: summary(decision, &steps),
        account_match: decision.account_match.as_ref().map(|m| m.to_string()),
        sla: sla_text(p, decision),
        steps,
    }
}

/// The SLA deadline in words: whose working hours it counts in and when it
/// is due, in that schedule's zone and in UTC. The schedule is chosen as
/// evaluation chose it: the assignee's own, else the choosing pool's.
fn sla_text(p: &Program, d: &RouteDecision) -> Option<String> {
    let minutes = d.sla_minutes?;
    let Some(owner) = d.owner.as_deref() else {
        return Some(format!("SLA {minutes} min: nobody assigned, no deadline"));
    };
    let own = p
        .owner_index
        .get(owner)
        .and_then(|i| p.owners.get(*i as usize))
        .and_then(|o| o.schedule.as_deref());
    let pool = match &d.assigned_by {
        AssignedBy::Pool(id) => p
            .pools
            .iter()
            .find(|x| x.id == *id)
            .and_then(|x| x.schedule.as_deref().map(|s| (x.id.clone(), s))),
        _ => None,
    };
    let (whose, schedule) = match (own, pool) {
        (Some(s), _) => (format!("{owner}'s working hours"), Some(s)),
        (None, Some((pool, s))) => (format!("pool `{pool}`'s working hours"), Some(s)),
        (None, None) => ("plain minutes".to_owned(), None),
    };
    let late = if d.owner_unavailable.is_some() {
        format!(", counted from {owner}'s next working time")
    } else {
        String::new()
    };
    Some(match (d.sla_due, schedule) {
        (Some(due), Some(s)) => format!(
            "SLA {minutes} min in {whose}{late}: due {} {} ({})",
            s.local_label(due),
            s.time_zone(),
            crate::schedule::timestamp(due)
        ),
        (Some(due), None) => format!(
            "SLA {minutes} min in {whose}: due {}",
            crate::schedule::timestamp(due)
        ),
        (None, Some(s)) => format!(
            "SLA {minutes} min in {whose}: no deadline (schedule `{}` has no working time in the next {} days)",
            s.id(),
            crate::schedule::DEADLINE_HORIZON_DAYS
        ),
        (None, None) => format!("SLA {minutes} min: no deadline"),
    })
}

/// A run of skipped rules: the facts that rule them out with the lead's
/// values, and what the first [`LISTED_PER_RUN`] of them require.
fn skipped_step(
    p: &Program,
    (first, count): (u32, u32),
    by: IndexedFacts,
    lead_values: &[(IndexedFact, Observed)],
) -> Step {
    let by: Vec<SkippedBy> = by
        .iter()
        .map(|fact| SkippedBy {
            fact,
            observed: lead_values
                .iter()
                .find(|(f, _)| *f == fact)
                .map_or(Observed::None, |(_, o)| *o),
        })
        .collect();
    Step::RulesSkipped {
        from: p.rule_id(first),
        to: p.rule_id(first + count.saturating_sub(1)),
        count,
        rules: (first..first.saturating_add(count))
            .take(LISTED_PER_RUN)
            .filter_map(|r| {
                let rule = p.rules.get(r as usize)?;
                let (by, requires) = reason(&Requirements::of(&rule.cond, &p.territories), &by);
                Some(SkippedRule {
                    rule: rule.id.to_string(),
                    by,
                    requires,
                })
            })
            .collect(),
        by,
    }
}

/// Why the index ruled a rule out: the first fact of the run (in
/// [`IndexedFacts::ORDER`]) whose requirement the lead's value fails, with
/// that requirement. When no observed value proves it (a value the trace
/// cut short), the first fact the rule constrains whose value could not be
/// checked: the facts the lead's value is seen to satisfy are not the
/// reason.
fn reason(requirements: &Requirements, by: &[SkippedBy]) -> (IndexedFact, Vec<String>) {
    let mut unknown: Option<(IndexedFact, Vec<String>)> = None;
    let mut any: Option<(IndexedFact, Vec<String>)> = None;
    for b in by {
        let Some(values) = requirements.get(b.fact) else {
            continue;
        };
        let failed = match &b.observed {
            Observed::Range(r) => requirements.fails_band(b.fact, r.min),
            observed => fails(b.fact, observed, &values),
        };
        match failed {
            Some(true) => return (b.fact, values),
            None if unknown.is_none() => unknown = Some((b.fact, values)),
            _ if any.is_none() => any = Some((b.fact, values)),
            _ => {}
        }
    }
    unknown.or(any).unwrap_or_else(|| {
        (
            by.first().map_or(IndexedFact::Country, |b| b.fact),
            Vec::new(),
        )
    })
}

/// Whether a lead whose value of `fact` the trace observed as `observed`
/// fails a requirement of one of `values`, as the index decides it: the
/// value is one of them (a postal code: starts with one of them; product
/// interest: one of the lead's tokens is one of them). `None` when the
/// trace cut the value short where it would tell.
fn fails(fact: IndexedFact, observed: &Observed, values: &[String]) -> Option<bool> {
    let (text, cut) = match observed {
        // The lead has no value: every requirement rules it out.
        Observed::None => return Some(true),
        Observed::Text(t) => (t.as_str(), t.is_truncated()),
        _ => return None,
    };
    match fact {
        IndexedFact::Country | IndexedFact::Region | IndexedFact::EmailKind => {
            if !cut {
                Some(!values.iter().any(|v| v == text))
            } else if values.iter().any(|v| v.starts_with(text)) {
                None
            } else {
                Some(true)
            }
        }
        IndexedFact::PostalCode => {
            if values.iter().any(|v| text.starts_with(v.as_str())) {
                Some(false)
            } else if !cut || values.iter().all(|v| v.len() <= text.len()) {
                Some(true)
            } else {
                None
            }
        }
        // Observed as ranges, decided by `Requirements::fails_band`.
        IndexedFact::Employees | IndexedFact::AnnualRevenue => None,
        IndexedFact::ProductInterest => {
            // A cut list: its last token may be cut too, so only the ones
            // before it are known whole.
            let whole = if cut {
                text.rsplit_once(", ").map_or("", |(head, _)| head)
            } else {
                text
            };
            let listed = !whole.is_empty()
                && whole
                    .split(", ")
                    .any(|token| values.iter().any(|v| v == token));
            if listed {
                Some(false)
            } else if cut {
                None
            } else {
                Some(true)
            }
        }
    }
}

fn summary(d: &RouteDecision, steps: &[Step]) -> String {
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
        (Some(o), AssignedBy::PoolFallback(p)) => format!(
            "Assigned to {o} (the fallback owner of pool `{p}`: {}; {by})",
            nobody_eligible(p, steps)
        ),
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

/// Why nobody in pool `pool` could take the lead, from the members the
/// trace shows it passing over before it last handed over to its fallback:
/// "every member off shift", "its only member out of office", "no member
/// could take it: 2 off shift, 1 at capacity".
fn nobody_eligible(pool: &str, steps: &[Step]) -> String {
    let mut run: Vec<&'static str> = Vec::new();
    let mut last: Vec<&'static str> = Vec::new();
    for step in steps {
        match step {
            Step::PoolSkip {
                pool: p, reason, ..
            } if p == pool => run.push(skip_words(reason)),
            Step::PoolChoice { pool: p, .. } if p == pool => run.clear(),
            Step::PoolFallback { pool: p } if p == pool => last = std::mem::take(&mut run),
            _ => {}
        }
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for why in &last {
        match counts.iter_mut().find(|(w, _)| w == why) {
            Some((_, n)) => *n += 1,
            None => counts.push((why, 1)),
        }
    }
    match counts.as_slice() {
        // No trace (or a truncated one): the fallback says nobody could.
        [] => "no member could take the lead".to_owned(),
        [(why, 1)] => format!("its only member {why}"),
        [(why, _)] => format!("every member {why}"),
        _ => {
            let parts: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
            format!("no member could take the lead: {}", parts.join(", "))
        }
    }
}

/// A skip reason in a word or two, for counting in a summary.
fn skip_words(reason: &SkipReason) -> &'static str {
    match reason {
        SkipReason::Inactive => "inactive",
        SkipReason::Unavailable => "unavailable",
        SkipReason::AtCapacity { .. } => "at capacity",
        SkipReason::NotNext { .. } => "not next",
        SkipReason::OffShift => "off shift",
        SkipReason::OutOfOffice => "out of office",
        SkipReason::EarlierAssignee => "an earlier assignee",
        SkipReason::AtOpenCap { .. } => "at the open-lead cap",
        SkipReason::MoreOpenLeads { .. } => "with more open leads",
    }
}

/// One lead attribute that rules out rules of a skipped run, and the lead's
/// value of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SkippedBy {
    /// The attribute.
    pub fact: IndexedFact,
    /// The lead's value of it (`null`: the lead has none).
    pub observed: Observed,
}

/// One rule of a skipped run, the attribute that rules it out and what the
/// rule requires of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SkippedRule {
    /// The rule id.
    pub rule: String,
    /// The attribute that rules it out.
    pub by: IndexedFact,
    /// The values one of which the lead would need (empty: the rule can
    /// never match).
    pub requires: Vec<String>,
}

/// How many rules of one skipped run an explanation lists by name.
const LISTED_PER_RUN: usize = 10;

impl fmt::Display for Explanation {
    /// The summary, then each rule with its conditions indented beneath it
    /// (conditions are recorded before their rule's verdict; they are shown
    /// after its header here because that is how people read).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary)?;
        if let Some(m) = &self.account_match {
            writeln!(f, "  account match: {m}")?;
        }
        let mut pending: Vec<&Step> = Vec::new();
        // Why CRM records are absent, to say so where a condition needed one.
        let mut unknown: Vec<(Lookup, LookupStatus)> = Vec::new();
        for step in &self.steps {
            if let Step::CrmUnavailable { lookup, status } = step {
                unknown.push((*lookup, *status));
            }
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
            } else if matches!(step, Step::AccountMatch { .. }) && self.account_match.is_some() {
                // The summary's `account match:` line already says it, in full.
            } else {
                write_step(f, step, &unknown)?;
            }
            for c in pending.drain(..) {
                write_step(f, c, &unknown)?;
            }
        }
        for c in pending {
            write_step(f, c, &unknown)?;
        }
        // The deadline last: it follows from who was assigned.
        if let Some(sla) = &self.sla {
            writeln!(f, "  {sla}")?;
        }
        Ok(())
    }
}

/// A run of rules the index ruled out: the facts, the lead's values and
/// what the first rules of the run require.
fn write_skipped(
    f: &mut fmt::Formatter<'_>,
    (from, to, count): (&str, &str, u32),
    by: &[SkippedBy],
    rules: &[SkippedRule],
) -> fmt::Result {
    let lead = |b: &SkippedBy| match b.observed {
        Observed::None => format!("the lead has no {}", b.fact.as_str()),
        o => format!("the lead's {} is {o}", b.fact.as_str()),
    };
    let needs = |r: &SkippedRule| match r.requires.as_slice() {
        [] => "can never match".to_owned(),
        values => format!("requires {} in [{}]", r.by.as_str(), values.join(", ")),
    };
    match (count, rules) {
        (1, [only]) => {
            let value = by
                .iter()
                .find(|b| b.fact == only.by)
                .map_or_else(|| format!("the lead has no {}", only.by.as_str()), lead);
            writeln!(
                f,
                "  rule `{from}`: skipped (ruled out by the index): it {}; {value}",
                needs(only)
            )
        }
        _ => {
            let values: Vec<String> = by.iter().map(lead).collect();
            writeln!(
                f,
                "  {count} rules `{from}` … `{to}`: skipped (ruled out by the index): {}",
                values.join("; ")
            )?;
            for r in rules {
                writeln!(f, "    rule `{}` {}", r.rule, needs(r))?;
            }
            let listed = u32::try_from(rules.len()).unwrap_or(u32::MAX);
            if count > listed {
                writeln!(f, "    … and {} more", count - listed)?;
            }
            Ok(())
        }
    }
}

/// What a condition on a CRM record fact saw when there was no record:
/// "no account matched", or why the lookup could not say.
fn missing_record(field: &str, unknown: &[(Lookup, LookupStatus)]) -> Option<String> {
    let (record, lookup) = match field.split_once('.')? {
        ("account", fact) if FLAG_FACTS.contains(&fact) => ("account", Lookup::Account),
        ("contact", fact) if FLAG_FACTS.contains(&fact) => ("contact", Lookup::Person),
        _ => return None,
    };
    Some(match unknown.iter().find(|(l, _)| *l == lookup) {
        Some((_, LookupStatus::TimedOut)) => format!("no {record}: the CRM lookup timed out"),
        Some(_) => format!("no {record}: the CRM lookup failed"),
        None => format!("no {record} matched"),
    })
}

/// The yes/no facts of a CRM record, which are always observed when the
/// record exists.
const FLAG_FACTS: [&str; 4] = ["exists", "has_owner", "owner_active", "is_customer"];

fn write_step(
    f: &mut fmt::Formatter<'_>,
    step: &Step,
    unknown: &[(Lookup, LookupStatus)],
) -> fmt::Result {
    match step {
        Step::Condition {
            field,
            op,
            expected,
            observed,
            result,
            ..
        } => match (op.as_str(), observed) {
            ("all" | "any", _) => writeln!(f, "    {op} of {expected} → {result}"),
            ("not", _) => writeln!(f, "    not → {result}"),
            (_, Observed::None) => match missing_record(field, unknown) {
                Some(why) => writeln!(f, "    {field} {op} {expected}: {why} → {result}"),
                None => writeln!(
                    f,
                    "    {field} {op} {expected}: observed {observed} → {result}"
                ),
            },
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
            reason.as_str()
        ),
        Step::OwnerOffShift {
            owner,
            reason,
            local,
        } => {
            let state = match reason {
                Unavailable::Away => "away (per the availability source)",
                _ => "off shift",
            };
            let at = match local {
                Observed::Text(t) => format!(" ({t} local time)"),
                _ => String::new(),
            };
            writeln!(
                f,
                "    {owner} is {state}{at}; assigned anyway: the action does not check availability"
            )
        }
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
                SkipReason::OffShift => "off shift (outside working hours)".to_owned(),
                SkipReason::OutOfOffice => "out of office (an `out_of_office` date)".to_owned(),
                SkipReason::EarlierAssignee => "had this lead before".to_owned(),
                SkipReason::AtOpenCap { open, max } => {
                    format!("at the open-lead cap ({open}/{max})")
                }
                SkipReason::MoreOpenLeads { open } => format!("more open leads ({open})"),
            };
            writeln!(f, "    pool `{pool}`: {owner} skipped: {why}")
        }
        Step::PoolChoice { pool, owner, why } => {
            writeln!(f, "    pool `{pool}`: {owner} chosen: {why}")
        }
        Step::RulesSkipped {
            from,
            to,
            count,
            by,
            rules,
        } => write_skipped(f, (from, to, *count), by, rules),
        Step::OpenLeadsUnknown { pool } => writeln!(
            f,
            "    pool `{pool}`: no open-lead counts (none given, or the load source failed); choosing by rotation, open-lead caps not applied"
        ),
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
        Step::AccountMatch {
            outcome,
            method,
            confidence,
            account,
            candidates,
        } => {
            let of = format!(
                "{candidates} candidate{}",
                if *candidates == 1 { "" } else { "s" }
            );
            match (outcome, account) {
                (MatchOutcome::Matched, Some(a)) => writeln!(
                    f,
                    "  account match: account `{a}` by {}, confidence {confidence:.2} ({of})",
                    method.map_or("evidence", MatchMethod::describe)
                ),
                (MatchOutcome::Ambiguous, _) => writeln!(
                    f,
                    "  account match: ambiguous, none chosen, confidence {confidence:.2} ({of})"
                ),
                _ => writeln!(f, "  account match: none ({of})"),
            }
        }
        Step::Truncated { omitted } => writeln!(
            f,
            "  … {omitted} more steps not recorded (the trace limit, EvalOptions::max_trace_events)"
        ),
    }
}
