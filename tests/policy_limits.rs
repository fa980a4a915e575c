//! `PolicyLimits`: every limit has a test that hits it, and the compile time
//! of large policies of every condition kind (an `#[ignore]`d measurement).

use leadroute::policy::{CompileError, DiagnosticCode as Code, PolicyLimits, compile_with_limits};
use leadroute::{PolicySpec, compile};
use serde_json::{Value, json};

/// A policy with these rules (each assigning nobody, so each always decides).
fn policy(rules: Vec<Value>) -> Value {
    json!({
        "name": "limits", "version": "1",
        "owners": [{"id": "q", "name": "Queue"}],
        "rules": rules,
        "fallback": {"assign": {"owner": "q"}}
    })
}

fn rule(i: usize, when: Value) -> Value {
    json!({"id": format!("r{i}"), "when": when, "then": {"assign": "nobody"}})
}

fn spec(v: &Value) -> PolicySpec {
    serde_json::from_value(v.clone()).unwrap()
}

/// The default limits with one changed.
fn with(change: impl FnOnce(&mut PolicyLimits)) -> PolicyLimits {
    let mut l = PolicyLimits::default();
    change(&mut l);
    l
}

/// The one `LimitExceeded` error naming `limit`, at `path`.
fn assert_limit(e: &CompileError, path: &str, limit: &str) {
    let d = e
        .errors
        .iter()
        .find(|d| d.code == Code::LimitExceeded)
        .unwrap_or_else(|| panic!("no limit error: {e}"));
    assert_eq!(d.path, path, "{e}");
    assert!(d.message.contains(limit), "{}", d.message);
}

#[test]
fn the_defaults_are_the_documented_ones() {
    let l = PolicyLimits::default();
    assert_eq!(l.max_spec_bytes, 16 << 20);
    assert_eq!(l.max_rules, 50_000);
    assert_eq!(l.max_conditions_per_rule, 1_000);
    assert_eq!(l.max_list_len, 10_000);
    assert_eq!(l.max_depth, 64);
    assert_eq!(l.max_regex_len, 1_000);
    assert_eq!(l.max_regex_program_bytes, 1 << 20);
    assert_eq!(l.max_shadow_comparisons, 2_000_000);
}

#[test]
fn max_spec_bytes_is_checked_before_parsing() {
    let text = policy(vec![]).to_string();
    let l = with(|l| l.max_spec_bytes = text.len() - 1);
    let e = PolicySpec::from_json_str_with_limits(&text, &l).unwrap_err();
    assert_limit(&e, "", "max_spec_bytes");
    // Not even the syntax is looked at.
    let e = PolicySpec::from_json_str_with_limits(&"{".repeat(text.len()), &l).unwrap_err();
    assert_limit(&e, "", "max_spec_bytes");
    let e = PolicySpec::from_toml_str_with_limits(&"x".repeat(text.len()), &l).unwrap_err();
    assert_limit(&e, "", "max_spec_bytes");
    let ok = with(|l| l.max_spec_bytes = text.len());
    assert!(PolicySpec::from_json_str_with_limits(&text, &ok).is_ok());
}

#[test]
fn max_rules_in_the_reader_and_in_compile() {
    let rules = (0..3)
        .map(|i| rule(i, json!({"utm_source": [format!("s{i}")]})))
        .collect();
    let v = policy(rules);
    let l = with(|l| l.max_rules = 2);
    let e = PolicySpec::from_json_str_with_limits(&v.to_string(), &l).unwrap_err();
    assert_limit(&e, "rules", "max_rules");
    let e = compile_with_limits(&spec(&v), &l).unwrap_err();
    assert_eq!(e.errors.len(), 1, "nothing else is checked: {e}");
    assert_limit(&e, "rules", "max_rules");
    let l = with(|l| l.max_rules = 3);
    assert!(compile_with_limits(&spec(&v), &l).is_ok());
}

