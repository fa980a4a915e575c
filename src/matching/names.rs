//! Company names as the matcher compares them: a **match key** (the lead
//! normalizer's company key with connectors folded, so `Procter & Gamble`,
//! `Procter and Gamble` and `Procter und Gamble` key alike), the words it is
//! made of, and **acronyms** (`AMD` ↔ `Advanced Micro Devices`).

use crate::lead::company::{fold, identity_span};

/// Words that join two names in a company name, in the languages whose
/// legal forms the key already knows: English `and` (and `&`, `+`, which
/// fold to it), German `und`, French `et`, Spanish `y`, Italian and
/// Portuguese `e`, Dutch `en`, Swedish `och`, Danish and Norwegian `og`.
/// Dropped only *between* two words, so `Y Combinator` keeps its `y`.
const CONNECTORS: &[&str] = &["and", "und", "et", "y", "e", "en", "och", "og"];

/// Words an acronym skips (`Bank of America` → `BOA`, `BofA` aside).
const ACRONYM_SKIPS: &[&str] = &["of", "the", "for", "de", "du", "der", "des", "la", "le"];

/// The letters and digits a [`Letters`] histogram counts.
const ALPHABET: usize = 36;

/// A company name prepared for matching: built once per name (a prepared
/// account keeps it), compared many times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NameKey {
    /// The identity words joined, connectors between words removed.
    pub(crate) key: String,
    /// The key with German umlaut spellings folded (`ue` → `u`, `oe` →
    /// `o`, `ae` → `a`), so `Mueller` keys like `Müller` (which
    /// transliterates to `muller`); `None` when that changes nothing.
    folded: Option<String>,
    /// The first letters of the words (skipping [`ACRONYM_SKIPS`]), when the
    /// name has at least two such words.
    pub(crate) initials: Option<String>,
    /// How many identity words the key is made of.
    words: usize,
    /// Bit `i` set: a word starts at byte `i` of the key (for keys of up
    /// to 64 bytes).
    word_starts: u64,
    /// How often each letter and digit occurs in the key (a bound on the
    /// key's similarity to another, see [`may_be_similar`]).
    letters: Letters,
}

impl NameKey {
    /// The key of `name`, or `None` for a name without letters or digits.
    ///
    /// One pass over the folded name's identity words (the normalizer's
    /// company key, steps 1–3), without a string per word.
    pub(crate) fn new(name: &str) -> Option<NameKey> {
        let cleaned = fold(name);
        with_words(&cleaned, |raw| {
            let (start, end) = identity_span(raw)?;
            let raw = raw.get(start..end)?;
            let last = raw.len().saturating_sub(1);
            let mut key = String::with_capacity(cleaned.len());
            let mut word_starts = 0u64;
            // Initials only for names of two words or more: the first is
            // held until a second comes.
            let mut first_initial: Option<char> = None;
            let mut initials: Option<String> = None;
            let mut words = 0;
            for (i, w) in raw.iter().enumerate() {
                if i != 0 && i != last && CONNECTORS.contains(w) {
                    continue;
                }
                if let Some(bit) = 1u64.checked_shl(u32::try_from(key.len()).unwrap_or(u32::MAX)) {
                    word_starts |= bit;
                }
                key.push_str(w);
                words += 1;
                if ACRONYM_SKIPS.contains(w) {
                    continue;
                }
                let Some(c) = w.chars().next() else { continue };
                match (&mut initials, first_initial) {
                    (Some(s), _) => s.push(c),
                    (None, Some(f)) => initials = Some([f, c].iter().collect()),
                    (None, None) => first_initial = Some(c),
                }
            }
            if key.is_empty() {
                return None;
            }
            let folded = needs_umlaut_fold(&key).then(|| fold_umlauts(&key));
            Some(NameKey {
                folded: folded.filter(|f| *f != key),
                letters: Letters::of(&key),
                key,
                initials: initials.filter(|_| words >= 2),
                words,
                word_starts,
            })
        })
    }

