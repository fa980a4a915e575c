//! Company-name match keys.

use super::tables::{
    KeyFilter, LEGAL_FORM_END_FILTER, LEGAL_FORM_ENDS, LEGAL_FORM_FILTER, LEGAL_FORM_START_FILTER,
    LEGAL_FORM_STARTS, LEGAL_FORMS, lower_alnum,
};

/// [`LEGAL_FORMS`] flag: the form is written after the name (`Acme GmbH`).
pub(crate) const SUFFIX: u8 = 1;
/// [`LEGAL_FORMS`] flag: the form is written before the name (`ООО Ромашка`).
pub(crate) const PREFIX: u8 = 2;
/// The most words a legal form has (the generator enforces it).
pub(crate) const MAX_FORM_WORDS: usize = 12;
/// `LEGAL_FORM_ENDS` / `LEGAL_FORM_STARTS` flag, beside the word count: the
/// word is itself a one-word form on that side, so the last try of
/// [`form_at`] needs no [`LEGAL_FORMS`] lookup (above every word count).
pub(crate) const ALONE: u8 = 0x80;

/// Leading words that carry no identity ("The Acme Company").
const LEADING_NOISE: &[&str] = &["the"];

/// Steps 1 and 2 of [`company_key`]: the name transliterated to ASCII,
/// lower-cased, `&`/`+` as ` and `, apostrophes and dots removed, every other
/// non-alphanumeric character a space. Legal-form terms are folded the same
/// way when the tables are generated.
pub(crate) fn fold(name: &str) -> String {
    // ASCII (most names): folded byte by byte, no character decoding or
    // encoding.
    if name.is_ascii() {
        return fold_ascii(name.as_bytes());
    }
    let ascii = {
        // Scripts written without spaces (Han, kana, Hangul) transliterate
        // syllable by syllable: each is made a word of its own, so that a
        // legal form glued to the name (`Acme株式会社`) is still found. (The
        // whole string goes through `deunicode` once: its per-character
        // function would link a second copy of its ~470 KB tables.)
        let spaced: String;
        let source = if name.chars().any(is_unspaced_script) {
            let mut s = String::with_capacity(name.len() * 2);
            for c in name.chars() {
                if is_unspaced_script(c) {
                    s.push(' ');
                    s.push(c);
                    s.push(' ');
                } else {
                    s.push(c);
                }
            }
            spaced = s;
            spaced.as_str()
        } else {
            name
        };
        deunicode::deunicode(source)
    };
    let mut cleaned = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        push_folded(&mut cleaned, c);
    }
    cleaned
}

/// [`fold`] of ASCII text: each byte as [`push_folded`] maps its character.
fn fold_ascii(name: &[u8]) -> String {
    // (Pushed as characters: a byte buffer made a string would be
    // validated as UTF-8 again, which cost more than the pushes.)
    let mut out = String::with_capacity(name.len());
    for &b in name {
        match b {
            b'&' | b'+' => out.push_str(" and "),
            b'\'' | b'`' | b'.' => {}
            // A letter or digit in lower case, anything else a space.
            b => out.push(char::from(match lower_alnum(b) {
                0 => b' ',
                folded => folded,
            })),
        }
    }
    out
}

fn push_folded(out: &mut String, c: char) {
    match c {
        '&' | '+' => out.push_str(" and "),
        '\'' | '`' | '.' => {}
        c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
        _ => out.push(' '),
    }
}

fn is_unspaced_script(c: char) -> bool {
    matches!(
        c,
        '\u{1100}'..='\u{11FF}'   // Hangul Jamo
            | '\u{3040}'..='\u{30FF}' // Hiragana, Katakana
            | '\u{3400}'..='\u{4DBF}' // CJK Extension A
            | '\u{4E00}'..='\u{9FFF}' // CJK Unified Ideographs
            | '\u{AC00}'..='\u{D7AF}' // Hangul syllables
            | '\u{F900}'..='\u{FAFF}' // CJK Compatibility Ideographs
    )
}

