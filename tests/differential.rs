//! Differential test: the engine against a plain in-order scan.
//!
//! For generated territory plans (10 to 499 rules, random seeds, with and
//! without the `reject-disposable` / `existing-account` preamble, with and
//! without overlapping rules) and generated leads and CRM accounts,
//! `Policy::evaluate` must decide exactly what the naive reference in
//! `benches/support/policy_gen.rs` decides: same rule, same owner, same
//! fallback flag, with the trace on and off. Whatever the engine does to go
//! faster (indexes, pruning), it must never change a decision.

use std::sync::LazyLock;

use leadroute::decision::{IndexedFact, IndexedFacts, TraceEvent};
use leadroute::policy::{EvalOptions, Step};
use leadroute::{Facts, Normalizer, PolicySpec, compile};
use proptest::prelude::*;

#[path = "../benches/support/policy_gen.rs"]
mod policy_gen;

use policy_gen::{GenOptions, Rng, SIZES, reference};

static NORMALIZER: LazyLock<Normalizer> = LazyLock::new(Normalizer::default);

/// Leads tried per generated policy.
const LEADS_PER_POLICY: usize = 96;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn evaluate_agrees_with_the_in_order_reference_scan(
        rules in 10usize..500,
        seed in any::<u64>(),
        lead_seed in any::<u64>(),
        preamble in any::<bool>(),
        overlap in any::<bool>(),
    ) {
        let generated = policy_gen::policy(GenOptions {
            rules,
            seed,
            preamble,
            overlap,
            // The country-set shape has room for about 300 distinct rules.
            countries_only: rules % 7 == 0 && rules < 250,
        });
        let policy = compile(&generated.spec)
            .map_err(|e| TestCaseError::fail(format!("generated policy does not compile: {e}")))?;
        let mut rng = Rng::new(lead_seed);
        for _ in 0..LEADS_PER_POLICY {
            let input = generated.random_input(&mut rng);
            let account = generated.random_account(&mut rng);
            let lead = NORMALIZER
                .normalize(&input)
                .map_err(|e| TestCaseError::fail(format!("generated lead {input:?}: {e}")))?
                .lead;
            agrees_with_reference(&generated.spec, &policy, &lead, account.as_ref())?;
        }
    }
}

/// `policy` (compiled from `spec`) decides `lead` as the in-order reference
/// does: same rule, owner and fallback flag, with the trace on and off, and
/// the trace's skipped runs hold (see [`check_skipped_runs`]).
fn agrees_with_reference(
    spec: &PolicySpec,
    policy: &leadroute::Policy,
    lead: &leadroute::Lead,
    account: Option<&leadroute::crm::Account>,
) -> Result<(), TestCaseError> {
    let ctx = match account {
        Some(a) => Facts::at_unix(0).account(a),
        None => Facts::at_unix(0),
    };
    let expected = reference(spec, lead, account);
    let d = policy.evaluate(lead, &ctx);
    let why =
        || format!("lead {lead:?}\naccount {account:?}\nexpected {expected:?}\ndecision {d:?}");
    if let Some(mismatch) = expected.mismatch(&d) {
        return Err(TestCaseError::fail(format!("{mismatch}: {}", why())));
    }
    check_skipped_runs(policy, lead, &d)
        .map_err(|e| TestCaseError::fail(format!("{e}: {}", why())))?;
    let quiet = policy.evaluate_with(lead, &ctx, EvalOptions::without_trace());
    prop_assert_eq!(&quiet.rule, &d.rule, "trace off: {}", why());
    prop_assert_eq!(&quiet.owner, &d.owner, "trace off: {}", why());
    prop_assert_eq!(quiet.fallback, d.fallback, "trace off: {}", why());
    Ok(())
}

