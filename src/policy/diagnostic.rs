//! Problems found in a policy, from the first byte of its text to the last
//! check of [`compile`](crate::compile): each names the field path, the
//! offending value and, where it can, a way to fix it.
//!
//! Every [`DiagnosticCode`] has exactly one constructor here (`pub(crate)`),
//! so a code always carries the message that belongs to it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::lead::issue::shorten;

mod time;

/// Error or warning.
///
/// JSON: `"error"` or `"warning"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The policy does not compile.
    Error,
    /// The policy compiles, but something is probably not what was meant.
    Warning,
}

/// A stable code per kind of problem; serializes as its snake_case name
/// (`"unknown_owner"`, `"wrong_type"`).
///
/// The first group is found while reading the text
/// ([`PolicySpec::from_json_str`](crate::PolicySpec::from_json_str) and
/// `from_toml_str`), the second by [`compile`](crate::compile), the last
/// (always warnings) by [`Policy::lint`](crate::Policy::lint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiagnosticCode {
    // ------------------------------------------------------------ reading
    /// The text is not valid JSON or TOML (the message gives line and column).
    Syntax,
    /// A value of the wrong type: text where a list is expected, `"3"` where
    /// a number is expected, a number out of range.
    WrongType,
    /// A required key is missing (`id`, a rule's `when` or `then`, …).
    MissingField,
    /// A word that is not one of those allowed here (`"per": "fortnight"`,
    /// `"assign": "acount_owner"`).
    UnknownValue,
    /// An object that must name exactly one of its keys (a condition, an
    /// `assign` target, an experience, a value test) names none or several.
    ExpectedOneKey,
    /// A key the policy format does not have (or not in this place).
    UnknownField,
    /// A key written twice in one object.
    DuplicateKey,

    // ------------------------------------------------------------ compiling
    /// Two owners, territories, pools or rules share an id.
    DuplicateId,
    /// A reference to an owner that is not in the directory.
    UnknownOwner,
    /// A reference to a pool that does not exist.
    UnknownPool,
    /// A reference to a territory that does not exist.
    UnknownTerritory,
    /// A regular expression that does not compile.
    InvalidRegex,
    /// Not an assigned ISO 3166-1 alpha-2 code.
    UnknownCountry,
    /// Not an ISO 3166-2 code (or not one the built-in tables know).
    UnknownRegion,
    /// A lower bound above its upper bound.
    InvertedRange,
    /// A postal-code range whose two ends have different lengths.
    RangeEndsDiffer,
    /// A pool without members.
    EmptyPool,
    /// A weight or capacity of zero.
    InvalidNumber,
    /// The policy has no fallback.
    MissingFallback,
    /// The fallback assigns the account or contact owner, which may not exist.
    FallbackCanFail,
    /// The fallback's `if_unavailable` sends leads back to the fallback.
    FallbackToItself,
    /// A rule that can never match because an earlier rule always wins first.
    UnreachableRule,
    /// Direct assignment to an inactive owner.
    InactiveOwner,
    /// An inactive owner in a pool (skipped at run time).
    InactivePoolMember,
    /// A territory, list or test that names nothing.
    Empty,
    /// A comparison with a value of a type it cannot compare (a list or an
    /// object in `equals` / `one_of`).
    TypeMismatch,
    /// Pools whose fallbacks lead back to themselves.
    PoolCycle,
    /// A meeting experience with nobody's calendar to book on.
    NoCalendar,
    /// The policy has no name or version.
    MissingName,
    /// A rule whose condition is constantly false.
    NeverMatches,
    /// A pool with more members than a pool may have (256).
    TooManyMembers,

    // ------------------------------------------------------------ linting
    /// A rule that only sees the leads earlier rules pass on (their pool
    /// had nobody eligible, the account had no owner), or whose every lead
    /// several earlier rules together decide first.
    ShadowedRule,
    /// Two territories that include the same places.
    OverlappingTerritories,
    /// An owner nothing in the policy assigns, pools or books on.
    UnusedOwner,
    /// A pool no rule, fallback or reachable pool fallback refers to.
    UnusedPool,
    /// A territory no rule tests.
    UnusedTerritory,
    /// `check_availability` on an action whose assignee it cannot affect
    /// (a pool, which checks its members itself, or nobody).
    IgnoredAvailabilityCheck,
    /// A country, or an employee-count range between two segments of one,
    /// that no rule on country or company size matches: only rules on
    /// other facts, or the fallback, decide those leads.
    FallbackOnly,
    /// Not an IANA time-zone name the bundled database knows.
    UnknownTimeZone,
    /// A reference to a schedule that does not exist.
    UnknownSchedule,
    /// A block (`"09:00-17:00"`) or date (`"2026-12-25"`) that cannot be read.
    InvalidTime,
    /// Two blocks of one day that overlap.
    OverlappingBlocks,
    // ------------------------------------------------------------- limits
    /// The policy is larger than a [`PolicyLimits`](super::PolicyLimits)
    /// limit allows (the message names the limit); nothing more of it is
    /// checked.
    LimitExceeded,
    /// A check was stopped at its budget (a warning): the unreachable-rule
    /// check past
    /// [`max_shadow_comparisons`](super::PolicyLimits::max_shadow_comparisons).
    CheckSkipped,
}

