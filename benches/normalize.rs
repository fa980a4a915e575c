//! `normalize` over a mixed corpus of messy leads (business, free,
//! disposable, IDN, ranges, phones, placeholders, invalid).
//!
//! Reported per lead: the corpus time divided by its size (criterion's
//! throughput line gives elements/s).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leadroute::{LeadInput, Normalizer};
use std::hint::black_box;

const CORPUS: &str = include_str!("../tests/fixtures/normalize_cases.jsonl");

fn corpus() -> Vec<LeadInput> {
    CORPUS
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|case| serde_json::from_value(case["in"].clone()).ok())
        .collect()
}

fn bench(c: &mut Criterion) {
    let normalizer = Normalizer::default();
    let inputs = corpus();
    let mut group = c.benchmark_group("normalize");
    group.throughput(Throughput::Elements(inputs.len() as u64));
    group.bench_function("mixed_corpus", |b| {
        b.iter(|| {
            for input in &inputs {
                let _ = black_box(normalizer.normalize(black_box(input)));
            }
        })
    });
    group.finish();

    // Every field filled, IDN website, phone and ranges: the expensive shape.
    let full: LeadInput = serde_json::from_str(
        r#"{"email": "Dana.Whitfield@Globex-Industries.com", "first_name": "Dana", "last_name": "Whitfield",
            "company": "Globex Industries, Inc.", "website": "https://www.globex-industries.com/about",
            "country": "United States of America", "state": "California", "zip": "94105-1234",
            "phone": "(415) 555-0100", "company_size": "1,000+", "annual_revenue": "$100M-$500M",
            "product_interest": "Analytics; Data Platform", "utm_source": "google", "utm_medium": "cpc",
            "How did you hear?": "podcast"}"#,
    )
    .unwrap_or_default();
    let mut group = c.benchmark_group("normalize");
    group.throughput(Throughput::Elements(1));
    group.bench_function("full_lead", |b| {
        b.iter(|| black_box(normalizer.normalize(black_box(&full))))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
