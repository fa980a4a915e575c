//! The time side of a compiled [`Policy`]: its schedules, the built-in
//! schedule [`Availability`], and reassignment (SLA missed, rep rejected,
//! rep left) to the next owner, never back to an earlier one.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::compiled::Policy;
use super::eval::{self, EvalOptions};
use crate::decision::{Name, RouteDecision};
use crate::facts::Facts;
use crate::lead::model::Lead;
use crate::pool::availability::Availability;
use crate::pool::credit::PoolCredit;
use crate::schedule::Schedule;

impl Policy {
    /// A named schedule (`schedules`), compiled.
    pub fn schedule(&self, id: &str) -> Option<&Schedule> {
        self.program
            .schedules
            .iter()
            .find(|s| *s.id == *id)
            .map(|s| &**s)
    }

    /// The owners whose open-lead counts a decision can read: the members
    /// of least-loaded pools and of pools with a `max_open` cap, each once,
    /// in pool and member order, at most
    /// [`MAX_LOAD_OWNERS`](crate::pool::MAX_LOAD_OWNERS). Empty when no pool
    /// reads counts: a [`LeadRouter`](crate::LeadRouter) then asks its
    /// [`LoadSource`](crate::pool::LoadSource) nothing.
    ///
    /// ```
    /// use leadroute::Policy;
    ///
    /// let policy = Policy::from_toml_str(r#"
    ///     name = "p"
    ///     version = "1"
    ///     owners = [{ id = "ana" }, { id = "bob" }, { id = "cara" }]
    ///     [[pools]]
    ///     id = "sdr"
    ///     members = [{ owner = "bob" }, { owner = "ana" }]
    ///     distribution = "least_loaded"
    ///     [[pools]]
    ///     id = "ae"
    ///     members = [{ owner = "ana" }, { owner = "cara", max_open = 5 }]
    ///     [[pools]]
    ///     id = "plain"
    ///     members = [{ owner = "cara" }]
    ///     [fallback]
    ///     assign = { pool = "plain" }
    /// "#)?;
    /// assert_eq!(policy.load_owners(), ["bob", "ana", "cara"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_owners(&self) -> Vec<&str> {
        self.program.load_owners.iter().map(|o| &**o).collect()
    }

    /// An owner's working hours, with its own out-of-office dates (`None`:
    /// no hours given, always on).
    pub fn owner_schedule(&self, owner: &str) -> Option<&Schedule> {
        let i = *self.program.owner_index.get(owner)?;
        self.program.owners.get(i as usize)?.schedule.as_deref()
    }

    /// The policy's working hours as an [`Availability`]: an owner with a
    /// schedule is available when it is open; one without is always
    /// available. Pools that respect schedules already skip off-shift
    /// members; use this to apply the same hours elsewhere, combined with
    /// your own source by [`AllOf`](crate::pool::AllOf).
    ///
    /// ```
    /// use leadroute::{Availability, Policy};
    /// use leadroute::pool::{AllOf, AwayList};
    /// use std::time::{Duration, SystemTime};
    ///
    /// let policy = Policy::from_json_str(r#"{"name": "p", "version": "1",
    ///   "schedules": [{"id": "utc-days", "timezone": "UTC", "hours": {"weekdays": ["09:00-17:00"]}}],
    ///   "owners": [{"id": "ana", "schedule": "utc-days"}, {"id": "bob"}],
    ///   "fallback": {"assign": {"owner": "bob"}}}"#)?;
    /// let monday_10 = SystemTime::UNIX_EPOCH + Duration::from_secs(4 * 86_400 + 10 * 3_600);
    /// let monday_20 = monday_10 + Duration::from_secs(10 * 3_600);
    /// let hours = policy.schedule_availability();
    /// assert!(hours.is_available("ana", monday_10));
    /// assert!(!hours.is_available("ana", monday_20));
    /// let both = AllOf(hours, AwayList::new(["bob"]));
    /// assert!(!both.is_available("bob", monday_10));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn schedule_availability(&self) -> ScheduleAvailability {
        ScheduleAvailability {
            policy: self.clone(),
        }
    }

    /// Routes a lead again after an earlier assignment failed (SLA missed,
    /// the rep rejected it, the rep left): the same policy, the same trace
    /// and explanation, but never one of the earlier decisions' owners —
    /// not through a rule, a pool or the fallback (with nobody else to
    /// take it the decision assigns nobody and its trace says why).
    ///
    /// Pure like [`evaluate`](Self::evaluate). The result says whom to mark
    /// away and until when ([`Reassign::away_for`]); the
    /// [`LeadRouter`](crate::LeadRouter) does that, records the rotation
    /// credit and writes the new owner.
    ///
    /// ```
    /// use leadroute::{Facts, LeadInput, Normalizer, Policy};
    /// use leadroute::policy::{Reassign, ReassignReason};
    /// use std::time::Duration;
    ///
    /// let policy = Policy::from_json_str(r#"{"name": "p", "version": "1",
    ///   "owners": [{"id": "ana"}, {"id": "bob"}, {"id": "queue"}],
    ///   "pools": [{"id": "team", "members": [{"owner": "ana"}, {"owner": "bob"}],
    ///              "fallback": {"owner": "queue"}}],
    ///   "fallback": {"assign": {"pool": "team"}, "sla_minutes": 15}}"#)?;
    /// let lead = Normalizer::default().normalize(&LeadInput::from_email("cto@acme.com"))?.lead;
    /// let facts = Facts::at_unix(1_800_000_000);
    /// let first = policy.evaluate(&lead, &facts);
    /// assert_eq!(first.owner_id(), Some("ana"));
    ///
    /// let ask = Reassign::new(ReassignReason::SlaMissed).away_for(Duration::from_secs(3_600));
    /// let second = policy.reassign(&lead, &facts, &[first.clone()], &ask);
    /// assert_eq!(second.decision.owner_id(), Some("bob"));
    /// assert_eq!(second.previous.as_deref(), Some("ana"));
    /// assert!(second.away.is_some());
    /// let third = policy.reassign(&lead, &facts, &[first, second.decision], &ask);
    /// assert_eq!(third.decision.owner_id(), Some("queue"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reassign(
        &self,
        lead: &Lead,
        facts: &Facts<'_>,
        earlier: &[RouteDecision],
        request: &Reassign,
    ) -> Reassignment {
        self.reassign_with(lead, facts, earlier, request, EvalOptions::default())
    }

    /// Evaluates, never assigning any of `excluded` (the router's
    /// reassignment path, through its pool store).
    pub(crate) fn evaluate_excluding(
        &self,
        lead: &Lead,
        facts: &Facts<'_>,
        excluded: &[String],
    ) -> RouteDecision {
        eval::evaluate_excluding(&self.program, lead, facts, EvalOptions::default(), excluded)
    }

    /// [`reassign`](Self::reassign) with evaluation options.
    pub fn reassign_with(
        &self,
        lead: &Lead,
        facts: &Facts<'_>,
        earlier: &[RouteDecision],
        request: &Reassign,
        opts: EvalOptions,
    ) -> Reassignment {
        let excluded = earlier_owners(earlier);
        let decision = eval::evaluate_excluding(&self.program, lead, facts, opts, &excluded);
        Reassignment::new(decision, earlier, facts.now, request)
    }
}