/// One problem in a policy: where, what, the offending value and a hint.
///
/// A JSON contract (serde); `rule`, `value` and `help` are left out when
/// absent:
///
/// ```json
/// {
///   "severity": "error",
///   "code": "unknown_country",
///   "rule": "uk",
///   "path": "rules[0].when.country[0]",
///   "message": "`UK` is not an ISO 3166-1 alpha-2 country code",
///   "value": "UK",
///   "help": "did you mean `GB`?"
/// }
/// ```
///
/// `path` is empty only for a [`Syntax`](DiagnosticCode::Syntax) error
/// outside any value and for a document that is not an object at all.
/// `value` quotes at most 64 characters (longer text ends in `…`).
///
/// ```
/// use leadroute::policy::DiagnosticCode;
///
/// let err = leadroute::Policy::from_json_str(r#"{
///   "name": "inbound", "version": "1",
///   "owners": [{"id": "queue"}],
///   "rules": [{"id": "uk", "when": {"country": ["UK"]}, "then": {"assign": {"owner": "queue"}}}],
///   "fallback": {"assign": {"owner": "queue"}}
/// }"#).unwrap_err();
/// let d = &err.errors[0];
/// assert_eq!(d.code, DiagnosticCode::UnknownCountry);
/// assert_eq!(d.path, "rules[0].when.country[0]");
/// assert_eq!(d.value.as_deref(), Some("UK"));
/// assert_eq!(d.help.as_deref(), Some("did you mean `GB`?"));
/// assert_eq!(
///     d.to_string(),
///     "error: rules[0].when.country[0] (rule `uk`): `UK` is not an ISO 3166-1 alpha-2 \
///      country code (help: did you mean `GB`?)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub code: DiagnosticCode,
    /// The rule id, when the problem is inside a rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Where in the spec: `rules[2].when.all[1].country[0]`, `pools[0].members[3].owner`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// The offending text (an id, a code, a key, a value), shortened to 64
    /// characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// How to fix it, when there is something to say: `did you mean `GB`?`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    /// ``error: <path> (rule `<id>`): <message> (help: <help>)``, on one line;
    /// the path is left out when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        f.write_str(sev)?;
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        if let Some(rule) = &self.rule {
            write!(f, " (rule `{rule}`)")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, " (help: {help})")?;
        }
        Ok(())
    }
}

/// Every error (and warning) found in a policy that does not read or does
/// not compile: the one error type of
/// [`PolicySpec::from_json_str`](crate::PolicySpec::from_json_str),
/// `PolicySpec::from_toml_str`, [`compile`](crate::compile) and
/// [`Policy::from_json_str`](crate::Policy::from_json_str).
///
/// A JSON contract (serde), each entry a [`Diagnostic`]:
///
/// ```json
/// {
///   "errors": [{"severity": "error", "code": "missing_fallback", "path": "fallback",
///               "message": "the policy has no fallback; every policy needs one so every lead gets a decision"}],
///   "warnings": []
/// }
/// ```
///
/// At most [`CompileError::LIMIT`] errors and as many warnings are kept, in
/// spec order (TOML tables in key order); how many more were found is in
/// `"omitted_errors": n` and `"omitted_warnings": n`, present only when not
/// zero, and `Display` ends with `… and N more`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub struct CompileError {
    /// The errors, in spec order (at most [`CompileError::LIMIT`]).
    pub errors: Vec<Diagnostic>,
    /// The warnings, in spec order (at most [`CompileError::LIMIT`]).
    pub warnings: Vec<Diagnostic>,
    /// Errors found beyond the first [`CompileError::LIMIT`] and left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_errors: usize,
    /// Warnings found beyond the first [`CompileError::LIMIT`] and left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_warnings: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl CompileError {
    /// The most errors (and, separately, warnings) one error reports: 100.
    pub const LIMIT: usize = 100;

    /// How many errors were found, including the omitted ones.
    pub fn error_count(&self) -> usize {
        self.errors.len().saturating_add(self.omitted_errors)
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.error_count();
        write!(
            f,
            "policy does not compile: {n} error{}",
            if n == 1 { "" } else { "s" }
        )?;
        for d in self.errors.iter().chain(&self.warnings) {
            write!(f, "\n  {d}")?;
        }
        let more = self.omitted_errors.saturating_add(self.omitted_warnings);
        if more > 0 {
            write!(f, "\n  … and {more} more")?;
        }
        Ok(())
    }
}

