//! [`LeadInput`]: the raw payload a form or a CRM sends, before validation.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::issue::{Field, FieldIssue, IssueCode};

/// A raw lead as submitted by a web form, a form builder or a CRM export.
///
/// Every field is optional text: validation is [`Normalizer::normalize`]'s job,
/// so a `LeadInput` can hold anything a form sends.
///
/// # Deserializing
///
/// Field names are matched ignoring case and the separators `_`, `-`, `.`,
/// `/` and space, so `first_name`, `firstName`, `FirstName` and `First Name`
/// are the same field, and so are `Country/Region` and `country_region`.
/// Recognised names (after that folding; they include the standard names of
/// HubSpot contacts, Marketo and Salesforce leads, Salesforce Web-to-Lead
/// and Pardot prospects):
///
/// | field | names accepted |
/// |---|---|
/// | `lead_id` | `lead_id`, `id`, `submission_id` |
/// | `email` | `email`, `email_address`, `work_email`, `business_email` |
/// | `first_name` | `first_name`, `firstname`, `fname`, `given_name` |
/// | `last_name` | `last_name`, `lastname`, `lname`, `surname`, `family_name` |
/// | `company` | `company`, `company_name`, `organization`, `organisation` |
/// | `website` | `website`, `company_website`, `domain`, `company_domain`, `url`, `website_url` |
/// | `country` | `country`, `country_code`, `country_region` (`Country/Region`) |
/// | `region` | `state`, `region`, `province`, `state_province`, `state_or_province`, `state_code`, `state_region` (`State/Region`) |
/// | `postal_code` | `postal_code`, `zip`, `zipcode`, `zip_code`, `postcode`, `zip_postal_code` (`Zip/Postal Code`), `postal_zip_code` |
/// | `phone` | `phone`, `phone_number`, `telephone`, `mobile`, `mobilephone` (a mobile number is the lead's phone when no `phone` comes first) |
/// | `employees` | `employees`, `company_size`, `numberofemployees`, `numemployees`, `employee_count`, `headcount` |
/// | `annual_revenue` | `annual_revenue`, `annualrevenue`, `revenue` |
/// | `product_interest` | `product_interest`, `products`, `product` |
/// | `source` | `source`, `lead_source` |
/// | `utm_*` | `utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content`, or an object `utm: {source, …}` |
///
/// Values may be strings, numbers or booleans (kept as their JSON text), or
/// `null` (absent). Form builders send multi-selects and some hidden fields
/// as arrays, so an array holding one string, number or boolean is read as
/// that value (`["US"]` is `US`; `[]` and `[null]` are absent). An array is
/// accepted for `product_interest` (its items are joined with `,`) and an
/// object `{"min": n, "max": n | null}` for `employees` and
/// `annual_revenue`, so that the JSON of a normalized [`Lead`](crate::Lead)
/// reads back as input. `normalize` reports any other shape for a known
/// field as [`WrongType`](IssueCode::WrongType), quoting its JSON: an array
/// of several values (or of an array or object) in an optional field is a
/// warning and the field is absent, like any unreadable optional answer; an
/// object, and anything but a string or a one-string array for `email`, is
/// an error.
///
/// Every other key is kept, with its original name and JSON value, in
/// [`attributes`](Self::attributes); an `attributes` object is merged into it.
/// The output-only keys of a `Lead` (`email_domain`, `email_kind`,
/// `company_key`) are recomputed by `normalize` and ignored on input.
///
/// ## A field under several names
///
/// If a field arrives under two names (`company` and `company_name`), the
/// first *usable* one wins, in the payload's order: a blank value, or one of
/// the placeholders `normalize` treats as absent (`N/A`, `-`,
/// `Select Country`, …), gives way to a later real one. Nothing is dropped:
/// a later value that does not win is kept as an attribute under its own
/// name (two real values: the first stays the field), and a placeholder that
/// gives way is reported by `normalize` as a
/// [`Placeholder`](IssueCode::Placeholder) warning for the field, as a lone
/// placeholder is. (A bare two-letter `country` such as `NA`, Namibia, is a
/// code, not a placeholder.)
///
/// ```
/// use leadroute::LeadInput;
///
/// let input: LeadInput =
///     serde_json::from_str(r#"{"company": "N/A", "company_name": "Initech"}"#).unwrap();
/// assert_eq!(input.company.as_deref(), Some("Initech"));
/// let input: LeadInput =
///     serde_json::from_str(r#"{"company": "Initech", "company_name": "Initech Corp"}"#).unwrap();
/// assert_eq!(input.company.as_deref(), Some("Initech"));
/// assert_eq!(input.attributes["company_name"], "Initech Corp");
/// ```
///
/// ```
/// use leadroute::LeadInput;
///
/// let input: LeadInput = serde_json::from_str(r#"{
///     "Email": "jane@acme.com", "FirstName": "Jane", "numberofemployees": 250,
///     "How did you hear about us?": "podcast"
/// }"#).unwrap();
/// assert_eq!(input.email.as_deref(), Some("jane@acme.com"));
/// assert_eq!(input.employees.as_deref(), Some("250"));
/// assert_eq!(input.attributes["How did you hear about us?"], "podcast");
/// ```
///
/// [`Normalizer::normalize`]: crate::Normalizer::normalize
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct LeadInput {
    /// Caller's id for this submission; makes pool rotation idempotent.
    pub lead_id: Option<String>,
    /// Email address (required by `normalize`).
    pub email: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Company name as typed.
    pub company: Option<String>,
    /// Company website or domain.
    pub website: Option<String>,
    /// Country name or code.
    pub country: Option<String>,
    /// State, province or region name or code.
    pub region: Option<String>,
    /// Postal or ZIP code.
    pub postal_code: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Employee count or range ("51-200").
    pub employees: Option<String>,
    /// Annual revenue or range ("$10M-$50M").
    pub annual_revenue: Option<String>,
    /// Product interest, one or more tokens separated by `,` `;` `|`.
    pub product_interest: Option<String>,
    /// Lead source.
    pub source: Option<String>,
    /// `utm_source`.
    pub utm_source: Option<String>,
    /// `utm_medium`.
    pub utm_medium: Option<String>,
    /// `utm_campaign`.
    pub utm_campaign: Option<String>,
    /// `utm_term`.
    pub utm_term: Option<String>,
    /// `utm_content`.
    pub utm_content: Option<String>,
    /// Every field not recognised above, by its original key.
    pub attributes: BTreeMap<String, Value>,
    /// Known fields that arrived with an unusable JSON type, errors for
    /// `normalize` (at most [`MAX_TYPE_ERRORS`]; the rest are counted).
    pub(crate) type_errors: Vec<FieldIssue>,
    pub(crate) type_errors_omitted: usize,
    /// Warnings found while reading: an optional field with an unusable
    /// JSON type (absent), a placeholder that gave way to another spelling
    /// of its field (at most [`MAX_TYPE_ERRORS`]; the rest are counted).
    pub(crate) read_warnings: Vec<FieldIssue>,
    pub(crate) read_warnings_omitted: usize,
}

