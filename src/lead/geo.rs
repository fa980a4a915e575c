//! Countries (ISO 3166-1 alpha-2), regions (ISO 3166-2) and postal codes.

use super::geo_data::COUNTRIES;
use super::tables::{
    COUNTRY_AMBIGUOUS, COUNTRY_NAMES, COUNTRY_NATIVE, REGION_CODES, REGION_COUNTRY_PAIRS,
    REGION_NAMES, lower_alnum,
};

/// Folds a place name for lookup: ASCII transliteration, lower case, letters
/// and digits only ("U.S.A." → "usa", "Québec" → "quebec").
pub(crate) fn place_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    if s.is_ascii() {
        out.extend(
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase()),
        );
    } else {
        out.extend(
            deunicode::deunicode(s)
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase()),
        );
    }
    out
}

/// Calls `f` with `prefix` followed by the [`place_key`] of `s`, built in a
/// stack buffer when `s` is short ASCII (the common case), so lookups do
/// not allocate.
fn with_key<R>(prefix: &[u8], s: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    let mut buf = [0u8; 64];
    let mut len = 0;
    // Plain loops over the bytes (a chained, filtered iterator cost a few
    // times as much per byte); the length check up front means every
    // byte finds a slot.
    let mut fits = prefix.len() + s.len() <= buf.len();
    if fits {
        for &b in prefix {
            if let Some(slot) = buf.get_mut(len) {
                *slot = b.to_ascii_lowercase();
                len += 1;
            }
        }
        for &b in s.as_bytes() {
            if !b.is_ascii() {
                fits = false;
                break;
            }
            // Written unconditionally, kept only for a letter or digit
            // (one table load, no branch on the byte's class).
            let folded = lower_alnum(b);
            if let Some(slot) = buf.get_mut(len) {
                *slot = folded;
            }
            len += usize::from(folded != 0);
        }
    }
    match (fits, buf.get(..len)) {
        (true, Some(key)) => f(key),
        _ => {
            let mut key = prefix.to_ascii_lowercase();
            key.extend_from_slice(place_key(s).as_bytes());
            f(&key)
        }
    }
}

/// The outcome of resolving a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RegionMatch {
    /// An ISO 3166-2 code such as `US-CA`.
    Found(String),
    /// A full code (`CA-ON`) given without a country; the country is inferred.
    FoundWithCountry(String, &'static str),
    /// Not recognised; the message says why.
    Unrecognized(&'static str),
}

/// Country and region lookups over the generated static tables
/// (`super::tables`): nothing is built at run time, so a `Geo` is free to
/// create and clone.
///
/// Countries: ISO 3166-1 alpha-2 and alpha-3 codes, the hand-curated names
/// and aliases of `geo_data`, ISO short/common/official names and CLDR
/// territory names in the locales listed in `data/SOURCES.md`, all folded by
/// [`place_key`]. A folded name that belongs to two countries resolves to
/// neither ([`Geo::country_is_ambiguous`]). Regions: every ISO 3166-2 code and
/// name, plus the curated English names, abbreviations and native names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Geo {
    _tables: (),
}

