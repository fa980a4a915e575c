//! [`Matcher`]: a validated [`MatchConfig`] and the lists it reads, and
//! the ways to run it (fresh accounts, a prepared [`CandidateSet`], or
//! whichever a CRM returned).

use super::config::{MatchConfig, MatchConfigError};
use super::prepared::{CandidateSet, Candidates};
use super::result::AccountMatch;
use super::score;
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
        score::run_accounts(
            &self.config,
            &self.normalizer,
            lead,
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
        let accounts = set.accounts();
        let Some(features) = set.features_for(&self.normalizer) else {
            // Prepared with other free-mail or disposable lists: prepare
            // them again with this matcher's.
            return self.match_accounts_with(lead, accounts, owner_active);
        };
        let n = accounts.len().min(self.config.max_candidates);
        let candidates = accounts
            .iter()
            .zip(features)
            .take(n)
            .map(|(account, features)| score::Candidate { account, features });
        score::run(
            &self.config,
            &self.normalizer,
            lead,
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

    /// Prepares `accounts` for many matches with this matcher's lists (see
    /// [`CandidateSet`]). Accounts are kept in id order; of several with one
    /// id, the one [`match_accounts`](Self::match_accounts) would read (the
    /// first by name) is kept.
    pub fn prepare(&self, accounts: impl IntoIterator<Item = Account>) -> CandidateSet {
        CandidateSet::prepared_with(&self.normalizer, accounts)
    }
}
