//! Policy text (first byte: JSON or TOML) → compile → evaluate → explain.
//! Reading and compiling never panic; a policy that compiles decides the
//! sample leads alike with the trace on, off and capped.
#![no_main]

use leadroute::{Facts, Policy};
use leadroute_fuzz::{SAMPLE_LEADS, evaluate_all_ways};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&format, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let read = if format % 2 == 0 {
        Policy::from_json_str(text)
    } else {
        Policy::from_toml_str(text)
    };
    match read {
        Ok(policy) => {
            for lead in SAMPLE_LEADS.iter() {
                evaluate_all_ways(&policy, lead, &Facts::at_unix(0));
            }
        }
        Err(e) => {
            // Bounded diagnostics, each with a message.
            assert!(e.errors.len() <= leadroute::CompileError::LIMIT);
            assert!(e.errors.iter().all(|d| !d.message.is_empty()));
            assert!(e.to_string().len() < 200_000, "{}", e.to_string().len());
        }
    }
});
