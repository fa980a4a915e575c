//! Table-driven normalization cases from `tests/fixtures/normalize_cases.jsonl`.
//!
//! Each line: `in` (a form payload), then either `out` (a subset of the
//! expected `Lead` JSON) plus optional `warn` (the exact set of
//! `field:code` warnings; absent means none), or `err` (the exact list of
//! `field:code` errors).

use leadroute::Normalizer;
use leadroute::lead::FieldIssue;
use serde_json::Value;

fn codes(issues: &[FieldIssue]) -> Vec<String> {
    issues
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i.field,
                serde_json::to_value(i.code).unwrap().as_str().unwrap()
            )
        })
        .collect()
}

fn expand(v: Value) -> Value {
    // `@@LONG1100@@` stands for a 1100-character value.
    match v {
        Value::String(s) if s == "@@LONG1100@@" => Value::String("a".repeat(1100)),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, expand(v))).collect()),
        other => other,
    }
}

#[test]
fn table_of_messy_inputs() {
    let normalizer = Normalizer::default();
    let text = include_str!("fixtures/normalize_cases.jsonl");
    let mut count = 0;
    let mut failures = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let case: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let input = expand(case["in"].clone());
        count += 1;
        let result = normalizer.normalize_json(&input.to_string());
        let want_warn: Vec<String> = case
            .get("warn")
            .map(|w| serde_json::from_value(w.clone()).unwrap())
            .unwrap_or_default();
        match (result, case.get("err")) {
            (Ok(out), None) => {
                let lead = serde_json::to_value(&out.lead).unwrap();
                for (key, want) in case["out"].as_object().unwrap() {
                    let got = &lead[key];
                    let ok = match (want, got) {
                        (Value::Object(w), Value::Object(g)) if key == "attributes" => {
                            w.iter().all(|(k, v)| g.get(k) == Some(v))
                        }
                        _ => got == want,
                    };
                    if !ok {
                        failures.push(format!("line {}: {key}: want {want}, got {got}", n + 1));
                    }
                }
                let got_warn = codes(&out.warnings);
                let mut sorted_got = got_warn.clone();
                sorted_got.sort();
                let mut sorted_want = want_warn.clone();
                sorted_want.sort();
                if sorted_got != sorted_want {
                    failures.push(format!(
                        "line {}: warnings: want {want_warn:?}, got {got_warn:?} ({:?})",
                        n + 1,
                        out.warnings
                    ));
                }
            }
            (Err(err), Some(want)) => {
                let want: Vec<String> = serde_json::from_value(want.clone()).unwrap();
                let got = codes(&err.errors);
                if got != want {
                    failures.push(format!(
                        "line {}: errors: want {want:?}, got {got:?}",
                        n + 1
                    ));
                }
                for e in &err.errors {
                    if e.message.is_empty() {
                        failures.push(format!("line {}: empty message for {}", n + 1, e.field));
                    }
                }
            }
            (Ok(out), Some(want)) => failures.push(format!(
                "line {}: want errors {want}, got lead {:?}",
                n + 1,
                out.lead
            )),
            (Err(err), None) => failures.push(format!("line {}: unexpected error: {err}", n + 1)),
        }
    }
    assert!(count >= 150, "only {count} cases");
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