impl Geo {
    /// ISO 3166-1 alpha-2 for a country name, code or alias.
    pub(crate) fn country(&self, raw: &str) -> Option<&'static str> {
        // A code is typed in ASCII: non-ASCII input that folds to one is a
        // name in another script (`Áo` is Austria, not `AO`).
        let native = if raw.is_ascii() {
            None
        } else {
            with_key(b"", raw, |key| COUNTRY_NATIVE.get_bytes(key))
        };
        let index = native.or_else(|| with_key(b"", raw, |key| COUNTRY_NAMES.get_bytes(key)))?;
        COUNTRIES.get(usize::from(index)).map(|c| c.0)
    }

    /// Whether `raw` folds to a name of more than one country ("Congo",
    /// "Korea"), which [`Self::country`] therefore does not resolve.
    pub(crate) fn country_is_ambiguous(&self, raw: &str) -> bool {
        with_key(b"", raw, |key| COUNTRY_AMBIGUOUS.contains_bytes(key))
    }

    /// Whether `code` is an assigned alpha-2 code.
    pub(crate) fn is_alpha2(&self, code: &str) -> bool {
        COUNTRIES.binary_search_by(|c| c.0.cmp(code)).is_ok()
    }

    /// Whether `code` (e.g. `US-CA`) is a subdivision in the built-in tables.
    pub(crate) fn is_region_code(&self, code: &str) -> bool {
        REGION_CODES.contains(code)
    }

    /// Whether the built-in tables list the subdivisions of `country`.
    pub(crate) fn has_region_table(&self, country: &str) -> bool {
        REGION_COUNTRY_PAIRS.contains(country)
    }

    /// Resolves a region for a (possibly unknown) country.
    pub(crate) fn region(&self, raw: &str, country: Option<&str>) -> RegionMatch {
        let trimmed = super::input::trim(raw);
        // A full ISO 3166-2 code: "US-CA", "ca-on", "AU-NSW" (a byte search
        // for the `-`).
        let dash = trimmed.bytes().position(|b| b == b'-');
        if let Some((cc, sub)) = dash.and_then(|i| Some((trimmed.get(..i)?, trimmed.get(i + 1..)?)))
        {
            let cc = cc.to_ascii_uppercase();
            let sub = sub.to_ascii_uppercase();
            if cc.len() == 2
                && (1..=3).contains(&sub.len())
                && sub.chars().all(|c| c.is_ascii_alphanumeric())
                && self.is_alpha2(&cc)
            {
                let code = format!("{cc}-{sub}");
                let known_country = COUNTRIES
                    .binary_search_by(|c| c.0.cmp(cc.as_str()))
                    .ok()
                    .and_then(|i| COUNTRIES.get(i))
                    .map(|c| c.0);
                return match country {
                    Some(c) if c != cc => RegionMatch::Unrecognized(
                        "is a region code of a different country than the lead's",
                    ),
                    _ if self.has_region_table(&cc) && !self.is_region_code(&code) => {
                        RegionMatch::Unrecognized("is not an ISO 3166-2 subdivision code")
                    }
                    Some(_) => RegionMatch::Found(code),
                    None => match known_country {
                        Some(c) => RegionMatch::FoundWithCountry(code, c),
                        None => RegionMatch::Unrecognized("is not a known region"),
                    },
                };
            }
        }
        let Some(country) = country else {
            return RegionMatch::Unrecognized(
                "cannot be resolved without a country (give the country, or an ISO code such as `US-CA`)",
            );
        };
        if !self.has_region_table(country) {
            return RegionMatch::Unrecognized(
                "has no built-in region table for this country; give an ISO 3166-2 code",
            );
        }
        let bytes = match country.as_bytes() {
            [a, b] => [a.to_ascii_lowercase(), b.to_ascii_lowercase(), b':'],
            _ => [b':'; 3],
        };
        match with_key(&bytes, trimmed, |key| REGION_NAMES.get_bytes(key))
            .and_then(|i| REGION_CODES.get(usize::from(i)))
        {
            Some(code) => RegionMatch::Found(code.to_owned()),
            None => RegionMatch::Unrecognized("is not a known region of the lead's country"),
        }
    }
}

