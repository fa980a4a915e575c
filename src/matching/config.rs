//! [`MatchConfig`]: the matcher's weights, thresholds, tie-breakers and
//! options as data (serde), checked once by [`MatchConfig::validate`] (and
//! [`Matcher::new`](super::Matcher::new)) into typed [`MatchConfigError`]s.

use serde::{Deserialize, Serialize};

use super::tiebreak::TieBreaker;

/// How the matcher weighs evidence and decides. Every key is optional in
/// JSON or TOML; an absent key takes its documented default.
///
/// | key | default | meaning |
/// |---|---|---|
/// | `weights` | see [`Weights`] | points per signal |
/// | `min_confidence` | `0.75` | a candidate needs at least this score to be matched |
/// | `ambiguity_margin` | `0.05` | candidates within this of the best score are contenders; the tie-breakers separate them or the match is ambiguous |
/// | `fuzzy_min_similarity` | `0.92` | Jaro–Winkler similarity of two name keys for `fuzzy_name` |
/// | `min_brand_len` | `4` | shortest domain brand (`acme` of `acme.co.uk`) for `cross_tld` and domain similarity |
/// | `min_contacts` | `2` | fewest contacts on the lead's email domain for `contact_domain` |
/// | `contact_majority` | `0.5` | share of those contacts an account must have at least for `contact_domain` |
/// | `tie_breakers` | [`TieBreaker::DEFAULT_ORDER`] | applied in order to the contenders |
/// | `route_to_parent` | `false` | route a subsidiary's lead to its parent account (when the parent is a candidate) |
/// | `max_candidates` | `50` | most candidates read (from the CRM and by the matcher); the rest are ignored and counted |
///
/// ```
/// use leadroute::matching::{MatchConfig, TieBreaker};
///
/// let config = MatchConfig::from_json_str(r#"{
///   "min_confidence": 0.8,
///   "weights": {"cross_tld": 0.75},
///   "tie_breakers": ["method", "customer", "same_country"],
///   "route_to_parent": true
/// }"#)?;
/// assert_eq!(config.weights.cross_tld, 0.75);
/// assert_eq!(config.weights.exact_domain, 1.0); // not given: the default
/// assert_eq!(config.tie_breakers[1], TieBreaker::Customer);
/// let bad = MatchConfig::from_json_str(r#"{"min_confidence": 1.5}"#).unwrap_err();
/// assert_eq!(bad.to_string(), "`min_confidence` is 1.5, must be between 0 and 1");
/// # Ok::<(), leadroute::matching::MatchConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct MatchConfig {
    /// Points per signal.
    pub weights: Weights,
    /// A candidate needs at least this score to be matched.
    pub min_confidence: f64,
    /// Candidates within this of the best score are contenders.
    pub ambiguity_margin: f64,
    /// Jaro–Winkler similarity of two name keys for `fuzzy_name` (and of
    /// two brands for domain similarity).
    pub fuzzy_min_similarity: f64,
    /// Shortest domain brand for `cross_tld` and domain similarity.
    pub min_brand_len: usize,
    /// Fewest contacts on the lead's email domain for `contact_domain`.
    pub min_contacts: u32,
    /// Share of those contacts an account must have at least for `contact_domain`.
    pub contact_majority: f64,
    /// Tie-breakers, in order.
    pub tie_breakers: Vec<TieBreaker>,
    /// Route a subsidiary's lead to its parent account when the parent is
    /// among the candidates.
    pub route_to_parent: bool,
    /// Most candidates considered.
    pub max_candidates: usize,
}

impl Default for MatchConfig {
    fn default() -> Self {
        MatchConfig {
            weights: Weights::default(),
            min_confidence: 0.75,
            ambiguity_margin: 0.05,
            fuzzy_min_similarity: 0.92,
            min_brand_len: 4,
            min_contacts: 2,
            contact_majority: 0.5,
            tie_breakers: TieBreaker::DEFAULT_ORDER.to_vec(),
            route_to_parent: false,
            max_candidates: 50,
        }
    }
}

/// The most candidates a config may ask for.
pub const MAX_CANDIDATES_LIMIT: usize = 1_000;

/// Points per signal: a candidate's score is the weight of its strongest
/// *identifying* signal (its method) plus the `support_*` points of every
/// other agreeing signal, minus the `conflict_*` points, clamped to 0–1.
///
/// | key | default | signal |
/// |---|---|---|
/// | `exact_domain` | `1.0` | the account's domain is the lead's |
/// | `additional_domain` | `0.95` | one of the account's additional domains is the lead's |
/// | `subdomain` | `0.9` | same registrable domain, one a subdomain of the other |
/// | `contact_domain` | `0.85` | most contacts on the lead's email domain belong to the account |
/// | `name_key` | `0.8` | company-name keys are equal |
/// | `cross_tld` | `0.7` | same brand under another suffix (`acme.co.uk` ↔ `acme.com`) |
/// | `fuzzy_name` | `0.6` | name keys are similar (needs support) |
/// | `acronym` | `0.5` | one name is the other's acronym (needs support) |
/// | `support_name` | `0.15` | names agree (key, fuzzy or acronym) beside a domain method |
/// | `support_domain` | `0.15` | domains agree (brand or similar brand) beside a name method |
/// | `support_country` | `0.1` | same country |
/// | `support_postal_code` | `0.15` | same postal code |
/// | `support_phone` | `0.2` | same phone number |
/// | `conflict_domain` | `0.3` | both have business domains and they are unrelated |
/// | `conflict_country` | `0.1` | both have countries and they differ |
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
#[allow(missing_docs)] // each field is documented in the table above
pub struct Weights {
    pub exact_domain: f64,
    pub additional_domain: f64,
    pub subdomain: f64,
    pub contact_domain: f64,
    pub name_key: f64,
    pub cross_tld: f64,
    pub fuzzy_name: f64,
    pub acronym: f64,
    pub support_name: f64,
    pub support_domain: f64,
    pub support_country: f64,
    pub support_postal_code: f64,
    pub support_phone: f64,
    pub conflict_domain: f64,
    pub conflict_country: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            exact_domain: 1.0,
            additional_domain: 0.95,
            subdomain: 0.9,
            contact_domain: 0.85,
            name_key: 0.8,
            cross_tld: 0.7,
            fuzzy_name: 0.6,
            acronym: 0.5,
            support_name: 0.15,
            support_domain: 0.15,
            support_country: 0.1,
            support_postal_code: 0.15,
            support_phone: 0.2,
            conflict_domain: 0.3,
            conflict_country: 0.1,
        }
    }
}