/// Wrong-type values (and read warnings) kept per payload while reading it:
/// a hostile payload repeating one key 100,000 times costs a count, not
/// 100,000 issues.
const MAX_TYPE_ERRORS: usize = 64;

impl LeadInput {
    /// An input holding just an email address.
    pub fn from_email(email: impl Into<String>) -> Self {
        LeadInput {
            email: Some(email.into()),
            ..LeadInput::default()
        }
    }

    /// The field slot for a canonical field, if it is a plain text field.
    fn slot(&mut self, field: &Field) -> Option<&mut Option<String>> {
        Some(match field {
            Field::LeadId => &mut self.lead_id,
            Field::Email => &mut self.email,
            Field::FirstName => &mut self.first_name,
            Field::LastName => &mut self.last_name,
            Field::Company => &mut self.company,
            Field::Website => &mut self.website,
            Field::Country => &mut self.country,
            Field::Region => &mut self.region,
            Field::PostalCode => &mut self.postal_code,
            Field::Phone => &mut self.phone,
            Field::Employees => &mut self.employees,
            Field::AnnualRevenue => &mut self.annual_revenue,
            Field::ProductInterest => &mut self.product_interest,
            Field::Source => &mut self.source,
            Field::UtmSource => &mut self.utm_source,
            Field::UtmMedium => &mut self.utm_medium,
            Field::UtmCampaign => &mut self.utm_campaign,
            Field::UtmTerm => &mut self.utm_term,
            Field::UtmContent => &mut self.utm_content,
            _ => return None,
        })
    }

    /// Every text field with its canonical field, in a fixed order.
    pub(crate) fn text_fields(&self) -> [(Field, Option<&str>); 19] {
        [
            (Field::LeadId, self.lead_id.as_deref()),
            (Field::Email, self.email.as_deref()),
            (Field::FirstName, self.first_name.as_deref()),
            (Field::LastName, self.last_name.as_deref()),
            (Field::Company, self.company.as_deref()),
            (Field::Website, self.website.as_deref()),
            (Field::Country, self.country.as_deref()),
            (Field::Region, self.region.as_deref()),
            (Field::PostalCode, self.postal_code.as_deref()),
            (Field::Phone, self.phone.as_deref()),
            (Field::Employees, self.employees.as_deref()),
            (Field::AnnualRevenue, self.annual_revenue.as_deref()),
            (Field::ProductInterest, self.product_interest.as_deref()),
            (Field::Source, self.source.as_deref()),
            (Field::UtmSource, self.utm_source.as_deref()),
            (Field::UtmMedium, self.utm_medium.as_deref()),
            (Field::UtmCampaign, self.utm_campaign.as_deref()),
            (Field::UtmTerm, self.utm_term.as_deref()),
            (Field::UtmContent, self.utm_content.as_deref()),
        ]
    }

    /// Stores `value` under the field a form key names, following the rules
    /// in the type's documentation. The key is borrowed from the payload
    /// where it can be (a key without escapes) and copied only when it is
    /// kept, as an attribute's name.
    fn accept(&mut self, key: Cow<'_, str>, value: Value) {
        let folded = FoldedKey::of(&key);
        match folded.as_bytes() {
            b"attributes" | b"customattributes" => {
                if let Value::Object(map) = value {
                    for (k, v) in map {
                        self.keep_attribute(k, v);
                    }
                } else {
                    self.keep_attribute(key.into_owned(), value);
                }
                return;
            }
            b"utm" => {
                if let Value::Object(map) = value {
                    for (k, v) in map {
                        let prefixed = format!("utm_{k}");
                        match field_for_key(FoldedKey::of(&prefixed).as_bytes()) {
                            Some(f) if f.as_str().is_some_and(|n| n.starts_with("utm_")) => {
                                self.set_text(f, Cow::Owned(prefixed), v)
                            }
                            _ => self.keep_attribute(prefixed, v),
                        }
                    }
                } else {
                    self.keep_attribute(key.into_owned(), value);
                }
                return;
            }
            // Output-only keys of a normalized `Lead`: derived, recomputed.
            b"emaildomain" | b"emailkind" | b"companykey" => return,
            _ => {}
        }
        match field_for_key(folded.as_bytes()) {
            Some(field) => self.set_text(field, key, value),
            None => self.keep_attribute(key.into_owned(), value),
        }
    }

