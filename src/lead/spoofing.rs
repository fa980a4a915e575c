//! Characters that make text look like something it is not: bidirectional
//! controls in names, and domains mixing scripts (`аpple.com` with a
//! Cyrillic `а`). Both are warnings: such values can be legitimate, but a
//! person reading them (a sales rep, a CRM screen) can be misled.
//!
//! # The mixed-script rule
//!
//! Unicode's security mechanisms (UTS #39, section 5.2 "Restriction-Level
//! Detection") rate a string by the scripts it uses. A domain label passes
//! when it is at the **Highly Restrictive** level:
//!
//! - all its characters share a script, counting each character's
//!   `Script_Extensions` (UAX #24) and ignoring `Common` and `Inherited`
//!   characters (digits, `-`, combining marks); or
//! - its scripts are covered by one of the sets
//!   {Latin, Han, Hiragana, Katakana}, {Latin, Han, Bopomofo} or
//!   {Latin, Han, Hangul} (Japanese, Chinese and Korean writing).
//!
//! Any other mix (Latin with Cyrillic or Greek, say) is a warning. Labels
//! are checked in their Unicode form (`xn--pple-43d` is decoded first).
//!
//! # The whole-script rule
//!
//! A label can also imitate an ASCII one without mixing scripts: Cyrillic
//! `аррӏе` (every letter Cyrillic) reads as `apple`. UTS #39 section 4 calls
//! two strings *whole-script confusables* when they have the same
//! *skeleton* (each character replaced by its prototype from Unicode's
//! `confusables.txt`) and are each written in a single, different script.
//! A label is warned about when
//!
//! - it is in a single script other than Latin (counting `Script_Extensions`;
//!   digits and `-` are Common and go with any script),
//! - its skeleton is an ASCII label (`a`–`z`, `0`–`9`, `-`): every character
//!   is one of those or has such a prototype, so the ASCII label it reads
//!   as exists in Latin, and
//! - the domain's top-level label is not in that same script: under a
//!   Cyrillic top-level domain such as `.рф` only Cyrillic labels are
//!   registered, so there is no Latin domain to imitate there.
//!
//! The characters with an ASCII skeleton (211 in Unicode 17.0: 25 Cyrillic,
//! 11 Greek, Armenian, Cherokee, …) are generated from `confusables.txt` by
//! `scripts/refresh_confusables.py` into `src/lead/data/confusables_ascii.tsv`
//! and `tables/confusables.rs` (source, version and licence recorded in the
//! file and in `SOURCES.md`). Genuine words are not flagged as long as they
//! use one letter without a Latin look-alike: Russian `пример` (`п`, `и`,
//! `м`), Greek `παράδειγμα`, Chinese — only a label made wholly of look-alikes
//! is (a real word such as Russian `сор` under `.com` is, and reads as `cop`).

use unicode_script::{Script, ScriptExtension, UnicodeScript};

use super::tables::confusables::ASCII_SKELETONS;

/// The first bidirectional formatting character in `s`: the embeddings and
/// overrides U+202A–E, the isolates U+2066–9, the marks U+200E/F and the
/// Arabic letter mark U+061C.
pub(crate) fn bidi_control(s: &str) -> Option<char> {
    // Each of them is encoded starting with the byte 0xE2 (U+200E..U+2069)
    // or 0xD8 (U+061C): text without those bytes has none.
    if s.is_ascii() || !s.bytes().any(|b| b == 0xE2 || b == 0xD8) {
        return None;
    }
    s.chars().find(|c| {
        matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
    })
}

/// Whether `domain` is ASCII without a punycode (`xn--`, any case) label:
/// such a domain is in one script and cannot mix any. One pass over the
/// bytes, no lower-cased copy (this runs for every email and website).
pub(crate) fn plain_ascii(domain: &str) -> bool {
    let b = domain.as_bytes();
    // `| 0x20` folds exactly `X`/`x` to `x` and `N`/`n` to `n`.
    b.is_ascii()
        && !b
            .windows(4)
            .any(|w| matches!(w, &[x, n, b'-', b'-'] if x | 0x20 == b'x' && n | 0x20 == b'n'))
}

/// A domain label that mixes scripts beyond the Highly Restrictive level:
/// the label (in Unicode) and the scripts it mixes, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MixedScripts {
    pub(crate) label: String,
    pub(crate) scripts: Vec<&'static str>,
}

