//! One lead against 1, 10 and 100 candidate accounts.
//!
//! `cargo bench --bench matching`. The lead and candidates are in
//! `support/match_candidates.rs` (shared with `instr_matching`).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use leadroute::Normalizer;
use leadroute::matching::Matcher;

#[path = "support/match_candidates.rs"]
mod match_candidates;

use match_candidates::{LEAD_JSON, candidates};

fn bench(c: &mut Criterion) {
    let lead = Normalizer::default()
        .normalize_json(LEAD_JSON)
        .expect("valid lead")
        .lead;
    let matcher = Matcher::default();
    // The baseline in the same run: normalizing the lead itself.
    let normalizer = Normalizer::default();
    let input = LEAD_JSON;
    c.bench_function("baseline/normalize_lead", |b| {
        b.iter(|| normalizer.normalize_json(std::hint::black_box(input)))
    });
    let mut group = c.benchmark_group("match_accounts");
    for n in [1usize, 10, 100] {
        let accounts = candidates(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &accounts, |b, accounts| {
            b.iter(|| matcher.match_accounts(std::hint::black_box(&lead), accounts));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
