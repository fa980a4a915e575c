//! [`Normalizer`]: turns a [`LeadInput`] into a [`Lead`] plus warnings, or
//! into every field error at once.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::company::company_key;
use super::domain::{self, DomainProblem};
use super::email::{self, EmailKind};
use super::geo::{self, Geo, Postal, RegionMatch};
use super::input::LeadInput;
// (Defined with the input, which the place and range parsers may import
// without a cycle through the normalizer; the input also needs the
// placeholders, to let one spelling of a field give way to another.)
pub(crate) use super::input::trim;
#[cfg(test)]
use super::input::{LONGEST_PLACEHOLDER, PLACEHOLDER_LENGTHS, PLACEHOLDERS};
use super::input::{is_placeholder, is_placeholder_for};
use super::issue::{Field, FieldIssue, IssueCode, shorten_message};
use super::model::{CountryCode, Lead, Utm};
use super::phone::{PhoneMatch, Phones};
use super::range::Range;
use super::spoofing;

use super::tables::{DISPOSABLE_DOMAINS, FREE_DOMAINS, Table};

/// Whether `domain` (a registrable domain, lower case) is a site whose
/// pages are never a company's own website: a LinkedIn or Facebook page, a
/// site on a hosting or site-builder platform (`acme.wordpress.com`,
/// `acme.squarespace.com`), a booking page, a blog post or a short link
/// given as "website" says nothing about the company's domain, and taking
/// the platform's would match the lead to the platform's account. (Hosting
/// platforms on the Public Suffix List's private section — `github.io`,
/// `myshopify.com`, `blogspot.com`, `wixsite.com`, `vercel.app` — already
/// give each customer a registrable domain of its own and are not here.)
/// A business email then gives the company domain instead.
fn is_platform_domain(domain: &str) -> bool {
    matches!(
        domain,
        // Social and profile sites.
        "linkedin.com"
            | "facebook.com"
            | "fb.com"
            | "instagram.com"
            | "twitter.com"
            | "x.com"
            | "youtube.com"
            | "tiktok.com"
            | "pinterest.com"
            | "threads.net"
            | "crunchbase.com"
            | "wellfound.com"
            | "angel.co"
            | "linktr.ee"
            | "yelp.com"
            | "github.com"
            | "gitlab.com"
            // Site hosting and builders whose sites are subdomains or
            // paths of the platform's own domain.
            | "wordpress.com"
            | "squarespace.com"
            | "weebly.com"
            | "wix.com"
            | "business.site"
            | "godaddysites.com"
            | "hubspotpagebuilder.com"
            | "hs-sites.com"
            | "webflow.io"
            | "notion.site"
            | "carrd.co"
            | "jimdosite.com"
            | "site123.me"
            | "strikingly.com"
            | "tumblr.com"
            | "medium.com"
            | "substack.com"
            | "etsy.com"
            // Booking pages and short links.
            | "calendly.com"
            | "bit.ly"
            | "tinyurl.com"
            | "goo.gl"
            | "forms.gle"
            | "g.page"
    )
}

/// Whether `host` (under the registrable `domain`) is one of a large
/// company's hosting or store hosts (`sites.google.com/view/acme`,
/// `apps.apple.com/…`): the page is someone else's, though the domain is
/// a company's own elsewhere (`google.com` as a Google employee's website).
fn is_hosted_page(host: &str, domain: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let Some(sub) = host
        .len()
        .checked_sub(domain.len() + 1)
        .and_then(|end| host.get(..end))
    else {
        return false;
    };
    let sub = sub.strip_prefix("www.").unwrap_or(sub);
    let is = |names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(sub));
    match domain {
        "google.com" => is(&[
            "sites", "docs", "drive", "play", "maps", "forms", "business",
        ]),
        "apple.com" => is(&["apps", "itunes", "podcasts"]),
        "microsoft.com" => is(&["apps", "appsource"]),
        _ => false,
    }
}

/// Size limits that keep memory bounded on hostile input.
///
/// Exceeding one is a [`TooLong`](IssueCode::TooLong) or
/// [`TooMany`](IssueCode::TooMany) field error, except for a text
/// attribute over [`max_attribute_bytes`](Self::max_attribute_bytes): its
/// first that many bytes (cut at a character) are kept, with a `too_long`
/// warning, so a buyer's long message does not refuse the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Limits {
    /// Longest text field, in characters (default 1024).
    pub max_field_chars: usize,
    /// Most custom attributes (default 100).
    pub max_attributes: usize,
    /// Longest attribute key, in characters (default 128).
    pub max_attribute_key_chars: usize,
    /// Largest attribute value, in bytes of its JSON text (default 16,384:
    /// a pasted request for proposal, or some 5,000 CJK characters, fits;
    /// it was 4,096, which refused a real buyer's 4.3 KB message). The
    /// spam screen reads the same 16 KiB of a field.
    pub max_attribute_bytes: usize,
    /// Most product-interest tokens (default 32).
    pub max_product_interest: usize,
    /// Most errors, and separately most warnings, reported for one payload
    /// (default 20); the rest are counted in one final
    /// [`Omitted`](IssueCode::Omitted) entry ("and 99,990 more") and in
    /// [`NormalizeError::omitted`] / [`Normalized::omitted_warnings`].
    pub max_issues: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_field_chars: 1024,
            max_attributes: 100,
            max_attribute_key_chars: 128,
            max_attribute_bytes: 16 * 1024,
            max_product_interest: 32,
            max_issues: 20,
        }
    }
}

/// A normalized lead and the non-fatal problems found on the way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Normalized {
    /// The lead.
    pub lead: Lead,
    /// Values that were repaired, ignored or not recognised (at most
    /// [`Limits::max_issues`], then one [`Omitted`](IssueCode::Omitted)
    /// entry).
    pub warnings: Vec<FieldIssue>,
    /// Warnings found beyond [`Limits::max_issues`] and left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted_warnings: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A `confusable` warning when `value` has a bidirectional control, which
/// can make the text display as something it is not.
fn warn_bidi(run: &mut Run, field: impl FnOnce() -> Field, value: Option<&str>) {
    let Some((value, c)) = value.and_then(|v| Some((v, spoofing::bidi_control(v)?))) else {
        return;
    };
    let why = format!(
        "contains U+{:04X}, a bidirectional control, which can make the text display as something it is not",
        u32::from(c)
    );
    run.warn(field(), IssueCode::Confusable, value, &why);
}

/// Warns when a domain mixes scripts, or is written wholly in look-alikes
/// of ASCII letters (see [`spoofing`] for the rules).
fn mixed_script_warning(run: &mut Run, field: Field, domain: &str) {
    // Most domains: one script, nothing to check (each check below would
    // ask this again).
    if spoofing::plain_ascii(domain) {
        return;
    }
    if let Some(m) = spoofing::mixed_script_domain(domain) {
        let why = format!(
            "its domain label `{}` mixes the {} scripts (not \"highly restrictive\" under Unicode UTS #39), so it may imitate another domain",
            m.label,
            m.scripts.join(" and ")
        );
        run.warn(field, IssueCode::Confusable, domain, &why);
    } else if let Some(w) = spoofing::whole_script_domain(domain) {
        let why = format!(
            "its domain label `{}` is written in {} letters that each look like a Latin one: it reads as `{}` (a whole-script confusable under Unicode UTS #39), so it may imitate another domain",
            w.label, w.script, w.reads_as
        );
        run.warn(field, IssueCode::Confusable, domain, &why);
    }
}

/// Keeps at most `max` issues and returns how many were left out, adding
/// a final [`IssueCode::Omitted`] entry that says so.
fn cap_issues(issues: &mut Vec<FieldIssue>, max: usize, already_omitted: usize) -> usize {
    let omitted = issues.len().saturating_sub(max) + already_omitted;
    if omitted > 0 {
        issues.truncate(max);
        issues.push(FieldIssue::new(
            Field::Payload,
            IssueCode::Omitted,
            None,
            format!("and {} more", thousands(omitted)),
        ));
    }
    omitted
}

/// `99990` → `99,990`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Every field that made a [`LeadInput`] unusable.
///
/// ```
/// use leadroute::{LeadInput, Normalizer};
/// use leadroute::lead::Field;
///
/// let mut input = LeadInput::default();
/// input.first_name = Some("J".repeat(2000));
/// let err = Normalizer::default().normalize(&input).unwrap_err();
/// let fields: Vec<_> = err.errors.iter().map(|e| e.field.clone()).collect();
/// assert_eq!(fields, [Field::Email, Field::FirstName]);
/// assert!(err.to_string().starts_with("2 invalid fields: email: is required"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub struct NormalizeError {
    /// One entry per problem, in field order: at most
    /// [`Limits::max_issues`], then one [`Omitted`](IssueCode::Omitted)
    /// entry ("and 99,990 more") when there were more.
    pub errors: Vec<FieldIssue>,
    /// Errors found beyond [`Limits::max_issues`] and left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

