//! Reads form payloads as JSON lines on stdin and prints what leadroute makes
//! of each: one JSON line per non-blank input line (blank lines are
//! skipped, so output line N answers the N-th payload), then exits 0.
//!
//! ```text
//! echo '{"email": "Jane@ACME.com", "company_size": "51-200"}' | cargo run --example normalize
//! {"lead":{"lead_id":null,"email":"Jane@acme.com",…},"warnings":[]}
//! ```
//!
//! Output per line: `{"lead": {…}, "warnings": [{field, code, value, message}]}`
//! on success, `{"errors": [{field, code, value, message}]}` on failure
//! (including a line that is not a JSON object).

use std::io::{self, BufRead, BufWriter, Write};

use leadroute::lead::FieldIssue;
use leadroute::{Lead, Normalizer};
use serde::Serialize;

/// One output line; serialized as a struct so keys keep the `Lead` field order.
#[derive(Serialize)]
#[serde(untagged)]
enum Line<'a> {
    Lead {
        lead: &'a Lead,
        warnings: &'a [FieldIssue],
    },
    Errors {
        errors: &'a [FieldIssue],
    },
}

fn main() -> io::Result<()> {
    let normalizer = Normalizer::default();
    let stdin = io::stdin();
    let mut out = BufWriter::new(io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let result = normalizer.normalize_json(&line);
        let printed = match &result {
            Ok(n) => Line::Lead {
                lead: &n.lead,
                warnings: &n.warnings,
            },
            Err(e) => Line::Errors { errors: &e.errors },
        };
        serde_json::to_writer(&mut out, &printed)?;
        writeln!(out)?;
    }
    out.flush()
}
