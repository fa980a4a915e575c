//! Instruction counts of `Policy::evaluate` under callgrind: the seed policy
//! with the trace on and off, and generated territory plans of 10 and 10,000
//! rules with an early, a late and a fallback lead (the lead sets of
//! `benches/evaluate.rs`). The seed is measured through `evaluate_with` (a
//! new decision per lead) and `evaluate_into` (one reused decision).
//!
//! ```text
//! cargo bench --bench instr_evaluate            # measure and check benches/instr/evaluate.expected
//! cargo bench --bench instr_evaluate -- plan_   # only the generated plans
//! ```
//!
//! See `benches/instr/mod.rs` for how it measures and what fails the run.

use std::hint::black_box;
use std::process::ExitCode;

use leadroute::policy::EvalOptions;
use leadroute::{Facts, Normalizer, PolicySpec, compile};

mod instr;
#[path = "support/policy_gen.rs"]
mod policy_gen;

use instr::seed_baseline::{self, NOW_UNIX, SeedLead, seed_leads};
use policy_gen::GenOptions;

/// The plan sizes measured (the 10 → 10,000 scaling goal of issue 16).
const PLAN_SIZES: [usize; 2] = [10, 10_000];

fn main() -> ExitCode {
    instr::main("evaluate", |s| {
        let spec = PolicySpec::from_json_str(seed_baseline::SEED_POLICY_JSON).expect("seed policy");
        let policy = compile(&spec).expect("seed policy compiles");
        let leads = seed_leads(&Normalizer::default());
        let contexts: Vec<Facts<'_>> = leads.iter().map(SeedLead::facts).collect();
        for (l, ctx) in leads.iter().zip(&contexts) {
            let d = policy.evaluate(&l.lead, ctx);
            assert_eq!(d.rule.as_deref(), l.rule, "{}: seed rule", l.name);
        }
        let n = leads.len() as u64;
        for (name, options) in [
            ("evaluate/seed/trace_on", EvalOptions::default()),
            ("evaluate/seed/trace_off", EvalOptions::without_trace()),
        ] {
            s.bench(name, n, || {
                for (l, ctx) in leads.iter().zip(&contexts) {
                    black_box(policy.evaluate_with(black_box(&l.lead), black_box(ctx), options));
                }
            });
        }
        // The same, into one reused decision (`Policy::evaluate_into`): no
        // allocation, no new decision to move or drop.
        let mut decision = policy.evaluate(&leads[0].lead, &contexts[0]);
        for (name, options) in [
            ("evaluate/seed/trace_on/into", EvalOptions::default()),
            ("evaluate/seed/trace_off/into", EvalOptions::without_trace()),
        ] {
            s.bench(name, n, || {
                for (l, ctx) in leads.iter().zip(&contexts) {
                    policy.evaluate_into(
                        black_box(&l.lead),
                        black_box(ctx),
                        options,
                        &mut decision,
                    );
                }
                black_box(&decision);
            });
        }

        let normalizer = Normalizer::default();
        let ctx = Facts::at_unix(NOW_UNIX);
        for size in PLAN_SIZES {
            let generated = policy_gen::policy(GenOptions::bench(size));
            let policy = compile(&generated.spec).expect("generated policy compiles");
            let cases = generated.bench_cases(&normalizer);
            for (lead_name, case) in [
                ("early", &cases.early),
                ("late", &cases.late),
                ("fallback", &cases.fallback),
            ] {
                let d = policy.evaluate(&case.lead, &ctx);
                if let Some(mismatch) = case.expected.mismatch(&d) {
                    panic!("{size} rules, {lead_name} lead: {mismatch}");
                }
                for (trace, options) in [
                    ("trace_on", EvalOptions::default()),
                    ("trace_off", EvalOptions::without_trace()),
                ] {
                    s.bench(
                        &format!("evaluate/plan_{size}/{lead_name}/{trace}"),
                        1,
                        || {
                            black_box(policy.evaluate_with(
                                black_box(&case.lead),
                                black_box(&ctx),
                                options,
                            ))
                        },
                    );
                }
            }
        }
    })
}
