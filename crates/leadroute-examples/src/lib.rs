//! Internal (not published): what the runnable examples and the adapter
//! crates' tests share.
//!
//! - [`mock`]: a loopback mock HTTP server (axum, `127.0.0.1` only) that
//!   records every request and answers scripted replies;
//! - [`TokioClock`]: a [`leadroute::Clock`] over tokio's timer (re-exported
//!   from `leadroute-tokio`);
//! - the seed policy, the example router and the demo runner that prints
//!   each request an adapter sent and each decision;
//! - environment helpers for the examples' live modes.
//!
//! - [`service`]: the HTTP service — a public form endpoint with a body
//!   limit, rate limiting, CORS, request ids, logs and graceful shutdown —
//!   run by `cargo run -p leadroute-examples --example http_service`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

pub mod mock;
pub mod service;

use std::time::Duration;

use leadroute::PolicySpec;
use leadroute::events::NoEvents;
use leadroute::pool::InMemoryPoolStore;
use leadroute::router::{Routed, WriteOutcome};
use leadroute::{Crm, LeadRouter, Policy};
use serde_json::{Value, json};

pub use leadroute_tokio::TokioClock;

use self::mock::{MockServer, Recorded};

/// Turns the routing fields (`leadroute_rule`, `LeadRoute_Rule__c`, …) off
/// when set to `0`, `false`, `off` or `no` (for CRMs where the custom fields
/// were not created).
pub const ROUTING_FIELDS_ENV: &str = "LEADROUTE_ROUTING_FIELDS";

/// The bundled seed policy's JSON (`examples/policies/seed.json` of the
/// repository; its owners carry `crm_ids` for both CRMs).
pub const SEED_POLICY_JSON: &str = include_str!("../../../examples/policies/seed.json");

/// The bundled seed policy, compiled.
pub fn seed_policy() -> Result<Policy, String> {
    let spec = PolicySpec::from_json_str(SEED_POLICY_JSON)
        .map_err(|e| format!("seed.json does not parse: {e}"))?;
    leadroute::compile(&spec).map_err(|e| format!("seed.json does not compile: {e}"))
}

/// An environment variable, trimmed; `None` when unset or blank.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// An environment variable or a default.
pub fn env_or(name: &str, default: &str) -> String {
    env_var(name).unwrap_or_else(|| default.to_owned())
}

/// A boolean environment variable: `0`, `false`, `off` and `no` are false,
/// any other value is true, unset is `default`.
pub fn env_flag(name: &str, default: bool) -> bool {
    match env_var(name) {
        None => default,
        Some(v) => !matches!(
            v.to_ascii_lowercase().as_str(),
            "0" | "false" | "off" | "no"
        ),
    }
}

/// Whether to write the routing fields (see [`ROUTING_FIELDS_ENV`]).
pub fn routing_fields_enabled() -> bool {
    env_flag(ROUTING_FIELDS_ENV, true)
}

/// The router the examples run.
pub type ExampleRouter<C> = LeadRouter<C, NoEvents, InMemoryPoolStore, TokioClock>;

/// A router over `crm` with the tokio clock, a 5 s budget per lookup and a
/// 15 s budget for the write.
pub fn router<C: Crm>(policy: Policy, crm: C) -> ExampleRouter<C> {
    LeadRouter::new(policy, crm, NoEvents)
        .with_clock(TokioClock)
        .with_lookup_budget(Duration::from_secs(5))
        .with_write_budget(Duration::from_secs(15))
}

/// One routed lead as a JSON line: who owns it, why, what the buyer sees,
/// and the CRM write (receipt, or the classified error queued for retry).
pub fn outcome_json(routed: &Routed) -> Value {
    let d = &routed.decision;
    let crm = match &routed.write {
        WriteOutcome::Written(receipt) => {
            json!({ "record_id": receipt.record_id, "created": receipt.created })
        }
        WriteOutcome::Pending(pending) => {
            json!({ "queued_for_retry": true, "error": pending.error })
        }
        _ => json!({ "skipped": true }),
    };
    json!({
        "lead_id": routed.lead_id,
        "email": routed.lead.email,
        "owner": d.owner_id(),
        "assigned_by": d.assigned_by,
        "rule": d.rule,
        "experience": d.experience,
        "account": routed.lookups.matched_account.as_ref().map(|a| &a.id),
        "existing_person": routed.lookups.existing_person.as_ref().map(|c| &c.id),
        "lookup_errors": routed.lookups.errors,
        "crm": crm,
    })
}

/// Prints one request the adapter sent (the token redacted) and the status
/// the mock answered.
pub fn print_request(r: &Recorded) {
    let query = r
        .query_pairs()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let sep = if query.is_empty() { "" } else { "?" };
    println!("   → {} {}{sep}{query}", r.method, r.path);
    for (name, value) in &r.headers {
        match name.as_str() {
            "host" | "content-length" | "accept" | "user-agent" => {}
            "authorization" => println!("       {name}: Bearer ***"),
            _ => println!("       {name}: {value}"),
        }
    }
    if !r.body.is_empty() {
        println!("       {}", r.body);
    }
    println!("     ← {}", r.status);
}

/// Routes one demo lead through `router`, printing the requests the adapter
/// sent to `server` and the decision. Fails if the adapter sent a request
/// the scenario did not script, or left a scripted reply unused.
pub async fn demo_lead<C: Crm>(
    router: &ExampleRouter<C>,
    server: &MockServer,
    title: &str,
    payload: &str,
) -> Result<Routed, String> {
    println!("\n== {title}");
    println!("   form: {payload}");
    let routed = router
        .route_json(payload)
        .await
        .map_err(|e| format!("{title}: invalid demo lead: {e:?}"))?;
    let requests = server.take_requests();
    for r in &requests {
        print_request(r);
    }
    println!("   decision: {}", outcome_json(&routed));
    if let Some(r) = requests.iter().find(|r| r.status == mock::UNSCRIPTED) {
        return Err(format!(
            "{title}: unscripted request {} {}",
            r.method, r.path
        ));
    }
    let unused = server.unused();
    if !unused.is_empty() {
        return Err(format!("{title}: scripted replies not used: {unused:?}"));
    }
    Ok(routed)
}

/// Routes each JSON line of stdin through `router` (the live mode of the
/// examples) and prints one outcome line per lead (or its field errors).
pub async fn route_stdin<C: Crm>(router: &ExampleRouter<C>) -> Result<(), String> {
    let input =
        std::io::read_to_string(std::io::stdin()).map_err(|e| format!("cannot read stdin: {e}"))?;
    for line in input.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match router.route_json(line).await {
            Ok(routed) => println!("{}", outcome_json(&routed)),
            Err(e) => println!("{}", json!({ "errors": e.errors })),
        }
    }
    Ok(())
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|h| char::from(*h).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
