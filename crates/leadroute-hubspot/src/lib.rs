//! A HubSpot CRM adapter for [leadroute](https://docs.rs/leadroute): a
//! [`leadroute::Crm`] over the HubSpot CRM REST API.
//!
//! ```
//! use leadroute_hubspot::{HubSpot, HubSpotConfig, StaticToken};
//! use leadroute_examples::mock::{Expect, MockServer, Reply};
//! use leadroute::Crm;
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A loopback stand-in for https://api.hubapi.com (the default base URL).
//! let server = MockServer::start().await?;
//! server.script(
//!     Expect::new("GET", "/crm/v3/objects/contacts/jane@acme.com"),
//!     Reply::json(200, json!({"id": "37765128953", "properties": {"hubspot_owner_id": "9001"}})),
//! );
//! let policy = leadroute_examples::seed_policy()?; // owner `ana` has crm_ids.hubspot = "9001"
//! let config = HubSpotConfig::new(server.base_url());
//! let hubspot = HubSpot::new(config, StaticToken::new("pat-na1-…"), &policy)?;
//! let person = hubspot.find_person("jane@acme.com").await?.unwrap();
//! assert_eq!((person.id.as_str(), person.owner.as_deref()), ("37765128953", Some("ana")));
//! assert_eq!(server.requests()[0].header("authorization"), Some("Bearer pat-na1-…"));
//! # Ok(()) }
//! ```
//!
//! Give the adapter to a [`leadroute::LeadRouter`] as its CRM. The HTTP
//! client is reqwest, whose futures must run on a Tokio runtime.
//!
//! **Authentication.** The adapter asks a [`TokenProvider`] for the token
//! it sends as `Authorization: Bearer` on every request: a private-app token
//! is a [`StaticToken`]; an OAuth app implements the trait. When HubSpot
//! answers `401`, the adapter calls [`TokenProvider::refresh`] with the
//! rejected token and, if the provider returns a fresh one, sends the
//! request once more.
//!
//! The private app needs the scopes `crm.objects.companies.read`,
//! `crm.objects.contacts.read`, `crm.objects.contacts.write` and (for
//! [`HubSpot::find_owner_by_email`]) `crm.objects.owners.read`.
//!
//! What the adapter does (shapes and their sources in the repository's
//! `docs/crm-api-shapes.md`):
//!
//! - **Account**: `POST …/objects/companies/search` with two OR'ed filter
//!   groups, `domain EQ d` and `hs_additional_domains CONTAINS_TOKEN d`,
//!   requesting `name, domain, hs_additional_domains, hubspot_owner_id,
//!   lifecyclestage` explicitly (search returns no owner otherwise), with
//!   `"sorts": []`, `"after": "0"` and `"limit": 10` (the published schema
//!   requires `sorts` and `after`). Because
//!   `CONTAINS_TOKEN` is token-based, every result is re-checked on the
//!   client: `domain`, or one entry of `hs_additional_domains` split on `;`,
//!   must equal the lead's domain (trimmed, lower-case, `www.` ignored).
//!   Primary-domain matches win. `lifecyclestage = customer` marks a
//!   customer.
//! - **Person**: `GET …/objects/contacts/{email}?idProperty=email` (`@` sent
//!   as `%40`); `404` means no contact.
//! - **Write**: `POST …/objects/contacts` (`201`) with the properties below
//!   and `associations`: an association of type `279` (contact → company,
//!   unlabeled) when an account matched, else `[]` (the field is required);
//!   or, for an existing contact,
//!   `PATCH …/objects/contacts/{id}` (`200`) then the v4 default association
//!   `PUT /crm/v4/objects/contact/{id}/associations/default/company/{companyId}`.
//!   `hubspot_owner_id` is the owner's HubSpot **owner id** (not `userId`),
//!   from `crm_ids["hubspot"]` of the decision's owner in the policy; owner
//!   ids read back from HubSpot are mapped to policy owner ids the same way.
//!   Properties written: `email`, `firstname`, `lastname`, `company`,
//!   `phone`, `country` (ISO code), `state` (subdivision code), `zip` (each
//!   only when the form had it), `hubspot_owner_id`, and the routing fields
//!   `leadroute_lead_id`, `leadroute_owner` (policy owner id),
//!   `leadroute_rule` (rule id or `fallback`), `leadroute_experience`
//!   (`book_meeting`, `confirmation`, …) and `leadroute_policy_version`
//!   (`name@version`). Create those five as single-line text contact
//!   properties in HubSpot first, or turn them off with
//!   [`HubSpotConfig::routing_fields`].
//! - **Errors**: `409` "Contact already exists. Existing ID: N" →
//!   `Conflict { existing_id: Some("N") }` (the router retries as an update;
//!   without an id the adapter looks the contact up by email); `429` →
//!   `RateLimited`, waiting `Retry-After` if sent, else by `policyName`:
//!   10 s for `TEN_SECONDLY_ROLLING`, 1 s for `SECONDLY`, 1 h for `DAILY`
//!   (it resets at midnight in the portal's time zone); `423` → `RateLimited`
//!   (2 s); `477` Migration in Progress → `RateLimited` for as long as
//!   `Retry-After` says (else `Transient`); `5xx` → `Transient`, or
//!   `RateLimited` when a `Retry-After` says when to come back; `401` (after
//!   the token provider had its chance) and `403` → `Permanent`; other `4xx`
//!   → `Permanent`. `Retry-After` is read in both forms, seconds and
//!   HTTP-date.
//! - **Unknown outcomes**: a write whose result cannot be read — a `2xx`
//!   with an unreadable body, a timeout or a connection lost after the
//!   request was sent — is `UnknownOutcome` (retryable). The retry is
//!   idempotent because HubSpot contact emails are unique: the same create
//!   gets `409` with the id of the contact the first attempt made, and the
//!   router turns it into an update of that contact.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use leadroute::crm::{
    Account, CandidateQuery, Contact, CrmError, LeadWrite, PersonKind, WriteReceipt,
};
use leadroute::{Crm, Policy};
use leadroute_http::reqwest::{self, Method, RequestBuilder};
use leadroute_http::{Effect, HttpResponse, send_authorized};
use serde_json::{Map, Value, json};

