//! Per-client rate limiting: a keyed GCRA limiter (`governor`) behind a
//! small axum layer that answers `429` with `Retry-After` in the service's
//! JSON error shape.
//!
//! Why `governor` directly rather than `tower_governor`: the limiter is the
//! standard, maintained one either way (`tower_governor` wraps it); the
//! few lines here choose the client key explicitly (the peer address, or
//! the last `X-Forwarded-For` hop only when told a proxy sets it — trusting
//! that header otherwise lets every bot pick its own key), round
//! `Retry-After` up to whole seconds as HTTP requires, and keep the error
//! body the same JSON as every other error of the service.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;

/// Past this many tracked clients, forget those whose limit has fully
/// replenished (they are indistinguishable from new ones).
const SHRINK_AT: usize = 50_000;

/// A per-client limiter.
#[derive(Debug)]
pub struct ClientLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    trust_forwarded_for: bool,
}

impl ClientLimiter {
    /// `per_minute` requests per client per minute, `burst` of them at once.
    pub fn new(per_minute: u32, burst: u32, trust_forwarded_for: bool) -> Self {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        ClientLimiter {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
            trust_forwarded_for,
        }
    }

    /// The client a request counts against: the last `X-Forwarded-For`
    /// address when trusted, else the peer address (unspecified when the
    /// server runs without connection info).
    pub fn client(&self, req: &Request) -> IpAddr {
        if self.trust_forwarded_for {
            let forwarded = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok());
            if let Some(ip) = forwarded {
                return ip;
            }
        }
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
    }

    /// Takes one request from `client`'s allowance, or says how long until
    /// it has one.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        if self.limiter.len() > SHRINK_AT {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }
}

/// The layer's function: `429` with `Retry-After` when the client is over
/// its limit, else the route.
pub async fn limit(
    State(limiter): State<Arc<ClientLimiter>>,
    req: Request,
    next: Next,
) -> Response {
    let client = limiter.client(&req);
    match limiter.check(client) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            // Whole seconds, rounded up: never tell a client to come back early.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let secs = secs.max(1);
            tracing::warn!(%client, retry_after_s = secs, "rate limited");
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({ "errors": [{ "field": "payload", "code": "rate_limited",
                    "message": format!("too many submissions from this client; try again in {secs} s") }] })),
            )
                .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(RETRY_AFTER, v);
            }
            response
        }
    }
}