impl NormalizeError {
    /// The single error for a payload that is not a JSON object of fields.
    pub(crate) fn payload(e: &serde_json::Error) -> Self {
        NormalizeError {
            errors: vec![FieldIssue::new(
                Field::Payload,
                IssueCode::Invalid,
                None,
                format!(
                    "is not a JSON object of form fields: {}",
                    shorten_message(&e.to_string())
                ),
            )],
            omitted: 0,
        }
    }
}

impl fmt::Display for NormalizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let listed = self
            .errors
            .iter()
            .filter(|e| e.code != IssueCode::Omitted)
            .count();
        let n = listed + self.omitted;
        write!(f, "{n} invalid field{}: ", if n == 1 { "" } else { "s" })?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Validates and normalizes leads. Build one, share it (it is `Send + Sync`
/// and cheap to clone), call [`normalize`](Self::normalize) per submission.
///
/// A `Normalizer` holds its reference data as values — the free and
/// disposable email domain sets, country and region tables, limits — so a
/// caller can extend or replace any of it without global state:
///
/// ```
/// use leadroute::{LeadInput, Normalizer};
/// use leadroute::lead::EmailKind;
///
/// let normalizer = Normalizer::default()
///     .with_free_email_domains(["alumni.example.edu"])
///     .with_disposable_email_domains(["spam-trap.example"]);
/// let lead = normalizer.normalize(&LeadInput::from_email("ann@alumni.example.edu"))?.lead;
/// assert_eq!(lead.email_kind, EmailKind::Free);
/// assert_eq!(lead.company_domain, None); // never taken from a free email
/// # Ok::<(), leadroute::lead::NormalizeError>(())
/// ```
///
/// # Field by field
///
/// - **email** (required): see [`Lead`]; a missing or invalid address, or one
///   whose domain has no known public suffix (`acme.con`), is an error.
///   Invisible characters (zero-width space/joiners, word joiner, BOM, soft
///   hyphen) are removed with a `repaired` warning; an address with a
///   control, bidirectional-formatting (`U+202E` …), line/paragraph
///   separator, private-use or unassigned character is an error. A `?` starts
///   a query only after `mailto:`. An address with something around it is
///   read with a `repaired` warning that quotes what was sent: a full-width
///   `＠`, quotes around it, a comment in parentheses (`jane@acme.com
///   (work)`), or a list of addresses (`jane@acme.com, bob@acme.com`: the
///   first is kept). An address at a misspelt mailbox provider
///   (`gmial.com`, `hotmial.com`, `gmail.co`: see `email_kind`) is kept as
///   typed, classed `free`, with a `suspicious` warning naming the provider.
/// - **email_kind**: `disposable` if the domain or a parent of it is in the
///   disposable set (the community disposable list less its allowlist, plus
///   shared throwaway hosts such as `fr.nf`), else `free` likewise, else
///   `business`.
/// - **company_domain**: the registrable domain (Public Suffix List, ICANN
///   and private sections) of the website's host. A website that is not a
///   domain, is a free or disposable mail domain, or a social/profile site
///   (LinkedIn, Facebook, X, …) is ignored with a warning, and the domain
///   then comes from a business email; never from a free or disposable one.
/// - **Spoofing** (warnings `confusable`, the value kept): a bidirectional
///   control (U+202A–E, U+2066–9, U+200E/F, U+061C) in **first_name**,
///   **last_name** or **company**; an email or website domain with a label
///   that mixes scripts (`аpple.com` with a Cyrillic `а`), by Unicode UTS
///   #39's "highly restrictive" level (one script per label, or the Latin +
///   Han + kana / Bopomofo / Hangul sets of CJK writing). Whole-script
///   look-alikes (a label all in Cyrillic) are not detected. Email local
///   parts are not checked here.
/// - **company_key**: see the steps on [`Normalizer::company_key`].
/// - **country**: ISO alpha-2, alpha-3, ISO short and official names, CLDR
///   names in 47 locales (German, French, Spanish, Chinese, Arabic, …) and
///   curated aliases, ignoring case, accents and punctuation (other scripts
///   are transliterated). A name of more than one country (`Congo`, `Korea`)
///   is not guessed: it is a warning. A dropdown's label is read by its
///   parts where they agree (`United States (US)`, `Korea (South)`,
///   `Korea, South`, `England, UK`). **region**: ISO 3166-2 from a full
///   code, a subdivision code or a name, for every country that has
///   subdivisions (English and native names and common abbreviations for US,
///   CA, AU, GB, DE, IN, MX, BR); a full code given without a country sets
///   the country (warning `inferred`). **postal_code**: see the country
///   formats in the crate docs. Unrecognised values are warnings that quote
///   them.
/// - **phone**: E.164 from a `+`/`00` prefix or the lead's country; otherwise
///   kept trimmed with a warning. An extension goes to the attribute
///   `phone_extension`.
/// - **employees**, **annual_revenue**: [`Range`] grammar, exact integers
///   (no floating point); a parenthesised label is read around
///   (`Enterprise (1000+)`). Unparseable text (`Startup`) is an `invalid`
///   warning that quotes it, and the range is absent. The object form
///   `{"min": n, "max": n | null}` that [`Lead`] serializes to is read
///   back, up to `u64::MAX`.
/// - **attributes**: kept as JSON; numbers keep their exact value through
///   any number of JSON round trips (serde_json's `float_roundtrip`). A
///   `null` value is an absent attribute (dropped), in a [`LeadInput`] as in
///   JSON.
/// - At most [`Limits::max_issues`] errors and as many warnings per payload;
///   the rest are counted in a final [`Omitted`](IssueCode::Omitted) entry.
/// - JSON nesting: [`normalize_json`](Self::normalize_json) reads at most
///   128 levels (serde_json's recursion limit); deeper input is a `payload`
///   error.
/// - Placeholders (`n/a`, `none`, `-`, `unknown`, a form's "no answer"
///   options such as `Prefer not to say`, …) in optional fields are treated
///   as absent with a `placeholder` warning. A placeholder under one name of
///   a field gives way to a real value under another (`"company": "N/A",
///   "company_name": "Initech"` is `Initech`, with the `placeholder`
///   warning): see [`LeadInput`]'s deserializing rules.
/// - JSON types: an array of one value reads as the value (`["US"]`); an
///   array of several values in a single-valued optional field is a
///   `wrong_type` warning quoting it, and the field is absent; an object
///   where text is expected, or an unusable `email`, is a `wrong_type`
///   error.
#[derive(Debug, Clone)]
pub struct Normalizer {
    free: DomainSet,
    disposable: DomainSet,
    geo: Arc<Geo>,
    phones: Arc<Phones>,
    limits: Limits,
}

impl Default for Normalizer {
    /// The built-in data: the free and disposable email provider lists, ISO
    /// and CLDR country and region tables, default [`Limits`]. The built-in
    /// data is static, so this is cheap.
    fn default() -> Self {
        Normalizer {
            free: DomainSet::builtin(&FREE_DOMAINS),
            disposable: DomainSet::builtin(&DISPOSABLE_DOMAINS),
            geo: Arc::new(Geo::default()),
            phones: Arc::new(Phones::default()),
            limits: Limits::default(),
        }
    }
}

/// A set of email domains: an optional built-in table plus the caller's
/// additions and removals, so the built-in data is never copied.
#[derive(Debug, Clone)]
struct DomainSet {
    builtin: Option<&'static Table<()>>,
    added: Arc<HashSet<Box<str>>>,
    removed: Arc<HashSet<Box<str>>>,
}

impl DomainSet {
    fn builtin(table: &'static Table<()>) -> Self {
        DomainSet {
            builtin: Some(table),
            added: Arc::default(),
            removed: Arc::default(),
        }
    }

    #[cfg(test)]
    fn contains(&self, domain: &str) -> bool {
        self.contains_hashed(domain, super::tables::hash(domain.as_bytes()))
    }

    /// Whether the set holds `domain`, whose [`hash`](super::tables::hash)
    /// is `h` (the built-in table's slot, computed once by the caller).
    fn contains_hashed(&self, domain: &str, h: u32) -> bool {
        if !self.added.is_empty() && self.added.contains(domain) {
            return true;
        }
        self.builtin.is_some_and(|t| t.contains_hashed(domain, h))
            && (self.removed.is_empty() || !self.removed.contains(domain))
    }

    /// Adds domains (folded to lower-case ASCII).
    fn add<I, S>(&mut self, domains: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for d in domains {
            let d = fold_domain(d.as_ref());
            Arc::make_mut(&mut self.removed).remove(&d);
            Arc::make_mut(&mut self.added).insert(d);
        }
    }

    /// Removes domains (folded like [`DomainSet::add`]).
    fn remove<I, S>(&mut self, domains: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for d in domains {
            let d = fold_domain(d.as_ref());
            Arc::make_mut(&mut self.added).remove(&d);
            if self.builtin.is_some_and(|t| t.contains(&d)) {
                Arc::make_mut(&mut self.removed).insert(d);
            }
        }
    }

    /// Whether `other` is certainly the same set: the same built-in table,
    /// and additions and removals that are shared or both empty (so a
    /// clone, or two defaults). `false` may still be the same set.
    fn same_as(&self, other: &DomainSet) -> bool {
        let same = |a: &Arc<HashSet<Box<str>>>, b: &Arc<HashSet<Box<str>>>| {
            Arc::ptr_eq(a, b) || (a.is_empty() && b.is_empty())
        };
        let builtin = match (self.builtin, other.builtin) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        };
        builtin && same(&self.added, &other.added) && same(&self.removed, &other.removed)
    }

    /// Empties the set (no built-in data either).
    fn clear(&mut self) {
        *self = DomainSet {
            builtin: None,
            added: Arc::default(),
            removed: Arc::default(),
        };
    }
}