/// Collects diagnostics, keeping at most [`CompileError::LIMIT`] of each
/// severity and counting the rest.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    omitted_errors: usize,
    omitted_warnings: usize,
}

impl Sink {
    pub(crate) fn push(&mut self, d: Diagnostic) {
        let (kept, omitted) = match d.severity {
            Severity::Error => (&mut self.errors, &mut self.omitted_errors),
            Severity::Warning => (&mut self.warnings, &mut self.omitted_warnings),
        };
        if kept.len() < CompileError::LIMIT {
            kept.push(d);
        } else {
            *omitted = omitted.saturating_add(1);
        }
    }

    /// Whether another error would be kept (so worth a costly suggestion).
    pub(crate) fn has_room(&self) -> bool {
        self.errors.len() < CompileError::LIMIT
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.omitted_errors > 0
    }

    pub(crate) fn into_error(self) -> CompileError {
        CompileError {
            errors: self.errors,
            warnings: self.warnings,
            omitted_errors: self.omitted_errors,
            omitted_warnings: self.omitted_warnings,
        }
    }

    /// The warnings of a policy that compiles.
    pub(crate) fn into_warnings(self) -> Vec<Diagnostic> {
        self.warnings
    }
}

/// `text` in backticks, shortened.
fn q(text: &str) -> String {
    format!("`{}`", shorten(text))
}

/// `a`, `b`, `c` (at most five, then `and N more`).
fn q_list(items: &[&str]) -> String {
    let mut out: Vec<String> = items.iter().take(5).map(|s| q(s)).collect();
    if items.len() > 5 {
        out.push(format!("and {} more", items.len() - 5));
    }
    out.join(", ")
}

/// `did you mean `x`?`
pub(crate) fn did_you_mean(s: &str) -> String {
    format!("did you mean {}?", q(s))
}

/// Constructors, one per code (some codes have several, for its kinds of
/// place); the compiler and the reader build diagnostics only through them.
impl Diagnostic {
    fn new(severity: Severity, code: DiagnosticCode, path: String, message: String) -> Self {
        Diagnostic {
            severity,
            code,
            rule: None,
            path,
            message,
            value: None,
            help: None,
        }
    }
    fn error(code: DiagnosticCode, path: String, message: String) -> Self {
        Self::new(Severity::Error, code, path, message)
    }
    fn warning(code: DiagnosticCode, path: String, message: String) -> Self {
        Self::new(Severity::Warning, code, path, message)
    }
    fn with_value(mut self, value: &str) -> Self {
        self.value = Some(shorten(value));
        self
    }
    fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
    /// Sets the rule the problem is in.
    pub(crate) fn in_rule(mut self, rule: Option<String>) -> Self {
        self.rule = rule;
        self
    }

    // ------------------------------------------------------------ reading

