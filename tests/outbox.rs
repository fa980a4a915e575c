//! The in-memory outbox against the `Outbox` contract, and its lease
//! invariants under random operation sequences.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use leadroute::crm::CrmError;
use leadroute::outbox::{
    DeadLetter, DeadReason, Enqueued, EntryStatus, InMemoryOutbox, InMemoryOutboxError,
    InvalidEntry, MAX_BATCH, MAX_ENTRY_ID_LEN, Outbox, OutboxEntry,
};
use leadroute::testing::{check_outbox, sample_write};
use pollster::block_on;
use proptest::prelude::*;

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

#[test]
fn the_in_memory_outbox_keeps_the_contract() {
    let outbox = InMemoryOutbox::new();
    block_on(check_outbox(&outbox, t0()));
    assert!(outbox.is_empty());
    // And again on the same (now empty) outbox: no state leaks between runs.
    block_on(check_outbox(&outbox, t0() + Duration::from_secs(86_400)));
}

#[test]
fn a_full_outbox_and_malformed_entries_are_typed_errors() {
    let outbox = InMemoryOutbox::with_capacity_limit(1);
    block_on(async {
        assert_eq!(
            outbox
                .enqueue(OutboxEntry::new(sample_write("a"), t0()))
                .await,
            Ok(Enqueued::Added)
        );
        assert_eq!(
            outbox
                .enqueue(OutboxEntry::new(sample_write("b"), t0()))
                .await,
            Err(InMemoryOutboxError::Full { capacity: 1 })
        );
        // A duplicate is still answered when full: nothing would be added.
        assert_eq!(
            outbox
                .enqueue(OutboxEntry::new(sample_write("a"), t0()))
                .await,
            Ok(Enqueued::AlreadyPresent {
                status: EntryStatus::Pending
            })
        );
        let long = "x".repeat(MAX_ENTRY_ID_LEN + 1);
        let err = outbox
            .enqueue(OutboxEntry::new(sample_write("c"), t0()).with_id(long))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            InMemoryOutboxError::Invalid(InvalidEntry::IdTooLong {
                len: MAX_ENTRY_ID_LEN + 1,
                max: MAX_ENTRY_ID_LEN
            })
        );
        assert_eq!(
            err.to_string(),
            "outbox entry refused: outbox entry id is 257 bytes long; the most is 256"
        );
        let mut broken = OutboxEntry::new(sample_write("d"), t0());
        broken.status = EntryStatus::Claimed; // without a lease
        assert_eq!(
            broken.validate(),
            Err(InvalidEntry::Inconsistent {
                status: EntryStatus::Claimed
            })
        );
    });
}

#[test]
fn claims_are_capped_at_the_batch_limit() {
    let outbox = InMemoryOutbox::new();
    block_on(async {
        for i in 0..MAX_BATCH + 5 {
            let entry = OutboxEntry::new(sample_write(&format!("l{i}")), t0());
            outbox.enqueue(entry).await.unwrap();
        }
        let batch = outbox
            .claim("w", t0(), Duration::from_secs(1), usize::MAX)
            .await
            .unwrap();
        assert_eq!(batch.len(), MAX_BATCH);
        // Enqueue order among entries due at the same time.
        assert_eq!(batch[0].id, "l0");
        assert_eq!(batch[MAX_BATCH - 1].id, format!("l{}", MAX_BATCH - 1));
        assert_eq!(outbox.stats().await.unwrap().pending, 5);
    });
}

#[test]
fn entries_round_trip_through_json_at_millisecond_precision() {
    let entry = OutboxEntry::new(sample_write("lead-9"), t0() + Duration::from_millis(123))
        .after_attempts(
            2,
            CrmError::rate_limited("429", Some(Duration::from_secs(3))),
        )
        .claimed_by("w-1", Duration::from_secs(30))
        .submitted_at(t0());
    let json = serde_json::to_value(&entry).unwrap();
    assert_eq!(json["submitted_at_ms"], 1_700_000_000_000u64);
    assert_eq!(json["status"], "claimed");
    assert_eq!(json["attempts"], 3);
    assert_eq!(json["enqueued_at_ms"], 1_700_000_000_123u64);
    assert_eq!(
        json["lease"],
        serde_json::json!({"owner": "w-1", "attempt": 3, "until_ms": 1_700_000_030_123u64})
    );
    assert_eq!(json["last_error"]["retry_after_ms"], 3000);
    assert_eq!(json["write"]["lead_id"], "lead-9");
    assert_eq!(serde_json::from_value::<OutboxEntry>(json).unwrap(), entry);

    let dead = OutboxEntry::new(sample_write("lead-9"), t0()).dead(DeadLetter::new(
        DeadReason::NotRetryable,
        t0(),
        Some(CrmError::permanent("401")),
    ));
    let json = serde_json::to_value(&dead).unwrap();
    assert!(json.get("submitted_at_ms").is_none());
    assert_eq!(
        json["dead_letter"],
        serde_json::json!({"reason": "not_retryable", "at_ms": 1_700_000_000_000u64,
                           "error": {"class": "permanent", "message": "401"}})
    );
    assert_eq!(json["last_error"]["class"], "permanent");
}

