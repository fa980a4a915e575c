//! [`Weights`]: what each signal adds to a submission's score.

use serde::{Deserialize, Serialize};

use super::signal::SignalKind;

/// The highest weight one signal may have.
pub const MAX_WEIGHT: u32 = 1_000;

/// What each signal adds to a submission's score, from 0 (observed and
/// reported, but weightless) to [`MAX_WEIGHT`].
///
/// The defaults are chosen against the [recommended rules](super::recommended_rules)
/// (review at 40, reject at 100): only a signal no person can trip by
/// accident — a filled honeypot, a caller-listed domain — rejects on its
/// own; every signal a real lead can trip stays below the review line
/// alone or just reaches it, so a person is never rejected for one slip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Weights {
    /// `honeypot`. Default 100.
    pub honeypot: u32,
    /// `too_fast`. Default 60.
    pub too_fast: u32,
    /// `link_stuffed`. Default 50.
    pub link_stuffed: u32,
    /// `script_like`. Default 60.
    pub script_like: u32,
    /// `placeholder_name`. Default 20.
    pub placeholder_name: u32,
    /// `keyboard_mash`. Default 30.
    pub keyboard_mash: u32,
    /// `company_is_email_or_url`. Default 20.
    pub company_is_email_or_url: u32,
    /// `disposable_email`. Default 40.
    pub disposable_email: u32,
    /// `known_bad_domain`. Default 100.
    pub known_bad_domain: u32,
    /// `repeated_submission`. Default 40.
    pub repeated_submission: u32,
    /// `unverified`. Default 30.
    pub unverified: u32,
    /// `verification_failed`. Default 60.
    pub verification_failed: u32,
    /// `verification_unavailable`. Default 0: the verifier's outage is
    /// not the buyer's fault.
    pub verification_unavailable: u32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            honeypot: 100,
            too_fast: 60,
            link_stuffed: 50,
            script_like: 60,
            placeholder_name: 20,
            keyboard_mash: 30,
            company_is_email_or_url: 20,
            disposable_email: 40,
            known_bad_domain: 100,
            repeated_submission: 40,
            unverified: 30,
            verification_failed: 60,
            verification_unavailable: 0,
        }
    }
}

impl Weights {
    /// The weight of `kind`.
    pub fn of(&self, kind: SignalKind) -> u32 {
        match kind {
            SignalKind::Honeypot => self.honeypot,
            SignalKind::TooFast => self.too_fast,
            SignalKind::LinkStuffed => self.link_stuffed,
            SignalKind::ScriptLike => self.script_like,
            SignalKind::PlaceholderName => self.placeholder_name,
            SignalKind::KeyboardMash => self.keyboard_mash,
            SignalKind::CompanyIsEmailOrUrl => self.company_is_email_or_url,
            SignalKind::DisposableEmail => self.disposable_email,
            SignalKind::KnownBadDomain => self.known_bad_domain,
            SignalKind::RepeatedSubmission => self.repeated_submission,
            SignalKind::Unverified => self.unverified,
            SignalKind::VerificationFailed => self.verification_failed,
            SignalKind::VerificationUnavailable => self.verification_unavailable,
        }
    }
}