    fn set_text(&mut self, field: Field, key: Cow<'_, str>, value: Value) {
        let text = match value_to_text(&field, value) {
            Ok(Some(text)) => text,
            Ok(None) => return,
            Err((found, value)) => return self.wrong_type(field, found, &value),
        };
        let Some(slot) = self.slot(&field) else {
            return;
        };
        match slot {
            None => *slot = Some(text),
            Some(existing) if trim(existing).is_empty() => *slot = Some(text),
            Some(existing) => {
                // A second spelling of a field already filled (rare).
                if stands_for_nothing(&field, existing) && !stands_for_nothing(&field, &text) {
                    // A placeholder gives way to a real value, reported as
                    // `normalize` reports a lone placeholder.
                    let placeholder = std::mem::replace(existing, text);
                    self.read_warning(FieldIssue::new(
                        field,
                        IssueCode::Placeholder,
                        Some(trim(&placeholder)),
                        "is a placeholder; the field's value came from another of its names",
                    ));
                } else {
                    // The first usable value stays: keep this one, visibly.
                    self.keep_attribute(key.into_owned(), Value::String(text));
                }
            }
        }
    }

    /// A known field's unusable JSON value, quoted: an error for the
    /// required `email` and for an object (a payload shaped for something
    /// else), else a warning and the field is absent (an array of several
    /// values in a single-valued field: which one is meant is not known).
    #[cold]
    #[inline(never)]
    fn wrong_type(&mut self, field: Field, found: &'static str, value: &Value) {
        let error = field == Field::Email || value.is_object();
        let found: Cow<'_, str> = match value {
            Value::Array(items) if items.len() > 1 && field != Field::ProductInterest => {
                Cow::Owned(format!("an array of {} values", items.len()))
            }
            _ => Cow::Borrowed(found),
        };
        let (issues, omitted, absent) = if error {
            (&mut self.type_errors, &mut self.type_errors_omitted, "")
        } else {
            let absent = "; treated as absent";
            (
                &mut self.read_warnings,
                &mut self.read_warnings_omitted,
                absent,
            )
        };
        push_capped(issues, omitted, || {
            FieldIssue::new(
                field,
                IssueCode::WrongType,
                Some(&value.to_string()),
                format!("expected text or a number, found {found}{absent}"),
            )
        });
    }

    fn read_warning(&mut self, issue: FieldIssue) {
        push_capped(
            &mut self.read_warnings,
            &mut self.read_warnings_omitted,
            || issue,
        );
    }

    fn keep_attribute(&mut self, key: String, value: Value) {
        if value.is_null() {
            return;
        }
        self.attributes.insert(key, value);
    }
}

/// Adds the issue `make` builds, or counts it in `omitted` once `issues`
/// holds [`MAX_TYPE_ERRORS`] (without building it).
fn push_capped(
    issues: &mut Vec<FieldIssue>,
    omitted: &mut usize,
    make: impl FnOnce() -> FieldIssue,
) {
    if issues.len() >= MAX_TYPE_ERRORS {
        *omitted += 1;
    } else {
        issues.push(make());
    }
}

/// A form key folded for matching: ASCII lower case, separators (`_`, `-`,
/// `.`, `/`, space) removed, on the stack.
///
/// Every field name is ASCII and at most [`FoldedKey::MAX`] bytes folded, so
/// a key that folds to anything else matches none: it folds to the empty
/// key (also no field name) without being read to its end. Folding into a
/// `String` a character at a time was a quarter of parsing a lead's JSON
/// (issue 16: 8,000 of the full lead's 27,450 parse instructions, from the
/// `String`'s growth and the per-character iterator).
struct FoldedKey {
    buf: [u8; FoldedKey::MAX],
    len: usize,
}

impl FoldedKey {
    /// Room for the longest folded field name (`numberofemployees`, 17).
    const MAX: usize = 24;

    fn of(key: &str) -> FoldedKey {
        let mut out = FoldedKey {
            buf: [0; FoldedKey::MAX],
            len: 0,
        };
        for &b in key.as_bytes() {
            if matches!(b, b'_' | b'-' | b'.' | b'/' | b' ') {
                continue;
            }
            match out.buf.get_mut(out.len) {
                Some(slot) if b.is_ascii() => *slot = b.to_ascii_lowercase(),
                // Past ASCII, or longer than any field name.
                _ => {
                    out.len = 0;
                    return out;
                }
            }
            out.len += 1;
        }
        out
    }

