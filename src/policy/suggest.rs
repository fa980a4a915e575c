//! "Did you mean …?": the closest known word by edit distance, and what a
//! country or region code was probably meant to be.

use crate::lead::geo::{Geo, RegionMatch, place_key};
use crate::lead::geo_data::{COUNTRIES, REGIONS};

/// Words longer than this get no suggestion (bounds the work per word).
const MAX_WORD: usize = 64;

/// The edit distance allowed for a suggestion for `word`: a third of its
/// length, at least 1.
fn threshold(word: &[char]) -> usize {
    (word.len() / 3).max(1)
}

/// Edit distance between `a` and `b` (ASCII case-insensitive): insertions,
/// deletions, substitutions and swaps of two neighbours (`Texsa` → `Texas`
/// is one edit), or `None` when it is above `max`.
fn distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let same = |i: usize, j: usize| match (a.get(i), b.get(j)) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    };
    // Three rows of the optimal-string-alignment table.
    let width = b.len() + 1;
    let mut before: Vec<usize> = vec![0; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur: Vec<usize> = vec![0; width];
    for i in 0..a.len() {
        let mut row_min = i + 1;
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        for j in 0..b.len() {
            let at = |row: &[usize], k: usize| row.get(k).copied().unwrap_or(usize::MAX);
            let cost = usize::from(!same(i, j));
            let mut d = at(&prev, j + 1)
                .saturating_add(1)
                .min(at(&cur, j).saturating_add(1))
                .min(at(&prev, j).saturating_add(cost));
            if i > 0 && j > 0 && same(i, j - 1) && same(i - 1, j) {
                d = d.min(at(&before, j - 1).saturating_add(1));
            }
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = d;
            }
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().filter(|d| *d <= max)
}

/// The candidate closest to `word` (ties: the first), if within
/// max(1, len/3) edits. Each candidate is `(text to compare, what to return)`.
pub(crate) fn closest<'a, T>(
    word: &str,
    candidates: impl IntoIterator<Item = (&'a str, T)>,
) -> Option<T> {
    let w: Vec<char> = word.trim().chars().collect();
    if w.is_empty() || w.len() > MAX_WORD {
        return None;
    }
    let max = threshold(&w);
    let mut best: Option<(usize, T)> = None;
    for (text, item) in candidates {
        let c: Vec<char> = text.chars().collect();
        let limit = best.as_ref().map_or(max, |(d, _)| d.saturating_sub(1));
        if let Some(d) = distance(&w, &c, limit) {
            if best.as_ref().is_none_or(|(b, _)| d < *b) {
                best = Some((d, item));
            }
        }
    }
    best.map(|(_, item)| item)
}

/// "Did you mean …?": the word among `words` closest to `word` (ASCII
/// case-insensitive edit distance, swaps of neighbours counting one), if it
/// is within a third of `word`'s length (at least one edit); ties go to the
/// first. The policy reader's and compiler's suggestions use it; tools that
/// read their own formats (the CLI's test-case files) use it too, so that
/// every suggestion follows the same rule.
///
/// ```
/// use leadroute::policy::did_you_mean;
///
/// let keys = ["owner", "owner_one_of", "rule", "tags"];
/// assert_eq!(did_you_mean("ownr", keys), Some("owner"));
/// assert_eq!(did_you_mean("Rule", keys), Some("rule"));
/// assert_eq!(did_you_mean("priority", keys), None);
/// ```
pub fn did_you_mean<'a>(word: &str, words: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    closest_word(word, words)
}

/// The closest of some words.
pub(crate) fn closest_word<'a>(
    word: &str,
    words: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    closest(word, words.into_iter().map(|w| (w, w)))
}

/// The alpha-2 code `raw` probably means: an alias, alpha-3 code or name
/// (`UK`, `USA`, `Germany`), or a country name with a typo (`Germny`).
pub(crate) fn country(geo: &Geo, raw: &str) -> Option<&'static str> {
    if let Some(code) = geo.country(raw) {
        return Some(code);
    }
    // Names only: two- and three-letter codes are too close to each other
    // for a distance to mean anything.
    if raw.trim().chars().count() < 4 {
        return None;
    }
    closest(raw, COUNTRIES.iter().map(|(a2, _, name)| (*name, *a2)))
}

