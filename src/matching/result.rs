//! [`AccountMatch`]: what the matcher decided and why — the chosen account
//! (or none, or **ambiguous**), the method, the confidence, the tie-breaker,
//! and every candidate with the evidence behind its score.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::tiebreak::TieBreaker;
use crate::name::Name;

/// How an account was identified: the strongest identifying signal of the
/// chosen candidate. JSON: the snake_case name.
///
/// Listed from strongest to weakest (the `method` tie-breaker's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MatchMethod {
    /// The account's domain is the lead's (email host or company domain).
    ExactDomain,
    /// One of the account's additional domains is the lead's.
    AdditionalDomain,
    /// Same registrable domain, one host a subdomain of the other.
    Subdomain,
    /// Most contacts with the lead's email domain belong to the account.
    ContactDomain,
    /// The same brand under another public suffix (`acme.co.uk` ↔ `acme.com`).
    CrossTld,
    /// Equal company-name keys.
    NameKey,
    /// Similar company-name keys, with a supporting signal.
    FuzzyName,
    /// One name is the other's acronym, with a supporting signal.
    Acronym,
}

impl MatchMethod {
    /// Every method, strongest first.
    pub const ALL: [MatchMethod; 8] = [
        MatchMethod::ExactDomain,
        MatchMethod::AdditionalDomain,
        MatchMethod::Subdomain,
        MatchMethod::ContactDomain,
        MatchMethod::CrossTld,
        MatchMethod::NameKey,
        MatchMethod::FuzzyName,
        MatchMethod::Acronym,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMethod::ExactDomain => "exact_domain",
            MatchMethod::AdditionalDomain => "additional_domain",
            MatchMethod::Subdomain => "subdomain",
            MatchMethod::ContactDomain => "contact_domain",
            MatchMethod::CrossTld => "cross_tld",
            MatchMethod::NameKey => "name_key",
            MatchMethod::FuzzyName => "fuzzy_name",
            MatchMethod::Acronym => "acronym",
        }
    }

    /// In words, for explanations ("cross-TLD domain").
    pub fn describe(self) -> &'static str {
        match self {
            MatchMethod::ExactDomain => "exact domain",
            MatchMethod::AdditionalDomain => "additional domain",
            MatchMethod::Subdomain => "subdomain",
            MatchMethod::ContactDomain => "contacts' email domain",
            MatchMethod::CrossTld => "cross-TLD domain",
            MatchMethod::NameKey => "company name",
            MatchMethod::FuzzyName => "similar company name",
            MatchMethod::Acronym => "acronym",
        }
    }

    /// Whether the method reads names (the others read domains).
    pub fn is_name_method(self) -> bool {
        matches!(
            self,
            MatchMethod::NameKey | MatchMethod::FuzzyName | MatchMethod::Acronym
        )
    }

    /// Strength for the `method` tie-breaker: 8 for `exact_domain` down to
    /// 1 for `acronym`.
    pub(crate) fn strength(self) -> u8 {
        match self {
            MatchMethod::ExactDomain => 8,
            MatchMethod::AdditionalDomain => 7,
            MatchMethod::Subdomain => 6,
            MatchMethod::ContactDomain => 5,
            MatchMethod::CrossTld => 4,
            MatchMethod::NameKey => 3,
            MatchMethod::FuzzyName => 2,
            MatchMethod::Acronym => 1,
        }
    }

    /// A bit for sets of methods (policy conditions).
    pub(crate) fn bit(self) -> u16 {
        1 << (8 - self.strength())
    }

    /// The method of this snake_case name.
    pub fn from_name(name: &str) -> Option<MatchMethod> {
        MatchMethod::ALL.into_iter().find(|m| m.as_str() == name)
    }
}

impl fmt::Display for MatchMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one piece of evidence is. JSON: one snake_case word, a method's
/// own name for [`Signal::Method`] (`"cross_tld"`, `"country"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// An identifying signal (see [`MatchMethod`]).
    Method(MatchMethod),
    /// The brands of two domains are similar, or one is the other's name.
    DomainSimilarity,
    /// Same country.
    Country,
    /// Same postal code.
    PostalCode,
    /// Same phone number.
    Phone,
    /// Both have business domains and they are unrelated.
    DomainConflict,
    /// Both have countries and they differ.
    CountryConflict,
    /// A domain the matcher never matches on (free-mail, disposable,
    /// reserved): recorded, worth nothing.
    UnusableDomain,
}

