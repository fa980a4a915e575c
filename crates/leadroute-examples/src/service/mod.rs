//! The server-side route of a marketing form as a public HTTP endpoint:
//! the seed policy behind the recommended spam rules, a body limit, per-client
//! rate limiting, a CORS allowlist, request ids, structured logs and a
//! graceful shutdown. Configured from the environment ([`ServiceConfig`]);
//! run it with `cargo run -p leadroute-examples --example http_service`.
//!
//! - `POST /leads`: JSON (`application/json`, or no content type) or an
//!   HTML form (`application/x-www-form-urlencoded`: `+` is a space, a
//!   repeated key becomes a list, `name[]` is `name`); other types get
//!   `415`. Answers `200 {"lead_id", "owner": {"id", "name", "email"} |
//!   null, "experience", "rule", "crm": {"record_id", "created"} |
//!   {"queued_for_retry", "error"} | {"skipped": true}, "warnings"}` or
//!   `422 {"errors": [{field, code, value, message}]}`. A rejected
//!   submission (spam, a disposable email) answers `200` with the `reject`
//!   experience and `"crm": {"skipped": true}`: it is not written.
//! - `POST /events`: a front-end event (`form_started`, `meeting_shown`,
//!   `meeting_booked`, with a `lead_id`), `202`.
//! - `GET /healthz`: `ok`.
//!
//! Every error body is `{"errors": [{"field", "code", "message"}]}`:
//! `413 payload_too_large` (over `LEADROUTE_MAX_BODY_BYTES`), `408
//! body_timeout` (the body did not arrive within
//! `LEADROUTE_BODY_TIMEOUT_MS`: slow clients hold no worker for long),
//! `429 rate_limited` with `Retry-After` (over `LEADROUTE_RATE_PER_MINUTE`
//! per client, `POST /leads` only), `403 origin_not_allowed` (an `Origin`
//! outside `LEADROUTE_ALLOWED_ORIGINS`; requests without one, from servers,
//! pass). Every response carries `x-request-id` (the client's, or a new
//! UUID), which every log line of the request names. A client that does
//! not send its request line and headers within
//! `LEADROUTE_HEADER_TIMEOUT_MS` is disconnected without an answer
//! ([`serve`]).

mod config;
mod limit;
mod recent;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, ORIGIN};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use leadroute::crm::PendingWrite;
use leadroute::events::{Event, EventKind};
use leadroute::pool::InMemoryPoolStore;
use leadroute::router::WriteOutcome;
use leadroute::submission::{self, ScreenConfig, Submission};
use leadroute::{Crm, EventSink, LeadInput, LeadRouter, PolicySpec, compile};
use serde_json::{Map, Value, json};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use config::{ConfigError, ServiceConfig};
pub use limit::ClientLimiter;
pub use recent::RecentSubmissions;

use crate::TokioClock;

/// How many events [`LogSink::recent`] keeps.
const RECENT_EVENTS: usize = 1024;

/// An event sink that logs each event through `tracing` (target
/// `leadroute::event`, the event's JSON in `event_json`), keeps failed
/// writes in a retry queue, and keeps the last events for inspection.
#[derive(Debug, Default)]
pub struct LogSink {
    /// Writes waiting for a retry (a real service would persist these).
    pub retry_queue: Mutex<Vec<PendingWrite>>,
    recent: Mutex<std::collections::VecDeque<Event>>,
}

impl LogSink {
    /// The last events (at most 1024), oldest first.
    pub fn recent(&self) -> Vec<Event> {
        let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.iter().cloned().collect()
    }

    /// The recent events of one lead.
    pub fn of_lead(&self, lead_id: &str) -> Vec<Event> {
        self.recent()
            .into_iter()
            .filter(|e| e.lead_id == lead_id)
            .collect()
    }
}

impl EventSink for LogSink {
    fn emit(&self, event: Event) {
        if let EventKind::CrmWriteFailed { pending, .. } = &event.kind {
            self.retry_queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((**pending).clone());
        }
        let json = serde_json::to_string(&event).unwrap_or_default();
        tracing::info!(target: "leadroute::event", event = event.name(), lead_id = %event.lead_id, event_json = %json);
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() >= RECENT_EVENTS {
            recent.pop_front();
        }
        recent.push_back(event);
    }
}

/// The router type the service runs.
pub type ServiceRouter<C> = LeadRouter<C, LogSink, InMemoryPoolStore, TokioClock>;