pub use leadroute_http::{BuildError, StaticToken, TokenProvider};

use self::support::*;

/// The user agent the adapter sends.
pub const USER_AGENT: &str = concat!("leadroute-hubspot/", env!("CARGO_PKG_VERSION"));
/// The key of HubSpot ids in `OwnerSpec::crm_ids`.
pub const CRM_KEY: &str = "hubspot";
/// The default API host.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";
/// Contact → company, unlabeled (`HUBSPOT_DEFINED`).
pub const CONTACT_TO_COMPANY: u32 = 279;
/// Company properties requested by the account search.
pub const COMPANY_PROPERTIES: [&str; 5] = [
    "name",
    "domain",
    "hs_additional_domains",
    "hubspot_owner_id",
    "lifecyclestage",
];
/// Company properties requested by the candidate search
/// ([`Crm::find_candidates`]): what the account matcher reads.
pub const CANDIDATE_PROPERTIES: [&str; 9] = [
    "name",
    "domain",
    "hs_additional_domains",
    "hubspot_owner_id",
    "lifecyclestage",
    "country",
    "zip",
    "phone",
    "hs_parent_company_id",
];
/// The most candidates one search returns (HubSpot's page limit).
pub const MAX_CANDIDATES: usize = 200;
/// Contact properties requested by the person lookup.
pub const CONTACT_PROPERTIES: &str = "email,hubspot_owner_id,associatedcompanyid";

/// Where each API lives under the base URL: the one place that knows the
/// path prefixes, so moving from `/crm/v3/…` to the date-versioned
/// `/crm/objects/2026-03/…` paths (same bodies) is a configuration change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiPaths {
    /// CRM objects: `{objects}/companies/search`, `{objects}/contacts/…`.
    pub objects: String,
    /// Default associations: `{associations}/contact/{id}/associations/default/company/{id}`.
    pub associations: String,
    /// Owners: `{owners}?email=…`.
    pub owners: String,
}

impl ApiPaths {
    /// `/crm/v3/objects`, `/crm/v4/objects`, `/crm/v3/owners` (supported
    /// until September 2027).
    pub fn v3() -> Self {
        ApiPaths {
            objects: "/crm/v3/objects".to_owned(),
            associations: "/crm/v4/objects".to_owned(),
            owners: "/crm/v3/owners".to_owned(),
        }
    }

    /// The date-versioned paths, e.g. `dated("2026-03")`:
    /// `/crm/objects/2026-03` for objects (search, create) and default
    /// associations, with the same bodies, and `/crm/owners/2026-03` for
    /// owners (all checked against HubSpot's `2026-03` OpenAPI documents by
    /// the crate's contract tests, `idProperty` on the contact GET included).
    pub fn dated(version: &str) -> Self {
        ApiPaths {
            objects: format!("/crm/objects/{version}"),
            associations: format!("/crm/objects/{version}"),
            owners: format!("/crm/owners/{version}"),
        }
    }

    /// `v3` (or unset) → [`v3`](Self::v3); anything else is a date version.
    pub fn from_version(version: Option<&str>) -> Self {
        match version {
            None | Some("v3") => ApiPaths::v3(),
            Some(v) => ApiPaths::dated(v),
        }
    }
}

/// Adapter configuration: where the API is and what to write. The token
/// comes from a [`TokenProvider`] given to [`HubSpot::new`].
///
/// ```
/// use std::time::Duration;
/// use leadroute_hubspot::{ApiPaths, HubSpotConfig};
///
/// let config = HubSpotConfig::default() // https://api.hubapi.com, v3 paths
///     .paths(ApiPaths::dated("2026-03"))
///     .routing_fields(false)
///     .timeout(Duration::from_secs(5));
/// assert_eq!(config.paths.objects, "/crm/objects/2026-03");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubSpotConfig {
    /// API host, e.g. `https://api.hubapi.com` ([`DEFAULT_BASE_URL`]).
    pub base_url: String,
    /// Path prefixes.
    pub paths: ApiPaths,
    /// Whether to write the `leadroute_*` properties.
    pub routing_fields: bool,
    /// Whole-request timeout (default 10 s).
    pub timeout: Duration,
}

