//! Company names as the matcher compares them: a **match key** (the lead
//! normalizer's company key with connectors folded, so `Procter & Gamble`,
//! `Procter and Gamble` and `Procter und Gamble` key alike), the words it is
//! made of, and **acronyms** (`AMD` ↔ `Advanced Micro Devices`).

use crate::lead::company::company_words;

/// Words that join two names in a company name, in the languages whose
/// legal forms the key already knows: English `and` (and `&`, `+`, which
/// fold to it), German `und`, French `et`, Spanish `y`, Italian and
/// Portuguese `e`, Dutch `en`, Swedish `och`, Danish and Norwegian `og`.
/// Dropped only *between* two words, so `Y Combinator` keeps its `y`.
const CONNECTORS: &[&str] = &["and", "und", "et", "y", "e", "en", "och", "og"];

/// Words an acronym skips (`Bank of America` → `BOA`, `BofA` aside).
const ACRONYM_SKIPS: &[&str] = &["of", "the", "for", "de", "du", "der", "des", "la", "le"];

/// A company name prepared for matching.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NameKey {
    /// The identity words, connectors between words removed.
    pub(crate) words: Vec<String>,
    /// The words joined.
    pub(crate) key: String,
    /// The key with German umlaut spellings folded (`ue` → `u`, `oe` →
    /// `o`, `ae` → `a`), so `Mueller` keys like `Müller` (which
    /// transliterates to `muller`).
    pub(crate) folded: String,
    /// The first letters of the words (skipping [`ACRONYM_SKIPS`]), when the
    /// name has at least two such words.
    pub(crate) initials: Option<String>,
}

impl NameKey {
    /// The key of `name`, or `None` for a name without letters or digits.
    pub(crate) fn new(name: &str) -> Option<NameKey> {
        let raw = company_words(name)?;
        let last = raw.len().saturating_sub(1);
        let words: Vec<String> = raw
            .into_iter()
            .enumerate()
            .filter(|(i, w)| *i == 0 || *i == last || !CONNECTORS.contains(&w.as_str()))
            .map(|(_, w)| w)
            .collect();
        let key = words.concat();
        if key.is_empty() {
            return None;
        }
        let letters: String = words
            .iter()
            .filter(|w| !ACRONYM_SKIPS.contains(&w.as_str()))
            .filter_map(|w| w.chars().next())
            .collect();
        let initials = (letters.len() >= 2 && words.len() >= 2).then_some(letters);
        let folded = fold_umlauts(&key);
        Some(NameKey {
            words,
            folded,
            key,
            initials,
        })
    }

    /// Whether this name is written as an acronym: one word of 2 to 6
    /// letters or digits (`IBM`, `AMD`, `3M`).
    pub(crate) fn is_acronym_shaped(&self) -> bool {
        self.words.len() == 1 && (2..=6).contains(&self.key.len())
    }

    /// `self` is the acronym of `other` (or the other way round): the
    /// acronym the shorter one is written as.
    pub(crate) fn acronym_of<'a>(&'a self, other: &'a NameKey) -> Option<&'a str> {
        if self.is_acronym_shaped() && other.initials.as_deref() == Some(self.key.as_str()) {
            Some(&self.key)
        } else if other.is_acronym_shaped() && self.initials.as_deref() == Some(other.key.as_str())
        {
            Some(&other.key)
        } else {
            None
        }
    }
}

/// `ae`, `oe`, `ue` → `a`, `o`, `u`, in one pass.
fn fold_umlauts(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut prev: Option<char> = None;
    for c in key.chars() {
        if c == 'e' && matches!(prev, Some('a' | 'o' | 'u')) {
            prev = None;
            continue;
        }
        out.push(c);
        prev = Some(c);
    }
    out
}

/// Jaro–Winkler similarity of two keys (0 to 1), from `strsim`.
pub(crate) fn similarity(a: &str, b: &str) -> f64 {
    strsim::jaro_winkler(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        NameKey::new(s).map(|k| k.key).unwrap_or_default()
    }

    #[test]
    fn connectors_legal_forms_and_accents_fold_away() {
        assert_eq!(key("Procter & Gamble Co."), "proctergamble");
        assert_eq!(key("Procter and Gamble"), "proctergamble");
        assert_eq!(key("Procter und Gamble GmbH"), "proctergamble");
        assert_eq!(key("Müller & Söhne KG"), "mullersohne");
        assert_eq!(key("Y Combinator"), "ycombinator");
        assert_eq!(key("Société Générale S.A."), "societegenerale");
        assert_eq!(NameKey::new("---"), None);
    }

    #[test]
    fn acronyms_match_initials_both_ways() {
        let amd = NameKey::new("AMD").unwrap();
        let full = NameKey::new("Advanced Micro Devices, Inc.").unwrap();
        assert_eq!(amd.acronym_of(&full), Some("amd"));
        assert_eq!(full.acronym_of(&amd), Some("amd"));
        let boa = NameKey::new("Bank of America Corporation").unwrap();
        assert_eq!(boa.initials.as_deref(), Some("ba"));
        let acme = NameKey::new("Acme").unwrap();
        assert_eq!(acme.acronym_of(&full), None);
    }
}
