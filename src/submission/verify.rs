//! The [`Verifier`] adapter: how a CAPTCHA-style token (Cloudflare
//! Turnstile, hCaptcha, reCAPTCHA, your own proof-of-work) is checked. You
//! implement it; the router calls it within a time budget, and whatever
//! happens becomes a [`Verification`](super::Verification) — never a
//! refused submission.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::lead::model::Lead;

/// What the verifier said about a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// The token is valid.
    Passed,
    /// The token is invalid, expired or reused.
    Failed {
        /// The provider's reason (`"timeout-or-duplicate"`), if any.
        reason: Option<String>,
    },
}

/// The verifier could not give a verdict (the provider is down, answered
/// garbage, refused our key). The router turns this into the
/// `verification_unavailable` signal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("verification unavailable: {message}")]
#[non_exhaustive]
pub struct VerifyError {
    /// What went wrong.
    pub message: String,
}

impl VerifyError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        VerifyError {
            message: message.into(),
        }
    }
}

/// Checks a submission's verification token: your adapter to a CAPTCHA
/// provider's "siteverify" endpoint. The core never calls out; the
/// [`LeadRouter`](crate::LeadRouter) runs this within its verification
/// budget (see `with_verifier`).
///
/// ```
/// use leadroute::Lead;
/// use leadroute::submission::{Verdict, Verifier, VerifyError};
///
/// /// Accepts one fixed token (a test double; a real one posts to the provider).
/// struct Fixed(&'static str);
///
/// impl Verifier for Fixed {
///     async fn verify(&self, token: &str, _lead: &Lead) -> Result<Verdict, VerifyError> {
///         Ok(if token == self.0 { Verdict::Passed } else { Verdict::Failed { reason: Some("invalid-input-response".into()) } })
///     }
/// }
/// let lead = leadroute::Normalizer::default().normalize_json(r#"{"email": "jane@acme.com"}"#)?.lead;
/// assert_eq!(pollster::block_on(Fixed("ok").verify("ok", &lead)), Ok(Verdict::Passed));
/// # Ok::<(), leadroute::lead::NormalizeError>(())
/// ```
pub trait Verifier: Send + Sync {
    /// Verifies `token`, submitted with `lead`.
    fn verify(
        &self,
        token: &str,
        lead: &Lead,
    ) -> impl Future<Output = Result<Verdict, VerifyError>> + Send;
}

impl<T: Verifier + ?Sized> Verifier for std::sync::Arc<T> {
    fn verify(
        &self,
        token: &str,
        lead: &Lead,
    ) -> impl Future<Output = Result<Verdict, VerifyError>> + Send {
        (**self).verify(token, lead)
    }
}