impl Default for HubSpotConfig {
    fn default() -> Self {
        HubSpotConfig::new(DEFAULT_BASE_URL)
    }
}

impl HubSpotConfig {
    /// A configuration for this API host with the v3 paths, routing fields
    /// on and a 10 s timeout.
    pub fn new(base_url: impl Into<String>) -> Self {
        HubSpotConfig {
            base_url: base_url.into(),
            paths: ApiPaths::v3(),
            routing_fields: true,
            timeout: Duration::from_secs(10),
        }
    }

    /// Sets the path prefixes.
    pub fn paths(mut self, paths: ApiPaths) -> Self {
        self.paths = paths;
        self
    }

    /// Turns the `leadroute_*` routing properties on or off.
    pub fn routing_fields(mut self, on: bool) -> Self {
        self.routing_fields = on;
        self
    }

    /// Sets the whole-request timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// The HubSpot adapter, generic over where its token comes from. Cheap to
/// clone.
#[derive(Debug)]
pub struct HubSpot<T = StaticToken> {
    http: reqwest::Client,
    config: Arc<HubSpotConfig>,
    base_url: Arc<str>,
    tokens: Arc<T>,
    /// HubSpot owner id → policy owner id.
    owners: Arc<HashMap<String, String>>,
}

impl<T> Clone for HubSpot<T> {
    fn clone(&self) -> Self {
        HubSpot {
            http: self.http.clone(),
            config: self.config.clone(),
            base_url: self.base_url.clone(),
            tokens: self.tokens.clone(),
            owners: self.owners.clone(),
        }
    }
}

/// A HubSpot owner (`GET /crm/v3/owners`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubSpotOwner {
    /// The owner id: the value for `hubspot_owner_id` and `crm_ids["hubspot"]`.
    pub id: String,
    /// Email.
    pub email: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The user id (never use it as `hubspot_owner_id`).
    pub user_id: Option<u64>,
}

