//! HTTP plumbing shared by leadroute's CRM adapters
//! ([`leadroute-hubspot`](https://docs.rs/leadroute-hubspot) and
//! [`leadroute-salesforce`](https://docs.rs/leadroute-salesforce)), in one place:
//!
//! - [`client`]: a reqwest client over rustls with the `ring` provider
//!   (installed once), JSON `Accept`, a user agent and timeouts;
//! - [`send`] and [`HttpResponse`]: one request, its status, headers and
//!   body read in full, with transport failures already classified as
//!   [`CrmError`]s — and a failure after a *write* was sent classified as
//!   [`CrmError::UnknownOutcome`], because the CRM may have applied it;
//! - [`HttpResponse::retry_after`]: `Retry-After` in both of its forms,
//!   delta-seconds and HTTP-date;
//! - [`fallback_error`]: the status-based part of response classification
//!   both vendors share (each adapter reads its own error body first);
//! - [`TokenProvider`] and [`StaticToken`]: where an adapter gets its access
//!   token, and how a 401 gets a fresh one ([`send_authorized`]).
//!
//! Depend on an adapter crate rather than on this one: it has no stability
//! promise of its own.
//!
//! ```
//! use leadroute_http::{StaticToken, TokenProvider};
//!
//! let token = StaticToken::new("pat-na1-…");
//! assert_eq!(pollster::block_on(token.token()).unwrap(), "pat-na1-…");
//! // A static token has nothing to refresh: a 401 stays a 401.
//! assert_eq!(pollster::block_on(token.refresh("pat-na1-…")).unwrap(), None);
//! assert_eq!(format!("{token:?}"), "StaticToken(***)");
//! ```
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
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime};

use leadroute::crm::CrmError;
use leadroute::{Policy, RouteDecision};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use serde_json::Value;

pub use reqwest;

static RUSTLS_PROVIDER: Once = Once::new();

/// Why an adapter could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The base URL is not an absolute `http(s)://` URL.
    #[error("invalid base URL `{url}`: {reason}")]
    BaseUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// An HTTPS client for a CRM API: rustls with the `ring` provider, `Accept:
