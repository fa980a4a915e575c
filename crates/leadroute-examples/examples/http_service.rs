//! The server-side route of a demo form as a real HTTP service.
//!
//! ```text
//! cargo run -p leadroute-examples --example http_service   # listens on 127.0.0.1:3000 (PORT to change)
//! curl -s localhost:3000/leads -H 'content-type: application/json' \
//!     -d '{"email": "cto@bigco.com", "country": "US", "company_size": "1000+"}'
//! curl -s localhost:3000/leads --data-urlencode email=cto@bigco.com -d country=US -d company_size=1000+
//! ```
//!
//! - `POST /leads` with a form payload routes it through the seed policy.
//!   The body is JSON (`Content-Type: application/json`, or no content
//!   type) or what an HTML `<form method="post">` sends
//!   (`application/x-www-form-urlencoded`: `+` is a space, a repeated key
//!   such as a checkbox group becomes a list, `name[]` is `name`); any other
//!   content type gets `415`. It answers `200 {"lead_id", "owner": {"id", "name", "email"} | null,
//!   "experience", "rule", "crm": {"record_id", "created"} | {"queued_for_retry", "error"}
//!   | {"skipped": true}, "warnings"}` or `422 {"errors": [{field, code, value, message}]}`.
//!   A rejected lead (a disposable email) answers `200` with the `reject`
//!   experience and `"crm": {"skipped": true}`: it is not written to the CRM.
//! - `POST /events` records a front-end event (`{"event": "meeting_booked",
//!   "lead_id": …, "owner": …}`) through the router's sink.
//! - `GET /healthz` answers `ok`.
//!
//! The CRM here is the in-memory one from `leadroute::testing` (swap in the
//! `leadroute-hubspot` or `leadroute-salesforce` adapter). CRM lookups get a
//! 300 ms budget; an outage still yields a decision and the write failure is
//! queued for retry, never lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use leadroute::PolicySpec;
use leadroute::crm::PendingWrite;
use leadroute::events::{Event, EventKind};
use leadroute::pool::InMemoryPoolStore;
use leadroute::router::WriteOutcome;
use leadroute::testing::InMemoryCrm;
use leadroute::{Crm, EventSink, LeadRouter, compile};
use serde_json::{Map, Value, json};

pub use leadroute_examples::TokioClock;

/// An event sink that logs each event as a JSON line on stderr and keeps
/// failed writes in a retry queue.
#[derive(Debug, Default)]
pub struct LogSink {
    /// Writes waiting for a retry (a real service would persist these).
    pub retry_queue: Mutex<Vec<PendingWrite>>,
}

impl EventSink for LogSink {
    fn emit(&self, event: Event) {
        if let EventKind::CrmWriteFailed { pending, .. } = &event.kind {
            self.retry_queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((**pending).clone());
        }
        eprintln!("{}", serde_json::to_string(&event).unwrap_or_default());
    }
}

/// The router type the service runs.
pub type ServiceRouter<C> = LeadRouter<C, LogSink, InMemoryPoolStore, TokioClock>;

/// Builds the service's router over any CRM.
pub fn service_router<C: Crm>(crm: C) -> ServiceRouter<C> {
    let spec = PolicySpec::from_json_str(leadroute_examples::SEED_POLICY_JSON)
        .expect("bundled policy parses");
    let policy = compile(&spec).expect("bundled policy compiles");
    LeadRouter::new(policy, crm, LogSink::default())
        .with_clock(TokioClock)
        .with_lookup_budget(Duration::from_millis(300))
        .with_write_budget(Duration::from_secs(2))
}

/// The HTTP routes.
pub fn app<C: Crm + 'static>(router: Arc<ServiceRouter<C>>) -> axum::Router {
    axum::Router::new()
        .route("/leads", post(post_lead::<C>))
        .route("/events", post(post_event::<C>))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(router)
}

/// The body's media type, lower-case, without parameters (`None` when the
/// request has no `Content-Type`).
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default();
    Some(essence.trim().to_ascii_lowercase())
}

/// An `application/x-www-form-urlencoded` body as the JSON object of form
/// fields the router reads: each key once, a repeated key (or `key[]`) as a
/// list of its values in order.
pub fn form_to_json(body: &[u8]) -> Value {
    let mut fields = Map::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        let key = key.strip_suffix("[]").unwrap_or(&key).to_owned();
        let value = Value::String(value.into_owned());
        match fields.get_mut(&key) {
            None => {
                fields.insert(key, value);
            }
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
        }
    }
    Value::Object(fields)
}

async fn post_lead<C: Crm + 'static>(
    State(router): State<Arc<ServiceRouter<C>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let payload = match media_type(&headers).as_deref() {
        None | Some("application/json") => String::from_utf8_lossy(&body).into_owned(),
        Some("application/x-www-form-urlencoded") => form_to_json(&body).to_string(),
        Some(other) => {
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Json(json!({ "errors": [{ "field": "payload", "code": "unsupported_media_type",
                    "message": format!("`{other}` is not accepted: post JSON or application/x-www-form-urlencoded") }] })),
            )
                .into_response();
        }
    };
    match router.route_json(&payload).await {
        Err(err) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "errors": err.errors })),
        )
            .into_response(),
        Ok(routed) => {
            let policy = router.policy();
            let owner = routed.decision.owner_id().map(|id| {
                let spec = policy.owner(id);
                json!({ "id": id, "name": spec.map(|o| o.name), "email": spec.and_then(|o| o.email) })
            });
            let crm = match &routed.write {
                WriteOutcome::Written(receipt) => {
                    json!({ "record_id": receipt.record_id, "created": receipt.created })
                }
                WriteOutcome::Pending(pending) => {
                    json!({ "queued_for_retry": true, "error": pending.error })
                }
                // The policy keeps this lead out of the CRM (a rejection).
                _ => json!({ "skipped": true }),
            };
            Json(json!({
                "lead_id": routed.lead_id,
                "owner": owner,
                "experience": routed.decision.experience,
                "rule": routed.decision.rule,
                "crm": crm,
                "warnings": routed.warnings,
            }))
            .into_response()
        }
    }
}

async fn post_event<C: Crm + 'static>(
    State(router): State<Arc<ServiceRouter<C>>>,
    Json(body): Json<Value>,
) -> Response {
    let lead_id = body
        .get("lead_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kind: Result<EventKind, _> = serde_json::from_value(body);
    match kind {
        Ok(kind @ (EventKind::FormStarted { .. } | EventKind::MeetingShown { .. } | EventKind::MeetingBooked { .. })) if !lead_id.is_empty() => {
            router.track(kind, &lead_id, None);
            StatusCode::ACCEPTED.into_response()
        }
        _ => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "errors": [{ "field": "event", "message": "expected a form_started, meeting_shown or meeting_booked event with a lead_id" }] })),
        )
            .into_response(),
    }
}

#[allow(dead_code)] // unused when the tests include this file as a module
#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!(
        "leadroute demo service on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app(Arc::new(service_router(InMemoryCrm::new())))).await
}
