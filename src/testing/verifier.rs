//! [`FakeVerifier`]: a [`Verifier`] that accepts the tokens you name, with
//! fault injection (fail, hang, delay), counting its calls.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};
use crate::lead::model::Lead;
use crate::submission::verify::{Verdict, Verifier, VerifyError};

/// What an injected verifier fault does to one call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifierFault {
    /// Return this error (the provider is down).
    Fail(VerifyError),
    /// Never answer; only the router's verification budget ends the call.
    Hang,
    /// Answer normally after this long (real time).
    Delay(Duration),
}

#[derive(Debug, Default)]
struct State {
    valid: HashSet<String>,
    faults: VecDeque<VerifierFault>,
    calls: Vec<String>,
}

/// A verifier that accepts the tokens you name and rejects every other
/// one (reason `"invalid-input-response"`, as providers say), with faults
/// you inject for the next calls.
///
/// ```
/// use leadroute::submission::{Verdict, Verifier};
/// use leadroute::testing::FakeVerifier;
///
/// let v = FakeVerifier::accepting(["good"]);
/// let lead = leadroute::Normalizer::default().normalize_json(r#"{"email": "jane@acme.com"}"#)?.lead;
/// assert_eq!(pollster::block_on(v.verify("good", &lead)), Ok(Verdict::Passed));
/// assert!(matches!(pollster::block_on(v.verify("bad", &lead)), Ok(Verdict::Failed { .. })));
/// assert_eq!(v.calls(), ["good", "bad"]);
/// # Ok::<(), leadroute::lead::NormalizeError>(())
/// ```
#[derive(Debug, Default)]
pub struct FakeVerifier {
    state: Mutex<State>,
}

impl FakeVerifier {
    /// A verifier accepting these tokens.
    pub fn accepting<I: IntoIterator<Item = S>, S: Into<String>>(tokens: I) -> Self {
        let v = FakeVerifier::default();
        v.lock().valid = tokens.into_iter().map(Into::into).collect();
        v
    }

    /// The next call fails with `message`.
    pub fn fail_next(&self, message: &str) {
        self.inject(VerifierFault::Fail(VerifyError::new(message)));
    }

    /// The next call never answers.
    pub fn hang_next(&self) {
        self.inject(VerifierFault::Hang);
    }

    /// The next call answers after `by` (real time).
    pub fn delay_next(&self, by: Duration) {
        self.inject(VerifierFault::Delay(by));
    }

    /// Queues a fault for the next call without one.
    pub fn inject(&self, fault: VerifierFault) {
        self.lock().faults.push_back(fault);
    }

    /// The tokens it was asked about, in order.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Verifier for FakeVerifier {
    fn verify(
        &self,
        token: &str,
        _lead: &Lead,
    ) -> impl Future<Output = Result<Verdict, VerifyError>> + Send {
        let (fault, valid) = {
            let mut s = self.lock();
            s.calls.push(token.to_owned());
            (s.faults.pop_front(), s.valid.contains(token))
        };
        async move {
            match fault {
                Some(VerifierFault::Fail(e)) => return Err(e),
                Some(VerifierFault::Hang) => std::future::pending::<()>().await,
                Some(VerifierFault::Delay(d)) => SystemClock.sleep(d).await,
                None => {}
            }
            Ok(if valid {
                Verdict::Passed
            } else {
                Verdict::Failed {
                    reason: Some("invalid-input-response".into()),
                }
            })
        }
    }
}
