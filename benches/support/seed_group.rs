//! The seed-policy benchmarks shared by `benches/evaluate.rs` and the
//! comparison crate, so both measure leadroute and the hand-written baseline
//! the same way, in the same run as whatever else they time.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId};
use leadroute::policy::EvalOptions;
use leadroute::{Facts, Policy};

use super::seed_baseline::{SeedBaseline, SeedLead};

/// Adds `leadroute_trace_on`, `leadroute_trace_off` and
/// `hand_written_baseline` over all `leads` (one iteration routes them all).
pub fn bench_seed(
    g: &mut BenchmarkGroup<'_, WallTime>,
    policy: &Policy,
    leads: &[SeedLead],
    contexts: &[Facts<'_>],
) {
    let n = leads.len();
    g.bench_function(BenchmarkId::new("leadroute_trace_on", n), |b| {
        b.iter(|| {
            for (l, ctx) in leads.iter().zip(contexts) {
                black_box(policy.evaluate(black_box(&l.lead), black_box(ctx)));
            }
        })
    });
    g.bench_function(BenchmarkId::new("leadroute_trace_off", n), |b| {
        b.iter(|| {
            for (l, ctx) in leads.iter().zip(contexts) {
                black_box(policy.evaluate_with(
                    black_box(&l.lead),
                    black_box(ctx),
                    EvalOptions::without_trace(),
                ));
            }
        })
    });
    let baseline = SeedBaseline::new();
    g.bench_function(BenchmarkId::new("hand_written_baseline", n), |b| {
        b.iter(|| {
            for l in leads {
                black_box(baseline.route(black_box(&l.lead), black_box(l.account.as_ref())));
            }
        })
    });
}