fn fold_domain(d: &str) -> Box<str> {
    let d = d.trim().trim_end_matches('.');
    domain::to_ascii(d)
        .map(String::into_boxed_str)
        .unwrap_or_else(|_| d.to_ascii_lowercase().into_boxed_str())
}

impl Normalizer {
    /// Adds domains to the free/personal email set.
    pub fn with_free_email_domains<I: IntoIterator<Item = S>, S: AsRef<str>>(
        mut self,
        domains: I,
    ) -> Self {
        self.free.add(domains);
        self
    }

    /// Removes domains from the free/personal email set.
    pub fn without_free_email_domains<I: IntoIterator<Item = S>, S: AsRef<str>>(
        mut self,
        domains: I,
    ) -> Self {
        self.free.remove(domains);
        self
    }

    /// Replaces the free/personal email set.
    pub fn replace_free_email_domains<I: IntoIterator<Item = S>, S: AsRef<str>>(
        mut self,
        domains: I,
    ) -> Self {
        self.free.clear();
        self.free.add(domains);
        self
    }

    /// Adds domains to the disposable email set.
    pub fn with_disposable_email_domains<I: IntoIterator<Item = S>, S: AsRef<str>>(
        mut self,
        domains: I,
    ) -> Self {
        self.disposable.add(domains);
        self
    }

    /// Removes domains from the disposable email set.
    pub fn without_disposable_email_domains<I: IntoIterator<Item = S>, S: AsRef<str>>(
        mut self,
        domains: I,
    ) -> Self {
        self.disposable.remove(domains);
        self
    }

    /// Replaces the disposable email set.
    pub fn replace_disposable_email_domains<I: IntoIterator<Item = S>, S: AsRef<str>>(
        mut self,
        domains: I,
    ) -> Self {
        self.disposable.clear();
        self.disposable.add(domains);
        self
    }

    /// Sets the size limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The size limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Classifies an (ASCII, lower-case) email domain: disposable if it or a
    /// parent domain is in the disposable set, else free likewise, else
    /// business.
    ///
    /// ```
    /// use leadroute::Normalizer;
    /// use leadroute::lead::EmailKind;
    /// let n = Normalizer::default();
    /// assert_eq!(n.email_kind("gmail.com"), EmailKind::Free);
    /// assert_eq!(n.email_kind("eu.mailinator.com"), EmailKind::Disposable);
    /// assert_eq!(n.email_kind("google.com"), EmailKind::Business);
    /// ```
    pub fn email_kind(&self, domain: &str) -> EmailKind {
        // One walk up the domain for both sets: a disposable match at any
        // level wins, a free one is kept for the end. Each level's key is
        // hashed once for both built-in tables.
        let mut free = false;
        let mut d = domain;
        loop {
            let h = super::tables::hash(d.as_bytes());
            if self.disposable.contains_hashed(d, h) {
                return EmailKind::Disposable;
            }
            free = free || self.free.contains_hashed(d, h);
            // The parent, while it still has a dot (byte searches: the
            // names are short).
            match d
                .bytes()
                .position(|b| b == b'.')
                .and_then(|i| d.get(i + 1..))
            {
                Some(parent) if parent.bytes().any(|b| b == b'.') => d = parent,
                _ => break,
            }
        }
        if free {
            EmailKind::Free
        } else {
            EmailKind::Business
        }
    }

    /// [`email_kind`](Self::email_kind) as it was written (each set walked
    /// up the domain on its own): the reference.
    #[cfg(test)]
    fn email_kind_reference(&self, domain: &str) -> EmailKind {
        let in_set = |set: &DomainSet| {
            let mut d = domain;
            loop {
                if set.contains(d) {
                    return true;
                }
                match d
                    .bytes()
                    .position(|b| b == b'.')
                    .and_then(|i| d.get(i + 1..))
                {
                    Some(parent) if parent.bytes().any(|b| b == b'.') => d = parent,
                    _ => return false,
                }
            }
        };
        if in_set(&self.disposable) {
            EmailKind::Disposable
        } else if in_set(&self.free) {
            EmailKind::Free
        } else {
            EmailKind::Business
        }
    }

    /// Whether `other` certainly classifies every email domain as this one
    /// does (it shares its free-mail and disposable lists: a clone, or both
    /// built-in); what a prepared candidate set checks before it reuses
    /// what it computed with another normalizer. Country names are built
    /// in and the same for every normalizer.
    pub(crate) fn classifies_like(&self, other: &Normalizer) -> bool {
        self.free.same_as(&other.free) && self.disposable.same_as(&other.disposable)
    }

    /// The ISO 3166-1 alpha-2 code of a country as CRMs store it (`US`,
    /// `USA`, `United States`, `Deutschland`…), as
    /// [`normalize`](Self::normalize) reads a lead's country; `None` when it
    /// names no country or more than one.
    ///
    /// ```
    /// use leadroute::Normalizer;
    /// let n = Normalizer::default();
    /// assert_eq!(n.country_code("Deutschland").map(|c| c.to_string()).as_deref(), Some("DE"));
    /// assert_eq!(n.country_code("Atlantis"), None);
    /// ```
    pub fn country_code(&self, raw: &str) -> Option<CountryCode> {
        self.geo.country(raw)?.parse().ok()
    }

    /// The company-name match key `normalize` stores in
    /// [`Lead::company_key`], or `None` for a name without letters or digits.
    ///
    /// 1. transliterate to ASCII (`Müller` → `Muller`) and lower-case;
    /// 2. `&` and `+` become `and`; apostrophes and dots vanish inside words
    ///    (`S.A.` → `sa`); other punctuation separates words;
    /// 3. a leading `the` and legal forms written before the name (`ООО`,
    ///    `SIA`, `株式会社`), then trailing legal forms (`inc`, `llc`, `ltd`,
    ///    `gmbh`, `sa de cv`, `sp z oo`, `pvt ltd`, `kk`, … about 1,200 forms
    ///    from the GLEIF ISO 20275 list and others) are dropped repeatedly,
    ///    but never the last word (so a name made only of `the` keys as `the`,
    ///    and `The Inc` as `inc`); forms of one or two letters (`AG`, `S.A.`)
    ///    only from the end and only where reviewed as not also a common name
    ///    ending (`Acme NL` keeps `nl`);
    /// 4. the words are joined without separators.
    ///
    /// ```
    /// use leadroute::Normalizer;
    /// let n = Normalizer::default();
    /// for name in ["ACME, Inc.", "Acme Inc", "acme incorporated", "Acme GmbH"] {
    ///     assert_eq!(n.company_key(name).as_deref(), Some("acme"));
    /// }
    /// assert_eq!(n.company_key("Limited").as_deref(), Some("limited"));
    /// ```
    pub fn company_key(&self, name: &str) -> Option<String> {
        company_key(name)
    }

    /// Parses a JSON payload and normalizes it. A payload that is not a JSON
    /// object is a single [`Field::Payload`] error.
    pub fn normalize_json(&self, json: &str) -> Result<Normalized, NormalizeError> {
        match serde_json::from_str::<LeadInput>(json) {
            Ok(input) => self.normalize_owned(input),
            Err(e) => Err(NormalizeError::payload(&e)),
        }
    }

