//! [`Matcher`]: a validated [`MatchConfig`] and the lists it reads, and
//! the ways to run it (fresh accounts, a prepared [`CandidateSet`], or
//! whichever a CRM returned).

use super::config::{MatchConfig, MatchConfigError};
use super::prepared::{CandidateSet, Candidates, PreparedLead};
use super::result::AccountMatch;
use super::score::{self, LeadSide};
use crate::crm::records::Account;
use crate::lead::model::Lead;
use crate::lead::normalizer::Normalizer;

/// A validated matcher: a [`MatchConfig`] and the normalizer whose
/// free-mail and disposable lists it respects. Cheap to clone, `Send +
/// Sync`.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    config: MatchConfig,
    normalizer: Normalizer,
}

impl Matcher {
    /// A matcher with this config, once it validates.
    pub fn new(config: MatchConfig) -> Result<Self, MatchConfigError> {
        config.validate()?;
        Ok(Matcher {
            config,
            normalizer: Normalizer::default(),
        })
    }

    /// Uses this normalizer's free-mail and disposable domain lists and
    /// country names (use the router's, so both agree).
    pub fn with_normalizer(mut self, normalizer: Normalizer) -> Self {
        self.normalizer = normalizer;
        self
    }

    /// The config.
    pub fn config(&self) -> &MatchConfig {
        &self.config
    }

    /// Matches `lead` against `candidates`, counting an owner as active
    /// when the account has one.
    pub fn match_accounts(&self, lead: &Lead, candidates: &[Account]) -> AccountMatch {
        self.match_accounts_with(lead, candidates, &|_| true)
    }

    /// Matches `lead` against `candidates`; `owner_active` says whether an
    /// owner id is active (for the `active_owner` tie-breaker: the router
    /// asks its policy's owners directory).
    ///
    /// Each candidate is prepared for this match (its domains parsed, its
    /// name keyed); to match many leads against accounts you hold, prepare
    /// them once in a [`CandidateSet`] and use [`match_set`](Self::match_set).
    pub fn match_accounts_with(
        &self,
        lead: &Lead,
        candidates: &[Account],
        owner_active: &dyn Fn(&str) -> bool,
    ) -> AccountMatch {
        let side = LeadSide::new(lead, &self.normalizer);
        self.accounts_for(&side, candidates, owner_active)
    }

    fn accounts_for(
        &self,
        side: &LeadSide,
        candidates: &[Account],
        owner_active: &dyn Fn(&str) -> bool,
    ) -> AccountMatch {
        score::run_accounts(
            &self.config,
            &self.normalizer,
            side,
            candidates,
            owner_active,
        )
    }

    /// Matches `lead` against a prepared [`CandidateSet`], counting an
    /// owner as active when the account has one: the same result as
    /// [`match_accounts`](Self::match_accounts) on the set's accounts,
    /// without preparing them again.
    pub fn match_set(&self, lead: &Lead, set: &CandidateSet) -> AccountMatch {
        self.match_set_with(lead, set, &|_| true)
    }

    /// [`match_set`](Self::match_set) with an `owner_active` test (see
    /// [`match_accounts_with`](Self::match_accounts_with)).
    pub fn match_set_with(
        &self,
        lead: &Lead,
        set: &CandidateSet,
        owner_active: &dyn Fn(&str) -> bool,
    ) -> AccountMatch {
        let side = LeadSide::new(lead, &self.normalizer);
        self.set_for(&side, set, owner_active)
    }

    fn set_for(
        &self,
        side: &LeadSide,
        set: &CandidateSet,
        owner_active: &dyn Fn(&str) -> bool,
    ) -> AccountMatch {
        let accounts = set.accounts();
        let Some(features) = set.features_for(&self.normalizer) else {
            // Prepared with other free-mail or disposable lists: prepare
            // them again with this matcher's.
            return self.accounts_for(side, accounts, owner_active);
        };
        let n = accounts.len().min(self.config.max_candidates);
        let candidates = accounts
            .iter()
            .zip(features)
            .take(n)
            .map(|(account, features)| score::Candidate { account, features });
        score::run(
            &self.config,
            side,
            candidates,
            accounts.len() - n,
            owner_active,
        )
    }

