//! Heap allocations per `Policy::evaluate` on the seed policy.
//!
//! A counting global allocator wraps `System` and counts, on the measuring
//! thread only, every `alloc`, `alloc_zeroed` and `realloc` made between
//! [`count`]'s start and end. Lead normalization, context building, and the
//! decision's drop happen outside that window; so does `Policy::explain`,
//! which evaluate never needs.
//!
//! Measured (see the report in each assertion): with the trace on, one
//! allocation per evaluate for every seed lead, the trace's `Vec` (events
//! are recorded in a stack buffer and copied into a `Vec` of exactly their
//! number, or moved to one of 64 when they outgrow the buffer: see
//! `Recorder` in `src/policy/eval.rs`); with the trace off, none. Everything
//! else a `RouteDecision` holds is inline (`Name` ids up to 23 bytes,
//! `ShortText` observations) or an `Arc` clone of compiled data (the tags),
//! and pool rotation state is read, not written.
//!
//! `Policy::evaluate_into` a reused decision allocates nothing at all once
//! its trace buffer has held the longest trace.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use leadroute::PolicySpec;
use leadroute::policy::EvalOptions;
use leadroute::{Facts, Normalizer, compile};

#[path = "../benches/support/seed_baseline.rs"]
mod seed_baseline;
#[path = "../benches/support/seed_scheduled.rs"]
mod seed_scheduled;

use seed_baseline::{NOW_UNIX, SeedLead, seed_leads};

/// Upper bound on allocations per `evaluate` with the trace on (measured: 1,
/// the trace buffer).
const MAX_ALLOCS_TRACE_ON: usize = 1;
/// With the trace off there is nothing to allocate (measured: 0).
const ALLOCS_TRACE_OFF: usize = 0;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static REALLOCS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
}

fn measuring() -> bool {
    MEASURING.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every call is forwarded unchanged to `System`; the counters are
// atomics and the flag is a const-initialized thread local (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if measuring() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if measuring() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if measuring() {
            REALLOCS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(new_size.saturating_sub(layout.size()), Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by one call of `f` on this thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counted {
    allocs: usize,
    reallocs: usize,
    bytes: usize,
}

impl Counted {
    fn total(self) -> usize {
        self.allocs + self.reallocs
    }
}

/// Serializes measurements: the counters are shared by the test threads.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn count<R>(f: impl FnOnce() -> R) -> (R, Counted) {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let before = (
        ALLOCS.load(Ordering::SeqCst),
        REALLOCS.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    MEASURING.with(|m| m.set(true));
    let r = f();
    MEASURING.with(|m| m.set(false));
    let counted = Counted {
        allocs: ALLOCS.load(Ordering::SeqCst) - before.0,
        reallocs: REALLOCS.load(Ordering::SeqCst) - before.1,
        bytes: BYTES.load(Ordering::SeqCst) - before.2,
    };
    (r, counted)
}

#[test]
fn the_counter_counts() {
    let (b, c) = count(|| black_box(Box::new(black_box(7u64))));
    assert_eq!(*b, 7);
    assert_eq!(c.allocs, 1);
    let ((), c) = count(|| ());
    assert_eq!(c.total(), 0);
}

/// A policy of `n` rules the index cannot rule out (rule `i`: `source` is
/// `s{i}`), each assigning `ana`, as is the fallback: a lead matching no
/// rule evaluates all of them, two trace events each.
fn source_rules(n: usize) -> leadroute::Policy {
    let rules: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({"id": format!("r{i}"), "when": {"source": [format!("s{i}")]},
                "then": {"assign": {"owner": "ana"}}})
        })
        .collect();
    let spec = PolicySpec::from_json_str(
        &serde_json::json!({"name": "p", "version": "1",
            "owners": [{"id": "ana", "name": "Ana"}], "rules": rules,
            "fallback": {"assign": {"owner": "ana"}}})
        .to_string(),
    )
    .expect("policy");
    compile(&spec).expect("compiles")
}