    /// Validates and normalizes one lead.
    ///
    /// Returns the lead and its warnings, or every field error found (the
    /// whole input is checked; it does not stop at the first problem).
    ///
    /// The input is borrowed, so the lead's custom attributes are copied
    /// from it. A caller done with the input can hand it over with
    /// [`normalize_owned`](Self::normalize_owned) instead, which moves them.
    pub fn normalize(&self, input: &LeadInput) -> Result<Normalized, NormalizeError> {
        self.normalize_from(input, Attributes::Borrowed(&input.attributes))
    }

    /// [`normalize`](Self::normalize) for an input the caller is done with:
    /// the same lead, warnings and errors, but the custom attributes (with
    /// their values) are moved into the lead instead of copied.
    ///
    /// [`normalize_json`](Self::normalize_json) and
    /// [`LeadRouter::route`](crate::LeadRouter::route) normalize this way.
    ///
    /// ```
    /// use leadroute::{LeadInput, Normalizer};
    /// let input: LeadInput = serde_json::from_str(
    ///     r#"{"email": "ana@acme.com", "plan": "team", "seats": 40}"#,
    /// )?;
    /// let normalizer = Normalizer::default();
    /// let borrowed = normalizer.normalize(&input).unwrap().lead;
    /// let owned = normalizer.normalize_owned(input).unwrap().lead;
    /// assert_eq!(owned, borrowed);
    /// assert_eq!(owned.attributes["seats"], 40);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn normalize_owned(&self, mut input: LeadInput) -> Result<Normalized, NormalizeError> {
        let attributes = std::mem::take(&mut input.attributes);
        self.normalize_from(&input, Attributes::Owned(attributes))
    }

    /// The normalization itself. `input.attributes` is not read: the
    /// attributes come as `attributes`, borrowed from the input or moved
    /// out of it.
    fn normalize_from<'i>(
        &self,
        input: &'i LeadInput,
        attributes: Attributes<'_>,
    ) -> Result<Normalized, NormalizeError> {
        // Cloning an empty `Vec` is not free (~40 instructions a lead on the
        // mixed corpus), and both lists are usually empty.
        let copy = |issues: &Vec<FieldIssue>| {
            if issues.is_empty() {
                Vec::new()
            } else {
                issues.clone()
            }
        };
        let mut run = Run {
            // Found while reading: a field's wrong-type value, a placeholder
            // that gave way to another spelling (usually none).
            errors: copy(&input.type_errors),
            warnings: copy(&input.read_warnings),
            limits: self.limits,
        };
        // Fields are borrowed from the input while they are checked; only
        // what the lead keeps is copied.
        // Most fields are absent: answered here, before the call.
        let text = |run: &mut Run, field: &Field, value: &'i Option<String>| -> Option<&'i str> {
            let value = value.as_deref()?;
            run.text(field, Some(value))
        };

        let lead_id = text(&mut run, &Field::LeadId, &input.lead_id).map(str::to_owned);
        let (email, email_domain, email_kind, email_registrable) =
            self.email(&mut run, input.email.as_deref());
        let first_name = text(&mut run, &Field::FirstName, &input.first_name).map(collapse);
        let last_name = text(&mut run, &Field::LastName, &input.last_name).map(collapse);
        let company_name = text(&mut run, &Field::Company, &input.company)
            .and_then(|c| run.not_placeholder(&Field::Company, c))
            .map(str::to_owned);
        let company_key = company_name.as_deref().and_then(|name| {
            let key = company_key(name);
            if key.is_none() {
                run.warn(
                    Field::Company,
                    IssueCode::Invalid,
                    name,
                    "has no letters or digits to match on",
                );
            }
            key
        });
        // The field is made only for a warning: an array of `Field`s would be
        // built and dropped for every lead (~20 instructions).
        warn_bidi(&mut run, || Field::FirstName, first_name.as_deref());
        warn_bidi(&mut run, || Field::LastName, last_name.as_deref());
        warn_bidi(&mut run, || Field::Company, company_name.as_deref());
        // Most email domains are plain ASCII: no script to check, for the
        // email or for a website on the same domain.
        let email_plain = email_domain.as_deref().is_some_and(spoofing::plain_ascii);
        if let Some(d) = &email_domain {
            if !email_plain {
                mixed_script_warning(&mut run, Field::Email, d);
            }
        }
        let website = text(&mut run, &Field::Website, &input.website)
            .and_then(|w| run.not_placeholder(&Field::Website, w));
        let company_domain = self.company_domain(
            &mut run,
            website,
            &email_domain,
            email_registrable,
            email_kind,
            email_plain,
        );

        let (country, region) = self.place(&mut run, input);
        let postal_code = text(&mut run, &Field::PostalCode, &input.postal_code)
            .and_then(|p| run.not_placeholder(&Field::PostalCode, p))
            .map(
                |p| match geo::postal(p, country.as_ref().map(CountryCode::as_str)) {
                    Postal::Ok(code) => code,
                    Postal::Repaired(code, why) => {
                        run.warn(Field::PostalCode, IssueCode::Repaired, p, why);
                        code
                    }
                    Postal::Suspicious(code, why) => {
                        run.warn(Field::PostalCode, IssueCode::Invalid, p, why);
                        code
                    }
                },
            );

        let mut attributes = self.attributes(&mut run, attributes);
        let phone = text(&mut run, &Field::Phone, &input.phone)
            .and_then(|p| run.not_placeholder(&Field::Phone, p))
            .map(|p| {
                match self.phones.normalize(p, country.as_ref().map(CountryCode::as_str)) {
                    PhoneMatch::E164 { number, extension } => {
                        if let Some(ext) = extension {
                            run.warn(
                                Field::Phone,
                                IssueCode::Repaired,
                                p,
                                "has an extension, which E.164 cannot hold; it is kept in the attribute `phone_extension`",
                            );
                            attributes.insert("phone_extension".into(), Value::String(ext));
                        }
                        number
                    }
                    PhoneMatch::Unresolved(why) => {
                        run.warn(Field::Phone, IssueCode::Invalid, p, why);
                        collapse(p)
                    }
                }
            });

        // Usually absent: answered here, without the call.
        let employees = (input.employees.as_deref()).and_then(|v| run.range(Field::Employees, v));
        let annual_revenue =
            (input.annual_revenue.as_deref()).and_then(|v| run.range(Field::AnnualRevenue, v));
        let product_interest = run.product_interest(input.product_interest.as_deref());
        let source = text(&mut run, &Field::Source, &input.source).map(collapse);
        // (Fields, put together in the lead itself: a `Utm` built here was
        // copied into the lead as a whole.)
        let utm_source = text(&mut run, &Field::UtmSource, &input.utm_source).map(str::to_owned);
        let utm_medium = text(&mut run, &Field::UtmMedium, &input.utm_medium).map(str::to_owned);
        let utm_campaign =
            text(&mut run, &Field::UtmCampaign, &input.utm_campaign).map(str::to_owned);
        let utm_term = text(&mut run, &Field::UtmTerm, &input.utm_term).map(str::to_owned);
        let utm_content = text(&mut run, &Field::UtmContent, &input.utm_content).map(str::to_owned);

        if !run.errors.is_empty() {
            run.errors.sort_by(|a, b| a.field.cmp(&b.field));
            let omitted = cap_issues(
                &mut run.errors,
                self.limits.max_issues,
                input.type_errors_omitted,
            );
            return Err(NormalizeError {
                errors: run.errors,
                omitted,
            });
        }
        let (Some(email), Some(email_kind)) = (email, email_kind) else {
            // Unreachable in practice: a missing email is recorded as an error.
            return Err(NormalizeError {
                errors: vec![FieldIssue::new(
                    Field::Email,
                    IssueCode::Missing,
                    None,
                    "is required",
                )],
                omitted: 0,
            });
        };
        // (Counted before the result is put together: with no call in the
        // middle of it, the lead is written straight into the result
        // rather than built aside and copied.)
        let omitted_warnings = cap_issues(
            &mut run.warnings,
            self.limits.max_issues,
            input.read_warnings_omitted,
        );
        Ok(Normalized {
            lead: Lead {
                lead_id,
                email,
                email_domain: email_domain.unwrap_or_default(),
                email_kind,
                first_name,
                last_name,
                company_name,
                company_key,
                company_domain,
                country,
                region,
                postal_code,
                phone,
                employees,
                annual_revenue,
                product_interest,
                source,
                utm: Utm {
                    source: utm_source,
                    medium: utm_medium,
                    campaign: utm_campaign,
                    term: utm_term,
                    content: utm_content,
                },
                attributes,
            },
            omitted_warnings,
            warnings: run.warnings,
        })
    }

    fn email(
        &self,
        run: &mut Run,
        raw: Option<&str>,
    ) -> (
        Option<String>,
        Option<String>,
        Option<EmailKind>,
        Option<EmailRegistrable>,
    ) {
        let Some(raw) = run.text(&Field::Email, raw) else {
            if !run.errors.iter().any(|e| e.field == Field::Email) {
                run.error(Field::Email, IssueCode::Missing, None, "is required".into());
            }
            return (None, None, None, None);
        };
        // (A second try only for what the first refused.)
        let parsed = email::parse(raw).map(|p| (p, None)).or_else(|problem| {
            email::salvage(raw)
                .map(|(p, why)| (p, Some(why)))
                .ok_or(problem)
        });
        match parsed {
            Ok((parsed, repaired)) => {
                if let Some(why) = repaired {
                    run.warn(Field::Email, IssueCode::Repaired, raw, why);
                }
                if parsed.stripped_invisible {
                    run.warn(
                        Field::Email,
                        IssueCode::Repaired,
                        raw,
                        "had invisible characters (zero-width space, soft hyphen, …); they were removed",
                    );
                }
                let domain = parsed.domain().to_owned();
                let mut kind = self.email_kind(&domain);
                if kind != EmailKind::Free {
                    if let Some(meant) = email::provider_typo(&domain) {
                        // A person who mistyped their mailbox is a free-mail
                        // sender, not a company at `gmial.com` (nor a
                        // disposable box: the community list has such
                        // typo domains). The address is kept as typed.
                        run.warn(
                            Field::Email,
                            IssueCode::Suspicious,
                            raw,
                            &format!("looks like a misspelling of `{meant}`; classed as free mail, kept as typed"),
                        );
                        kind = EmailKind::Free;
                    }
                }
                (
                    Some(parsed.address),
                    Some(domain),
                    Some(kind),
                    parsed.registrable_start.map(|start| EmailRegistrable {
                        start,
                        plain_domain: parsed.plain_domain,
                        same_for_subdomains: parsed.registrable_for_subdomains,
                    }),
                )
            }
            Err(problem) => {
                run.error(
                    Field::Email,
                    IssueCode::Invalid,
                    Some(raw),
                    problem.describe(),
                );
                (None, None, None, None)
            }
        }
    }

    fn company_domain(
        &self,
        run: &mut Run,
        website: Option<&str>,
        email_domain: &Option<String>,
        email_registrable: Option<EmailRegistrable>,
        email_kind: Option<EmailKind>,
        email_plain: bool,
    ) -> Option<String> {
        if let Some(site) = website {
            // A website on the email's domain or (usually) a subdomain of
            // it (`www.`) has the registrable domain the email parser
            // looked up: no second list lookup.
            let host = domain::website_host(site);
            let found = host.and_then(|host| {
                match (email_domain.as_deref(), email_registrable) {
                    // (Only a plain domain is compared with a website's host.)
                    (Some(e), Some(r)) if r.plain_domain => {
                        domain::registrable_under(host, e, r.start, r.same_for_subdomains)
                            .map(|d| Ok(d.to_owned()))
                    }
                    _ => None,
                }
                .unwrap_or_else(|| domain::registrable_owned(host))
            });
            // A website on the email's own domain (the usual case) has the
            // kind the email parser found already.
            let kind_of = |d: &str| match (email_domain.as_deref(), email_kind) {
                (Some(e), Some(kind)) if e == d => kind,
                _ => self.email_kind(d),
            };
            match found {
                // (Before the provider test: `facebook.com` is a mail
                // domain too, but the page is what the buyer gave.)
                Ok(d)
                    if is_platform_domain(&d)
                        || host.is_ok_and(|h| is_hosted_page(h, &d)) =>
                {
                    run.warn(
                        Field::Website,
                        IssueCode::Ignored,
                        site,
                        "is a page on a social, profile or site-hosting platform, not the company's own domain; ignored",
                    )
                }
                Ok(d) if kind_of(&d) != EmailKind::Business => run.warn(
                    Field::Website,
                    IssueCode::Ignored,
                    site,
                    "is an email provider's domain, not a company's; ignored",
                ),
                Ok(d) => {
                    // (A website on the email's plain domain is plain.)
                    if !(email_plain && email_domain.as_deref() == Some(d.as_str())) {
                        mixed_script_warning(run, Field::Website, &d);
                    }
                    return Some(d);
                }
                Err(problem) => run.warn(
                    Field::Website,
                    IssueCode::Invalid,
                    site,
                    match problem {
                        DomainProblem::Syntax => "is not a website or domain name; ignored",
                        DomainProblem::IpAddress => "is an IP address, not a domain name; ignored",
                        DomainProblem::UnknownSuffix => {
                            "does not end in a known top-level domain; ignored"
                        }
                        DomainProblem::SuffixOnly => {
                            "is a public suffix, not a company domain; ignored"
                        }
                    },
                ),
            }
        }
        match (email_domain, email_kind) {
            // The email parser found the registrable part already.
            (Some(d), Some(EmailKind::Business)) => {
                match email_registrable.and_then(|r| d.get(r.start..)) {
                    Some(registrable) => Some(registrable.to_owned()),
                    None => domain::registrable(d).ok().map(str::to_owned),
                }
            }
            _ => None,
        }
    }

    /// A country dropdown's label that is not a name as it stands: a name
    /// with its code or a note in parentheses (`United States (US)`,
    /// `Korea (South)`), or written the other way round or with a place
    /// before it after a comma (`Korea, South`, `England, UK`). The parts
    /// are read as names, and a country is returned only where the parts
    /// that name one agree (`Georgia (US)` names two: none).
    #[cold]
    #[inline(never)]
    fn country_from_label(&self, raw: &str) -> Option<&'static str> {
        let g = &self.geo;
        let agree = |a: Option<&'static str>, b: Option<&'static str>| match (a, b) {
            (Some(a), Some(b)) => (a == b).then_some(a),
            (a, b) => a.or(b),
        };
        if raw.contains('(') {
            let (around, inside) = super::input::split_parenthesised(raw)?;
            return agree(g.country(&around), g.country(inside))
                .or_else(|| g.country(&format!("{inside} {around}")));
        }
        let (before, after) = raw.split_once(',')?;
        if after.contains(',') {
            return None;
        }
        let (before, after) = (before.trim(), after.trim());
        g.country(&format!("{after} {before}"))
            .or_else(|| agree(g.country(before), g.country(after)))
    }

    fn place(&self, run: &mut Run, input: &LeadInput) -> (Option<CountryCode>, Option<String>) {
        let mut country = run
            .text(&Field::Country, input.country.as_deref())
            .and_then(|raw| {
                // "N/A" folds to "na" (Namibia); only a bare two-letter code means a country.
                if is_placeholder_for(&Field::Country, raw) {
                    run.warn(
                        Field::Country,
                        IssueCode::Placeholder,
                        raw,
                        "is a placeholder; treated as absent",
                    );
                    return None;
                }
                match self
                    .geo
                    .country(raw)
                    .or_else(|| self.country_from_label(raw))
                    .and_then(|c| c.parse::<CountryCode>().ok())
                {
                    Some(code) => Some(code),
                    None => {
                        let why = if self.geo.country_is_ambiguous(raw) {
                            "names more than one country; give its ISO code"
                        } else {
                            "is not a recognised country name or ISO code"
                        };
                        run.warn(Field::Country, IssueCode::Unrecognized, raw, why);
                        None
                    }
                }
            });
        let region = run
            .text(&Field::Region, input.region.as_deref())
            .and_then(|raw| {
                if is_placeholder(raw) {
                    run.warn(
                        Field::Region,
                        IssueCode::Placeholder,
                        raw,
                        "is a placeholder; treated as absent",
                    );
                    return None;
                }
                match self
                    .geo
                    .region(raw, country.as_ref().map(CountryCode::as_str))
                {
                    RegionMatch::Found(code) => Some(code),
                    RegionMatch::FoundWithCountry(code, c) => {
                        run.warn(
                            Field::Country,
                            IssueCode::Inferred,
                            raw,
                            "was absent; taken from the region code",
                        );
                        country = c.parse().ok();
                        Some(code)
                    }
                    RegionMatch::Unrecognized(why) => {
                        run.warn(Field::Region, IssueCode::Unrecognized, raw, why);
                        None
                    }
                }
            });
        debug_assert!(country.is_none_or(|c| self.geo.is_alpha2(c.as_str())));
        (country, region)
    }

    fn attributes(
        &self,
        run: &mut Run,
        attributes: Attributes<'_>,
    ) -> std::collections::BTreeMap<String, Value> {
        let limits = self.limits;
        let map = attributes.map();
        if map.len() > limits.max_attributes {
            run.error(
                Field::Attributes,
                IssueCode::TooMany,
                None,
                format!(
                    "has {} custom fields; the limit is {}",
                    map.len(),
                    limits.max_attributes
                ),
            );
            return Default::default();
        }
        // Text values over the size limit, cut after the loop (rare).
        let mut cut: Vec<(String, usize)> = Vec::new();
        for (key, value) in map {
            let field = || Field::Attribute(crate::lead::issue::shorten(key));
            if key.chars().count() > limits.max_attribute_key_chars {
                run.error(
                    field(),
                    IssueCode::TooLong,
                    None,
                    format!(
                        "has a name longer than {} characters",
                        limits.max_attribute_key_chars
                    ),
                );
                continue;
            }
            let size = match value {
                Value::String(s) => s.len(),
                other => other.to_string().len(),
            };
            if size > limits.max_attribute_bytes {
                if let Value::String(text) = value {
                    // A long message is still a lead: its first
                    // `max_attribute_bytes` are kept (cut at a character),
                    // and the warning says how much there was.
                    let mut end = limits.max_attribute_bytes;
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    run.warn(
                        field(),
                        IssueCode::TooLong,
                        text.get(..end).unwrap_or_default(),
                        &format!(
                            "is {size} bytes; its first {end} (the limit is {}) were kept",
                            limits.max_attribute_bytes
                        ),
                    );
                    cut.push((key.clone(), end));
                } else {
                    run.error(
                        field(),
                        IssueCode::TooLong,
                        None,
                        format!(
                            "is {size} bytes; the limit is {}",
                            limits.max_attribute_bytes
                        ),
                    );
                }
            }
        }
        let mut kept = attribute_map(attributes);
        for (key, end) in cut {
            if let Some(Value::String(text)) = kept.get_mut(&key) {
                text.truncate(end);
            }
        }
        kept
    }
}

