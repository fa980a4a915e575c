//! [`check_outbox`]: the [`Outbox`] contract as a test any store can run.
// Every index into a claimed batch follows the assertion on the batch's ids.
#![allow(clippy::indexing_slicing)]

use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use crate::crm::{CrmError, PendingWrite};
use crate::facts::Facts;
use crate::lead::input::LeadInput;
use crate::lead::normalizer::Normalizer;
use crate::outbox::{
    DeadLetter, DeadReason, Enqueued, EntryStatus, Lease, Outbox, OutboxEntry, OutboxStats,
};
use crate::policy::compiled::compile;
use crate::policy::spec::{ActionSpec, OwnerSpec, PolicySpec};

/// A pending write for `lead_id` (a lead `<lead_id>@example.com` assigned to
/// owner `q`), failed with a transient error — for outbox tests.
///
/// ```
/// let write = leadroute::testing::sample_write("lead-1");
/// assert_eq!((write.lead_id.as_str(), write.decision.owner_id()), ("lead-1", Some("q")));
/// ```
pub fn sample_write(lead_id: &str) -> PendingWrite {
    let spec = PolicySpec::new("outbox-test", "1")
        .owner(OwnerSpec::new("q", "Queue"))
        .fallback(ActionSpec::owner("q"));
    let policy = compile(&spec).expect("the sample policy compiles");
    let local: String = lead_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(60)
        .collect();
    let local = if local.is_empty() { "x".into() } else { local };
    let input = LeadInput::from_email(format!("{local}@example.com"));
    let mut lead = Normalizer::default()
        .normalize(&input)
        .expect("the sample lead normalizes")
        .lead;
    lead.lead_id = Some(lead_id.to_owned());
    let decision = policy.evaluate(&lead, &Facts::at_unix(0));
    PendingWrite::new(lead_id, lead, decision, CrmError::transient("503 (sample)"))
}

