//! One lead against 1, 10 and 100 candidate accounts.
//!
//! `cargo bench --bench matching`. The candidates are a realistic mix: one
//! account on the lead's own domain, regional siblings, namesakes and
//! unrelated companies, so every signal is computed.
//!
//! `match_accounts/N` prepares the N fresh accounts per match (what a CRM
//! adapter's results go through); `match_set/N` matches a
//! [`CandidateSet`](leadroute::matching::CandidateSet) prepared once (an
//! in-memory CRM, an accounts file, a cache). Both are checked to agree
//! before they are timed.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use leadroute::Normalizer;
use leadroute::crm::Account;
use leadroute::matching::Matcher;

fn candidates(n: usize) -> Vec<Account> {
    let mut out = vec![
        Account::new("a-0", "Acme Corporation")
            .domain("https://www.acme.com")
            .additional_domain("acme.de")
            .country("US")
            .owner("ana")
            .customer(),
    ];
    let names = [
        ("Acme Labs", "acmelabs.io"),
        ("Initech", "initech.com"),
        ("Globex Corporation", "globex.com"),
        ("Umbrella GmbH", "umbrella.de"),
        ("Acme UK Ltd", "acme.co.uk"),
        ("Stark Industries", "stark.com"),
        ("Wayne Enterprises", "wayne.com"),
        ("Hooli", "hooli.xyz"),
        ("Vandelay Industries", "vandelay.com"),
    ];
    let mut i = 1;
    while out.len() < n {
        let (name, domain) = names[i % names.len()];
        out.push(
            Account::new(format!("a-{i}"), format!("{name} {i}"))
                .domain(format!("{i}.{domain}"))
                .country("GB"),
        );
        i += 1;
    }
    out.truncate(n);
    out
}

fn bench(c: &mut Criterion) {
    let lead = Normalizer::default()
        .normalize_json(
            r#"{"email": "jane@acme.co.uk", "company": "ACME Ltd", "country": "GB", "zip": "SW1A 1AA"}"#,
        )
        .expect("valid lead")
        .lead;
    let matcher = Matcher::default();
    // The baseline in the same run: normalizing the lead itself.
    let normalizer = Normalizer::default();
    let input = r#"{"email": "jane@acme.co.uk", "company": "ACME Ltd", "country": "GB", "zip": "SW1A 1AA"}"#;
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