/// The ISO 3166-2 code `raw` probably means: `US-California` → `US-CA`,
/// `UK-ENG` → `GB-ENG`, `US-TXX` → `US-TX`, or a region name given without
/// its country when only one country has a region of that name.
pub(crate) fn region(geo: &Geo, raw: &str) -> Option<String> {
    let raw = raw.trim();
    let Some((cc, sub)) = raw.split_once('-') else {
        return region_by_name(raw);
    };
    let cc = geo.country(cc)?;
    if let RegionMatch::Found(code) = geo.region(sub, Some(cc)) {
        return Some(code);
    }
    // One- and two-character codes are one edit from many others: compare
    // them with names only.
    let codes_too = sub.trim().chars().count() >= 3;
    let of_country = REGIONS.iter().filter(|(c, _, _)| *c == cc);
    let candidates = of_country.flat_map(|(_, suffix, name)| {
        let code = codes_too.then_some((*suffix, *suffix));
        code.into_iter().chain([(*name, *suffix)])
    });
    closest(sub, candidates).map(|suffix| format!("{cc}-{suffix}"))
}

/// `California` → `US-CA`, if exactly one country has a region so named.
fn region_by_name(raw: &str) -> Option<String> {
    let key = place_key(raw);
    if key.is_empty() {
        return None;
    }
    let mut found = REGIONS.iter().filter(|(_, _, name)| place_key(name) == key);
    let (cc, suffix, _) = found.next()?;
    match found.next() {
        None => Some(format!("{cc}-{suffix}")),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_words_within_a_third_of_their_length() {
        let keys = ["assign", "experience", "if_unavailable", "tags"];
        assert_eq!(closest_word("asign", keys), Some("assign"));
        assert_eq!(closest_word("Assign", keys), Some("assign"));
        assert_eq!(closest_word("experiance", keys), Some("experience"));
        assert_eq!(closest_word("tag", keys), Some("tags"));
        assert_eq!(closest_word("owner", keys), None);
        assert_eq!(closest_word("", keys), None);
        assert_eq!(closest_word(&"a".repeat(100), keys), None);
        // Ties go to the first candidate.
        assert_eq!(closest_word("ab", ["aa", "bb"]), Some("aa"));
    }

    #[test]
    fn distance_is_levenshtein() {
        let d = |a: &str, b: &str| {
            let a: Vec<char> = a.chars().collect();
            let b: Vec<char> = b.chars().collect();
            distance(&a, &b, 10)
        };
        assert_eq!(d("kitten", "sitting"), Some(3));
        assert_eq!(d("", "abc"), Some(3));
        assert_eq!(d("abc", "abc"), Some(0));
        assert_eq!(d("flaw", "lawn"), Some(2));
        assert_eq!(d("texsa", "texas"), Some(1));
        assert_eq!(d("ab", "ba"), Some(1));
        assert_eq!(d("kitten", "sitting"), Some(3));
    }

    #[test]
    fn countries_by_alias_name_and_typo() {
        let geo = Geo::default();
        assert_eq!(country(&geo, "UK"), Some("GB"));
        assert_eq!(country(&geo, "USA"), Some("US"));
        assert_eq!(country(&geo, "Germany"), Some("DE"));
        assert_eq!(country(&geo, "Germny"), Some("DE"));
        assert_eq!(country(&geo, "XX"), None);
        assert_eq!(country(&geo, "Atlantis"), None);
    }

    #[test]
    fn regions_by_name_alias_and_typo() {
        let geo = Geo::default();
        assert_eq!(region(&geo, "US-California").as_deref(), Some("US-CA"));
        assert_eq!(region(&geo, "US-Californa").as_deref(), Some("US-CA"));
        assert_eq!(region(&geo, "USA-CA").as_deref(), Some("US-CA"));
        assert_eq!(region(&geo, "US-TXX").as_deref(), Some("US-TX"));
        assert_eq!(region(&geo, "California").as_deref(), Some("US-CA"));
        assert_eq!(region(&geo, "US-Texsa").as_deref(), Some("US-TX"));
        assert_eq!(region(&geo, "US-ZZ"), None);
        assert_eq!(region(&geo, "XX-YY"), None);
        assert_eq!(region(&geo, "Nowhere"), None);
    }
}
