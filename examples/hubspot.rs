//! A HubSpot CRM adapter for leadroute: a real [`leadroute::Crm`] over the
//! HubSpot CRM REST API with a private-app token.
//!
//! ```text
//! cargo run --example hubspot
//! HUBSPOT_TOKEN=pat-na1-… cargo run --example hubspot < examples/leads.jsonl
//! ```
//!
//! - **Without `HUBSPOT_TOKEN`** the example starts a loopback mock HubSpot
//!   (scripted with realistic success and error bodies), points the adapter
//!   at it, routes a few leads through a [`leadroute::LeadRouter`] with the seed
//!   policy (new lead, existing account, existing contact → update, a `409`
//!   duplicate turned into an update, a `429` rate limit), prints every
//!   request the adapter sent and every decision, and exits.
//! - **With `HUBSPOT_TOKEN`** it talks to HubSpot and routes each JSON line
//!   of stdin (one form payload per line), printing one outcome line per
//!   lead. This **creates and updates contacts**: use a test portal.
//!
//! Environment:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HUBSPOT_TOKEN` | (mock mode) | private-app access token (`pat-…`), sent as `Authorization: Bearer` |
//! | `HUBSPOT_BASE_URL` | `https://api.hubapi.com` | API host |
//! | `HUBSPOT_API_VERSION` | `v3` | `v3` = `/crm/v3/…` + `/crm/v4/…`; a date such as `2026-03` = `/crm/objects/2026-03/…` (see [`ApiPaths`]) |
//! | `LEADROUTE_ROUTING_FIELDS` | on | `off` to skip the `leadroute_*` properties |
//!
//! The private app needs the scopes `crm.objects.companies.read`,
//! `crm.objects.contacts.read`, `crm.objects.contacts.write` and (for
//! [`HubSpot::find_owner_by_email`]) `crm.objects.owners.read`.
//!
//! What the adapter does (shapes verified in `docs/crm-api-shapes.md`):
//!
//! - **Account**: `POST …/objects/companies/search` with two OR'ed filter
//!   groups, `domain EQ d` and `hs_additional_domains CONTAINS_TOKEN d`,
//!   requesting `name, domain, hs_additional_domains, hubspot_owner_id,
//!   lifecyclestage` explicitly (search returns no owner otherwise). Because
//!   `CONTAINS_TOKEN` is token-based, every result is re-checked on the
//!   client: `domain`, or one entry of `hs_additional_domains` split on `;`,
//!   must equal the lead's domain (trimmed, lower-case, `www.` ignored).
//!   Primary-domain matches win. `lifecyclestage = customer` marks a
//!   customer.
//! - **Person**: `GET …/objects/contacts/{email}?idProperty=email` (`@` sent
//!   as `%40`); `404` means no contact.
//! - **Write**: `POST …/objects/contacts` (`201`) with the properties below
//!   and, when an account matched, an association of type `279`
//!   (contact → company, unlabeled); or, for an existing contact,
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
//!   properties in HubSpot first, or set `LEADROUTE_ROUTING_FIELDS=off`.
//! - **Errors**: `409` "Contact already exists. Existing ID: N" →
//!   `Conflict { existing_id: Some("N") }` (the router retries as an update;
//!   without an id the adapter looks the contact up by email); `429` →
//!   `RateLimited`, waiting `Retry-After` if sent, else by `policyName`:
//!   10 s for `TEN_SECONDLY_ROLLING`, 1 s for `SECONDLY`, 1 h for `DAILY`
//!   (it resets at midnight in the portal's time zone); `423` → `RateLimited`
//!   (2 s); `401`/`403` → `Permanent`; `5xx` → `Transient`; other `4xx` →
//!   `Permanent`.

pub mod crm_http;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use leadroute::crm::{Account, Contact, CrmError, LeadWrite, PersonKind, WriteReceipt};
use leadroute::{Crm, Policy};
use serde_json::{Map, Value, json};

use self::hubspot_support::*;
use crm_http::mock::{Expect, MockServer, Reply};
use crm_http::{env_or, env_var, send};

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
/// Contact properties requested by the person lookup.
pub const CONTACT_PROPERTIES: &str = "email,hubspot_owner_id,associatedcompanyid";

