//! Spam screening's cost: normalize and evaluate, against normalize, screen
//! and evaluate with the recommended screening rules in front of the same
//! policy (measured in the same run; the ratio is the claim), and the
//! screen alone.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use leadroute::submission::{self, ScreenConfig, Submission, Verification};
use leadroute::{Facts, LeadInput, Normalizer, PolicySpec, compile};

fn bench(c: &mut Criterion) {
    let spec = PolicySpec::from_json_str(include_str!("../examples/policies/seed.json")).unwrap();
    let policy = compile(&spec).unwrap();
    let mut screened_spec = spec.clone();
    screened_spec
        .rules
        .splice(0..0, submission::recommended_rules());
    let screened_policy = compile(&screened_spec).unwrap();
    let screen = ScreenConfig::default().build().unwrap();
    let input: LeadInput = serde_json::from_str(
        r#"{"email": "dana@globex.com", "first_name": "Dana", "last_name": "Whitfield",
            "company": "Globex Inc", "country": "US", "state": "CA",
            "company_size": "1,000+", "product_interest": "Analytics", "submission_id": "s-1",
            "leadroute_hp": "", "form_started": 1764000000000,
            "message": "We are evaluating routing for 40 reps across two regions; see https://globex.com/about. Can we talk pricing next week?"}"#,
    )
    .unwrap();
    let normalizer = Normalizer::default();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_000_045);
    let submission = Submission::default();

    let mut g = c.benchmark_group("screening");
    g.bench_function("normalize_evaluate_baseline", |b| {
        b.iter(|| {
            let lead = normalizer.normalize(black_box(&input)).unwrap().lead;
            black_box(policy.evaluate(&lead, &Facts::new(now)))
        })
    });
    g.bench_function("normalize_screen_evaluate", |b| {
        b.iter(|| {
            let lead = normalizer.normalize(black_box(&input)).unwrap().lead;
            let signals = screen.assess(&lead, &submission, &Verification::NotConfigured, now);
            black_box(screened_policy.evaluate(&lead, &Facts::new(now).signals(&signals)))
        })
    });
    let lead = normalizer.normalize(&input).unwrap().lead;
    g.bench_function("assess_only", |b| {
        b.iter(|| {
            black_box(screen.assess(
                black_box(&lead),
                &submission,
                &Verification::NotConfigured,
                now,
            ))
        })
    });
    g.bench_function("evaluate_only_screened", |b| {
        let signals = screen.assess(&lead, &submission, &Verification::NotConfigured, now);
        b.iter(|| {
            black_box(
                screened_policy.evaluate(black_box(&lead), &Facts::new(now).signals(&signals)),
            )
        })
    });
    g.bench_function("evaluate_only_baseline", |b| {
        b.iter(|| black_box(policy.evaluate(black_box(&lead), &Facts::new(now))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
