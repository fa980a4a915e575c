//! [`Screen`]: evaluates a submission's signals — pure, from the lead, what
//! the caller knows about the submission ([`Submission`]) and how
//! verification went ([`Verification`]).

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::scan::Scan;
use super::signal::{Signal, SignalKind, Signals};
use super::text::{self, Patterns};
use super::weights::Weights;
use crate::lead::email::EmailKind;
use crate::lead::model::Lead;

/// The most bytes of one field the text rules read: a message longer than
/// this is judged on its start (links and markup show early in spam).
const MAX_SCANNED: usize = 16 * 1024;

/// What the caller knows about a submission besides its fields. Everything
/// is optional; the core keeps no state, so recent submissions come from
/// the caller's own store.
///
/// ```
/// use leadroute::submission::{RecentSubmission, Submission};
/// use std::time::{Duration, SystemTime};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let submission = Submission::default()
///     .started_at(now - Duration::from_secs(40))
///     .recent(RecentSubmission::new("jane@acme.com", now - Duration::from_secs(60)).lead_id("lr-1"));
/// assert_eq!(submission.recent.len(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Submission {
    /// When the form was started, if the caller knows it from its own
    /// records (a `form_started` event, a server-issued form token); wins
    /// over the form's own `started_field`.
    #[serde(default)]
    pub started_at: Option<SystemTime>,
    /// The verification token, if the caller took it from elsewhere than
    /// the form fields (a header); wins over the form's `token_fields`.
    #[serde(default)]
    pub token: Option<String>,
    /// Earlier submissions from the same email, from the caller's store.
    /// Entries for other emails are ignored, as are entries outside the
    /// window and entries with this submission's lead id (replays).
    #[serde(default)]
    pub recent: Vec<RecentSubmission>,
}

impl Submission {
    /// Sets [`started_at`](Self::started_at).
    pub fn started_at(mut self, at: SystemTime) -> Self {
        self.started_at = Some(at);
        self
    }
    /// Sets [`token`](Self::token).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }
    /// Adds a recent submission.
    pub fn recent(mut self, recent: RecentSubmission) -> Self {
        self.recent.push(recent);
        self
    }
}

/// One earlier submission, as the caller recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecentSubmission {
    /// Its lead id (a replay of this submission has the same one).
    #[serde(default)]
    pub lead_id: Option<String>,
    /// Its email address (compared ignoring case).
    pub email: String,
    /// When it was submitted.
    pub at: SystemTime,
}

impl RecentSubmission {
    /// A submission of `email` at `at`.
    pub fn new(email: impl Into<String>, at: SystemTime) -> Self {
        RecentSubmission {
            lead_id: None,
            email: email.into(),
            at,
        }
    }
    /// Sets its lead id.
    pub fn lead_id(mut self, id: impl Into<String>) -> Self {
        self.lead_id = Some(id.into());
        self
    }
}

/// How verifying the submission's token went; the router fills it in from
/// the caller's [`Verifier`](super::Verifier).
///
/// JSON: `"not_configured"`, `"missing"`, `"passed"`, `{"failed": {"reason":
/// …}}`, `{"unavailable": {"reason": …}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verification {
    /// No verifier is configured: no verification signal.
    #[default]
    NotConfigured,
    /// A verifier is configured but the submission carried no token.
    Missing,
    /// The verifier accepted the token.
    Passed,
    /// The verifier rejected the token.
    Failed {
        /// The verifier's reason, if it gave one.
        reason: Option<String>,
    },
    /// The verifier could not say: it failed or ran out of its budget.
    Unavailable {
        /// What happened.
        reason: String,
    },
}

/// A checked [`ScreenConfig`](super::ScreenConfig): evaluates the signals
/// of a submission. Build once (with [`ScreenConfig::build`](super::ScreenConfig::build)),
/// share everywhere: `Send + Sync`, no I/O, no clock (`now` is passed in).
#[derive(Debug, Clone)]
pub struct Screen {
    pub(crate) honeypots: Box<[Box<str>]>,
    pub(crate) started: Box<str>,
    pub(crate) tokens: Box<[Box<str>]>,
    pub(crate) lookup: Lookup,
    pub(crate) min_fill: Duration,
    pub(crate) max_message_links: usize,
    pub(crate) repeat_window: Duration,
    pub(crate) repeat_limit: usize,
    pub(crate) bad_domains: HashSet<String>,
    pub(crate) weights: Weights,
    pub(crate) patterns: Patterns,
}

/// The attribute named `name`, ignoring ASCII case.
fn attribute<'l>(lead: &'l Lead, name: &str) -> Option<(&'l str, &'l Value)> {
    if let Some((k, v)) = lead.attributes.get_key_value(name) {
        return Some((k.as_str(), v));
    }
    lead.attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(k, v)| (k.as_str(), v))
}

/// Most entries a field-name list may hold (defined beside the attribute
/// lookup it sizes; the configuration checks it).
pub const MAX_FIELD_NAMES: usize = 32;

/// The most names a [`Lookup`] holds: the honeypots, the start field and
/// the message fields.
const MAX_LOOKUP: usize = 2 * MAX_FIELD_NAMES + 1;