    /// Text that is not JSON or TOML; `message` carries line and column.
    pub(crate) fn syntax(path: String, format: &str, message: String) -> Self {
        Self::error(
            DiagnosticCode::Syntax,
            path,
            format!("not valid {format}: {message}"),
        )
    }
    /// A value of the wrong type; `found` names what was there.
    pub(crate) fn wrong_type(
        path: String,
        expected: &str,
        found: &str,
        value: &str,
        help: Option<String>,
    ) -> Self {
        Self::error(
            DiagnosticCode::WrongType,
            path,
            format!("expected {expected}, found {found}"),
        )
        .with_value(value)
        .with_help(help)
    }
    /// A required key that is missing from `what` (`a rule`).
    pub(crate) fn missing_field(path: String, key: &str, what: &str) -> Self {
        Self::error(
            DiagnosticCode::MissingField,
            path,
            format!("{what} needs {}", q(key)),
        )
    }
    /// A word that is not allowed here.
    pub(crate) fn unknown_value(path: String, value: &str, what: &str, help: String) -> Self {
        Self::error(
            DiagnosticCode::UnknownValue,
            path,
            format!("{} is not {what}", q(value)),
        )
        .with_value(value)
        .with_help(Some(help))
    }
    /// An object that must name one `noun` (`test`) and names `found`
    /// (none or several).
    pub(crate) fn expected_one_key(
        path: String,
        what: &str,
        noun: &str,
        found: &[&str],
        help: String,
    ) -> Self {
        let message = match found {
            [] => format!("{what} names exactly one {noun}; this one names none"),
            keys => {
                let list: Vec<String> = keys.iter().map(|k| q(k)).collect();
                format!(
                    "{what} names exactly one {noun}; this one names {}: {}",
                    keys.len(),
                    list.join(", ")
                )
            }
        };
        Self::error(DiagnosticCode::ExpectedOneKey, path, message).with_help(Some(help))
    }
    /// A key written twice in one object.
    pub(crate) fn duplicate_key(path: String, key: &str) -> Self {
        Self::error(
            DiagnosticCode::DuplicateKey,
            path,
            format!("the key {} is written twice in this object", q(key)),
        )
        .with_value(key)
        .with_help(Some("keep one of them".to_owned()))
    }
    /// What serde still rejected after the structural check (a case the
    /// schema does not cover); the code follows serde's message.
    pub(crate) fn from_serde(path: String, message: String) -> Self {
        let code = if message.starts_with("unknown field") {
            DiagnosticCode::UnknownField
        } else if message.starts_with("missing field") {
            DiagnosticCode::MissingField
        } else if message.starts_with("unknown variant") {
            DiagnosticCode::UnknownValue
        } else {
            DiagnosticCode::WrongType
        };
        Self::error(code, path, message)
    }
    /// A key that `what` (`an action`) does not have.
    pub(crate) fn unknown_key(path: String, key: &str, what: &str, help: String) -> Self {
        Self::error(
            DiagnosticCode::UnknownField,
            path,
            format!("{what} has no key {}", q(key)),
        )
        .with_value(key)
        .with_help(Some(help))
    }
    /// A contact test naming an account fact.
    pub(crate) fn not_a_contact_fact(path: String, key: &str) -> Self {
        Self::error(
            DiagnosticCode::UnknownField,
            path,
            format!(
                "{} is an account fact; a contact has `exists`, `has_owner` and `owner_active`",
                q(key)
            ),
        )
        .with_value(key)
        .with_help(Some(
            "test it under `account`, e.g. {\"account\": {…}}".to_owned(),
        ))
    }

    // ------------------------------------------------------------ compiling