/// Checks every label of `domain` (ASCII or Unicode form).
pub(crate) fn mixed_script_domain(domain: &str) -> Option<MixedScripts> {
    // Only a domain with non-ASCII or punycode labels can mix scripts.
    if plain_ascii(domain) {
        return None;
    }
    let (unicode, _) = idna::domain_to_unicode(domain);
    unicode.split('.').find_map(|label| {
        mixed_scripts(label).map(|scripts| MixedScripts {
            label: label.to_owned(),
            scripts,
        })
    })
}

/// A domain label in one script other than Latin that reads as an ASCII
/// label (see [the whole-script rule](self#the-whole-script-rule)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WholeScript {
    /// The label, in Unicode.
    pub(crate) label: String,
    /// Its script, by name.
    pub(crate) script: &'static str,
    /// The ASCII label it reads as (its skeleton).
    pub(crate) reads_as: String,
}

/// The first label of `domain` (ASCII or Unicode form) that is a
/// whole-script confusable of an ASCII label.
pub(crate) fn whole_script_domain(domain: &str) -> Option<WholeScript> {
    if plain_ascii(domain) {
        return None;
    }
    let (unicode, _) = idna::domain_to_unicode(domain);
    let labels: Vec<&str> = unicode.split('.').filter(|l| !l.is_empty()).collect();
    let tld = labels
        .last()
        .map_or(ScriptExtension::default(), |l| ScriptExtension::for_str(l));
    labels.iter().find_map(|label| {
        let ext = ScriptExtension::for_str(label);
        if ext.is_empty()
            || ext.is_common()
            || ext.is_inherited()
            || ext.contains_script(Script::Latin)
        {
            return None; // mixed (the other rule), no letters, or Latin
        }
        let tld_shows_the_script =
            !(tld.is_common() || tld.is_inherited() || tld.intersection(ext).is_empty());
        if tld_shows_the_script {
            return None;
        }
        let reads_as = ascii_skeleton(label)?;
        let script = label
            .chars()
            .map(|c| c.script())
            .find(|s| !matches!(s, Script::Common | Script::Inherited | Script::Unknown))?;
        Some(WholeScript {
            label: (*label).to_owned(),
            script: script.full_name(),
            reads_as,
        })
    })
}

/// The UTS #39 skeleton of `label` when it is an ASCII label.
fn ascii_skeleton(label: &str) -> Option<String> {
    let mut out = String::with_capacity(label.len());
    for c in label.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            out.push(c);
        } else {
            let i = ASCII_SKELETONS.binary_search_by(|(k, _)| k.cmp(&c)).ok()?;
            out.push_str(ASCII_SKELETONS.get(i)?.1);
        }
    }
    Some(out)
}