/// The attributes a lead keeps: the input's, without `null`s.
fn attribute_map(attributes: Attributes<'_>) -> std::collections::BTreeMap<String, Value> {
    let map = attributes.map();
    // A `null` value is no value: `normalize_json` never keeps one
    // (`{"plan": null}` is an absent `plan`), so a lead built here must
    // not either, or its JSON would read back as a different lead.
    // Usually there is none: then the map is cloned as it is (no
    // intermediate list to sort and build a tree from).
    let nulls = map.values().any(Value::is_null);
    match attributes {
        Attributes::Owned(mut map) => {
            if nulls {
                map.retain(|_, v| !v.is_null());
            }
            map
        }
        Attributes::Borrowed(map) if !nulls => map.clone(),
        Attributes::Borrowed(map) => map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Where a normalization's custom attributes come from: the caller's input
/// (copied into the lead) or taken out of it (moved).
enum Attributes<'i> {
    Borrowed(&'i std::collections::BTreeMap<String, Value>),
    Owned(std::collections::BTreeMap<String, Value>),
}

impl Attributes<'_> {
    fn map(&self) -> &std::collections::BTreeMap<String, Value> {
        match self {
            Attributes::Borrowed(map) => map,
            Attributes::Owned(map) => map,
        }
    }
}

/// What the email parser found of its domain's registrable part.
#[derive(Clone, Copy)]
struct EmailRegistrable {
    /// Where it starts in the domain.
    start: usize,
    /// The domain is a plain ASCII letters-digits-hyphens name (only such a
    /// domain is compared with a website's host).
    plain_domain: bool,
    /// Every subdomain has the same registrable part: a website on one
    /// needs no lookup of its own.
    same_for_subdomains: bool,
}

/// Accumulates errors and warnings for one `normalize` call.
struct Run {
    errors: Vec<FieldIssue>,
    warnings: Vec<FieldIssue>,
    limits: Limits,
}

impl Run {
    fn error(&mut self, field: Field, code: IssueCode, value: Option<&str>, message: String) {
        self.errors
            .push(FieldIssue::new(field, code, value, message));
    }

    fn warn(&mut self, field: Field, code: IssueCode, value: &str, message: &str) {
        self.warnings
            .push(FieldIssue::new(field, code, Some(value), message));
    }

    /// Trimmed, non-empty text within the length limit (borrowed: the
    /// caller copies what the lead keeps).
    #[inline]
    fn text<'a>(&mut self, field: &Field, value: Option<&'a str>) -> Option<&'a str> {
        let trimmed = trim(value?);
        if trimmed.is_empty() {
            return None;
        }
        // A text has at most as many characters as bytes: count them only
        // when the bytes could exceed the limit (out of line, so that the
        // usual field costs no call).
        if trimmed.len() > self.limits.max_field_chars {
            return self.long_text(field, trimmed);
        }
        Some(trimmed)
    }

    /// [`text`](Self::text) of a trimmed text with more bytes than the
    /// character limit: within it, or a `TooLong` error.
    #[cold]
    #[inline(never)]
    fn long_text<'a>(&mut self, field: &Field, trimmed: &'a str) -> Option<&'a str> {
        let chars = trimmed.chars().count();
        if chars > self.limits.max_field_chars {
            self.error(
                field.clone(),
                IssueCode::TooLong,
                Some(trimmed),
                format!(
                    "is {chars} characters long; the limit is {}",
                    self.limits.max_field_chars
                ),
            );
            return None;
        }
        Some(trimmed)
    }

    #[inline]
    fn not_placeholder<'a>(&mut self, field: &Field, value: &'a str) -> Option<&'a str> {
        if is_placeholder(value) {
            self.placeholder(field, value);
            None
        } else {
            Some(value)
        }
    }

    /// The warning for a placeholder (out of line: most values are not).
    #[cold]
    #[inline(never)]
    fn placeholder(&mut self, field: &Field, value: &str) {
        self.warn(
            field.clone(),
            IssueCode::Placeholder,
            value,
            "is a placeholder; treated as absent",
        );
    }

    fn range(&mut self, field: Field, value: &str) -> Option<Range> {
        let text = self.text(&field, Some(value))?;
        let text = self.not_placeholder(&field, text)?;
        match text.parse::<Range>() {
            Ok(r) => Some(r),
            // An optional field's unreadable answer (a dropdown's own
            // label, `Startup`, `SMB`) leaves the range unknown, as an
            // unrecognised country does: a warning quoting it, never the
            // whole lead refused for it.
            Err(e) => {
                let message = format!("{e}; treated as absent");
                self.warn(field, IssueCode::Invalid, text, &message);
                None
            }
        }
    }

    fn product_interest(&mut self, value: Option<&str>) -> Vec<String> {
        let Some(text) = self.text(&Field::ProductInterest, value) else {
            return Vec::new();
        };
        let mut tokens: Vec<String> = Vec::new();
        for_each_product_part(text, |part| {
            let token = product_token(part);
            if !token.is_empty() && !tokens.contains(&token) {
                tokens.push(token);
            }
        });
        if tokens.len() > self.limits.max_product_interest {
            self.error(
                Field::ProductInterest,
                IssueCode::TooMany,
                Some(text),
                format!(
                    "has {} values; the limit is {}",
                    tokens.len(),
                    self.limits.max_product_interest
                ),
            );
            return Vec::new();
        }
        tokens
    }
}