/// Computes the match key for a company name, or `None` if the name has no
/// letters or digits at all.
///
/// Steps, in order:
/// 1. transliterate to ASCII (`Müller` → `Muller`, `Łoś` → `Los`, `株式会社` →
///    `Zhu Shi Hui She`) and lower-case;
/// 2. `&` and `+` become the word `and`; apostrophes and dots are removed
///    inside words (`McDonald's` → `mcdonalds`, `S.A.` → `sa`); every other
///    non-alphanumeric character separates words;
/// 3. a leading `the`, then trailing legal forms and a dangling `and`, then
///    leading legal forms written before a name (`ООО`, `SIA`, `UAB`,
///    `株式会社`, `PT`) are dropped, repeatedly (`Acme Co., Ltd.` → `acme`),
///    but never the last remaining word, so `The Limited` keys as `limited`
///    rather than nothing and `Ooo Inc.` as `ooo`. The forms are the generated table of `src/lead/data/legal_forms.tsv`;
///    a form of one or two letters (`AG`, `S.A.`, `AB`) is on it only if
///    reviewed as not also a common name ending, and only as a suffix;
/// 4. the remaining words are joined without separators (`Ac-me` and `AcMe`
///    key alike).
///
/// The key is built in the folded name's own buffer (the kept words, their
/// separating spaces removed): one allocation per key.
pub(crate) fn company_key(name: &str) -> Option<String> {
    let cleaned = fold(name);
    let (from, to) = kept_bytes(&cleaned)?;
    let mut bytes = cleaned.into_bytes();
    bytes.truncate(to);
    bytes.drain(..from.min(bytes.len()));
    // Between the kept words there is only ASCII whitespace (the words are
    // the runs without it): dropping it joins them.
    bytes.retain(|b| !b.is_ascii_whitespace());
    String::from_utf8(bytes).ok()
}

/// Words kept without an allocation; a name with more spills to the heap.
const INLINE_WORDS: usize = 16;

/// The byte range of `folded` from the first to the last word that
/// [`identity_span`] keeps.
fn kept_bytes(folded: &str) -> Option<(usize, usize)> {
    let mut inline = [""; INLINE_WORDS];
    let mut n = 0;
    let mut spilled: Vec<&str> = Vec::new();
    for w in folded.split_ascii_whitespace() {
        if spilled.is_empty() {
            if let Some(slot) = inline.get_mut(n) {
                *slot = w;
                n += 1;
                continue;
            }
            spilled.extend_from_slice(&inline);
        }
        spilled.push(w);
    }
    let words: &[&str] = if spilled.is_empty() {
        inline.get(..n).unwrap_or_default()
    } else {
        &spilled
    };
    let (start, end) = identity_span(words)?;
    let kept = words.get(start..end)?;
    // Each word is a slice of `folded`: its offset is its distance from
    // the start.
    let base = folded.as_ptr() as usize;
    let from = (kept.first()?.as_ptr() as usize).checked_sub(base)?;
    let last = kept.last()?;
    let to = (last.as_ptr() as usize).checked_sub(base)? + last.len();
    (from <= to && to <= folded.len()).then_some((from, to))
}

/// Step 3 of [`company_key`] on folded words: the range left once the
/// leading noise and the legal forms are dropped.
pub(crate) fn identity_span(words: &[&str]) -> Option<(usize, usize)> {
    let mut start = 0;
    let mut end = words.len();
    if end == 0 {
        return None;
    }
    // A leading `the` first (it is never the name), then trailing forms,
    // then leading forms: a name that is itself a leading-form word (`Ooo
    // Inc.` folds to `ooo inc`, and `ООО` is a leading form) keeps its name
    // rather than its suffix.
    while end - start > 1 && words.get(start).is_some_and(|w| LEADING_NOISE.contains(w)) {
        start += 1;
    }
    while end - start > 1 {
        let rest = words.get(start..end).unwrap_or_default();
        if rest.last() == Some(&"and") {
            // A connector left dangling by a stripped form ("Smith & Co" → "smith and").
            end -= 1;
        } else if let Some(n) = form_at(rest, SUFFIX) {
            end -= n;
        } else {
            break;
        }
    }
    while end - start > 1 {
        let rest = words.get(start..end).unwrap_or_default();
        if rest.first().is_some_and(|w| LEADING_NOISE.contains(w)) {
            start += 1;
        } else if let Some(n) = form_at(rest, PREFIX) {
            start += n;
        } else {
            break;
        }
    }
    Some((start, end))
}

