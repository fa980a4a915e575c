//! A structured form (every field arbitrary text, ranges in the crate's own
//! object form, attributes of every JSON number kind): normalize never
//! panics, stays bounded, and a lead survives the JSON round trip exactly.
#![no_main]

use leadroute_fuzz::{FormInput, NORMALIZER, check_bounded, check_round_trip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|form: FormInput| {
    let input = form.to_input();
    let result = NORMALIZER.normalize(&input);
    check_bounded(&result);
    if let Ok(n) = result {
        check_round_trip(&n.lead);
    }
});