/// The distinct owners of earlier decisions, oldest first.
pub(crate) fn earlier_owners(earlier: &[RouteDecision]) -> Vec<String> {
    let mut excluded: Vec<String> = Vec::with_capacity(earlier.len());
    for owner in earlier.iter().filter_map(RouteDecision::owner_id) {
        if !excluded.iter().any(|x| x == owner) {
            excluded.push(owner.to_owned());
        }
    }
    excluded
}

impl Reassignment {
    /// The outcome of a reassignment decided at `now`.
    pub(crate) fn new(
        decision: RouteDecision,
        earlier: &[RouteDecision],
        now: SystemTime,
        request: &Reassign,
    ) -> Self {
        let previous = earlier.iter().rev().find_map(|d| d.owner.clone());
        let away = match (&previous, request.away_for) {
            (Some(owner), Some(d)) => now.checked_add(d).map(|until| (owner.clone(), until)),
            _ => None,
        };
        let credit = if request.credit_back {
            earlier
                .last()
                .and_then(RouteDecision::pool_step)
                .and_then(|s| s.credit())
        } else {
            None
        };
        Reassignment {
            decision,
            previous,
            reason: request.reason,
            away,
            credit,
        }
    }
}

/// The policy's working hours as an [`Availability`]; see
/// [`Policy::schedule_availability`].
#[derive(Debug, Clone)]
pub struct ScheduleAvailability {
    policy: Policy,
}

impl Availability for ScheduleAvailability {
    fn is_available(&self, owner: &str, now: SystemTime) -> bool {
        self.policy
            .owner_schedule(owner)
            .is_none_or(|s| s.is_open(now))
    }
}

/// Why a lead is routed again.
///
/// JSON: `"sla_missed"`, `"rejected"`, `"owner_left"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReassignReason {
    /// The owner did not respond within the SLA.
    SlaMissed,
    /// The owner rejected the lead.
    Rejected,
    /// The owner left (the team, the company).
    OwnerLeft,
}

impl ReassignReason {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReassignReason::SlaMissed => "sla_missed",
            ReassignReason::Rejected => "rejected",
            ReassignReason::OwnerLeft => "owner_left",
        }
    }
}

/// A request to route a lead again: why, and whether to mark the
/// non-responder away for a while.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Reassign {
    /// Why.
    pub reason: ReassignReason,
    /// Mark the previous owner unavailable for this long (none by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away_for: Option<Duration>,
    /// Give the pool's rotation credit back to the member who lost the lead
    /// (default `true`), so fairness survives reassignments.
    #[serde(default = "yes")]
    pub credit_back: bool,
}

fn yes() -> bool {
    true
}

impl Reassign {
    /// A request with this reason, no away marking, rotation credit given back.
    pub fn new(reason: ReassignReason) -> Self {
        Reassign {
            reason,
            away_for: None,
            credit_back: true,
        }
    }
    /// Marks the previous owner unavailable for `d`.
    pub fn away_for(mut self, d: Duration) -> Self {
        self.away_for = Some(d);
        self
    }
    /// Whether to give the rotation credit back to the member who lost the lead.
    pub fn credit_back(mut self, credit: bool) -> Self {
        self.credit_back = credit;
        self
    }
}

/// The outcome of [`Policy::reassign`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Reassignment {
    /// The new decision (owner, trace, SLA deadline for the new owner).
    pub decision: RouteDecision,
    /// The owner the lead is taken from (the last earlier decision's).
    pub previous: Option<Name>,
    /// Why.
    pub reason: ReassignReason,
    /// Whom to mark away, until when (from [`Reassign::away_for`]).
    pub away: Option<(Name, SystemTime)>,
    /// The rotation credit to give back to the pool member who lost the
    /// lead (when the last earlier decision came from a pool and
    /// [`Reassign::credit_back`] is on); record it like a pool step.
    pub credit: Option<PoolCredit>,
}