/// The trace's skipped runs: each gap between evaluated rules is one run,
/// every fact it names has its lead value recorded before it, and the
/// explanation gives every listed rule a reason the lead really fails.
fn check_skipped_runs(
    policy: &leadroute::Policy,
    lead: &leadroute::Lead,
    d: &leadroute::RouteDecision,
) -> Result<(), String> {
    let mut shown = IndexedFacts::new();
    let mut after_run = false;
    for e in &d.trace.events {
        match e {
            TraceEvent::LeadValue { fact, .. } => {
                let first_time = shown.insert(*fact);
                if !first_time {
                    return Err(format!("{fact:?} shown twice"));
                }
            }
            TraceEvent::RulesSkipped { by, count, .. } => {
                if after_run {
                    return Err("two runs without an evaluated rule between them".into());
                }
                if by.is_empty() || *count == 0 || by.iter().any(|f| !shown.contains(f)) {
                    return Err(format!("run {e:?} after lead values {shown:?}"));
                }
                after_run = true;
            }
            TraceEvent::Rule { .. } => after_run = false,
            _ => {}
        }
    }
    for step in policy.explain(d).steps {
        let Step::RulesSkipped { by, rules, .. } = step else {
            continue;
        };
        for r in rules {
            if !by.iter().any(|b| b.fact == r.by) {
                return Err(format!(
                    "rule {} skipped by {:?}, not in the run's {by:?}",
                    r.rule, r.by
                ));
            }
            let has = |v: &str| r.requires.iter().any(|x| x == v);
            let fails = match r.by {
                IndexedFact::Country => !lead.country.is_some_and(|c| has(c.as_str())),
                IndexedFact::Region => !lead.region.as_deref().is_some_and(has),
                IndexedFact::EmailKind => !has(lead.email_kind.as_str()),
                IndexedFact::PostalCode => !lead
                    .postal_code
                    .as_deref()
                    .is_some_and(|code| r.requires.iter().any(|p| code.starts_with(p.as_str()))),
                IndexedFact::ProductInterest => !lead.product_interest.iter().any(|t| has(t)),
                IndexedFact::Employees | IndexedFact::AnnualRevenue => {
                    let range = if r.by == IndexedFact::Employees {
                        lead.employees
                    } else {
                        lead.annual_revenue
                    };
                    !range.is_some_and(|range| r.requires.iter().any(|b| in_band(b, range.min)))
                }
                other => return Err(format!("unknown fact {other:?}")),
            };
            if !fails {
                return Err(format!(
                    "rule {} skipped for {:?}, which the lead has: {:?}",
                    r.rule, r.by, r.requires
                ));
            }
        }
    }
    Ok(())
}

/// The generator is deterministic and its leads are not trivial: they hit
/// rules early and late, fall back, and often match several rules at once
/// (so first-match order is really tested).
#[test]
fn generated_leads_exercise_first_match_and_fallback() {
    let generated = policy_gen::policy(GenOptions {
        rules: 400,
        seed: 7,
        preamble: true,
        overlap: true,
        countries_only: false,
    });
    let again = policy_gen::policy(GenOptions {
        rules: 400,
        seed: 7,
        preamble: true,
        overlap: true,
        countries_only: false,
    });
    assert_eq!(generated.spec, again.spec, "same seed, same policy");

    let (mut hits, mut fallbacks, mut shadowed, mut late) = (0, 0, 0, 0);
    let mut rng = Rng::new(11);
    for _ in 0..2_000 {
        let input = generated.random_input(&mut rng);
        let lead = NORMALIZER.normalize(&input).expect("lead").lead;
        let e = reference(&generated.spec, &lead, None);
        match e.rule {
            Some(i) => {
                hits += 1;
                if i >= 300 {
                    late += 1;
                }
                // Would a later rule also have matched? Drop the winner and
                // ask again.
                let mut without = generated.spec.clone();
                without.rules.remove(i);
                if reference(&without, &lead, None).rule.is_some() {
                    shadowed += 1;
                }
            }
            None => fallbacks += 1,
        }
    }
    assert!(hits > 900, "{hits} hits");
    assert!(fallbacks > 500, "{fallbacks} fallbacks");
    assert!(late > 150, "{late} leads decided by rules 300+");
    assert!(
        shadowed > 75,
        "{shadowed} leads matching more than one rule"
    );
}