    /// The identity words the key is made of (what [`name_words`] gives
    /// for the name), when the key is short enough to have kept where they
    /// start (64 bytes).
    pub(crate) fn words(&self) -> Option<Vec<String>> {
        if self.key.len() > 64 {
            return None;
        }
        let mut out = Vec::with_capacity(self.words);
        let mut from = 0;
        for at in 1..self.key.len() {
            if self.word_starts & (1u64 << at) != 0 {
                out.push(self.key.get(from..at)?.to_owned());
                from = at;
            }
        }
        out.push(self.key.get(from..)?.to_owned());
        Some(out)
    }

    /// The key with umlaut spellings folded.
    pub(crate) fn folded(&self) -> &str {
        self.folded.as_deref().unwrap_or(&self.key)
    }

    /// The letter histogram of the key.
    pub(crate) fn letters(&self) -> &Letters {
        &self.letters
    }

    /// Whether this name is written as an acronym: one word of 2 to 6
    /// letters or digits (`IBM`, `AMD`, `3M`).
    pub(crate) fn is_acronym_shaped(&self) -> bool {
        self.words == 1 && (2..=6).contains(&self.key.len())
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

/// The identity words of a company name, connectors between words dropped
/// (what [`NameKey`] joins): for CRM token searches.
pub(crate) fn name_words(name: &str) -> Vec<String> {
    let cleaned = fold(name);
    with_words(&cleaned, |raw| {
        let Some(raw) = identity_span(raw).and_then(|(s, e)| raw.get(s..e)) else {
            return Vec::new();
        };
        let last = raw.len().saturating_sub(1);
        raw.iter()
            .enumerate()
            .filter(|(i, w)| *i == 0 || *i == last || !CONNECTORS.contains(w))
            .map(|(_, w)| (*w).to_owned())
            .collect()
    })
}

/// Whether `key` has an umlaut spelling (`ae`, `oe`, `ue`) to fold.
fn needs_umlaut_fold(key: &str) -> bool {
    key.as_bytes()
        .windows(2)
        .any(|w| matches!(w, [b'a' | b'o' | b'u', b'e']))
}

/// Runs `f` on the ASCII-whitespace-separated words of `text`, kept on the
/// stack for the usual name of a few words.
fn with_words<T>(text: &str, f: impl FnOnce(&[&str]) -> T) -> T {
    const INLINE: usize = 16;
    let mut inline = [""; INLINE];
    let mut n = 0;
    let mut rest = text.split_ascii_whitespace();
    for w in rest.by_ref() {
        match inline.get_mut(n) {
            Some(slot) => {
                *slot = w;
                n += 1;
            }
            None => {
                let mut all: Vec<&str> = inline.to_vec();
                all.push(w);
                all.extend(rest);
                return f(&all);
            }
        }
    }
    f(inline.get(..n).unwrap_or_default())
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

/// How often each ASCII letter and digit occurs in a string, and its length
/// in characters; `exact` is false when it has other characters (then it
/// bounds nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Letters {
    counts: [u8; ALPHABET],
    /// Bit `i` set: letter or digit `i` occurs.
    mask: u64,
    len: usize,
    exact: bool,
}

impl Default for Letters {
    fn default() -> Self {
        Letters {
            counts: [0; ALPHABET],
            mask: 0,
            len: 0,
            exact: false,
        }
    }
}

impl Letters {
    /// The histogram of `s`.
    pub(crate) fn of(s: &str) -> Letters {
        let mut counts = [0u8; ALPHABET];
        let mut mask = 0u64;
        let mut exact = true;
        for b in s.bytes() {
            let slot = match b {
                b'a'..=b'z' => usize::from(b - b'a'),
                b'0'..=b'9' => 26 + usize::from(b - b'0'),
                _ => {
                    exact = false;
                    break;
                }
            };
            mask |= 1 << slot;
            match counts.get_mut(slot) {
                Some(c) if *c < u8::MAX => *c += 1,
                _ => {
                    exact = false;
                    break;
                }
            }
        }
        Letters {
            counts,
            mask,
            len: s.len(),
            exact,
        }
    }
}

/// Whether the Jaro–Winkler similarity of `a` and `b` (with histograms
/// `la`, `lb`) can reach `min`, from a cheap upper bound: Jaro's matching
/// characters `m` are at most the characters the two have in common
/// (counted with multiplicity), so Jaro ≤ (c/|a| + c/|b| + 1) / 3, and
/// Winkler's boost grows with Jaro for the common prefix `p` ≤ 4; a
/// coarser bound from the letters each key lacks comes first. `true`
/// whenever the bound cannot be computed (then the caller computes the
/// similarity itself): the bound only ever skips pairs that are certainly
/// below `min`, so results are those of computing every pair.
pub(crate) fn may_be_similar(a: &str, la: &Letters, b: &str, lb: &Letters, min: f64) -> bool {
    if !la.exact || !lb.exact || la.len == 0 || lb.len == 0 {
        return true;
    }
    let bound = |common: usize| {
        if common == 0 {
            return 0.0;
        }
        let c = common as f64;
        let jaro = (c / la.len as f64 + c / lb.len as f64 + 1.0) / 3.0;
        let prefix = a
            .bytes()
            .take(4)
            .zip(b.bytes())
            .take_while(|(x, y)| x == y)
            .count();
        jaro + 0.1 * prefix as f64 * (1.0 - jaro)
    };
    // A margin for rounding: the bound must never fall below the true value.
    let reaches = |common: usize| bound(common) + 1e-9 >= min;
    // First a coarser bound from which letters occur at all: each letter
    // of one key that the other lacks is at least one character without a
    // partner. Most unrelated pairs stop here.
    let only_a = (la.mask & !lb.mask).count_ones() as usize;
    let only_b = (lb.mask & !la.mask).count_ones() as usize;
    let coarse = la
        .len
        .saturating_sub(only_a)
        .min(lb.len.saturating_sub(only_b));
    if !reaches(coarse) {
        return false;
    }
    // The multiset intersection, walking the shorter key against the
    // other's counts (keys are short: cheaper than all 36 bins).
    let (short, other) = if la.len <= lb.len { (a, lb) } else { (b, la) };
    let mut left = other.counts;
    let mut common = 0usize;
    for byte in short.bytes() {
        let slot = match byte {
            b'a'..=b'z' => usize::from(byte - b'a'),
            b'0'..=b'9' => 26 + usize::from(byte - b'0'),
            _ => return true,
        };
        if let Some(n) = left.get_mut(slot).filter(|n| **n > 0) {
            *n -= 1;
            common += 1;
        }
    }
    if common == 0 {
        return min <= 0.0;
    }
    reaches(common)
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
    fn the_similarity_bound_never_skips_a_similar_pair() {
        let words = [
            "acme",
            "acmelabs",
            "acmecorp",
            "initech",
            "globex",
            "umbrella",
            "mueller",
            "muller",
            "siemens",
            "siemenshealthineers",
            "amd",
            "ibm",
            "ibmindia",
            "stark",
            "wayne",
            "hooli",
            "vandelay",
            "vandelayindustries",
            "aaaa",
            "abab",
            "1234",
            "acme1",
            "emca",
            "xn--bcher",
        ];
        for a in words {
            for b in words {
                let (la, lb) = (Letters::of(a), Letters::of(b));
                let sim = similarity(a, b);
                for min in [0.0, 0.5, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0] {
                    if sim >= min {
                        assert!(may_be_similar(a, &la, b, &lb, min), "{a} {b} {min}");
                    }
                }
            }
        }
        let (a, b) = ("acme", "initech");
        assert!(!may_be_similar(a, &Letters::of(a), b, &Letters::of(b), 0.9));
    }

    #[test]
    fn name_words_are_the_key_words() {
        assert_eq!(
            name_words("Blue Bottle Coffee, Inc."),
            ["blue", "bottle", "coffee"]
        );
        assert_eq!(name_words("Procter & Gamble Co."), ["procter", "gamble"]);
        assert!(name_words("---").is_empty());
        let k = NameKey::new("Mueller & Söhne").unwrap();
        assert_eq!(
            (k.key.as_str(), k.folded()),
            ("muellersohne", "mullersohne")
        );
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
