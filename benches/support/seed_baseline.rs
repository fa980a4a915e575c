//! The seed policy (`examples/policies/seed.json`) hard-coded in Rust: the
//! lower bound an engineer would write by hand, with no policy data, no
//! trace and no explanation. Plus the mixed set of seed leads every seed
//! benchmark and the allocation test use.
//!
//! Include with `#[path = "support/seed_baseline.rs"] mod seed_baseline;`.
#![allow(dead_code)]

use std::cell::Cell;

use leadroute::crm::Account;
use leadroute::lead::EmailKind;
use leadroute::{Facts, Lead, LeadInput, Normalizer};

/// The seed policy, as shipped.
pub const SEED_POLICY_JSON: &str = include_str!("../../examples/policies/seed.json");

/// The decision time every seed benchmark uses (2025-11-24T16:00:00Z).
pub const NOW_UNIX: u64 = 1_764_000_000;

/// One of the mixed seed leads: a name for reports, the normalized lead,
/// the CRM account the caller matched (if any).
#[derive(Debug, Clone)]
pub struct SeedLead {
    pub name: &'static str,
    pub lead: Lead,
    pub account: Option<Account>,
    /// The rule the seed policy must decide with (`None`: the fallback).
    pub rule: Option<&'static str>,
}

impl SeedLead {
    /// The facts the seed benchmarks decide this lead with: [`NOW_UNIX`],
    /// and its CRM account when it has one.
    pub fn facts(&self) -> Facts<'_> {
        match &self.account {
            Some(a) => Facts::at_unix(NOW_UNIX).account(a),
            None => Facts::at_unix(NOW_UNIX),
        }
    }
}

/// The mixed leads: enterprise US, existing customer, existing account,
/// existing account whose owner left, product-led, free email, disposable
/// email, and two that fall through to the fallback.
pub fn seed_leads(normalizer: &Normalizer) -> Vec<SeedLead> {
    let raw: [(&str, &str, Option<Account>, Option<&str>); 9] = [
        (
            "enterprise_us",
            r#"{"email": "dana@globex.com", "company": "Globex Inc", "country": "US", "state": "CA",
                "zip": "94105", "company_size": "1,000+", "product_interest": "Analytics", "submission_id": "s-1"}"#,
            None,
            Some("us-enterprise"),
        ),
        (
            "existing_customer",
            r#"{"email": "li@initech.com", "company": "Initech", "country": "US", "company_size": "51-200"}"#,
            Some(
                Account::new("001A", "Initech")
                    .owner("ana")
                    .customer()
                    .domain("initech.com"),
            ),
            Some("existing-customer"),
        ),
        (
            "existing_account",
            r#"{"email": "sam@umbrella.co.uk", "company": "Umbrella Ltd", "country": "United Kingdom",
                "company_size": "201-500", "product_interest": "PLG"}"#,
            Some(
                Account::new("001B", "Umbrella")
                    .owner("bob")
                    .domain("umbrella.co.uk"),
            ),
            Some("existing-account"),
        ),
        (
            "account_owner_departed",
            r#"{"email": "kim@hooli.com", "company": "Hooli", "country": "USA", "company_size": "5000"}"#,
            Some(
                Account::new("001C", "Hooli")
                    .owner("gus")
                    .domain("hooli.com"),
            ),
            Some("us-enterprise"),
        ),
        (
            "product_led",
            r#"{"email": "max@startup.io", "company": "Startup GmbH", "country": "DE", "company_size": "11-50",
                "product_interest": "Self-Serve; Billing", "utm_source": "google"}"#,
            None,
            Some("product-led"),
        ),
        (
            "free_email",
            r#"{"email": "jane.doe@gmail.com", "country": "FR", "product_interest": "analytics"}"#,
            None,
            None,
        ),
        (
            "disposable",
            r#"{"email": "x9@mailinator.com", "company": "asdf", "country": "US", "company_size": "10000+"}"#,
            None,
            Some("reject-disposable"),
        ),
        (
            "fallback_smb_us",
            r#"{"email": "owner@smallshop.com", "company": "Small Shop LLC", "country": "US", "state": "TX",
                "company_size": "11-50", "product_interest": "Payments"}"#,
            None,
            None,
        ),
        (
            "fallback_unknown_size",
            r#"{"email": "ops@acme.com.au", "company": "Acme Pty Ltd", "country": "Australia", "state": "NSW"}"#,
            None,
            None,
        ),
    ];
    raw.into_iter()
        .map(|(name, json, account, rule)| {
            let input: LeadInput = serde_json::from_str(json).expect("seed lead JSON");
            let lead = normalizer
                .normalize(&input)
                .unwrap_or_else(|e| panic!("seed lead {name}: {e}"))
                .lead;
            SeedLead {
                name,
                lead,
                account,
                rule,
            }
        })
        .collect()
}