/// `text.split([',', ';', '|'])`, each part given to `f`, found by bytes:
/// the separators are ASCII, and an ASCII byte in UTF-8 is always its own
/// character, so no character is decoded (the `char` pattern decoded each).
fn for_each_product_part(text: &str, mut f: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let mut start = 0;
    loop {
        let end = bytes
            .get(start..)
            .unwrap_or_default()
            .iter()
            .position(|b| matches!(b, b',' | b';' | b'|'))
            .map_or(bytes.len(), |p| start + p);
        f(text.get(start..end).unwrap_or_default());
        if end >= bytes.len() {
            return;
        }
        start = end + 1;
    }
}

/// Normalizes one product-interest token: lower case, whitespace collapsed to
/// single spaces. Policies normalize their expected tokens the same way.
pub(crate) fn product_token(s: &str) -> String {
    // Trimmed ASCII with single spaces only (the usual token) is its own
    // collapsed form: copied and lower-cased.
    let t = trim(s);
    if plain_spacing(t.as_bytes()) {
        let mut out = t.to_owned();
        out.make_ascii_lowercase();
        return out;
    }
    if !s.is_ascii() {
        return s
            .split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ");
    }
    // ASCII (the usual token): one string, lower-cased as it is copied
    // (for ASCII, `to_lowercase` is `to_ascii_lowercase`).
    let mut out = String::with_capacity(s.len());
    for (i, word) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.make_ascii_lowercase();
    out
}

