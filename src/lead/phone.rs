//! Phone numbers to E.164, with a small built-in table of calling codes.
//!
//! This is deliberately light: it knows each country's calling code and
//! national trunk prefix, not every numbering plan. It produces E.164 when the
//! country can be determined (a leading `+` or `00`, or the lead's country)
//! and the digit count is plausible (8 to 15 digits in all, exactly 10
//! national digits for the North American plan, 7 for the countries with
//! four-digit national numbers: Niue, Tokelau, Saint Helena).
//!
//! Two national dialling habits are undone: Belarus's trunk prefix `80`
//! (`8 029 123-45-67` → `+375291234567`), and Argentina's mobile `15`
//! (`011 15 1234-5678` → `+5491112345678`: in E.164 a mobile number is `9`,
//! the area code, and the subscriber number without the `15`).

use super::geo_data::CALLING_CODES;

/// The calling-code table as sorted slices: a lookup is a binary search
/// over a few hundred short keys, no hashing.
#[derive(Debug, Clone)]
pub(crate) struct Phones {
    /// (country, calling code, trunk prefix), sorted by country.
    by_country: Vec<(&'static str, &'static str, &'static str)>,
    /// Every calling code once, sorted.
    codes: Vec<&'static str>,
    /// For each pair of upper-case letters `AA`..`ZZ` (`26 * a + b`), its
    /// position in `by_country` plus one, or 0: a country's entry without
    /// a search.
    by_letters: Vec<u16>,
}

/// The slot of a two-letter upper-case country in [`Phones::by_letters`].
fn letters_slot(country: &str) -> Option<usize> {
    match country.as_bytes() {
        &[a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => {
            Some(usize::from(a - b'A') * 26 + usize::from(b - b'A'))
        }
        _ => None,
    }
}

impl Default for Phones {
    fn default() -> Self {
        let mut by_country = CALLING_CODES.to_vec();
        // A country listed twice keeps its last entry (as a map would).
        by_country.reverse();
        by_country.sort_by_key(|&(country, _, _)| country);
        by_country.dedup_by_key(|&mut (country, _, _)| country);
        let mut codes: Vec<&str> = CALLING_CODES.iter().map(|&(_, code, _)| code).collect();
        codes.sort_unstable();
        codes.dedup();
        let mut by_letters = vec![0u16; 26 * 26];
        for (i, &(country, _, _)) in by_country.iter().enumerate() {
            if let (Some(slot), Ok(n)) = (letters_slot(country), u16::try_from(i + 1)) {
                if let Some(entry) = by_letters.get_mut(slot) {
                    *entry = n;
                }
            }
        }
        Phones {
            by_country,
            codes,
            by_letters,
        }
    }
}

impl Phones {
    fn country(&self, country: &str) -> Option<(&'static str, &'static str)> {
        if let Some(slot) = letters_slot(country) {
            let i = usize::from(*self.by_letters.get(slot)?).checked_sub(1)?;
            return self
                .by_country
                .get(i)
                .map(|&(_, code, trunk)| (code, trunk));
        }
        let i = self
            .by_country
            .binary_search_by(|&(c, _, _)| c.cmp(country))
            .ok()?;
        self.by_country
            .get(i)
            .map(|&(_, code, trunk)| (code, trunk))
    }

    fn is_code(&self, code: &str) -> bool {
        self.codes.binary_search(&code).is_ok()
    }
}

/// A phone number as far as it could be normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PhoneMatch {
    /// E.164, possibly with an extension that E.164 cannot carry.
    E164 {
        number: String,
        extension: Option<String>,
    },
    /// Not convertible; the reason is given. The caller keeps the input.
    Unresolved(&'static str),
}

impl Phones {
    pub(crate) fn normalize(&self, raw: &str, country: Option<&str>) -> PhoneMatch {
        let (main, extension) = split_extension(raw);
        let trimmed = super::input::trim(main);
        // ASCII text (the usual number) is checked byte by byte: the one
        // allowed character past ASCII is the no-break space.
        let other = if trimmed.is_ascii() {
            trimmed.bytes().any(|b| {
                !matches!(
                    b,
                    b'0'..=b'9' | b' ' | b'+' | b'-' | b'.' | b'(' | b')' | b'/'
                )
            })
        } else {
            trimmed.chars().any(|c| {
                !matches!(
                    c,
                    '0'..='9' | ' ' | '+' | '-' | '.' | '(' | ')' | '/' | '\u{a0}'
                )
            })
        };
        if other {
            return PhoneMatch::Unresolved("contains characters other than digits and separators");
        }
        // "+44 (0)20 …": the bracketed trunk zero is not dialled internationally.
        let without_trunk = if trimmed.as_bytes().windows(3).any(|w| w == b"(0)") {
            std::borrow::Cow::Owned(trimmed.replace("(0)", ""))
        } else {
            std::borrow::Cow::Borrowed(trimmed)
        };
        // The number is built in this string: `+` first (E.164's, so that
        // it is not inserted in front of the digits at the end), then the
        // digits, with room for a calling code written over a national
        // prefix.
        let mut digits = String::with_capacity(without_trunk.len() + 1 + MAX_CODE_DIGITS);
        digits.push('+');
        // (An ASCII digit byte is always the character itself in UTF-8.)
        digits.extend(
            without_trunk
                .bytes()
                .filter(u8::is_ascii_digit)
                .map(char::from),
        );
        let international = if without_trunk.trim_start().starts_with('+') {
            true
        } else if digits.get(1..).is_some_and(|d| d.starts_with("00")) {
            digits.drain(1..3);
            true
        } else {
            false
        };
        // The calling code and where the national number starts in the
        // digits (after the `+`).
        let (code, cut) = {
            let digits = digits.get(1..).unwrap_or_default();
            if international {
                if !(1..=3).any(|n| digits.get(..n).is_some_and(|cc| self.is_code(cc))) {
                    return PhoneMatch::Unresolved(
                        "does not start with a known country calling code",
                    );
                }
                ("", 0)
            } else {
                let Some((code, trunk)) = country.and_then(|c| self.country(c)) else {
                    return PhoneMatch::Unresolved(
                        "has no country calling code and the lead's country is unknown",
                    );
                };
                let national = if code == "1" {
                    // North American plan: an optional leading 1, then 10 digits.
                    match digits.len() {
                        10 => digits,
                        11 if digits.starts_with('1') => digits.get(1..).unwrap_or_default(),
                        _ => {
                            return PhoneMatch::Unresolved(
                                "is not a 10-digit North American number",
                            );
                        }
                    }
                } else if !trunk.is_empty() {
                    digits.strip_prefix(trunk).unwrap_or(digits)
                } else {
                    digits
                };
                // The national number is a suffix of the digits.
                (code, digits.len() - national.len())
            }
        };
        // The calling code replaces what precedes the national number, in
        // place (nothing moves when it is written there already, as in an
        // international number; a drain and an insertion instead of a
        // splice, which cost twice as much).
        if digits.get(1..1 + cut) != Some(code) {
            digits.drain(1..1 + cut);
            digits.insert_str(1, code);
        }
        let number = argentine_mobile(digits);
        // (The checks count digits: the `+` is not one.)
        let digits = number.get(1..).unwrap_or_default();
        if !(min_digits(digits)..=15).contains(&digits.len()) {
            return PhoneMatch::Unresolved(
                "does not have the 8 to 15 digits of an international number",
            );
        }
        if digits.starts_with('1') && digits.len() != 11 {
            return PhoneMatch::Unresolved("is not a 10-digit North American number");
        }
        PhoneMatch::E164 { number, extension }
    }
}

/// The most digits a calling code has (E.164: three).
const MAX_CODE_DIGITS: usize = 3;

/// The fewest digits (calling code included) a number may have: 7 where
/// national numbers have four digits (Niue 683, Tokelau 690, Saint Helena
/// 290), else 8.
fn min_digits(number: &str) -> usize {
    if ["683", "690", "290"]
        .iter()
        .any(|cc| number.starts_with(cc))
    {
        7
    } else {
        8
    }
}

/// Rewrites an Argentine mobile number written with the national `15`
/// (`+54` + area code + `15` + subscriber, 12 national digits) to E.164's
/// `+54 9` + area code + subscriber (10 national digits). The area code is
/// `11` (Buenos Aires) or three or four digits starting with 2 or 3; the
/// `15` is looked for right after it.
fn argentine_mobile(number: String) -> String {
    // (`number` is in E.164 form, `+` first.)
    let Some(national) = number.strip_prefix("+54") else {
        return number;
    };
    if national.len() != 12 || national.starts_with('9') {
        return number;
    }
    let area_len = if national.starts_with("11") {
        Some(2)
    } else if national.starts_with(['2', '3']) {
        [3, 4]
            .into_iter()
            .find(|&n| national.get(n..n + 2) == Some("15"))
    } else {
        None
    };
    match area_len {
        Some(n) if national.get(n..n + 2) == Some("15") => format!(
            "+549{}{}",
            national.get(..n).unwrap_or_default(),
            national.get(n + 2..).unwrap_or_default()
        ),
        _ => number,
    }
}

/// Splits "…x123", "… ext. 123", "…#123" into the number and its extension.
fn split_extension(raw: &str) -> (&str, Option<String>) {
    // Every marker has an `x` or a `#`: most numbers have neither.
    if !raw.bytes().any(|b| matches!(b, b'x' | b'X' | b'#')) {
        return (raw, None);
    }
    for marker in ["extension", "ext.", "ext", "x", "#"] {
        // The last occurrence, ignoring ASCII case (the markers are ASCII,
        // so byte positions are those of the lower-cased text).
        let m = marker.as_bytes();
        let found = raw
            .as_bytes()
            .windows(m.len())
            .rposition(|w| w.eq_ignore_ascii_case(m));
        if let Some(pos) = found {
            let ext = raw.get(pos + m.len()..).unwrap_or_default().trim();
            if !ext.is_empty() && ext.chars().all(|c| c.is_ascii_digit()) {
                return (raw.get(..pos).unwrap_or_default(), Some(ext.to_owned()));
            }
        }
    }
    (raw, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_letter_index_finds_what_the_search_finds() {
        let phones = Phones::default();
        let search = |country: &str| {
            let i = phones
                .by_country
                .binary_search_by(|&(c, _, _)| c.cmp(country))
                .ok()?;
            phones
                .by_country
                .get(i)
                .map(|&(_, code, trunk)| (code, trunk))
        };
        for a in 'A'..='Z' {
            for b in 'A'..='Z' {
                let country = format!("{a}{b}");
                assert_eq!(phones.country(&country), search(&country), "{country}");
            }
        }
        // Every entry is two upper-case letters, so the index covers them all.
        assert!(
            phones
                .by_country
                .iter()
                .all(|&(c, _, _)| letters_slot(c).is_some())
        );
        assert_eq!(phones.country("us"), search("us"));
        assert_eq!(phones.country("USA"), None);
    }

    #[test]
    fn calling_codes_fit_the_room_kept_for_them() {
        assert!(
            CALLING_CODES
                .iter()
                .all(|&(_, code, _)| !code.is_empty() && code.len() <= MAX_CODE_DIGITS)
        );
    }

    fn e164(raw: &str, country: Option<&str>) -> String {
        match Phones::default().normalize(raw, country) {
            PhoneMatch::E164 { number, .. } => number,
            PhoneMatch::Unresolved(why) => panic!("{raw}: {why}"),
        }
    }

    #[test]
    fn numbers_become_e164() {
        assert_eq!(e164("(415) 555-0100", Some("US")), "+14155550100");
        assert_eq!(e164("1-415-555-0100", Some("US")), "+14155550100");
        assert_eq!(e164("+1 415 555 0100", None), "+14155550100");
        assert_eq!(e164("+44 (0)20 7946 0958", None), "+442079460958");
        assert_eq!(e164("020 7946 0958", Some("GB")), "+442079460958");
        assert_eq!(e164("0044 20 7946 0958", Some("DE")), "+442079460958");
        assert_eq!(e164("030 1234567", Some("DE")), "+49301234567");
        assert_eq!(e164("06 12 34 56 78", Some("FR")), "+33612345678");
        assert_eq!(e164("06 1234 5678", Some("IT")), "+390612345678");
        assert_eq!(e164("+14155550100", None), "+14155550100");
    }

    #[test]
    fn short_numbers_trunk_prefixes_and_argentine_mobiles() {
        // Niue and Tokelau have four-digit national numbers.
        assert_eq!(e164("+683 4002", None), "+6834002");
        assert_eq!(e164("4002", Some("NU")), "+6834002");
        assert_eq!(e164("+690 3101", None), "+6903101");
        assert_eq!(e164("2159", Some("SH")), "+2902159");
        assert!(matches!(
            Phones::default().normalize("+44 1234", None),
            PhoneMatch::Unresolved(_)
        ));
        // Belarus: the national prefix is "8 0".
        assert_eq!(e164("8 029 123-45-67", Some("BY")), "+375291234567");
        assert_eq!(e164("8 (017) 200-00-00", Some("BY")), "+375172000000");
        assert_eq!(e164("+375 29 123 45 67", None), "+375291234567");
        // Argentina: a mobile's national "15" becomes the international "9".
        assert_eq!(e164("011 15 1234-5678", Some("AR")), "+5491112345678");
        assert_eq!(e164("(0351) 15 123-4567", Some("AR")), "+5493511234567");
        assert_eq!(e164("0 2966 15 12-3456", Some("AR")), "+5492966123456");
        assert_eq!(e164("+54 11 15 1234 5678", None), "+5491112345678");
        assert_eq!(e164("+54 9 11 1234 5678", None), "+5491112345678");
        // A landline keeps its form.
        assert_eq!(e164("011 4321-0000", Some("AR")), "+541143210000");
    }

    #[test]
    fn extensions_are_split_off() {
        let p = Phones::default().normalize("415-555-0100 ext. 42", Some("US"));
        assert_eq!(
            p,
            PhoneMatch::E164 {
                number: "+14155550100".into(),
                extension: Some("42".into())
            }
        );
        let p = Phones::default().normalize("+1 415 555 0100 x7", None);
        assert!(matches!(p, PhoneMatch::E164 { extension: Some(e), .. } if e == "7"));
    }

    #[test]
    fn unresolvable_numbers_say_why() {
        let p = Phones::default();
        assert!(matches!(
            p.normalize("555-0100", Some("US")),
            PhoneMatch::Unresolved(_)
        ));
        assert!(matches!(
            p.normalize("4155550100", None),
            PhoneMatch::Unresolved(_)
        ));
        assert!(matches!(
            p.normalize("call me after 5", Some("US")),
            PhoneMatch::Unresolved(_)
        ));
        assert!(matches!(
            p.normalize("+999 123", None),
            PhoneMatch::Unresolved(_)
        ));
        assert!(matches!(
            p.normalize("+1 555 0100", None),
            PhoneMatch::Unresolved(_)
        ));
    }

    /// The extension split as it was written first (a lower-cased copy and
    /// `rfind`), the reference the byte search must agree with.
    fn split_extension_reference(raw: &str) -> (&str, Option<String>) {
        let lower = raw.to_ascii_lowercase();
        for marker in ["extension", "ext.", "ext", "x", "#"] {
            if let Some(pos) = lower.rfind(marker) {
                let ext = lower.get(pos + marker.len()..).unwrap_or_default().trim();
                if !ext.is_empty() && ext.chars().all(|c| c.is_ascii_digit()) {
                    return (raw.get(..pos).unwrap_or_default(), Some(ext.to_owned()));
                }
            }
        }
        (raw, None)
    }

    /// `Phones::normalize` as it was written (the calling code spliced
    /// over the digits, then the `+` inserted): the reference of the
    /// in-place E.164.
    fn normalize_reference(p: &Phones, raw: &str, country: Option<&str>) -> PhoneMatch {
        let (main, extension) = split_extension(raw);
        let trimmed = main.trim();
        if trimmed.chars().any(|c| {
            !matches!(
                c,
                '0'..='9' | ' ' | '+' | '-' | '.' | '(' | ')' | '/' | '\u{a0}'
            )
        }) {
            return PhoneMatch::Unresolved("contains characters other than digits and separators");
        }
        let without_trunk = trimmed.replace("(0)", "");
        let mut digits: String = without_trunk.chars().filter(char::is_ascii_digit).collect();
        let international = if without_trunk.trim_start().starts_with('+') {
            true
        } else if digits.starts_with("00") {
            digits.drain(..2);
            true
        } else {
            false
        };
        let number = if international {
            if !(1..=3).any(|n| digits.get(..n).is_some_and(|cc| p.is_code(cc))) {
                return PhoneMatch::Unresolved("does not start with a known country calling code");
            }
            digits
        } else {
            let Some((code, trunk)) = country.and_then(|c| p.country(c)) else {
                return PhoneMatch::Unresolved(
                    "has no country calling code and the lead's country is unknown",
                );
            };
            let national = if code == "1" {
                match digits.len() {
                    10 => digits.as_str(),
                    11 if digits.starts_with('1') => digits.get(1..).unwrap_or_default(),
                    _ => return PhoneMatch::Unresolved("is not a 10-digit North American number"),
                }
            } else if !trunk.is_empty() {
                digits.strip_prefix(trunk).unwrap_or(&digits)
            } else {
                digits.as_str()
            };
            format!("{code}{national}")
        };
        // The Argentine rewrite on the digits without `+`.
        let number = match argentine_mobile(format!("+{number}")).strip_prefix('+') {
            Some(n) => n.to_owned(),
            None => number,
        };
        if !(min_digits(&number)..=15).contains(&number.len()) {
            return PhoneMatch::Unresolved(
                "does not have the 8 to 15 digits of an international number",
            );
        }
        if number.starts_with('1') && number.len() != 11 {
            return PhoneMatch::Unresolved("is not a 10-digit North American number");
        }
        PhoneMatch::E164 {
            number: format!("+{number}"),
            extension,
        }
    }

    proptest::proptest! {
        #[test]
        fn the_extension_split_agrees_with_the_reference(
            raw in "([0-9 +()#.-]|[eE][xX][tT]|[xX]|ension|\\.|é|\u{a0}){0,16}",
        ) {
            proptest::prop_assert_eq!(split_extension(&raw), split_extension_reference(&raw));
        }

        #[test]
        fn normalizing_agrees_with_the_reference(
            raw in "([0-9]{1,4}|[ ()+./-]|\\(0\\)|00|15|x12|\u{a0}|a){0,10}",
            country in proptest::option::of("(US|CA|GB|DE|FR|AR|BY|NU|SH|IT|ZZ)"),
        ) {
            let p = Phones::default();
            proptest::prop_assert_eq!(
                p.normalize(&raw, country.as_deref()),
                normalize_reference(&p, &raw, country.as_deref())
            );
        }

        #[test]
        fn the_sorted_tables_answer_as_the_calling_code_list(cc in "[A-Z]{2}|[0-9]{1,3}") {
            let p = Phones::default();
            let row = CALLING_CODES.iter().rev().find(|r| r.0 == cc).map(|r| (r.1, r.2));
            proptest::prop_assert_eq!(p.country(&cc), row);
            proptest::prop_assert_eq!(p.is_code(&cc), CALLING_CODES.iter().any(|r| r.1 == cc));
        }
    }
}
