//! Instruction counts of `LeadRouter::route` with in-memory adapters (a CRM
//! that answers at once, no events, a manual clock), against the bare
//! normalize + evaluate work it wraps (the inputs of `benches/pipeline.rs`).
//!
//! ```text
//! cargo bench --bench instr_pipeline
//! ```
//!
//! See `benches/instr/mod.rs` for how it measures and what fails the run.

use std::hint::black_box;
use std::process::ExitCode;

use leadroute::events::NoEvents;
use leadroute::testing::ManualClock;
use leadroute::{Facts, LeadInput, LeadRouter, Normalizer, PolicySpec, compile};

mod instr;
#[path = "support/null_crm.rs"]
mod null_crm;

use instr::seed_baseline::{NOW_UNIX, SEED_POLICY_JSON};
use null_crm::NullCrm;

fn main() -> ExitCode {
    instr::main("pipeline", |s| {
        let policy = compile(&PolicySpec::from_json_str(SEED_POLICY_JSON).expect("seed policy"))
            .expect("seed policy compiles");
        let input: LeadInput = serde_json::from_str(
            r#"{"email": "dana@globex.com", "company": "Globex Inc", "country": "US", "state": "CA",
                "company_size": "1,000+", "product_interest": "Analytics", "submission_id": "s-1"}"#,
        )
        .expect("lead JSON");
        let normalizer = Normalizer::default();
        let router = LeadRouter::new(policy.clone(), NullCrm, NoEvents)
            .with_clock(ManualClock::at_unix(NOW_UNIX));
        let routed = pollster::block_on(router.route(input.clone())).expect("routes");
        let direct = policy.evaluate(
            &normalizer.normalize(&input).expect("normalizes").lead,
            &Facts::at_unix(NOW_UNIX),
        );
        assert_eq!(
            routed.decision.rule, direct.rule,
            "router and evaluate agree"
        );

        s.bench("pipeline/normalize_evaluate", 1, || {
            let lead = normalizer
                .normalize(black_box(&input))
                .expect("normalizes")
                .lead;
            black_box(policy.evaluate(&lead, &Facts::at_unix(NOW_UNIX)))
        });
        // The same lead id every time: after the warm-up call, pool steps
        // are replays, so this measures the pipeline, not a growing state.
        s.bench("pipeline/router_route_in_memory", 1, || {
            black_box(pollster::block_on(router.route(black_box(input.clone()))).expect("routes"))
        });
    })
}
