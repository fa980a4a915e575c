//! [`PolicyTester`]: a policy, the facts to route with, and a lead payload
//! away from a [`Checked`] decision.

use std::time::{Duration, SystemTime};

use super::checked::Checked;
use crate::crm::records::{Account, Contact};
use crate::facts::Facts;
use crate::lead::normalizer::Normalizer;
use crate::policy::compile::compile;
use crate::policy::compiled::Policy;
use crate::policy::spec::PolicySpec;
use crate::pool::availability::AwayList;

/// Unit-tests a routing policy in a few lines: build from JSON or TOML
/// (panicking with every diagnostic if it does not compile), then route lead
/// payloads with optional CRM facts and availability, and assert on the
/// decision.
#[derive(Debug, Clone)]
pub struct PolicyTester {
    policy: Policy,
    normalizer: Normalizer,
    account: Option<Account>,
    contact: Option<Contact>,
    away: AwayList,
    now: SystemTime,
}

impl PolicyTester {
    /// From a compiled policy.
    pub fn new(policy: Policy) -> Self {
        PolicyTester {
            policy,
            normalizer: Normalizer::default(),
            account: None,
            contact: None,
            away: AwayList::default(),
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        }
    }

    /// From a spec; panics with the diagnostics if it does not compile.
    #[track_caller]
    pub fn from_spec(spec: &PolicySpec) -> Self {
        match compile(spec) {
            Ok(p) => Self::new(p),
            Err(e) => panic!("{e}"),
        }
    }

    /// From JSON text; panics on a parse or compile error.
    #[track_caller]
    pub fn from_json(json: &str) -> Self {
        // No closures here: they would not carry the caller's location.
        match PolicySpec::from_json_str(json) {
            Ok(spec) => Self::from_spec(&spec),
            Err(e) => panic!("policy JSON: {e}"),
        }
    }

    /// From TOML text; panics on a parse or compile error.
    #[cfg(feature = "toml")]
    #[track_caller]
    pub fn from_toml(toml: &str) -> Self {
        match PolicySpec::from_toml_str(toml) {
            Ok(spec) => Self::from_spec(&spec),
            Err(e) => panic!("policy TOML: {e}"),
        }
    }

    /// Routes with this matched account.
    pub fn with_account(&self, account: Account) -> Self {
        PolicyTester {
            account: Some(account),
            ..self.clone()
        }
    }

    /// Routes with this existing contact.
    pub fn with_contact(&self, contact: Contact) -> Self {
        PolicyTester {
            contact: Some(contact),
            ..self.clone()
        }
    }

    /// Routes with these owners away.
    pub fn with_away<I: IntoIterator<Item = S>, S: Into<String>>(&self, owners: I) -> Self {
        PolicyTester {
            away: AwayList::new(owners),
            ..self.clone()
        }
    }

    /// The policy under test.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Normalizes a JSON payload (panicking on field errors) and evaluates.
    #[track_caller]
    pub fn route(&self, lead_json: &str) -> Checked {
        let lead = match self.normalizer.normalize_json(lead_json) {
            Ok(n) => n.lead,
            Err(e) => panic!("lead {lead_json}: {e}"),
        };
        let mut ctx = Facts::new(self.now).availability(&self.away);
        if let Some(a) = &self.account {
            ctx = ctx.account(a);
        }
        if let Some(c) = &self.contact {
            ctx = ctx.contact(c);
        }
        let decision = self.policy.evaluate(&lead, &ctx);
        let explanation = self.policy.explain(&decision);
        Checked {
            decision,
            explanation,
        }
    }
}
