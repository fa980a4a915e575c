//! Instruction counts of `compile` under callgrind: generated territory
//! plans (`benches/support/policy_gen.rs`, the shape of `benches/evaluate.rs`)
//! of 100 and 1,000 rules, and the seed policy.
//!
//! ```text
//! cargo bench --bench instr_compile
//! ```
//!
//! The harness runs each closure 64 times; the 10,000-rule plan (about
//! 0.2 G instructions a compile) would take minutes under callgrind, so it
//! is measured with the one-off command in BENCHMARKS.md instead.
//!
//! See `benches/instr/mod.rs` for how it measures and what fails the run.

use std::hint::black_box;
use std::process::ExitCode;

use leadroute::{PolicySpec, compile};

mod instr;
#[path = "support/policy_gen.rs"]
mod policy_gen;

use instr::seed_baseline;
use policy_gen::GenOptions;

fn main() -> ExitCode {
    instr::main("compile", |s| {
        let seed = PolicySpec::from_json_str(seed_baseline::SEED_POLICY_JSON).expect("seed policy");
        assert!(compile(&seed).is_ok(), "the seed policy compiles");
        s.bench("compile/seed", 1, || black_box(compile(black_box(&seed))));
        for size in [100usize, 1_000] {
            let generated = policy_gen::policy(GenOptions::bench(size));
            let policy = compile(&generated.spec).expect("generated policy compiles");
            assert_eq!(policy.rule_ids().count(), size);
            s.bench(&format!("compile/plan_{size}"), 1, || {
                black_box(compile(black_box(&generated.spec)))
            });
        }
    })
}