/// The number of words of the longest legal form at the end (`SUFFIX`) or
/// the start (`PREFIX`) of `words`, leaving at least one word.
fn form_at(words: &[&str], side: u8) -> Option<usize> {
    let (edge, ends, filter): (_, _, &KeyFilter) = if side == SUFFIX {
        (words.last()?, &LEGAL_FORM_ENDS, &LEGAL_FORM_END_FILTER)
    } else {
        (words.first()?, &LEGAL_FORM_STARTS, &LEGAL_FORM_START_FILTER)
    };
    // Only words that end (or start) some form are worth a longer look
    // (and most words are turned away by the filter, not a lookup).
    if !filter.may_contain(edge.as_bytes()) {
        return None;
    }
    let entry = ends.get(edge)?;
    let longest = usize::from(entry & !ALONE)
        .min(words.len().saturating_sub(1))
        .min(MAX_FORM_WORDS);
    let mut buf = [0u8; 128];
    (1..=longest).rev().find(|&n| {
        if n == 1 {
            // The edge word alone: the table says whether it is a form on
            // this side.
            return entry & ALONE != 0;
        }
        let part = if side == SUFFIX {
            words.get(words.len() - n..)
        } else {
            words.get(..n)
        };
        part.and_then(|p| join(p, &mut buf))
            .filter(|key| LEGAL_FORM_FILTER.may_contain(key))
            .and_then(|key| LEGAL_FORMS.get_bytes(key))
            .is_some_and(|flags| flags & side != 0)
    })
}

/// `words` joined by single spaces in `buf`, or `None` if they do not fit
/// (bytes: the table lookup needs no UTF-8 check of them).
fn join<'b>(words: &[&str], buf: &'b mut [u8; 128]) -> Option<&'b [u8]> {
    let mut len = 0;
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            *buf.get_mut(len)? = b' ';
            len += 1;
        }
        buf.get_mut(len..len + w.len())?
            .copy_from_slice(w.as_bytes());
        len += w.len();
    }
    buf.get(..len)
}

#[cfg(test)]
mod tests {
    use super::{company_key, fold, identity_span};

    /// `company_key` as it was written (a `Vec` of words, joined): the
    /// reference for the in-place key.
    fn company_key_reference(name: &str) -> Option<String> {
        let cleaned = fold(name);
        let words: Vec<&str> = cleaned.split_ascii_whitespace().collect();
        let (start, end) = identity_span(&words)?;
        Some(words.get(start..end).unwrap_or_default().concat())
    }

    /// [`fold`] of ASCII text as it was written (per character): the
    /// reference of the byte path.
    fn fold_ascii_reference(name: &str) -> String {
        let mut cleaned = String::new();
        for c in name.chars() {
            super::push_folded(&mut cleaned, c);
        }
        cleaned
    }

    proptest::proptest! {
        #[test]
        fn the_ascii_fold_is_the_per_character_one(name in "[ -~\t\n]{0,40}") {
            proptest::prop_assert_eq!(fold(&name), fold_ascii_reference(&name));
        }

        #[test]
        fn the_in_place_key_is_the_joined_one(
            name in "(acme|the|inc|co|ltd|gmbh|sa|de|cv|and|ooo|kk|&|\\.|,|'| |\t|ü|株式会社|Ромашка|[a-zA-Z0-9]){0,24}",
        ) {
            proptest::prop_assert_eq!(company_key(&name), company_key_reference(&name));
        }
    }

