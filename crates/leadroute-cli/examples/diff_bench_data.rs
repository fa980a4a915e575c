//! Writes the data of the `leadroute diff` benchmark (BENCHMARKS.md): two
//! versions of a 1,000-rule policy and a file of generated leads.
//!
//! ```text
//! cargo run --release -p leadroute-cli --example diff_bench_data -- DIR [LEADS [EVENT_LEADS]]
//! /usr/bin/time -v target/release/leadroute diff DIR/old.json DIR/new.json \
//!     --leads DIR/leads.jsonl --now 1700000000 --format json > /dev/null
//! ```
//!
//! The policy segments 50 countries into 20 employee bands each (1,000
//! rules, disjoint, so none is unreachable), assigning 20 pools of 5 owners
//! and 100 named owners. The new version reassigns every 20th rule to
//! another pool and puts a product-interest rule first. Leads (default
//! 1,000,000) come from 60 countries (10 outside the plan, for the
//! fallback), with employee counts up to 2,500 and one of four products.
//! Deterministic: a fixed-seed generator, no clock.
//!
//! With `EVENT_LEADS` (the `leadroute report` benchmark: 500000) it also
//! writes `events.jsonl`: per lead `form_submitted`, `owner_assigned` (one
//! of 1,000 rules, one of 100 owners, an exponential latency of mean 80 ms)
//! and `crm_write_success`, and for every third lead `meeting_shown`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use serde_json::{Value, json};

const COUNTRIES: [&str; 60] = [
    "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE", "GB", "IE", "FR", "DE", "AT", "CH", "NL", "BE",
    "LU", "DK", "SE", "NO", "FI", "IS", "ES", "PT", "IT", "GR", "PL", "CZ", "SK", "HU", "RO", "BG",
    "HR", "SI", "EE", "LV", "LT", "UA", "TR", "IL", "AE", "SA", "EG", "ZA", "NG", "KE", "IN", "PK",
    "BD", "LK", "CN", "JP", "KR", "TW", "HK", "SG", "MY", "TH", "AU", "NZ",
];
const PRODUCTS: [&str; 4] = ["analytics", "crm", "billing", "plg"];

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn policy(version: &str, changed: bool) -> Value {
    let owners: Vec<Value> = (0..100)
        .map(|i| json!({"id": format!("o{i}"), "name": format!("Owner {i}")}))
        .chain([json!({"id": "queue", "name": "Queue"})])
        .collect();
    let pools: Vec<Value> = (0..20)
        .map(|p| {
            json!({
                "id": format!("pool{p}"),
                "members": (0..5).map(|m| json!({"owner": format!("o{}", p * 5 + m)})).collect::<Vec<_>>(),
                "fallback": {"owner": "queue"},
            })
        })
        .collect();
    let mut rules = Vec::new();
    if changed {
        rules.push(json!({
            "id": "plg-first",
            "when": {"product_interest": ["plg"]},
            "then": {"assign": {"pool": "pool19"}, "experience": "confirmation"},
        }));
    }
    for i in 0..1000usize {
        let country = COUNTRIES[i / 20];
        let band = i % 20;
        let mut pool = (i / 20) % 20;
        if changed && i % 20 == 7 {
            pool = (pool + 1) % 20;
        }
        let assign = if i % 4 == 3 {
            json!({"owner": format!("o{}", i % 100)})
        } else {
            json!({"pool": format!("pool{pool}")})
        };
        rules.push(json!({
            "id": format!("r{i}-{country}-{band}"),
            "when": {"all": [
                {"country": [country]},
                {"employees": {"min": band * 100 + 1, "max": (band + 1) * 100}},
            ]},
            "then": {"assign": assign, "experience": {"book_meeting": {}}},
        }));
    }
    json!({
        "name": "bench", "version": version,
        "owners": owners, "pools": pools, "rules": rules,
        "fallback": {"assign": {"owner": "queue"}},
    })
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("usage: diff_bench_data DIR [LEADS]"));
    let n: u64 = args
        .next()
        .map_or(1_000_000, |s| s.parse().expect("LEADS is a number"));
    let event_leads: u64 = args
        .next()
        .map_or(0, |s| s.parse().expect("EVENT_LEADS is a number"));
    std::fs::create_dir_all(&dir)?;
    for (name, version, changed) in [("old.json", "1", false), ("new.json", "2", true)] {
        let text = serde_json::to_string_pretty(&policy(version, changed))?;
        std::fs::write(dir.join(name), text)?;
    }
    let mut out = BufWriter::new(File::create(dir.join("leads.jsonl"))?);
    let mut rng = Lcg(2026);
    for i in 0..n {
        let country = COUNTRIES[(rng.next() % 60) as usize];
        let employees = 1 + rng.next() % 2500;
        let product = PRODUCTS[(rng.next() % 4) as usize];
        let lead = json!({
            "email": format!("user{i}@company{}.com", rng.next() % 50_000),
            "company": format!("Company {i}"),
            "country": country,
            "employees": employees.to_string(),
            "product_interest": product,
        });
        writeln!(out, "{lead}")?;
    }
    out.flush()?;
    if event_leads > 0 {
        events(&dir, event_leads, &mut rng)?;
    }
    Ok(())
}

fn events(dir: &std::path::Path, n: u64, rng: &mut Lcg) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(dir.join("events.jsonl"))?);
    let t0: u64 = 1_700_000_000_000;
    for i in 0..n {
        let id = format!("lead-{i:07}");
        let t = t0 + i * 1000;
        let rule = format!("r{}", rng.next() % 1000);
        let owner = format!("o{}", rng.next() % 100);
        // Exponential with mean 80 ms: -ln(u) * 80, u in (0, 1].
        let u = (rng.next() % 1_000_000 + 1) as f64 / 1_000_000.0;
        let lat = (-u.ln() * 80.0) as u64;
        let lines = [
            json!({"event": "form_submitted", "email": format!("u{i}@x.com"), "lead_id": id, "at_ms": t, "since_submit_ms": 0}),
            json!({"event": "owner_assigned", "owner": owner, "rule": rule, "assigned_by": "owner",
                   "experience": {"book_meeting": {"with": owner}}, "lead_id": id, "at_ms": t + lat, "since_submit_ms": lat}),
            json!({"event": "crm_write_success", "record_id": format!("r{i}"), "created": true,
                   "lead_id": id, "at_ms": t + lat + 30, "since_submit_ms": lat + 30}),
        ];
        for line in &lines {
            writeln!(out, "{line}")?;
        }
        if i % 3 == 0 {
            let shown = json!({"event": "meeting_shown", "owner": owner, "lead_id": id,
                               "at_ms": t + lat + 500, "since_submit_ms": lat + 500});
            writeln!(out, "{shown}")?;
        }
    }
    out.flush()
}