/// The attributes the screen reads (the honeypots, the start field, the
/// message fields, in that order), found in one pass over a lead's
/// attributes.
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    /// The names, ASCII lower-case (what `find` compares against), at most
    /// [`MAX_LOOKUP`].
    names: Box<[Box<str>]>,
    /// How many of them are honeypots (then one start field).
    honeypots: usize,
    /// For each key length (127: 127 or more), bit `i` set when name `i`
    /// has that length; and for each first byte, bit `i` set when name `i`
    /// starts with it in either ASCII case (so a key's byte is looked up as
    /// it is: lower-casing it first cost 18 instructions a lead more). A key is compared only with the
    /// names in both (the two tables ANDed): no name for most keys, one
    /// for a key the screen reads. Walking every name of a key's length
    /// (with a one-word length prefilter, as before) cost about 160
    /// instructions a lead more with the default configuration's eight
    /// names, most of them the walk itself. One word of bits covers the
    /// first [`MASKED`] names; a name after them (only a configuration of
    /// 32 honeypots and 32 message fields has one) is looked up on its
    /// own, with [`attribute`] (a `u128` for all of them cost about 20
    /// instructions a key more). Measured and left (issue 18): `find`
    /// returning the found slots as bits, so that the screen visits only
    /// the found message slots instead of walking all six of the default
    /// configuration's, cost 18 instructions more (assess_only 2,126 →
    /// 2,144). What is kept instead (issue 18, third pass): `find` returns
    /// one past the last slot it filled, and the screen walks the message
    /// slots only that far (a compare and a move per slot filled, where
    /// the walk over the six empty slots after the bench lead's message
    /// cost about 30): assess_only 1,717 → 1,698. The two tables are boxed arrays, not boxed slices, so that
    /// a key's two reads need no bounds check: assess_only 1,852 → 1,836.
    by_length: Box<[u64; 128]>,
    by_first: Box<[u64; 256]>,
}

/// How many names [`Lookup`]'s tables cover: the bits of a word.
const MASKED: usize = 64;

/// What a [`Lookup`] found for one name: its attribute's key and value.
type Slot<'l> = Option<(&'l str, &'l Value)>;

/// What a [`Lookup`] found: for each name, its [`Slot`].
type Found<'l> = [Slot<'l>; MAX_LOOKUP];

/// How many names the screen's small [`Found`] array holds (the default
/// configuration has eight: one honeypot, the start field, six message
/// fields).
const SMALL_LOOKUP: usize = 8;

impl Lookup {
    pub(crate) fn new(honeypots: &[Box<str>], started: &str, messages: &[Box<str>]) -> Lookup {
        let names: Box<[Box<str>]> = honeypots
            .iter()
            .cloned()
            .chain(std::iter::once(Box::from(started)))
            .chain(messages.iter().cloned())
            .take(MAX_LOOKUP)
            .map(|n| n.to_ascii_lowercase().into_boxed_str())
            .collect();
        let (mut by_length, mut by_first) = (Box::new([0u64; 128]), Box::new([0u64; 256]));
        for (i, n) in names.iter().enumerate().take(MASKED) {
            let bit = 1u64 << i;
            if let Some(m) = by_length.get_mut(n.len().min(127)) {
                *m |= bit;
            }
            // An empty name has no first byte: it is in every entry, so
            // that an empty key still meets it (its length decides).
            match n.as_bytes().first() {
                // Under both of its ASCII cases (the names are lower-case),
                // so that a key's first byte is looked up as it is.
                Some(&c) => {
                    for c in [c, c.to_ascii_uppercase()] {
                        if let Some(m) = by_first.get_mut(usize::from(c)) {
                            *m |= bit;
                        }
                    }
                }
                None => by_first.iter_mut().for_each(|m| *m |= bit),
            }
        }
        Lookup {
            names,
            honeypots: honeypots.len(),
            by_length,
            by_first,
        }
    }

    /// The names key `k` may match ignoring ASCII case, as bits (see
    /// [`by_length`](Self::by_length)): a superset, the compare decides.
    fn candidates(&self, k: &[u8]) -> u64 {
        let by_length = self.by_length.get(k.len().min(127)).copied().unwrap_or(0);
        let first = match k.first() {
            Some(&c) => self.by_first.get(usize::from(c)).copied().unwrap_or(0),
            // The empty key: the length table alone (only empty names).
            None => u64::MAX,
        };
        by_length & first
    }

    /// Each name's attribute, ignoring ASCII case: its exact match if there
    /// is one, else its first match in attribute order (what [`attribute`]
    /// returns for it). Written into the caller's `out` (which starts all
    /// `None` and has a slot per name): the screen passes a small array
    /// when the names fit in one, since initializing the full
    /// [`MAX_LOOKUP`] one cost more than the lookup.
    ///
    /// Returns one past the last slot it filled (0 for none), so that the
    /// screen walks the message slots only that far
    /// ([`found_messages`](Self::found_messages)).
    fn find<'l>(&self, lead: &'l Lead, out: &mut [Slot<'l>]) -> usize {
        let mut end = 0;
        for (k, v) in &lead.attributes {
            let key = k.as_bytes();
            let mut candidates = self.candidates(key);
            while candidates != 0 {
                let i = candidates.trailing_zeros() as usize;
                candidates &= candidates - 1;
                let (Some(slot), Some(name)) = (out.get_mut(i), self.names.get(i)) else {
                    break;
                };
                let name = name.as_bytes();
                if key.len() != name.len() {
                    continue;
                }
                // The usual key is already lower-case: one compare, in
                // words ([`same_bytes`]). Else ASCII case is
                // ignored (the names are lower-case), with an early exit
                // at the first byte that differs.
                let exact = same_bytes(key, name);
                if !exact
                    && !key
                        .iter()
                        .zip(name)
                        .all(|(a, b)| a.to_ascii_lowercase() == *b)
                {
                    continue;
                }
                let replace = match slot {
                    None => true,
                    Some((held, _)) => exact && held.as_bytes() != name,
                };
                if replace {
                    *slot = Some((k.as_str(), v));
                    end = end.max(i + 1);
                }
            }
        }
        // The names the tables do not cover (none but in the largest
        // configurations). Sliced, not `skip(MASKED)`: the zip's `nth` cost
        // about 40 instructions a lead for nothing.
        if let (Some(out), Some(names)) = (out.get_mut(MASKED..), self.names.get(MASKED..)) {
            for (slot, name) in out.iter_mut().zip(names) {
                *slot = attribute(lead, name);
            }
            end = self.names.len();
        }
        end
    }