    /// The policy has no name or version (a warning).
    pub(crate) fn missing_name(path: String) -> Self {
        Self::warning(
            DiagnosticCode::MissingName,
            path,
            "the policy has no name or version; decisions will not say which policy made them"
                .to_owned(),
        )
    }
    /// A second owner, territory, pool or rule (`kind`) with this id.
    pub(crate) fn duplicate_id(path: String, kind: &str, id: &str) -> Self {
        Self::error(
            DiagnosticCode::DuplicateId,
            path,
            format!("duplicate {kind} id {}", q(id)),
        )
        .with_value(id)
    }
    /// An owner listed twice in one pool.
    pub(crate) fn duplicate_member(path: String, owner: &str, pool: &str) -> Self {
        Self::error(
            DiagnosticCode::DuplicateId,
            path,
            format!("owner {} is in pool {} twice", q(owner), q(pool)),
        )
        .with_value(owner)
    }
    /// An owner or rule (`what`: `an owner`) with an empty id.
    pub(crate) fn missing_id(path: String, what: &str) -> Self {
        Self::error(DiagnosticCode::Empty, path, format!("{what} needs an id"))
    }
    /// A territory that includes nothing (`listed`: it lists places, all
    /// of them invalid).
    pub(crate) fn empty_territory(path: String, id: &str, listed: bool) -> Self {
        let help = (!listed).then(|| {
            "list `countries`, `regions` or `postal_codes` at the territory's top level".to_owned()
        });
        Self::error(
            DiagnosticCode::Empty,
            path,
            format!(
                "territory {} includes no country, region or postal code",
                q(id)
            ),
        )
        .with_help(help)
    }
    /// An empty postal-code prefix.
    pub(crate) fn empty_prefix(path: String) -> Self {
        Self::error(
            DiagnosticCode::Empty,
            path,
            "an empty prefix would match every postal code".to_owned(),
        )
    }
    /// A postal-code range with an empty end.
    pub(crate) fn empty_range_end(path: String) -> Self {
        Self::error(
            DiagnosticCode::Empty,
            path,
            "a postal-code range needs two non-empty ends".to_owned(),
        )
    }
    /// A postal-code set without prefixes or ranges.
    pub(crate) fn empty_postal_set(path: String) -> Self {
        Self::error(
            DiagnosticCode::Empty,
            path,
            "a postal-code set needs prefixes or ranges".to_owned(),
        )
    }
    /// An empty "any of" list.
    pub(crate) fn empty_list(path: String) -> Self {
        Self::error(
            DiagnosticCode::Empty,
            path,
            "an empty list never matches".to_owned(),
        )
    }
    /// Bounds with neither end.
    pub(crate) fn empty_bounds(path: String) -> Self {
        Self::error(
            DiagnosticCode::Empty,
            path,
            "bounds need a min, a max or both".to_owned(),
        )
    }
    /// A `spam` test with neither bound.
    pub(crate) fn empty_spam_test(path: String) -> Self {
        Self::error(
            DiagnosticCode::Empty,
            path,
            "a spam test needs `score_at_least`, `score_below` or both".to_owned(),
        )
    }
    /// A `spam` test no score can pass.
    pub(crate) fn empty_score_range(path: String, at_least: u32, below: u32) -> Self {
        Self::error(
            DiagnosticCode::InvertedRange,
            path,
            format!("no score is at least {at_least} and below {below}"),
        )
        .with_help(Some(
            "`score_below` must be above `score_at_least`".to_owned(),
        ))
    }
    /// An `account` / `contact` (`what`) test that names no fact.
    pub(crate) fn empty_record_test(path: String, what: &str) -> Self {
        Self::error(
            DiagnosticCode::Empty,
            path,
            format!("the {what} test names no fact to check"),
        )
    }
    /// An owner id that is not in the directory.
    pub(crate) fn unknown_owner(path: String, id: &str, suggestion: Option<&str>) -> Self {
        Self::error(
            DiagnosticCode::UnknownOwner,
            path,
            format!("unknown owner {}", q(id)),
        )
        .with_value(id)
        .with_help(suggestion.map(did_you_mean))
    }
    /// A pool id that does not exist.
    pub(crate) fn unknown_pool(path: String, id: &str, suggestion: Option<&str>) -> Self {
        Self::error(
            DiagnosticCode::UnknownPool,
            path,
            format!("unknown pool {}", q(id)),
        )
        .with_value(id)
        .with_help(suggestion.map(did_you_mean))
    }
    /// A territory id that does not exist.
    pub(crate) fn unknown_territory(path: String, id: &str, suggestion: Option<&str>) -> Self {
        Self::error(
            DiagnosticCode::UnknownTerritory,
            path,
            format!("unknown territory {}", q(id)),
        )
        .with_value(id)
        .with_help(suggestion.map(did_you_mean))
    }
    /// A regular expression that does not compile.
    pub(crate) fn invalid_regex(path: String, pattern: &str, error: &str) -> Self {
        Self::error(
            DiagnosticCode::InvalidRegex,
            path,
            format!("invalid regular expression: {error}"),
        )
        .with_value(pattern)
    }
    /// Not an alpha-2 country code; `suggestion` is the code it names, if any.
    pub(crate) fn unknown_country(path: String, raw: &str, suggestion: Option<&str>) -> Self {
        Self::error(
            DiagnosticCode::UnknownCountry,
            path,
            format!("{} is not an ISO 3166-1 alpha-2 country code", q(raw)),
        )
        .with_value(raw)
        .with_help(suggestion.map(did_you_mean))
    }
    /// Not a region code; `suggestion` is the closest code, if any.
    pub(crate) fn unknown_region(path: String, raw: &str, suggestion: Option<&str>) -> Self {
        Self::error(
            DiagnosticCode::UnknownRegion,
            path,
            format!(
                "{} is not an ISO 3166-2 subdivision code such as `US-CA`",
                q(raw)
            ),
        )
        .with_value(raw)
        .with_help(suggestion.map(did_you_mean))
    }
    /// `min` above `max`.
    pub(crate) fn inverted_bounds(path: String, min: u64, max: u64) -> Self {
        Self::error(
            DiagnosticCode::InvertedRange,
            path,
            format!("min {min} is above max {max}"),
        )
        .with_help(Some("swap `min` and `max`".to_owned()))
    }
    /// A postal range that starts after it ends.
    pub(crate) fn inverted_postal_range(path: String, from: &str, to: &str) -> Self {
        Self::error(
            DiagnosticCode::InvertedRange,
            path,
            format!("range [{}, {}] starts after it ends", q(from), q(to)),
        )
        .with_value(&format!("{from}..{to}"))
        .with_help(Some("swap the two ends".to_owned()))
    }
    /// A postal range whose ends have different lengths.
    pub(crate) fn range_ends_differ(path: String, from: &str, to: &str) -> Self {
        Self::error(
            DiagnosticCode::RangeEndsDiffer,
            path,
            format!(
                "range [{}, {}] needs two ends of the same length",
                q(from),
                q(to)
            ),
        )
        .with_value(&format!("{from}..{to}"))
        .with_help(Some(
            "a range compares that many leading characters of the postal code; \
             write both ends with the same number of characters"
                .to_owned(),
        ))
    }
    /// A pool without members.
    pub(crate) fn empty_pool(path: String, pool: &str) -> Self {
        Self::error(
            DiagnosticCode::EmptyPool,
            path,
            format!("pool {} has no members", q(pool)),
        )
    }
    /// A pool with more than `limit` members.
    pub(crate) fn too_many_members(path: String, pool: &str, n: usize, limit: usize) -> Self {
        Self::error(
            DiagnosticCode::TooManyMembers,
            path,
            format!("pool {} has {n} members; the limit is {limit}", q(pool)),
        )
    }
    /// A weight of zero.
    pub(crate) fn zero_weight(path: String) -> Self {
        Self::error(
            DiagnosticCode::InvalidNumber,
            path,
            "weight must be at least 1 (remove the member instead)".to_owned(),
        )
        .with_value("0")
    }
    /// A capacity of zero (`member`: on a member rather than the pool).
    pub(crate) fn zero_capacity(path: String, member: bool) -> Self {
        let message = if member {
            "a capacity of 0 would never assign; remove the member instead"
        } else {
            "a capacity of 0 would never assign"
        };
        Self::error(DiagnosticCode::InvalidNumber, path, message.to_owned()).with_value("0")
    }
    /// A pool whose fallbacks come back to it.
    pub(crate) fn pool_cycle(path: String, pool: &str) -> Self {
        Self::error(
            DiagnosticCode::PoolCycle,
            path,
            format!("pool {}'s fallbacks lead back to itself", q(pool)),
        )
    }
    /// The policy has no fallback.
    pub(crate) fn missing_fallback(path: String) -> Self {
        Self::error(
            DiagnosticCode::MissingFallback,
            path,
            "the policy has no fallback; every policy needs one so every lead gets a decision"
                .to_owned(),
        )
    }
    /// The fallback assigns `account_owner` or `contact_owner` (`assignee`).
    pub(crate) fn fallback_can_fail(path: String, assignee: &str) -> Self {
        Self::error(
            DiagnosticCode::FallbackCanFail,
            path,
            "the fallback must assign a named owner, a pool or nobody: an account or contact owner may not exist".to_owned(),
        )
        .with_value(assignee)
        .with_help(Some(
            "assign `{\"owner\": …}`, `{\"pool\": …}` or `\"nobody\"`; route account owners in a rule".to_owned(),
        ))
    }
    /// The fallback's `if_unavailable` is `"fallback"`.
    pub(crate) fn fallback_to_itself(path: String) -> Self {
        Self::error(
            DiagnosticCode::FallbackToItself,
            path,
            "the fallback cannot send leads to itself".to_owned(),
        )
        .with_value("fallback")
        .with_help(Some(
            "use `{\"assign\": {\"owner\": …}}` or leave `if_unavailable` out".to_owned(),
        ))
    }
    /// A rule that an earlier rule always beats (`how`: "the same as").
    pub(crate) fn unreachable_rule(path: String, rule: &str, how: &str, earlier: &str) -> Self {
        Self::error(
            DiagnosticCode::UnreachableRule,
            path,
            format!(
                "rule {} can never match: its condition is {how} that of earlier rule {}, which always decides first",
                q(rule),
                q(earlier)
            ),
        )
        .with_help(Some(format!(
            "move it above rule {} or narrow its condition",
            q(earlier)
        )))
    }
    /// A [`PolicyLimits`](super::PolicyLimits) limit exceeded at `path`:
    /// `found` says what is there, `limit` names the field.
    pub(crate) fn limit_exceeded(path: String, found: String, limit: &str, max: usize) -> Self {
        Self::error(
            DiagnosticCode::LimitExceeded,
            path,
            format!("{found}: more than the limit of {max} (PolicyLimits::{limit})"),
        )
        .with_help(Some(format!(
            "split the policy, or raise PolicyLimits::{limit} if this policy is trusted"
        )))
    }
    /// The unreachable-rule check stopped at its budget before `rule`.
    pub(crate) fn shadow_check_skipped(path: String, rule: &str, done: usize) -> Self {
        Self::warning(
            DiagnosticCode::CheckSkipped,
            path,
            format!(
                "the unreachable-rule check stopped at rule {} after {done} comparisons (PolicyLimits::max_shadow_comparisons): this rule and the ones after it were not checked for being shadowed by earlier rules",
                q(rule)
            ),
        )
    }
    /// Direct assignment to an inactive owner.
    pub(crate) fn inactive_owner(path: String, id: &str) -> Self {
        Self::error(
            DiagnosticCode::InactiveOwner,
            path,
            format!(
                "owner {} is inactive and cannot be assigned directly",
                q(id)
            ),
        )
        .with_value(id)
    }
    /// An inactive pool member (a warning).
    pub(crate) fn inactive_pool_member(path: String, id: &str) -> Self {
        Self::warning(
            DiagnosticCode::InactivePoolMember,
            path,
            format!("owner {} is inactive and will always be skipped", q(id)),
        )
        .with_value(id)
    }
    /// A comparison value that is not text, a number or a boolean.
    pub(crate) fn type_mismatch(path: String, found: &str, value: &str) -> Self {
        Self::error(
            DiagnosticCode::TypeMismatch,
            path,
            format!("compare with text, numbers or booleans, not {found}"),
        )
        .with_value(value)
        .with_help(Some(
            "use `one_of` for several values and `exists` for presence".to_owned(),
        ))
    }
    /// `book_meeting` on the assigned owner's calendar when nobody is assigned.
    pub(crate) fn no_calendar(path: String) -> Self {
        Self::error(
            DiagnosticCode::NoCalendar,
            path,
            "book_meeting on the assigned owner's calendar, but the action assigns nobody"
                .to_owned(),
        )
        .with_help(Some(
            "name the calendar: {\"book_meeting\": {\"calendar\": {\"owner\": …}}}".to_owned(),
        ))
    }
    // ------------------------------------------------------------ linting

