//! [`LeadRouter::reassign`]: route a lead again after its owner missed the
//! SLA, rejected it or left, and write the new owner through the same path
//! (and outbox) as a route.

use std::sync::PoisonError;
use std::time::SystemTime;

use super::pipeline::LeadRouter;
use super::record::RECORD_ATTEMPTS;
use super::report::{Reassigned, WriteOutcome};
use crate::clock::{Clock, within};
use crate::crm::{Crm, CrmError, PendingWrite};
use crate::decision::RouteDecision;
use crate::events::{EventKind, EventSink, unix_ms};
use crate::facts::Facts;
use crate::lead::model::Lead;
use crate::outbox::{EntryStatus, Outbox};
use crate::policy::time::{Reassign, ReassignReason, Reassignment, earlier_owners};
use crate::pool::availability::AllOf;
use crate::pool::credit::PoolCredit;
use crate::pool::store::PoolStore;

impl<C: Crm, S: EventSink, P: PoolStore, K: Clock, O: Outbox> LeadRouter<C, S, P, K, O> {
    /// Routes `lead` again (its `lead_id` set, as [`Routed::lead`](super::Routed::lead)
    /// has it) after `earlier` decisions, oldest first, failed for
    /// `request.reason`. Looks the CRM facts up again, decides through the
    /// pool store, never assigns an earlier owner
    /// ([`Policy::reassign`](crate::Policy::reassign)), marks the previous
    /// owner away for [`Reassign::away_for`] (later routes skip them in
    /// pools until then), and writes the new owner to the CRM through the
    /// same path as [`route`](Self::route) (`crm_record`: the record the
    /// first write created, if known; a conflict finds it otherwise).
    ///
    /// Emits `sla_breached` (for [`ReassignReason::SlaMissed`]), then
    /// `owner_reassigned`, then the `crm_write_*` event.
    ///
    /// With an [outbox](crate::outbox), a failed write is queued like a
    /// route's, under its own entry id `<lead id>#reassigned-<n>` (the
    /// `n`-th reassignment), and the lead's earlier writes still waiting in
    /// the outbox are removed first: delivered after this one, they would
    /// hand the lead back to an earlier owner.
    ///
    /// ```
    /// use leadroute::policy::{Reassign, ReassignReason};
    /// use leadroute::testing::{InMemoryCrm, ManualClock, RecordingSink};
    /// use leadroute::{LeadInput, LeadRouter, Policy};
    /// use std::time::Duration;
    ///
    /// let policy = Policy::from_json_str(r#"{"name": "p", "version": "1",
    ///   "owners": [{"id": "ana"}, {"id": "bob"}],
    ///   "pools": [{"id": "team", "members": [{"owner": "ana"}, {"owner": "bob"}]}],
    ///   "fallback": {"assign": {"pool": "team"}, "sla_minutes": 5}}"#).unwrap();
    /// let router = LeadRouter::new(policy, InMemoryCrm::new(), RecordingSink::new())
    ///     .with_clock(ManualClock::at_unix(1_800_000_000));
    /// let routed = pollster::block_on(router.route(LeadInput::from_email("cto@acme.com"))).unwrap();
    /// assert_eq!(routed.decision.owner_id(), Some("ana"));
    /// router.clock().advance(Duration::from_secs(600));
    /// let ask = Reassign::new(ReassignReason::SlaMissed).away_for(Duration::from_secs(3_600));
    /// let record = routed.write.receipt().map(|r| r.record_id.clone());
    /// let again = pollster::block_on(router.reassign(&routed.lead, &[routed.decision], record.as_deref(), &ask));
    /// assert_eq!(again.reassignment.decision.owner_id(), Some("bob"));
    /// assert!(again.write.is_ok());
    /// assert_eq!(&router.events().names()[5..], ["sla_breached", "owner_reassigned", "crm_write_success"]);
    /// ```
    pub async fn reassign(
        &self,
        lead: &Lead,
        earlier: &[RouteDecision],
        crm_record: Option<&str>,
        request: &Reassign,
    ) -> Reassigned {
        let policy = self.policy();
        let now = self.clock.now();
        let lead_id = lead.lead_id.clone().unwrap_or_default();
        let emit = |kind: EventKind| self.emit(kind, &lead_id, None);
        let last = earlier.last();
        if request.reason == ReassignReason::SlaMissed {
            emit(EventKind::SlaBreached {
                owner: last.and_then(|d| d.owner_id()).map(str::to_owned),
                due_ms: last.and_then(|d| d.sla_due).map(unix_ms),
                sla_minutes: last.and_then(|d| d.sla_minutes),
            });
        }

        let lookups = Box::pin(self.lookups(lead, &policy)).await; // boxed: see `route_submission`
        let availability = self.availability();
        let away = self.away_marks();
        let availability = AllOf(&*availability, &away);
        let mut facts = Facts::new(now)
            .account_lookup(lookups.account)
            .person_lookup(lookups.person)
            .availability(&availability);
        if let Some(a) = &lookups.matched_account {
            facts = facts.account(a);
        }
        if let Some(m) = &lookups.account_match {
            facts = facts.account_match(m);
        }
        if let Some(c) = &lookups.existing_person {
            facts = facts.contact(c);
        }
        if let Some(counts) = &lookups.open_lead_counts {
            facts = facts.open_leads(counts);
        }
        let excluded = earlier_owners(earlier);
        let (decision, pool_store) = self.decide(&policy, lead, &facts, &excluded).await;
        if let Some(failure) = &pool_store {
            emit(EventKind::PoolStoreFailed(failure.clone()));
        }
        let reassignment = Reassignment::new(decision, earlier, now, request);
        if let Some((owner, until)) = &reassignment.away {
            self.mark_away(owner, *until);
        }
        let credited = match &reassignment.credit {
            Some(credit) => within(&self.clock, self.pool_budget, self.record_credit(credit))
                .await
                .unwrap_or(false),
            None => false,
        };
        emit(EventKind::OwnerReassigned {
            from: reassignment.previous.as_deref().map(str::to_owned),
            to: reassignment.decision.owner_id().map(str::to_owned),
            reason: request.reason,
            rule: reassignment.decision.rule.as_deref().map(str::to_owned),
            away_until_ms: reassignment.away.as_ref().map(|(_, t)| unix_ms(*t)),
        });

        let decision = &reassignment.decision;
        let write = if decision.write_to_crm {
            let pending = PendingWrite {
                lead_id: lead_id.clone(),
                lead: lead.clone(),
                decision: decision.clone(),
                existing: crm_record
                    .map(str::to_owned)
                    .or_else(|| lookups.existing_person.as_ref().map(|c| c.id.clone())),
                account: lookups.matched_account.clone(),
                error: CrmError::transient("not attempted"),
            };
            let entry_id = reassignment_entry_id(&lead_id, earlier.len());
            self.supersede_queued(&lead_id, earlier.len()).await;
            Box::pin(self.deliver(&policy, pending, &entry_id, now))
                .await
                .0
        } else {
            emit(EventKind::CrmWriteSkipped {
                rule: decision.rule.as_deref().map(str::to_owned),
            });
            WriteOutcome::Skipped
        };
        Reassigned {
            reassignment,
            write,
            pool_store,
            credited,
        }
    }