impl Weights {
    fn named(&self) -> [(&'static str, f64); 15] {
        [
            ("exact_domain", self.exact_domain),
            ("additional_domain", self.additional_domain),
            ("subdomain", self.subdomain),
            ("contact_domain", self.contact_domain),
            ("name_key", self.name_key),
            ("cross_tld", self.cross_tld),
            ("fuzzy_name", self.fuzzy_name),
            ("acronym", self.acronym),
            ("support_name", self.support_name),
            ("support_domain", self.support_domain),
            ("support_country", self.support_country),
            ("support_postal_code", self.support_postal_code),
            ("support_phone", self.support_phone),
            ("conflict_domain", self.conflict_domain),
            ("conflict_country", self.conflict_country),
        ]
    }
}

/// A matcher config that cannot be used: what was wrong and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MatchConfigError {
    /// The text is not a config (JSON syntax, an unknown key, a wrong type).
    #[error("matcher config does not read: {message}")]
    Syntax {
        /// serde's message, with line and column.
        message: String,
    },
    /// A number outside its range.
    #[error("`{key}` is {value}, must be between {min} and {max}")]
    OutOfRange {
        /// The key (`min_confidence`, `weights.cross_tld`, …).
        key: String,
        /// The value given.
        value: f64,
        /// Smallest allowed.
        min: f64,
        /// Largest allowed.
        max: f64,
    },
    /// A tie-breaker named twice.
    #[error("tie-breaker `{tie_breaker}` is listed twice (at {first} and {second})")]
    DuplicateTieBreaker {
        /// Its name.
        tie_breaker: &'static str,
        /// First position (0-based).
        first: usize,
        /// Second position.
        second: usize,
    },
}

impl MatchConfig {
    /// Reads a config from JSON and validates it.
    pub fn from_json_str(s: &str) -> Result<Self, MatchConfigError> {
        let config: MatchConfig =
            serde_json::from_str(s).map_err(|e| MatchConfigError::Syntax {
                message: e.to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks every number against its range and the tie-breakers for
    /// repeats; the first problem found is returned.
    pub fn validate(&self) -> Result<(), MatchConfigError> {
        let range = |key: String, value: f64, min: f64, max: f64| {
            if value.is_finite() && value >= min && value <= max {
                Ok(())
            } else {
                Err(MatchConfigError::OutOfRange {
                    key,
                    value,
                    min,
                    max,
                })
            }
        };
        for (key, w) in self.weights.named() {
            range(format!("weights.{key}"), w, 0.0, 1.0)?;
        }
        range("min_confidence".into(), self.min_confidence, 0.0, 1.0)?;
        range("ambiguity_margin".into(), self.ambiguity_margin, 0.0, 1.0)?;
        range(
            "fuzzy_min_similarity".into(),
            self.fuzzy_min_similarity,
            0.5,
            1.0,
        )?;
        range("contact_majority".into(), self.contact_majority, 0.0, 1.0)?;
        range("min_brand_len".into(), self.min_brand_len as f64, 2.0, 63.0)?;
        range(
            "min_contacts".into(),
            f64::from(self.min_contacts),
            1.0,
            1e6,
        )?;
        range(
            "max_candidates".into(),
            self.max_candidates as f64,
            1.0,
            MAX_CANDIDATES_LIMIT as f64,
        )?;
        for (i, t) in self.tie_breakers.iter().enumerate() {
            if let Some(first) = self.tie_breakers.iter().take(i).position(|x| x == t) {
                return Err(MatchConfigError::DuplicateTieBreaker {
                    tie_breaker: t.as_str(),
                    first,
                    second: i,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_validates_and_bad_values_are_named() {
        assert_eq!(MatchConfig::default().validate(), Ok(()));
        let e = MatchConfig::from_json_str(r#"{"weights": {"acronym": -0.1}}"#).unwrap_err();
        assert!(
            matches!(&e, MatchConfigError::OutOfRange { key, .. } if key == "weights.acronym"),
            "{e}"
        );
        let e =
            MatchConfig::from_json_str(r#"{"tie_breakers": ["customer", "method", "customer"]}"#)
                .unwrap_err();
        assert_eq!(
            e.to_string(),
            "tie-breaker `customer` is listed twice (at 0 and 2)"
        );
        let e = MatchConfig::from_json_str(r#"{"min_confidense": 0.5}"#).unwrap_err();
        assert!(
            e.to_string().contains("unknown field `min_confidense`"),
            "{e}"
        );
        let e = MatchConfig::from_json_str(r#"{"max_candidates": 0}"#).unwrap_err();
        assert!(e.to_string().starts_with("`max_candidates` is 0"), "{e}");
    }
}