    /// The folded key: ASCII bytes, compared as bytes (no UTF-8 check
    /// needed, which cost about 150 instructions a field).
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

fn field_for_key(folded: &[u8]) -> Option<Field> {
    Some(match folded {
        b"leadid" | b"id" | b"submissionid" => Field::LeadId,
        b"email" | b"emailaddress" | b"workemail" | b"businessemail" => Field::Email,
        b"firstname" | b"fname" | b"givenname" => Field::FirstName,
        b"lastname" | b"lname" | b"surname" | b"familyname" => Field::LastName,
        b"company" | b"companyname" | b"organization" | b"organisation" => Field::Company,
        b"website" | b"companywebsite" | b"domain" | b"companydomain" | b"url" | b"websiteurl" => {
            Field::Website
        }
        b"country" | b"countrycode" | b"countryregion" => Field::Country,
        b"state" | b"region" | b"province" | b"stateprovince" | b"stateorprovince"
        | b"statecode" | b"stateregion" => Field::Region,
        b"postalcode" | b"zip" | b"zipcode" | b"postcode" | b"zippostalcode" | b"postalzipcode" => {
            Field::PostalCode
        }
        // `mobile` (Salesforce Web-to-Lead), `mobilephone` (HubSpot, Marketo,
        // Salesforce `MobilePhone`).
        b"phone" | b"phonenumber" | b"telephone" | b"mobile" | b"mobilephone" => Field::Phone,
        // `numemployees`: HubSpot's contact property (`numberofemployees`
        // is its company property, and Marketo's and Salesforce's).
        b"employees" | b"companysize" | b"numberofemployees" | b"numemployees"
        | b"employeecount" | b"headcount" => Field::Employees,
        b"annualrevenue" | b"revenue" => Field::AnnualRevenue,
        b"productinterest" | b"products" | b"product" => Field::ProductInterest,
        b"source" | b"leadsource" => Field::Source,
        b"utmsource" => Field::UtmSource,
        b"utmmedium" => Field::UtmMedium,
        b"utmcampaign" => Field::UtmCampaign,
        b"utmterm" => Field::UtmTerm,
        b"utmcontent" => Field::UtmContent,
        _ => return None,
    })
}

/// Whether a field's text means "no answer" when choosing among its
/// spellings: blank, or a placeholder `normalize` treats as absent (but a
/// bare two-letter country is a code: `NA` is Namibia).
fn stands_for_nothing(field: &Field, text: &str) -> bool {
    trim(text).is_empty() || is_placeholder_for(field, text)
}

/// Whether `text` is a placeholder (`normalize` treats it as absent) for
/// `field`: one of [`PLACEHOLDERS`], except that a bare two-letter
/// `country` is a code (`NA` is Namibia, not "n/a").
pub(crate) fn is_placeholder_for(field: &Field, text: &str) -> bool {
    !(*field == Field::Country && trim(text).len() == 2) && is_placeholder(text)
}

/// An unusable JSON type, as `found` in a wrong-type message (an array's
/// count is added there), and the value given back.
type Unusable = (&'static str, Value);

/// Converts a JSON value to field text (a string is moved, not copied, also
/// out of a one-item array); `Err` names the unusable JSON type and gives
/// the value back.
fn value_to_text(field: &Field, value: Value) -> Result<Option<String>, Unusable> {
    match value {
        Value::String(s) => Ok(Some(s)),
        Value::Array(items) if *field != Field::ProductInterest => one_item(field, items),
        other => value_ref_to_text(field, &other).map_err(|found| (found, other)),
    }
}

/// A single-valued field's array: a multi-select or hidden field sent as
/// `["US"]` is its one item; `[]` and `[null]` are absent. For the required
/// `email`, only a one-string array is read.
#[cold]
#[inline(never)]
fn one_item(field: &Field, mut items: Vec<Value>) -> Result<Option<String>, Unusable> {
    let email = *field == Field::Email;
    match items.as_slice() {
        [Value::String(_)] => {
            if let Some(Value::String(s)) = items.pop() {
                return Ok(Some(s));
            }
        }
        [] | [Value::Null] if !email => return Ok(None),
        [Value::Number(n)] if !email => return Ok(Some(n.to_string())),
        [Value::Bool(b)] if !email => return Ok(Some(b.to_string())),
        _ => {}
    }
    let found = match items.as_slice() {
        [] => "an empty array",
        [Value::Null] => "an array holding null",
        [Value::Array(_) | Value::Object(_)] => "an array holding an array or object",
        [_] => "an array holding a number or boolean",
        _ => "an array of several values",
    };
    Err((found, Value::Array(items)))
}

/// [`value_to_text`] of a borrowed value (an array's items).
fn value_ref_to_text(field: &Field, value: &Value) -> Result<Option<String>, &'static str> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(items) if *field == Field::ProductInterest => {
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                match value_ref_to_text(field, item)? {
                    Some(text) => parts.push(text),
                    None => continue,
                }
            }
            Ok(Some(parts.join(",")))
        }
        Value::Object(map) if matches!(field, Field::Employees | Field::AnnualRevenue) => {
            range_object_to_text(map).ok_or("an object other than {\"min\": n, \"max\": n | null}")
        }
        Value::Array(_) => Err("an array"),
        Value::Object(_) => Err("an object"),
    }
}

/// `{"min": 51, "max": 200}` → `"51-200"`; `{"min": 1000, "max": null}` → `"1000+"`.
fn range_object_to_text(map: &serde_json::Map<String, Value>) -> Option<Option<String>> {
    let min = map.get("min")?.as_u64()?;
    match map.get("max") {
        None | Some(Value::Null) => Some(Some(format!("{min}+"))),
        Some(v) => {
            let max = v.as_u64()?;
            if max == min {
                Some(Some(min.to_string()))
            } else {
                Some(Some(format!("{min}-{max}")))
            }
        }
    }
}

impl<'de> Deserialize<'de> for LeadInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InputVisitor;
        impl<'de> Visitor<'de> for InputVisitor {
            type Value = LeadInput;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of form fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LeadInput, A::Error> {
                let mut input = LeadInput::default();
                while let Some(key) = map.next_key_seed(KeySeed)? {
                    let value: Value = map.next_value()?;
                    input.accept(key, value);
                }
                Ok(input)
            }
        }
        d.deserialize_map(InputVisitor)
    }
}

