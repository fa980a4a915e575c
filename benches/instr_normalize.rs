//! Instruction counts of `Normalizer::normalize` under callgrind: the mixed
//! corpus (every case of `tests/fixtures/normalize_cases.jsonl`, figures per
//! lead) and one fully populated lead (every field, ranges, phone, website,
//! attribute) — the lead sets of `benches/normalize.rs` — and the full lead
//! from its JSON, normalized borrowed (`normalize`) and owned
//! (`normalize_json`, which moves the attributes).
//!
//! ```text
//! cargo bench --bench instr_normalize
//! ```
//!
//! See `benches/instr/mod.rs` for how it measures and what fails the run.

use std::hint::black_box;
use std::process::ExitCode;

use leadroute::{LeadInput, Normalizer};

mod instr;

const CORPUS: &str = include_str!("../tests/fixtures/normalize_cases.jsonl");

/// The full lead of `benches/normalize.rs`.
const FULL_LEAD: &str = r#"{"email": "Dana.Whitfield@Globex-Industries.com", "first_name": "Dana", "last_name": "Whitfield",
    "company": "Globex Industries, Inc.", "website": "https://www.globex-industries.com/about",
    "country": "United States of America", "state": "California", "zip": "94105-1234",
    "phone": "(415) 555-0100", "company_size": "1,000+", "annual_revenue": "$100M-$500M",
    "product_interest": "Analytics; Data Platform", "utm_source": "google", "utm_medium": "cpc",
    "How did you hear?": "podcast"}"#;

fn corpus() -> Vec<LeadInput> {
    CORPUS
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|case| serde_json::from_value(case["in"].clone()).ok())
        .collect()
}

fn main() -> ExitCode {
    instr::main("normalize", |s| {
        let normalizer = Normalizer::default();
        let inputs = corpus();
        assert!(inputs.len() > 100, "the corpus has its cases");
        s.bench("normalize/mixed_corpus", inputs.len() as u64, || {
            for input in &inputs {
                let _ = black_box(normalizer.normalize(black_box(input)));
            }
        });
        let full: LeadInput = serde_json::from_str(FULL_LEAD).expect("full lead");
        assert!(
            normalizer.normalize(&full).is_ok(),
            "the full lead is valid"
        );
        s.bench("normalize/full_lead", 1, || {
            black_box(normalizer.normalize(black_box(&full)))
        });
        // A service's path from the request body: parse, then normalize the
        // input it owns (moving the attributes, `normalize_json`), against
        // parsing and normalizing a borrowed input (copying them).
        s.bench("normalize/json_full_lead/borrowed", 1, || {
            let input: LeadInput = serde_json::from_str(black_box(FULL_LEAD)).expect("full lead");
            black_box(normalizer.normalize(&input))
        });
        s.bench("normalize/json_full_lead/owned", 1, || {
            black_box(normalizer.normalize_json(black_box(FULL_LEAD)))
        });
    })
}