/// The seed policy's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedRule {
    RejectDisposable,
    ExistingCustomer,
    ExistingAccount,
    UsEnterprise,
    ProductLed,
    Fallback,
}

impl SeedRule {
    /// The rule id in `seed.json` (`None` for the fallback).
    pub fn id(self) -> Option<&'static str> {
        Some(match self {
            SeedRule::RejectDisposable => "reject-disposable",
            SeedRule::ExistingCustomer => "existing-customer",
            SeedRule::ExistingAccount => "existing-account",
            SeedRule::UsEnterprise => "us-enterprise",
            SeedRule::ProductLed => "product-led",
            SeedRule::Fallback => return None,
        })
    }
}

/// The seed policy's pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedPool {
    EnterpriseUs,
    ProductLed,
    Inbound,
}

impl SeedPool {
    pub fn id(self) -> &'static str {
        match self {
            SeedPool::EnterpriseUs => "enterprise-us",
            SeedPool::ProductLed => "product-led",
            SeedPool::Inbound => "inbound",
        }
    }
}

/// What the buyer sees next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedExperience {
    Reject,
    CustomerSuccess,
    BookMeeting,
    Confirmation,
}

/// The hand-written decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaselineDecision<'a> {
    pub rule: SeedRule,
    pub owner: Option<&'a str>,
    pub pool: Option<SeedPool>,
    pub experience: SeedExperience,
}

/// The seed policy, hard-coded. Round robin is a plain counter per pool
/// (weights 2:1 for `enterprise-us` as a fixed `[ana, bob, ana]` cycle);
/// capacity caps, availability and replays are not modelled.
#[derive(Debug, Default)]
pub struct SeedBaseline {
    enterprise_us: Cell<usize>,
    product_led: Cell<usize>,
    inbound: Cell<usize>,
}

const ENTERPRISE_US: [&str; 3] = ["ana", "bob", "ana"];
const PRODUCT_LED: [&str; 2] = ["cleo", "dev"];
const INBOUND: [&str; 2] = ["emma", "finn"];

fn next(counter: &Cell<usize>, members: &[&'static str]) -> &'static str {
    let i = counter.get();
    counter.set(i.wrapping_add(1));
    members[i % members.len()]
}

/// Active owners of the seed policy (`gus` has left).
fn active_owner(id: &str) -> bool {
    matches!(
        id,
        "ana" | "bob" | "cleo" | "dev" | "emma" | "finn" | "inbound-queue"
    )
}

impl SeedBaseline {
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes one lead the way `seed.json` says, without the policy.
    pub fn route<'a>(&self, lead: &Lead, account: Option<&'a Account>) -> BaselineDecision<'a> {
        if lead.email_kind == EmailKind::Disposable {
            return BaselineDecision {
                rule: SeedRule::RejectDisposable,
                owner: None,
                pool: None,
                experience: SeedExperience::Reject,
            };
        }
        let account_owner = account.and_then(|a| {
            a.owner
                .as_deref()
                .filter(|o| active_owner(o))
                .map(|o| (o, a.is_customer))
        });
        match account_owner {
            Some((owner, true)) => {
                return BaselineDecision {
                    rule: SeedRule::ExistingCustomer,
                    owner: Some(owner),
                    pool: None,
                    experience: SeedExperience::CustomerSuccess,
                };
            }
            Some((owner, false)) => {
                return BaselineDecision {
                    rule: SeedRule::ExistingAccount,
                    owner: Some(owner),
                    pool: None,
                    experience: SeedExperience::BookMeeting,
                };
            }
            None => {}
        }
        if lead.country.is_some_and(|c| c.as_str() == "US")
            && lead.employees.is_some_and(|r| r.min >= 201)
        {
            return BaselineDecision {
                rule: SeedRule::UsEnterprise,
                owner: Some(next(&self.enterprise_us, &ENTERPRISE_US)),
                pool: Some(SeedPool::EnterpriseUs),
                experience: SeedExperience::BookMeeting,
            };
        }
        if lead
            .product_interest
            .iter()
            .any(|t| matches!(t.as_str(), "plg" | "self-serve" | "free trial"))
        {
            return BaselineDecision {
                rule: SeedRule::ProductLed,
                owner: Some(next(&self.product_led, &PRODUCT_LED)),
                pool: Some(SeedPool::ProductLed),
                experience: SeedExperience::Confirmation,
            };
        }
        BaselineDecision {
            rule: SeedRule::Fallback,
            owner: Some(next(&self.inbound, &INBOUND)),
            pool: Some(SeedPool::Inbound),
            experience: SeedExperience::Confirmation,
        }
    }
}
