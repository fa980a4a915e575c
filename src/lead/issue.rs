//! Field-level diagnostics shared by errors and warnings.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest prefix of an offending value quoted back in a [`FieldIssue`].
///
/// Quoting is for humans; a 10 kB value pasted into a form field must not
/// come back in every log line.
pub(crate) const QUOTE_LIMIT: usize = 64;

/// The input field a [`FieldIssue`] is about.
///
/// Serializes as the canonical snake_case field name (`"email"`,
/// `"postal_code"`, `"utm_source"`); an unknown form field kept as a custom
/// attribute is `"attributes.<name>"`, and a payload that is not a JSON object
/// at all is `"payload"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Field {
    /// The whole payload (not a JSON object, or not JSON).
    Payload,
    /// `lead_id`.
    LeadId,
    /// `email`.
    Email,
    /// `first_name`.
    FirstName,
    /// `last_name`.
    LastName,
    /// `company` (the company name).
    Company,
    /// `website`.
    Website,
    /// `country`.
    Country,
    /// `region` (state, province).
    Region,
    /// `postal_code`.
    PostalCode,
    /// `phone`.
    Phone,
    /// `employees`.
    Employees,
    /// `annual_revenue`.
    AnnualRevenue,
    /// `product_interest`.
    ProductInterest,
    /// `source`.
    Source,
    /// `utm_source`.
    UtmSource,
    /// `utm_medium`.
    UtmMedium,
    /// `utm_campaign`.
    UtmCampaign,
    /// `utm_term`.
    UtmTerm,
    /// `utm_content`.
    UtmContent,
    /// The set of custom attributes as a whole (e.g. too many of them).
    Attributes,
    /// One custom attribute, by the key the form sent.
    Attribute(String),
}

impl Field {
    /// The canonical name of a built-in field; `None` for [`Field::Attribute`].
    pub fn as_str(&self) -> Option<&'static str> {
        Some(match self {
            Field::Payload => "payload",
            Field::LeadId => "lead_id",
            Field::Email => "email",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Company => "company",
            Field::Website => "website",
            Field::Country => "country",
            Field::Region => "region",
            Field::PostalCode => "postal_code",
            Field::Phone => "phone",
            Field::Employees => "employees",
            Field::AnnualRevenue => "annual_revenue",
            Field::ProductInterest => "product_interest",
            Field::Source => "source",
            Field::UtmSource => "utm_source",
            Field::UtmMedium => "utm_medium",
            Field::UtmCampaign => "utm_campaign",
            Field::UtmTerm => "utm_term",
            Field::UtmContent => "utm_content",
            Field::Attributes => "attributes",
            Field::Attribute(_) => return None,
        })
    }

    const BUILT_IN: [Field; 21] = [
        Field::Payload,
        Field::LeadId,
        Field::Email,
        Field::FirstName,
        Field::LastName,
        Field::Company,
        Field::Website,
        Field::Country,
        Field::Region,
        Field::PostalCode,
        Field::Phone,
        Field::Employees,
        Field::AnnualRevenue,
        Field::ProductInterest,
        Field::Source,
        Field::UtmSource,
        Field::UtmMedium,
        Field::UtmCampaign,
        Field::UtmTerm,
        Field::UtmContent,
        Field::Attributes,
    ];

    /// Parses the rendering produced by `Display` back into a field.
    pub fn parse(name: &str) -> Option<Field> {
        if let Some(key) = name.strip_prefix("attributes.") {
            return Some(Field::Attribute(key.to_owned()));
        }
        Field::BUILT_IN
            .iter()
            .find(|f| f.as_str() == Some(name))
            .cloned()
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Attribute(key) => write!(f, "attributes.{key}"),
            other => f.write_str(other.as_str().unwrap_or_default()),
        }
    }
}

impl Serialize for Field {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Field::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown lead field `{name}`")))
    }
}

