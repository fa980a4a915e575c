//! Candidates prepared once, matched many times: [`CandidateSet`] (accounts
//! a caller holds: an in-memory CRM, an accounts file, a service's cache)
//! and [`Candidates`] (what a CRM adapter hands the router: fresh accounts
//! or a set it keeps).
//!
//! Matching reads each candidate's domains (website parsing, the public
//! suffix list, the free-mail and disposable lists), its name key
//! (transliteration, legal forms), country, postal code and phone. For
//! fresh CRM results that is done once per match; a [`CandidateSet`] does
//! it once, when an account is added, and a match then only compares. Both
//! paths give the same [`AccountMatch`](super::AccountMatch) for the same
//! accounts.

use std::sync::Arc;

use super::domains::Host;
use super::names::NameKey;
use super::score::{Features, LeadSide};
use crate::crm::records::Account;
use crate::lead::model::Lead;
use crate::lead::normalizer::Normalizer;

/// Candidate accounts prepared for matching, in id order, each id once.
///
/// Build it once from the accounts you hold ([`Matcher::prepare`](super::Matcher::prepare)), keep
/// it current with [`insert`](Self::insert) and [`remove`](Self::remove),
/// and match every lead against it with [`Matcher::match_set`](super::Matcher::match_set): the per-account work (domains, name
/// keys, countries) is done here, not per match. The result is the one
/// [`Matcher::match_accounts`](super::Matcher::match_accounts) gives for the same accounts.
///
/// The set remembers the free-mail and disposable lists of the matcher it
/// was prepared with; a matcher whose lists differ (another
/// [`Normalizer`]'s, see [`Matcher::with_normalizer`](super::Matcher::with_normalizer)) still matches it
/// correctly, by preparing the accounts again for that match.
///
/// ```
/// use leadroute::Normalizer;
/// use leadroute::crm::Account;
/// use leadroute::matching::Matcher;
///
/// let matcher = Matcher::default();
/// let mut set = matcher.prepare([
///     Account::new("001", "Acme Corporation").domain("acme.com"),
///     Account::new("002", "Globex").domain("globex.com"),
/// ]);
/// set.insert(Account::new("003", "Initech").domain("initech.com"));
/// assert_eq!(set.len(), 3);
///
/// let lead = Normalizer::default()
///     .normalize_json(r#"{"email": "jane@initech.com"}"#)?
///     .lead;
/// let m = matcher.match_set(&lead, &set);
/// assert_eq!(m.account_id.as_deref(), Some("003"));
/// assert_eq!(m, matcher.match_accounts(&lead, set.accounts()));
/// # Ok::<(), leadroute::lead::NormalizeError>(())
/// ```
///
/// The default is an empty set prepared with the default lists
/// ([`Matcher::default`](super::Matcher::default)'s).
#[derive(Debug, Clone, Default)]
pub struct CandidateSet {
    /// In id order, each id once.
    accounts: Vec<Account>,
    /// `features[i]` is what the matcher reads of `accounts[i]`.
    features: Vec<Features>,
    /// Whose free-mail and disposable lists the features were computed with.
    normalizer: Normalizer,
}

impl CandidateSet {
    /// Prepares `accounts` with `normalizer`'s lists (what
    /// [`Matcher::prepare`](super::Matcher::prepare) does).
    pub(crate) fn prepared_with(
        normalizer: &Normalizer,
        accounts: impl IntoIterator<Item = Account>,
    ) -> Self {
        let mut accounts: Vec<Account> = accounts.into_iter().collect();
        accounts.sort_by(|a, b| (&a.id, &a.name).cmp(&(&b.id, &b.name)));
        accounts.dedup_by(|a, b| a.id == b.id);
        let features = accounts
            .iter()
            .map(|a| Features::new(a, normalizer))
            .collect();
        CandidateSet {
            accounts,
            features,
            normalizer: normalizer.clone(),
        }
    }

    /// Adds an account, or replaces the one with its id (returned).
    pub fn insert(&mut self, account: Account) -> Option<Account> {
        let features = Features::new(&account, &self.normalizer);
        match self.position(&account.id) {
            Ok(i) => {
                if let Some(f) = self.features.get_mut(i) {
                    *f = features;
                }
                self.accounts
                    .get_mut(i)
                    .map(|a| std::mem::replace(a, account))
            }
            Err(i) => {
                self.accounts.insert(i, account);
                self.features.insert(i, features);
                None
            }
        }
    }