/// `s` with every run of whitespace made one space (`s` is trimmed).
fn collapse(s: &str) -> String {
    // ASCII text with single spaces only (most names) is copied as it is.
    if plain_spacing(s.as_bytes()) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    for (i, word) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whether `b` is ASCII with no whitespace but single spaces (no tab or
/// other control whitespace, no two spaces in a row): one pass.
///
/// Eight bytes at a time (SWAR): one word's tests cost about what two
/// bytes' did. The tail, under eight bytes, goes byte by byte.
fn plain_spacing(b: &[u8]) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(8);
    // Whether the byte before the current word was a space.
    let mut after_space = false;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        if w & HIGH != 0 {
            return false;
        }
        // Every byte is below 0x80 now: adding at most 0x77 to each sets
        // its high bit without a carry into the next byte. A byte is in
        // `\t..=\r` (9..=13) if it is at least 9 and not at least 14.
        let at_least_9 = w + (0x80 - 9) * LOW;
        let at_least_14 = w + (0x80 - 14) * LOW;
        if at_least_9 & !at_least_14 & HIGH != 0 {
            return false;
        }
        // A space is a zero byte of `w ^ spaces`; `x + 0x7F` sets the high
        // bit of every byte but the zero ones (again no carry).
        let spaces = !((w ^ (u64::from(b' ') * LOW)) + 0x7F * LOW) & HIGH;
        // A space followed by a space: byte i and byte i + 1 (the next
        // higher in little-endian order), and across the word boundary.
        if spaces & (spaces >> 8) != 0 || (after_space && spaces & 0x80 != 0) {
            return false;
        }
        after_space = spaces >> 63 != 0;
    }
    chunks.remainder().iter().all(|&c| {
        let ok = c.is_ascii() && !matches!(c, b'\t'..=b'\r') && !(after_space && c == b' ');
        after_space = c == b' ';
        ok
    })
}

