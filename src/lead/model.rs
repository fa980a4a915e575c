//! [`Lead`]: a validated, normalized lead — the contract every later stage reads.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::email::EmailKind;
use super::range::Range;

/// A validated lead, produced by [`Normalizer::normalize`](crate::Normalizer::normalize).
///
/// # JSON contract
///
/// `Lead` serializes to one object with these keys, always all present
/// (`null` when unknown); the names are stable and changes are recorded in the
/// CHANGELOG:
///
/// | key | type | meaning |
/// |---|---|---|
/// | `lead_id` | string \| null | the caller's submission id, trimmed |
/// | `email` | string | trimmed, `mailto:` (and its `?query`) removed, invisible characters removed, local part as typed otherwise, domain lower-case ASCII (punycode) |
/// | `email_domain` | string | the full domain part of `email` |
/// | `email_kind` | `"business"` \| `"free"` \| `"disposable"` | from the normalizer's domain lists |
/// | `first_name`, `last_name` | string \| null | trimmed, inner whitespace collapsed |
/// | `company_name` | string \| null | as typed, trimmed |
/// | `company_key` | string \| null | match key: see [`Normalizer`](crate::Normalizer) |
/// | `company_domain` | string \| null | registrable domain from the website, else from a business email |
/// | `country` | string \| null | ISO 3166-1 alpha-2 (`"US"`) |
/// | `region` | string \| null | ISO 3166-2 (`"US-CA"`) |
/// | `postal_code` | string \| null | normalized for the country |
/// | `phone` | string \| null | E.164 (`"+14155550100"`) when it could be determined, else the trimmed input |
/// | `employees`, `annual_revenue` | `{"min": n, "max": n \| null}` \| null | see [`Range`] |
/// | `product_interest` | array of strings | lower-case tokens, whitespace collapsed, unique, in input order |
/// | `source` | string \| null | trimmed |
/// | `utm` | object | `source`, `medium`, `campaign`, `term`, `content`: string \| null each |
/// | `attributes` | object | every form field that is not one of the above, by its original key |
///
/// ```
/// use leadroute::{LeadInput, Normalizer};
/// use leadroute::lead::{EmailKind, Range};
///
/// let mut input = LeadInput::from_email("Jane.Doe@ACME.co.uk");
/// input.company = Some("ACME Ltd.".into());
/// input.employees = Some("51-200".into());
/// let lead = Normalizer::default().normalize(&input)?.lead;
/// assert_eq!(lead.email, "Jane.Doe@acme.co.uk");
/// assert_eq!(lead.email_kind, EmailKind::Business);
/// assert_eq!(lead.company_domain.as_deref(), Some("acme.co.uk"));
/// assert_eq!(lead.company_key.as_deref(), Some("acme"));
/// assert_eq!(lead.employees, Some(Range::new(51, Some(200))));
/// # Ok::<(), leadroute::lead::NormalizeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Lead {
    /// The caller's submission id.
    pub lead_id: Option<String>,
    /// The normalized email address.
    pub email: String,
    /// The domain part of [`email`](Self::email), lower-case ASCII.
    pub email_domain: String,
    /// Business, free or disposable mailbox.
    pub email_kind: EmailKind,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Company name as typed (trimmed).
    pub company_name: Option<String>,
    /// Company-name match key.
    pub company_key: Option<String>,
    /// Registrable company domain (`acme.co.uk`).
    pub company_domain: Option<String>,
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<CountryCode>,
    /// ISO 3166-2 region (`US-CA`).
    pub region: Option<String>,
    /// Postal code, normalized for the country.
    pub postal_code: Option<String>,
    /// E.164 phone number when determinable.
    pub phone: Option<String>,
    /// Employee count range.
    pub employees: Option<Range>,
    /// Annual revenue range (currency as given; never converted).
    pub annual_revenue: Option<Range>,
    /// Product-interest tokens.
    pub product_interest: Vec<String>,
    /// Lead source.
    pub source: Option<String>,
    /// UTM parameters.
    pub utm: Utm,
    /// Unrecognised form fields, by original key.
    pub attributes: BTreeMap<String, Value>,
}

/// UTM campaign parameters, trimmed, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Utm {
    /// `utm_source`.
    pub source: Option<String>,
    /// `utm_medium`.
    pub medium: Option<String>,
    /// `utm_campaign`.
    pub campaign: Option<String>,
    /// `utm_term`.
    pub term: Option<String>,
    /// `utm_content`.
    pub content: Option<String>,
}

/// An ISO 3166-1 alpha-2 country code: two upper-case ASCII letters.
///
/// `Copy` and two bytes wide, so policies compare and index countries
/// without touching strings. Parsing checks the shape only; the
/// [`Normalizer`](crate::Normalizer) and policy compiler check that the code is
/// assigned.
///
/// ```
/// use leadroute::lead::CountryCode;
/// let us: CountryCode = "us".parse().unwrap();
/// assert_eq!(us.as_str(), "US");
/// assert!("USA".parse::<CountryCode>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode([u8; 2]);

impl CountryCode {
    /// The code as a `&str`.
    #[inline]
    pub fn as_str(&self) -> &str {
        // A slice of a table of every letter pair, validated once at compile
        // time: no UTF-8 check per call (the trace shows countries often).
        let [a, b] = self.0;
        let i = (usize::from(a.wrapping_sub(b'A')) * 26 + usize::from(b.wrapping_sub(b'A'))) * 2;
        LETTER_PAIRS.get(i..i + 2).unwrap_or("??")
    }

    /// The code as two bytes.
    pub fn as_bytes(&self) -> [u8; 2] {
        self.0
    }
}

/// `"AAABAC…ZZ"`: every pair of upper-case letters, in order.
// Evaluated at compile time: an index out of bounds would fail the build,
// it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
const LETTER_PAIRS: &str = {
    const BYTES: [u8; 26 * 26 * 2] = {
        let mut out = [0u8; 26 * 26 * 2];
        let mut i = 0;
        while i < 26 * 26 {
            out[2 * i] = b'A' + (i / 26) as u8;
            out[2 * i + 1] = b'A' + (i % 26) as u8;
            i += 1;
        }
        out
    };
    match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => panic!("ASCII letters are UTF-8"),
    }
};

/// A string that is not two ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO 3166-1 alpha-2 code (two letters)")]
pub struct CountryCodeError(String);

impl FromStr for CountryCode {
    type Err = CountryCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            &[a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => Ok(CountryCode([
                a.to_ascii_uppercase(),
                b.to_ascii_uppercase(),
            ])),
            _ => Err(CountryCodeError(crate::lead::issue::shorten(s))),
        }
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountryCode({})", self.as_str())
    }
}

impl Serialize for CountryCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CountryCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::CountryCode;

    #[test]
    fn every_country_code_shows_its_own_letters() {
        for a in 'A'..='Z' {
            for b in 'A'..='Z' {
                let text = format!("{a}{b}");
                let code: CountryCode = text.to_lowercase().parse().unwrap();
                assert_eq!(code.as_str(), text);
            }
        }
    }
}