    /// Every word of `LEGAL_FORM_ENDS` / `LEGAL_FORM_STARTS`: its `ALONE`
    /// flag is what a `LEGAL_FORMS` lookup of the word alone (the try it
    /// replaces in `form_at`) says, and `form_at` agrees with that lookup.
    #[test]
    fn the_alone_flag_is_the_one_word_lookup() {
        use super::{
            ALONE, LEGAL_FORM_ENDS, LEGAL_FORM_FILTER, LEGAL_FORM_STARTS, LEGAL_FORMS, PREFIX,
            SUFFIX, form_at,
        };
        for (table, side) in [(&LEGAL_FORM_ENDS, SUFFIX), (&LEGAL_FORM_STARTS, PREFIX)] {
            for word in table.keys() {
                let looked_up = LEGAL_FORM_FILTER.may_contain(word.as_bytes())
                    && LEGAL_FORMS
                        .get_bytes(word.as_bytes())
                        .is_some_and(|flags| flags & side != 0);
                let entry = table.get(word).unwrap_or_default();
                assert_eq!(entry & ALONE != 0, looked_up, "{word}");
                let words = if side == SUFFIX {
                    ["acme", word]
                } else {
                    [word, "acme"]
                };
                // `acme` is no form word, so only the one-word try can match.
                assert_eq!(form_at(&words, side) == Some(1), looked_up, "{word}");
            }
        }
    }

    #[test]
    fn long_names_spill_their_words_and_key_alike() {
        let name = "a b c d e f g h i j k l m n o p q r s t u v w x y z Inc.";
        assert_eq!(company_key(name), company_key_reference(name));
        assert_eq!(
            company_key(name).as_deref(),
            Some("abcdefghijklmnopqrstuvwxyz")
        );
    }

    #[test]
    fn legal_forms_case_punctuation_and_accents_fold_away() {
        let acme = Some("acme".to_owned());
        for name in [
            "ACME, Inc.",
            "Acme Inc",
            "acme incorporated",
            "Acme GmbH",
            "The Acme Company",
            "Acme Co., Ltd.",
            "ACME S.A. de C.V.",
            "Acme Pty Ltd",
            "Acme sp. z o.o.",
            "Acme AB (publ)",
            "Acme, LLC",
            "Ac-me",
            "  acme  ",
            "Acme K.K.",
            "Acme Sdn. Bhd.",
        ] {
            assert_eq!(company_key(name), acme, "{name}");
        }
        assert_eq!(
            company_key("Müller GmbH & Co. KG").as_deref(),
            Some("muller")
        );
        assert_eq!(company_key("Ørsted A/S").as_deref(), Some("orsted"));
        assert_eq!(
            company_key("McDonald's Corporation").as_deref(),
            Some("mcdonalds")
        );
        assert_eq!(
            company_key("Johnson & Johnson").as_deref(),
            Some("johnsonandjohnson")
        );
        assert_eq!(company_key("Smith & Co").as_deref(), Some("smith"));
    }

    #[test]
    fn a_name_that_is_also_a_leading_form_keeps_its_name() {
        // Found by the company-key property test: `Oøö` folds to `ooo`, which
        // is also the Russian leading form `ООО`.
        assert_eq!(company_key("Oøö Inc.").as_deref(), Some("ooo"));
        assert_eq!(company_key("OOO").as_deref(), Some("ooo"));
        assert_eq!(company_key("ООО Ромашка").as_deref(), Some("romashka"));
        assert_eq!(
            company_key("PT Bank Mandiri Tbk").as_deref(),
            Some("bankmandiri")
        );
    }

    #[test]
    fn never_reduces_a_name_to_nothing() {
        assert_eq!(company_key("Limited").as_deref(), Some("limited"));
        assert_eq!(company_key("The Company").as_deref(), Some("company"));
        assert_eq!(company_key("Inc.").as_deref(), Some("inc"));
        assert_eq!(company_key("The").as_deref(), Some("the"));
        assert_eq!(company_key("--- !!!"), None);
        assert_eq!(company_key(""), None);
    }

    #[test]
    fn distinct_companies_stay_distinct() {
        assert_ne!(company_key("Acme Group"), company_key("Acme"));
        assert_ne!(company_key("Acme Labs"), company_key("Acme"));
        assert_eq!(company_key("阿里巴巴").as_deref(), Some("alibaba"));
    }
}