    /// Records a rotation credit by compare-and-swap (a few attempts).
    async fn record_credit(&self, credit: &PoolCredit) -> bool {
        for _ in 0..RECORD_ATTEMPTS {
            let Ok(state) = self.pools.load(credit.pool()).await else {
                return false;
            };
            let mut next = state.clone();
            credit.apply(&mut next);
            match self
                .pools
                .compare_and_swap(credit.pool(), state.version, next)
                .await
            {
                Ok(true) => return true,
                Ok(false) => continue,
                Err(_) => return false,
            }
        }
        false
    }

    /// Marks `owner` unavailable in this router's pools until `until` (and
    /// for actions that `check_availability`).
    ///
    /// # Several replicas
    ///
    /// Away marks live in this router's memory: another replica does not
    /// see them, and a restart forgets them. They are not kept in the
    /// [`PoolStore`]: a mark is per owner, across every pool they are in
    /// and for direct assignments too, while a pool store's
    /// compare-and-swap state is per pool (a mark there would be one write
    /// per pool, and direct owners would not see it). A service with
    /// several replicas shares them beside the pool store, on the same
    /// Redis or Postgres:
    ///
    /// 1. **Write** each mark where every replica reads: the result of
    ///    [`reassign`](Self::reassign) carries it
    ///    (`reassignment.away`: owner and until when). In Redis a hash
    ///    `leadroute:away` of owner → until (Unix ms), or one key per owner
    ///    with `SET … PXAT until`; in Postgres a table `owner_away(owner text
    ///    primary key, until timestamptz)` upserted with `GREATEST(until,
    ///    excluded.until)` (a later mark wins, as in
    ///    [`AwayUntil::insert`](crate::pool::AwayUntil::insert)).
    /// 2. **Read** them through an [`Availability`](crate::Availability)
    ///    over a snapshot, refreshed in the background every few seconds:
    ///    evaluation is synchronous and does no I/O. Hand the router an
    ///    `Arc<RwLock<AwayUntil>>` once
    ///    ([`set_availability`](Self::set_availability), combined with your
    ///    own source by [`AllOf`](crate::pool::AllOf)) and replace its
    ///    contents on each refresh.
    ///
    /// A replica may assign a marked owner for up to one refresh interval;
    /// the lead that was reassigned is never handed back either way (a
    /// reassignment excludes every earlier owner of that lead, whatever the
    /// marks say).
    pub fn mark_away(&self, owner: &str, until: SystemTime) {
        self.away
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(owner, until);
    }
}

/// The outbox entry id of the `n`-th reassignment's write (`n` ≥ 1): the
/// first route's entry is the lead id itself, so a reassignment's failed
/// write is queued beside it instead of being taken for a replay of it.
fn reassignment_entry_id(lead_id: &str, n: usize) -> String {
    format!("{lead_id}#reassigned-{n}")
}

impl<C: Crm, S: EventSink, P: PoolStore, K: Clock, O: Outbox> LeadRouter<C, S, P, K, O> {
    /// Removes the queued (pending, not yet claimed) writes of this lead's
    /// earlier owners from the outbox: the reassignment's write carries the
    /// whole lead with its new owner, and an older write delivered after it
    /// would hand the lead back. A write a worker holds right now is left
    /// alone (it lands first, and the reassignment's upsert then updates
    /// it); an outbox error only means the older write may still land
    /// first, which the reassignment's own write then corrects.
    async fn supersede_queued(&self, lead_id: &str, earlier: usize) {
        let Some(outbox) = &self.outbox else { return };
        let ids = std::iter::once(lead_id.to_owned())
            .chain((1..earlier).map(|n| reassignment_entry_id(lead_id, n)));
        for id in ids {
            if let Ok(Some(entry)) = outbox.get(&id).await {
                if entry.status == EntryStatus::Pending {
                    let _ = outbox.remove(&id).await;
                }
            }
        }
    }
}
