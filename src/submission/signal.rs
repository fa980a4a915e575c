//! The signal vocabulary: [`SignalKind`], one fired [`Signal`] with its
//! observed value, and a submission's [`Signals`] with their combined score.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::lead::issue::shorten_to;

/// The characters of an observed text a [`Signal`] keeps (a longer one is
/// cut there and marked with `…`).
pub const OBSERVED_LIMIT: usize = 80;

/// A named fact about how a submission was made, as opposed to what it says.
///
/// JSON: the snake_case name (`"honeypot"`, `"too_fast"`, …). The rule each
/// one follows, and how a real lead can trip it, is on the
/// [module page](super).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SignalKind {
    /// A honeypot field (hidden from people) has a value.
    Honeypot,
    /// The form was submitted sooner after it was started than a person can
    /// fill it in.
    TooFast,
    /// A link in a name field, or more links in a message field than the
    /// configured limit.
    LinkStuffed,
    /// Markup, script or injection syntax in a name, company or message field.
    ScriptLike,
    /// A placeholder as a name (`test`, `asdf`, `John Doe`, `n/a`).
    PlaceholderName,
    /// A keyboard mash as a name or company (`asdfgh`, `sdfsdf`, `xxxxx`).
    KeyboardMash,
    /// The company field holds an email address or a URL.
    CompanyIsEmailOrUrl,
    /// The email is at a disposable mailbox provider (the normalizer's
    /// `email_kind`).
    DisposableEmail,
    /// The email or company domain is on the caller's known-bad list.
    KnownBadDomain,
    /// The same email was submitted more often than the limit within the
    /// window (replays of this very submission excluded).
    RepeatedSubmission,
    /// A verifier is configured but the submission carried no token.
    Unverified,
    /// The verifier rejected the submission's token.
    VerificationFailed,
    /// The verifier could not be asked (it failed or ran out of its time
    /// budget): the submission is routed unverified rather than refused.
    VerificationUnavailable,
}

impl SignalKind {
    /// Every signal, in the order they are evaluated and reported.
    pub const ALL: [SignalKind; 13] = [
        SignalKind::Honeypot,
        SignalKind::TooFast,
        SignalKind::LinkStuffed,
        SignalKind::ScriptLike,
        SignalKind::PlaceholderName,
        SignalKind::KeyboardMash,
        SignalKind::CompanyIsEmailOrUrl,
        SignalKind::DisposableEmail,
        SignalKind::KnownBadDomain,
        SignalKind::RepeatedSubmission,
        SignalKind::Unverified,
        SignalKind::VerificationFailed,
        SignalKind::VerificationUnavailable,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Honeypot => "honeypot",
            SignalKind::TooFast => "too_fast",
            SignalKind::LinkStuffed => "link_stuffed",
            SignalKind::ScriptLike => "script_like",
            SignalKind::PlaceholderName => "placeholder_name",
            SignalKind::KeyboardMash => "keyboard_mash",
            SignalKind::CompanyIsEmailOrUrl => "company_is_email_or_url",
            SignalKind::DisposableEmail => "disposable_email",
            SignalKind::KnownBadDomain => "known_bad_domain",
            SignalKind::RepeatedSubmission => "repeated_submission",
            SignalKind::Unverified => "unverified",
            SignalKind::VerificationFailed => "verification_failed",
            SignalKind::VerificationUnavailable => "verification_unavailable",
        }
    }

    /// This signal's bit in a [`SignalSet`].
    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of signal kinds, as a bitset (`Copy`, no allocation).
///
/// JSON: an array of names, in [`SignalKind::ALL`] order.
///
/// ```
/// use leadroute::submission::{SignalKind, SignalSet};
///
/// let set: SignalSet = [SignalKind::TooFast, SignalKind::Honeypot].into_iter().collect();
/// assert!(set.contains(SignalKind::Honeypot));
/// assert_eq!(serde_json::to_string(&set).unwrap(), r#"["honeypot","too_fast"]"#);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SignalSet(u32);

impl SignalSet {
    /// The empty set.
    pub const fn new() -> Self {
        SignalSet(0)
    }
    /// Adds a kind.
    pub fn insert(&mut self, kind: SignalKind) {
        self.0 |= kind.bit();
    }
    /// Whether the set holds `kind`.
    pub fn contains(self, kind: SignalKind) -> bool {
        self.0 & kind.bit() != 0
    }
    /// Whether the two sets share a kind.
    pub fn intersects(self, other: SignalSet) -> bool {
        self.0 & other.0 != 0
    }
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
    /// The number of kinds in the set.
    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }
    /// The kinds, in [`SignalKind::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = SignalKind> {
        SignalKind::ALL
            .into_iter()
            .filter(move |k| self.contains(*k))
    }
    /// The kinds of `self` that are also in `other`.
    pub fn intersection(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 & other.0)
    }
}

impl FromIterator<SignalKind> for SignalSet {
    fn from_iter<I: IntoIterator<Item = SignalKind>>(iter: I) -> Self {
        let mut set = SignalSet::new();
        for k in iter {
            set.insert(k);
        }
        set
    }
}

impl fmt::Debug for SignalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for SignalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(k.as_str())?;
        }
        Ok(())
    }
}

impl Serialize for SignalSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for SignalSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<SignalKind>::deserialize(d)?.into_iter().collect())
    }
}