/// Traces shorter and longer than the stack buffer (32 events) allocate
/// once, up to 64 events, however many rules the policy has.
#[test]
fn traces_up_to_64_events_allocate_once_at_any_length() {
    // `n` rules the index cannot rule out (a `source` condition): each is
    // evaluated, two events per rule (its condition and its verdict).
    for n in [1usize, 10, 15, 16, 20, 30] {
        let policy = source_rules(n);
        let lead = Normalizer::default()
            .normalize(&leadroute::LeadInput::from_email("a@acme.com"))
            .expect("lead")
            .lead;
        let ctx = Facts::at_unix(NOW_UNIX);
        drop(policy.evaluate(&lead, &ctx));
        let (d, on) = count(|| policy.evaluate(black_box(&lead), black_box(&ctx)));
        let events = d.trace.events.len();
        assert!(events >= 2 * n, "{n} rules: {events} events");
        assert!(events <= 64, "{n} rules: {events} events");
        assert_eq!(on.total(), 1, "{n} rules, {events} events: {on:?}");
        // Exactly sized while the events fit the stack buffer.
        if events <= 32 {
            assert_eq!(
                on.bytes,
                events * std::mem::size_of::<leadroute::decision::TraceEvent>()
            );
        }
    }
}

#[test]
fn evaluate_allocates_at_most_the_trace_buffer() {
    let spec = PolicySpec::from_json_str(seed_baseline::SEED_POLICY_JSON).expect("seed policy");
    allocations_of(&spec, false);
}

/// The same with working hours: schedules checked for every pool member,
/// a day-of-week rule, SLA deadlines counted in working time, capacity in
/// the pool's zone — and still only the trace buffer.
#[test]
fn evaluate_with_schedules_allocates_at_most_the_trace_buffer() {
    let spec = seed_scheduled::scheduled_seed_spec(seed_baseline::SEED_POLICY_JSON);
    allocations_of(&spec, true);
}

fn allocations_of(spec: &PolicySpec, scheduled: bool) {
    let policy = compile(spec).expect("compiles");
    let leads = seed_leads(&Normalizer::default());
    let mut report = Vec::new();
    for l in &leads {
        let ctx = l.facts();
        // Warm up: any one-time lazy initialization is not per evaluation.
        drop(policy.evaluate(&l.lead, &ctx));

        let (decision, on) = count(|| policy.evaluate(black_box(&l.lead), black_box(&ctx)));
        let (_, again) = count(|| policy.evaluate(black_box(&l.lead), black_box(&ctx)));
        let (quiet, off) = count(|| {
            policy.evaluate_with(
                black_box(&l.lead),
                black_box(&ctx),
                EvalOptions::without_trace(),
            )
        });
        assert_eq!(on, again, "{}: the count is stable", l.name);

        // The decision is complete without `explain`: rule, owner,
        // experience and trace are all there.
        assert_eq!(decision.rule.as_deref(), l.rule, "{}", l.name);
        assert!(!decision.trace.events.is_empty(), "{}", l.name);
        assert_eq!(quiet.rule, decision.rule);
        assert_eq!(quiet.owner, decision.owner);
        assert_eq!(quiet.experience, decision.experience);
        if scheduled && decision.sla_minutes.is_some() && decision.owner.is_some() {
            // Working-time deadlines: at least the SLA after the decision time.
            let due = decision.sla_due.expect("an SLA deadline");
            let floor = ctx.now
                + std::time::Duration::from_secs(u64::from(decision.sla_minutes.unwrap_or(0)) * 60);
            assert!(due >= floor, "{}", l.name);
        }
        // `explain` (rendering the trace as text) allocates, and is outside
        // what was measured above.
        let (text, explain) = count(|| policy.explain(&decision).to_string());
        assert!(!text.is_empty());
        assert!(explain.total() > 0, "explain is measured separately");

        report.push(format!(
            "{:<24} trace on: {} allocs + {} reallocs ({} B, {} trace events); trace off: {} + {}; explain: {}",
            l.name,
            on.allocs,
            on.reallocs,
            on.bytes,
            decision.trace.events.len(),
            off.allocs,
            off.reallocs,
            explain.total(),
        ));
        assert!(
            on.total() <= MAX_ALLOCS_TRACE_ON,
            "{}: {on:?} with the trace on\n{}",
            l.name,
            report.join("\n")
        );
        assert_eq!(
            off.total(),
            ALLOCS_TRACE_OFF,
            "{}: {off:?} with the trace off\n{}",
            l.name,
            report.join("\n")
        );
    }
    // Shown with `--nocapture`.
    println!("{}", report.join("\n"));
}

