//! Structured policies, valid by construction, so evaluation is reached on
//! every input: the indexed engine must decide exactly what the in-order
//! reference interpreter (benches/support/policy_gen.rs) decides, with the
//! trace on, off and capped.
#![no_main]

use leadroute::{Facts, PolicySpec};
use leadroute_fuzz::policy_gen::reference;
use leadroute_fuzz::{PolicyPlan, compile_dropping_bad_rules, evaluate_all_ways};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|plan: PolicyPlan| {
    let spec: PolicySpec =
        serde_json::from_value(plan.spec_json()).expect("a generated spec deserializes");
    // Also through the reader, which must agree with serde.
    let text = serde_json::to_string(&spec).expect("serializes");
    let read = PolicySpec::from_json_str(&text).expect("the reader accepts what serde wrote");
    assert_eq!(read, spec);
    let (spec, policy) = compile_dropping_bad_rules(spec);
    for lead_plan in plan.leads.iter().take(8) {
        let Some(lead) = lead_plan.lead() else {
            continue;
        };
        let account = lead_plan.account();
        let facts = match &account {
            Some(a) => Facts::at_unix(0).account(a),
            None => Facts::at_unix(0),
        };
        let d = evaluate_all_ways(&policy, &lead, &facts);
        let want = reference(&spec, &lead, account.as_ref());
        let why =
            || format!("lead {lead:?}\naccount {account:?}\nspec {text}\nwant {want:?}\ngot {d:?}");
        if let Some(mismatch) = want.mismatch(&d) {
            panic!("{mismatch}: {}", why());
        }
    }
});