/// application/json`, `user_agent`, a connect timeout of at most 5 s and a
/// whole-request `timeout`.
///
/// ```
/// let client = leadroute_http::client(std::time::Duration::from_secs(10), "my-service/1.0");
/// assert!(client.is_ok());
/// ```
pub fn client(timeout: Duration, user_agent: &str) -> Result<reqwest::Client, BuildError> {
    RUSTLS_PROVIDER.call_once(|| {
        // Fails only if another provider was installed first, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    reqwest::Client::builder()
        .user_agent(user_agent)
        .default_headers(headers)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .build()
        .map_err(|e| BuildError::Client(chain(&e)))
}

/// Checks that `url` is an absolute `http://` or `https://` URL and returns
/// it without a trailing `/`.
///
/// ```
/// assert_eq!(leadroute_http::base_url("https://api.hubapi.com/").unwrap(), "https://api.hubapi.com");
/// assert!(leadroute_http::base_url("api.hubapi.com").is_err());
/// ```
pub fn base_url(url: &str) -> Result<String, BuildError> {
    let err = |reason: &str| BuildError::BaseUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| err(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(err("the scheme must be http or https"));
    }
    if parsed.host_str().is_none() {
        return Err(err("no host"));
    }
    Ok(url.trim().trim_end_matches('/').to_owned())
}

/// Whether a request only reads or may change the CRM: decides how a
/// failure after the request was sent is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Effect {
    /// A lookup: a failure is [`CrmError::Transient`].
    Read,
    /// A create or update: a failure after the request may have reached the
    /// CRM is [`CrmError::UnknownOutcome`] (retry only idempotently).
    Write,
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
    /// A response (for tests and for adapters that build one by hand).
    pub fn new(status: u16, headers: HeaderMap, body: impl Into<String>) -> Self {
        HttpResponse {
            status,
            headers,
            body: body.into(),
        }
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// A response header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body of a **2xx** response as JSON. A body that is not JSON (a
    /// truncated or garbled response) is [`CrmError::Transient`] for a read
    /// and [`CrmError::UnknownOutcome`] for a write: the CRM said it
    /// succeeded, so the record may well exist.
    ///
    /// ```
    /// use leadroute_http::{Effect, HttpResponse};
    /// let r = HttpResponse::new(201, Default::default(), r#"{"id": "4"#);
    /// assert_eq!(r.json(Effect::Write).unwrap_err().class(), "unknown_outcome");
    /// assert_eq!(r.json(Effect::Read).unwrap_err().class(), "transient");
    /// ```
    pub fn json(&self, effect: Effect) -> Result<Value, CrmError> {
        serde_json::from_str(&self.body).map_err(|e| {
            let message = format!(
                "unreadable response body (HTTP {}, {e}): {}",
                self.status,
                self.snippet()
            );
            match effect {
                Effect::Read => CrmError::transient(message),
                Effect::Write => CrmError::unknown_outcome(message),
            }
        })
    }

    /// The `Retry-After` header as a wait from `now`: delta-seconds (`120`,
    /// fractions accepted) or an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`,
    /// and the obsolete RFC 850 and asctime forms), a date in the past being
    /// zero. `None` when absent or unreadable.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use leadroute_http::HttpResponse;
    /// use leadroute_http::reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
    ///
    /// let with = |v: &str| {
    ///     let mut h = HeaderMap::new();
    ///     h.insert(RETRY_AFTER, HeaderValue::from_str(v).unwrap());
    ///     HttpResponse::new(503, h, "")
    /// };
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21 07:28:00 UTC
    /// assert_eq!(with("120").retry_after(now), Some(Duration::from_secs(120)));
    /// assert_eq!(with("Wed, 21 Oct 2015 07:30:00 GMT").retry_after(now), Some(Duration::from_secs(120)));
    /// assert_eq!(with("Wed, 21 Oct 2015 07:00:00 GMT").retry_after(now), Some(Duration::ZERO));
    /// assert_eq!(with("soon").retry_after(now), None);
    /// ```
    pub fn retry_after(&self, now: SystemTime) -> Option<Duration> {
        parse_retry_after(self.header("retry-after")?, now)
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

/// A `Retry-After` value as a wait from `now` (see
/// [`HttpResponse::retry_after`]).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Some(d) = value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
    {
        return Some(d);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Sends a request and reads the whole response. Any HTTP status is `Ok`:
/// the caller classifies it. Transport failures are classified by
/// [`transport_error`].
pub async fn send(
    request: reqwest::RequestBuilder,
    effect: Effect,
) -> Result<HttpResponse, CrmError> {
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(e, effect))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    // The status arrived: for a write, the CRM has processed the request
    // even if its body is cut off now.
    let body = response.text().await.map_err(|e| {
        let e = e.without_url();
        let message = format!("the response was cut off (HTTP {status}): {}", chain(&e));
        match effect {
            Effect::Write if (200..300).contains(&status) => CrmError::unknown_outcome(message),
            _ => CrmError::transient(message),
        }
    })?;
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

/// Classifies a reqwest error. The URL is left out of the message: it may
/// hold the lead's email or a SOQL query, and messages end up in events and
/// retry queues.
///
/// - a request that could not be built: [`CrmError::Permanent`];
/// - a connection that could not be made (nothing was sent):
///   [`CrmError::Transient`];
/// - anything else (a timeout, a reset): `Transient` for a read,
///   [`CrmError::UnknownOutcome`] for a write.
pub fn transport_error(e: reqwest::Error, effect: Effect) -> CrmError {
    let e = e.without_url();
    if e.is_builder() {
        return CrmError::permanent(format!("invalid request: {}", chain(&e)));
    }
    if e.is_connect() {
        return CrmError::transient(format!("cannot connect to the CRM: {}", chain(&e)));
    }
    let what = if e.is_timeout() {
        "the CRM did not answer in time"
    } else {
        "transport error"
    };
    let message = format!("{what}: {}", chain(&e));
    match effect {
        Effect::Read => CrmError::transient(message),
        Effect::Write => CrmError::unknown_outcome(format!(
            "{message} (the write may or may not have been applied)"
        )),
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
/// vendor-specific error codes:
///
/// - 429: [`CrmError::RateLimited`], waiting `Retry-After` when sent;
/// - 408, 425 and 5xx: [`CrmError::Transient`] — or `RateLimited` when the
///   response says when to come back (`Retry-After`, e.g. a 503 during
///   maintenance), so the wait is honoured;
/// - everything else, including 401 and 403: [`CrmError::Permanent`].
///
/// ```
/// use std::time::SystemTime;
/// use leadroute_http::{HttpResponse, fallback_error};
/// let r = HttpResponse::new(502, Default::default(), "<html>Bad Gateway</html>");
/// assert_eq!(fallback_error(&r, "HTTP 502".into(), SystemTime::now()).class(), "transient");
/// ```
pub fn fallback_error(response: &HttpResponse, message: String, now: SystemTime) -> CrmError {
    let retry_after = response.retry_after(now);
    match response.status {
        429 => CrmError::rate_limited(message, retry_after),
        408 | 425 | 500..=599 => match retry_after {
            Some(wait) => CrmError::rate_limited(message, Some(wait)),
            None => CrmError::transient(message),
        },
        _ => CrmError::permanent(message),
    }
}

/// Where an adapter gets its access token, and how it gets a fresh one
/// when the API rejects the current one.
///
/// [`StaticToken`] is a token fixed at construction (a HubSpot private-app
/// token); implement the trait for tokens that expire (OAuth), rotate or
/// live in a secret store. The futures must be `Send`; an implementation
/// shared by several adapters can be passed as an `Arc`.
///
/// ```
/// use std::sync::Mutex;
/// use leadroute::crm::CrmError;
/// use leadroute_http::TokenProvider;
///
/// /// Reads the token from a store that an operator rotates.
/// struct Rotating(Mutex<Vec<&'static str>>);
///
/// impl TokenProvider for Rotating {
///     async fn token(&self) -> Result<String, CrmError> {
///         let tokens = self.0.lock().unwrap();
///         tokens.last().map(|t| t.to_string()).ok_or_else(|| CrmError::permanent("no token"))
///     }
///     async fn refresh(&self, rejected: &str) -> Result<Option<String>, CrmError> {
///         let mut tokens = self.0.lock().unwrap();
///         if tokens.last() == Some(&rejected) {
///             tokens.pop();
///         }
///         Ok(tokens.last().map(|t| t.to_string()))
///     }
/// }
///
/// let p = Rotating(Mutex::new(vec!["new", "old"]));
/// assert_eq!(pollster::block_on(p.token()).unwrap(), "old");
/// assert_eq!(pollster::block_on(p.refresh("old")).unwrap().as_deref(), Some("new"));
/// ```
pub trait TokenProvider: Send + Sync {
    /// The access token to send now.
    fn token(&self) -> impl Future<Output = Result<String, CrmError>> + Send;

    /// The API answered 401 to a request sent with `rejected`: return the
    /// token to retry that request with (once), or `None` when there is
    /// nothing fresher (the 401 then stands). If another request already
    /// refreshed it, return the newer token without refreshing again.
    fn refresh(
        &self,
        rejected: &str,
    ) -> impl Future<Output = Result<Option<String>, CrmError>> + Send {
        let _ = rejected;
        std::future::ready(Ok(None))
    }
}

impl<T: TokenProvider + ?Sized> TokenProvider for Arc<T> {
    fn token(&self) -> impl Future<Output = Result<String, CrmError>> + Send {
        (**self).token()
    }

    fn refresh(
        &self,
        rejected: &str,
    ) -> impl Future<Output = Result<Option<String>, CrmError>> + Send {
        (**self).refresh(rejected)
    }
}

/// A token fixed at construction (its `Debug` does not show it).
#[derive(Clone, PartialEq, Eq)]
pub struct StaticToken(String);

impl StaticToken {
    /// A static token.
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken(token.into())
    }
}

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(***)")
    }
}

impl TokenProvider for StaticToken {
    fn token(&self) -> impl Future<Output = Result<String, CrmError>> + Send {
        std::future::ready(Ok(self.0.clone()))
    }
}

/// Sends the request `build` makes with the provider's token as `Bearer`;
/// when the answer is a 401 that `rejects_token` recognizes, asks the
/// provider for a fresh token and sends the request once more with it.
pub async fn send_authorized<T, B, R>(
    tokens: &T,
    build: B,
    rejects_token: R,
    effect: Effect,
) -> Result<HttpResponse, CrmError>
where
    T: TokenProvider + ?Sized,
    B: Fn() -> reqwest::RequestBuilder,
    R: Fn(&HttpResponse) -> bool,
{
    let token = tokens.token().await?;
    let response = send(build().bearer_auth(&token), effect).await?;
    if response.status != 401 || !rejects_token(&response) {
        return Ok(response);
    }
    match tokens.refresh(&token).await? {
        Some(fresh) if fresh != token => send(build().bearer_auth(&fresh), effect).await,
        _ => Ok(response),
    }
}

/// `s` cut to at most `max` characters (an ellipsis marks the cut).
///
/// ```
/// assert_eq!(leadroute_http::truncate_chars("abcdef", 3), "abc…");
/// ```
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
///
/// ```
/// assert_eq!(leadroute_http::clip_chars("Müller", 3), "Mül");
/// ```
pub fn clip_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Percent-encodes one URL path segment: everything but the RFC 3986
/// unreserved characters (`A-Z a-z 0-9 - . _ ~`), so no value can add a path
/// segment or a query.
///
/// ```
/// assert_eq!(leadroute_http::path_segment("jane@acme.com"), "jane%40acme.com");
/// assert_eq!(leadroute_http::path_segment("a/../b?x"), "a%2F..%2Fb%3Fx");
/// ```
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

/// CRM owner id → policy owner id, from each policy owner's `crm_ids[crm]`
/// (e.g. `crm_ids["hubspot"] = "9001"` maps `9001` to `ana`).
pub fn crm_owner_map(policy: &Policy, crm: &str) -> HashMap<String, String> {
    policy
        .owners()
        .filter_map(|o| Some((o.crm_id(crm)?.to_owned(), o.id.to_owned())))
        .collect()
}

/// The routing rule to record: the rule id, or `fallback`.
pub fn rule_label(decision: &RouteDecision) -> String {
    match (&decision.rule, decision.fallback) {
        (Some(rule), _) => rule.to_string(),
        (None, true) => "fallback".to_owned(),
        (None, false) => "none".to_owned(),
    }
}

/// `policy_name@version`, as recorded in the CRM.
pub fn policy_label(decision: &RouteDecision) -> String {
    format!("{}@{}", decision.policy_name, decision.policy_version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_every_form() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            parse_retry_after("1.5", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:28:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed Oct 21 07:28:05 2015", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_retry_after("-1", now), None);
    }
}