/// Runs the [`Outbox`] contract against `outbox`, which must be **empty**,
/// with times from `t0` on (use a whole number of milliseconds: stores may
/// keep times at that precision). Panics with what was expected and what
/// came back at the first deviation; an outbox error panics too.
///
/// It checks idempotent enqueue (of pending, write-ahead claimed and dead
/// entries), refusal of a malformed entry, due times and ordering, batch
/// limits, exclusive leases and their expiry, that a stale holder's
/// `complete`/`fail`/`dead_letter` is refused, `fail` rescheduling, dead
/// letters (listing, never claimed, requeue, remove) and `stats`. It leaves
/// the outbox empty.
///
/// ```
/// use leadroute::outbox::InMemoryOutbox;
/// use std::time::{Duration, SystemTime};
///
/// let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// pollster::block_on(leadroute::testing::check_outbox(&InMemoryOutbox::new(), t0));
/// ```
pub async fn check_outbox<O: Outbox>(outbox: &O, t0: SystemTime) {
    let s = Duration::from_secs;
    let lease = s(30);
    let ok = |what: &str| format!("outbox contract: {what} returned an error");

    expect_eq(
        "stats of the empty outbox",
        outbox
            .stats()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("stats"))),
        OutboxStats::default(),
    );

    // Enqueue is idempotent by id.
    let a = OutboxEntry::new(sample_write("a"), t0).retry_at(t0 + s(10));
    let b = OutboxEntry::new(sample_write("b"), t0).retry_at(t0 + s(5));
    let c = OutboxEntry::new(sample_write("c"), t0).retry_at(t0 + s(5));
    for entry in [a.clone(), b.clone(), c.clone()] {
        let id = entry.id.clone();
        expect_eq(
            &format!("enqueue of new entry `{id}`"),
            outbox
                .enqueue(entry)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", ok("enqueue"))),
            Enqueued::Added,
        );
    }
    let again = OutboxEntry::new(sample_write("a"), t0 + s(1));
    expect_eq(
        "enqueue of an id already present",
        outbox
            .enqueue(again)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("enqueue"))),
        Enqueued::AlreadyPresent {
            status: EntryStatus::Pending,
        },
    );
    expect_eq(
        "get of an enqueued entry",
        outbox
            .get("a")
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("get"))),
        Some(a.clone()),
    );
    let empty_id = OutboxEntry::new(sample_write("z"), t0).with_id("");
    assert!(
        outbox.enqueue(empty_id).await.is_err(),
        "outbox contract: an entry with an empty id must be refused with an error"
    );

    // Nothing is due before its time; then earliest due first, enqueue order
    // breaking ties, at most `limit`.
    let claim = |owner: &'static str, at: SystemTime, limit: usize| async move {
        outbox
            .claim(owner, at, lease, limit)
            .await
            .unwrap_or_else(|e| panic!("outbox contract: claim returned an error: {e}"))
    };
    let ids = |entries: &[OutboxEntry]| entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    expect_eq(
        "claim before anything is due",
        ids(&claim("w1", t0 + s(4), 10).await),
        vec![],
    );
    let first = claim("w1", t0 + s(20), 2).await;
    expect_eq(
        "claim order (earliest due, then enqueue order) and limit",
        ids(&first),
        vec!["b".to_owned(), "c".to_owned()],
    );
    let held_b = first[0]
        .lease
        .clone()
        .unwrap_or_else(|| panic!("outbox contract: a claimed entry has no lease"));
    expect_eq(
        "claimed entry's status",
        first[0].status,
        EntryStatus::Claimed,
    );
    expect_eq("claimed entry's attempts", first[0].attempts, 1);
    expect_eq(
        "claimed entry's lease",
        held_b.clone(),
        Lease::new("w1", 1, t0 + s(20) + lease),
    );
    let rest = claim("w2", t0 + s(21), 10).await;
    expect_eq(
        "the next claim takes only what is unclaimed",
        ids(&rest),
        vec!["a".to_owned()],
    );
    let held_a = rest[0]
        .lease
        .clone()
        .unwrap_or_else(|| panic!("outbox contract: a claimed entry has no lease"));
    expect_eq(
        "stats with three claimed",
        outbox
            .stats()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("stats"))),
        OutboxStats::new(0, 3, 0),
    );

    // A lease is exclusive until it expires; then the entry is claimed again
    // under a new hold and the stale holder's reports are refused.
    expect_eq(
        "claim while every lease holds",
        ids(&claim("w3", t0 + s(49), 10).await),
        vec![],
    );
    let retaken = claim("w3", t0 + s(50), 1).await;
    expect_eq(
        "claim after a lease expired",
        ids(&retaken),
        vec!["b".to_owned()],
    );
    expect_eq("attempts after a second claim", retaken[0].attempts, 2);
    let held_b2 = retaken[0]
        .lease
        .clone()
        .unwrap_or_else(|| panic!("outbox contract: a claimed entry has no lease"));
    expect_eq("the new hold's attempt", held_b2.attempt, 2);
    let error = CrmError::transient("502");
    expect_eq(
        "complete by a stale holder",
        outbox
            .complete("b", &held_b)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("complete"))),
        false,
    );
    expect_eq(
        "fail by a stale holder",
        outbox
            .fail("b", &held_b, &error, t0)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("fail"))),
        false,
    );
    let letter = DeadLetter::new(
        DeadReason::NotRetryable,
        t0 + s(50),
        Some(CrmError::permanent("400")),
    );
    expect_eq(
        "dead_letter by a stale holder",
        outbox
            .dead_letter("b", &held_b, &letter)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("dead_letter"))),
        false,
    );

    // Fail reschedules under the current hold; the entry is not due before.
    expect_eq(
        "fail by the holder",
        outbox
            .fail("b", &held_b2, &error, t0 + s(100))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("fail"))),
        true,
    );
    let failed = outbox
        .get("b")
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", ok("get")));
    let failed = failed.unwrap_or_else(|| panic!("outbox contract: a failed entry is gone"));
    expect_eq("status after fail", failed.status, EntryStatus::Pending);
    expect_eq("lease after fail", failed.lease.clone(), None);
    expect_eq(
        "next attempt after fail",
        failed.next_attempt_at,
        t0 + s(100),
    );
    expect_eq(
        "last error after fail",
        failed.last_error.clone(),
        Some(error.clone()),
    );
    expect_eq("attempts after fail", failed.attempts, 2);
    expect_eq(
        "a holder's second report",
        outbox
            .complete("b", &held_b2)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("complete"))),
        false,
    );

    // Complete removes.
    expect_eq(
        "complete by the holder",
        outbox
            .complete("a", &held_a)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("complete"))),
        true,
    );
    expect_eq(
        "get after complete",
        outbox
            .get("a")
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("get"))),
        None,
    );
    expect_eq(
        "enqueue of a completed id",
        outbox
            .enqueue(OutboxEntry::new(sample_write("a"), t0 + s(60)).retry_at(t0 + s(1000)))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("enqueue"))),
        Enqueued::Added,
    );

    // Dead letters: listed, never claimed, requeued, removed.
    let c_lease = claim("w4", t0 + s(200), 10).await;
    expect_eq(
        "claim of the expired `c` and the due `b`",
        ids(&c_lease),
        vec!["c".to_owned(), "b".to_owned()],
    );
    let held_c = c_lease[0]
        .lease
        .clone()
        .unwrap_or_else(|| panic!("outbox contract: a claimed entry has no lease"));
    let letter = DeadLetter::new(
        DeadReason::NotRetryable,
        t0 + s(200),
        Some(CrmError::permanent("400")),
    );
    expect_eq(
        "dead_letter by the holder",
        outbox
            .dead_letter("c", &held_c, &letter)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("dead_letter"))),
        true,
    );
    let dead_entry = OutboxEntry::new(sample_write("d"), t0).dead(DeadLetter::new(
        DeadReason::AttemptsExhausted,
        t0 + s(150),
        None,
    ));
    expect_eq(
        "enqueue of a dead entry",
        outbox
            .enqueue(dead_entry)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("enqueue"))),
        Enqueued::Added,
    );
    let dead = outbox
        .dead_letters(10)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", ok("dead_letters")));
    expect_eq(
        "dead letters, earliest first",
        ids(&dead),
        vec!["d".to_owned(), "c".to_owned()],
    );
    let c = &dead[1];
    expect_eq(
        "a dead entry's letter",
        c.dead_letter.clone(),
        Some(letter.clone()),
    );
    expect_eq(
        "a dead entry's last error",
        c.last_error.clone(),
        letter.error.clone(),
    );
    expect_eq("a dead entry's lease", c.lease.clone(), None);
    expect_eq(
        "dead letters, limit 1",
        ids(&outbox
            .dead_letters(1)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("dead_letters")))),
        vec!["d".to_owned()],
    );
    let held_b3 = c_lease[1]
        .lease
        .clone()
        .unwrap_or_else(|| panic!("outbox contract: a claimed entry has no lease"));
    outbox
        .complete("b", &held_b3)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", ok("complete")));
    let a_claim = claim("w5", t0 + s(10_000), 10).await;
    expect_eq(
        "claim never takes dead entries",
        ids(&a_claim),
        vec!["a".to_owned()],
    );
    let held_a2 = a_claim[0]
        .lease
        .clone()
        .unwrap_or_else(|| panic!("outbox contract: a claimed entry has no lease"));
    expect_eq(
        "stats with one claimed, two dead",
        outbox
            .stats()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("stats"))),
        OutboxStats::new(0, 1, 2),
    );
    expect_eq(
        "requeue of an entry that is not dead",
        outbox
            .requeue("a", t0)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("requeue"))),
        false,
    );
    expect_eq(
        "requeue of a dead entry",
        outbox
            .requeue("c", t0 + s(300))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("requeue"))),
        true,
    );
    let requeued = outbox
        .get("c")
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", ok("get")));
    let requeued = requeued.unwrap_or_else(|| panic!("outbox contract: a requeued entry is gone"));
    expect_eq(
        "status after requeue",
        requeued.status,
        EntryStatus::Pending,
    );
    expect_eq("attempts after requeue", requeued.attempts, 0);
    expect_eq(
        "dead letter after requeue",
        requeued.dead_letter.clone(),
        None,
    );
    expect_eq(
        "next attempt after requeue",
        requeued.next_attempt_at,
        t0 + s(300),
    );
    let c_again = claim("w6", t0 + s(300), 10).await;
    expect_eq(
        "the requeued entry is claimable",
        ids(&c_again),
        vec!["c".to_owned()],
    );
    let held_c2 = c_again[0]
        .lease
        .clone()
        .unwrap_or_else(|| panic!("outbox contract: a claimed entry has no lease"));
    expect_eq("a requeued entry's first claim", held_c2.attempt, 1);
    expect_eq(
        "complete of the requeued entry",
        outbox
            .complete("c", &held_c2)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("complete"))),
        true,
    );

    // Write-ahead: enqueued already claimed; not claimable until the lease
    // expires; the enqueuer completes it.
    let ahead = OutboxEntry::new(sample_write("e"), t0 + s(400)).claimed_by("router", s(60));
    let ahead_lease = ahead
        .lease
        .clone()
        .unwrap_or_else(|| panic!("claimed_by sets a lease"));
    outbox
        .enqueue(ahead)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", ok("enqueue")));
    expect_eq(
        "enqueue of an id present as claimed",
        outbox
            .enqueue(OutboxEntry::new(sample_write("e"), t0 + s(401)))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("enqueue"))),
        Enqueued::AlreadyPresent {
            status: EntryStatus::Claimed,
        },
    );
    expect_eq(
        "claim of a write-ahead entry under its lease",
        ids(&claim("w7", t0 + s(459), 10).await),
        vec![],
    );
    expect_eq(
        "complete by the write-ahead holder",
        outbox
            .complete("e", &ahead_lease)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("complete"))),
        true,
    );

    // Remove, in any status; a holder's later report is refused.
    for id in ["a", "d"] {
        expect_eq(
            &format!("remove of `{id}`"),
            outbox
                .remove(id)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", ok("remove"))),
            true,
        );
    }
    expect_eq(
        "complete by the holder of a removed entry",
        outbox
            .complete("a", &held_a2)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("complete"))),
        false,
    );
    expect_eq(
        "remove of a missing id",
        outbox
            .remove("a")
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("remove"))),
        false,
    );
    expect_eq(
        "stats at the end",
        outbox
            .stats()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", ok("stats"))),
        OutboxStats::default(),
    );
}

#[track_caller]
fn expect_eq<T: PartialEq + Debug>(what: &str, got: T, expected: T) {
    assert!(
        got == expected,
        "outbox contract: {what}\n  expected: {expected:?}\n       got: {got:?}"
    );
}