    /// The honeypots' part of what [`find`](Self::find) found.
    fn honeypots<'f, 'l>(&self, found: &'f [Slot<'l>]) -> &'f [Slot<'l>] {
        found.get(..self.honeypots).unwrap_or_default()
    }

    /// The start field's attribute.
    fn started<'l>(&self, found: &[Slot<'l>]) -> Slot<'l> {
        found.get(self.honeypots).copied().flatten()
    }

    /// The message fields' part.
    #[cfg(test)]
    fn messages<'f, 'l>(&self, found: &'f [Slot<'l>]) -> &'f [Slot<'l>] {
        found
            .get(self.honeypots + 1..self.names.len())
            .unwrap_or_default()
    }

    /// The message fields' part up to `end` (what [`find`](Self::find)
    /// returned): the slots after it are all empty.
    fn found_messages<'f, 'l>(&self, found: &'f [Slot<'l>], end: usize) -> &'f [Slot<'l>] {
        found
            .get(self.honeypots + 1..end.min(self.names.len()))
            .unwrap_or_default()
    }
}

/// `a == b`, for the short slices field names are without a call to
/// `memcmp` (which cost more than the rest of a match): from 4 to 16
/// bytes, two overlapping word loads a side.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn u64_at(s: &[u8], at: usize) -> Option<u64> {
        Some(u64::from_ne_bytes(s.get(at..at + 8)?.try_into().ok()?))
    }
    fn u32_at(s: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_ne_bytes(s.get(at..at + 4)?.try_into().ok()?))
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        8..=16 => u64_at(a, 0) == u64_at(b, 0) && u64_at(a, n - 8) == u64_at(b, n - 8),
        4..=7 => u32_at(a, 0) == u32_at(b, 0) && u32_at(a, n - 4) == u32_at(b, n - 4),
        _ => a == b,
    }
}

/// Whether a form value carries anything: inline, a text (the usual
/// honeypot, empty); out of line, the rest.
#[inline]
fn filled(v: &Value) -> bool {
    match v {
        // An empty one (the usual honeypot) without a trim (5 instructions
        // of assess_only); `trim` is `str::trim`, faster.
        Value::String(s) => !s.is_empty() && filled_text(s),
        other => filled_other(other),
    }
}

/// [`filled`] of a non-empty text: anything but whitespace or a checkbox's
/// unchecked value (`0`, `false`, `off`, `no`, ASCII case ignored), which
/// form libraries send for an untouched hidden checkbox (a real buyer's
/// form was rejected for `"0"` in a review of realistic submissions). A
/// bot ticking the box sends `1`, `on`, `true` or `yes`: filled.
#[inline(never)]
fn filled_text(s: &str) -> bool {
    let t = crate::lead::normalizer::trim(s);
    !(t.is_empty()
        || ["0", "false", "off", "no"]
            .iter()
            .any(|u| t.eq_ignore_ascii_case(u)))
}

/// [`filled`] of a value that is not a text.
#[inline(never)]
fn filled_other(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => filled_text(s),
        Value::Array(a) => a.iter().any(filled),
        Value::Object(o) => !o.is_empty(),
        // Zero is the unchecked box's value as a number.
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::Bool(true) => true,
    }
}

/// A value's text for the signal's `observed`.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// At most [`MAX_SCANNED`] bytes of `s`, cut at a character boundary.
fn scanned(s: &str) -> &str {
    if s.len() <= MAX_SCANNED {
        return s;
    }
    let mut cut = MAX_SCANNED;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.get(..cut).unwrap_or_default()
}

/// A Unix time from a form: milliseconds (`Date.now()`) or seconds, as a
/// number or numeric text. Values from 10^11 up are milliseconds (10^11
/// seconds is the year 5138; 10^11 milliseconds is 1973).
fn unix_time(v: &Value) -> Option<SystemTime> {
    if let Value::Number(n) = v {
        if let Some(t) = n.as_u64().and_then(whole_unix_time) {
            return t;
        }
    }
    float_unix_time(v)
}

/// [`unix_time`] through `f64`, as the form's value is read: the
/// reference, and the path for fractions, text and huge numbers.
fn float_unix_time(v: &Value) -> Option<SystemTime> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !n.is_finite() || n <= 0.0 {
        return None;
    }
    let secs = if n >= 1e11 { n / 1000.0 } else { n };
    SystemTime::UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
}

/// The milliseconds from which a start time is read as milliseconds.
const MS_FROM: u64 = 100_000_000_000;

/// The most milliseconds [`whole_unix_time`] takes (the year 2286): the
/// nanoseconds below stay within a `u64` and the milliseconds exact in an
/// `f64`.
const WHOLE_MS_UP_TO: u64 = 10_000_000_000_000;

