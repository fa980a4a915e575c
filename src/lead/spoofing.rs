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
//! are checked in their Unicode form (`xn--pple-43d` is decoded first). Not
//! covered: whole-script confusables (a label entirely in Cyrillic that
//! looks Latin, `аррӏе`), which need Unicode's confusables table.

use unicode_script::{Script, ScriptExtension, UnicodeScript};

/// The first bidirectional formatting character in `s`: the embeddings and
/// overrides U+202A–E, the isolates U+2066–9, the marks U+200E/F and the
/// Arabic letter mark U+061C.
pub(crate) fn bidi_control(s: &str) -> Option<char> {
    s.chars().find(|c| {
        matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
    })
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
    if domain.is_ascii() && !domain.to_ascii_lowercase().contains("xn--") {
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
}
