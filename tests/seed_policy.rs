//! The seed policy (`examples/policies/seed.{json,toml}`) against expected
//! decisions in `tests/fixtures/seed_decisions.jsonl`.

use leadroute::PolicySpec;
use leadroute::crm::Account;
use leadroute::pool::AwayList;
use leadroute::{Facts, Normalizer, compile};
use serde_json::Value;

#[test]
fn json_and_toml_seed_policies_are_the_same_spec() {
    let json = PolicySpec::from_json_str(include_str!("../examples/policies/seed.json")).unwrap();
    let toml = PolicySpec::from_toml_str(include_str!("../examples/policies/seed.toml")).unwrap();
    assert_eq!(json, toml);
    // And each serializes back to itself.
    assert_eq!(
        PolicySpec::from_json_str(&json.to_json_string().unwrap()).unwrap(),
        json
    );
    assert_eq!(
        PolicySpec::from_toml_str(&toml.to_toml_string().unwrap()).unwrap(),
        toml
    );
    let policy = compile(&json).unwrap();
    assert_eq!(
        policy.rule_ids().collect::<Vec<_>>(),
        [
            "reject-disposable",
            "existing-customer",
            "existing-account",
            "us-enterprise",
            "product-led"
        ]
    );
}

#[test]
fn seed_policy_decisions_match_the_fixtures() {
    let spec = PolicySpec::from_toml_str(include_str!("../examples/policies/seed.toml")).unwrap();
    let policy = compile(&spec).unwrap();
    // The seed has one deliberate warning: an inactive owner in the directory is fine,
    // but nothing references `gus` in a pool.
    assert!(policy.warnings().is_empty(), "{:?}", policy.warnings());
    let normalizer = Normalizer::default();
    let mut failures = Vec::new();
    let mut count = 0;
    for (n, line) in include_str!("fixtures/seed_decisions.jsonl")
        .lines()
        .enumerate()
    {
        let case: Value = serde_json::from_str(line).unwrap();
        let lead = normalizer
            .normalize_json(&case["lead"].to_string())
            .unwrap()
            .lead;
        let account: Option<Account> = case
            .get("account")
            .map(|a| serde_json::from_value(a.clone()).unwrap());
        let away = AwayList::new(
            case.get("away")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default(),
        );
        let mut ctx = Facts::at_unix(1_764_000_000).availability(&away);
        if let Some(a) = &account {
            ctx = ctx.account(a);
        }
        let decision = policy.evaluate(&lead, &ctx);
        let got = serde_json::to_value(&decision).unwrap();
        for (key, want) in case["want"].as_object().unwrap() {
            if &got[key] != want {
                failures.push(format!(
                    "line {} ({}): {key}: want {want}, got {}\n{}",
                    n + 1,
                    case["note"],
                    got[key],
                    policy.explain(&decision)
                ));
            }
        }
        count += 1;
    }
    assert!(count >= 14);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