/// A postal code normalized for its country, or why it looks wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Postal {
    /// Valid for the country (or no format is known for it).
    Ok(String),
    /// Usable after a repair (a ZIP code that lost its leading zero).
    Repaired(String, &'static str),
    /// Does not fit the country's format: kept trimmed and upper-cased.
    Suspicious(String, &'static str),
}

/// Normalizes a postal code for a country.
///
/// - `US`: `12345` or `12345-6789` (from `123456789` too); a 4-digit code that
///   lost its leading zero in a spreadsheet gets it back (a repair).
/// - `CA`: `A1A 1A1`, upper case, one space.
/// - `GB`: upper case with one space before the three-character inward code.
/// - `NL`: `1234 AB`. Countries with all-digit codes of a fixed length (DE, FR,
///   ES, IT: 5; AU, AT, BE, CH, DK, NO, NZ, ZA: 4; IN: 6; SE: `123 45`) are
///   checked for that length; where such codes can begin with zeros (one:
///   DE, FR, ES, MX, MY, TR, AU, DK, NZ, PH, SG, CN; two: IT, FI, NO, ZA), a
///   code short by at most that many gets them back (a repair: `1067` in DE
///   is `01067`, `100` in IT `00100`).
/// - Anything else: trimmed, inner whitespace collapsed, upper case.
pub(crate) fn postal(raw: &str, country: Option<&str>) -> Postal {
    // Built only where a branch returns it (most codes are valid).
    let collapsed = || {
        raw.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase()
    };
    let digits_only = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let Some(country) = country else {
        return Postal::Ok(collapsed());
    };
    if country == "US" {
        return us_zip(raw).unwrap_or_else(|| {
            Postal::Suspicious(collapsed(), "is not a US ZIP code (12345 or 12345-6789)")
        });
    }
    let compact: String = raw
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    match Some(country) {
        Some("CA") => {
            let b = compact.as_bytes();
            let ok = b.len() == 6
                && b.iter().enumerate().all(|(i, c)| {
                    if i % 2 == 0 {
                        c.is_ascii_alphabetic()
                    } else {
                        c.is_ascii_digit()
                    }
                });
            if ok {
                Postal::Ok(format!(
                    "{} {}",
                    compact.get(..3).unwrap_or_default(),
                    compact.get(3..).unwrap_or_default()
                ))
            } else {
                Postal::Suspicious(collapsed(), "is not a Canadian postal code (A1A 1A1)")
            }
        }
        Some("GB") => {
            let n = compact.len();
            let inward = compact
                .get(n.saturating_sub(3)..)
                .unwrap_or_default()
                .as_bytes();
            let outward = compact.get(..n.saturating_sub(3)).unwrap_or_default();
            let ok = (5..=7).contains(&n)
                && compact.is_ascii()
                && compact.chars().all(|c| c.is_ascii_alphanumeric())
                && outward.starts_with(|c: char| c.is_ascii_alphabetic())
                && inward.first().is_some_and(u8::is_ascii_digit)
                && inward
                    .get(1..)
                    .is_some_and(|t| t.iter().all(u8::is_ascii_alphabetic));
            if ok {
                Postal::Ok(format!(
                    "{outward} {}",
                    compact.get(n - 3..).unwrap_or_default()
                ))
            } else {
                Postal::Suspicious(collapsed(), "is not a UK postcode (e.g. SW1A 1AA)")
            }
        }
        Some("NL") => {
            let ok = compact.len() == 6
                && compact.get(..4).is_some_and(digits_only)
                && compact
                    .get(4..)
                    .is_some_and(|t| t.chars().all(|c| c.is_ascii_alphabetic()));
            if ok {
                Postal::Ok(format!(
                    "{} {}",
                    compact.get(..4).unwrap_or_default(),
                    compact.get(4..).unwrap_or_default()
                ))
            } else {
                Postal::Suspicious(collapsed(), "is not a Dutch postcode (1234 AB)")
            }
        }
        Some("SE") => {
            if compact.len() == 5 && digits_only(&compact) {
                Postal::Ok(format!(
                    "{} {}",
                    compact.get(..3).unwrap_or_default(),
                    compact.get(3..).unwrap_or_default()
                ))
            } else {
                Postal::Suspicious(collapsed(), "is not a Swedish postal code (123 45)")
            }
        }
        Some(c) => match fixed_digits(c) {
            Some(len) if compact.len() == len && digits_only(&compact) => Postal::Ok(compact),
            // A code that begins with zeros, sent as a number or through a
            // spreadsheet, arrives without them (Dresden's `01067` as
            // `1067`, Rome's `00100` as `100`).
            Some(len)
                if digits_only(&compact)
                    && (len.saturating_sub(leading_zeros(c))..len).contains(&compact.len()) =>
            {
                let restored = format!("{compact:0>len$}");
                Postal::Repaired(restored, "had lost its leading zeros; they were restored")
            }
            Some(_) => Postal::Suspicious(
                collapsed(),
                "does not have the digits this country's postal codes have",
            ),
            None => Postal::Ok(collapsed()),
        },
        None => Postal::Ok(collapsed()),
    }
}

/// A US ZIP code from its digits (whitespace and `-` ignored): `12345`,
/// `12345-6789` from nine digits, a restored leading zero from four; `None`
/// for anything else. Reads the text once and allocates only the result.
fn us_zip(raw: &str) -> Option<Postal> {
    // Already in the form written (`12345`, `12345-6789`: the usual input),
    // the code is copied as it is, with no character decoded.
    let b = raw.as_bytes();
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let written = match b.len() {
        5 => all_digits(b),
        10 => {
            b.get(5) == Some(&b'-')
                && b.get(..5).is_some_and(all_digits)
                && b.get(6..).is_some_and(all_digits)
        }
        _ => false,
    };
    if written {
        return Some(Postal::Ok(raw.to_owned()));
    }
    let mut digits = [0u8; 9];
    let mut n = 0;
    for c in raw.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        if !c.is_ascii_digit() {
            return None;
        }
        *digits.get_mut(n)? = c as u8;
        n += 1;
    }
    let digits = std::str::from_utf8(digits.get(..n)?).ok()?;
    let mut out = String::with_capacity(10);
    match n {
        5 => out.push_str(digits),
        9 => {
            out.push_str(digits.get(..5)?);
            out.push('-');
            out.push_str(digits.get(5..)?);
        }
        4 => {
            out.push('0');
            out.push_str(digits);
            return Some(Postal::Repaired(
                out,
                "had 4 digits; a leading zero was restored",
            ));
        }
        _ => return None,
    }
    Some(Postal::Ok(out))
}