/// Where each API lives under the base URL: the one place that knows the
/// path prefixes, so moving from `/crm/v3/…` to the date-versioned
/// `/crm/objects/2026-03/…` paths (same bodies) is a configuration change.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// associations, with the same bodies. UNVERIFIED: the owners path
    /// `/crm/owners/2026-03`, and `idProperty=email` on the dated
    /// single-contact GET.
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

/// Adapter configuration.
#[derive(Debug, Clone)]
pub struct HubSpotConfig {
    /// API host, e.g. `https://api.hubapi.com`.
    pub base_url: String,
    /// Private-app token.
    pub token: String,
    /// Path prefixes.
    pub paths: ApiPaths,
    /// Whether to write the `leadroute_*` properties.
    pub routing_fields: bool,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl HubSpotConfig {
    /// A configuration with the v3 paths, routing fields on and a 10 s timeout.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        HubSpotConfig {
            base_url: base_url.into(),
            token: token.into(),
            paths: ApiPaths::v3(),
            routing_fields: true,
            timeout: Duration::from_secs(10),
        }
    }

    /// From `HUBSPOT_TOKEN`, `HUBSPOT_BASE_URL`, `HUBSPOT_API_VERSION` and
    /// `LEADROUTE_ROUTING_FIELDS`; `None` without a token.
    pub fn from_env() -> Option<Self> {
        let mut config = HubSpotConfig::new(
            env_or("HUBSPOT_BASE_URL", DEFAULT_BASE_URL),
            env_var("HUBSPOT_TOKEN")?,
        );
        config.paths = ApiPaths::from_version(env_var("HUBSPOT_API_VERSION").as_deref());
        config.routing_fields = crm_http::routing_fields_enabled();
        Some(config)
    }
}

/// The HubSpot adapter. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HubSpot {
    http: reqwest::Client,
    config: Arc<HubSpotConfig>,
    /// HubSpot owner id → policy owner id.
    owners: Arc<HashMap<String, String>>,
}