/// [`plain_spacing`] byte by byte: the reference of the word-at-a-time
/// test.
#[cfg(test)]
fn plain_spacing_reference(b: &[u8]) -> bool {
    let mut after_space = false;
    b.iter().all(|&c| {
        let ok = c.is_ascii() && !matches!(c, b'\t'..=b'\r') && !(after_space && c == b' ');
        after_space = c == b' ';
        ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_length_tables_admit_exactly_the_placeholders() {
        for p in PLACEHOLDERS {
            assert!(is_placeholder(p), "{p}");
            assert!(is_placeholder(&p.to_ascii_uppercase()), "{p}");
            assert_eq!(p.to_ascii_lowercase(), *p, "the list is lower case");
        }
        // Every (first or last byte, length) the tables admit is some
        // placeholder's.
        for (table, last) in [
            (&PLACEHOLDER_LENGTHS.0, false),
            (&PLACEHOLDER_LENGTHS.1, true),
        ] {
            for (b, lengths) in table.iter().enumerate() {
                for len in 0..32 {
                    if lengths >> len & 1 == 1 {
                        let admitted = PLACEHOLDERS.iter().any(|p| {
                            let end = if last {
                                p.as_bytes()[p.len() - 1]
                            } else {
                                p.as_bytes()[0]
                            };
                            p.len() == len && usize::from(end) == b
                        });
                        assert!(admitted, "{b} {len}");
                    }
                }
            }
        }
        assert!(!is_placeholder("California"));
        assert!(!is_placeholder("Select Foods"));
    }

    #[test]
    fn the_placeholder_length_bound_is_the_longest_placeholder() {
        let longest = PLACEHOLDERS.iter().map(|p| p.len()).max();
        assert_eq!(longest, Some(LONGEST_PLACEHOLDER));
        assert!(is_placeholder("  Not Applicable "));
        assert!(!is_placeholder("not applicable!"));
    }

    #[test]
    fn a_no_answer_range_is_absent_not_an_error() {
        let n = Normalizer::default();
        let out = n
            .normalize_json(
                r#"{"email": "ana@acme.com", "company_size": "Prefer not to say", "annual_revenue": "Undisclosed"}"#,
            )
            .expect("a lead without a size");
        assert_eq!(out.lead.employees, None);
        assert_eq!(out.lead.annual_revenue, None);
        let placeholders: Vec<_> = out
            .warnings
            .iter()
            .filter(|w| w.code == IssueCode::Placeholder)
            .map(|w| w.field.clone())
            .collect();
        assert_eq!(placeholders, [Field::Employees, Field::AnnualRevenue]);
        // So is a dropdown's unselected option, sent as its label.
        for unselected in [
            "Please select",
            "-- Select --",
            "Select one...",
            "Don't know",
        ] {
            let input = serde_json::json!({"email": "ana@acme.com", "company_size": unselected});
            let out = n.normalize_json(&input.to_string()).expect(unselected);
            assert_eq!(out.lead.employees, None, "{unselected}");
            assert_eq!(out.warnings[0].code, IssueCode::Placeholder, "{unselected}");
        }
    }

    #[test]
    fn a_page_on_a_hosting_platform_is_not_the_company_domain() {
        let n = Normalizer::default();
        for site in [
            "acmebakery.wordpress.com",
            "https://sites.google.com/view/acmebakery",
            "https://www.squarespace.com/acme",
            "calendly.com/acmebakery/30min",
            "https://bit.ly/acme",
            "https://apps.apple.com/us/app/acme/id123",
            "https://github.com/acmebakery",
            "facebook.com/acmebakery",
        ] {
            let input = serde_json::json!({"email": "owner@acmebakery.com", "website": site});
            let out = n.normalize_json(&input.to_string()).expect(site);
            assert_eq!(
                out.lead.company_domain.as_deref(),
                Some("acmebakery.com"),
                "{site}"
            );
            let w = &out.warnings[0];
            assert_eq!(
                (w.field.clone(), w.code),
                (Field::Website, IssueCode::Ignored),
                "{site}"
            );
            assert!(
                w.message.contains("site-hosting platform"),
                "{site}: {}",
                w.message
            );
        }
        // The platform's own people keep their domain (from the email), and
        // a platform's other hosts are its own site.
        let google = n
            .normalize_json(r#"{"email": "sam@google.com", "website": "https://about.google.com"}"#)
            .unwrap();
        assert_eq!(google.lead.company_domain.as_deref(), Some("google.com"));
        assert!(google.warnings.is_empty(), "{:?}", google.warnings);
        // A customer's own registrable domain on a private suffix stays.
        let shop = n
            .normalize_json(r#"{"email": "jo@gmail.com", "website": "acme.myshopify.com"}"#)
            .unwrap();
        assert_eq!(
            shop.lead.company_domain.as_deref(),
            Some("acme.myshopify.com")
        );
    }

    #[test]
    fn a_country_dropdowns_label_is_read() {
        let n = Normalizer::default();
        let country = |raw: &str| {
            let input = serde_json::json!({"email": "ana@acme.com", "country": raw});
            let out = n.normalize_json(&input.to_string()).unwrap();
            (out.lead.country.map(|c| c.to_string()), out.warnings.len())
        };
        for (raw, want) in [
            ("United States (US)", "US"),
            ("United Kingdom (UK)", "GB"),
            ("Korea (South)", "KR"),
            ("Korea, South", "KR"),
            ("England, UK", "GB"),
            ("China (PRC)", "CN"),
            ("Congo (Kinshasa)", "CD"),
        ] {
            assert_eq!(country(raw), (Some(want.to_owned()), 0), "{raw}");
        }
        // Parts that name two countries name none.
        for raw in ["Georgia (US)", "France, Germany"] {
            assert_eq!(country(raw), (None, 1), "{raw}");
        }
    }

    #[test]
    fn a_reserved_code_is_no_country() {
        let n = Normalizer::default();
        let out = n
            .normalize_json(r#"{"email": "ana@acme.com", "country": "EU"}"#)
            .unwrap();
        assert_eq!(out.lead.country, None);
        assert_eq!(out.warnings[0].field, Field::Country);
        // The French abbreviation it came from still reads as written.
        let out = n
            .normalize_json(r#"{"email": "ana@acme.com", "country": "É.-U."}"#)
            .unwrap();
        assert_eq!(
            out.lead.country.map(|c| c.to_string()).as_deref(),
            Some("US")
        );
    }

    #[test]
    fn an_unreadable_range_is_a_warning_and_a_labelled_one_is_read() {
        let n = Normalizer::default();
        let out = n
            .normalize_json(
                r#"{"email": "ana@acme.com", "company_size": "Startup", "annual_revenue": "lots"}"#,
            )
            .expect("a lead whose size nobody can read is still a lead");
        assert_eq!((out.lead.employees, out.lead.annual_revenue), (None, None));
        let warned: Vec<_> = out
            .warnings
            .iter()
            .map(|w| (w.field.clone(), w.code, w.value.as_deref()))
            .collect();
        assert_eq!(
            warned,
            [
                (Field::Employees, IssueCode::Invalid, Some("Startup")),
                (Field::AnnualRevenue, IssueCode::Invalid, Some("lots")),
            ]
        );
        assert!(
            out.warnings[0].message.ends_with("treated as absent"),
            "{}",
            out.warnings[0].message
        );
        for (label, want) in [
            ("Enterprise (1000+)", Range::at_least(1000)),
            ("51-200 (Mid-Market)", Range::new(51, Some(200))),
            ("Small (1-50)", Range::new(1, Some(50))),
            ("1 (just me)", Range::exactly(1)),
            ("Sole proprietor", Range::exactly(1)),
        ] {
            let input = serde_json::json!({"email": "ana@acme.com", "company_size": label});
            let out = n.normalize_json(&input.to_string()).expect(label);
            assert_eq!(out.lead.employees, Some(want), "{label}");
            assert!(out.warnings.is_empty(), "{label}: {:?}", out.warnings);
        }
    }

    #[test]
    fn a_long_message_is_kept_up_to_the_attribute_limit() {
        let n = Normalizer::default();
        let lead = |message: &str| {
            let input = serde_json::json!({"email": "aiko@mercari.com", "message": message});
            n.normalize_json(&input.to_string())
        };
        // About 1,400 Japanese characters (4,200 bytes): once refused.
        let japanese = "弊社では営業チームの問い合わせ対応を改善したいと考えています。".repeat(45);
        assert!(japanese.len() > 4096, "{}", japanese.len());
        let kept = lead(&japanese).expect("a long message is a lead");
        assert_eq!(
            kept.lead.attributes.get("message").and_then(|v| v.as_str()),
            Some(japanese.as_str())
        );
        let limit = Limits::default().max_attribute_bytes;
        let at_limit = lead(&"x".repeat(limit)).unwrap();
        assert!(at_limit.warnings.is_empty());
        // Over it: the lead stands, with the message's first 16 KiB (cut
        // at a character) and a warning saying how long it was.
        let long = format!("{}é{}", "x".repeat(limit - 1), "y".repeat(5000));
        let out = lead(&long).expect("a lead with a long message");
        let kept = out.lead.attributes["message"].as_str().unwrap();
        assert_eq!(kept, "x".repeat(limit - 1), "cut before the two-byte é");
        let w = &out.warnings[0];
        assert_eq!(
            (w.field.clone(), w.code),
            (Field::Attribute("message".into()), IssueCode::TooLong)
        );
        assert_eq!(
            w.message,
            format!(
                "is {} bytes; its first {} (the limit is {limit}) were kept",
                long.len(),
                limit - 1
            )
        );
        // A structured value over the limit cannot be cut: still an error.
        let big =
            serde_json::json!({"email": "aiko@mercari.com", "answers": vec!["x".repeat(100); 200]});
        let e = n
            .normalize_json(&big.to_string())
            .expect_err("over the limit");
        assert_eq!(
            (e.errors[0].code, e.errors[0].field.clone()),
            (IssueCode::TooLong, Field::Attribute("answers".into()))
        );
    }

    #[test]
    fn ranges_in_other_languages_and_units_are_read() {
        let n = Normalizer::default();
        let out = n
            .normalize_json(
                r#"{"email": "jonas@bosch.de", "company_size": "mehr als 1.000 Mitarbeiter", "annual_revenue": "10 - 50 Mio. €"}"#,
            )
            .expect("a German form's lead");
        assert_eq!(out.lead.employees, Some(Range::at_least(1001)));
        assert_eq!(
            out.lead.annual_revenue,
            Some(Range::new(10_000_000, Some(50_000_000)))
        );
        let out = n
            .normalize_json(
                r#"{"email": "ravi@razorpay.com", "company_size": "1,00,000+", "annual_revenue": "Pre-revenue"}"#,
            )
            .expect("an Indian form's lead");
        assert_eq!(out.lead.employees, Some(Range::at_least(100_000)));
        assert_eq!(out.lead.annual_revenue, Some(Range::exactly(0)));
    }

    #[test]
    fn a_website_under_the_email_domain_reuses_its_lookup_only_where_the_list_allows() {
        let n = Normalizer::default();
        let company_domain = |email: &str, website: &str| {
            let json = format!(r#"{{"email": "{email}", "website": "{website}"}}"#);
            let out = n.normalize_json(&json).expect("valid lead");
            let warned = out.warnings.iter().any(|w| w.field == Field::Website);
            (out.lead.company_domain, warned)
        };
        for (email, website, want) in [
            (
                "Dana@Globex-Industries.com",
                "https://www.globex-industries.com/about",
                "globex-industries.com",
            ),
            (
                "dana@mail.globex.co.uk",
                "WWW.Globex.CO.UK.",
                "globex.co.uk",
            ),
            ("dana@globex.com", "globex.com", "globex.com"),
            ("dana@globex.com", "shop.www.globex.com:8080", "globex.com"),
            (
                "dana@globex.com",
                "www.globex-other.com",
                "globex-other.com",
            ),
        ] {
            assert_eq!(
                company_domain(email, website),
                (Some(want.to_owned()), false),
                "{website}"
            );
        }
        // `*.kawasaki.jp` is a rule: `www.kawasaki.jp` is a public suffix,
        // though `kawasaki.jp` is a registrable domain.
        assert_eq!(
            company_domain("dana@kawasaki.jp", "www.kawasaki.jp"),
            (Some("kawasaki.jp".to_owned()), true)
        );
    }

    #[test]
    fn domain_sets_can_be_extended_trimmed_and_replaced() {
        let n = Normalizer::default();
        assert_eq!(n.email_kind("gmail.com"), EmailKind::Free);
        let n = n.without_free_email_domains([" GMail.com. "]);
        assert_eq!(n.email_kind("gmail.com"), EmailKind::Business);
        let n = n.replace_free_email_domains(["corp-mail.example"]);
        assert_eq!(n.email_kind("corp-mail.example"), EmailKind::Free);
        assert_eq!(n.email_kind("yahoo.com"), EmailKind::Business);
        let n = n.with_disposable_email_domains(["münchen-trash.de"]);
        assert_eq!(
            n.email_kind("xn--mnchen-trash-dlb.de"),
            EmailKind::Disposable
        );
        let n = n.replace_disposable_email_domains(Vec::<String>::new());
        assert_eq!(n.email_kind("mailinator.com"), EmailKind::Business);
    }

    proptest::proptest! {
        #[test]
        fn one_walk_classifies_as_two_walks(
            d in "(mail|gmail|yahoo|mailinator|eu|acme|co|uk|com|de|fr\\.nf|\\.|x){0,8}",
        ) {
            let plain = Normalizer::default();
            let edited = Normalizer::default()
                .with_free_email_domains(["acme.com", "mailinator.com"])
                .without_disposable_email_domains(["mailinator.com"])
                .with_disposable_email_domains(["co.uk"]);
            for n in [&plain, &edited] {
                proptest::prop_assert_eq!(n.email_kind(&d), n.email_kind_reference(&d));
            }
        }

        #[test]
        fn the_ascii_token_path_is_the_general_one(s in "[ a-zA-Z\t\x0b\u{a0}Éß.-]{0,12}") {
            let general = s
                .split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join(" ");
            proptest::prop_assert_eq!(product_token(&s), general);
        }

        #[test]
        fn product_parts_are_the_char_split(s in "[a ,;|é€.]{0,16}") {
            let mut parts = Vec::new();
            for_each_product_part(&s, |p| parts.push(p.to_owned()));
            let split: Vec<String> = s.split([',', ';', '|']).map(str::to_owned).collect();
            proptest::prop_assert_eq!(parts, split);
        }

        #[test]
        fn plain_spacing_in_words_is_the_byte_test(
            s in "([ a\t\n\x0b\x0c\r\x08\x0e\x1f\x7f~é]|  ){0,40}",
        ) {
            proptest::prop_assert_eq!(
                plain_spacing(s.as_bytes()),
                plain_spacing_reference(s.as_bytes())
            );
        }

        #[test]
        fn collapse_and_trim_are_the_general_ones(s in "[ a\t\n\x0b\x0c\r\u{a0}\u{2003}é.]{0,10}") {
            proptest::prop_assert_eq!(trim(&s), s.trim());
            let t = s.trim();
            let general = if t.contains(|c: char| c.is_whitespace() && c != ' ') || t.contains("  ") {
                t.split_whitespace().collect::<Vec<_>>().join(" ")
            } else {
                t.to_owned()
            };
            proptest::prop_assert_eq!(collapse(t), general);
        }
    }
}