impl Signal {
    /// The snake_case name (a method's own name for [`Signal::Method`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Method(m) => m.as_str(),
            Signal::DomainSimilarity => "domain_similarity",
            Signal::Country => "country",
            Signal::PostalCode => "postal_code",
            Signal::Phone => "phone",
            Signal::DomainConflict => "domain_conflict",
            Signal::CountryConflict => "country_conflict",
            Signal::UnusableDomain => "unusable_domain",
        }
    }
}

/// One piece of evidence about a candidate, and what it was worth.
///
/// JSON: `{"signal": "cross_tld", "lead": "acme.co.uk", "account":
/// "acme.com", "points": 0.7}`; `points` is negative for a conflict and 0
/// for evidence that only qualifies (a second name signal, an unusable
/// domain).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Evidence {
    /// What it is.
    pub signal: Signal,
    /// The lead's side (`acme.co.uk`, `acme`, `GB`). (Short text is kept
    /// inline: most evidence costs no allocation.)
    pub lead: Name,
    /// The account's side.
    pub account: Name,
    /// Points added to (or, negative, taken from) the score.
    pub points: f64,
}

/// Where a candidate ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CandidateStatus {
    /// The matched account.
    Chosen,
    /// Close enough to the best to contend, and the tie-breakers did not
    /// separate it from the others (an ambiguous match).
    Tied,
    /// Close enough to contend; a tie-breaker preferred another.
    LostTieBreak,
    /// Eligible, but scored clearly below the best.
    Outscored,
    /// Scored below `min_confidence`.
    BelowThreshold,
    /// A name-only signal (fuzzy name, acronym, or any name for a free-email
    /// lead) without the supporting signal it needs.
    NeedsSupport,
    /// Nothing identifies it with the lead.
    NoEvidence,
}

impl CandidateStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateStatus::Chosen => "chosen",
            CandidateStatus::Tied => "tied",
            CandidateStatus::LostTieBreak => "lost_tie_break",
            CandidateStatus::Outscored => "outscored",
            CandidateStatus::BelowThreshold => "below_threshold",
            CandidateStatus::NeedsSupport => "needs_support",
            CandidateStatus::NoEvidence => "no_evidence",
        }
    }
}

/// One candidate account as the matcher saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CandidateReport {
    /// The account id.
    pub account_id: Name,
    /// The account name.
    pub name: Name,
    /// Its score, 0 to 1 (three decimals).
    pub score: f64,
    /// Its strongest identifying signal, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<MatchMethod>,
    /// Where it ended up.
    pub status: CandidateStatus,
    /// Every signal found, strongest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// The outcome in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MatchOutcome {
    /// One account was chosen.
    Matched,
    /// Several accounts fit equally well and no tie-breaker separated them;
    /// none was chosen.
    Ambiguous,
    /// No candidate qualified.
    NoMatch,
}

/// The matcher's result for one lead.
///
/// # JSON contract
///
/// `outcome` (`"matched"`, `"ambiguous"`, `"no_match"`), `account_id` and
/// `account_name` (the matched account, `null` unless matched),
/// `routed_account_id` (the account whose owner routing uses: the parent
/// with `route_to_parent`, else the matched account), `method`
/// ([`MatchMethod`] or `null`), `confidence` (0–1: the matched account's
/// score; for an ambiguous match the contenders' best), `tie_breaker` (the
/// [`TieBreaker`] that decided, or `null`), `candidates` (every candidate,
/// best first: [`CandidateReport`]) and `ignored_candidates` (how many were
/// past `max_candidates`).
///
/// `Display` renders one line: "matched Acme Corporation (acme.com) by
/// cross-TLD domain acme.co.uk, confidence 0.85; 1 other candidate: Acme
/// Labs 0.45 (below threshold)".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccountMatch {
    /// Matched, ambiguous or no match.
    pub outcome: MatchOutcome,
    /// The matched account's id.
    pub account_id: Option<String>,
    /// The matched account's name.
    pub account_name: Option<String>,
    /// The account whose owner routing uses (the parent, with
    /// `route_to_parent`).
    pub routed_account_id: Option<String>,
    /// How it was matched.
    pub method: Option<MatchMethod>,
    /// The matched account's score (ambiguous: the best contender's).
    pub confidence: f64,
    /// The tie-breaker that decided, if one had to.
    pub tie_breaker: Option<TieBreaker>,
    /// Every candidate, best first.
    pub candidates: Vec<CandidateReport>,
    /// Candidates past `max_candidates`, not considered.
    #[serde(default)]
    pub ignored_candidates: usize,
}