/// One step of a random schedule against the outbox.
#[derive(Debug, Clone)]
enum Op {
    Enqueue(u8),
    Claim { worker: u8, limit: u8 },
    Complete { worker: u8, pick: u8 },
    Fail { worker: u8, pick: u8, delay_s: u8 },
    DeadLetter { worker: u8, pick: u8 },
    Requeue(u8),
    Advance(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..12).prop_map(Op::Enqueue),
        (0u8..3, 1u8..5).prop_map(|(worker, limit)| Op::Claim { worker, limit }),
        (0u8..3, any::<u8>()).prop_map(|(worker, pick)| Op::Complete { worker, pick }),
        (0u8..3, any::<u8>(), 0u8..40).prop_map(|(worker, pick, delay_s)| Op::Fail {
            worker,
            pick,
            delay_s
        }),
        (0u8..3, any::<u8>()).prop_map(|(worker, pick)| Op::DeadLetter { worker, pick }),
        (0u8..12).prop_map(Op::Requeue),
        (0u8..40).prop_map(Op::Advance),
    ]
}

proptest! {
    /// Whatever the interleaving: no entry is ever held by two claims whose
    /// leases overlap, a report succeeds exactly when its lease is the
    /// entry's current hold, completed entries are gone, dead ones are never
    /// claimed, and `stats` agrees with the entries.
    #[test]
    fn leases_are_exclusive_and_reports_need_the_current_hold(ops in proptest::collection::vec(op(), 1..120)) {
        let outbox = InMemoryOutbox::new();
        let lease_for = Duration::from_secs(20);
        let mut now = t0();
        // What each worker believes it holds: id → lease.
        let mut held: Vec<HashMap<String, leadroute::outbox::Lease>> = vec![HashMap::new(); 3];
        // Per id: the end of the lease last granted and not yet released by
        // a successful report.
        let mut active: HashMap<String, SystemTime> = HashMap::new();
        let mut completed: HashSet<String> = HashSet::new();
        let pick = |held: &HashMap<String, leadroute::outbox::Lease>, n: u8| {
            let mut ids: Vec<&String> = held.keys().collect();
            ids.sort();
            (!ids.is_empty()).then(|| {
                let id = ids[usize::from(n) % ids.len()].clone();
                (id.clone(), held[&id].clone())
            })
        };
        block_on(async {
            for op in ops {
                match op {
                    Op::Enqueue(i) => {
                        let id = format!("l{i}");
                        let before = outbox.get(&id).await.unwrap();
                        let r = outbox.enqueue(OutboxEntry::new(sample_write(&id), now)).await.unwrap();
                        prop_assert_eq!(r == Enqueued::Added, before.is_none());
                        if r == Enqueued::Added { completed.remove(&id); }
                    }
                    Op::Claim { worker, limit } => {
                        let batch = outbox.claim(&format!("w{worker}"), now, lease_for, usize::from(limit)).await.unwrap();
                        prop_assert!(batch.len() <= usize::from(limit));
                        for e in batch {
                            prop_assert_eq!(e.status, EntryStatus::Claimed);
                            let lease = e.lease.clone().unwrap();
                            prop_assert_eq!(lease.attempt, e.attempts);
                            if let Some(end) = active.get(&e.id) {
                                prop_assert!(*end <= now, "entry {} claimed at {:?} while a lease runs to {:?}", e.id, now, end);
                            }
                            active.insert(e.id.clone(), lease.until);
                            held[usize::from(worker)].insert(e.id.clone(), lease);
                        }
                    }
                    Op::Complete { worker, pick: n } | Op::DeadLetter { worker, pick: n } | Op::Fail { worker, pick: n, .. } => {
                        let w = usize::from(worker);
                        let Some((id, lease)) = pick(&held[w], n) else { continue };
                        let current = outbox.get(&id).await.unwrap();
                        let is_current = current.as_ref().is_some_and(|e| {
                            e.status == EntryStatus::Claimed && e.lease.as_ref().is_some_and(|l| l.same_hold(&lease))
                        });
                        let applied = match op {
                            Op::Complete { .. } => {
                                let ok = outbox.complete(&id, &lease).await.unwrap();
                                if ok { completed.insert(id.clone()); }
                                ok
                            }
                            Op::Fail { delay_s, .. } => outbox
                                .fail(&id, &lease, &CrmError::transient("503"), now + Duration::from_secs(u64::from(delay_s)))
                                .await
                                .unwrap(),
                            _ => outbox
                                .dead_letter(&id, &lease, &DeadLetter::new(DeadReason::AttemptsExhausted, now, None))
                                .await
                                .unwrap(),
                        };
                        prop_assert_eq!(applied, is_current);
                        if applied { active.remove(&id); }
                        held[w].remove(&id);
                    }
                    Op::Requeue(i) => {
                        let id = format!("l{i}");
                        let was_dead = outbox.get(&id).await.unwrap().is_some_and(|e| e.status == EntryStatus::Dead);
                        prop_assert_eq!(outbox.requeue(&id, now).await.unwrap(), was_dead);
                    }
                    Op::Advance(s) => now += Duration::from_secs(u64::from(s)),
                }
                let entries = outbox.entries();
                for id in &completed {
                    prop_assert!(entries.iter().all(|e| &e.id != id), "completed {} still present", id);
                }
                let stats = outbox.stats().await.unwrap();
                let count = |s: EntryStatus| entries.iter().filter(|e| e.status == s).count() as u64;
                prop_assert_eq!(
                    (stats.pending, stats.claimed, stats.dead),
                    (count(EntryStatus::Pending), count(EntryStatus::Claimed), count(EntryStatus::Dead))
                );
                for e in &entries {
                    prop_assert!(e.validate().is_ok(), "{:?}", e);
                }
            }
            // Dead entries are never claimed, even far in the future.
            let dead: HashSet<String> = outbox.dead_letters(MAX_BATCH).await.unwrap().into_iter().map(|e| e.id).collect();
            let later = outbox.claim("w9", now + Duration::from_secs(1_000_000), lease_for, MAX_BATCH).await.unwrap();
            prop_assert!(later.iter().all(|e| !dead.contains(&e.id)));
            Ok(())
        })?;
    }
}