impl<T: TokenProvider> HubSpot<T> {
    /// An adapter with this configuration and token provider, mapping
    /// owners through `policy`'s `crm_ids["hubspot"]`.
    pub fn new(config: HubSpotConfig, tokens: T, policy: &Policy) -> Result<Self, BuildError> {
        Ok(HubSpot {
            http: leadroute_http::client(config.timeout, USER_AGENT)?,
            base_url: leadroute_http::base_url(&config.base_url)?.into(),
            owners: Arc::new(leadroute_http::crm_owner_map(policy, CRM_KEY)),
            tokens: Arc::new(tokens),
            config: Arc::new(config),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HubSpotConfig {
        &self.config
    }

    /// The token provider.
    pub fn tokens(&self) -> &T {
        &self.tokens
    }

    /// Sends one request with the provider's token; on a `401`, once more
    /// with a refreshed token if the provider has one.
    async fn call(
        &self,
        method: Method,
        path: &str,
        effect: Effect,
        build: impl Fn(RequestBuilder) -> RequestBuilder + Send + Sync,
    ) -> Result<HttpResponse, CrmError> {
        let url = format!("{}{path}", self.base_url);
        send_authorized(
            &*self.tokens,
            || build(self.http.request(method.clone(), &url)),
            |_| true,
            effect,
        )
        .await
    }

    /// The policy owner id for a HubSpot owner id (`None` for an empty or
    /// unknown id).
    pub fn policy_owner(&self, hubspot_owner_id: Option<&str>) -> Option<String> {
        self.owners.get(hubspot_owner_id?.trim()).cloned()
    }

    /// Resolves a HubSpot owner by email (`GET {owners}?email=…`): use it to
    /// fill `crm_ids["hubspot"]` in a policy's owners directory. Returns the
    /// first owner whose email matches, case-insensitively.
    pub async fn find_owner_by_email(&self, email: &str) -> Result<Option<HubSpotOwner>, CrmError> {
        let email = email.trim().to_lowercase();
        let query = [
            ("email", email.as_str()),
            ("limit", "100"),
            ("archived", "false"),
        ];
        let response = self
            .call(Method::GET, &self.config.paths.owners, Effect::Read, |r| {
                r.query(&query)
            })
            .await?;
        if !response.is_success() {
            return Err(classify(&response, SystemTime::now()));
        }
        let body = response.json(Effect::Read)?;
        let owner = results(&body)?
            .iter()
            .filter(|o| text(o, "email").is_some_and(|e| e.eq_ignore_ascii_case(&email)))
            .find_map(|o| {
                Some(HubSpotOwner {
                    id: id_of(o)?,
                    email: text(o, "email"),
                    first_name: text(o, "firstName"),
                    last_name: text(o, "lastName"),
                    user_id: o.get("userId").and_then(Value::as_u64),
                })
            });
        Ok(owner)
    }

    async fn search_company(&self, domain: &str) -> Result<Option<Account>, CrmError> {
        let domain = normalize_domain(domain);
        let body = json!({
            "filterGroups": [
                { "filters": [ { "propertyName": "domain", "operator": "EQ", "value": domain } ] },
                { "filters": [ { "propertyName": "hs_additional_domains", "operator": "CONTAINS_TOKEN", "value": domain } ] }
            ],
            "properties": COMPANY_PROPERTIES,
            // `sorts` and `after` are required by the published
            // PublicObjectSearchRequest schema: no sort, the first page.
            "sorts": [],
            "after": "0",
            "limit": 10
        });
        let path = format!("{}/companies/search", self.config.paths.objects);
        let response = self
            .call(Method::POST, &path, Effect::Read, |r| r.json(&body))
            .await?;
        if !response.is_success() {
            return Err(classify(&response, SystemTime::now()));
        }
        let body = response.json(Effect::Read)?;
        let mut best: Option<(DomainMatch, &Value)> = None;
        for company in results(&body)? {
            let props = company.get("properties").unwrap_or(&Value::Null);
            let matched = company_matches(
                &domain,
                prop(props, "domain").as_deref(),
                prop(props, "hs_additional_domains").as_deref(),
            );
            if let Some(m) = matched {
                if best.as_ref().is_none_or(|(b, _)| m < *b) {
                    best = Some((m, company));
                }
            }
        }
        let Some((_, company)) = best else {
            return Ok(None);
        };
        let id = id_of(company)
            .ok_or_else(|| CrmError::permanent("HubSpot company search result without an id"))?;
        let props = company.get("properties").unwrap_or(&Value::Null);
        let mut account = Account::new(id, prop(props, "name").unwrap_or_default()).domain(domain);
        let crm_owner = prop(props, "hubspot_owner_id");
        account.owner = self.policy_owner(crm_owner.as_deref());
        let stage = prop(props, "lifecyclestage");
        account.is_customer = stage.as_deref() == Some("customer");
        if let Some(o) = crm_owner {
            account.fields.insert("hubspot_owner_id".into(), o.into());
        }
        if let Some(s) = stage {
            account.fields.insert("lifecyclestage".into(), s.into());
        }
        Ok(Some(account))
    }

    /// One company search for every account the lead may belong to: the
    /// filter groups of [`support::candidate_filter_groups`] (ORed), one
    /// page of at most `query.limit` (≤ [`MAX_CANDIDATES`]) results, each
    /// company once. The matcher decides; nothing is filtered here. When
    /// the page is full (more results than it holds), a second search for
    /// the strong matches alone ([`support::exact_filter_groups`]), whose
    /// companies come first.
    async fn search_candidates(&self, query: &CandidateQuery) -> Result<Vec<Account>, CrmError> {
        let groups = candidate_filter_groups(query);
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let limit = query.limit.clamp(1, MAX_CANDIDATES);
        let page = self.search_companies(groups, limit).await?;
        let mut out: Vec<Account> = Vec::new();
        if !page_is_complete(&page, limit)? {
            // A full page may have left the company on the lead's domain
            // out (see `exact_filter_groups`): ask for the strong matches
            // on their own, and put them first.
            let exact = exact_filter_groups(query);
            if !exact.is_empty() {
                let strong = self.search_companies(exact, limit).await?;
                for company in results(&strong)? {
                    self.push_candidate(&mut out, company)?;
                }
            }
        }
        for company in results(&page)? {
            self.push_candidate(&mut out, company)?;
        }
        out.truncate(limit);
        Ok(out)
    }

    /// One page of `POST …/companies/search` with these filter groups and
    /// the [`CANDIDATE_PROPERTIES`], as JSON.
    async fn search_companies(&self, groups: Vec<Value>, limit: usize) -> Result<Value, CrmError> {
        let body = json!({
            "filterGroups": groups,
            "properties": CANDIDATE_PROPERTIES,
            "sorts": [],
            "after": "0",
            "limit": limit
        });
        let path = format!("{}/companies/search", self.config.paths.objects);
        let response = self
            .call(Method::POST, &path, Effect::Read, |r| r.json(&body))
            .await?;
        if !response.is_success() {
            return Err(classify(&response, SystemTime::now()));
        }
        response.json(Effect::Read)
    }

    /// Reads one company of a candidate search into `out`, unless it is
    /// there already.
    fn push_candidate(&self, out: &mut Vec<Account>, company: &Value) -> Result<(), CrmError> {
        let Some(id) = id_of(company) else {
            return Err(CrmError::permanent(
                "HubSpot company search result without an id",
            ));
        };
        if out.iter().any(|a| a.id == id) {
            return Ok(());
        }
        let props = company.get("properties").unwrap_or(&Value::Null);
        let mut account = Account::new(id, prop(props, "name").unwrap_or_default());
        account.domain = prop(props, "domain");
        account.additional_domains = prop(props, "hs_additional_domains")
            .map(|d| split_domains(&d))
            .unwrap_or_default();
        let crm_owner = prop(props, "hubspot_owner_id");
        account.owner = self.policy_owner(crm_owner.as_deref());
        let stage = prop(props, "lifecyclestage");
        account.is_customer = stage.as_deref() == Some("customer");
        account.country = prop(props, "country");
        account.postal_code = prop(props, "zip");
        account.phone = prop(props, "phone");
        account.parent_id = prop(props, "hs_parent_company_id");
        if let Some(o) = crm_owner {
            account.fields.insert("hubspot_owner_id".into(), o.into());
        }
        if let Some(s) = stage {
            account.fields.insert("lifecyclestage".into(), s.into());
        }
        out.push(account);
        Ok(())
    }

    async fn get_contact(&self, email: &str) -> Result<Option<Contact>, CrmError> {
        let email = email.trim().to_lowercase();
        let path = format!(
            "{}/contacts/{}",
            self.config.paths.objects,
            leadroute_http::path_segment(&email)
        );
        let query = [("idProperty", "email"), ("properties", CONTACT_PROPERTIES)];
        let response = self
            .call(Method::GET, &path, Effect::Read, |r| r.query(&query))
            .await?;
        if response.status == 404 {
            return Ok(None); // any 404 here means "no such contact"
        }
        if !response.is_success() {
            return Err(classify(&response, SystemTime::now()));
        }
        let body = response.json(Effect::Read)?;
        let id = id_of(&body)
            .ok_or_else(|| CrmError::permanent("HubSpot contact response without an id"))?;
        let props = body.get("properties").unwrap_or(&Value::Null);
        let mut contact = Contact::new(id).kind(PersonKind::Contact);
        contact.owner = self.policy_owner(prop(props, "hubspot_owner_id").as_deref());
        contact.account_id = prop(props, "associatedcompanyid");
        Ok(Some(contact))
    }

    async fn create_contact(
        &self,
        email: &str,
        properties: Map<String, Value>,
        company: Option<&str>,
    ) -> Result<WriteReceipt, CrmError> {
        let mut body = Map::new();
        body.insert("properties".into(), Value::Object(properties));
        // `associations` is required by SimplePublicObjectInputForCreate, even
        // when there is nothing to associate.
        let associations = match company {
            Some(company) => json!([{
                "to": { "id": company },
                "types": [ { "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": CONTACT_TO_COMPANY } ]
            }]),
            None => json!([]),
        };
        body.insert("associations".into(), associations);
        let path = format!("{}/contacts", self.config.paths.objects);
        let response = self
            .call(Method::POST, &path, Effect::Write, |r| r.json(&body))
            .await?;
        if response.is_success() {
            let body = response.json(Effect::Write)?;
            let id = id_of(&body).ok_or_else(|| {
                CrmError::unknown_outcome("HubSpot answered the create with a 2xx but no id")
            })?;
            return Ok(WriteReceipt::new(id, true));
        }
        match classify(&response, SystemTime::now()) {
            // A 409 without a parsable id: find the existing contact by email.
            // A failed lookup is that failure (a 429 or 5xx: retryable; the
            // retry meets the 409 again and looks again), not a conflict
            // with no id, which the router could not resolve.
            CrmError::Conflict {
                message,
                existing_id: None,
            } => {
                let existing = self.get_contact(email).await?.map(|c| c.id);
                Err(CrmError::conflict(message, existing))
            }
            other => Err(other),
        }
    }

    async fn update_contact(
        &self,
        id: &str,
        properties: Map<String, Value>,
        company: Option<&str>,
    ) -> Result<WriteReceipt, CrmError> {
        let id = numeric_id(id, "contact")?;
        let path = format!("{}/contacts/{id}", self.config.paths.objects);
        let body = json!({ "properties": properties });
        let response = self
            .call(Method::PATCH, &path, Effect::Write, |r| r.json(&body))
            .await?;
        if !response.is_success() {
            return Err(classify(&response, SystemTime::now()));
        }
        if let Some(company) = company {
            // Both calls are idempotent: on a failure here the router's retry
            // repeats the PATCH and the PUT.
            let company = numeric_id(company, "company")?;
            let path = format!(
                "{}/contact/{id}/associations/default/company/{company}",
                self.config.paths.associations
            );
            let response = self.call(Method::PUT, &path, Effect::Write, |r| r).await?;
            if !response.is_success() {
                return Err(classify(&response, SystemTime::now()));
            }
        }
        Ok(WriteReceipt::new(id, false))
    }
}

impl<T: TokenProvider> Crm for HubSpot<T> {
    async fn find_account(&self, domain: &str) -> Result<Option<Account>, CrmError> {
        self.search_company(domain).await
    }

    async fn find_candidates(&self, query: &CandidateQuery) -> Result<Vec<Account>, CrmError> {
        self.search_candidates(query).await
    }

    async fn find_person(&self, email: &str) -> Result<Option<Contact>, CrmError> {
        self.get_contact(email).await
    }

    async fn upsert_lead(&self, write: &LeadWrite<'_>) -> Result<WriteReceipt, CrmError> {
        let properties = contact_properties(write, self.config.routing_fields);
        let company = write.account.map(|a| a.id.clone());
        let existing = write.existing.map(str::to_owned);
        let email = write.lead.email.clone();
        match existing {
            Some(id) => {
                self.update_contact(&id, properties, company.as_deref())
                    .await
            }
            None => {
                self.create_contact(&email, properties, company.as_deref())
                    .await
            }
        }
    }
}

/// Pure helpers: property mapping, domain matching, error classification.
pub mod support {
    use std::time::Duration;

    use leadroute::crm::{CandidateQuery, CrmError, LeadWrite};
    use serde_json::{Map, Value};

    use super::CRM_KEY;
    use leadroute_http::{self as http, HttpResponse};
    use std::time::SystemTime;

    /// The most filter groups (ORed) one HubSpot search takes.
    pub const MAX_FILTER_GROUPS: usize = 5;

    /// How a company matched the lead's domain; smaller is better.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    #[non_exhaustive]
    pub enum DomainMatch {
        /// The company's `domain`.
        Primary,
        /// One entry of `hs_additional_domains`.
        Additional,
    }

    /// The filter groups (ORed; HubSpot allows five) of the candidate
    /// search, in this order, each only when the query has what it needs:
    ///
    /// 1. `domain EQ` the lead's company domain;
    /// 2. `hs_additional_domains CONTAINS_TOKEN` it;
    /// 3. `domain EQ` the business email's host, when it differs (`uk.acme.com`);
    /// 4. `domain CONTAINS_TOKEN` the brand followed by a wildcard (`acme.*`:
    ///    `acme.co.uk`, `acme.de`), for the matcher's cross-TLD signal, in
    ///    the spelling of the lead's domain
    ///    ([`CandidateQuery::brand_spellings`], first);
    /// 5. `name CONTAINS_TOKEN` the name's longest identifying word (at least
    ///    three letters), for name matches (free-mail leads);
    /// 6. the same brand search for the brand's other spellings (`acmecorp.*`
    ///    beside `acme-corp.*`, `blue-bottle.*` beside `bluebottle.*`: the
    ///    matcher reads them as one brand), at most two more.
    ///
    /// HubSpot takes at most [`MAX_FILTER_GROUPS`] groups (five, since its
    /// August 2024 change:
    /// <https://developers.hubspot.com/changelog/breaking-change-expanded-filtering-capabilities-and-error-messaging-in-hubspots-search-api>),
    /// so groups past the fifth are left out, from the end: a lead whose
    /// email host differs from its company domain *and* whose brand has
    /// two spellings is searched by one spelling (and its name).
    ///
    ///
    /// **How `CONTAINS_TOKEN` reads a domain.** HubSpot documents the
    /// operator as matching a *token* of the property's value, with `*` as
    /// the wildcard that completes a partial search; its own example finds
    /// the contacts of a company by `email CONTAINS_TOKEN "*@hubspot.com"`
    /// (<https://developers.hubspot.com/docs/api/crm/search>, "Make a search
    /// request"), and HubSpot's CLI documents the operator as whole-word,
    /// not substring (`hubspot/agent-cli-skills`, `audience-targeting`:
    /// "CONTAINS_TOKEN — whole-word, NOT substring"). That an email needs
    /// the wildcard before `@hubspot.com` says an address is one token, not
    /// split at `@` or `.`; a `domain` value (`acme.co.uk`) is read the same
    /// way here, so the brand search sends `acme.*` — a bare `acme` would
    /// only find a company whose domain is split into words, which HubSpot
    /// does not document. The tokenizer itself is not published: the
    /// additional-domains search keeps the whole domain as its token (an
    /// entry of the `;`-separated list), and every result is checked on
    /// this side (the matcher rejects what does not fit), so a broader
    /// answer than intended costs candidates, never a wrong match. Names
    /// are searched by their longest identifying word, a whole word.
    ///
    /// ```
    /// use leadroute::{Normalizer, crm::CandidateQuery};
    /// use leadroute_hubspot::support::candidate_filter_groups;
    ///
    /// let lead = Normalizer::default()
    ///     .normalize_json(r#"{"email": "jane@gmail.com", "company": "Blue Bottle Coffee, Inc."}"#)
    ///     .unwrap()
    ///     .lead;
    /// let groups = candidate_filter_groups(&CandidateQuery::for_lead(&lead, 50));
    /// assert_eq!(groups, [serde_json::json!({"filters": [
    ///     {"propertyName": "name", "operator": "CONTAINS_TOKEN", "value": "coffee"}
    /// ]})]);
    /// ```
    pub fn candidate_filter_groups(query: &CandidateQuery) -> Vec<Value> {
        let filter = |property: &str, operator: &str, value: &str| {
            serde_json::json!({"filters": [
                {"propertyName": property, "operator": operator, "value": value}
            ]})
        };
        let mut groups = Vec::new();
        let domain = query.domain.as_deref().map(normalize_domain);
        if let Some(d) = &domain {
            groups.push(filter("domain", "EQ", d));
            groups.push(filter("hs_additional_domains", "CONTAINS_TOKEN", d));
        }
        if let Some(e) = query.email_domain.as_deref().map(normalize_domain) {
            if domain.as_deref() != Some(e.as_str()) {
                groups.push(filter("domain", "EQ", &e));
            }
        }
        let brand =
            |b: &&str| b.len() >= 2 && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
        let mut spellings: Vec<&str> = query
            .brand_spellings
            .iter()
            .map(String::as_str)
            .filter(brand)
            .collect();
        if query.brand_spellings.is_empty() {
            // A query built by hand with only the brand.
            spellings.extend(query.brand.as_deref().filter(brand));
        }
        let mut spellings = spellings.into_iter();
        if let Some(b) = spellings.next() {
            groups.push(filter("domain", "CONTAINS_TOKEN", &format!("{b}.*")));
        }
        let word = query
            .name_words
            .iter()
            .filter(|w| w.len() >= 3)
            .max_by_key(|w| w.len());
        if let Some(w) = word {
            groups.push(filter("name", "CONTAINS_TOKEN", w));
        }
        // The brand's other spellings (`acmecorp.*` beside `acme-corp.*`) in
        // the groups left.
        for b in spellings {
            groups.push(filter("domain", "CONTAINS_TOKEN", &format!("{b}.*")));
        }
        groups.truncate(MAX_FILTER_GROUPS);
        groups
    }

    /// The strong half of the candidate search: `domain EQ` the lead's
    /// company domain, `hs_additional_domains CONTAINS_TOKEN` it,
    /// `domain EQ` the business email's host when it differs, and `name
    /// EQ` the company name as typed. Empty when the query has none of
    /// them, or when [`candidate_filter_groups`] has nothing broader (its
    /// page then holds the strong matches already).
    ///
    /// Sent only when the candidate search's page is full: its results
    /// are in no documented order, so companies that only share a word of
    /// the name (`name CONTAINS_TOKEN global`) or the brand can fill the
    /// page and leave the company on the lead's own domain, which decides
    /// the owner, out. The companies it finds come first.
    ///
    /// ```
    /// use leadroute::{Normalizer, crm::CandidateQuery};
    /// use leadroute_hubspot::support::exact_filter_groups;
    ///
    /// let lead = Normalizer::default()
    ///     .normalize_json(r#"{"email": "jo@acme.com", "company": "Acme Inc"}"#)
    ///     .unwrap()
    ///     .lead;
    /// let filter = |p: &str, o: &str, v: &str| serde_json::json!({"filters": [
    ///     {"propertyName": p, "operator": o, "value": v}
    /// ]});
    /// assert_eq!(
    ///     exact_filter_groups(&CandidateQuery::for_lead(&lead, 50)),
    ///     [
    ///         filter("domain", "EQ", "acme.com"),
    ///         filter("hs_additional_domains", "CONTAINS_TOKEN", "acme.com"),
    ///         filter("name", "EQ", "Acme Inc"),
    ///     ]
    /// );
    /// ```
    pub fn exact_filter_groups(query: &CandidateQuery) -> Vec<Value> {
        let mut groups: Vec<Value> = candidate_filter_groups(query)
            .into_iter()
            .filter(|g| {
                let first = g.pointer("/filters/0");
                let field = |k: &str| first.and_then(|f| f.get(k)).and_then(Value::as_str);
                matches!(
                    (field("propertyName"), field("operator")),
                    (Some("domain"), Some("EQ")) | (Some("hs_additional_domains"), _)
                )
            })
            .collect();
        let broader = candidate_filter_groups(query).len() > groups.len();
        if let Some(n) = query
            .company_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            groups.push(serde_json::json!({"filters": [
                {"propertyName": "name", "operator": "EQ", "value": n}
            ]}));
        }
        if !broader {
            groups.clear();
        }
        groups.truncate(MAX_FILTER_GROUPS);
        groups
    }

    /// Whether a search page holds every result: `total` says so when the
    /// response has it; otherwise a `paging.next` cursor, or as many
    /// results as the `limit`, means there may be more.
    pub fn page_is_complete(page: &Value, limit: usize) -> Result<bool, CrmError> {
        let n = results(page)?.len();
        let more = page.pointer("/paging/next").is_some_and(|v| !v.is_null());
        Ok(match page.get("total").and_then(Value::as_u64) {
            Some(total) => usize::try_from(total).is_ok_and(|t| t <= n) && !more,
            None => n < limit && !more,
        })
    }

    /// `hs_additional_domains` (`"acme.io; acme.co.uk"`) as a list.
    pub fn split_domains(list: &str) -> Vec<String> {
        list.split(';')
            .map(normalize_domain)
            .filter(|d| !d.is_empty())
            .collect()
    }

    /// Lower-case, trimmed, without a trailing dot or a leading `www.`.
    pub fn normalize_domain(d: &str) -> String {
        let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
        match d.strip_prefix("www.") {
            Some(rest) => rest.to_owned(),
            None => d,
        }
    }

    /// Whether a company with this `domain` and `hs_additional_domains`
    /// (a `;`-separated list) has exactly `domain` (already normalized).
    pub fn company_matches(
        domain: &str,
        primary: Option<&str>,
        additional: Option<&str>,
    ) -> Option<DomainMatch> {
        if primary.is_some_and(|p| normalize_domain(p) == domain) {
            return Some(DomainMatch::Primary);
        }
        additional
            .unwrap_or_default()
            .split(';')
            .any(|d| normalize_domain(d) == domain)
            .then_some(DomainMatch::Additional)
    }

    /// The contact properties for a write. Every value is a string (HubSpot
    /// property values always are).
    pub fn contact_properties(write: &LeadWrite<'_>, routing_fields: bool) -> Map<String, Value> {
        let lead = write.lead;
        let decision = write.decision;
        let mut p = Map::new();
        let mut put = |key: &str, value: Option<String>| {
            if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
                p.insert(key.to_owned(), Value::String(v));
            }
        };
        put("email", Some(lead.email.clone()));
        put("firstname", lead.first_name.clone());
        put("lastname", lead.last_name.clone());
        put("company", lead.company_name.clone());
        put("phone", lead.phone.clone());
        put("country", lead.country.map(|c| c.to_string()));
        put(
            "state",
            lead.region
                .as_deref()
                .and_then(|r| r.split_once('-'))
                .map(|(_, s)| s.to_owned()),
        );
        put("zip", lead.postal_code.clone());
        put(
            "hubspot_owner_id",
            write.owner.and_then(|o| o.crm_ids.get(CRM_KEY)).cloned(),
        );
        if routing_fields {
            put("leadroute_lead_id", Some(write.lead_id.to_owned()));
            put("leadroute_owner", decision.owner_id().map(str::to_owned));
            put("leadroute_rule", Some(http::rule_label(decision)));
            put(
                "leadroute_experience",
                Some(decision.experience.name().to_owned()),
            );
            put(
                "leadroute_policy_version",
                Some(http::policy_label(decision)),
            );
        }
        p
    }

    /// A record id that is all digits (HubSpot ids are), so it can go into
    /// a path as is.
    pub fn numeric_id<'a>(id: &'a str, what: &str) -> Result<&'a str, CrmError> {
        let id = id.trim();
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            Ok(id)
        } else {
            Err(CrmError::permanent(format!(
                "`{}` is not a HubSpot {what} id",
                http::truncate_chars(id, 40)
            )))
        }
    }

    /// `id` as a string (HubSpot sends strings; numbers are accepted).
    pub fn id_of(v: &Value) -> Option<String> {
        match v.get("id")? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A top-level string field.
    pub fn text(v: &Value, key: &str) -> Option<String> {
        v.get(key).and_then(Value::as_str).map(str::to_owned)
    }

    /// A property value; `null` and `""` (a cleared value) are both `None`.
    pub fn prop(props: &Value, key: &str) -> Option<String> {
        props
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// The `results` array of a collection response.
    pub fn results(body: &Value) -> Result<&Vec<Value>, CrmError> {
        body.get("results")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                CrmError::permanent(format!(
                    "unexpected HubSpot response (no `results`): {}",
                    http::truncate_chars(&body.to_string(), 300)
                ))
            })
    }

    /// The id in "Contact already exists. Existing ID: 37765128953".
    pub fn existing_id(message: &str) -> Option<String> {
        let at = message.find("Existing ID:")? + "Existing ID:".len();
        let digits: String = message
            .get(at..)?
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (!digits.is_empty()).then_some(digits)
    }

    /// How long to wait after a 429 without `Retry-After`, by `policyName`.
    pub fn rate_limit_wait(policy_name: Option<&str>, message: &str) -> Duration {
        match policy_name.map(str::to_ascii_uppercase).as_deref() {
            Some("DAILY") => Duration::from_secs(60 * 60),
            Some("SECONDLY") => Duration::from_secs(1),
            Some("TEN_SECONDLY_ROLLING") => Duration::from_secs(10),
            _ if message.contains("secondly limit") => Duration::from_secs(1),
            _ => Duration::from_secs(10),
        }
    }

    /// Classifies a non-2xx HubSpot response. Every error field is
    /// optional: the body may even not be JSON.
    pub fn classify(response: &HttpResponse, now: SystemTime) -> CrmError {
        let body: Value = serde_json::from_str(&response.body).unwrap_or(Value::Null);
        let message = text(&body, "message").unwrap_or_else(|| response.snippet());
        let category = text(&body, "category").or_else(|| text(&body, "errorType"));
        let policy = text(&body, "policyName");
        let mut described = format!("HubSpot HTTP {}", response.status);
        for part in [category.as_deref(), policy.as_deref()]
            .into_iter()
            .flatten()
        {
            described.push(' ');
            described.push_str(part);
        }
        described.push_str(": ");
        described.push_str(&message);
        match response.status {
            409 => CrmError::conflict(described, existing_id(&message)),
            429 => {
                let wait = response
                    .retry_after(now)
                    .unwrap_or_else(|| rate_limit_wait(policy.as_deref(), &message));
                CrmError::rate_limited(described, Some(wait))
            }
            // Migration in Progress: the portal is moving between data
            // hosting locations; HubSpot says how long in Retry-After.
            477 => match response.retry_after(now) {
                Some(wait) => CrmError::rate_limited(described, Some(wait)),
                None => CrmError::transient(described),
            },
            // Locked (a concurrent write to the record); locks last ~2 s.
            423 => CrmError::rate_limited(
                described,
                Some(response.retry_after(now).unwrap_or(Duration::from_secs(2))),
            ),
            _ => http::fallback_error(response, described, now),
        }
    }
}
