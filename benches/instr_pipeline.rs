//! Instruction counts of `LeadRouter::route` with in-memory adapters (a CRM
//! that answers at once, no events, a manual clock), against the bare
//! normalize + evaluate work it wraps (the inputs of `benches/pipeline.rs`),
//! and of spam screening (`Screen::assess`) against the normalize +
//! evaluate it is added to (the inputs of `benches/screening.rs`: a lead
//! with names and a message field, the seed policy with the recommended
//! screening rules in front).
//!
//! ```text
//! cargo bench --bench instr_pipeline
//! ```
//!
//! See `benches/instr/mod.rs` for how it measures and what fails the run.

use std::hint::black_box;
use std::process::ExitCode;

use std::time::{Duration, SystemTime};

use leadroute::events::NoEvents;
use leadroute::submission::{self, ScreenConfig, Submission, Verification};
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

        // Screening's cost: issue 18's claim is the ratio of the second to
        // the first, measured here in the same run.
        let spec = PolicySpec::from_json_str(SEED_POLICY_JSON).expect("seed policy");
        let mut screened_spec = spec.clone();
        screened_spec
            .rules
            .splice(0..0, submission::recommended_rules());
        let screened_policy = compile(&screened_spec).expect("screened policy compiles");
        let screen = ScreenConfig::default().build().expect("default screen");
        let lead_input: LeadInput = serde_json::from_str(
            r#"{"email": "dana@globex.com", "first_name": "Dana", "last_name": "Whitfield",
                "company": "Globex Inc", "country": "US", "state": "CA",
                "company_size": "1,000+", "product_interest": "Analytics", "submission_id": "s-1",
                "leadroute_hp": "", "form_started": 1764000000000,
                "message": "We are evaluating routing for 40 reps across two regions; see https://globex.com/about. Can we talk pricing next week?"}"#,
        )
        .expect("screening lead JSON");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_UNIX + 45);
        let plain = Submission::default();
        let screened_lead = normalizer.normalize(&lead_input).expect("normalizes").lead;
        let signals = screen.assess(&screened_lead, &plain, &Verification::NotConfigured, now);
        assert_eq!(signals.score, 0, "the bench lead is a real lead");
        assert_eq!(
            screened_policy
                .evaluate(&screened_lead, &Facts::new(now).signals(&signals))
                .rule,
            policy.evaluate(&screened_lead, &Facts::new(now)).rule,
            "the screening rules leave a clean lead's decision alone"
        );
        s.bench("screening/normalize_evaluate", 1, || {
            let lead = normalizer
                .normalize(black_box(&lead_input))
                .expect("normalizes")
                .lead;
            black_box(policy.evaluate(&lead, &Facts::new(now)))
        });
        s.bench("screening/normalize_screen_evaluate", 1, || {
            let lead = normalizer
                .normalize(black_box(&lead_input))
                .expect("normalizes")
                .lead;
            let signals = screen.assess(&lead, &plain, &Verification::NotConfigured, now);
            black_box(screened_policy.evaluate(&lead, &Facts::new(now).signals(&signals)))
        });
        s.bench("screening/assess_only", 1, || {
            black_box(screen.assess(
                black_box(&screened_lead),
                &plain,
                &Verification::NotConfigured,
                now,
            ))
        });
    })
}
