//! The server-side route of a demo form as a real HTTP service.
//!
//! ```text
//! cargo run -p leadroute-examples --example http_service   # listens on 127.0.0.1:3000 (PORT to change)
//! curl -s localhost:3000/leads -d '{"email": "cto@bigco.com", "country": "US", "company_size": "1000+"}'
//! ```
//!
//! - `POST /leads` with a form payload (JSON) routes it through the seed
//!   policy and answers `200 {"lead_id", "owner": {"id", "name", "email"} | null,
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
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use leadroute::PolicySpec;
use leadroute::crm::PendingWrite;
use leadroute::events::{Event, EventKind};
use leadroute::pool::InMemoryPoolStore;
use leadroute::router::WriteOutcome;
use leadroute::testing::InMemoryCrm;
use leadroute::{Crm, EventSink, LeadRouter, compile};
use serde_json::{Value, json};

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

async fn post_lead<C: Crm + 'static>(
    State(router): State<Arc<ServiceRouter<C>>>,
    body: String,
) -> Response {
    match router.route_json(&body).await {
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
