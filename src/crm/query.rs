//! [`CandidateQuery`]: what a CRM is asked for when the router looks for
//! the accounts a lead may belong to.

use crate::lead::company::fold;
use crate::lead::email::EmailKind;
use crate::lead::model::Lead;
use crate::matching::{Host, NameKey, PreparedLead, name_words};

/// The default number of candidates a router asks for.
pub const DEFAULT_CANDIDATE_LIMIT: usize = 50;

/// The most spellings of the brand a [`CandidateQuery`] carries
/// ([`CandidateQuery::brand_spellings`]).
pub const MAX_BRAND_SPELLINGS: usize = 3;

/// What [`Crm::find_candidates`](super::Crm::find_candidates) searches on,
/// derived from the lead by [`CandidateQuery::for_lead`] (or, sharing what
/// the matcher reads of the lead, [`CandidateQuery::for_prepared_lead`]).
///
/// An adapter looks accounts up by any of these it can query (by domain, by
/// brand, by name) and returns every account found, once, at most `limit`
/// of them: the matcher decides which one — if any — is the lead's.
///
/// ```
/// use leadroute::Normalizer;
/// use leadroute::crm::CandidateQuery;
///
/// let lead = Normalizer::default()
///     .normalize_json(r#"{"email": "jane@uk.acme-corp.co.uk", "company": "ACME Corp Ltd."}"#)?
///     .lead;
/// let q = CandidateQuery::for_lead(&lead, 25);
/// assert_eq!(q.domain.as_deref(), Some("acme-corp.co.uk"));
/// assert_eq!(q.email_domain.as_deref(), Some("uk.acme-corp.co.uk"));
/// assert_eq!(q.brand.as_deref(), Some("acmecorp"));
/// // `acme-corp.de` and `acmecorp.com` are the same brand to the matcher:
/// // a search by the domain's text needs both spellings.
/// assert_eq!(q.brand_spellings, ["acme-corp", "acmecorp"]);
/// assert_eq!(q.company_name.as_deref(), Some("ACME Corp Ltd."));
/// assert_eq!(q.name_key.as_deref(), Some("acme"));
/// assert_eq!(q.name_words, ["acme"]);
/// assert_eq!(q.limit, 25);
/// # Ok::<(), leadroute::lead::NormalizeError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CandidateQuery {
    /// The lead's registrable company domain (`acme.co.uk`), if any.
    pub domain: Option<String>,
    /// The email's full domain for a business email (`uk.acme.co.uk`);
    /// `None` for free-mail and disposable addresses.
    pub email_domain: Option<String>,
    /// The company domain's brand as the matcher compares it: the
    /// registrable domain's first label without hyphens (`acme` of
    /// `acme.co.uk`, `acmecorp` of `acme-corp.co.uk`), for accounts of the
    /// same brand under other suffixes (`acme.com`, `acme.de`).
    pub brand: Option<String>,
    /// How that brand may be written in the domain of another account, for
    /// searches on the domain's text (each once, at most
    /// [`MAX_BRAND_SPELLINGS`]): as the lead's domain writes it
    /// (`acme-corp`), without hyphens (`acmecorp`), and with a hyphen
    /// between the company name's words where they spell the brand
    /// (`blue-bottle` for `bluebottle.com` and "Blue Bottle Coffee"). The
    /// matcher's cross-TLD signal treats all of them as one brand, so an
    /// adapter that searches only `brand` misses `acme-corp.de` for
    /// `acmecorp.com`. Empty when there is no brand.
    pub brand_spellings: Vec<String>,
    /// The company name as the lead typed it.
    pub company_name: Option<String>,
    /// The company name's match key (`acme` for "ACME Ltd.").
    pub name_key: Option<String>,
    /// The words of the name that identify the company, legal forms and
    /// connectors dropped, lower-case ASCII (`["blue", "bottle",
    /// "coffee"]` for "Blue Bottle Coffee, Inc."): for token searches.
    pub name_words: Vec<String>,
    /// The most accounts to return.
    pub limit: usize,
}

impl CandidateQuery {
    /// The query for `lead`, returning at most `limit` accounts.
    pub fn for_lead(lead: &Lead, limit: usize) -> Self {
        let host = lead.company_domain.as_deref().and_then(Host::parse);
        let key = lead.company_name.as_deref().and_then(NameKey::new);
        Self::from_parts(lead, host.as_ref(), key.as_ref(), limit)
    }