#[test]
fn max_list_len_is_checked_while_reading_so_a_million_values_stop_early() {
    let l = with(|l| l.max_list_len = 10);
    // A million values, refused at the eleventh: the reader never builds
    // the list (the error arrives as soon as the parser reaches it).
    let values: Vec<String> = (0..1_000_000).map(|i| format!("\"v{i}\"")).collect();
    let text = format!(
        r#"{{"name": "n", "version": "1", "rules": [{{"id": "r", "when": {{"utm_term": [{}]}}, "then": {{"assign": "nobody"}}}}]}}"#,
        values.join(",")
    );
    let e = PolicySpec::from_json_str_with_limits(&text, &l).unwrap_err();
    assert_limit(&e, "rules[0].when.utm_term", "max_list_len");
    assert!(e.errors[0].message.contains("more than 10 items"), "{e}");
    let toml = format!(
        "name = \"n\"\nversion = \"1\"\n[[rules]]\nid = \"r\"\nwhen = {{ utm_term = [{}] }}\nthen = {{ assign = \"nobody\" }}\n",
        values[..100].join(",")
    );
    let e = PolicySpec::from_toml_str_with_limits(&toml, &l).unwrap_err();
    assert_limit(&e, "rules[0].when.utm_term", "max_list_len");
    // Keys of one object count too.
    let owner_attrs: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!(i))).collect();
    let v = json!({"name": "n", "version": "1",
        "owners": [{"id": "q", "name": "Q", "attributes": owner_attrs}]});
    let e = PolicySpec::from_json_str_with_limits(&v.to_string(), &l).unwrap_err();
    assert_limit(&e, "owners[0].attributes", "max_list_len");
    // And compile checks a spec built in Rust.
    let v = policy(vec![rule(
        0,
        json!({"utm_term": (0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
    )]);
    let e = compile_with_limits(&spec(&v), &l).unwrap_err();
    assert_limit(&e, "rules[0].when.utm_term", "max_list_len");
    let e = compile_with_limits(
        &spec(&json!({"name": "n", "version": "1",
            "owners": (0..11).map(|i| json!({"id": format!("o{i}"), "name": "O"})).collect::<Vec<_>>(),
            "fallback": {"assign": {"owner": "o0"}}})),
        &l,
    )
    .unwrap_err();
    assert_limit(&e, "owners", "max_list_len");
}

#[test]
fn max_depth_in_the_reader_and_in_compile() {
    let mut when = json!({"utm_source": ["x"]});
    for _ in 0..20 {
        when = json!({"not": when});
    }
    let v = policy(vec![rule(0, when)]);
    let l = with(|l| l.max_depth = 10);
    let e = PolicySpec::from_json_str_with_limits(&v.to_string(), &l).unwrap_err();
    assert_eq!(e.errors[0].code, Code::LimitExceeded);
    assert!(e.errors[0].message.contains("max_depth"), "{e}");
    assert!(e.errors[0].path.starts_with("rules[0].when.not.not"), "{e}");
    let e = compile_with_limits(&spec(&v), &l).unwrap_err();
    assert_eq!(e.errors.len(), 1, "{e}");
    assert!(e.errors[0].message.contains("max_depth"), "{e}");
    assert!(e.errors[0].path.ends_with(".not"), "{e}");
    assert!(compile(&spec(&v)).is_ok());
}

#[test]
fn max_conditions_per_rule() {
    let parts: Vec<Value> = (0..30)
        .map(|i| json!({"utm_source": [format!("s{i}")]}))
        .collect();
    let v = policy(vec![rule(0, json!({"any": parts}))]);
    let l = with(|l| l.max_conditions_per_rule = 30);
    let e = compile_with_limits(&spec(&v), &l).unwrap_err();
    assert_limit(&e, "rules[0].when", "max_conditions_per_rule");
    let l = with(|l| l.max_conditions_per_rule = 31);
    assert!(compile_with_limits(&spec(&v), &l).is_ok());
}

#[test]
fn max_regex_len_and_program_size() {
    let v = policy(vec![rule(
        0,
        json!({"attribute": {"key": "plan", "regex": "a".repeat(101)}}),
    )]);
    let l = with(|l| l.max_regex_len = 100);
    let e = compile_with_limits(&spec(&v), &l).unwrap_err();
    assert_limit(&e, "rules[0].when.attribute.regex", "max_regex_len");
    // Short, but a large program.
    let v = policy(vec![rule(
        0,
        json!({"attribute": {"key": "plan", "regex": "(a{100}){100}"}}),
    )]);
    let l = with(|l| l.max_regex_program_bytes = 10_000);
    let e = compile_with_limits(&spec(&v), &l).unwrap_err();
    assert_eq!(e.errors[0].code, Code::InvalidRegex, "{e}");
    assert!(e.errors[0].message.contains("size limit"), "{e}");
    assert!(compile(&spec(&v)).is_ok());
}

#[test]
fn max_shadow_comparisons_stops_the_check_with_a_warning() {
    // Windows that no bucket summary rules out (the first two span the
    // whole range), none within another: every later rule is compared with
    // every earlier one.
    let mut rules = vec![
        rule(0, json!({"employees": {"min": 0, "max": 100}})),
        rule(1, json!({"employees": {"min": 900, "max": 1000}})),
    ];
    rules.extend((2..50).map(|i| rule(i, json!({"employees": {"min": 50 + i, "max": 950 + i}}))));
    let v = policy(rules);
    let l = with(|l| l.max_shadow_comparisons = 20);
    let policy = compile_with_limits(&spec(&v), &l).unwrap();
    let w: Vec<_> = policy
        .warnings()
        .iter()
        .filter(|d| d.code == Code::CheckSkipped)
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].message.contains("max_shadow_comparisons"),
        "{}",
        w[0].message
    );
    // With the default budget the check completes: no warning.
    let policy = compile(&spec(&v)).unwrap();
    assert!(
        policy
            .warnings()
            .iter()
            .all(|d| d.code != Code::CheckSkipped)
    );
}