/// `Policy::evaluate_into` reuses the decision's trace buffer: once it has
/// held the longest trace, deciding every seed lead again (trace on or off,
/// with and without working hours) allocates nothing, and each decision
/// equals a fresh `evaluate_with`'s.
#[test]
fn evaluate_into_a_reused_decision_allocates_nothing() {
    for (spec, label) in [
        (
            PolicySpec::from_json_str(seed_baseline::SEED_POLICY_JSON).expect("seed policy"),
            "seed",
        ),
        (
            seed_scheduled::scheduled_seed_spec(seed_baseline::SEED_POLICY_JSON),
            "scheduled seed",
        ),
    ] {
        let policy = compile(&spec).expect("compiles");
        let leads = seed_leads(&Normalizer::default());
        let contexts: Vec<Facts<'_>> = leads.iter().map(SeedLead::facts).collect();
        let mut decision = policy.evaluate(&leads[0].lead, &contexts[0]);
        // The first pass may grow the buffer to the longest trace.
        for (l, ctx) in leads.iter().zip(&contexts) {
            policy.evaluate_into(&l.lead, ctx, EvalOptions::default(), &mut decision);
        }
        for options in [EvalOptions::default(), EvalOptions::without_trace()] {
            for (l, ctx) in leads.iter().zip(&contexts) {
                let ((), counted) = count(|| {
                    policy.evaluate_into(
                        black_box(&l.lead),
                        black_box(ctx),
                        options,
                        &mut decision,
                    );
                });
                assert_eq!(
                    counted.total(),
                    0,
                    "{label}, {}, trace {}: {counted:?}",
                    l.name,
                    options.trace
                );
                assert_eq!(
                    decision,
                    policy.evaluate_with(&l.lead, ctx, options),
                    "{label}, {}",
                    l.name
                );
                assert_eq!(decision.rule.as_deref(), l.rule, "{label}, {}", l.name);
            }
        }
    }
}

/// A trace that outgrows the stack buffer (it moves to the heap while
/// recording) lands in the reused buffer too: after a longer trace, a
/// shorter spilled one is complete, equal to a fresh evaluation's, and
/// allocates nothing.
#[test]
fn evaluate_into_keeps_a_spilled_trace() {
    // 60 rules the index cannot rule out, two events each: a lead whose
    // `source` matches rule `i` records about `2 i` events.
    let policy = source_rules(60);
    let lead = |source: Option<&str>| {
        let mut input = leadroute::LeadInput::from_email("a@acme.com");
        input.source = source.map(str::to_owned);
        Normalizer::default().normalize(&input).expect("lead").lead
    };
    let ctx = Facts::at_unix(NOW_UNIX);
    let (long, short) = (lead(None), lead(Some("s20")));
    let mut decision = policy.evaluate(&long, &ctx);
    assert!(
        decision.trace.events.len() > 64,
        "{}",
        decision.trace.events.len()
    );
    let fresh = policy.evaluate(&short, &ctx);
    let events = fresh.trace.events.len();
    assert!(
        (33..=64).contains(&events),
        "{events} events: spilled, within 64"
    );
    let ((), counted) = count(|| {
        policy.evaluate_into(
            black_box(&short),
            &ctx,
            EvalOptions::default(),
            &mut decision,
        );
    });
    assert_eq!(decision, fresh);
    assert_eq!(counted.total(), 0, "{counted:?}");
}
