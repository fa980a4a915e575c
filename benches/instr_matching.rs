//! Instruction counts of matching one lead against 1, 10 and 100 candidate
//! accounts (the candidates of `benches/matching.rs`): fresh accounts
//! (`Matcher::match_accounts`, `matching/candidates_N`) and a prepared
//! `CandidateSet` (`Matcher::match_set`, `matching/set_N`). Both include
//! reading the lead.
//!
//! ```text
//! cargo bench --bench instr_matching
//! ```
//!
//! See `benches/instr/mod.rs` for how it measures and what fails the run.

use std::hint::black_box;
use std::process::ExitCode;

use leadroute::Normalizer;
use leadroute::matching::Matcher;

mod instr;
#[path = "support/match_candidates.rs"]
mod match_candidates;

fn main() -> ExitCode {
    instr::main("matching", |s| {
        let lead = Normalizer::default()
            .normalize_json(match_candidates::LEAD_JSON)
            .expect("valid lead")
            .lead;
        let matcher = Matcher::default();
        for n in [1usize, 10, 100] {
            let accounts = match_candidates::candidates(n);
            s.bench(&format!("matching/candidates_{n}"), 1, || {
                black_box(matcher.match_accounts(black_box(&lead), black_box(&accounts)))
            });
        }
        for n in [1usize, 10, 100] {
            let set = matcher.prepare(match_candidates::candidates(n));
            s.bench(&format!("matching/set_{n}"), 1, || {
                black_box(matcher.match_set(black_box(&lead), black_box(&set)))
            });
        }
    })
}