/// One fired signal: what fired, where, what was seen, and what it adds to
/// the score.
///
/// JSON: `{"kind": "too_fast", "field": "form_started", "observed": "1.2 s
/// after the form was started (minimum 3 s)", "weight": 60}`; `field` is
/// `null` for a signal about the whole submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Signal {
    /// Which signal.
    pub kind: SignalKind,
    /// The form field it was seen in (`first_name`, `message`, the honeypot
    /// field's name…), if it is about one field.
    pub field: Option<String>,
    /// What was observed: at most its first [`OBSERVED_LIMIT`] characters,
    /// then `…` where it was cut.
    pub observed: String,
    /// What it adds to the score: its [`Weights`](super::Weights) entry,
    /// except where the screen counts two signals as one finding (see
    /// "One paste, one finding" on the [module page](super)).
    pub weight: u32,
}

impl Signal {
    /// A signal with its observed text (shortened).
    pub fn new(kind: SignalKind, field: Option<&str>, observed: &str, weight: u32) -> Self {
        Signal {
            kind,
            field: field.map(str::to_owned),
            observed: shorten_to(observed, OBSERVED_LIMIT),
            weight,
        }
    }
}

/// What screening found about one submission: the fired signals, in
/// [`SignalKind::ALL`] order, and their combined score (the sum of their
/// weights, saturating).
///
/// JSON: `{"score": 160, "signals": [Signal, …]}`. Reading it back
/// recomputes the score from the signals' weights.
///
/// ```
/// use leadroute::submission::{Signal, SignalKind, Signals};
///
/// let signals = Signals::from_signals(vec![
///     Signal::new(SignalKind::Honeypot, Some("fax_number"), "555-0100", 100),
///     Signal::new(SignalKind::TooFast, Some("form_started"), "0.4 s", 60),
/// ]);
/// assert_eq!(signals.score, 160);
/// assert!(signals.fired(SignalKind::Honeypot));
/// assert_eq!(signals.kinds().to_string(), "honeypot, too_fast");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawSignals")]
#[non_exhaustive]
pub struct Signals {
    /// The sum of the fired signals' weights.
    pub score: u32,
    /// The fired signals.
    pub signals: Vec<Signal>,
    /// The fired kinds (derived from `signals`).
    #[serde(skip)]
    kinds: SignalSet,
}

/// What a [`Signals`] reads from: the signals only (the rest is derived).
#[derive(Deserialize)]
struct RawSignals {
    #[serde(default)]
    signals: Vec<Signal>,
}

impl From<RawSignals> for Signals {
    fn from(raw: RawSignals) -> Self {
        Signals::from_signals(raw.signals)
    }
}

impl Signals {
    /// Collects fired signals, computing the score and kind set.
    #[inline]
    pub fn from_signals(signals: Vec<Signal>) -> Self {
        if signals.is_empty() {
            // The usual submission: nothing to sort, sum or collect (and,
            // inline, no call: the call cost the screen 18
            // instructions a clean lead).
            return Signals {
                score: 0,
                signals,
                kinds: SignalSet::new(),
            };
        }
        Signals::collect(signals)
    }

    /// [`from_signals`](Self::from_signals) of some signals.
    #[inline(never)]
    fn collect(mut signals: Vec<Signal>) -> Self {
        signals.sort_by_key(|s| s.kind);
        signals.dedup_by_key(|s| s.kind);
        let score = signals
            .iter()
            .fold(0u32, |acc, s| acc.saturating_add(s.weight));
        let kinds = signals.iter().map(|s| s.kind).collect();
        Signals {
            score,
            signals,
            kinds,
        }
    }

    /// Whether `kind` fired.
    pub fn fired(&self, kind: SignalKind) -> bool {
        self.kinds.contains(kind)
    }

    /// The fired kinds.
    pub fn kinds(&self) -> SignalSet {
        self.kinds
    }

    /// The fired signal of `kind`, if any.
    pub fn get(&self, kind: SignalKind) -> Option<&Signal> {
        self.signals.iter().find(|s| s.kind == kind)
    }

    /// Adds a signal (replacing one of the same kind) and updates the score.
    pub fn push(&mut self, signal: Signal) {
        let mut all = std::mem::take(&mut self.signals);
        all.retain(|s| s.kind != signal.kind);
        all.push(signal);
        *self = Signals::from_signals(all);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_bit_and_its_serde_name() {
        let mut seen = 0u32;
        for k in SignalKind::ALL {
            assert_eq!(seen & k.bit(), 0, "{k}");
            seen |= k.bit();
            let json = serde_json::to_value(k).unwrap();
            assert_eq!(json, k.as_str());
            let back: SignalKind = serde_json::from_value(json).unwrap();
            assert_eq!(back, k);
        }
    }

    #[test]
    fn signals_read_back_with_their_kinds() {
        let s = Signals::from_signals(vec![Signal::new(
            SignalKind::Unverified,
            None,
            "no token",
            40,
        )]);
        let back: Signals = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
        assert!(back.fired(SignalKind::Unverified));
    }

    #[test]
    fn shorten_cuts_at_characters() {
        assert_eq!(shorten_to("héllo", 3), "hél…");
        assert_eq!(shorten_to("abc", 3), "abc");
        let long = Signal::new(SignalKind::Honeypot, None, &"é".repeat(100), 1);
        assert_eq!(long.observed, format!("{}…", "é".repeat(OBSERVED_LIMIT)));
    }
}
