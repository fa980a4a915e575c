//! [`OAuthRefresh`]: an access token kept fresh with the OAuth 2.0
//! refresh-token flow.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use leadroute::crm::CrmError;
use leadroute_http::reqwest::{self, Method};
use leadroute_http::{BuildError, Effect, TokenProvider};
use serde_json::Value;

use crate::support::parse_errors;

/// A [`TokenProvider`] for a connected app: holds a refresh token and, when
/// Salesforce rejects the access token (`401 INVALID_SESSION_ID`), posts
/// `grant_type=refresh_token` to `{login_url}/services/oauth2/token` for a
/// new one (the OAuth 2.0 refresh token flow).
///
/// ```
/// use leadroute_salesforce::{OAuthRefresh, TokenProvider};
/// use leadroute_examples::mock::{Expect, MockServer, Reply};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let login = MockServer::start().await?; // stands in for https://login.salesforce.com
/// login.script(
///     Expect::new("POST", "/services/oauth2/token"),
///     Reply::json(200, json!({
///         "access_token": "00D…!fresh", "instance_url": "https://acme.my.salesforce.com",
///         "id": "https://login.salesforce.com/id/00D…/005…", "token_type": "Bearer",
///         "issued_at": "1700000000000", "signature": "…"
///     })),
/// );
/// let tokens = OAuthRefresh::new(login.base_url(), "client-id", "5Aep861…refresh")?
///     .client_secret("secret")
///     .access_token("00D…!expired");
/// assert_eq!(tokens.token().await?, "00D…!expired");
/// assert_eq!(tokens.refresh("00D…!expired").await?.as_deref(), Some("00D…!fresh"));
/// assert_eq!(tokens.token().await?, "00D…!fresh");
/// let sent = &login.requests()[0];
/// assert_eq!(sent.body, "grant_type=refresh_token&client_id=client-id&refresh_token=5Aep861%E2%80%A6refresh&client_secret=secret");
/// # Ok(()) }
/// ```
///
/// Without an initial access token, the first [`token`](TokenProvider::token)
/// call refreshes. Refreshes are one at a time: requests that meet an
/// expired token together wait for one refresh and use its token.
///
/// **Refresh token rotation.** A connected app with rotation on (Salesforce
/// recommends it) returns a new refresh token with each access token and
/// invalidates the old one; the provider uses the new one from then on.
/// Persist [`refresh_token`](Self::refresh_token) after a refresh if the
/// process may restart, or the next start will present a revoked token.
/// `Debug` shows no secret.
pub struct OAuthRefresh {
    http: reqwest::Client,
    token_url: String,
    client_id: String,
    client_secret: Option<String>,
    refresh_token: Mutex<String>,
    current: Mutex<Option<String>>,
    /// Held while a refresh is under way, so that concurrent requests do not
    /// each spend (and, with rotation, invalidate) the refresh token.
    refreshing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for OAuthRefresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthRefresh")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl OAuthRefresh {
    /// A provider that refreshes at `login_url` (`https://login.salesforce.com`,
    /// `https://test.salesforce.com` for a sandbox, or the org's My Domain
    /// URL) with the connected app's consumer key and a refresh token.
    pub fn new(
        login_url: impl AsRef<str>,
        client_id: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Result<Self, BuildError> {
        let base = leadroute_http::base_url(login_url.as_ref())?;
        Ok(OAuthRefresh {
            http: leadroute_http::client(Duration::from_secs(10), crate::USER_AGENT)?,
            token_url: format!("{base}/services/oauth2/token"),
            client_id: client_id.into(),
            client_secret: None,
            refresh_token: Mutex::new(refresh_token.into()),
            current: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    /// Sets the consumer secret (required unless the connected app allows
    /// the flow without one).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Starts with this access token (so the first request does not
    /// refresh).
    pub fn access_token(self, token: impl Into<String>) -> Self {
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.into());
        self
    }

    /// The refresh token in use: the one given to [`new`](Self::new), or
    /// the latest one Salesforce issued with an access token (rotation).
    pub fn refresh_token(&self) -> String {
        self.refresh_token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn current(&self) -> Option<String> {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Posts the refresh-token grant and stores the new access token.
    async fn fetch(&self) -> Result<String, CrmError> {
        let refresh_token = self.refresh_token();
        let mut form = vec![
            ("grant_type", "refresh_token"),
            ("client_id", self.client_id.as_str()),
            ("refresh_token", refresh_token.as_str()),
        ];
        if let Some(secret) = &self.client_secret {
            form.push(("client_secret", secret.as_str()));
        }
        let request = self.http.request(Method::POST, &self.token_url).form(&form);
        let response = leadroute_http::send(request, Effect::Read).await?;
        if !response.is_success() {
            let error = parse_errors(&response.body);
            let message = format!(
                "Salesforce token refresh failed (HTTP {}): {}",
                response.status,
                error.first().map_or_else(
                    || response.snippet(),
                    |e| format!("{} {}", e.code, e.message)
                )
            );
            // `invalid_grant`, `invalid_client`, …: retrying will not help.
            return Err(match response.status {
                400..=499 => CrmError::permanent(message),
                _ => leadroute_http::fallback_error(&response, message, SystemTime::now()),
            });
        }
        let body = response.json(Effect::Read)?;
        let token = body
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                CrmError::permanent("Salesforce token response without an access_token")
            })?
            .to_owned();
        // With rotation on, the old refresh token is already revoked.
        if let Some(rotated) = body
            .get("refresh_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            *self
                .refresh_token
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = rotated.to_owned();
        }
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
        Ok(token)
    }

    /// Refreshes unless, once this request's turn comes, the current token
    /// is no longer `stale` (another request refreshed meanwhile).
    async fn refresh_unless_done(&self, stale: Option<&str>) -> Result<String, CrmError> {
        let _turn = self.refreshing.lock().await;
        match self.current() {
            Some(token) if Some(token.as_str()) != stale => Ok(token),
            _ => self.fetch().await,
        }
    }
}

impl TokenProvider for OAuthRefresh {
    async fn token(&self) -> Result<String, CrmError> {
        match self.current() {
            Some(token) => Ok(token),
            None => self.refresh_unless_done(None).await,
        }
    }

    async fn refresh(&self, rejected: &str) -> Result<Option<String>, CrmError> {
        match self.current() {
            // Another request refreshed already.
            Some(token) if token != rejected => Ok(Some(token)),
            _ => self.refresh_unless_done(Some(rejected)).await.map(Some),
        }
    }
}
