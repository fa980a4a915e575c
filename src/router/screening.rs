//! The router's screening step: the [`Screen`], the caller's [`Verifier`]
//! behind a time budget, and how a verifier's answer (or silence) becomes
//! a [`Verification`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, within};
use crate::lead::model::Lead;
use crate::submission::screen::{Screen, Submission, Verification};
use crate::submission::verify::{Verdict, Verifier, VerifyError};

/// The longest token passed to a verifier (providers' tokens are at most a
/// few KiB); a longer one fails verification without a call.
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

type VerifyFuture<'a> = Pin<Box<dyn Future<Output = Result<Verdict, VerifyError>> + Send + 'a>>;

/// A [`Verifier`] behind a pointer, so the router needs no type parameter
/// for it (one boxed future per verification, next to a network call).
pub(crate) trait DynVerifier: Send + Sync {
    fn verify_boxed<'a>(&'a self, token: &'a str, lead: &'a Lead) -> VerifyFuture<'a>;
}

impl<V: Verifier> DynVerifier for V {
    fn verify_boxed<'a>(&'a self, token: &'a str, lead: &'a Lead) -> VerifyFuture<'a> {
        Box::pin(self.verify(token, lead))
    }
}

/// What the router screens with: nothing by default.
#[derive(Clone)]
pub(crate) struct Screening {
    pub(crate) screen: Option<Arc<Screen>>,
    pub(crate) verifier: Option<Arc<dyn DynVerifier>>,
    pub(crate) budget: Duration,
}

impl std::fmt::Debug for Screening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Screening")
            .field("screen", &self.screen.is_some())
            .field("verifier", &self.verifier.is_some())
            .field("budget", &self.budget)
            .finish()
    }
}

impl Screening {
    pub(crate) fn new(budget: Duration) -> Self {
        Screening {
            screen: None,
            verifier: None,
            budget,
        }
    }

    /// Asks the verifier about the submission's token, within the budget.
    /// Never fails: an error or silence is `unavailable`.
    pub(crate) async fn verify<K: Clock>(
        &self,
        clock: &K,
        lead: &Lead,
        submission: &Submission,
    ) -> Verification {
        let (Some(screen), Some(verifier)) = (&self.screen, &self.verifier) else {
            return Verification::NotConfigured;
        };
        let Some(token) = screen.token(lead, submission) else {
            return Verification::Missing;
        };
        if token.len() > MAX_TOKEN_BYTES {
            return Verification::Failed {
                reason: Some(format!(
                    "the token is {} bytes, longer than any provider's ({MAX_TOKEN_BYTES})",
                    token.len()
                )),
            };
        }
        match within(clock, self.budget, verifier.verify_boxed(token, lead)).await {
            Some(Ok(Verdict::Passed)) => Verification::Passed,
            Some(Ok(Verdict::Failed { reason })) => Verification::Failed { reason },
            Some(Err(e)) => Verification::Unavailable { reason: e.message },
            None => Verification::Unavailable {
                reason: format!(
                    "the verifier did not answer within its budget ({} ms)",
                    self.budget.as_millis()
                ),
            },
        }
    }
}