/// The seed policy with the recommended screening rules after its own
/// leading reject rules (so the seed's "reject disposable emails" keeps
/// deciding those) and before its routing rules.
pub fn service_policy() -> Result<leadroute::Policy, String> {
    let mut spec = PolicySpec::from_json_str(crate::SEED_POLICY_JSON)
        .map_err(|e| format!("seed.json does not parse: {e}"))?;
    let at = spec
        .rules
        .iter()
        .take_while(|r| {
            matches!(
                r.then.experience,
                leadroute::policy::spec::ExperienceSpec::Reject { .. }
            )
        })
        .count();
    spec.rules.splice(at..at, submission::recommended_rules());
    compile(&spec).map_err(|e| format!("the service policy does not compile: {e}"))
}

/// Builds the service's router over any CRM: the service policy, the
/// screen from `config`, CRM lookups within 300 ms, writes within 2 s.
pub fn service_router<C: Crm>(crm: C, config: &ServiceConfig) -> Result<ServiceRouter<C>, String> {
    let mut screen = ScreenConfig::default();
    screen.honeypot_fields = vec![config.honeypot_field.clone()];
    screen.min_fill_ms = u64::try_from(config.min_fill.as_millis()).unwrap_or(u64::MAX);
    screen.known_bad_domains = config.known_bad_domains.clone();
    let screen = screen.build().map_err(|e| e.to_string())?;
    Ok(LeadRouter::new(service_policy()?, crm, LogSink::default())
        .with_clock(TokioClock)
        .with_screen(screen)
        .with_lookup_budget(Duration::from_millis(300))
        .with_write_budget(Duration::from_secs(2)))
}

/// The service: its router and what its endpoint keeps.
#[derive(Debug)]
pub struct Service<C> {
    /// The lead router.
    pub router: ServiceRouter<C>,
    /// The configuration.
    pub config: ServiceConfig,
    /// Recent submissions by email, for `repeated_submission`.
    pub recent: RecentSubmissions,
}

impl<C: Crm> Service<C> {
    /// A service over `crm` configured by `config`.
    pub fn new(crm: C, config: ServiceConfig) -> Result<Self, String> {
        Ok(Service {
            router: service_router(crm, &config)?,
            recent: RecentSubmissions::new(Duration::from_secs(3600)),
            config,
        })
    }
}

/// The HTTP routes and layers.
pub fn app<C: Crm + 'static>(service: Arc<Service<C>>) -> axum::Router {
    let config = &service.config;
    let limiter = Arc::new(ClientLimiter::new(
        config.rate_per_minute,
        config.rate_burst,
        config.trust_forwarded_for,
    ));
    let origins: Vec<HeaderValue> = config
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::POST])
        .allow_headers([CONTENT_TYPE])
        .max_age(Duration::from_secs(3600));
    let allowed: Arc<[String]> = config.allowed_origins.clone().into();
    axum::Router::new()
        .route(
            "/leads",
            post(post_lead::<C>).route_layer(middleware::from_fn_with_state(limiter, limit::limit)),
        )
        .route("/events", post(post_event::<C>))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(service.clone())
        .layer(middleware::from_fn_with_state(allowed, origin_guard))
        .layer(DefaultBodyLimit::max(service.config.max_body_bytes))
        .layer(cors)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting connections and lets in-flight requests finish (each route is
/// bounded by its CRM budgets).
///
/// HTTP/1.1 through hyper, with a timer so that its header-read timeout
/// applies: a client that has not sent its whole request line and headers
/// within `header_timeout` of the server starting to wait for them (a new
/// connection, or an idle keep-alive one) is disconnected without an
/// answer, so slow-loris clients hold no connection for long. (`axum::serve`
/// configures no timer, under which hyper applies no header timeout at
/// all.) Each request carries the peer address as
/// [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo), which the rate
/// limit keys on.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            },
        );
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                // A header timeout, a reset, a malformed request: the
                // client's problem, not the server's.
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed `accept`: a connection that failed before it was
/// accepted is the client's; anything else (out of file descriptors) is
/// logged and waited out, rather than spinning.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Installs the `tracing` subscriber: `RUST_LOG` (default `info`), text or
/// JSON lines on stderr. Does nothing if one is installed already.
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn error(status: StatusCode, field: &str, code: &str, message: String) -> Response {
    (
        status,
        Json(json!({ "errors": [{ "field": field, "code": code, "message": message }] })),
    )
        .into_response()
}

