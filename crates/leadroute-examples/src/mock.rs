//! A loopback mock HTTP server on axum: it records every request (method,
//! raw path, raw query, headers, body) and answers scripted replies.
//!
//! ```text
//! let server = MockServer::start().await?;
//! server.script(Expect::new("GET", "/crm/v3/objects/contacts/jane@acme.com"), Reply::json(404, json!({…})));
//! // … point an adapter at server.base_url() and call it …
//! let sent = server.take_requests();
//! ```
//!
//! A scripted reply answers one request: the first scripted entry whose
//! method and (percent-decoded) path match, and whose decoded query
//! contains [`Expect::query_contains`] if set. Entries for the same request
//! are used in the order they were scripted. A request nothing matches gets
//! a `501` ([`UNSCRIPTED`]) so tests and demos fail loudly — or, for a server
//! started with [`MockServer::start_with`], whatever its handler answers (a
//! stateful fake CRM). A reply can also be a fault: answered late
//! ([`Reply::delay`]) or cut off mid-body ([`Reply::cut_after`]). The server
//! task is aborted when the [`MockServer`] is dropped.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

/// The status the mock answers when no scripted reply matches.
pub const UNSCRIPTED: u16 = 501;

/// One request as the mock received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent (still percent-encoded).
    pub path: String,
    /// The query string as sent (still encoded), without `?`.
    pub query: Option<String>,
    /// Headers in arrival order, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// The status the mock answered.
    pub status: u16,
    /// The body the mock answered.
    pub reply_body: String,
}

impl Recorded {
    /// A header's value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// All headers but the named ones (e.g. `host`, whose port varies), as
    /// a sorted map for exact comparison.
    pub fn headers_except(&self, skip: &[&str]) -> BTreeMap<String, String> {
        self.headers
            .iter()
            .filter(|(n, _)| !skip.contains(&n.as_str()))
            .cloned()
            .collect()
    }

    /// The query's `key=value` pairs, decoded (`+` is a space).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let Some(query) = &self.query else {
            return Vec::new();
        };
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    /// One decoded query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The path, percent-decoded (`jane%40acme.com` → `jane@acme.com`).
    pub fn decoded_path(&self) -> String {
        super::percent_decode(&self.path)
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }
}

/// A scripted reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: String,
    /// Answer only after this long (a stalled response).
    pub delay: Option<Duration>,
    /// Send the headers (with the full `Content-Length`) and this many
    /// bytes of the body, then close the connection.
    pub cut_after: Option<usize>,
}

impl Reply {
    /// A JSON reply (`Content-Type: application/json;charset=UTF-8`).
    pub fn json(status: u16, body: Value) -> Self {
        Reply {
            status,
            headers: vec![(
                "content-type".to_owned(),
                "application/json;charset=UTF-8".to_owned(),
            )],
            body: body.to_string(),
            delay: None,
            cut_after: None,
        }
    }

    /// A reply with no body (e.g. Salesforce's `204 No Content`).
    pub fn empty(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
            delay: None,
            cut_after: None,
        }
    }

    /// Answers only after `delay`.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Closes the connection after `bytes` bytes of the body.
    pub fn cut_after(mut self, bytes: usize) -> Self {
        self.cut_after = Some(bytes);
        self
    }

    /// Replaces the body (e.g. with truncated JSON).
    pub fn body(mut self, body: &str) -> Self {
        self.body = body.to_owned();
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Which request a scripted reply answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The method.
    pub method: String,
    /// The decoded path (a raw `@` and `%40` both match `@`).
    pub path: String,
    /// A substring the decoded query must contain (e.g. `FROM Lead`).
    pub query_contains: Option<String>,
}

impl Expect {
    /// Matches `method` on the decoded `path`.
    pub fn new(method: &str, path: &str) -> Self {
        Expect {
            method: method.to_owned(),
            path: super::percent_decode(path),
            query_contains: None,
        }
    }

    /// Also requires a query parameter value containing `needle`.
    pub fn query_contains(mut self, needle: &str) -> Self {
        self.query_contains = Some(needle.to_owned());
        self
    }

    fn matches(&self, r: &Recorded) -> bool {
        self.method.eq_ignore_ascii_case(&r.method)
            && self.path == r.decoded_path()
            && self.query_contains.as_ref().is_none_or(|needle| {
                r.query_pairs()
                    .iter()
                    .any(|(_, v)| v.contains(needle.as_str()))
            })
    }
}

/// What answers the requests no scripted reply matches.
pub type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

#[derive(Default)]
struct MockState {
    requests: Vec<Recorded>,
    script: Vec<(Expect, Reply)>,
    handler: Option<Handler>,
}

impl std::fmt::Debug for MockState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockState")
            .field("requests", &self.requests)
            .field("script", &self.script)
            .field("handler", &self.handler.is_some())
            .finish()
    }
}

type Shared = Arc<Mutex<MockState>>;

fn lock(state: &Shared) -> MutexGuard<'_, MockState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running mock server.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl MockServer {
    /// Starts the server on `127.0.0.1` and a free port.
    pub async fn start() -> std::io::Result<MockServer> {
        Self::serve(None).await
    }

    /// Starts the server with `handler` answering every request that no
    /// scripted reply matches (e.g. a stateful fake CRM).
    pub async fn start_with(
        handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<MockServer> {
        Self::serve(Some(Arc::new(handler))).await
    }

    async fn serve(handler: Option<Handler>) -> std::io::Result<MockServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Shared::default();
        lock(&state).handler = handler;
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("mock server stopped: {e}");
            }
        });
        Ok(MockServer { addr, state, task })
    }

    /// `http://127.0.0.1:PORT`, to use as the adapter's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Scripts one reply.
    pub fn script(&self, expect: Expect, reply: Reply) {
        lock(&self.state).script.push((expect, reply));
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.state).requests.clone()
    }

    /// Every request received so far, clearing the log.
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut lock(&self.state).requests)
    }

    /// Scripted replies no request has used yet.
    pub fn unused(&self) -> Vec<Expect> {
        lock(&self.state)
            .script
            .iter()
            .map(|(e, _)| e.clone())
            .collect()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut recorded = Recorded {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        status: 0,
        reply_body: String::new(),
    };
    let (scripted, handler) = {
        let mut s = lock(&state);
        let scripted = s
            .script
            .iter()
            .position(|(e, _)| e.matches(&recorded))
            .map(|i| s.script.remove(i).1);
        (scripted, s.handler.clone())
    };
    let reply = match (scripted, handler) {
        (Some(reply), _) => reply,
        (None, Some(handler)) => handler(&recorded),
        (None, None) => Reply::json(
            UNSCRIPTED,
            json!({ "status": "error", "message": format!(
                "mock: no scripted reply for {} {}", recorded.method, recorded.path) }),
        ),
    };
    recorded.status = reply.status;
    recorded.reply_body = reply.body.clone();
    lock(&state).requests.push(recorded);

    if let Some(delay) = reply.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = match reply.cut_after {
        None => Response::new(Body::from(reply.body)),
        Some(n) => {
            let full = reply.body.len();
            let part = Bytes::from(reply.body.into_bytes()).slice(..n.min(full));
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(part),
                Err(std::io::Error::other("mock: connection closed mid-body")),
            ];
            let mut r = Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
            if let Ok(v) = HeaderValue::from_str(&full.to_string()) {
                r.headers_mut()
                    .insert(axum::http::header::CONTENT_LENGTH, v);
            }
            r
        }
    };
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &reply.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(n, v);
        }
    }
    response
}
