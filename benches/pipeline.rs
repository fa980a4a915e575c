//! The router pipeline with in-memory adapters, against the bare
//! normalize + evaluate work it wraps (measured in the same run).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use leadroute::PolicySpec;
use leadroute::events::NoEvents;
use leadroute::testing::ManualClock;
use leadroute::{Facts, LeadInput, LeadRouter, Normalizer, compile};

#[path = "support/null_crm.rs"]
mod null_crm;

use null_crm::NullCrm;

fn bench(c: &mut Criterion) {
    let spec = PolicySpec::from_json_str(include_str!("../examples/policies/seed.json")).unwrap();
    let policy = compile(&spec).unwrap();
    let input: LeadInput = serde_json::from_str(
        r#"{"email": "dana@globex.com", "company": "Globex Inc", "country": "US", "state": "CA",
            "company_size": "1,000+", "product_interest": "Analytics", "submission_id": "s-1"}"#,
    )
    .unwrap();
    let normalizer = Normalizer::default();
    let router = LeadRouter::new(policy.clone(), NullCrm, NoEvents)
        .with_clock(ManualClock::at_unix(1_764_000_000));

    let mut g = c.benchmark_group("pipeline");
    g.bench_function("normalize_evaluate_baseline", |b| {
        b.iter(|| {
            let lead = normalizer.normalize(black_box(&input)).unwrap().lead;
            black_box(policy.evaluate(&lead, &Facts::at_unix(1_764_000_000)))
        })
    });
    // The same lead id every time: after the first, pool steps are replays,
    // so this measures the pipeline, not a growing pool state.
    g.bench_function("router_route_in_memory", |b| {
        b.iter(|| black_box(pollster::block_on(router.route(black_box(input.clone()))).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