/// [`float_unix_time`] of a whole number `m`, exactly, in integers
/// (`None` when `m` is past [`WHOLE_MS_UP_TO`]: the caller then takes the
/// `f64` path). This one is that path's arithmetic done exactly: `m`
/// seconds below [`MS_FROM`] (exact in an `f64`), else `m / 1000` rounded
/// to the nearest `f64` (ties to even), whose fraction is then rounded to
/// the nearest nanosecond (ties to even) as `Duration::try_from_secs_f64`
/// does (neither tie can occur for these `m`, the rounding is written out
/// in full anyway). A property test compares the two on every range (and
/// fails when the mantissa's rounding is left out). It saved 53
/// instructions of the screening bench's 2,286 (`assess_only`, a start
/// time in milliseconds; the `f64` path's conversion into a `Duration`
/// and its checks were most of them).
fn whole_unix_time(m: u64) -> Option<Option<SystemTime>> {
    let at = |secs: u64, nanos: u32| {
        Some(SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos)))
    };
    if m == 0 {
        return Some(None);
    }
    if m < MS_FROM {
        return at(m, 0);
    }
    if m > WHOLE_MS_UP_TO {
        return None;
    }
    let (a, b) = (m / 1000, m % 1000);
    if b == 0 {
        return at(a, 0);
    }
    // `m / 1000` is from 10^8 (27 bits) to 10^10 (34 bits) before its
    // point: as an `f64` it is `k / 2^s`, `k` its 53-bit mantissa.
    let s = 52 - (63 - a.leading_zeros());
    let (q, r) = ((b << s) / 1000, (b << s) % 1000);
    let mut k = (a << s) + q;
    if 2 * r > 1000 || (2 * r == 1000 && k & 1 == 1) {
        k += 1;
    }
    let (mut secs, fraction) = (k >> s, k & ((1 << s) - 1));
    // The fraction is below 2^26 (`s` is at most 26): times 10^9 it fits.
    let scaled = fraction * 1_000_000_000;
    let mut nanos = scaled >> s;
    let (rest, half) = (scaled & ((1 << s) - 1), 1 << (s - 1));
    if rest > half || (rest == half && nanos & 1 == 1) {
        nanos += 1;
    }
    if nanos == 1_000_000_000 {
        (secs, nanos) = (secs + 1, 0);
    }
    at(secs, u32::try_from(nanos).ok()?)
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

impl Screen {
    /// The weights in use.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The verification token: the caller's, else the first non-blank
    /// token field of the form.
    pub fn token<'a>(&self, lead: &'a Lead, submission: &'a Submission) -> Option<&'a str> {
        if let Some(t) = submission.token.as_deref().map(str::trim) {
            if !t.is_empty() {
                return Some(t);
            }
        }
        self.tokens
            .iter()
            .find_map(|name| match attribute(lead, name) {
                Some((_, Value::String(s))) if !s.trim().is_empty() => Some(s.trim()),
                _ => None,
            })
    }

    /// Removes the screen's control fields (honeypots, the start time, the
    /// tokens) from the lead's attributes, so they are not written to the
    /// CRM as data. Call after [`assess`](Self::assess).
    pub fn strip_controls(&self, lead: &mut Lead) {
        let controls = self
            .honeypots
            .iter()
            .chain(std::iter::once(&self.started))
            .chain(self.tokens.iter());
        let names: Vec<&str> = controls.map(|s| &**s).collect();
        lead.attributes
            .retain(|k, _| !names.iter().any(|n| k.eq_ignore_ascii_case(n)));
    }