/// Reads a form key borrowed from the payload where the format allows (a
/// JSON key without escapes, from `serde_json::from_str`), else owned.
/// (`Cow<str>`'s own `Deserialize` always copies.)
struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a form field's name")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }

    fn visit_borrowed_bytes<E: serde::de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
        std::str::from_utf8(v)
            .map(Cow::Borrowed)
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Bytes(v), &self))
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        std::str::from_utf8(v)
            .map(|s| Cow::Owned(s.to_owned()))
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Bytes(v), &self))
    }
}

impl Serialize for LeadInput {
    /// Serializes with canonical snake_case names; absent fields are left out
    /// and `attributes` is a nested object.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = self.text_fields();
        let present = fields.iter().filter(|(_, v)| v.is_some()).count();
        let mut map = s.serialize_map(Some(present + usize::from(!self.attributes.is_empty())))?;
        for (field, value) in fields {
            if let (Some(name), Some(value)) = (field.as_str(), value) {
                map.serialize_entry(name, value)?;
            }
        }
        if !self.attributes.is_empty() {
            map.serialize_entry("attributes", &self.attributes)?;
        }
        map.end()
    }
}

/// A dropdown label with one pair of parentheses, split into the text
/// around them (joined by a space, trimmed) and the text inside (trimmed):
/// `51-200 (Mid-Market)` is (`51-200`, `Mid-Market`), `United States (US)`
/// (`United States`, `US`). `None` without exactly one pair. (The range
/// and country readers try both parts.)
pub(crate) fn split_parenthesised(text: &str) -> Option<(String, &str)> {
    let open = text.find('(')?;
    let close = open + text.get(open..)?.find(')')?;
    let (before, inside, after) = (
        text.get(..open)?,
        text.get(open + 1..close)?,
        text.get(close + 1..)?,
    );
    if inside.contains('(') || after.contains(['(', ')']) {
        return None;
    }
    let around = match (before.trim(), after.trim()) {
        (b, "") => b.to_owned(),
        ("", a) => a.to_owned(),
        (b, a) => format!("{b} {a}"),
    };
    Some((around, inside.trim()))
}

/// [`str::trim`], without its work when the text starts and ends with a
/// printable ASCII byte (most fields: two byte checks, inline).
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    // The ASCII characters `char::is_whitespace` accepts are `\t`..`\r` and
    // the space. A printable ASCII byte (`!`..`~`: one subtraction and one
    // compare, where the exact test cost about three instructions more an
    // end) is none of them; an ASCII control byte at an end goes the slow
    // way, which trims it as `str::trim` does.
    let plain = |b: Option<&u8>| b.is_some_and(|&b| b.wrapping_sub(b'!') <= b'~' - b'!');
    let b = s.as_bytes();
    if plain(b.first()) && plain(b.last()) {
        s
    } else {
        trim_edges(s)
    }
}

/// [`trim`] of a text with whitespace or a byte past ASCII at an end: ASCII
/// whitespace is skipped byte by byte, and only a byte past ASCII where the
/// skipping stops (which may be Unicode whitespace) asks `str::trim`.
fn trim_edges(s: &str) -> &str {
    let ws = |c: &u8| matches!(c, b'\t'..=b'\r' | b' ');
    let b = s.as_bytes();
    let start = b.iter().position(|c| !ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !ws(c)).map_or(start, |i| i + 1);
    let ascii_edge = |i: usize| b.get(i).is_none_or(u8::is_ascii);
    if ascii_edge(start) && (end == 0 || ascii_edge(end - 1)) {
        // Both ends are ASCII bytes (character boundaries) or the text is
        // all ASCII whitespace.
        s.get(start..end).unwrap_or_default()
    } else {
        s.trim()
    }
}

/// Values people type to mean "nothing".
pub(crate) const PLACEHOLDERS: &[&str] = &[
    "n/a",
    "na",
    "n.a.",
    "none",
    "null",
    "nil",
    "-",
    "--",
    "---",
    ".",
    "?",
    "unknown",
    "not applicable",
    "tbd",
    "xxx",
    // A form's "no answer" options (head-count and revenue dropdowns
    // offer them): without them the whole lead was refused, since such a
    // range is unreadable.
    "prefer not to say",
    "rather not say",
    "not sure",
    "not disclosed",
    "undisclosed",
    "prefer not to disclose",
    "decline to answer",
    "decline to state",
    "don't know",
    "i don't know",
    "do not know",
    // A dropdown's unselected first option, sent as its label.
    "select",
    "select...",
    "select one",
    "select one...",
    "select an option",
    "please select",
    "please select...",
    "please choose",
    "choose",
    "choose one",
    "choose one...",
    "-- select --",
    "--select--",
    "- select -",
    "select country",
    "select a country",
    "select state",
];

/// The placeholders are ASCII, so an ASCII case-insensitive comparison is
/// exact and needs no lower-cased copy.
///
/// Also what [`LeadInput`] uses to let a placeholder in one spelling of a
/// field give way to a real value in another (so it is defined here, with
/// the input, not with the normalizer).
#[inline]
pub(crate) fn is_placeholder(s: &str) -> bool {
    let s = trim(s);
    // A match starts and ends with a placeholder's first and last bytes
    // (in either case) at its length: one load and a bit test each, which
    // answer most values (`California` shares its first byte and length
    // with `choose one`, not its last byte).
    let admits = |table: &[u32; 256], b: Option<&u8>| {
        b.is_some_and(|&b| {
            table
                .get(usize::from(b.to_ascii_lowercase()))
                .is_some_and(|lengths| lengths >> s.len() & 1 == 1)
        })
    };
    s.len() <= LONGEST_PLACEHOLDER
        && admits(&PLACEHOLDER_LENGTHS.0, s.as_bytes().first())
        && admits(&PLACEHOLDER_LENGTHS.1, s.as_bytes().last())
        && PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(s))
}