/// A HubSpot owner (`GET /crm/v3/owners`).
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl HubSpot {
    /// An adapter mapping owners through `policy`'s `crm_ids["hubspot"]`.
    pub fn new(config: HubSpotConfig, policy: &Policy) -> Result<Self, CrmError> {
        Ok(HubSpot {
            http: crm_http::http_client(config.timeout)?,
            owners: Arc::new(crm_http::crm_owner_map(policy, CRM_KEY)),
            config: Arc::new(config),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HubSpotConfig {
        &self.config
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.config.token)
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
        let response = send(
            self.request(reqwest::Method::GET, &self.config.paths.owners)
                .query(&[
                    ("email", email.as_str()),
                    ("limit", "100"),
                    ("archived", "false"),
                ]),
        )
        .await?;
        if !response.is_success() {
            return Err(classify(&response));
        }
        let body = response.json()?;
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
            "limit": 10
        });
        let path = format!("{}/companies/search", self.config.paths.objects);
        let response = send(self.request(reqwest::Method::POST, &path).json(&body)).await?;
        if !response.is_success() {
            return Err(classify(&response));
        }
        let body = response.json()?;
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

    async fn get_contact(&self, email: &str) -> Result<Option<Contact>, CrmError> {
        let email = email.trim().to_lowercase();
        let path = format!(
            "{}/contacts/{}",
            self.config.paths.objects,
            crm_http::path_segment(&email)
        );
        let response = send(
            self.request(reqwest::Method::GET, &path)
                .query(&[("idProperty", "email"), ("properties", CONTACT_PROPERTIES)]),
        )
        .await?;
        if response.status == 404 {
            return Ok(None); // any 404 here means "no such contact"
        }
        if !response.is_success() {
            return Err(classify(&response));
        }
        let body = response.json()?;
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
        if let Some(company) = company {
            body.insert(
                "associations".into(),
                json!([{
                    "to": { "id": company },
                    "types": [ { "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": CONTACT_TO_COMPANY } ]
                }]),
            );
        }
        let path = format!("{}/contacts", self.config.paths.objects);
        let response = send(self.request(reqwest::Method::POST, &path).json(&body)).await?;
        if response.is_success() {
            let body = response.json()?;
            let id = id_of(&body)
                .ok_or_else(|| CrmError::permanent("HubSpot create response without an id"))?;
            return Ok(WriteReceipt::new(id, true));
        }
        match classify(&response) {
            // A 409 without a parsable id: find the existing contact by email.
            CrmError::Conflict {
                message,
                existing_id: None,
            } => {
                let existing = self.get_contact(email).await.ok().flatten().map(|c| c.id);
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
        let response = send(
            self.request(reqwest::Method::PATCH, &path)
                .json(&json!({ "properties": properties })),
        )
        .await?;
        if !response.is_success() {
            return Err(classify(&response));
        }
        if let Some(company) = company {
            // Both calls are idempotent: on a failure here the router's retry
            // repeats the PATCH and the PUT.
            let company = numeric_id(company, "company")?;
            let path = format!(
                "{}/contact/{id}/associations/default/company/{company}",
                self.config.paths.associations
            );
            let response = send(self.request(reqwest::Method::PUT, &path)).await?;
            if !response.is_success() {
                return Err(classify(&response));
            }
        }
        Ok(WriteReceipt::new(id, false))
    }
}

impl Crm for HubSpot {
    async fn find_account(&self, domain: &str) -> Result<Option<Account>, CrmError> {
        self.search_company(domain).await
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
pub mod hubspot_support {
    use std::time::Duration;

    use leadroute::crm::{CrmError, LeadWrite};
    use serde_json::{Map, Value};

    use super::CRM_KEY;
    use super::crm_http::{self, HttpResponse};

    /// How a company matched the lead's domain; smaller is better.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    pub enum DomainMatch {
        /// The company's `domain`.
        Primary,
        /// One entry of `hs_additional_domains`.
        Additional,
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
            put("leadroute_rule", Some(crm_http::rule_label(decision)));
            put(
                "leadroute_experience",
                Some(decision.experience.name().to_owned()),
            );
            put(
                "leadroute_policy_version",
                Some(crm_http::policy_label(decision)),
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
                crm_http::truncate_chars(id, 40)
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
                    crm_http::truncate_chars(&body.to_string(), 300)
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
    pub fn classify(response: &HttpResponse) -> CrmError {
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
                    .retry_after()
                    .unwrap_or_else(|| rate_limit_wait(policy.as_deref(), &message));
                CrmError::rate_limited(described, Some(wait))
            }
            // Locked (a concurrent write to the record); locks last ~2 s.
            423 => CrmError::rate_limited(
                described,
                Some(response.retry_after().unwrap_or(Duration::from_secs(2))),
            ),
            _ => crm_http::fallback_error(response, described),
        }
    }
}

/// The demo's mock HubSpot scripts.
pub mod demo {
    use super::*;

    /// Scripts `POST …/companies/search` → `results`.
    pub fn search(server: &MockServer, results: Value) {
        let total = results.as_array().map_or(0, Vec::len);
        server.script(
            Expect::new("POST", "/crm/v3/objects/companies/search"),
            Reply::json(200, json!({ "total": total, "results": results })),
        );
    }

    /// A company search result as HubSpot returns it (every property a
    /// string or `null`).
    pub fn company(
        id: &str,
        name: &str,
        domain: &str,
        extra: &str,
        owner: &str,
        stage: &str,
    ) -> Value {
        let opt = |s: &str| if s.is_empty() { Value::Null } else { json!(s) };
        json!({
            "id": id,
            "properties": {
                "createdate": "2024-01-10T10:36:45.123Z",
                "domain": domain,
                "hs_additional_domains": opt(extra),
                "hs_lastmodifieddate": "2024-01-15T14:22:10.456Z",
                "hs_object_id": id,
                "hubspot_owner_id": opt(owner),
                "lifecyclestage": opt(stage),
                "name": name
            },
            "createdAt": "2024-01-10T10:36:45.123Z",
            "updatedAt": "2024-01-15T14:22:10.456Z",
            "archived": false
        })
    }

    /// Scripts `GET …/contacts/{email}` → 404 (real body).
    pub fn no_contact(server: &MockServer, email: &str) {
        server.script(
            Expect::new("GET", &format!("/crm/v3/objects/contacts/{email}")),
            Reply::json(
                404,
                json!({
                    "status": "error",
                    "message": "Object not found.  objectId are usually numeric.",
                    "correlationId": "2dea5219-07f2-40ce-82ec-9c2e302317a4",
                    "context": { "id": [email] },
                    "category": "OBJECT_NOT_FOUND"
                }),
            ),
        );
    }

    /// Scripts `GET …/contacts/{email}` → 200 with this contact.
    pub fn contact(server: &MockServer, email: &str, id: &str, owner: &str, company: &str) {
        server.script(
            Expect::new("GET", &format!("/crm/v3/objects/contacts/{email}")),
            Reply::json(
                200,
                json!({
                    "id": id,
                    "properties": {
                        "associatedcompanyid": company,
                        "createdate": "2024-09-17T15:19:55.000Z",
                        "email": email,
                        "hs_object_id": id,
                        "hubspot_owner_id": owner,
                        "lastmodifieddate": "2024-09-18T08:00:00.000Z"
                    },
                    "createdAt": "2024-09-17T15:19:55.000Z",
                    "updatedAt": "2024-09-18T08:00:00.000Z",
                    "archived": false
                }),
            ),
        );
    }

    /// A `SimplePublicObject` body for a created or updated contact.
    pub fn object(id: &str, email: &str) -> Value {
        json!({
            "id": id,
            "properties": { "email": email, "hs_object_id": id },
            "createdAt": "2024-09-17T15:19:55.000Z",
            "updatedAt": "2024-09-17T15:19:55.000Z",
            "archived": false
        })
    }

    /// Scripts `POST …/contacts` → 201.
    pub fn created(server: &MockServer, id: &str, email: &str) {
        server.script(
            Expect::new("POST", "/crm/v3/objects/contacts"),
            Reply::json(201, object(id, email)),
        );
    }

    /// Scripts `PATCH …/contacts/{id}` → 200.
    pub fn updated(server: &MockServer, id: &str, email: &str) {
        server.script(
            Expect::new("PATCH", &format!("/crm/v3/objects/contacts/{id}")),
            Reply::json(200, object(id, email)),
        );
    }

    /// Scripts the v4 default association `PUT` → 200.
    pub fn associated(server: &MockServer, contact: &str, company: &str) {
        server.script(
            Expect::new(
                "PUT",
                &format!("/crm/v4/objects/contact/{contact}/associations/default/company/{company}"),
            ),
            Reply::json(
                200,
                json!({
                    "status": "COMPLETE",
                    "results": [{
                        "from": { "id": contact },
                        "to": { "id": company },
                        "associationSpec": { "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279 }
                    }],
                    "startedAt": "2024-09-17T15:19:56.000Z",
                    "completedAt": "2024-09-17T15:19:56.100Z"
                }),
            ),
        );
    }

    /// The real 409 body for a duplicate email.
    pub fn conflict_body(existing: &str) -> Value {
        json!({
            "status": "error",
            "message": format!("Contact already exists. Existing ID: {existing}"),
            "correlationId": "2dea5219-07f2-40ce-82ec-9c2e302317a4",
            "category": "CONFLICT"
        })
    }

    /// The real `TEN_SECONDLY_ROLLING` 429 body.
    pub fn rate_limit_body() -> Value {
        json!({
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "c93e06a4-7d61-4c3e-b63f-edf486fc6e90",
            "policyName": "TEN_SECONDLY_ROLLING",
            "groupName": "publicapi:hapikey-api-calls-ten-secondly:6748263"
        })
    }

    /// Runs the demo against a fresh mock: resolves an owner by email, then
    /// routes five leads. Returns each routed lead.
    pub async fn run() -> Result<Vec<leadroute::router::Routed>, String> {
        let server = MockServer::start()
            .await
            .map_err(|e| format!("cannot start the mock server: {e}"))?;
        let policy = crm_http::seed_policy()?;
        let config = HubSpotConfig::new(server.base_url(), "pat-na1-demo-token");
        let crm = HubSpot::new(config, &policy).map_err(|e| e.to_string())?;
        println!("mock HubSpot on {}", server.base_url());

        println!("\n== Resolve an owner id by email (for crm_ids[\"hubspot\"])");
        server.script(
            Expect::new("GET", "/crm/v3/owners"),
            Reply::json(
                200,
                json!({ "results": [{
                    "id": "9001", "email": "ana@example.com", "type": "PERSON",
                    "firstName": "Ana", "lastName": "Ruiz", "userId": 9586504,
                    "userIdIncludingInactive": 9586504,
                    "createdAt": "2019-12-25T13:01:35.228Z", "updatedAt": "2023-08-22T13:40:26.790Z",
                    "archived": false
                }] }),
            ),
        );
        let owner = crm
            .find_owner_by_email("ana@example.com")
            .await
            .map_err(|e| e.to_string())?;
        for r in server.take_requests() {
            crm_http::print_request(&r);
        }
        println!("   owner: {owner:?}");

        let router = crm_http::router(policy, crm);
        let mut routed = Vec::new();

        // 1. A new lead: no company, no contact → create.
        search(&server, json!([]));
        no_contact(&server, "jane@newco.com");
        created(&server, "37765128001", "jane@newco.com");
        routed.push(
            crm_http::demo_lead(
                &router,
                &server,
                "New lead (no account, no contact) → POST contact",
                r#"{"lead_id": "demo-1", "email": "jane@newco.com", "first_name": "Jane", "last_name": "Doe", "company": "NewCo", "country": "US", "state": "CA", "company_size": "1000+"}"#,
            )
            .await?,
        );

        // 2. An existing customer account (matched on an additional domain;
        //    a CONTAINS_TOKEN false positive is filtered out) → create with
        //    the association to the company.
        search(
            &server,
            json!([
                company(
                    "5790939451",
                    "Acme Australia",
                    "acme.com.au",
                    "",
                    "9004",
                    ""
                ),
                company(
                    "5790939450",
                    "Acme Corporation",
                    "acme.io",
                    "acme.io; ACME.com",
                    "9003",
                    "customer"
                ),
            ]),
        );
        no_contact(&server, "sam@acme.com");
        created(&server, "37765128002", "sam@acme.com");
        routed.push(
            crm_http::demo_lead(
                &router,
                &server,
                "Existing customer account → POST contact associated with the company (type 279)",
                r#"{"lead_id": "demo-2", "email": "sam@acme.com", "first_name": "Sam", "company": "Acme"}"#,
            )
            .await?,
        );

        // 3. An existing contact at a known account → PATCH + association PUT.
        search(
            &server,
            json!([company(
                "5790939460",
                "Initech",
                "initech.io",
                "",
                "9002",
                "opportunity"
            )]),
        );
        contact(
            &server,
            "lee@initech.io",
            "37765128953",
            "9002",
            "5790939460",
        );
        updated(&server, "37765128953", "lee@initech.io");
        associated(&server, "37765128953", "5790939460");
        routed.push(
            crm_http::demo_lead(
                &router,
                &server,
                "Existing contact → PATCH contact, PUT default association",
                r#"{"lead_id": "demo-3", "email": "lee@initech.io", "first_name": "Lee", "phone": "+1 415 555 0100", "country": "US"}"#,
            )
            .await?,
        );

        // 4. Created concurrently elsewhere: the lookup misses it, the
        //    create gets 409 and the router retries as an update.
        search(&server, json!([]));
        no_contact(&server, "max@globex.com");
        server.script(
            Expect::new("POST", "/crm/v3/objects/contacts"),
            Reply::json(409, conflict_body("37765128999")),
        );
        updated(&server, "37765128999", "max@globex.com");
        routed.push(
            crm_http::demo_lead(
                &router,
                &server,
                "409 duplicate → Conflict { existing_id } → PATCH that contact",
                r#"{"lead_id": "demo-4", "email": "max@globex.com", "product_interest": "free trial"}"#,
            )
            .await?,
        );

        // 5. Rate limited on the write: the decision stands, the write is
        //    queued for retry with the wait HubSpot's policy implies.
        search(&server, json!([]));
        no_contact(&server, "kim@umbrella.io");
        server.script(
            Expect::new("POST", "/crm/v3/objects/contacts"),
            Reply::json(429, rate_limit_body()),
        );
        routed.push(
            crm_http::demo_lead(
                &router,
                &server,
                "429 TEN_SECONDLY_ROLLING on the write → RateLimited (10 s), queued for retry",
                r#"{"lead_id": "demo-5", "email": "kim@umbrella.io", "country": "DE"}"#,
            )
            .await?,
        );
        Ok(routed)
    }
}

#[allow(dead_code)] // unused when the tests include this file as a module
#[tokio::main]
async fn main() -> Result<(), String> {
    match HubSpotConfig::from_env() {
        None => {
            println!("HUBSPOT_TOKEN is not set: running against a loopback mock HubSpot.");
            demo::run().await.map(|_| ())
        }
        Some(config) => {
            let policy = crm_http::seed_policy()?;
            eprintln!(
                "routing stdin leads into HubSpot at {} ({})",
                config.base_url, config.paths.objects
            );
            let crm = HubSpot::new(config, &policy).map_err(|e| e.to_string())?;
            crm_http::route_stdin(&crm_http::router(policy, crm)).await
        }
    }
}