#[test]
fn the_shadow_check_still_reports_the_earliest_cover_of_every_kind() {
    let kinds = [
        json!({"attribute": {"key": "plan", "exists": true}}),
        json!({"not": {"utm_campaign": ["spring"]}}),
        json!({"account": {"has_owner": true}}),
        json!({"employees": {"min": 100}}),
        json!({"any": [{"utm_source": ["a"]}, {"utm_medium": ["b"]}]}),
    ];
    for when in kinds {
        let v = policy(vec![
            rule(0, json!({"utm_term": ["other"]})),
            rule(1, when.clone()),
            rule(2, json!({"all": [when.clone(), {"utm_content": ["x"]}]})),
            rule(3, when.clone()),
        ]);
        let e = compile(&spec(&v)).unwrap_err();
        let found: Vec<_> = e
            .errors
            .iter()
            .map(|d| (d.code, d.rule.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            found,
            [
                (Code::UnreachableRule, "r2".to_owned()),
                (Code::UnreachableRule, "r3".to_owned())
            ],
            "{when}"
        );
        assert!(e.errors[1].message.contains("earlier rule `r1`"), "{e}");
    }
}

/// Rules of one condition kind, none covering another.
fn family(kind: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let when = match kind {
                "list" => json!({"all": [{"country": ["US"]}, {"utm_source": [format!("s{i}")]}]}),
                "attribute" => json!({"attribute": {"key": format!("k{i}"), "exists": true}}),
                "attribute-equals" => json!({"attribute": {"key": "plan", "equals": i}}),
                "not" => json!({"not": {"utm_campaign": [format!("c{i}")]}}),
                "any" => json!({"any": [{"country": ["US"]}, {"utm_source": [format!("s{i}")]}]}),
                "bounds-descending" => json!({"employees": {"min": n - i}}),
                "bounds-windows" => json!({"annual_revenue": {"min": i, "max": i + 10}}),
                "account" => json!({"account": {"tier": [format!("t{i}")]}}),
                "postal" => json!({"postal_code": {"country": "US", "prefixes": [format!("{i}")]}}),
                other => panic!("{other}"),
            };
            rule(i, when)
        })
        .collect()
}

/// Compile time of 20k rules over 10k, per condition kind: run with
/// `cargo test --release --test policy_limits -- --ignored --nocapture`.
/// A measurement, not a timed assertion; it asserts that the check ran in
/// full (no budget warning).
#[test]
#[ignore]
fn compile_time_is_near_linear_for_every_condition_kind() {
    let kinds = [
        "list",
        "attribute",
        "attribute-equals",
        "not",
        "any",
        "bounds-descending",
        "bounds-windows",
        "account",
        "postal",
    ];
    for kind in kinds {
        let mut times = Vec::new();
        for n in [10_000, 20_000] {
            let s = spec(&policy(family(kind, n)));
            let started = std::time::Instant::now();
            let compiled = compile(&s).unwrap_or_else(|e| panic!("{kind}: {e}"));
            times.push(started.elapsed().as_secs_f64());
            assert!(
                compiled
                    .warnings()
                    .iter()
                    .all(|d| d.code != Code::CheckSkipped),
                "{kind}: the check was cut short"
            );
        }
        println!(
            "{kind:>18}: 10k {:>8.1} ms, 20k {:>8.1} ms, ratio {:.2}",
            times[0] * 1e3,
            times[1] * 1e3,
            times[1] / times[0]
        );
    }
}

