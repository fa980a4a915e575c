//! Raw bytes as a JSON payload, normalized, then screened for spam: the
//! screen never panics on any lead the normalizer returns, and its signals
//! hold together (see `check_signals`).
#![no_main]

use leadroute_fuzz::{NORMALIZER, check_signals};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(n) = NORMALIZER.normalize_json(text) {
        check_signals(&n.lead);
    }
});