    /// Matches `lead` against what a CRM returned
    /// ([`Crm::find_prepared_candidates`](crate::Crm::find_prepared_candidates)):
    /// fresh accounts like [`match_accounts_with`](Self::match_accounts_with),
    /// a prepared set like [`match_set_with`](Self::match_set_with).
    pub fn match_candidates_with(
        &self,
        lead: &Lead,
        candidates: &Candidates,
        owner_active: &dyn Fn(&str) -> bool,
    ) -> AccountMatch {
        match candidates {
            Candidates::Fresh(accounts) => self.match_accounts_with(lead, accounts, owner_active),
            Candidates::Prepared(set) => self.match_set_with(lead, set, owner_active),
        }
    }

    /// Reads `lead` for matching once (its domains, name key, country,
    /// postal code, phone), for both the CRM query
    /// ([`CandidateQuery::for_prepared_lead`](crate::crm::CandidateQuery::for_prepared_lead))
    /// and the match ([`match_prepared_with`](Self::match_prepared_with)):
    /// what the router does, so it reads each lead once.
    ///
    /// ```
    /// use leadroute::Normalizer;
    /// use leadroute::crm::{Account, CandidateQuery};
    /// use leadroute::matching::{Candidates, Matcher};
    ///
    /// let lead = Normalizer::default()
    ///     .normalize_json(r#"{"email": "jane@acme.co.uk", "company": "Acme Ltd"}"#)?
    ///     .lead;
    /// let matcher = Matcher::default();
    /// let prepared = matcher.prepare_lead(&lead);
    /// let query = CandidateQuery::for_prepared_lead(&prepared, 50);
    /// assert_eq!(query, CandidateQuery::for_lead(&lead, 50));
    /// // … the CRM answers the query …
    /// let found = Candidates::from(vec![Account::new("001", "Acme").domain("acme.com")]);
    /// let m = matcher.match_prepared_with(&prepared, &found, &|_| true);
    /// assert_eq!(m, matcher.match_accounts(&lead, found.accounts()));
    /// # Ok::<(), leadroute::lead::NormalizeError>(())
    /// ```
    pub fn prepare_lead<'a>(&'a self, lead: &'a Lead) -> PreparedLead<'a> {
        PreparedLead::new(
            lead,
            LeadSide::new(lead, &self.normalizer),
            &self.normalizer,
        )
    }

    /// Matches a lead read by [`prepare_lead`](Self::prepare_lead) against
    /// what a CRM returned, like
    /// [`match_candidates_with`](Self::match_candidates_with) on the lead
    /// itself. A lead prepared by a matcher whose free-mail or disposable
    /// lists differ from this one's is read again with this one's.
    pub fn match_prepared_with(
        &self,
        lead: &PreparedLead<'_>,
        candidates: &Candidates,
        owner_active: &dyn Fn(&str) -> bool,
    ) -> AccountMatch {
        let again;
        let side = if lead.classifies_like(&self.normalizer) {
            lead.side()
        } else {
            again = LeadSide::new(lead.lead(), &self.normalizer);
            &again
        };
        match candidates {
            Candidates::Fresh(accounts) => self.accounts_for(side, accounts, owner_active),
            Candidates::Prepared(set) => self.set_for(side, set, owner_active),
        }
    }

    /// Prepares `accounts` for many matches with this matcher's lists (see
    /// [`CandidateSet`]). Accounts are kept in id order; of several with one
    /// id, the one [`match_accounts`](Self::match_accounts) would read (the
    /// first by name) is kept.
    pub fn prepare(&self, accounts: impl IntoIterator<Item = Account>) -> CandidateSet {
        CandidateSet::prepared_with(&self.normalizer, accounts)
    }
}