/// `403` for a request whose `Origin` is not allowed. A browser would
/// refuse to show the page a disallowed response, but a form post is sent
/// anyway; refusing it here keeps foreign pages from submitting at all.
async fn origin_guard(State(allowed): State<Arc<[String]>>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST {
        if let Some(origin) = req.headers().get(ORIGIN) {
            let origin = origin.to_str().unwrap_or_default();
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
                tracing::warn!(%origin, "origin not allowed");
                return error(
                    StatusCode::FORBIDDEN,
                    "origin",
                    "origin_not_allowed",
                    format!("`{origin}` may not post to this endpoint"),
                );
            }
        }
    }
    next.run(req).await
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

/// Why a body was not read.
enum BodyError {
    TooLarge,
    TimedOut,
    Broken(String),
}

/// Reads the body, at most `limit` bytes, within `timeout`.
async fn read_body(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, BodyError> {
    let read = async {
        let mut stream = body.into_data_stream();
        let mut buf = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| BodyError::Broken(e.to_string()))?;
            if buf.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buf))
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(BodyError::TimedOut))
}

async fn post_lead<C: Crm + 'static>(
    State(service): State<Arc<Service<C>>>,
    req: Request,
) -> Response {
    let config = &service.config;
    let limit = config.max_body_bytes;
    let (parts, body) = req.into_parts();
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload",
            "payload_too_large",
            format!("the body is larger than {limit} bytes"),
        )
    };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large();
    }
    let body = match read_body(body, limit, config.body_timeout).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(),
        Err(BodyError::TimedOut) => {
            tracing::warn!("request body timed out");
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "payload",
                "body_timeout",
                format!(
                    "the body did not arrive within {} ms",
                    config.body_timeout.as_millis()
                ),
            );
        }
        Err(BodyError::Broken(why)) => {
            return error(StatusCode::BAD_REQUEST, "payload", "unreadable_body", why);
        }
    };
    let payload = match media_type(&parts.headers).as_deref() {
        None | Some("application/json") => String::from_utf8_lossy(&body).into_owned(),
        Some("application/x-www-form-urlencoded") => form_to_json(&body).to_string(),
        Some(other) => {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "payload",
                "unsupported_media_type",
                format!(
                    "`{other}` is not accepted: post JSON or application/x-www-form-urlencoded"
                ),
            );
        }
    };
    let router = &service.router;
    let now = SystemTime::now();
    let result = match serde_json::from_str::<LeadInput>(&payload) {
        Ok(input) => {
            let email = input.email.as_deref().unwrap_or_default().to_owned();
            let mut submission = Submission::default();
            submission.recent = service.recent.of(&email, now);
            router.route_submission(input, submission).await
        }
        // Not an object: the router reports it (and emits its events).
        Err(_) => router.route_json(&payload).await,
    };
    let routed = match result {
        Err(err) => {
            tracing::info!(errors = err.errors.len(), "validation failed");
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "errors": err.errors })),
            )
                .into_response();
        }
        Ok(routed) => routed,
    };
    service
        .recent
        .record(&routed.lead.email, &routed.lead_id, now);
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
    tracing::info!(
        lead_id = %routed.lead_id,
        rule = routed.decision.rule.as_deref().unwrap_or("(fallback)"),
        experience = routed.decision.experience.name(),
        spam_score = routed.screening.as_ref().map_or(0, |s| s.score),
        signals = %routed.screening.as_ref().map(|s| s.kinds().to_string()).unwrap_or_default(),
        "lead routed"
    );
    // The signals stay in the logs and events: telling a bot which one
    // caught it would help it past the next time.
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

async fn post_event<C: Crm + 'static>(
    State(service): State<Arc<Service<C>>>,
    Json(body): Json<Value>,
) -> Response {
    let lead_id = body
        .get("lead_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let kind: Result<EventKind, _> = serde_json::from_value(body);
    match kind {
        Ok(
            kind @ (EventKind::FormStarted { .. }
            | EventKind::MeetingShown { .. }
            | EventKind::MeetingBooked { .. }),
        ) if !lead_id.is_empty() => {
            service.router.track(kind, &lead_id, None);
            StatusCode::ACCEPTED.into_response()
        }
        _ => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "event",
            "invalid_event",
            "expected a form_started, meeting_shown or meeting_booked event with a lead_id".into(),
        ),
    }
}