/// The scripts of `label`, when it is not Highly Restrictive.
fn mixed_scripts(label: &str) -> Option<Vec<&'static str>> {
    if !ScriptExtension::for_str(label).is_empty() {
        return None; // a single script (or only Common / Inherited)
    }
    let mut used: Vec<Script> = Vec::new();
    for c in label.chars() {
        let s = c.script();
        if !matches!(s, Script::Common | Script::Inherited | Script::Unknown) && !used.contains(&s)
        {
            used.push(s);
        }
    }
    use Script::{Bopomofo, Han, Hangul, Hiragana, Katakana, Latin};
    let allowed: [&[Script]; 3] = [
        &[Latin, Han, Hiragana, Katakana],
        &[Latin, Han, Bopomofo],
        &[Latin, Han, Hangul],
    ];
    if allowed
        .iter()
        .any(|set| used.iter().all(|s| set.contains(s)))
    {
        return None;
    }
    Some(used.iter().map(|s| s.full_name()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_are_found() {
        assert_eq!(bidi_control("Acme\u{202E}moc.evil"), Some('\u{202E}'));
        assert_eq!(bidi_control("\u{2067}Ann"), Some('\u{2067}'));
        assert_eq!(bidi_control("\u{200F}"), Some('\u{200F}'));
        assert_eq!(bidi_control("Müller & Söhne"), None);
        assert_eq!(bidi_control("شركة"), None); // Arabic text itself is fine
    }

    #[test]
    fn mixed_script_labels_follow_the_highly_restrictive_level() {
        let m = mixed_script_domain("аpple.com").unwrap();
        assert_eq!(m.label, "аpple");
        assert_eq!(m.scripts, ["Cyrillic", "Latin"]);
        // The same, as punycode.
        let ascii = idna::domain_to_ascii("аpple.com").unwrap();
        assert!(ascii.starts_with("xn--"), "{ascii}");
        assert_eq!(mixed_script_domain(&ascii), Some(m));
        assert!(mixed_script_domain("pαypal.com").is_some()); // Greek alpha
        // Single scripts, with digits and hyphens.
        for ok in [
            "apple.com",
            "müller-2.de",
            "яндекс.рф",
            "παράδειγμα.gr",
            "例え.jp",
            "ひらがなカタカナ漢字abc.jp",
            "中文abc.cn",
            "한국어abc漢字.kr",
            "xn--mller-kva.de",
        ] {
            assert_eq!(mixed_script_domain(ok), None, "{ok}");
        }
        // Hangul with Hiragana is no CJK set.
        assert!(mixed_script_domain("한국ひらがな.com").is_some());
    }

    fn reads_as(domain: &str) -> Option<(String, &'static str, String)> {
        whole_script_domain(domain).map(|w| (w.label, w.script, w.reads_as))
    }

    #[test]
    fn labels_wholly_of_look_alikes_are_whole_script_confusables() {
        let w = |l: &str, s, r: &str| Some((l.to_owned(), s, r.to_owned()));
        // Cyrillic: а р р ӏ(palochka) е; о р е n… the classic homograph.
        assert_eq!(reads_as("аррӏе.com"), w("аррӏе", "Cyrillic", "apple"));
        assert_eq!(
            reads_as("ерѕоn.com"),
            None,
            "Latin `n`: mixed, not whole-script"
        );
        assert_eq!(reads_as("ѕсоре.io"), w("ѕсоре", "Cyrillic", "scope"));
        assert_eq!(reads_as("хуz.com"), None, "Latin `z`");
        assert_eq!(reads_as("хух.com"), w("хух", "Cyrillic", "xyx"));
        // Greek: ο ρ α … (omicron, rho, alpha).
        assert_eq!(reads_as("ορα.net"), w("ορα", "Greek", "opa"));
        // In a subdomain, and with digits and a hyphen (Common).
        assert_eq!(
            reads_as("mail.аррӏе-2.com"),
            w("аррӏе-2", "Cyrillic", "apple-2")
        );
        // The punycode form is decoded first.
        let ascii = idna::domain_to_ascii("аррӏе.com").unwrap();
        assert_eq!(reads_as(&ascii), w("аррӏе", "Cyrillic", "apple"));
    }

    #[test]
    fn genuine_non_latin_domains_are_not_flagged() {
        for ok in [
            // Russian words with letters that have no Latin look-alike.
            "пример.com",
            "яндекс.рф",
            "москва.ru",
            "почта.com",
            // Greek words (`παράδειγμα`: π, λ, δ, … and accents).
            "παράδειγμα.gr",
            "ελλάδα.com",
            // Chinese, Japanese, Korean, Arabic, Hebrew.
            "中文网.cn",
            "例え.jp",
            "한국.kr",
            "مثال.com",
            "דוגמה.com",
            // Latin, with or without diacritics.
            "apple.com",
            "müller.de",
            // Look-alikes under a top-level domain of the same script:
            // only Cyrillic labels exist there.
            "сор.рф",
            "аррӏе.рф",
        ] {
            assert_eq!(reads_as(ok), None, "{ok}");
        }
    }

    /// The generated Rust table is the reviewable TSV, entry for entry, and
    /// sorted (the lookup is a binary search).
    #[test]
    fn the_table_is_the_tsv_and_sorted() {
        let tsv = include_str!("data/confusables_ascii.tsv");
        assert!(tsv.contains("confusables.txt"), "the source is recorded");
        assert!(
            tsv.contains("Unicode License v3"),
            "the licence is recorded"
        );
        let rows: Vec<(char, &str)> = tsv
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let c = f[1].chars().next().unwrap();
                assert_eq!(f[0], format!("U+{:04X}", c as u32), "{l}");
                (c, f[2])
            })
            .collect();
        assert_eq!(rows, ASCII_SKELETONS.to_vec());
        assert!(ASCII_SKELETONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(ASCII_SKELETONS.iter().all(|(c, s)| {
            !c.is_ascii()
                && !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }));
    }

    proptest::proptest! {
        /// The one-pass check is the lower-cased copy's `contains`.
        #[test]
        fn plain_ascii_is_the_lowercase_contains(
            domain in "([a-zA-Z0-9.-]|[xX][nN]--|é|\\.){0,12}",
        ) {
            let slow = domain.is_ascii() && !domain.to_ascii_lowercase().contains("xn--");
            proptest::prop_assert_eq!(plain_ascii(&domain), slow);
        }
    }
}
