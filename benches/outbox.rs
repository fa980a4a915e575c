//! The outbox: the in-memory outbox's throughput (enqueue → claim →
//! complete), and what an outbox adds to a route — on the success path
//! (nothing, by design), in write-ahead mode, and on the failure path —
//! against the same router without one, in the same run.

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use leadroute::PolicySpec;
use leadroute::crm::{Account, Contact, CrmError, LeadWrite, WriteReceipt};
use leadroute::events::NoEvents;
use leadroute::outbox::{InMemoryOutbox, Outbox, OutboxEntry};
use leadroute::testing::{ManualClock, sample_write};
use leadroute::{Crm, LeadInput, LeadRouter, compile};

/// Answers every call at once; writes succeed unless `fail` is set.
struct NullCrm {
    fail: bool,
}

impl Crm for NullCrm {
    fn find_account(
        &self,
        _: &str,
    ) -> impl Future<Output = Result<Option<Account>, CrmError>> + Send {
        std::future::ready(Ok(None))
    }
    fn find_person(
        &self,
        _: &str,
    ) -> impl Future<Output = Result<Option<Contact>, CrmError>> + Send {
        std::future::ready(Ok(None))
    }
    fn upsert_lead(
        &self,
        _: &LeadWrite<'_>,
    ) -> impl Future<Output = Result<WriteReceipt, CrmError>> + Send {
        std::future::ready(if self.fail {
            Err(CrmError::transient("503"))
        } else {
            Ok(WriteReceipt::new("rec-1", true))
        })
    }
}

fn in_memory_throughput(c: &mut Criterion) {
    const N: usize = 1000;
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_000);
    let entries: Vec<OutboxEntry> = (0..N)
        .map(|i| OutboxEntry::new(sample_write(&format!("lead-{i}")), t0))
        .collect();
    let mut g = c.benchmark_group("outbox_in_memory");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("enqueue_claim_complete_1000", |b| {
        b.iter_batched(
            || entries.clone(),
            |entries| {
                let outbox = InMemoryOutbox::new();
                pollster::block_on(async {
                    for e in entries {
                        outbox.enqueue(e).await.unwrap();
                    }
                    loop {
                        let batch = outbox
                            .claim("w", t0, Duration::from_secs(30), 100)
                            .await
                            .unwrap();
                        if batch.is_empty() {
                            break;
                        }
                        for e in batch {
                            let lease = e.lease.unwrap();
                            black_box(outbox.complete(&e.id, &lease).await.unwrap());
                        }
                    }
                });
                outbox
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn route_overhead(c: &mut Criterion) {
    let spec = PolicySpec::from_json_str(include_str!("../examples/policies/seed.json")).unwrap();
    let policy = compile(&spec).unwrap();
    let input: LeadInput = serde_json::from_str(
        r#"{"email": "dana@globex.com", "company": "Globex Inc", "country": "US", "state": "CA",
            "company_size": "1,000+", "product_interest": "Analytics", "submission_id": "s-1"}"#,
    )
    .unwrap();
    let clock = || ManualClock::at_unix(1_764_000_000);
    let plain =
        LeadRouter::new(policy.clone(), NullCrm { fail: false }, NoEvents).with_clock(clock());
    let outboxed = LeadRouter::new(policy.clone(), NullCrm { fail: false }, NoEvents)
        .with_clock(clock())
        .with_outbox(InMemoryOutbox::new());
    let ahead = LeadRouter::new(policy.clone(), NullCrm { fail: false }, NoEvents)
        .with_clock(clock())
        .with_outbox(InMemoryOutbox::new())
        .with_write_ahead(true);
    let failing_plain =
        LeadRouter::new(policy.clone(), NullCrm { fail: true }, NoEvents).with_clock(clock());
    let failing = LeadRouter::new(policy, NullCrm { fail: true }, NoEvents)
        .with_clock(clock())
        .with_outbox(InMemoryOutbox::new());

    // The same lead id every time (pool steps replay), as in the pipeline bench.
    let mut g = c.benchmark_group("route_outbox");
    g.bench_function("success_without_outbox", |b| {
        b.iter(|| black_box(pollster::block_on(plain.route(black_box(input.clone()))).unwrap()))
    });
    g.bench_function("success_with_outbox", |b| {
        b.iter(|| black_box(pollster::block_on(outboxed.route(black_box(input.clone()))).unwrap()))
    });
    g.bench_function("success_write_ahead", |b| {
        b.iter(|| black_box(pollster::block_on(ahead.route(black_box(input.clone()))).unwrap()))
    });
    g.bench_function("failure_without_outbox", |b| {
        b.iter(|| {
            black_box(pollster::block_on(failing_plain.route(black_box(input.clone()))).unwrap())
        })
    });
    // Each failure enqueues; the first adds the entry, later ones find the
    // id present (the enqueue is still made and measured), so the outbox
    // stays one entry.
    g.bench_function("failure_queued", |b| {
        b.iter(|| {
            let routed = pollster::block_on(failing.route(black_box(input.clone()))).unwrap();
            black_box(routed)
        })
    });
    g.finish();
}

criterion_group!(benches, in_memory_throughput, route_overhead);
criterion_main!(benches);