/// For each lower-case first byte, and for each last byte, the lengths of
/// the [`PLACEHOLDERS`] that start (end) with it, as bits (`1 << len`): a
/// value whose first or last byte and length are no placeholder's is none,
/// without a comparison. (With 40 placeholders most company names and
/// cities share a first byte with one: the scan of the list cost the
/// full-lead bench ~600 instructions for its `California`.)
// Evaluated at compile time: an index out of bounds would fail the build.
#[allow(clippy::indexing_slicing)]
pub(crate) const PLACEHOLDER_LENGTHS: ([u32; 256], [u32; 256]) = {
    let (mut first, mut last) = ([0u32; 256], [0u32; 256]);
    let mut i = 0;
    while i < PLACEHOLDERS.len() {
        let p = PLACEHOLDERS[i].as_bytes();
        first[p[0].to_ascii_lowercase() as usize] |= 1 << p.len();
        last[p[p.len() - 1].to_ascii_lowercase() as usize] |= 1 << p.len();
        i += 1;
    }
    (first, last)
};

/// Bytes in the longest of [`PLACEHOLDERS`].
pub(crate) const LONGEST_PLACEHOLDER: usize = "prefer not to disclose".len();

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_byte_trim_is_str_trim(
            s in "( |\t|\n|\x0b|\x0c|\r|\x00|\x08|\x1c|\x1f|!|~|\x7f|\u{85}|\u{a0}|\u{2003}|\u{3000}|a|é|€|[.]){0,12}",
        ) {
            proptest::prop_assert_eq!(trim(&s), s.trim());
        }

        /// The stack fold finds the field the reference fold (into a
        /// `String`, every character) finds, for any key: equal folds, or
        /// a reference fold that names nothing.
        #[test]
        fn the_stack_fold_is_the_string_fold(
            key in "([a-zA-Z]|_|-|[.]|/| |É|é|ß|\u{212a}|0){0,30}|(Number_of_Employees|custom-Attributes|E-Mail|utm_Source|Company Name|Zip/Postal Code|State/Region)",
        ) {
            let reference: String = key
                .chars()
                .filter(|c| !matches!(c, '_' | '-' | '.' | '/' | ' '))
                .map(|c| c.to_ascii_lowercase())
                .collect();
            let folded = FoldedKey::of(&key);
            let names_something = |k: &[u8]| {
                field_for_key(k).is_some()
                    || matches!(k, b"attributes" | b"customattributes" | b"utm" | b"emaildomain" | b"emailkind" | b"companykey")
            };
            if folded.as_bytes() != reference.as_bytes() {
                proptest::prop_assert!(!names_something(reference.as_bytes()), "{key:?} → {reference:?}");
                proptest::prop_assert!(!names_something(folded.as_bytes()));
            }
        }
    }

    #[test]
    fn json_keys_with_escapes_and_borrowed_keys_read_alike() {
        let plain: LeadInput =
            serde_json::from_str(r#"{"Work Email": "a@b.co", "Plan": "team"}"#).unwrap();
        let escaped: LeadInput =
            serde_json::from_str(r#"{"Work\u0020Email": "a@b.co", "Pl\u0061n": "team"}"#).unwrap();
        assert_eq!(plain, escaped);
        assert_eq!(plain.email.as_deref(), Some("a@b.co"));
        assert_eq!(plain.attributes["Plan"], "team");
        // From a reader (no borrowing possible) as well.
        let read: LeadInput =
            serde_json::from_reader(&br#"{"Work Email": "a@b.co", "Plan": "team"}"#[..]).unwrap();
        assert_eq!(read, plain);
    }
    use serde_json::json;

    fn parse(v: Value) -> LeadInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn keys_match_ignoring_case_and_separators() {
        let i = parse(json!({
            "E-mail": "x", "First Name": "Jane", "lastName": "Doe", "COMPANY_NAME": "Acme",
            "zip": "02134", "Company.Size": "51-200", "utm_source": "g", "StateOrProvince": "CA"
        }));
        // "E-mail" folds to "email".
        assert_eq!(i.email.as_deref(), Some("x"));
        assert_eq!(i.first_name.as_deref(), Some("Jane"));
        assert_eq!(i.last_name.as_deref(), Some("Doe"));
        assert_eq!(i.company.as_deref(), Some("Acme"));
        assert_eq!(i.postal_code.as_deref(), Some("02134"));
        assert_eq!(i.employees.as_deref(), Some("51-200"));
        assert_eq!(i.utm_source.as_deref(), Some("g"));
        assert_eq!(i.region.as_deref(), Some("CA"));
        assert!(i.attributes.is_empty());
    }

    #[test]
    fn numbers_and_bools_become_text_and_null_is_absent() {
        let i = parse(
            json!({"employees": 5000, "annual_revenue": 1.5e7, "phone": null, "zip": 2134, "gdpr": true}),
        );
        assert_eq!(i.employees.as_deref(), Some("5000"));
        assert_eq!(i.annual_revenue.as_deref(), Some("15000000.0"));
        assert_eq!(i.phone, None);
        assert_eq!(i.postal_code.as_deref(), Some("2134"));
        assert_eq!(i.attributes["gdpr"], json!(true));
    }

    #[test]
    fn unknown_fields_are_kept_as_attributes() {
        let i = parse(json!({"email": "a@b.co", "Budget": "50k", "consent": {"marketing": true}}));
        assert_eq!(i.attributes.len(), 2);
        assert_eq!(i.attributes["Budget"], json!("50k"));
        assert_eq!(i.attributes["consent"], json!({"marketing": true}));
    }

    #[test]
    fn second_spelling_of_a_field_is_kept_not_dropped() {
        let i: LeadInput =
            serde_json::from_str(r#"{"company": "Acme", "company_name": "Acme Inc"}"#).unwrap();
        assert_eq!(i.company.as_deref(), Some("Acme"));
        assert_eq!(i.attributes["company_name"], json!("Acme Inc"));
        // A blank first spelling does not block the second.
        let i: LeadInput =
            serde_json::from_str(r#"{"company": "  ", "company_name": "Acme Inc"}"#).unwrap();
        assert_eq!(i.company.as_deref(), Some("Acme Inc"));
    }

    #[test]
    fn lead_shaped_json_reads_back() {
        let i = parse(json!({
            "email": "a@acme.com", "email_domain": "acme.com", "email_kind": "business",
            "company_key": "acme", "company_domain": "acme.com",
            "employees": {"min": 51, "max": 200}, "annual_revenue": {"min": 1000, "max": null},
            "product_interest": ["plg", "analytics"],
            "utm": {"source": "google", "medium": "cpc", "other": "x"},
            "attributes": {"Budget": "50k"}
        }));
        assert_eq!(i.website.as_deref(), Some("acme.com"));
        assert_eq!(i.employees.as_deref(), Some("51-200"));
        assert_eq!(i.annual_revenue.as_deref(), Some("1000+"));
        assert_eq!(i.product_interest.as_deref(), Some("plg,analytics"));
        assert_eq!(i.utm_source.as_deref(), Some("google"));
        assert_eq!(i.utm_medium.as_deref(), Some("cpc"));
        assert_eq!(i.attributes["utm_other"], json!("x"));
        assert_eq!(i.attributes["Budget"], json!("50k"));
        assert!(!i.attributes.contains_key("email_kind"));
    }

    #[test]
    fn wrong_types_are_recorded_per_field() {
        // Parsed from text: entries are visited in document order.
        let i: LeadInput = serde_json::from_str(
            r#"{"email": {"a": 1}, "company": ["x", "y"], "employees": {"lo": 1}, "zip": [[1]]}"#,
        )
        .unwrap();
        assert_eq!((i.email, i.company, i.postal_code), (None, None, None));
        // Objects (and any unusable email) are errors …
        let fields: Vec<_> = i.type_errors.iter().map(|e| e.field.clone()).collect();
        assert_eq!(fields, vec![Field::Email, Field::Employees]);
        assert!(i.type_errors.iter().all(|e| e.code == IssueCode::WrongType));
        // … an optional field's unusable array a warning quoting it.
        let fields: Vec<_> = i.read_warnings.iter().map(|e| e.field.clone()).collect();
        assert_eq!(fields, vec![Field::Company, Field::PostalCode]);
        assert!(
            i.read_warnings
                .iter()
                .all(|e| e.code == IssueCode::WrongType)
        );
        assert_eq!(i.read_warnings[0].value.as_deref(), Some(r#"["x","y"]"#));
        assert!(
            i.read_warnings[0]
                .message
                .contains("an array of 2 values; treated as absent"),
            "{}",
            i.read_warnings[0].message
        );
        assert!(
            i.read_warnings[1]
                .message
                .contains("an array holding an array")
        );
    }

    #[test]
    fn a_one_item_array_is_its_item() {
        let i = parse(json!({
            "email": ["jane@acme.com"], "utm_source": ["google"], "country": ["US"],
            "company": ["Acme"], "website": ["acme.com"], "zip": [94105], "employees": ["51-200"],
            "utm": {"medium": ["cpc"]}, "first_name": [null], "last_name": [], "lead_id": [true]
        }));
        assert_eq!(i.email.as_deref(), Some("jane@acme.com"));
        assert_eq!(i.utm_source.as_deref(), Some("google"));
        assert_eq!(i.utm_medium.as_deref(), Some("cpc"));
        assert_eq!(i.country.as_deref(), Some("US"));
        assert_eq!(i.company.as_deref(), Some("Acme"));
        assert_eq!(i.website.as_deref(), Some("acme.com"));
        assert_eq!(i.postal_code.as_deref(), Some("94105"));
        assert_eq!(i.employees.as_deref(), Some("51-200"));
        assert_eq!(i.lead_id.as_deref(), Some("true"));
        // An empty multi-select is no answer.
        assert_eq!((i.first_name, i.last_name), (None, None));
        assert!(i.type_errors.is_empty() && i.read_warnings.is_empty());
        assert!(i.attributes.is_empty());
        // `product_interest` still joins its items.
        let i = parse(json!({"product_interest": ["plg"], "products": ["a", "b"]}));
        assert_eq!(i.product_interest.as_deref(), Some("plg"));
        assert_eq!(i.attributes["products"], json!("a,b"));
    }

    #[test]
    fn email_reads_only_a_one_string_array() {
        for email in [
            json!(["a@b.co", "c@d.co"]),
            json!([]),
            json!([null]),
            json!([5]),
            json!([["a@b.co"]]),
        ] {
            let i = parse(json!({ "email": email.clone() }));
            assert_eq!(i.email, None, "{email}");
            assert_eq!(i.type_errors.len(), 1, "{email}");
            assert_eq!(i.type_errors[0].code, IssueCode::WrongType);
            assert!(i.read_warnings.is_empty());
        }
    }

    #[test]
    fn form_labels_and_crm_names_map_to_fields() {
        let i = parse(json!({
            "Country/Region": "DE", "State/Province": "BY", "Zip/Postal Code": "80331",
            "numemployees": "51-200", "mobilephone": "+49 89 1234567"
        }));
        assert_eq!(i.country.as_deref(), Some("DE"));
        assert_eq!(i.region.as_deref(), Some("BY"));
        assert_eq!(i.postal_code.as_deref(), Some("80331"));
        assert_eq!(i.employees.as_deref(), Some("51-200"));
        assert_eq!(i.phone.as_deref(), Some("+49 89 1234567"));
        assert!(i.attributes.is_empty(), "{:?}", i.attributes);
        let i = parse(json!({"State/Region": "CA", "Postal/Zip Code": "94105", "mobile": "1"}));
        assert_eq!(i.region.as_deref(), Some("CA"));
        assert_eq!(i.postal_code.as_deref(), Some("94105"));
        assert_eq!(i.phone.as_deref(), Some("1"));
        // Salesforce Web-to-Lead names, then Marketo's.
        let i = parse(json!({
            "first_name": "a", "last_name": "b", "URL": "acme.com", "employees": "5",
            "revenue": "1M", "lead_source": "Web", "zip": "1", "mobile": "2", "city": "X"
        }));
        assert_eq!(i.website.as_deref(), Some("acme.com"));
        assert_eq!(i.source.as_deref(), Some("Web"));
        assert_eq!(i.phone.as_deref(), Some("2"));
        assert_eq!(i.employees.as_deref(), Some("5"));
        assert_eq!(i.annual_revenue.as_deref(), Some("1M"));
        assert_eq!(i.attributes.keys().collect::<Vec<_>>(), ["city"]);
        let i = parse(json!({
            "PostalCode": "1", "MobilePhone": "2", "NumberOfEmployees": "6", "AnnualRevenue": "2M"
        }));
        assert_eq!(i.postal_code.as_deref(), Some("1"));
        assert_eq!(i.phone.as_deref(), Some("2"));
        assert_eq!(i.employees.as_deref(), Some("6"));
        assert_eq!(i.annual_revenue.as_deref(), Some("2M"));
        // Unknown labels with a `/` stay attributes under their own name.
        let i = parse(json!({"Job Title/Role": "CTO", "City/Town": "Berlin"}));
        assert_eq!(i.attributes.len(), 2);
    }

    #[test]
    fn a_placeholder_spelling_gives_way_to_a_real_one() {
        for (json, field) in [
            (
                r#"{"company": "N/A", "company_name": "Initech"}"#,
                Field::Company,
            ),
            (
                r#"{"email": "N/A", "work_email": "jane@initech.com"}"#,
                Field::Email,
            ),
            (
                r#"{"country": "Select Country", "country_code": "DE"}"#,
                Field::Country,
            ),
        ] {
            let i: LeadInput = serde_json::from_str(json).unwrap();
            let real = |i: &LeadInput| {
                [i.company.clone(), i.email.clone(), i.country.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
            };
            assert_eq!(real(&i).len(), 1, "{json}");
            assert!(!is_placeholder(&real(&i)[0]), "{json}");
            assert!(i.attributes.is_empty(), "{json}: {:?}", i.attributes);
            // The placeholder stays visible, as a warning.
            assert_eq!(i.read_warnings.len(), 1, "{json}");
            assert_eq!(i.read_warnings[0].field, field);
            assert_eq!(i.read_warnings[0].code, IssueCode::Placeholder);
        }
        // In the other order the real value is first: the placeholder is an attribute, as before.
        let i: LeadInput =
            serde_json::from_str(r#"{"company_name": "Initech", "company": "N/A"}"#).unwrap();
        assert_eq!(i.company.as_deref(), Some("Initech"));
        assert_eq!(i.attributes["company"], json!("N/A"));
        assert!(i.read_warnings.is_empty());
        // Two placeholders: the first stays, the second is an attribute.
        let i: LeadInput =
            serde_json::from_str(r#"{"company": "N/A", "company_name": "-"}"#).unwrap();
        assert_eq!(i.company.as_deref(), Some("N/A"));
        assert_eq!(i.attributes["company_name"], json!("-"));
        // `NA` is Namibia's code, not a placeholder, in `country`.
        let i: LeadInput =
            serde_json::from_str(r#"{"country": "NA", "country_code": "DE"}"#).unwrap();
        assert_eq!(i.country.as_deref(), Some("NA"));
        assert_eq!(i.attributes["country_code"], json!("DE"));
        // A placeholder never displaces a blank by a blank, nor a real value.
        let i: LeadInput = serde_json::from_str(
            r#"{"zip": " ", "zip_code": "n/a", "postal_code": "10115", "postcode": "10117"}"#,
        )
        .unwrap();
        assert_eq!(i.postal_code.as_deref(), Some("10115"));
        assert_eq!(i.attributes["postcode"], json!("10117"));
        assert_eq!(i.read_warnings.len(), 1);
        assert_eq!(i.read_warnings[0].value.as_deref(), Some("n/a"));
    }

    #[test]
    fn serializes_with_canonical_names_and_round_trips() {
        let i = parse(json!({"Email": "a@b.co", "zip": "1", "x": 1}));
        let v = serde_json::to_value(&i).unwrap();
        assert_eq!(
            v,
            json!({"email": "a@b.co", "postal_code": "1", "attributes": {"x": 1}})
        );
        assert_eq!(parse(v), i);
    }

    #[test]
    fn non_object_payload_is_a_deserialize_error() {
        let err = serde_json::from_str::<LeadInput>("[1,2]").unwrap_err();
        assert!(err.to_string().contains("a JSON object of form fields"));
    }
}
