//! Shared HTTP plumbing for the CRM adapter examples (`hubspot.rs` and
//! `salesforce.rs`), in one place:
//!
//! - [`http_client`]: a reqwest client over rustls with the `ring` provider
//!   (installed once), JSON `Accept`, a user agent and timeouts;
//! - [`send`] and [`HttpResponse`]: one request, its status, headers and
//!   body, with transport failures already classified as [`CrmError`]s;
//! - [`fallback_error`], [`HttpResponse::retry_after`]: the status-based part
//!   of response classification that both vendors share (each adapter reads
//!   its own error body first);
//! - [`mock`]: a loopback mock server (axum) that records every request and
//!   answers scripted replies, used by the examples' demos and the tests;
//! - environment helpers, the policy's CRM owner-id map, [`TokioClock`] and
//!   the demo runner that prints each request and decision.
//!
//! Each example uses a subset, hence the module-wide `dead_code` allowance.
#![allow(dead_code)]

pub mod mock;

use std::collections::HashMap;
use std::sync::Once;
use std::time::Duration;

use leadroute::PolicySpec;
use leadroute::crm::CrmError;
use leadroute::events::NoEvents;
use leadroute::pool::InMemoryPoolStore;
use leadroute::router::{Routed, WriteOutcome};
use leadroute::{Crm, LeadRouter, Policy};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use serde_json::{Value, json};

use self::mock::{MockServer, Recorded};

/// The user agent the adapters send.
pub const USER_AGENT: &str = concat!("leadroute-example/", env!("CARGO_PKG_VERSION"));

/// Turns the routing fields (`leadroute_rule`, `LeadRoute_Rule__c`, …) off
/// when set to `0`, `false`, `off` or `no` (for CRMs where the custom fields
/// were not created).
pub const ROUTING_FIELDS_ENV: &str = "LEADROUTE_ROUTING_FIELDS";

static RUSTLS_PROVIDER: Once = Once::new();

/// An HTTPS client for a CRM API: rustls with the `ring` provider, `Accept:
/// application/json`, [`USER_AGENT`], a connect timeout of at most 5 s and a
/// whole-request `timeout`.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, CrmError> {
    RUSTLS_PROVIDER.call_once(|| {
        // Fails only if another provider was installed first, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .default_headers(headers)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .build()
        .map_err(|e| CrmError::permanent(format!("cannot build the HTTP client: {}", chain(&e))))
}

/// A CRM response, read in full.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// The body as text (empty for 204).
    pub body: String,
}

impl HttpResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON; a body that is not JSON is a permanent error (the
    /// API answered something this adapter does not understand).
    pub fn json(&self) -> Result<Value, CrmError> {
        serde_json::from_str(&self.body).map_err(|e| {
            CrmError::permanent(format!(
                "unexpected response body (HTTP {}, {e}): {}",
                self.status,
                self.snippet()
            ))
        })
    }

    /// The `Retry-After` header in delta-seconds, if present (HTTP dates
    /// are not used by these APIs and are ignored).
    pub fn retry_after(&self) -> Option<Duration> {
        let value = self.header("retry-after")?.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(Duration::from_secs(secs));
        }
        value
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
    }

    /// The body, shortened for error messages.
    pub fn snippet(&self) -> String {
        let body = self.body.trim();
        if body.is_empty() {
            return "(empty body)".to_owned();
        }
        truncate_chars(body, 300)
    }
}

/// Sends a request and reads the whole response. Transport failures
/// (connect, timeout, reset) are [`CrmError::Transient`]; a request that
/// could not even be built is [`CrmError::Permanent`]. Any HTTP status is
/// `Ok`: the caller classifies it.
pub async fn send(request: reqwest::RequestBuilder) -> Result<HttpResponse, CrmError> {
    let response = request.send().await.map_err(transport_error)?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.map_err(transport_error)?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// Classifies a reqwest error. The URL is left out of the message: it may
/// hold the lead's email or a SOQL query, and messages end up in events and
/// retry queues.
pub fn transport_error(e: reqwest::Error) -> CrmError {
    let e = e.without_url();
    if e.is_builder() {
        CrmError::permanent(format!("invalid request: {}", chain(&e)))
    } else if e.is_timeout() {
        CrmError::transient(format!("the CRM did not answer in time: {}", chain(&e)))
    } else {
        CrmError::transient(format!("transport error: {}", chain(&e)))
    }
}

/// The error and its sources, `: `-separated.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The status-based classification both vendors share, used after the
/// vendor-specific error codes: 408, 425 and 5xx are transient; 429 is a
/// rate limit (with `Retry-After` when sent); everything else, including
/// 401 and 403, is permanent.
pub fn fallback_error(response: &HttpResponse, message: String) -> CrmError {
    match response.status {
        408 | 425 | 500..=599 => CrmError::transient(message),
        429 => CrmError::rate_limited(message, response.retry_after()),
        _ => CrmError::permanent(message),
    }
}

/// `s` cut to at most `max` characters (an ellipsis marks the cut).
pub fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((at, _)) => {
            let mut out = s.get(..at).unwrap_or(s).to_owned();
            out.push('…');
            out
        }
    }
}

/// `s` cut to at most `max` characters, without a marker (for CRM field
/// length limits).
pub fn clip_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Percent-encodes one URL path segment: everything but the RFC 3986
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`), so `jane@acme.com`
/// becomes `jane%40acme.com` and no value can add a path segment or a query.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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

/// CRM owner id → policy owner id, from each policy owner's
/// `crm_ids[crm]` (e.g. `crm_ids["hubspot"] = "9001"` maps `9001` to `ana`).
pub fn crm_owner_map(policy: &Policy, crm: &str) -> HashMap<String, String> {
    policy
        .owners()
        .filter_map(|o| Some((o.crm_id(crm)?.to_owned(), o.id.to_owned())))
        .collect()
}

/// The routing rule to record: the rule id, or `fallback`.
pub fn rule_label(decision: &leadroute::RouteDecision) -> String {
    match (&decision.rule, decision.fallback) {
        (Some(rule), _) => rule.to_string(),
        (None, true) => "fallback".to_owned(),
        (None, false) => "none".to_owned(),
    }
}

/// `policy_name@version`, as recorded in the CRM.
pub fn policy_label(decision: &leadroute::RouteDecision) -> String {
    format!("{}@{}", decision.policy_name, decision.policy_version)
}

#[path = "../support/tokio_clock.rs"]
mod tokio_clock;
pub use tokio_clock::TokioClock;

/// The bundled seed policy (`examples/policies/seed.json`, whose owners
/// carry `crm_ids` for both CRMs).
pub fn seed_policy() -> Result<Policy, String> {
    let spec = PolicySpec::from_json_str(include_str!("../policies/seed.json"))
        .map_err(|e| format!("seed.json does not parse: {e}"))?;
    leadroute::compile(&spec).map_err(|e| format!("seed.json does not compile: {e}"))
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