    /// Rule `rule` is covered by earlier rules `by`; `passed_on`: at least one
    /// of them can pass leads on (so the rule sees only those), else together
    /// they decide every lead it matches.
    pub(crate) fn shadowed_rule(path: String, rule: &str, by: &[&str], passed_on: bool) -> Self {
        let list = q_list(by);
        let (message, help) = if passed_on {
            (
                format!(
                    "rule {} only sees leads that earlier {} {list} {} on: its condition is covered by theirs",
                    q(rule),
                    if by.len() == 1 { "rule" } else { "rules" },
                    if by.len() == 1 { "passes" } else { "pass" },
                ),
                "a rule that takes over when a pool has nobody eligible or a record has no owner is clearer as `if_unavailable` on the earlier rule; otherwise move it up or narrow its condition".to_owned(),
            )
        } else {
            (
                format!(
                    "rule {} can never match: together, earlier rules {list} decide every lead its condition matches",
                    q(rule)
                ),
                "move it above those rules or narrow its condition".to_owned(),
            )
        };
        Self::warning(DiagnosticCode::ShadowedRule, path, message)
            .with_value(by.first().copied().unwrap_or_default())
            .with_help(Some(help))
    }
    /// Territories `a` and (later, at `path`) `b` both include `shared` (a
    /// few examples; `more` beyond them).
    pub(crate) fn overlapping_territories(
        path: String,
        a: &str,
        b: &str,
        shared: &[String],
        more: usize,
    ) -> Self {
        let mut places = shared.join(", ");
        if more > 0 {
            places.push_str(&format!(" and {more} more"));
        }
        Self::warning(
            DiagnosticCode::OverlappingTerritories,
            path,
            format!(
                "territories {} and {} overlap: both include {places}",
                q(a),
                q(b)
            ),
        )
        .with_value(b)
        .with_help(Some(format!(
            "a lead there is decided by whichever rule testing {} or {} comes first; exclude the shared places from one of them if that is not meant",
            q(a),
            q(b)
        )))
    }
    /// An owner nothing refers to.
    pub(crate) fn unused_owner(path: String, id: &str) -> Self {
        Self::warning(
            DiagnosticCode::UnusedOwner,
            path,
            format!(
                "owner {} is never assigned: no rule, pool, fallback or calendar names it",
                q(id)
            ),
        )
        .with_value(id)
        .with_help(Some("remove it, or add it to a pool or a rule".to_owned()))
    }
    /// A pool nothing refers to.
    pub(crate) fn unused_pool(path: String, id: &str) -> Self {
        Self::warning(
            DiagnosticCode::UnusedPool,
            path,
            format!(
                "pool {} is never used: no rule, fallback or used pool's fallback names it",
                q(id)
            ),
        )
        .with_value(id)
        .with_help(Some("remove it, or assign it in a rule".to_owned()))
    }
    /// `check_availability = true` on an action assigning `assignee` (a
    /// pool or nobody), where it changes nothing.
    pub(crate) fn ignored_availability_check(path: String, assignee: &str) -> Self {
        Self::warning(
            DiagnosticCode::IgnoredAvailabilityCheck,
            path,
            format!(
                "`check_availability` has no effect here: the action assigns {assignee}, and it only applies to an owner the action names (`owner`, `account_owner`, `contact_owner`)"
            ),
        )
        .with_value("true")
        .with_help(Some(if assignee == "nobody" {
            "remove `check_availability`".to_owned()
        } else {
            "remove it; the pool skips off-shift and away members itself (`respect_schedules` on the pool decides whether schedules count)".to_owned()
        }))
    }
    /// A territory no rule tests.
    pub(crate) fn unused_territory(path: String, id: &str) -> Self {
        Self::warning(
            DiagnosticCode::UnusedTerritory,
            path,
            format!("territory {} is never tested by a rule", q(id)),
        )
        .with_value(id)
        .with_help(Some(
            "remove it, or test it in a rule: {\"territory\": …}".to_owned(),
        ))
    }
    /// Leads from `country` (with `employees`, a range, if given) that no
    /// rule on country or size matches; `near` names the rules around.
    pub(crate) fn fallback_only(
        path: String,
        country: &str,
        employees: Option<(u64, u64)>,
        near: &[&str],
    ) -> Self {
        let (message, help) = match employees {
            Some((lo, hi)) => (
                format!(
                    "leads from {} with {} employees match no rule on country or company size: only rules on other facts, or the fallback, decide them",
                    q(country),
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}–{hi}")
                    }
                ),
                format!(
                    "the segments of {} end and start again around this range; widen {} or add a rule for it",
                    q(country),
                    q_list(near)
                ),
            ),
            None => (
                format!(
                    "leads from {} match no rule on country or company size, though the policy names it: only rules on other facts, or the fallback, decide them",
                    q(country)
                ),
                format!(
                    "the rules naming it ({}) can never match it together with their other tests",
                    q_list(near)
                ),
            ),
        };
        Self::warning(DiagnosticCode::FallbackOnly, path, message)
            .with_value(country)
            .with_help(Some(help))
    }
    /// A condition that can never hold (a warning).
    pub(crate) fn never_matches(path: String) -> Self {
        Self::warning(
            DiagnosticCode::NeverMatches,
            path,
            "the condition can never hold (`always: false` or an empty `any`); the rule never matches"
                .to_owned(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sink_keeps_at_most_the_limit_of_each_severity() {
        let mut sink = Sink::default();
        for i in 0..CompileError::LIMIT + 5 {
            sink.push(Diagnostic::empty_list(format!("rules[{i}].when.country")));
            sink.push(Diagnostic::never_matches(format!("rules[{i}].when")));
        }
        assert!(!sink.has_room());
        let e = sink.into_error();
        assert_eq!(e.errors.len(), 100);
        assert_eq!(e.warnings.len(), 100);
        assert_eq!((e.omitted_errors, e.omitted_warnings), (5, 5));
        assert_eq!(e.error_count(), 105);
        let text = e.to_string();
        assert!(text.starts_with("policy does not compile: 105 errors\n"));
        assert!(text.ends_with("\n  … and 10 more"), "{text}");
        assert_eq!(
            serde_json::to_value(&e).unwrap()["omitted_errors"],
            serde_json::json!(5)
        );
    }

    #[test]
    fn json_leaves_out_absent_fields() {
        let d = Diagnostic::empty_list("rules[0].when.country".into());
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({
                "severity": "error", "code": "empty", "path": "rules[0].when.country",
                "message": "an empty list never matches"
            })
        );
        let e = Sink::default().into_error();
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"errors": [], "warnings": []})
        );
    }

    #[test]
    fn values_are_shortened() {
        let long = "x".repeat(500);
        let d = Diagnostic::unknown_owner("fallback.assign.owner".into(), &long, None);
        assert_eq!(d.value.as_deref().map(|v| v.chars().count()), Some(65));
        assert!(d.message.len() < 100);
    }
}