    /// Evaluates every signal for a lead at `now` (the submit time).
    ///
    /// ```
    /// use leadroute::Normalizer;
    /// use leadroute::submission::{Screen, SignalKind, Submission, Verification};
    /// use std::time::{Duration, SystemTime};
    ///
    /// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let lead = Normalizer::default().normalize_json(r#"{
    ///     "email": "jane@acme.com", "first_name": "Jane", "last_name": "Okafor",
    ///     "leadroute_hp": "http://cheap.example", "form_started": 1699999999500
    /// }"#)?.lead;
    /// let signals = Screen::default().assess(&lead, &Submission::default(), &Verification::NotConfigured, now);
    /// assert!(signals.fired(SignalKind::Honeypot));
    /// assert!(signals.fired(SignalKind::TooFast)); // 0.5 s after the start
    /// assert_eq!(signals.score, 160);
    /// assert_eq!(signals.get(SignalKind::TooFast).unwrap().observed, "0.5 s after the form was started (minimum 3.0 s)");
    /// # Ok::<(), leadroute::lead::NormalizeError>(())
    /// ```
    pub fn assess<'l>(
        &self,
        lead: &'l Lead,
        submission: &Submission,
        verification: &Verification,
        now: SystemTime,
    ) -> Signals {
        let mut out = Vec::new();
        let w = &self.weights;
        let mut fire = |kind: SignalKind, field: Option<&str>, observed: &str| {
            out.push(Signal::new(kind, field, observed, w.of(kind)));
        };

        // The attributes read below, in one pass.
        let mut small: [Slot<'l>; SMALL_LOOKUP] = [None; SMALL_LOOKUP];
        let mut full: Found<'l>;
        let found: &mut [Slot<'l>] = if self.lookup.names.len() <= SMALL_LOOKUP {
            &mut small
        } else {
            full = [None; MAX_LOOKUP];
            &mut full
        };
        let found_end = self.lookup.find(lead, found);
        let found: &[Slot<'l>] = found;

        // Honeypot: a hidden field with a value.
        let mut honeypots = self.lookup.honeypots(found).iter().flatten();
        if let Some((key, v)) = honeypots.find(|(_, v)| filled(v)) {
            fire(SignalKind::Honeypot, Some(key), &shown(v));
        }

        // Time to fill in the form.
        let started = submission
            .started_at
            .or_else(|| self.lookup.started(found).and_then(|(_, v)| unix_time(v)));
        // `now - s < min_fill` (with `s` not after `now`) is `s` after
        // `now - min_fill` (or that instant before the earliest time): two
        // comparisons and a subtraction, where `duration_since` cost about
        // twice that; the elapsed time is computed only for the signal.
        let too_fast = started.filter(|&s| {
            s <= now
                && now
                    .checked_sub(self.min_fill)
                    .is_none_or(|earliest| s > earliest)
        });
        if let Some(elapsed) = too_fast.and_then(|s| now.duration_since(s).ok()) {
            let observed = format!(
                "{} after the form was started (minimum {})",
                seconds(elapsed),
                seconds(self.min_fill)
            );
            fire(SignalKind::TooFast, Some(&self.started), &observed);
        }

        // Names, company, messages: each field is scanned once, and the
        // scan answers every rule's cheap question about it.
        let p = &self.patterns;
        let first = lead.first_name.as_deref();
        let last = lead.last_name.as_deref();
        let company = lead.company_name.as_deref();
        // A name of letters, hyphens and apostrophes only (most names) can
        // hold no link and no markup: it is not scanned, and its empty scan
        // lets both rules answer "none" at once (`text::is_plain_name`
        // says why; a property test checks it against the full rules).
        // A company of letters (no `u`), digits, spaces and a little
        // punctuation is not scanned either (`text::is_plain_company`).
        // A person's name is surveyed in one pass for both its plainness
        // and whether the mash rules must run on it (`text::survey_name`).
        let name_scan = |v: Option<&'l str>| {
            v.map(scanned).map(|v| {
                let survey = text::survey_name(v);
                let scan = if survey.plain {
                    Scan::default()
                } else {
                    Scan::of(v, &p.keywords)
                };
                ((v, scan), survey.may_mash)
            })
        };
        // The company is surveyed the same way, through one table of its
        // own (`text::survey_company`; with the two tables' reads in one
        // loop it measured 7 instructions more, with one it saves 18).
        let (company_scan, company_mash) = company
            .map(scanned)
            .map(|v| {
                let survey = text::survey_company(v);
                let scan = if survey.plain {
                    Scan::default()
                } else {
                    Scan::of(v, &p.keywords)
                };
                ((v, scan), survey.may_mash)
            })
            .unzip();
        // Each field on its own (no array of them to build and walk), the
        // rules asked in field order, stopping at the first answer.
        let (first_scan, first_mash) = name_scan(first).unzip();
        let (last_scan, last_mash) = name_scan(last).unzip();
        let link_in = |f: &'static str, v: &Option<(&'l str, Scan)>| {
            v.as_ref()
                .and_then(|(v, scan)| p.link_in_name(v, scan))
                .map(|l| (f, l.to_owned()))
        };
        let script_in = |f: &'static str, v: &Option<(&'l str, Scan)>| {
            v.as_ref()
                .and_then(|(v, scan)| p.script_like_in_name(v, scan))
                .map(|s| (f, s))
        };
        let name_link =
            link_in("first_name", &first_scan).or_else(|| link_in("last_name", &last_scan));
        let mut script = script_in("first_name", &first_scan)
            .or_else(|| script_in("last_name", &last_scan))
            .or_else(|| script_in("company", &company_scan));
        let script_in_name = script.is_some();

        // The message fields, each scanned once for its links and (while no
        // earlier field was) its markup.
        let mut message_links = None;
        for (k, v) in self
            .lookup
            .found_messages(found, found_end)
            .iter()
            .flatten()
        {
            let Value::String(v) = v else {
                continue;
            };
            if message_links.is_some() && script.is_some() {
                break;
            }
            let v = scanned(v);
            let scan = Scan::of(v, &p.keywords);
            let n = scan.links();
            if message_links.is_none() && n > self.max_message_links {
                message_links = Some((
                    *k,
                    format!("{n} links (at most {})", self.max_message_links),
                ));
            }
            if script.is_none() {
                script = p.script_like(v, &scan).map(|s| (*k, s));
            }
        }
        // Markup and links both in the message fields are one finding —
        // a developer pasting an embed snippet and the pages it is on trips
        // both — so together they add the larger of the two weights (the
        // second adds what it weighs beyond the first), and one paste
        // never reaches the reject line that each alone stays below. In a
        // name or company, where no person puts either, each counts in full.
        let one_finding = name_link.is_none() && message_links.is_some() && !script_in_name;
        if let Some((field, observed)) = name_link.or(message_links) {
            fire(SignalKind::LinkStuffed, Some(field), &observed);
        }
        let one_finding = one_finding && script.is_some();
        if let Some((field, fragment)) = script {
            fire(SignalKind::ScriptLike, Some(field), fragment);
        }

        if let Some(shown) = text::placeholder_name(first, last) {
            let field = if first.is_some() {
                "first_name"
            } else {
                "last_name"
            };
            fire(SignalKind::PlaceholderName, Some(field), &shown);
        }

        // The fields in turn, without an iterator over them (its chain
        // cost about a hundred instructions); the text is built only for
        // the field that fires.
        // Each field's survey already ran the mash prefilter on it.
        let mash_in = |f: &'static str, v: Option<&str>, may_mash: Option<bool>, person: bool| {
            let v = v.filter(|_| may_mash == Some(true))?;
            text::mash_rules(scanned(v), person).map(|why| (f, format!("{v} ({why})")))
        };
        let mash = mash_in("first_name", first, first_mash, true)
            .or_else(|| mash_in("last_name", last, last_mash, true))
            .or_else(|| mash_in("company", company, company_mash, false));
        if let Some((field, observed)) = mash {
            fire(SignalKind::KeyboardMash, Some(field), &observed);
        }

        if let (Some(c), Some((scanned_c, scan))) = (company, &company_scan) {
            if p.company_is_address(scanned_c, scan) {
                fire(SignalKind::CompanyIsEmailOrUrl, Some("company"), c);
            }
        }

        // Where the email points.
        if lead.email_kind == EmailKind::Disposable {
            fire(
                SignalKind::DisposableEmail,
                Some("email"),
                &lead.email_domain,
            );
        }
        let listed = [
            ("email", Some(lead.email_domain.as_str())),
            ("website", lead.company_domain.as_deref()),
        ]
        .into_iter()
        .find_map(|(f, d)| d.and_then(|d| self.listed(d)).map(|d| (f, d)));
        if let Some((field, domain)) = listed {
            fire(SignalKind::KnownBadDomain, Some(field), domain);
        }

        // How often this email came lately.
        let earlier = self.repeats(lead, submission, now);
        if earlier >= self.repeat_limit {
            let observed = format!(
                "{earlier} earlier submissions in {} min (limit {})",
                self.repeat_window.as_secs() / 60,
                self.repeat_limit
            );
            fire(SignalKind::RepeatedSubmission, Some("email"), &observed);
        }

        // Verification.
        match verification {
            Verification::NotConfigured | Verification::Passed => {}
            Verification::Missing => fire(SignalKind::Unverified, None, "no verification token"),
            Verification::Failed { reason } => fire(
                SignalKind::VerificationFailed,
                None,
                reason
                    .as_deref()
                    .unwrap_or("the verifier rejected the token"),
            ),
            Verification::Unavailable { reason } => {
                fire(SignalKind::VerificationUnavailable, None, reason);
            }
        }
        if one_finding {
            // (`fire` holds `out` until here.)
            if let Some(s) = out.iter_mut().find(|s| s.kind == SignalKind::ScriptLike) {
                s.weight = w.script_like.saturating_sub(w.link_stuffed);
            }
        }
        Signals::from_signals(out)
    }

    /// The listed domain `domain` is at or under, if any.
    fn listed<'s>(&'s self, domain: &str) -> Option<&'s str> {
        if self.bad_domains.is_empty() {
            return None;
        }
        let mut d = domain.trim_end_matches('.');
        loop {
            if let Some(hit) = self.bad_domains.get(d) {
                return Some(hit.as_str());
            }
            match d.split_once('.') {
                Some((_, parent)) => d = parent,
                None => return None,
            }
        }
    }

    /// Earlier submissions of this lead's email within the window, this
    /// submission's replays excluded.
    fn repeats(&self, lead: &Lead, submission: &Submission, now: SystemTime) -> usize {
        if submission.recent.is_empty() {
            return 0;
        }
        let since = now
            .checked_sub(self.repeat_window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        submission
            .recent
            .iter()
            .filter(|r| r.email.trim().eq_ignore_ascii_case(&lead.email))
            .filter(|r| r.at >= since && r.at <= now)
            .filter(|r| match (&r.lead_id, &lead.lead_id) {
                (Some(a), Some(b)) => a != b,
                _ => true,
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::normalizer::Normalizer;
    use proptest::strategy::Strategy as _;

    #[test]
    fn an_unchecked_checkbox_is_not_a_filled_honeypot() {
        use serde_json::json;
        for empty in [
            json!(null),
            json!(""),
            json!("  "),
            json!(false),
            json!(0),
            json!(0.0),
            json!("0"),
            json!("false"),
            json!(" OFF "),
            json!("No"),
            json!([]),
            json!(["", "0"]),
            json!({}),
        ] {
            assert!(!filled(&empty), "{empty}");
        }
        for ticked in [
            json!(true),
            json!(1),
            json!(-1),
            json!("1"),
            json!("on"),
            json!("yes"),
            json!("true"),
            json!("nope"),
            json!("http://cheap-links.ru"),
            json!(["0", "x"]),
            json!({"a": 1}),
        ] {
            assert!(filled(&ticked), "{ticked}");
        }
    }

    fn lead(json: &str) -> Lead {
        Normalizer::default().normalize_json(json).unwrap().lead
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_plain_lead_fires_nothing() {
        let l = lead(
            r#"{"email": "jane@acme.com", "first_name": "Jane", "last_name": "Okafor", "company": "Acme", "message": "Pricing for 40 seats? See acme.com/pricing"}"#,
        );
        let s = Screen::default().assess(
            &l,
            &Submission::default(),
            &Verification::NotConfigured,
            at(1_700_000_000),
        );
        assert_eq!(s.signals, []);
        assert_eq!(s.score, 0);
    }

    #[test]
    fn markup_and_links_in_a_message_are_one_finding() {
        let screen = Screen::default();
        let w = *screen.weights();
        let assess = |json: &str| {
            screen.assess(
                &lead(json),
                &Submission::default(),
                &Verification::NotConfigured,
                at(1_700_000_000),
            )
        };
        let links = "https://a.acme.com/1 https://a.acme.com/2 https://a.acme.com/3";
        // Both in the message: the larger weight, split over the two.
        let pasted = assess(&format!(
            r#"{{"email": "dev@acme.com", "message": "<script src=x></script> {links}"}}"#
        ));
        assert_eq!(pasted.kinds().to_string(), "link_stuffed, script_like");
        assert_eq!(pasted.score, w.link_stuffed.max(w.script_like));
        assert_eq!(
            pasted.get(SignalKind::LinkStuffed).unwrap().weight,
            w.link_stuffed
        );
        // Markup in a name is evidence of its own: each counts in full.
        let named = assess(&format!(
            r#"{{"email": "dev@acme.com", "first_name": "<b>Jo</b>", "message": "{links}"}}"#
        ));
        assert_eq!(named.kinds().to_string(), "link_stuffed, script_like");
        assert_eq!(named.score, w.link_stuffed + w.script_like);
        // So is a link in a name with markup in the message.
        let linked = assess(
            r#"{"email": "dev@acme.com", "first_name": "Jo https://a.acme.com", "message": "<script>x</script>"}"#,
        );
        assert_eq!(linked.kinds().to_string(), "link_stuffed, script_like");
        assert_eq!(linked.score, w.link_stuffed + w.script_like);
        // Either alone weighs what it weighs.
        let markup = assess(r#"{"email": "dev@acme.com", "message": "<script>x</script>"}"#);
        assert_eq!(markup.score, w.script_like);
        // Formatting tags are markup in a name, a form's line breaks in a
        // message.
        let bold = assess(r#"{"email": "dev@acme.com", "last_name": "<b>Deal</b>"}"#);
        assert_eq!(bold.get(SignalKind::ScriptLike).unwrap().observed, "<b");
        let breaks = assess(r#"{"email": "dev@acme.com", "message": "Hi,<br>3 regions<br>Jo"}"#);
        assert_eq!(breaks.signals, []);
    }

    #[test]
    fn start_times_in_seconds_or_ms_and_future_ones_ignored() {
        assert_eq!(
            unix_time(&serde_json::json!(1_700_000_000)),
            Some(at(1_700_000_000))
        );
        assert_eq!(
            unix_time(&serde_json::json!("1700000000000")),
            Some(at(1_700_000_000))
        );
        assert_eq!(unix_time(&serde_json::json!("soon")), None);
        let l = lead(r#"{"email": "jane@acme.com", "form_started": 1700000100}"#);
        let s = Screen::default().assess(
            &l,
            &Submission::default(),
            &Verification::NotConfigured,
            at(1_700_000_000),
        );
        assert!(
            !s.fired(SignalKind::TooFast),
            "a start in the future (client clock ahead) is not judged"
        );
    }

    #[test]
    fn repeats_exclude_replays_other_emails_and_old_entries() {
        let mut l = lead(r#"{"email": "Jane@acme.com"}"#);
        l.lead_id = Some("lr-9".into());
        let now = at(1_700_000_000);
        let sub = Submission::default()
            .recent(RecentSubmission::new(
                "jane@ACME.com",
                now - Duration::from_secs(10),
            ))
            .recent(
                RecentSubmission::new("jane@acme.com", now - Duration::from_secs(20))
                    .lead_id("lr-9"),
            )
            .recent(RecentSubmission::new(
                "bob@acme.com",
                now - Duration::from_secs(20),
            ))
            .recent(RecentSubmission::new(
                "jane@acme.com",
                now - Duration::from_secs(7200),
            ))
            .recent(
                RecentSubmission::new("Jane@acme.com", now - Duration::from_secs(30))
                    .lead_id("lr-8"),
            );
        assert_eq!(Screen::default().repeats(&l, &sub, now), 2);
    }

    #[test]
    fn listed_domains_cover_subdomains_only() {
        let c = crate::submission::config::ScreenConfig {
            known_bad_domains: vec!["spam.example".into()],
            ..Default::default()
        };
        let screen = c.build().unwrap();
        assert_eq!(screen.listed("mx.spam.example"), Some("spam.example"));
        assert_eq!(screen.listed("spam.example"), Some("spam.example"));
        assert_eq!(screen.listed("notspam.example"), None);
        assert_eq!(screen.listed("example"), None);
    }

    #[test]
    fn controls_are_stripped() {
        let mut l = lead(
            r#"{"email": "jane@acme.com", "Leadroute_HP": "", "form_started": 1, "captcha_token": "t", "budget": "50k"}"#,
        );
        Screen::default().strip_controls(&mut l);
        assert_eq!(l.attributes.keys().collect::<Vec<_>>(), ["budget"]);
    }

    #[test]
    fn the_lookup_finds_every_name_of_the_largest_configuration() {
        // 65 names: the tables cover the first 64, `attribute` the last.
        let honeypots: Vec<Box<str>> = (0..MAX_FIELD_NAMES)
            .map(|i| format!("hp{i}").into())
            .collect();
        let messages: Vec<Box<str>> = (0..MAX_FIELD_NAMES)
            .map(|i| format!("Msg{i}").into())
            .collect();
        let lookup = Lookup::new(&honeypots, "form_started", &messages);
        assert_eq!(lookup.names.len(), MAX_LOOKUP);
        let mut l = lead(r#"{"email": "jane@acme.com"}"#);
        for (i, k) in [
            "HP3",
            "hp31",
            "msg0",
            "MSG31",
            "msg31",
            "Msg30",
            "FORM_started",
        ]
        .iter()
        .enumerate()
        {
            l.attributes.insert((*k).to_owned(), serde_json::json!(i));
        }
        let mut found = [None; MAX_LOOKUP];
        lookup.find(&l, &mut found);
        for (name, got) in lookup.names.iter().zip(&found) {
            assert_eq!(*got, attribute(&l, name), "{name}");
        }
        assert_eq!(
            found.last().copied().flatten().map(|(k, _)| k),
            Some("msg31")
        );
    }

    proptest::proptest! {
        #[test]
        fn too_fast_is_the_elapsed_time_below_the_minimum(
            offset_ns in proptest::prop_oneof![
                -5_000_000_000i64..10_000_000_000,
                2_999_999_990i64..3_000_000_010,
                -10i64..10,
            ],
            nanos in 0u32..1_000_000_000,
            now_secs in proptest::prop_oneof![
                proptest::strategy::Just(0u64),
                proptest::strategy::Just(1u64),
                2u64..5,
                1_700_000_000u64..1_700_000_010,
            ],
        ) {
            // Start times on both sides of `now` and of the 3 s minimum, to
            // the nanosecond, and a `now` near the epoch (where
            // `now - min_fill` is before it).
            let now = at(now_secs) + Duration::from_nanos(u64::from(nanos));
            let delta = Duration::from_nanos(offset_ns.unsigned_abs());
            let start = if offset_ns >= 0 {
                now.checked_sub(delta)
            } else {
                now.checked_add(delta)
            };
            let Some(start) = start else { return Ok(()); };
            let screen = Screen::default();
            let want = now.duration_since(start).is_ok_and(|e| e < screen.min_fill);
            let l = lead(r#"{"email": "jane@acme.com"}"#);
            let s = screen.assess(&l, &Submission::default().started_at(start), &Verification::NotConfigured, now);
            proptest::prop_assert_eq!(s.fired(SignalKind::TooFast), want);
        }

        #[test]
        fn whole_start_times_are_read_as_through_f64(
            m in proptest::prop_oneof![
                0u64..1_000,
                1u64..MS_FROM,
                MS_FROM - 1_000..MS_FROM + 1_000,
                MS_FROM..WHOLE_MS_UP_TO,
                1_700_000_000_000u64..1_800_000_000_000,
                (1_700_000_000u64..1_800_000_000).prop_map(|s| s * 1000),
                (1_700_000_000u64..1_800_000_000).prop_map(|s| s * 1000 + 500),
                WHOLE_MS_UP_TO - 1_000..WHOLE_MS_UP_TO + 1_000,
                (1u64 << 53) - 1_000..(1u64 << 53) + 1_000,
                proptest::num::u64::ANY,
            ],
        ) {
            // The integer path where it applies, the float one past it:
            // both as `unix_time` reads a number.
            let v = serde_json::json!(m);
            proptest::prop_assert_eq!(unix_time(&v), float_unix_time(&v), "{}", m);
        }

        #[test]
        fn same_bytes_is_slice_equality(
            a in proptest::collection::vec(proptest::sample::select(&b"abAB_\xff"[..]), 0..20),
            flip in proptest::option::of((0usize..20, proptest::sample::select(&b"abAB_\xff"[..]))),
            longer in proptest::bool::ANY,
        ) {
            // Equal slices, slices that differ in one byte (anywhere), and
            // slices of different lengths.
            let mut b = a.clone();
            if let Some((i, c)) = flip {
                if let Some(x) = b.get_mut(i) {
                    *x = c;
                }
            }
            if longer {
                b.push(b'a');
            }
            proptest::prop_assert_eq!(same_bytes(&a, &b), a == b);
        }

        #[test]
        fn the_found_message_slots_are_every_filled_one(
            keys in proptest::collection::vec(
                proptest::sample::select(&["message", "Message", "notes", "NOTES", "comment", "budget", "hp", "form_started", "missing", "Missing", "x"][..]),
                0..6,
            ),
            exact_end in proptest::bool::ANY,
        ) {
            // The message slots up to `find`'s end are a prefix of all of
            // them, and every slot past it is empty.
            let mut l = lead(r#"{"email": "jane@acme.com"}"#);
            for (i, k) in keys.iter().enumerate() {
                l.attributes.insert((*k).to_owned(), serde_json::json!(i));
            }
            let names = |list: &[&str]| -> Vec<Box<str>> { list.iter().map(|n| Box::from(*n)).collect() };
            let messages = if exact_end {
                names(&["message", "notes", "comment", "missing"])
            } else {
                names(&["missing", "comment", "message"])
            };
            let lookup = Lookup::new(&names(&["hp"]), "form_started", &messages);
            let mut small = [None; SMALL_LOOKUP];
            let end = lookup.find(&l, &mut small);
            let all = lookup.messages(&small);
            let some = lookup.found_messages(&small, end);
            proptest::prop_assert_eq!(&all[..some.len()], some);
            proptest::prop_assert!(all[some.len()..].iter().all(Option::is_none), "{:?} {:?}", keys, end);
        }

        #[test]
        fn one_pass_lookup_finds_what_attribute_finds(
            keys in proptest::collection::vec(
                proptest::sample::select(&["message", "Message", "MESSAGE", "notes", "Notes", "comment", "budget", "mEssage", "hp", "HP", "form_started", "Form_Started", "COMMENT", "hP", "", "trap", "tRAP", "messagE", "nessage"][..]),
                0..6,
            ),
        ) {
            let mut l = lead(r#"{"email": "jane@acme.com"}"#);
            for (i, k) in keys.iter().enumerate() {
                l.attributes.insert((*k).to_owned(), serde_json::json!(i));
            }
            let names = |list: &[&str]| -> Vec<Box<str>> { list.iter().map(|n| Box::from(*n)).collect() };
            let (honeypots, messages) = (names(&["hp", "trap"]), names(&["message", "notes", "comment", "missing"]));
            let lookup = Lookup::new(&honeypots, "form_started", &messages);
            // Both arrays the screen passes: the small one and the full one.
            let mut small = [None; SMALL_LOOKUP];
            let mut full = [None; MAX_LOOKUP];
            for found in [&mut small[..], &mut full[..]] {
                lookup.find(&l, found);
                let found: &[Slot<'_>] = found;
                for (name, got) in honeypots.iter().zip(lookup.honeypots(found)) {
                    proptest::prop_assert_eq!(*got, attribute(&l, name));
                }
                proptest::prop_assert_eq!(lookup.started(found), attribute(&l, "form_started"));
                proptest::prop_assert_eq!(lookup.messages(found).len(), messages.len());
                for (name, got) in messages.iter().zip(lookup.messages(found)) {
                    proptest::prop_assert_eq!(*got, attribute(&l, name));
                }
            }
        }
    }
}
