//! `Policy::evaluate` on its own: the seed policy against a hand-written
//! baseline, and generated territory plans of 10 to 10 000 rules.
//!
//! ```text
//! cargo bench --bench evaluate -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Every benchmark in `seed` evaluates each of the mixed seed leads once per
//! iteration, so their times are per *set* of leads (divide by the lead
//! count, printed in the benchmark id, for one evaluation). Every `scale`
//! benchmark evaluates one lead. Leads are normalized and contexts built
//! before measuring.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use leadroute::PolicySpec;
use leadroute::policy::EvalOptions;
use leadroute::{Facts, Normalizer, compile};

#[path = "support/policy_gen.rs"]
mod policy_gen;
#[path = "support/seed_baseline.rs"]
mod seed_baseline;
#[path = "support/seed_group.rs"]
mod seed_group;
#[path = "support/seed_scheduled.rs"]
mod seed_scheduled;

use policy_gen::{GenOptions, SIZES};
use seed_baseline::{NOW_UNIX, SeedBaseline, SeedLead, seed_leads};

fn seed(c: &mut Criterion) {
    let spec = PolicySpec::from_json_str(seed_baseline::SEED_POLICY_JSON).expect("seed policy");
    let policy = compile(&spec).expect("seed policy compiles");
    let leads = seed_leads(&Normalizer::default());
    let contexts: Vec<Facts<'_>> = leads.iter().map(SeedLead::facts).collect();

    // The three contenders must agree before they are timed (a fresh
    // baseline per lead: leadroute's `evaluate` starts from fresh pool state).
    for (l, ctx) in leads.iter().zip(&contexts) {
        let d = policy.evaluate(&l.lead, ctx);
        let quiet = policy.evaluate_with(&l.lead, ctx, EvalOptions::without_trace());
        let b = SeedBaseline::new().route(&l.lead, l.account.as_ref());
        assert_eq!(d.rule.as_deref(), l.rule, "{}: leadroute rule", l.name);
        assert_eq!(b.rule.id(), l.rule, "{}: baseline rule", l.name);
        assert_eq!(d.owner.as_deref(), b.owner, "{}: owner", l.name);
        assert_eq!(quiet.owner, d.owner, "{}: trace off", l.name);
        assert!(!d.trace.events.is_empty() && quiet.trace.events.is_empty());
    }

    let mut g = c.benchmark_group("seed");
    seed_group::bench_seed(&mut g, &policy, &leads, &contexts);
    g.finish();
}

fn scale(c: &mut Criterion) {
    let normalizer = Normalizer::default();
    let mut g = c.benchmark_group("scale");
    for &size in &SIZES {
        let generated = policy_gen::policy(GenOptions::bench(size));
        let policy = compile(&generated.spec).expect("generated policy compiles");
        let cases = generated.bench_cases(&normalizer);
        let ctx = Facts::at_unix(NOW_UNIX);
        for (name, case) in [
            ("early", &cases.early),
            ("late", &cases.late),
            ("fallback", &cases.fallback),
        ] {
            let d = policy.evaluate(&case.lead, &ctx);
            if let Some(mismatch) = case.expected.mismatch(&d) {
                panic!("{size} rules, {name} lead: {mismatch}");
            }
            g.bench_with_input(
                BenchmarkId::new(format!("trace_on_{name}"), size),
                &case.lead,
                |b, lead| b.iter(|| black_box(policy.evaluate(black_box(lead), black_box(&ctx)))),
            );
        }
    }
    g.finish();
}

/// The seed policy with and without working hours (owners on New York and
/// Berlin schedules, a day-of-week rule, SLA deadlines in working time), in
/// the same run: `schedules/plain` vs `schedules/scheduled` is the cost of
/// the time dimension.
fn schedules(c: &mut Criterion) {
    let plain = compile(&PolicySpec::from_json_str(seed_baseline::SEED_POLICY_JSON).expect("seed"))
        .expect("seed policy compiles");
    let scheduled = compile(&seed_scheduled::scheduled_seed_spec(
        seed_baseline::SEED_POLICY_JSON,
    ))
    .expect("scheduled seed policy compiles");
    let leads = seed_leads(&Normalizer::default());
    let contexts: Vec<Facts<'_>> = leads.iter().map(SeedLead::facts).collect();
    for (l, ctx) in leads.iter().zip(&contexts) {
        let a = plain.evaluate(&l.lead, ctx);
        let b = scheduled.evaluate(&l.lead, ctx);
        assert_eq!(a.owner, b.owner, "{}: same owner with schedules", l.name);
        assert_eq!(a.rule, b.rule, "{}: same rule with schedules", l.name);
    }
    let mut g = c.benchmark_group("schedules");
    let n = leads.len();
    for (name, policy) in [("plain", &plain), ("scheduled", &scheduled)] {
        g.bench_function(BenchmarkId::new(name, n), |b| {
            b.iter(|| {
                for (l, ctx) in leads.iter().zip(&contexts) {
                    black_box(policy.evaluate(black_box(&l.lead), black_box(ctx)));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, seed, scale, schedules);
criterion_main!(benches);
