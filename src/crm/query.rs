//! [`CandidateQuery`]: what a CRM is asked for when the router looks for
//! the accounts a lead may belong to.

use crate::lead::email::EmailKind;
use crate::lead::model::Lead;
use crate::matching::{Host, NameKey, name_words};

/// The default number of candidates a router asks for.
pub const DEFAULT_CANDIDATE_LIMIT: usize = 50;

/// What [`Crm::find_candidates`](super::Crm::find_candidates) searches on,
/// derived from the lead by [`CandidateQuery::for_lead`].
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
///     .normalize_json(r#"{"email": "jane@uk.acme.co.uk", "company": "ACME Ltd."}"#)?
///     .lead;
/// let q = CandidateQuery::for_lead(&lead, 25);
/// assert_eq!(q.domain.as_deref(), Some("acme.co.uk"));
/// assert_eq!(q.email_domain.as_deref(), Some("uk.acme.co.uk"));
/// assert_eq!(q.brand.as_deref(), Some("acme"));
/// assert_eq!(q.company_name.as_deref(), Some("ACME Ltd."));
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
    /// The company domain's brand (`acme`), for accounts of the same brand
    /// under other suffixes (`acme.com`, `acme.de`).
    pub brand: Option<String>,
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
        CandidateQuery {
            domain: lead.company_domain.clone(),
            email_domain: (lead.email_kind == EmailKind::Business)
                .then(|| lead.email_domain.clone()),
            brand: host.map(|h| h.brand().to_owned()),
            company_name: lead.company_name.clone(),
            name_key: key.as_ref().map(|k| k.key.clone()),
            name_words: if key.is_some() {
                lead.company_name
                    .as_deref()
                    .map(name_words)
                    .unwrap_or_default()
            } else {
                Vec::new()
            },
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
