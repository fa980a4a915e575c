//! One lead against 1, 10 and 100 candidate accounts.
//!
//! `cargo bench --bench matching`. The lead and candidates (a realistic
//! mix: one account on the lead's own domain, regional siblings, namesakes
//! and unrelated companies, so every signal is computed) are in
//! `support/match_candidates.rs` (shared with `instr_matching`).
//!
//! `match_accounts/N` prepares the N fresh accounts per match (what a CRM
//! adapter's results go through); `match_set/N` matches a
//! [`CandidateSet`](leadroute::matching::CandidateSet) prepared once (an
//! in-memory CRM, an accounts file, a cache). Both are checked to agree
//! before they are timed.

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
    let mut group = c.benchmark_group("match_set");
    for n in [1usize, 10, 100] {
        let set = matcher.prepare(candidates(n));
        assert_eq!(
            matcher.match_set(&lead, &set),
            matcher.match_accounts(&lead, &candidates(n)),
            "the prepared and fresh paths agree"
        );
        group.bench_with_input(BenchmarkId::from_parameter(n), &set, |b, set| {
            b.iter(|| matcher.match_set(std::hint::black_box(&lead), set));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