    /// The query for a lead the matcher has read
    /// ([`Matcher::prepare_lead`](crate::matching::Matcher::prepare_lead)):
    /// the same query as [`for_lead`](Self::for_lead), without parsing the
    /// lead's domain and keying its name a second time.
    pub fn for_prepared_lead(lead: &PreparedLead<'_>, limit: usize) -> Self {
        Self::from_parts(
            lead.lead(),
            lead.company_host(),
            lead.company_name_key(),
            limit,
        )
    }

    fn from_parts(lead: &Lead, host: Option<&Host>, key: Option<&NameKey>, limit: usize) -> Self {
        let name_words = match (key, lead.company_name.as_deref()) {
            (Some(k), Some(name)) => k.words().unwrap_or_else(|| name_words(name)),
            _ => Vec::new(),
        };
        CandidateQuery {
            domain: lead.company_domain.clone(),
            email_domain: (lead.email_kind == EmailKind::Business)
                .then(|| lead.email_domain.clone()),
            brand: host.map(|h| h.brand().to_owned()),
            brand_spellings: host
                .map(|h| brand_spellings(h, lead.company_name.as_deref()))
                .unwrap_or_default(),
            company_name: lead.company_name.clone(),
            name_key: key.map(|k| k.key.clone()),
            name_words,
            limit,
        }
    }

    /// Whether there is nothing to search on.
    pub fn is_empty(&self) -> bool {
        self.domain.is_none()
            && self.email_domain.is_none()
            && self.brand.is_none()
            && self.company_name.is_none()
    }
}

/// The spellings of `host`'s brand (see
/// [`CandidateQuery::brand_spellings`]): the label as written, without
/// hyphens, and hyphenated where consecutive words of the company name
/// (legal forms included: `Acme Corp` spells `acmecorp`) spell it.
fn brand_spellings(host: &Host, company_name: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(2);
    let mut add = |s: &str| {
        if !s.is_empty() && out.len() < MAX_BRAND_SPELLINGS && !out.iter().any(|x| x == s) {
            out.push(s.to_owned());
        }
    };
    let label = host.brand_label();
    add(label);
    // (A punycode label's letters without hyphens spell nothing.)
    if !label.starts_with("xn--") {
        add(host.brand());
    }
    if let Some(h) = company_name.and_then(|n| hyphenated_by_name(host.brand(), n)) {
        add(&h);
    }
    out
}

/// `brand` with hyphens between two or more consecutive words of `name`
/// that spell it exactly (`bluebottle` and "Blue Bottle Coffee" →
/// `blue-bottle`); the first such run.
fn hyphenated_by_name(brand: &str, name: &str) -> Option<String> {
    let folded = fold(name);
    if !folded.contains(' ') {
        return None;
    }
    let words: Vec<&str> = folded.split_ascii_whitespace().collect();
    for start in 0..words.len() {
        let mut len = 0;
        for (n, w) in words.get(start..)?.iter().enumerate() {
            let rest = brand.get(len..)?;
            if !rest.starts_with(w) {
                break;
            }
            len += w.len();
            if len == brand.len() {
                return (n >= 1).then(|| words.get(start..=start + n).map(|r| r.join("-")))?;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spellings(domain: &str, name: Option<&str>) -> Vec<String> {
        brand_spellings(&Host::parse(domain).expect("a domain"), name)
    }

    #[test]
    fn brands_are_spelt_with_and_without_hyphens() {
        assert_eq!(
            spellings("acme-corp.co.uk", None),
            ["acme-corp", "acmecorp"]
        );
        assert_eq!(spellings("acme.com", Some("Acme Inc")), ["acme"]);
        assert_eq!(
            spellings("acmecorp.com", Some("Acme Corp")),
            ["acmecorp", "acme-corp"]
        );
        assert_eq!(
            spellings("bluebottle.com", Some("Blue Bottle Coffee, Inc.")),
            ["bluebottle", "blue-bottle"]
        );
        assert_eq!(
            spellings("a-b-c.de", Some("AB C GmbH")),
            ["a-b-c", "abc", "ab-c"],
            "three spellings at most, each once"
        );
        assert_eq!(
            spellings("acme-corp.com", Some("Acme Corp")),
            ["acme-corp", "acmecorp"]
        );
        // Words that only start the brand, or a single word, spell nothing.
        assert_eq!(spellings("acmecorp.com", Some("Acme")), ["acmecorp"]);
        assert_eq!(spellings("acmecorp.com", Some("Acme Co")), ["acmecorp"]);
        assert_eq!(
            spellings("xn--mller-kva.de", Some("Müller")),
            ["xn--mller-kva"]
        );
    }
}