/// What kind of problem a [`FieldIssue`] reports; stable snake_case codes a
/// form can map to its own (localized) messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IssueCode {
    /// A required field is absent or blank.
    Missing,
    /// The value does not have the required syntax.
    Invalid,
    /// The value is longer than the normalizer's limit.
    TooLong,
    /// Too many values (attributes, product-interest tokens).
    TooMany,
    /// A JSON value of the wrong type (an object where text was expected).
    WrongType,
    /// A value that could not be matched to a known code (country, region).
    Unrecognized,
    /// A placeholder such as `n/a` or `-`, treated as absent.
    Placeholder,
    /// The value was usable only after a repair (a lost leading zero, say).
    Repaired,
    /// The value was valid but not used (a social-network profile as website).
    Ignored,
    /// A value was derived from another field rather than given.
    Inferred,
    /// A value that can look like something it is not (a warning): a
    /// bidirectional control in a name, a domain mixing scripts
    /// (`аpple.com` with a Cyrillic `а`), or one written wholly in
    /// look-alikes of Latin letters (all-Cyrillic `аррӏе.com`).
    Confusable,
    /// A value that is probably not what was meant (a warning): an email
    /// at `gmial.com`, a misspelling of a mailbox provider. It is kept as
    /// typed.
    Suspicious,
    /// Not a problem itself: the last entry of a capped list of issues,
    /// counting those left out ("and 99,990 more"; see
    /// [`Limits::max_issues`](super::Limits::max_issues)).
    Omitted,
}

/// One problem with one input field: the field, a code, the offending value
/// (shortened to 64 characters) and a sentence saying what was
/// wrong.
///
/// The same type carries errors (in [`NormalizeError`](super::NormalizeError))
/// and warnings (in [`Normalized`](super::Normalized)).
///
/// ```
/// use leadroute::{LeadInput, Normalizer};
/// use leadroute::lead::{Field, IssueCode};
///
/// let input = LeadInput::from_email("jane@@acme");
/// let err = Normalizer::default().normalize(&input).unwrap_err();
/// assert_eq!(err.errors[0].field, Field::Email);
/// assert_eq!(err.errors[0].code, IssueCode::Invalid);
/// assert_eq!(err.errors[0].value.as_deref(), Some("jane@@acme"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FieldIssue {
    /// The field, by canonical name.
    pub field: Field,
    /// Machine-readable kind of problem.
    pub code: IssueCode,
    /// The offending value, shortened; `None` when the field was absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A human-readable sentence saying what was wrong.
    pub message: String,
}

impl FieldIssue {
    /// Builds an issue, quoting at most 64 characters of `value`.
    pub fn new(
        field: Field,
        code: IssueCode,
        value: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        FieldIssue {
            field,
            code,
            value: value.map(shorten),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)?;
        if let Some(v) = &self.value {
            write!(f, " (got {v:?})")?;
        }
        Ok(())
    }
}

/// Shortens `s` to [`QUOTE_LIMIT`] characters, marking the cut with `…`.
pub(crate) fn shorten(s: &str) -> String {
    shorten_to(s, QUOTE_LIMIT)
}

/// The first `max` characters of `s`, then `…` if it was longer (so at
/// most `max + 1` characters).
pub(crate) fn shorten_to(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => {
            let mut out = s.get(..cut).unwrap_or(s).to_owned();
            out.push('…');
            out
        }
    }
}

/// A parser's message, shortened: some quote the input around the error,
/// which for a hostile document can be a hundred thousand characters.
pub(crate) fn shorten_message(message: &str) -> String {
    const MAX: usize = 400;
    if message.len() <= MAX {
        return message.to_owned();
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… ({} more characters)",
        &message[..end],
        message[end..].chars().count()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_round_trip() {
        for f in Field::BUILT_IN {
            assert_eq!(Field::parse(&f.to_string()), Some(f.clone()));
        }
        let a = Field::Attribute("How did you hear".into());
        assert_eq!(a.to_string(), "attributes.How did you hear");
        assert_eq!(Field::parse(&a.to_string()), Some(a));
        assert_eq!(Field::parse("nope"), None);
    }

    #[test]
    fn quotes_are_shortened_on_char_boundaries() {
        let long = "é".repeat(100);
        let s = shorten(&long);
        assert_eq!(s.chars().count(), QUOTE_LIMIT + 1);
        assert!(s.ends_with('…'));
        assert_eq!(shorten("short"), "short");
    }
}