/// How many zeros the country's all-digit postal codes can begin with, so
/// that a code short by that many lost them (DE `01067`, AU `0800`, SG
/// `018956`: one; IT `00100`, FI `00100`, NO `0010`, ZA `0001`: two are
/// restored at most). 0 where codes never begin with a zero.
fn leading_zeros(country: &str) -> usize {
    match country {
        "DE" | "FR" | "ES" | "MX" | "MY" | "TR" | "AU" | "DK" | "NZ" | "PH" | "SG" | "CN" => 1,
        "IT" | "FI" | "NO" | "ZA" => 2,
        _ => 0,
    }
}

fn fixed_digits(country: &str) -> Option<usize> {
    Some(match country {
        "DE" | "FR" | "ES" | "IT" | "FI" | "MX" | "MY" | "TH" | "TR" | "EE" => 5,
        "AU" | "AT" | "BE" | "CH" | "DK" | "NO" | "NZ" | "ZA" | "HU" | "LU" | "PH" => 4,
        "IN" | "SG" | "CN" | "RU" => 6,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn place_keys_fold_case_accents_and_punctuation() {
        assert_eq!(place_key("U.S.A."), "usa");
        assert_eq!(place_key("Québec"), "quebec");
        assert_eq!(place_key("  Côte d'Ivoire "), "cotedivoire");
    }

    #[test]
    fn stack_keys_match_allocated_keys() {
        for (prefix, s) in [
            ("", "U.S.A."),
            ("us:", "New York"),
            ("ca:", "Québec"),
            ("", "Côte d'Ivoire"),
            ("", &"x".repeat(80)),
        ] {
            let want = format!("{prefix}{}", place_key(s));
            with_key(prefix.as_bytes(), s, |key| assert_eq!(key, want.as_bytes()));
        }
    }

    proptest::proptest! {
        #[test]
        fn stack_keys_are_allocated_keys(
            prefix in "(|us:|ca:)",
            s in "([ -~]|é|ß|\u{a0}){0,70}",
        ) {
            let want = format!("{prefix}{}", place_key(&s));
            with_key(prefix.as_bytes(), &s, |key| assert_eq!(key, want.as_bytes()));
        }
    }

    #[test]
    fn postal_codes_per_country() {
        assert_eq!(postal("02134", Some("US")), Postal::Ok("02134".into()));
        assert_eq!(
            postal("94105-1234", Some("US")),
            Postal::Ok("94105-1234".into())
        );
        assert_eq!(
            postal("941051234", Some("US")),
            Postal::Ok("94105-1234".into())
        );
        assert!(matches!(postal("2134", Some("US")), Postal::Repaired(c, _) if c == "02134"));
        for (code, country, want) in [
            ("1067", "DE", "01067"),
            ("8001", "ES", "08001"),
            ("100", "IT", "00100"),
            ("800", "AU", "0800"),
            ("18956", "SG", "018956"),
        ] {
            assert!(
                matches!(postal(code, Some(country)), Postal::Repaired(ref c, _) if c == want),
                "{code} {country}"
            );
        }
        // Not where codes never begin with zero, nor more zeros than codes
        // begin with.
        assert!(matches!(postal("101", Some("AT")), Postal::Suspicious(..)));
        assert!(matches!(postal("101", Some("DE")), Postal::Suspicious(..)));
        assert!(matches!(
            postal("ABCDE", Some("US")),
            Postal::Suspicious(..)
        ));
        assert_eq!(postal("k1a0b1", Some("CA")), Postal::Ok("K1A 0B1".into()));
        assert_eq!(
            postal(" k1a  0b1 ", Some("CA")),
            Postal::Ok("K1A 0B1".into())
        );
        assert!(matches!(
            postal("K1A 0B", Some("CA")),
            Postal::Suspicious(..)
        ));
        assert_eq!(postal("sw1a1aa", Some("GB")), Postal::Ok("SW1A 1AA".into()));
        assert_eq!(postal("M1 1AE", Some("GB")), Postal::Ok("M1 1AE".into()));
        assert_eq!(
            postal("ec1a  1bb", Some("GB")),
            Postal::Ok("EC1A 1BB".into())
        );
        assert!(matches!(
            postal("12345", Some("GB")),
            Postal::Suspicious(..)
        ));
        assert_eq!(postal("1012ab", Some("NL")), Postal::Ok("1012 AB".into()));
        assert_eq!(postal("11455", Some("SE")), Postal::Ok("114 55".into()));
        assert_eq!(postal("10115", Some("DE")), Postal::Ok("10115".into()));
        // (Four digits in DE: a code that lost its zero, `01011`.)
        assert!(matches!(postal("1011", Some("DE")), Postal::Repaired(..)));
        assert_eq!(postal(" 2000 ", Some("AU")), Postal::Ok("2000".into()));
        assert_eq!(
            postal("100-0001", Some("JP")),
            Postal::Ok("100-0001".into())
        );
        assert_eq!(postal(" ab  12 ", None), Postal::Ok("AB 12".into()));
    }

    /// `postal` as it was written before the US fast path and the lazy
    /// collapsed copy: the reference it must agree with.
    fn postal_reference(raw: &str, country: Option<&str>) -> Postal {
        let compact: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let collapsed = raw
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase();
        let digits_only = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        match country {
            Some("US") => {
                let plain: String = compact.chars().filter(|&c| c != '-').collect();
                match (plain.len(), digits_only(&plain)) {
                    (5, true) => Postal::Ok(plain),
                    (9, true) => Postal::Ok(format!(
                        "{}-{}",
                        plain.get(..5).unwrap_or_default(),
                        plain.get(5..).unwrap_or_default()
                    )),
                    (4, true) => Postal::Repaired(
                        format!("0{plain}"),
                        "had 4 digits; a leading zero was restored",
                    ),
                    _ => {
                        Postal::Suspicious(collapsed, "is not a US ZIP code (12345 or 12345-6789)")
                    }
                }
            }
            Some("CA") => {
                let b = compact.as_bytes();
                let ok = b.len() == 6
                    && b.iter().enumerate().all(|(i, c)| {
                        if i % 2 == 0 {
                            c.is_ascii_alphabetic()
                        } else {
                            c.is_ascii_digit()
                        }
                    });
                if ok {
                    Postal::Ok(format!(
                        "{} {}",
                        compact.get(..3).unwrap_or_default(),
                        compact.get(3..).unwrap_or_default()
                    ))
                } else {
                    Postal::Suspicious(collapsed, "is not a Canadian postal code (A1A 1A1)")
                }
            }
            Some("GB") => {
                let n = compact.len();
                let inward = compact
                    .get(n.saturating_sub(3)..)
                    .unwrap_or_default()
                    .as_bytes();
                let outward = compact.get(..n.saturating_sub(3)).unwrap_or_default();
                let ok = (5..=7).contains(&n)
                    && compact.is_ascii()
                    && compact.chars().all(|c| c.is_ascii_alphanumeric())
                    && outward.starts_with(|c: char| c.is_ascii_alphabetic())
                    && inward.first().is_some_and(u8::is_ascii_digit)
                    && inward
                        .get(1..)
                        .is_some_and(|t| t.iter().all(u8::is_ascii_alphabetic));
                if ok {
                    Postal::Ok(format!(
                        "{outward} {}",
                        compact.get(n - 3..).unwrap_or_default()
                    ))
                } else {
                    Postal::Suspicious(collapsed, "is not a UK postcode (e.g. SW1A 1AA)")
                }
            }
            Some("NL") => {
                let ok = compact.len() == 6
                    && compact.get(..4).is_some_and(digits_only)
                    && compact
                        .get(4..)
                        .is_some_and(|t| t.chars().all(|c| c.is_ascii_alphabetic()));
                if ok {
                    Postal::Ok(format!(
                        "{} {}",
                        compact.get(..4).unwrap_or_default(),
                        compact.get(4..).unwrap_or_default()
                    ))
                } else {
                    Postal::Suspicious(collapsed, "is not a Dutch postcode (1234 AB)")
                }
            }
            Some("SE") => {
                if compact.len() == 5 && digits_only(&compact) {
                    Postal::Ok(format!(
                        "{} {}",
                        compact.get(..3).unwrap_or_default(),
                        compact.get(3..).unwrap_or_default()
                    ))
                } else {
                    Postal::Suspicious(collapsed, "is not a Swedish postal code (123 45)")
                }
            }
            Some(c) => match fixed_digits(c) {
                Some(len) if compact.len() == len && digits_only(&compact) => Postal::Ok(compact),
                Some(_) => Postal::Suspicious(
                    collapsed,
                    "does not have the digits this country's postal codes have",
                ),
                None => Postal::Ok(collapsed),
            },
            None => Postal::Ok(collapsed),
        }
    }

    proptest::proptest! {
        #[test]
        fn postal_agrees_with_the_reference(
            raw in "([0-9]|[a-zA-Z]|[ -]|\t|\u{a0}|ß|é|٣){0,12}",
            country in proptest::sample::select(vec![None, Some("US"), Some("CA"), Some("GB"), Some("NL"), Some("SE"), Some("DE"), Some("AU"), Some("JP")]),
        ) {
            proptest::prop_assert_eq!(postal(&raw, country), postal_reference(&raw, country));
        }

        #[test]
        fn written_us_zips_agree_with_the_reference(
            raw in "[0-9]{5}(-[0-9]{4})?|[0-9-]{4,11}|[0-9]{5}[ -x][0-9]{4}",
        ) {
            proptest::prop_assert_eq!(postal(&raw, Some("US")), postal_reference(&raw, Some("US")));
        }

        #[test]
        fn us_zips_agree_with_the_reference(raw in "([0-9]|[ -]){0,12}") {
            // Mostly digits: the 4-, 5- and 9-digit forms `us_zip` writes.
            proptest::prop_assert_eq!(postal(&raw, Some("US")), postal_reference(&raw, Some("US")));
        }
    }
}