    /// Removes the account with this id, if any.
    pub fn remove(&mut self, id: &str) -> Option<Account> {
        let i = self.position(id).ok()?;
        self.features.remove(i);
        Some(self.accounts.remove(i))
    }

    /// The account with this id.
    pub fn get(&self, id: &str) -> Option<&Account> {
        let i = self.position(id).ok()?;
        self.accounts.get(i)
    }

    /// Every account, in id order.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The accounts, in id order.
    pub fn into_accounts(self) -> Vec<Account> {
        self.accounts
    }

    fn position(&self, id: &str) -> Result<usize, usize> {
        self.accounts.binary_search_by(|a| a.id.as_str().cmp(id))
    }

    /// The features, when they were computed with lists `normalizer`
    /// shares.
    pub(crate) fn features_for(&self, normalizer: &Normalizer) -> Option<&[Features]> {
        normalizer
            .classifies_like(&self.normalizer)
            .then_some(self.features.as_slice())
    }
}

/// Candidate accounts as a CRM adapter returns them
/// ([`Crm::find_prepared_candidates`](crate::Crm::find_prepared_candidates)):
/// fresh records, prepared per match, or a [`CandidateSet`] the adapter
/// keeps (an in-memory CRM, a cache), shared rather than copied.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Candidates {
    /// Accounts just read from the CRM.
    Fresh(Vec<Account>),
    /// A prepared set.
    Prepared(Arc<CandidateSet>),
}

impl Default for Candidates {
    fn default() -> Self {
        Candidates::Fresh(Vec::new())
    }
}

impl Candidates {
    /// The accounts (a prepared set's in id order).
    pub fn accounts(&self) -> &[Account] {
        match self {
            Candidates::Fresh(a) => a,
            Candidates::Prepared(s) => s.accounts(),
        }
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.accounts().is_empty()
    }

    /// The account with this id, taken out of fresh accounts or copied out
    /// of a shared set (the matched account, for the router's facts).
    pub fn take(self, id: &str) -> Option<Account> {
        match self {
            Candidates::Fresh(mut a) => {
                let i = a.iter().position(|x| x.id == id)?;
                Some(a.swap_remove(i))
            }
            Candidates::Prepared(s) => s.get(id).cloned(),
        }
    }
}

impl From<Vec<Account>> for Candidates {
    fn from(accounts: Vec<Account>) -> Self {
        Candidates::Fresh(accounts)
    }
}

impl From<Arc<CandidateSet>> for Candidates {
    fn from(set: Arc<CandidateSet>) -> Self {
        Candidates::Prepared(set)
    }
}

/// A lead read for matching once — its domains parsed, its name keyed, its
/// country, postal code and phone prepared — for both the CRM query
/// ([`CandidateQuery::for_prepared_lead`](crate::crm::CandidateQuery::for_prepared_lead))
/// and the match ([`Matcher::match_prepared_with`](super::Matcher::match_prepared_with)).
/// Made by [`Matcher::prepare_lead`](super::Matcher::prepare_lead); borrows
/// the lead and the matcher's lists.
#[derive(Debug, Clone)]
pub struct PreparedLead<'a> {
    lead: &'a Lead,
    side: LeadSide,
    normalizer: &'a Normalizer,
}

impl<'a> PreparedLead<'a> {
    pub(crate) fn new(lead: &'a Lead, side: LeadSide, normalizer: &'a Normalizer) -> Self {
        PreparedLead {
            lead,
            side,
            normalizer,
        }
    }

    /// The lead.
    pub fn lead(&self) -> &'a Lead {
        self.lead
    }

    pub(crate) fn side(&self) -> &LeadSide {
        &self.side
    }

    /// Whether it was read with lists that classify like `normalizer`'s.
    pub(crate) fn classifies_like(&self, normalizer: &Normalizer) -> bool {
        std::ptr::eq(self.normalizer, normalizer) || self.normalizer.classifies_like(normalizer)
    }

    /// The lead's company domain, parsed.
    pub(crate) fn company_host(&self) -> Option<&Host> {
        self.side.company_host()
    }

    /// The key of the lead's company name.
    pub(crate) fn company_name_key(&self) -> Option<&NameKey> {
        self.side.company_name_key()
    }
}