/// The exact policies and leads the `scale` benchmarks time decide what the
/// reference says (the 10 000-rule plan included).
#[test]
fn benchmark_policies_agree_with_the_reference() {
    for size in SIZES {
        let generated = policy_gen::policy(GenOptions::bench(size));
        let policy = compile(&generated.spec).expect("compiles");
        let cases = generated.bench_cases(&NORMALIZER);
        for case in [&cases.early, &cases.late, &cases.fallback] {
            let d = policy.evaluate(&case.lead, &Facts::at_unix(0));
            if let Some(mismatch) = case.expected.mismatch(&d) {
                panic!("{size} rules: {mismatch}");
            }
        }
        assert_eq!(cases.early.expected.rule, Some(0), "{size}");
        assert!(
            cases.late.expected.rule.is_some_and(|i| i + 16 >= size),
            "{size}: late lead decided by {:?}",
            cases.late.expected.rule
        );
    }
}

/// Random leads on the 10,000-rule bench plan decide what the reference
/// says: only at that size are there short word lists to drive a lead's
/// candidate scan (`Drive` in `src/policy/index.rs`; the bench's late lead
/// is driven), which the smaller generated plans above are too narrow for.
#[test]
fn random_leads_on_the_largest_plan_agree_with_the_reference() {
    let generated = policy_gen::policy(GenOptions::bench(10_000));
    let policy = compile(&generated.spec).expect("compiles");
    let mut rng = Rng::new(0x5EED_0D12_17E5);
    for _ in 0..200 {
        let input = generated.random_input(&mut rng);
        let account = generated.random_account(&mut rng);
        let lead = NORMALIZER
            .normalize(&input)
            .expect("generated leads normalize")
            .lead;
        if let Err(e) = agrees_with_reference(&generated.spec, &policy, &lead, account.as_ref()) {
            panic!("{input:?}: {e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// `evaluate_into` one reused decision, lead after lead, with the trace
    /// on or off and limits that truncate it (spilling to the heap, the
    /// tail ring, the marker), always equals a fresh `evaluate_with`:
    /// nothing of an earlier decision shows through the reused buffer.
    #[test]
    fn evaluate_into_a_reused_decision_equals_a_fresh_evaluation(
        rules in 10usize..300,
        seed in any::<u64>(),
        lead_seed in any::<u64>(),
        limits in proptest::collection::vec((any::<bool>(), 0usize..6), 32),
    ) {
        let generated = policy_gen::policy(GenOptions {
            rules,
            seed,
            preamble: seed % 2 == 0,
            overlap: seed % 3 == 0,
            countries_only: false,
        });
        let policy = compile(&generated.spec)
            .map_err(|e| TestCaseError::fail(format!("generated policy does not compile: {e}")))?;
        let mut rng = Rng::new(lead_seed);
        let mut decision: Option<leadroute::RouteDecision> = None;
        for (trace, limit) in limits {
            let input = generated.random_input(&mut rng);
            let account = generated.random_account(&mut rng);
            let lead = NORMALIZER
                .normalize(&input)
                .map_err(|e| TestCaseError::fail(format!("generated lead {input:?}: {e}")))?
                .lead;
            let facts = match &account {
                Some(a) => Facts::at_unix(0).account(a),
                None => Facts::at_unix(0),
            };
            let max = [2, 3, 5, 17, 40, 4096][limit];
            let options = if trace {
                EvalOptions::default()
            } else {
                EvalOptions::without_trace()
            }
            .with_max_trace_events(max);
            let fresh = policy.evaluate_with(&lead, &facts, options);
            match decision.as_mut() {
                Some(d) => policy.evaluate_into(&lead, &facts, options, d),
                None => decision = Some(policy.evaluate_with(&lead, &facts, options)),
            }
            prop_assert_eq!(decision.as_ref(), Some(&fresh), "{:?}, {:?}", input, options);
        }
    }
}

/// A large policy over many distinct postal prefixes and product tokens,
/// so that most values' rule sets are sparse (an unconstrained base plus a
/// few words; see `src/policy/index.rs`), with a few dense country rules
/// among them.
fn high_cardinality_policy(rules: usize, rng: &mut Rng) -> (PolicySpec, Vec<String>, Vec<String>) {
    let mut prefixes = Vec::new();
    let mut tokens = Vec::new();
    let rules: Vec<serde_json::Value> = (0..rules)
        .map(|i| {
            let prefix: String = (0..2 + rng.below(3)).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
            let token = format!("tok{}", rng.below(3_000));
            let postal = serde_json::json!({"postal_code": {"country": "US", "prefixes": [prefix.clone()]}});
            let product = serde_json::json!({"product_interest": [token.clone()]});
            let when = match rng.below(20) {
                0..=6 => postal,
                7..=12 => product,
                13..=15 => serde_json::json!({"all": [{"country": [*rng.pick(&["US", "CA", "DE"])]}, product]}),
                16..=18 => serde_json::json!({"all": [postal, product]}),
                _ => serde_json::json!({"country": [*rng.pick(&["CA", "DE", "FR"])]}),
            };
            prefixes.push(prefix);
            tokens.push(token);
            serde_json::json!({"id": format!("r{i}"), "when": when, "then": {"assign": "nobody"}})
        })
        .collect();
    let spec = serde_json::json!({
        "name": "high-cardinality", "version": "1",
        "owners": [{"id": "q", "name": "Queue"}],
        "rules": rules,
        "fallback": {"assign": {"owner": "q"}}
    });
    (
        serde_json::from_value(spec).expect("a valid spec"),
        prefixes,
        tokens,
    )
}

/// Compiles `spec`, dropping the rules compile finds unreachable (an
/// earlier rule's prefix or country covers them) until it compiles.
fn compile_dropping_unreachable(
    mut spec: PolicySpec,
) -> Result<(PolicySpec, leadroute::Policy), TestCaseError> {
    for _ in 0..64 {
        let e = match compile(&spec) {
            Ok(p) => return Ok((spec, p)),
            Err(e) => e,
        };
        let mut bad = Vec::new();
        for d in &e.errors {
            let i = d
                .path
                .strip_prefix("rules[")
                .and_then(|rest| rest.split(']').next())
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| TestCaseError::fail(format!("not a rule's error: {e}")))?;
            bad.push(i);
        }
        bad.sort_unstable();
        bad.dedup();
        for i in bad.into_iter().rev() {
            spec.rules.remove(i);
        }
    }
    Err(TestCaseError::fail("the policy never compiled"))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The sparse value sets (and the word-by-word scan over them, the
    /// postal prefixes' inheritance, the trace's skipped facts) decide
    /// exactly what the in-order reference decides.
    #[test]
    fn sparse_value_sets_agree_with_the_in_order_reference_scan(
        rules in 4_200usize..6_000,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let (spec, prefixes, tokens) = high_cardinality_policy(rules, &mut rng);
        let (spec, policy) = compile_dropping_unreachable(spec)?;
        for _ in 0..64 {
            let mut input = leadroute::LeadInput::from_email("buyer@example-company.com");
            input.country = Some(rng.pick(&["US", "US", "US", "CA", "DE"]).to_string());
            if input.country.as_deref() == Some("US") {
                let mut code: String = rng.pick(&prefixes).clone();
                while code.len() < 5 {
                    code.push(char::from(b'0' + rng.below(10) as u8));
                }
                input.postal_code = Some(code);
            }
            let product = |rng: &mut Rng| if rng.percent(80) { rng.pick(&tokens).clone() } else { format!("tok{}", rng.below(3_000)) };
            input.product_interest = Some(match rng.below(3) {
                0 => product(&mut rng),
                1 => format!("{}, {}", product(&mut rng), product(&mut rng)),
                _ => String::new(),
            });
            let lead = NORMALIZER
                .normalize(&input)
                .map_err(|e| TestCaseError::fail(format!("lead {input:?}: {e}")))?
                .lead;
            agrees_with_reference(&spec, &policy, &lead, None)?;
        }
    }
}

/// A policy of head-count and revenue bands: single bounds, open-ended and
/// inverted ones, `all` (overlapping bands), `any` (a band list) and `not`
/// (no need at all), some with a country, over a few cut points so that
/// bands share ends and nest.
fn banded_policy(rules: usize, rng: &mut Rng) -> PolicySpec {
    let cuts = [0u64, 1, 10, 50, 51, 200, 201, 1_000, 5_000, 1_000_000];
    let bound = |rng: &mut Rng| {
        let field = if rng.percent(60) {
            "employees"
        } else {
            "annual_revenue"
        };
        let (a, b) = (*rng.pick(&cuts), *rng.pick(&cuts));
        let bounds = match rng.below(8) {
            0 => serde_json::json!({"min": a}),
            1 => serde_json::json!({"max": b}),
            // Inverted now and then: nothing is within them.
            2 => serde_json::json!({"min": a.max(b), "max": a.min(b)}),
            _ => serde_json::json!({"min": a.min(b), "max": a.max(b)}),
        };
        serde_json::json!({ field: bounds })
    };
    let rules: Vec<serde_json::Value> = (0..rules)
        .map(|i| {
            let when = match rng.below(10) {
                0..=3 => bound(rng),
                4 => serde_json::json!({"all": [bound(rng), bound(rng)]}),
                5 => serde_json::json!({"any": [bound(rng), bound(rng), bound(rng)]}),
                6 => serde_json::json!({"not": bound(rng)}),
                7 => serde_json::json!({"all": [{"country": [*rng.pick(&["US", "DE"])]}, bound(rng)]}),
                8 => serde_json::json!({"any": [{"all": [bound(rng), bound(rng)]}, bound(rng)]}),
                _ => serde_json::json!({"all": [bound(rng), {"not": bound(rng)}]}),
            };
            serde_json::json!({"id": format!("r{i}"), "when": when, "then": {"assign": "nobody"}})
        })
        .collect();
    let spec = serde_json::json!({
        "name": "bands", "version": "1",
        "owners": [{"id": "q", "name": "Queue"}],
        "rules": rules,
        "fallback": {"assign": {"owner": "q"}}
    });
    serde_json::from_value(spec).expect("a valid spec")
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The band index (a lead's smallest head count or revenue finds its
    /// segment's rules) decides exactly what the in-order reference
    /// decides, for leads with exact counts, ranges, open ranges and none,
    /// on and next to every cut point; the trace's skipped runs name only
    /// facts that rule their rules out.
    #[test]
    fn banded_policies_agree_with_the_in_order_reference_scan(
        rules in 20usize..400,
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let (spec, policy) = compile_dropping_unreachable(banded_policy(rules, &mut rng))?;
        let values = [0u64, 1, 2, 9, 10, 11, 49, 50, 51, 52, 199, 200, 201, 999, 1_000, 1_001, 4_999, 5_000, 999_999, 1_000_000, 1_000_001];
        let range = |rng: &mut Rng| -> Option<String> {
            let a = *rng.pick(&values);
            match rng.below(5) {
                0 => None,
                1 => Some(format!("{a}+")),
                2 => Some(format!("{a}-{}", a + *rng.pick(&values))),
                _ => Some(a.to_string()),
            }
        };
        for _ in 0..LEADS_PER_POLICY {
            let mut input = leadroute::LeadInput::from_email("buyer@example-company.com");
            input.country = Some(rng.pick(&["US", "DE", "FR"]).to_string());
            input.employees = range(&mut rng);
            input.annual_revenue = range(&mut rng);
            let lead = NORMALIZER
                .normalize(&input)
                .map_err(|e| TestCaseError::fail(format!("lead {input:?}: {e}")))?
                .lead;
            agrees_with_reference(&spec, &policy, &lead, None)?;
        }
    }
}

/// Whether `x` is in a band as the explanation writes it: `51..=200` or
/// `>= 1000`.
fn in_band(band: &str, x: u64) -> bool {
    if let Some(lo) = band.strip_prefix(">= ") {
        return lo.parse::<u64>().is_ok_and(|lo| x >= lo);
    }
    band.split_once("..=").is_some_and(|(lo, hi)| {
        matches!((lo.parse::<u64>(), hi.parse::<u64>()), (Ok(lo), Ok(hi)) if (lo..=hi).contains(&x))
    })
}