impl AccountMatch {
    /// A result with no candidates at all.
    pub fn none() -> Self {
        AccountMatch {
            outcome: MatchOutcome::NoMatch,
            account_id: None,
            account_name: None,
            routed_account_id: None,
            method: None,
            confidence: 0.0,
            tie_breaker: None,
            candidates: Vec::new(),
            ignored_candidates: 0,
        }
    }

    /// Whether an account was chosen.
    pub fn is_matched(&self) -> bool {
        self.outcome == MatchOutcome::Matched
    }

    /// Whether the evidence did not separate the best candidates.
    pub fn is_ambiguous(&self) -> bool {
        self.outcome == MatchOutcome::Ambiguous
    }

    /// The confidence in thousandths (what policy conditions compare).
    pub(crate) fn confidence_permille(&self) -> u16 {
        // Scores are clamped to 0..=1, so this fits.
        (self.confidence * 1000.0).round().clamp(0.0, 1000.0) as u16
    }

    fn chosen(&self) -> Option<&CandidateReport> {
        self.candidates
            .iter()
            .find(|c| c.status == CandidateStatus::Chosen)
    }
}

impl fmt::Display for AccountMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chosen = self.chosen();
        match (self.outcome, chosen) {
            (MatchOutcome::Matched, Some(c)) => {
                let method = self.method.map_or("evidence", MatchMethod::describe);
                let ev = c
                    .evidence
                    .iter()
                    .find(|e| Some(e.signal) == self.method.map(Signal::Method));
                write!(f, "matched {}", c.name)?;
                if let Some(e) = ev {
                    write!(f, " ({}) by {method} {}", e.account, e.lead)?;
                } else {
                    write!(f, " by {method}")?;
                }
                write!(f, ", confidence {:.2}", self.confidence)?;
                if let Some(t) = self.tie_breaker {
                    write!(f, ", tie broken by {} ({})", t.as_str(), t.describe())?;
                }
                if let Some(parent) = self
                    .routed_account_id
                    .as_deref()
                    .filter(|p| Some(*p) != self.account_id.as_deref())
                {
                    write!(f, ", routed to parent account {parent}")?;
                }
            }
            (MatchOutcome::Ambiguous, _) => {
                let tied: Vec<&str> = self
                    .candidates
                    .iter()
                    .filter(|c| c.status == CandidateStatus::Tied)
                    .map(|c| c.name.as_str())
                    .collect();
                write!(
                    f,
                    "ambiguous: {} accounts fit equally well ({}), confidence {:.2}; none chosen",
                    tied.len(),
                    tied.join(", "),
                    self.confidence
                )?;
            }
            _ => f.write_str("no account matched")?,
        }
        let others: Vec<&CandidateReport> = self
            .candidates
            .iter()
            .filter(|c| {
                c.status != CandidateStatus::Chosen
                    && c.status != CandidateStatus::Tied
                    && c.status != CandidateStatus::NoEvidence
            })
            .collect();
        let quiet = self
            .candidates
            .iter()
            .filter(|c| c.status == CandidateStatus::NoEvidence)
            .count();
        if !others.is_empty() {
            let n = others.len();
            let label = if self.outcome == MatchOutcome::Matched {
                "other "
            } else {
                ""
            };
            write!(
                f,
                "; {n} {label}candidate{}: ",
                if n == 1 { "" } else { "s" }
            )?;
            for (i, c) in others.iter().take(5).enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{} {:.2} (", c.name, c.score)?;
                if let Some(m) = c.method {
                    write!(f, "{}, ", m.as_str())?;
                }
                write!(f, "{})", c.status.as_str().replace('_', " "))?;
            }
            if n > 5 {
                write!(f, ", and {} more", n - 5)?;
            }
        }
        if quiet > 0 {
            write!(
                f,
                "; {quiet} candidate{} without evidence",
                if quiet == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

const OTHER_SIGNALS: [Signal; 7] = [
    Signal::DomainSimilarity,
    Signal::Country,
    Signal::PostalCode,
    Signal::Phone,
    Signal::DomainConflict,
    Signal::CountryConflict,
    Signal::UnusableDomain,
];

impl Serialize for Signal {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Signal, D::Error> {
        let name = String::deserialize(d)?;
        MatchMethod::from_name(&name)
            .map(Signal::Method)
            .or_else(|| OTHER_SIGNALS.into_iter().find(|s| s.as_str() == name))
            .ok_or_else(|| serde::de::Error::custom(format!("unknown signal `{name}`")))
    }
}
