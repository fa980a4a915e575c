//! Raw bytes as a JSON payload: normalize never panics, its error output
//! stays bounded, and a lead it returns survives JSON → normalize unchanged.
#![no_main]

use leadroute_fuzz::{NORMALIZER, check_bounded, check_round_trip};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let result = NORMALIZER.normalize_json(text);
    check_bounded(&result);
    if let Ok(n) = result {
        check_round_trip(&n.lead);
    }
});