// ------------------------------------------------------------------ trace

mod trace {
    use super::*;
    use leadroute::decision::TraceEvent;
    use leadroute::policy::EvalOptions;
    use leadroute::{Facts, LeadInput, Normalizer};

    /// 3,000 rules on an attribute the index does not cover, none matching.
    fn unindexed() -> leadroute::Policy {
        let rules = (0..3_000)
            .map(|i| rule(i, json!({"utm_source": [format!("s{i}")]})))
            .collect();
        compile(&spec(&policy(rules))).unwrap()
    }

    #[test]
    fn a_long_trace_keeps_its_head_and_tail_and_counts_the_rest() {
        let p = unindexed();
        let lead = Normalizer::default()
            .normalize(&LeadInput::from_email("ann@acme.com"))
            .unwrap()
            .lead;
        let facts = Facts::at_unix(0);
        let full = p.evaluate_with(
            &lead,
            &facts,
            EvalOptions::default().with_max_trace_events(1_000_000),
        );
        let n = full.trace.events.len();
        assert!(n > 5_000, "{n}");
        assert!(
            full.trace
                .events
                .iter()
                .all(|e| !matches!(e, TraceEvent::Truncated { .. }))
        );

        // Limits inside, at and beyond the recorder's 32-event stack buffer.
        for max in [2, 3, 32, 33, 34, 50, 64, 65, 4096] {
            let cut = p.evaluate_with(
                &lead,
                &facts,
                EvalOptions::default().with_max_trace_events(max),
            );
            let ev = &cut.trace.events;
            assert_eq!(ev.len(), max, "max {max}");
            let at = ev
                .iter()
                .position(|e| matches!(e, TraceEvent::Truncated { .. }))
                .unwrap();
            let TraceEvent::Truncated { omitted } = ev[at] else {
                unreachable!()
            };
            assert_eq!(omitted as usize, n - (max - 1), "max {max}");
            assert_eq!(ev[..at], full.trace.events[..at]);
            assert_eq!(ev[at + 1..], full.trace.events[n - (max - 1 - at)..]);
            // The decision itself does not change.
            let mut same = cut.clone();
            same.trace = full.trace.clone();
            assert_eq!(same, full);
            // Explain says so.
            let text = p.explain(&cut).to_string();
            assert!(
                text.contains(&format!("{omitted} more steps not recorded")),
                "{text}"
            );
        }
        // The default bound.
        let d = p.evaluate(&lead, &facts);
        assert_eq!(
            d.trace.events.len(),
            EvalOptions::default().max_trace_events
        );
        let json = serde_json::to_string(&d.trace).unwrap();
        assert!(
            json.contains(r#"{"event":"truncated","omitted":"#),
            "{}",
            &json[..200]
        );
        assert!(json.len() < 256 * 4096, "{}", json.len());
    }
}

/// TOML: the reader's pre-scan stops at every limit before the `toml` crate
/// builds a table, with the line and column of the value over the limit.
mod toml_before_the_parse {
    use super::*;

    const HEAD: &str = "name = \"n\"\nversion = \"1\"\n";

    fn read(text: &str, l: &PolicyLimits) -> CompileError {
        PolicySpec::from_toml_str_with_limits(text, l).unwrap_err()
    }

    #[test]
    fn max_list_len_names_the_list_and_where_it_went_over() {
        let l = with(|l| l.max_list_len = 3);
        let text = format!(
            "{HEAD}[[rules]]\nid = \"r\"\nwhen = {{ utm_term = [\"a\", \"b\", \"c\", \"d\"] }}\n"
        );
        let e = read(&text, &l);
        assert_limit(&e, "rules[0].when.utm_term", "max_list_len");
        let m = &e.errors[0].message;
        // Line 5 is the `when` line; `"d"` is its 37th character.
        assert!(m.contains("more than 3 items at line 5 column 37"), "{m}");
        // Keys of a table written as lines of its section.
        let text = format!(
            "{HEAD}[[owners]]\nid = \"q\"\nname = \"Q\"\n[owners.attributes]\na = 1\nb = 2\nc = 3\nd = 4\n"
        );
        let e = read(&text, &l);
        assert_limit(&e, "owners[0].attributes", "max_list_len");
        assert!(
            e.errors[0].message.contains("more than 3 keys at line 10"),
            "{e}"
        );
        // At the limit, the same shapes read.
        let ok = with(|l| l.max_list_len = 4);
        assert!(PolicySpec::from_toml_str_with_limits(&text, &ok).is_ok());
    }

    #[test]
    fn max_rules_counts_arrays_of_tables() {
        let l = with(|l| l.max_rules = 2);
        let rule =
            "[[rules]]\nid = \"r{}\"\nwhen = { always = true }\nthen = { assign = \"nobody\" }\n";
        let text: String = HEAD.to_owned()
            + &(0..3)
                .map(|i| rule.replace("{}", &i.to_string()))
                .collect::<String>();
        let e = read(&text, &l);
        assert_limit(&e, "rules", "max_rules");
        // The third `[[rules]]` starts on line 11.
        assert!(e.errors[0].message.contains("at line 11 column 1"), "{e}");
        let ok = with(|l| l.max_rules = 3);
        assert!(PolicySpec::from_toml_str_with_limits(&text, &ok).is_ok());
    }

    #[test]
    fn max_depth_counts_headers_dotted_keys_and_inline_values() {
        let l = with(|l| l.max_depth = 4);
        // Document 0, rules 1, rules[0] 2, when 3, not 4.
        for text in [
            format!("{HEAD}[[rules]]\nid = \"r\"\nwhen = {{ not = {{ country = [\"US\"] }} }}\n"),
            format!("{HEAD}[[rules]]\nid = \"r\"\nwhen.not.country = [\"US\"]\n"),
            format!("{HEAD}[[rules]]\nid = \"r\"\n[rules.when.not]\ncountry = [\"US\"]\n"),
        ] {
            let e = read(&text, &l);
            assert_eq!(e.errors.len(), 1, "{e}");
            assert_limit(&e, "rules[0].when.not", "max_depth");
        }
        // A 10,000-level header is refused at its fourth part (level 4).
        let deep = format!("[{}]\n", vec!["a"; 10_000].join("."));
        let e = read(&deep, &l);
        assert_limit(&e, "a.a.a.a", "max_depth");
        assert!(e.errors[0].message.contains("at line 1 column 1:"), "{e}");
    }

    /// The issue's case, measured once (release): a million values in one
    /// TOML list, refused by default limits, against the same text read
    /// with no limits (the `toml` crate parses it all).
    /// `cargo test --release --test policy_limits -- --ignored --nocapture toml_million`
    #[test]
    #[ignore]
    fn toml_million_value_list_is_refused_early() {
        let values: Vec<String> = (0..1_000_000).map(|i| format!("\"v{i}\"")).collect();
        let text = format!(
            "{HEAD}[[rules]]\nid = \"r\"\nwhen = {{ utm_term = [{}] }}\nthen = {{ assign = \"nobody\" }}\n",
            values.join(", ")
        );
        drop(values);
        let before = peak_rss_kb();
        let t = std::time::Instant::now();
        let e = PolicySpec::from_toml_str(&text).unwrap_err();
        let refused = t.elapsed();
        let after_refused = peak_rss_kb();
        assert_limit(&e, "rules[0].when.utm_term", "max_list_len");
        let t = std::time::Instant::now();
        let read = PolicySpec::from_toml_str_with_limits(&text, &PolicyLimits::unlimited());
        let unlimited = t.elapsed();
        let after_unlimited = peak_rss_kb();
        assert!(read.is_ok());
        println!(
            "text {:.1} MB; default limits: refused in {:.1} ms, peak RSS {} -> {} kB (+{:.1} MB); \
             unlimited: read in {:.0} ms, peak RSS -> {} kB (+{:.1} MB)",
            text.len() as f64 / 1e6,
            refused.as_secs_f64() * 1e3,
            before,
            after_refused,
            (after_refused - before) as f64 / 1e3,
            unlimited.as_secs_f64() * 1e3,
            after_unlimited,
            (after_unlimited - after_refused) as f64 / 1e3,
        );
    }

    /// The process's peak resident set (Linux `VmHWM`), in kB; 0 elsewhere.
    fn peak_rss_kb() -> i64 {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0)
    }
}
