//! A Salesforce CRM adapter for [leadroute](https://docs.rs/leadroute): a
//! [`leadroute::Crm`] over the Salesforce REST API.
//!
//! ```
//! use leadroute_salesforce::{Salesforce, SalesforceConfig, StaticToken};
//! use leadroute_examples::mock::{Expect, MockServer, Reply};
//! use leadroute::Crm;
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A loopback stand-in for https://acme.my.salesforce.com.
//! let server = MockServer::start().await?;
//! server.script(
//!     Expect::new("GET", "/services/data/v66.0/query").query_contains("FROM Contact"),
//!     Reply::json(200, json!({"totalSize": 1, "done": true, "records": [
//!         {"attributes": {"type": "Contact"}, "Id": "0035e00000LeeAAAA1", "OwnerId": "0055e000001BobAAA"}
//!     ]})),
//! );
//! let policy = leadroute_examples::seed_policy()?; // owner `bob` has crm_ids.salesforce = "0055e000001BobAAA"
//! let config = SalesforceConfig::new(server.base_url());
//! let salesforce = Salesforce::new(config, StaticToken::new("00D…!AQ4…"), &policy)?;
//! let person = salesforce.find_person("lee@initech.io").await?.unwrap();
//! assert_eq!((person.id.as_str(), person.owner.as_deref()), ("0035e00000LeeAAAA1", Some("bob")));
//! # Ok(()) }
//! ```
//!
//! Give the adapter to a [`leadroute::LeadRouter`] as its CRM. The HTTP
//! client is reqwest, whose futures must run on a Tokio runtime.
//!
//! **Authentication.** The adapter asks a [`TokenProvider`] for the access
//! token it sends as `Authorization: Bearer`: a [`StaticToken`] for a token
//! obtained elsewhere, or [`OAuthRefresh`], which holds an OAuth refresh
//! token and, when Salesforce answers `401 INVALID_SESSION_ID` (the access
//! token expired or was revoked), gets a new access token from the org's
//! token endpoint and sends the request once more.
//!
//!
//! What the adapter does (shapes and the documentation page of each in the
//! repository's `docs/crm-api-shapes.md`):
//!
//! - **SOQL safety**: every value put into a query goes through one
//!   function, [`support::soql_escape`], exactly per Salesforce's table of
//!   quoted-string escape sequences: `\` `'` `"` and the newline, carriage
//!   return, tab, bell (`\b`) and form-feed characters are backslash-escaped,
//!   other control characters (backspace among them) are dropped, and inside `LIKE` patterns `%`
//!   and `_` are escaped too; the value is then quoted, and the whole query
//!   URL-encoded as the `q` parameter. A crafted email such as
//!   `x' OR Name != '` stays one string literal.
//! - **Account**: `SELECT Id, Name, Website, OwnerId, Type FROM Account
//!   WHERE Website LIKE '%acme.com%' …`; each returned `Website` is then
//!   re-checked on the client: its host (scheme optional, `www.` stripped,
//!   lower-case) must be the lead's registrable domain or a subdomain of it,
//!   so `notacme.com` and `acme.com.evil.io` are rejected. Exact hosts win
//!   over subdomains. A `Type` starting with `Customer` marks a customer.
//! - **Person**: a Contact by `Email` first, else a Lead by `Email` with
//!   `IsConverted = false` (emails lower-cased, `LIMIT 2`, oldest first).
//! - **Write**: a new Lead is an upsert on the lead id
//!   (`PATCH /sobjects/Lead/LeadRoute_Lead_Id__c/{lead_id}`, `201` created
//!   or `200` updated; see [`SalesforceConfig::lead_id_field`]), so a retry
//!   after a timeout or an unreadable answer makes one Lead, not two; or `PATCH
//!   /sobjects/Lead/{id}` / `PATCH /sobjects/Contact/{id}` (`204`) when the
//!   existing record found by the person lookup is a Lead (`00Q…`) or a
//!   Contact (`003…`). Every write sends
//!   `Sforce-Auto-Assign: FALSE` so the org's assignment rules cannot
//!   overwrite the `OwnerId` leadroute chose (`crm_ids["salesforce"]` of
//!   the decision's owner; a queue id `00G…` works too). Owner ids read back
//!   are mapped to policy owner ids the same way (18-character ids also
//!   match a 15-character `crm_ids` entry).
//! - **Required fields** (`LastName` and `Company` on Lead): when the form
//!   lacks them, a new Lead gets `LastName` = the email's local part (or
//!   `[not provided]` if that is empty) and `Company` = the matched
//!   account's name, else the company domain, else `[not provided]`. Updates
//!   never send these fallbacks, only values the form had.
//! - Other Lead fields, when the form had them: `FirstName`, `Email`,
//!   `Phone`, `Website` (`https://` + company domain), the country and
//!   state, `PostalCode`, `NumberOfEmployees` and
//!   `AnnualRevenue` (the lower bound of the range).
//! - **Country and state** ([`SalesforceConfig::address_fields`]): by
//!   default ([`AddressFields::Picklist`], for orgs with **State and
//!   Country/Territory Picklists**, on in new orgs) the ISO 3166-1 code
//!   goes into `CountryCode` (`US`) and the ISO 3166-2 subdivision suffix
//!   into `StateCode` (`CA` of `US-CA`); Salesforce sets `Country` and
//!   `State` to the picklist's integration values (by default the full
//!   names, `United States`, `California`). `StateCode` is sent only for
//!   the countries whose states the picklist has
//!   ([`SalesforceConfig::state_code_countries`], by default
//!   [`DEFAULT_STATE_CODE_COUNTRIES`]: AU, BR, CA, CN, IE, IN, IT, JP, MX,
//!   US); elsewhere the state is left out. [`AddressFields::Text`], for
//!   orgs without the picklists (where `CountryCode` does not exist), writes
//!   the same codes as text into `Country` and `State` (80 characters
//!   each), for every country. The wrong mode for the org fails the first
//!   Lead with a country (`INVALID_FIELD` or `FIELD_INTEGRITY_EXCEPTION`, a
//!   `Permanent` error whose message names the setting). When a
//!   submission is attached to a duplicate, a state is added only to a
//!   record without a country or with the submitted one.
//! - **Routing fields** (create
//!   them as Text fields on Lead and Contact, or turn them off with
//!   [`SalesforceConfig::routing_fields`]): `LeadRoute_Lead_Id__c` (on
//!   Lead, mark it **External ID** and **Unique**: creates upsert on it),
//!   `LeadRoute_Owner__c`, `LeadRoute_Rule__c`, `LeadRoute_Experience__c`,
//!   `LeadRoute_Policy_Version__c`.
//! - **Errors** (a JSON array of `{message, errorCode, fields}`):
//!   `DUPLICATES_DETECTED` is resolved by the adapter (see
//!   [Duplicates](#duplicates); matches read from `duplicateResut`, the REST
//!   spelling, or `duplicateResult`), never handed to the router as a
//!   conflict;
//!   `REQUEST_LIMIT_EXCEEDED` (a `403`) → `RateLimited`: for the daily
//!   allowance (`TotalRequests Limit exceeded.`) 1 h, for too many
//!   concurrent long requests (`ConcurrentRequests …`) 10 s, unless
//!   `Retry-After` says otherwise; `UNABLE_TO_LOCK_ROW` → `Transient`;
//!   `INVALID_SESSION_ID` (`401`) → the token provider is asked for a fresh
//!   token and the request is sent once more, else `Permanent`; `5xx` →
//!   `Transient`; other
//!   `4xx` → `Permanent`.
//!
//! ## Duplicates
//!
//! A duplicate rule can refuse the new Lead (`DUPLICATES_DETECTED`) when it
//! matches a record the person lookup did not find. What that means for
//! routing:
//!
//! - **The same person** — the rule matched a Lead or Contact whose `Email`
//!   is the submitted one (or blank; e.g. one created a moment ago): the
//!   submission is **attached** to it. The adapter reads the record
//!   (`GET /sobjects/{Lead|Contact}/{id}?fields=…`) and writes only what it
//!   lacks — blank fields (the email among them) get the submitted values —
//!   so its owner, names, company and routing fields stay as they are. The
//!   receipt names that record (`created: false`). With
//!   [`SalesforceConfig::reassign_duplicates`] the owner and routing fields
//!   (but not the lead id) are written too.
//! - **Another address, or an Account** — a fuzzy match on name and
//!   company, or a Lead-to-Account rule: the person is new, so the
//!   submission is saved as its own Lead, in full, with the decided owner,
//!   by the same upsert sent with `Sforce-Duplicate-Rule-Header:
//!   allowSave=true` (an alerting rule then reports the pair for a human to
//!   merge; an Account match says the company is known).
//! - **A blocking rule** that refuses even that: a `Permanent` error naming
//!   the matched records; the pending write keeps the whole submission and
//!   never points at someone else's record.
//!
//! A duplicate rule objecting to an *update* is retried once with
//! `allowSave=true`; a blocking one is `Permanent`. Every resolution is
//! idempotent: a retry of the same submission takes the same path.
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

mod oauth;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use leadroute::crm::{
    Account, CandidateQuery, Contact, CrmError, LeadWrite, PersonKind, WriteReceipt,
};
use leadroute::{Crm, Policy};
use leadroute_http::reqwest::{self, Method, RequestBuilder};
use leadroute_http::{Effect, HttpResponse, send_authorized};
use serde_json::{Map, Value};

pub use leadroute_http::{BuildError, StaticToken, TokenProvider};
pub use oauth::OAuthRefresh;

use self::support::*;

/// The user agent the adapter sends.
pub const USER_AGENT: &str = concat!("leadroute-salesforce/", env!("CARGO_PKG_VERSION"));
/// The key of Salesforce ids in `OwnerSpec::crm_ids`.
pub const CRM_KEY: &str = "salesforce";
/// The default REST API version (Spring '26).
pub const DEFAULT_API_VERSION: &str = "v66.0";
/// What required fields get when nothing better is known.
pub const NOT_PROVIDED: &str = "[not provided]";
/// The most candidate accounts one lookup returns.
pub const MAX_CANDIDATES: usize = 200;
/// The Lead field that holds the lead id and makes creates idempotent (an
/// External ID text field; see [`SalesforceConfig::lead_id_field`]).
pub const DEFAULT_LEAD_ID_FIELD: &str = "LeadRoute_Lead_Id__c";
/// The header that lets a save through a duplicate rule whose action is to
/// alert (`allowSave=true`); a blocking rule still refuses it.
pub const DUPLICATE_RULE_HEADER: &str = "Sforce-Duplicate-Rule-Header";
/// The Lead fields read from a duplicate match before attaching to it,
/// with [`AddressFields::Text`].
pub const LEAD_COMPARED_FIELDS: &str = "Email,OwnerId,FirstName,LastName,Phone,Company,Country,State,PostalCode,NumberOfEmployees,AnnualRevenue";
/// The Lead fields read from a duplicate match before attaching to it,
/// with [`AddressFields::Picklist`] (the codes it writes, not the text
/// fields).
pub const LEAD_COMPARED_FIELDS_PICKLIST: &str = "Email,OwnerId,FirstName,LastName,Phone,Company,CountryCode,StateCode,PostalCode,NumberOfEmployees,AnnualRevenue";
/// The countries whose states and provinces Salesforce's State and
/// Country/Territory Picklists include out of the box, so the ones a
/// `StateCode` is sent for by default (see
/// [`SalesforceConfig::state_code_countries`]): "They also include the
/// states and provinces of the United States, Canada, Australia, Brazil,
/// China, Japan, India, Ireland, Italy, and Mexico" (Salesforce Help,
/// *Configure State and Country/Territory Picklists*).
pub const DEFAULT_STATE_CODE_COUNTRIES: &[&str] =
    &["AU", "BR", "CA", "CN", "IE", "IN", "IT", "JP", "MX", "US"];
/// The Contact fields read from a duplicate match before attaching to it.
pub const CONTACT_COMPARED_FIELDS: &str = "Email,OwnerId,FirstName,LastName,Phone";
/// The header that keeps assignment rules from overriding `OwnerId`.
pub const AUTO_ASSIGN_HEADER: &str = "Sforce-Auto-Assign";

/// Which Lead fields hold the lead's country and state: the org either has
/// **State and Country/Territory Picklists** turned on or not, and the two
/// kinds of org take different fields (see
/// [`SalesforceConfig::address_fields`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AddressFields {
    /// For orgs **with** the picklists (the default): the ISO 3166-1
    /// alpha-2 code goes into `CountryCode` and the ISO 3166-2 subdivision
    /// suffix (`CA` of `US-CA`) into `StateCode`; Salesforce fills `Country`
    /// and `State` with the matching integration values itself. `StateCode`
    /// is sent only for the countries in
    /// [`SalesforceConfig::state_code_countries`]; for other countries the
    /// state is left out (the country is still written). In an org without
    /// the picklists these fields do not exist: every Lead with a country
    /// fails with `400 INVALID_FIELD` (a permanent error).
    #[default]
    Picklist,
    /// For orgs **without** the picklists (what the adapter always did
    /// before this setting): the
    /// same ISO codes as free text into `Country` (`US`, at most 80
    /// characters) and `State` (`CA`, at most 80), for every country. In an
    /// org with the picklists, `Country` must hold an integration value
    /// (by default the full name, `United States`), so `US` fails with
    /// `400 FIELD_INTEGRITY_EXCEPTION` (a permanent error).
    Text,
}

impl AddressFields {
    /// The (country, state) field names written in this mode.
    pub fn field_names(self) -> (&'static str, &'static str) {
        match self {
            AddressFields::Picklist => ("CountryCode", "StateCode"),
            AddressFields::Text => ("Country", "State"),
        }
    }
}

/// Adapter configuration: which org, which API version, what to write. The
/// token comes from a [`TokenProvider`] given to [`Salesforce::new`].
///
/// ```
/// use leadroute_salesforce::SalesforceConfig;
///
/// let config = SalesforceConfig::new("https://acme.my.salesforce.com")
///     .api_version("61.0")
///     .routing_fields(false);
/// assert_eq!(config.api_version, "v61.0");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SalesforceConfig {
    /// `instance_url` from the OAuth token response.
    pub instance_url: String,
    /// API version, `vNN.N` (default [`DEFAULT_API_VERSION`]).
    pub api_version: String,
    /// Whether to write the `LeadRoute_*__c` fields.
    pub routing_fields: bool,
    /// The Lead field that holds the lead id, as an **External ID** (and
    /// unique) text field: a new Lead is created by upserting on it
    /// (`PATCH /sobjects/Lead/{field}/{lead_id}`), so a retry of the same
    /// submission — after a timeout, say — updates the Lead the first
    /// attempt made instead of creating a second. Default
    /// [`DEFAULT_LEAD_ID_FIELD`]. `None` creates with a plain `POST`, which
    /// Salesforce does not deduplicate (Lead emails are not unique): a retry
    /// after an `unknown_outcome` can then make a duplicate.
    pub lead_id_field: Option<String>,
    /// Whether a submission attached to a duplicate person (see
    /// [Duplicates](crate#duplicates)) also gives that Lead or Contact the
    /// decided owner and the routing fields. Default `false`: the matched
    /// person keeps its owner.
    pub reassign_duplicates: bool,
    /// Which fields hold the country and state (default
    /// [`AddressFields::Picklist`]: `CountryCode` / `StateCode`).
    ///
    /// Why that default: new orgs come with State and Country/Territory
    /// Picklists turned on (as integrators report; Salesforce's own
    /// release note for the change is not cited here), Salesforce
    /// recommends them (they "protect data integrity by preventing typos,
    /// alternate spellings, and junk data—even in records updated through
    /// the API"), and an org that enabled them stays so; in such an org the
    /// ISO codes leadroute has are exactly the picklist codes, "When you
    /// update a code value on a record, that record's State/Province (text
    /// only) or Country (text only) column is populated with the
    /// corresponding integration value", whereas writing a code into the
    /// text `Country` fails unless an admin has changed the integration
    /// values to codes. Orgs created before the picklists became the
    /// default and never converted keep text fields: give them
    /// [`AddressFields::Text`]. A mismatch fails loudly on the first Lead
    /// with a country (`INVALID_FIELD` or `FIELD_INTEGRITY_EXCEPTION`, whose
    /// error message then names this setting). To find out which an org
    /// has: `GET /sobjects/Lead/describe` lists a `CountryCode` field only
    /// with the picklists on.
    pub address_fields: AddressFields,
    /// The countries (ISO alpha-2, upper case) whose leads get a
    /// `StateCode` with [`AddressFields::Picklist`] (default
    /// [`DEFAULT_STATE_CODE_COUNTRIES`], the countries whose states the
    /// picklists include out of the box). Salesforce refuses a `StateCode`
    /// its picklist does not list for the country (`FIELD_INTEGRITY_EXCEPTION`,
    /// the whole write fails), so for any other country the state is left
    /// out; add the countries whose states your admin configured, remove
    /// those whose states were deactivated. The code sent is the ISO
    /// 3166-2 suffix; where the org's state code for a region differs
    /// (custom codes, or an ISO code revised after the org's picklist was
    /// set up), Salesforce refuses it the same way.
    pub state_code_countries: Vec<String>,
    /// Whole-request timeout (default 10 s).
    pub timeout: Duration,
}

impl SalesforceConfig {
    /// A configuration for this org with the default API version, routing
    /// fields on and a 10 s timeout.
    pub fn new(instance_url: impl Into<String>) -> Self {
        SalesforceConfig {
            instance_url: instance_url.into(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            routing_fields: true,
            lead_id_field: Some(DEFAULT_LEAD_ID_FIELD.to_owned()),
            reassign_duplicates: false,
            address_fields: AddressFields::default(),
            state_code_countries: DEFAULT_STATE_CODE_COUNTRIES
                .iter()
                .map(|c| (*c).to_owned())
                .collect(),
            timeout: Duration::from_secs(10),
        }
    }

    /// Which fields hold the country and state: [`AddressFields::Picklist`]
    /// (`CountryCode` / `StateCode`, the default) for an org with State and
    /// Country/Territory Picklists, [`AddressFields::Text`] (`Country` /
    /// `State`) for one without (see
    /// [`address_fields`](Self#structfield.address_fields)).
    ///
    /// ```
    /// use leadroute_salesforce::{AddressFields, SalesforceConfig};
    ///
    /// let config = SalesforceConfig::new("https://acme.my.salesforce.com")
    ///     .address_fields(AddressFields::Text);
    /// assert_eq!(config.address_fields.field_names(), ("Country", "State"));
    /// ```
    pub fn address_fields(mut self, fields: AddressFields) -> Self {
        self.address_fields = fields;
        self
    }

    /// Sets the countries whose leads get a `StateCode` with
    /// [`AddressFields::Picklist`] (ISO alpha-2, any case; see
    /// [`state_code_countries`](Self#structfield.state_code_countries)).
    ///
    /// ```
    /// use leadroute_salesforce::{DEFAULT_STATE_CODE_COUNTRIES, SalesforceConfig};
    ///
    /// // The defaults plus Germany, whose Länder the admin added.
    /// let config = SalesforceConfig::new("https://acme.my.salesforce.com")
    ///     .state_code_countries(DEFAULT_STATE_CODE_COUNTRIES.iter().chain(&["de"]));
    /// assert!(config.state_code_countries.contains(&"DE".to_owned()));
    /// ```
    pub fn state_code_countries<I, S>(mut self, countries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.state_code_countries = countries
            .into_iter()
            .map(|c| c.as_ref().trim().to_ascii_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        self
    }

    /// Sets the lead-id external-id field (`None`: create with a plain
    /// `POST`, not idempotent; see [`lead_id_field`](Self#structfield.lead_id_field)).
    pub fn lead_id_field(mut self, field: Option<&str>) -> Self {
        self.lead_id_field = field.map(str::to_owned);
        self
    }

    /// Whether attaching to a duplicate person re-owns it (default `false`).
    pub fn reassign_duplicates(mut self, on: bool) -> Self {
        self.reassign_duplicates = on;
        self
    }

    /// Sets the API version (`66.0` and `v66.0` both work).
    pub fn api_version(mut self, version: &str) -> Self {
        let version = version.trim();
        self.api_version = if version.starts_with('v') {
            version.to_owned()
        } else {
            format!("v{version}")
        };
        self
    }

    /// Turns the `LeadRoute_*__c` routing fields on or off.
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

/// The Salesforce adapter, generic over where its token comes from. Cheap
/// to clone.
#[derive(Debug)]
pub struct Salesforce<T = StaticToken> {
    http: reqwest::Client,
    config: Arc<SalesforceConfig>,
    base_url: Arc<str>,
    tokens: Arc<T>,
    /// Salesforce user/queue id (18 and 15 characters) → policy owner id.
    owners: Arc<HashMap<String, String>>,
}

impl<T> Clone for Salesforce<T> {
    fn clone(&self) -> Self {
        Salesforce {
            http: self.http.clone(),
            config: self.config.clone(),
            base_url: self.base_url.clone(),
            tokens: self.tokens.clone(),
            owners: self.owners.clone(),
        }
    }
}

impl<T: TokenProvider> Salesforce<T> {
    /// An adapter with this configuration and token provider, mapping
    /// owners through `policy`'s `crm_ids["salesforce"]`.
    pub fn new(config: SalesforceConfig, tokens: T, policy: &Policy) -> Result<Self, BuildError> {
        let mut owners = HashMap::new();
        for (crm_id, owner) in leadroute_http::crm_owner_map(policy, CRM_KEY) {
            if let Some(short) = crm_id.get(..15).filter(|_| crm_id.len() == 18) {
                owners.insert(short.to_owned(), owner.clone());
            }
            owners.insert(crm_id, owner);
        }
        Ok(Salesforce {
            http: leadroute_http::client(config.timeout, USER_AGENT)?,
            base_url: leadroute_http::base_url(&config.instance_url)?.into(),
            owners: Arc::new(owners),
            tokens: Arc::new(tokens),
            config: Arc::new(config),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SalesforceConfig {
        &self.config
    }

    /// The token provider.
    pub fn tokens(&self) -> &T {
        &self.tokens
    }

    /// Sends one request to `{instance}/services/data/{version}{rest}` with
    /// the provider's token; on a `401 INVALID_SESSION_ID`, once more with a
    /// refreshed token if the provider has one.
    async fn call(
        &self,
        method: Method,
        rest: &str,
        effect: Effect,
        build: impl Fn(RequestBuilder) -> RequestBuilder + Send + Sync,
    ) -> Result<HttpResponse, CrmError> {
        let url = format!(
            "{}/services/data/{}{rest}",
            self.base_url, self.config.api_version
        );
        send_authorized(
            &*self.tokens,
            || build(self.http.request(method.clone(), &url)),
            session_expired,
            effect,
        )
        .await
    }

    /// The policy owner id for a Salesforce owner id.
    pub fn policy_owner(&self, owner_id: Option<&str>) -> Option<String> {
        let id = owner_id?.trim();
        self.owners
            .get(id)
            .or_else(|| self.owners.get(id.get(..15).filter(|_| id.len() == 18)?))
            .cloned()
    }

    /// Runs a SOQL query (`GET /query?q=…`) and returns the first batch of
    /// records (the queries here ask for far fewer than a batch).
    pub async fn query(&self, soql: &str) -> Result<Vec<Value>, CrmError> {
        let response = self
            .call(Method::GET, "/query", Effect::Read, |r| {
                r.query(&[("q", soql)])
            })
            .await?;
        if !response.is_success() {
            return Err(classify(&response, SystemTime::now()));
        }
        let body = response.json(Effect::Read)?;
        match body.get("records").and_then(Value::as_array) {
            Some(records) => Ok(records.clone()),
            None => Err(CrmError::permanent(format!(
                "unexpected Salesforce query response (no `records`): {}",
                response.snippet()
            ))),
        }
    }

    async fn search_account(&self, domain: &str) -> Result<Option<Account>, CrmError> {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let records = self.query(&account_query(&domain)).await?;
        let best = records
            .iter()
            .filter_map(|r| Some((website_matches(&text(r, "Website")?, &domain)?, r)))
            .min_by_key(|(m, _)| *m);
        let Some((_, record)) = best else {
            return Ok(None);
        };
        let id = text(record, "Id")
            .ok_or_else(|| CrmError::permanent("Salesforce Account record without an Id"))?;
        let mut account =
            Account::new(id, text(record, "Name").unwrap_or_default()).domain(domain.clone());
        let owner_id = text(record, "OwnerId");
        account.owner = self.policy_owner(owner_id.as_deref());
        let kind = text(record, "Type");
        account.is_customer = kind.as_deref().is_some_and(|t| t.starts_with("Customer"));
        for (key, value) in [
            ("OwnerId", owner_id),
            ("Type", kind),
            ("Website", text(record, "Website")),
        ] {
            if let Some(v) = value {
                account.fields.insert(key.to_owned(), Value::String(v));
            }
        }
        Ok(Some(account))
    }

    /// One SOQL query for every account the lead may belong to
    /// ([`support::candidate_query`]), each record mapped for the matcher;
    /// the matcher decides, nothing is filtered here. When its answer fills
    /// the limit, a second query for the strong matches alone
    /// ([`support::exact_candidate_query`]), whose accounts come first.
    async fn search_candidates(&self, query: &CandidateQuery) -> Result<Vec<Account>, CrmError> {
        let Some(soql) = candidate_query(query) else {
            return Ok(Vec::new());
        };
        let limit = query.limit.clamp(1, MAX_CANDIDATES);
        let records = self.query(&soql).await?;
        let mut out: Vec<Account> = Vec::new();
        if records.len() >= limit {
            // A full page may have left the account on the lead's domain
            // out (see `exact_candidate_query`): ask for the strong matches
            // on their own, and put them first.
            if let Some(exact) = exact_candidate_query(query) {
                for record in &self.query(&exact).await? {
                    self.push_candidate(&mut out, record)?;
                }
            }
        }
        for record in &records {
            self.push_candidate(&mut out, record)?;
        }
        out.truncate(limit);
        Ok(out)
    }

    /// Reads one `Account` record of a candidate lookup into `out`, unless
    /// it is there already.
    fn push_candidate(&self, out: &mut Vec<Account>, record: &Value) -> Result<(), CrmError> {
        let id = text(record, "Id")
            .ok_or_else(|| CrmError::permanent("Salesforce Account record without an Id"))?;
        if out.iter().any(|a| a.id == id) {
            return Ok(());
        }
        let mut account = Account::new(id, text(record, "Name").unwrap_or_default());
        account.domain = text(record, "Website");
        let owner_id = text(record, "OwnerId");
        account.owner = self.policy_owner(owner_id.as_deref());
        let kind = text(record, "Type");
        account.is_customer = kind.as_deref().is_some_and(|t| t.starts_with("Customer"));
        account.parent_id = text(record, "ParentId");
        account.country = text(record, "BillingCountry");
        account.postal_code = text(record, "BillingPostalCode");
        account.phone = text(record, "Phone");
        account.last_activity = text(record, "LastActivityDate")
            .as_deref()
            .and_then(date_to_unix);
        for (key, value) in [("OwnerId", owner_id), ("Type", kind)] {
            if let Some(v) = value {
                account.fields.insert(key.to_owned(), Value::String(v));
            }
        }
        out.push(account);
        Ok(())
    }

    async fn search_person(&self, email: &str) -> Result<Option<Contact>, CrmError> {
        let email = email.trim().to_lowercase();
        let (kind, records) = match self.query(&contact_query(&email)).await? {
            contacts if !contacts.is_empty() => (PersonKind::Contact, contacts),
            _ => (PersonKind::Lead, self.query(&lead_query(&email)).await?),
        };
        let Some(record) = records.first() else {
            return Ok(None);
        };
        let id = text(record, "Id")
            .ok_or_else(|| CrmError::permanent("Salesforce record without an Id"))?;
        let mut person = Contact::new(id).kind(kind);
        person.owner = self.policy_owner(text(record, "OwnerId").as_deref());
        person.account_id = text(record, "AccountId");
        Ok(Some(person))
    }

    /// Creates the Lead: an upsert on the lead-id external-id field
    /// (`PATCH /sobjects/Lead/{field}/{lead_id}`), so that a retry of the
    /// same submission updates the Lead the first attempt made; or, without
    /// a lead-id field, a plain `POST /sobjects/Lead/`. A duplicate rule's
    /// objection is resolved as [Duplicates](crate#duplicates) says.
    async fn create_lead(&self, write: &LeadWrite<'_>) -> Result<WriteReceipt, CrmError> {
        let mut fields = lead_fields(write, true, &self.config);
        if let Some(field) = self.config.lead_id_field.as_deref() {
            // The external id is in the path; the body holds the rest.
            fields.remove(field);
        }
        match self.create_once(write.lead_id, &fields, false).await? {
            Written::Done(receipt) => Ok(receipt),
            Written::Duplicate(matches) => self.on_duplicate(write, &fields, &matches).await,
        }
    }

    /// One create request; `allow_save` sends
    /// `Sforce-Duplicate-Rule-Header: allowSave=true`.
    async fn create_once(
        &self,
        lead_id: &str,
        fields: &Map<String, Value>,
        allow_save: bool,
    ) -> Result<Written, CrmError> {
        let (method, path) = match self.config.lead_id_field.as_deref() {
            Some(field) => {
                let path = format!(
                    "/sobjects/Lead/{}/{}",
                    leadroute_http::path_segment(field),
                    leadroute_http::path_segment(lead_id)
                );
                (Method::PATCH, path)
            }
            None => (Method::POST, "/sobjects/Lead/".to_owned()),
        };
        let response = self
            .call(method, &path, Effect::Write, |r| {
                with_allow_save(r.header(AUTO_ASSIGN_HEADER, "FALSE"), allow_save).json(fields)
            })
            .await?;
        if !response.is_success() {
            return duplicate_or_error(&response);
        }
        if response.status == 204 {
            // An upsert that updated, before API v46.0: no body, no id.
            return Err(CrmError::permanent(format!(
                "Salesforce answered the Lead upsert with 204 and no id: use API version 46.0 or later (configured: {})",
                self.config.api_version
            )));
        }
        let body = response.json(Effect::Write)?;
        if body.get("success").and_then(Value::as_bool) == Some(false) {
            return Err(CrmError::permanent(format!(
                "Salesforce create failed: {}",
                response.snippet()
            )));
        }
        let id = text(&body, "id").ok_or_else(|| {
            CrmError::unknown_outcome("Salesforce answered the create with a 2xx but no id")
        })?;
        // An upsert says whether it created (201, `created: true`) or found
        // the Lead by its lead id and updated it (200, `created: false`).
        let created = body
            .get("created")
            .and_then(Value::as_bool)
            .unwrap_or(response.status == 201);
        Ok(Written::Done(WriteReceipt::new(id, created)))
    }

    /// A duplicate rule objected to the new Lead (see
    /// [Duplicates](crate#duplicates)).
    async fn on_duplicate(
        &self,
        write: &LeadWrite<'_>,
        fields: &Map<String, Value>,
        matches: &[String],
    ) -> Result<WriteReceipt, CrmError> {
        let person = matches
            .iter()
            .find_map(|id| sobject_of(id).ok().map(|kind| (kind, id.as_str())));
        if let Some((kind, id)) = person {
            if let Some(record) = self.get_record(kind, id).await? {
                let same_person = text(&record, "Email")
                    .is_none_or(|email| email.eq_ignore_ascii_case(write.lead.email.trim()));
                if same_person {
                    return self.attach(write, kind, id, &record).await;
                }
            }
        }
        // Another person at another address, a matched Account, or a match
        // without a record: the submission is a Lead of its own. Save it
        // past an alerting rule (which then reports the pair for review).
        match self.create_once(write.lead_id, fields, true).await? {
            Written::Done(receipt) => Ok(receipt),
            Written::Duplicate(blocking) => Err(CrmError::permanent(format!(
                "a Salesforce duplicate rule blocks this Lead (it matches {}, at another address or \
                 another object) even with allowSave=true; the submission is kept for review",
                if blocking.is_empty() {
                    "an unnamed record".to_owned()
                } else {
                    blocking.join(", ")
                }
            ))),
        }
    }

    /// `GET /sobjects/{kind}/{id}?fields=…` with the fields an attach
    /// compares; `None` when the record is gone (404).
    async fn get_record(&self, kind: &str, id: &str) -> Result<Option<Value>, CrmError> {
        let fields = match (kind, self.config.address_fields) {
            ("Lead", AddressFields::Picklist) => LEAD_COMPARED_FIELDS_PICKLIST,
            ("Lead", _) => LEAD_COMPARED_FIELDS,
            _ => CONTACT_COMPARED_FIELDS,
        };
        let path = format!("/sobjects/{kind}/{}", leadroute_http::path_segment(id));
        let response = self
            .call(Method::GET, &path, Effect::Read, |r| {
                r.query(&[("fields", fields)])
            })
            .await?;
        if response.status == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(classify(&response, SystemTime::now()));
        }
        response.json(Effect::Read).map(Some)
    }

    /// Attaches the submission to the matched person: writes only what the
    /// record lacks (and, with
    /// [`reassign_duplicates`](SalesforceConfig::reassign_duplicates), the
    /// owner and routing fields), never overwriting its values.
    async fn attach(
        &self,
        write: &LeadWrite<'_>,
        kind: &str,
        id: &str,
        record: &Value,
    ) -> Result<WriteReceipt, CrmError> {
        let routing = self.config.routing_fields;
        let submitted = if kind == "Lead" {
            lead_fields(write, false, &self.config)
        } else {
            contact_fields(write, routing)
        };
        // Country and state are one address: a state is added only to a
        // record without a country or with the submitted one (a state of
        // another country is refused by the picklists, and nonsense as text).
        let (country_key, state_key) = self.config.address_fields.field_names();
        let same_country = match (
            text(record, country_key),
            submitted.get(country_key).and_then(Value::as_str),
        ) {
            (None, _) => true,
            (Some(theirs), Some(ours)) => theirs.eq_ignore_ascii_case(ours.trim()),
            (Some(_), None) => false,
        };
        let lead_id_field = self.config.lead_id_field.as_deref();
        let mut fields = Map::new();
        if is_blank(record.get("Email")) {
            fields.insert("Email".into(), Value::String(write.lead.email.clone()));
        }
        for (key, value) in submitted {
            let routing_field = key == "OwnerId" || key.starts_with("LeadRoute_");
            let keep = if routing_field {
                // Never the lead id: a retry of this submission must come
                // back here, not update the person by its lead id.
                self.config.reassign_duplicates
                    && Some(key.as_str()) != lead_id_field
                    && key != DEFAULT_LEAD_ID_FIELD
            } else if key == state_key {
                same_country && is_blank(record.get(&key))
            } else {
                is_blank(record.get(&key))
            };
            if keep {
                fields.insert(key, value);
            }
        }
        if fields.is_empty() {
            return Ok(WriteReceipt::new(id, false));
        }
        self.update(kind, id, fields).await
    }

    async fn update(
        &self,
        sobject: &str,
        id: &str,
        fields: Map<String, Value>,
    ) -> Result<WriteReceipt, CrmError> {
        let path = format!("/sobjects/{sobject}/{}", leadroute_http::path_segment(id));
        for allow_save in [false, true] {
            let response = self
                .call(Method::PATCH, &path, Effect::Write, |r| {
                    with_allow_save(r.header(AUTO_ASSIGN_HEADER, "FALSE"), allow_save).json(&fields)
                })
                .await?;
            if response.is_success() {
                return Ok(WriteReceipt::new(id, false));
            }
            // A duplicate rule objecting to an update of a known record:
            // save past an alerting rule once; a blocking rule stands.
            if let (Written::Duplicate(_), false) = (duplicate_or_error(&response)?, allow_save) {
                continue;
            }
            return Err(CrmError::permanent(format!(
                "a Salesforce duplicate rule blocks the update of {sobject} {id}: {}",
                response.snippet()
            )));
        }
        Err(CrmError::permanent(format!(
            "the update of {sobject} {id} did not complete"
        )))
    }
}

/// What a create request came to.
enum Written {
    /// Written.
    Done(WriteReceipt),
    /// A duplicate rule objected; the ids it matched, in order.
    Duplicate(Vec<String>),
}

/// A non-2xx write response: a duplicate rule's objection, or the error.
fn duplicate_or_error(response: &HttpResponse) -> Result<Written, CrmError> {
    match parse_errors(&response.body)
        .into_iter()
        .find(|e| e.code == "DUPLICATES_DETECTED")
    {
        Some(dup) => Ok(Written::Duplicate(dup.duplicates)),
        None => Err(classify(response, SystemTime::now())),
    }
}

/// Adds `Sforce-Duplicate-Rule-Header: allowSave=true` when asked.
fn with_allow_save(request: RequestBuilder, allow_save: bool) -> RequestBuilder {
    if allow_save {
        request.header(DUPLICATE_RULE_HEADER, "allowSave=true")
    } else {
        request
    }
}

/// `null`, absent, or an empty string.
fn is_blank(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(_) => false,
    }
}

impl<T: TokenProvider> Crm for Salesforce<T> {
    async fn find_account(&self, domain: &str) -> Result<Option<Account>, CrmError> {
        self.search_account(domain).await
    }

    async fn find_candidates(&self, query: &CandidateQuery) -> Result<Vec<Account>, CrmError> {
        self.search_candidates(query).await
    }

    async fn find_person(&self, email: &str) -> Result<Option<Contact>, CrmError> {
        self.search_person(email).await
    }

    async fn upsert_lead(&self, write: &LeadWrite<'_>) -> Result<WriteReceipt, CrmError> {
        let routing = self.config.routing_fields;
        match write.existing {
            None => self.create_lead(write).await,
            // An Account id (a duplicate rule's match, left in a pending
            // write by an older version): the person is new.
            Some(id) if id.starts_with("001") => self.create_lead(write).await,
            Some(id) => match sobject_of(id)? {
                "Lead" => {
                    let fields = lead_fields(write, false, &self.config);
                    self.update("Lead", id, fields).await
                }
                _ => {
                    let fields = contact_fields(write, routing);
                    self.update("Contact", id, fields).await
                }
            },
        }
    }
}

/// Pure helpers: SOQL, matching, field mapping, error classification.
pub mod support {
    use std::time::Duration;

    use leadroute::crm::{CandidateQuery, CrmError, LeadWrite};
    use serde_json::{Map, Value};

    use std::time::SystemTime;

    use super::{AddressFields, CRM_KEY, NOT_PROVIDED, SalesforceConfig};
    use leadroute_http::reqwest;
    use leadroute_http::{self as http, HttpResponse, clip_chars};

    /// Escapes a value for a SOQL string literal: the one function every
    /// value goes through, exactly per Salesforce's table of quoted-string
    /// escape sequences: `\` `'` `"` newline (`\n`), carriage return
    /// (`\r`), tab (`\t`), bell (U+0007, `\b`) and form feed (`\f`) get
    /// their backslash escapes, other control characters (backspace
    /// included: the table has no escape for it) are dropped, and with `like` the `LIKE` wildcards `%` and
    /// `_` are escaped as well. The caller adds the quotes (see
    /// [`soql_string`], [`soql_contains`]).
    pub fn soql_escape(value: &str, like: bool) -> String {
        let mut out = String::with_capacity(value.len() + 8);
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\'' => out.push_str("\\'"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                // `\b` is *bell* in Salesforce's table; backspace (U+0008)
                // has no escape and is dropped below.
                '\u{7}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '%' if like => out.push_str("\\%"),
                '_' if like => out.push_str("\\_"),
                c if c.is_control() => {}
                c => out.push(c),
            }
        }
        out
    }

    /// `'value'`, escaped.
    pub fn soql_string(value: &str) -> String {
        format!("'{}'", soql_escape(value, false))
    }

    /// `'%value%'` for `LIKE`, escaped (wildcards in the value are literal).
    pub fn soql_contains(value: &str) -> String {
        format!("'%{}%'", soql_escape(value, true))
    }

    /// The account lookup for a (lower-case) registrable domain.
    pub fn account_query(domain: &str) -> String {
        format!(
            "SELECT Id, Name, Website, OwnerId, Type FROM Account WHERE Website LIKE {} \
             ORDER BY CreatedDate ASC LIMIT 50",
            soql_contains(domain)
        )
    }

    /// The candidate lookup ([`Crm::find_candidates`](leadroute::Crm::find_candidates)):
    /// accounts whose `Website` contains the lead's company domain or the
    /// brand followed by a dot (`acme.` finds `acme.co.uk` and `acme.de`:
    /// the matcher's cross-TLD signal) in each of its spellings
    /// ([`CandidateQuery::brand_spellings`]: `acme-corp.` and `acmecorp.`),
    /// or whose `Name` is the company name
    /// as typed or contains its longest identifying word (at least three
    /// letters). Every value goes through [`soql_escape`]. Oldest first, at
    /// most `query.limit` (≤ [`MAX_CANDIDATES`](super::MAX_CANDIDATES)).
    /// `None` when the query has nothing to search on.
    ///
    /// ```
    /// use leadroute::{Normalizer, crm::CandidateQuery};
    /// use leadroute_salesforce::support::candidate_query;
    ///
    /// let lead = Normalizer::default()
    ///     .normalize_json(r#"{"email": "jo@acme.co.uk", "company": "O'Brien & Acme Ltd"}"#)
    ///     .unwrap()
    ///     .lead;
    /// assert_eq!(
    ///     candidate_query(&CandidateQuery::for_lead(&lead, 20)).unwrap(),
    ///     "SELECT Id, Name, Website, OwnerId, Type, ParentId, BillingCountry, BillingPostalCode, \
    ///      Phone, LastActivityDate FROM Account WHERE Website LIKE '%acme.co.uk%' OR Website LIKE \
    ///      '%acme.%' OR Name = 'O\\'Brien & Acme Ltd' OR Name LIKE '%obrien%' ORDER BY CreatedDate \
    ///      ASC LIMIT 20"
    /// );
    /// ```
    pub fn candidate_query(query: &CandidateQuery) -> Option<String> {
        account_select(
            query,
            candidate_conditions(query).into_iter().map(|(_, c)| c),
        )
    }

    /// The strong half of [`candidate_query`]: accounts whose `Website`
    /// contains the company domain, or whose `Name` is the company name as
    /// typed. `None` when the query has neither, or nothing else (then
    /// [`candidate_query`] asks the same).
    ///
    /// The candidate lookup sends it only when [`candidate_query`]'s answer
    /// fills its `LIMIT`: the answer is oldest first, so accounts that only
    /// share a common word of the name (`Name LIKE '%global%'`) or the
    /// brand can fill the page and push the account on the lead's own
    /// domain, which decides the owner, past it. The accounts it finds come
    /// first, the others fill the rest.
    ///
    /// ```
    /// use leadroute::{Normalizer, crm::CandidateQuery};
    /// use leadroute_salesforce::support::exact_candidate_query;
    ///
    /// let lead = Normalizer::default()
    ///     .normalize_json(r#"{"email": "jo@acme.co.uk", "company": "Acme Ltd"}"#)
    ///     .unwrap()
    ///     .lead;
    /// assert_eq!(
    ///     exact_candidate_query(&CandidateQuery::for_lead(&lead, 20)).unwrap(),
    ///     "SELECT Id, Name, Website, OwnerId, Type, ParentId, BillingCountry, BillingPostalCode, \
    ///      Phone, LastActivityDate FROM Account WHERE Website LIKE '%acme.co.uk%' OR Name = \
    ///      'Acme Ltd' ORDER BY CreatedDate ASC LIMIT 20"
    /// );
    /// ```
    pub fn exact_candidate_query(query: &CandidateQuery) -> Option<String> {
        let conditions = candidate_conditions(query);
        if conditions.iter().all(|(strong, _)| *strong) {
            return None;
        }
        account_select(
            query,
            conditions
                .into_iter()
                .filter_map(|(strong, c)| strong.then_some(c)),
        )
    }

    /// The conditions of the candidate lookup, in the order they are
    /// sent, each marked strong (the company domain, the name as typed)
    /// or broad (the brand, a word of the name).
    fn candidate_conditions(query: &CandidateQuery) -> Vec<(bool, String)> {
        let mut any = Vec::new();
        if let Some(d) = &query.domain {
            let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            any.push((true, format!("Website LIKE {}", soql_contains(&d))));
        }
        let mut spellings: Vec<&str> = query.brand_spellings.iter().map(String::as_str).collect();
        if spellings.is_empty() {
            // A query built by hand with only the brand.
            spellings.extend(query.brand.as_deref());
        }
        for b in spellings
            .into_iter()
            .filter(|b| b.len() >= 2)
            .take(leadroute::crm::MAX_BRAND_SPELLINGS)
        {
            any.push((
                false,
                format!("Website LIKE {}", soql_contains(&format!("{b}."))),
            ));
        }
        if let Some(n) = query
            .company_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            any.push((true, format!("Name = {}", soql_string(n))));
        }
        let word = query
            .name_words
            .iter()
            .filter(|w| w.len() >= 3)
            .max_by_key(|w| w.len());
        if let Some(w) = word {
            any.push((false, format!("Name LIKE {}", soql_contains(w))));
        }
        any
    }

    /// The account `SELECT` of the candidate lookups: the conditions ORed,
    /// oldest first, at most `query.limit` (≤ [`MAX_CANDIDATES`](super::MAX_CANDIDATES)).
    fn account_select(
        query: &CandidateQuery,
        conditions: impl Iterator<Item = String>,
    ) -> Option<String> {
        let conditions: Vec<String> = conditions.collect();
        if conditions.is_empty() {
            return None;
        }
        Some(format!(
            "SELECT Id, Name, Website, OwnerId, Type, ParentId, BillingCountry, BillingPostalCode, \
             Phone, LastActivityDate FROM Account WHERE {} ORDER BY CreatedDate ASC LIMIT {}",
            conditions.join(" OR "),
            query.limit.clamp(1, super::MAX_CANDIDATES)
        ))
    }

    /// A Salesforce date (`2024-01-15`) as Unix seconds at midnight UTC.
    pub fn date_to_unix(date: &str) -> Option<i64> {
        let mut parts = date.trim().get(..10)?.split('-');
        let y: i64 = parts.next()?.parse().ok()?;
        let m: i64 = parts.next()?.parse().ok()?;
        let d: i64 = parts.next()?.parse().ok()?;
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return None;
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some((era * 146_097 + doe - 719_468) * 86_400)
    }

    /// The contact lookup for a (lower-case) email.
    pub fn contact_query(email: &str) -> String {
        format!(
            "SELECT Id, OwnerId, AccountId FROM Contact WHERE Email = {} \
             ORDER BY CreatedDate ASC LIMIT 2",
            soql_string(email)
        )
    }

    /// The unconverted-lead lookup for a (lower-case) email.
    pub fn lead_query(email: &str) -> String {
        format!(
            "SELECT Id, OwnerId FROM Lead WHERE Email = {} AND IsConverted = false \
             ORDER BY CreatedDate ASC LIMIT 2",
            soql_string(email)
        )
    }

    /// How an account's website matched; smaller is better.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    #[non_exhaustive]
    pub enum WebsiteMatch {
        /// The host is the domain (after stripping `www.`).
        Exact,
        /// The host is a subdomain of the domain.
        Subdomain,
    }

    /// Whether `website` (free text such as `https://www.acme.com/about` or
    /// `acme.com`) is on `domain` (lower-case) or a subdomain of it.
    pub fn website_matches(website: &str, domain: &str) -> Option<WebsiteMatch> {
        let website = website.trim();
        if website.is_empty() || domain.is_empty() {
            return None;
        }
        let url = if website.contains("://") {
            reqwest::Url::parse(website)
        } else {
            reqwest::Url::parse(&format!("http://{website}"))
        }
        .ok()?;
        let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
        let host = host.strip_prefix("www.").unwrap_or(&host);
        if host == domain {
            Some(WebsiteMatch::Exact)
        } else if host.ends_with(&format!(".{domain}")) {
            Some(WebsiteMatch::Subdomain)
        } else {
            None
        }
    }

    /// The sObject type of a record id, by its key prefix: `00Q` Lead,
    /// `003` Contact. Ids must be 15 or 18 alphanumeric characters.
    pub fn sobject_of(id: &str) -> Result<&'static str, CrmError> {
        let well_formed =
            matches!(id.len(), 15 | 18) && id.bytes().all(|b| b.is_ascii_alphanumeric());
        match id.get(..3) {
            Some("00Q") if well_formed => Ok("Lead"),
            Some("003") if well_formed => Ok("Contact"),
            _ => Err(CrmError::permanent(format!(
                "`{}` is not a Salesforce Lead (00Q…) or Contact (003…) id",
                http::truncate_chars(id, 40)
            ))),
        }
    }

    /// A string field.
    pub fn text(v: &Value, key: &str) -> Option<String> {
        v.get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    fn put(fields: &mut Map<String, Value>, key: &str, value: Option<String>, max: usize) {
        if let Some(v) = value.filter(|v| !v.trim().is_empty()) {
            fields.insert(key.to_owned(), Value::String(clip_chars(&v, max)));
        }
    }

    fn common_fields(fields: &mut Map<String, Value>, write: &LeadWrite<'_>, routing: bool) {
        let lead = write.lead;
        put(fields, "FirstName", lead.first_name.clone(), 40);
        put(fields, "Phone", lead.phone.clone(), 40);
        put(
            fields,
            "OwnerId",
            write.owner.and_then(|o| o.crm_ids.get(CRM_KEY)).cloned(),
            18,
        );
        if routing {
            let d = write.decision;
            put(
                fields,
                "LeadRoute_Lead_Id__c",
                Some(write.lead_id.to_owned()),
                255,
            );
            put(
                fields,
                "LeadRoute_Owner__c",
                d.owner_id().map(str::to_owned),
                255,
            );
            put(fields, "LeadRoute_Rule__c", Some(http::rule_label(d)), 255);
            put(
                fields,
                "LeadRoute_Experience__c",
                Some(d.experience.name().to_owned()),
                255,
            );
            put(
                fields,
                "LeadRoute_Policy_Version__c",
                Some(http::policy_label(d)),
                255,
            );
        }
    }

    /// The Lead fields for a create (`create`: with `Email` and the
    /// `LastName`/`Company` fallbacks) or an update (only what the form
    /// had), with the routing fields if `config` writes them and the
    /// country and state in the fields of its
    /// [`address_fields`](SalesforceConfig::address_fields).
    pub fn lead_fields(
        write: &LeadWrite<'_>,
        create: bool,
        config: &SalesforceConfig,
    ) -> Map<String, Value> {
        let lead = write.lead;
        let mut f = Map::new();
        common_fields(&mut f, write, config.routing_fields);
        if create {
            let local = lead.email.split('@').next().unwrap_or_default();
            put(&mut f, "Email", Some(lead.email.clone()), 80);
            let last = lead
                .last_name
                .clone()
                .filter(|s| !s.trim().is_empty())
                .or_else(|| (!local.trim().is_empty()).then(|| local.to_owned()))
                .unwrap_or_else(|| NOT_PROVIDED.to_owned());
            put(&mut f, "LastName", Some(last), 80);
            let company = lead
                .company_name
                .clone()
                .filter(|s| !s.trim().is_empty())
                .or_else(|| {
                    write
                        .account
                        .map(|a| a.name.clone())
                        .filter(|n| !n.is_empty())
                })
                .or_else(|| lead.company_domain.clone())
                .unwrap_or_else(|| NOT_PROVIDED.to_owned());
            put(&mut f, "Company", Some(company), 255);
            put(
                &mut f,
                "Website",
                lead.company_domain.as_ref().map(|d| format!("https://{d}")),
                255,
            );
        } else {
            put(&mut f, "LastName", lead.last_name.clone(), 80);
            put(&mut f, "Company", lead.company_name.clone(), 255);
        }
        let country = lead.country.map(|c| c.to_string());
        let state = lead
            .region
            .as_deref()
            .and_then(|r| r.split_once('-'))
            .map(|(_, s)| s.to_owned());
        match config.address_fields {
            AddressFields::Text => {
                // Free text; the Lead's `Country` and `State` are 80 characters.
                put(&mut f, "Country", country, 80);
                put(&mut f, "State", state, 80);
            }
            AddressFields::Picklist => {
                // Picklist codes (ISO: two letters, a state up to three),
                // never clipped: a clipped code is another code. A state
                // only where the org's picklist has states for the country.
                let has_states = country.as_deref().is_some_and(|c| {
                    config
                        .state_code_countries
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(c))
                });
                put(&mut f, "CountryCode", country, usize::MAX);
                put(
                    &mut f,
                    "StateCode",
                    state.filter(|_| has_states),
                    usize::MAX,
                );
            }
        }
        put(&mut f, "PostalCode", lead.postal_code.clone(), 20);
        if let Some(n) = lead
            .employees
            .and_then(|r| i32::try_from(r.min).ok())
            .filter(|n| *n > 0)
        {
            f.insert("NumberOfEmployees".into(), Value::from(n));
        }
        if let Some(r) = lead.annual_revenue.filter(|r| r.min > 0) {
            f.insert("AnnualRevenue".into(), Value::from(r.min));
        }
        f
    }

    /// The Contact fields for an update: owner, names and phone the form
    /// had, routing fields.
    pub fn contact_fields(write: &LeadWrite<'_>, routing: bool) -> Map<String, Value> {
        let mut f = Map::new();
        common_fields(&mut f, write, routing);
        put(&mut f, "LastName", write.lead.last_name.clone(), 80);
        f
    }

    /// One entry of a Salesforce error array.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    #[non_exhaustive]
    pub struct SfError {
        /// `errorCode`.
        pub code: String,
        /// `message`.
        pub message: String,
        /// `fields`, when sent.
        pub fields: Vec<String>,
        /// Record ids matched by a duplicate rule, in order.
        pub duplicates: Vec<String>,
    }

    /// Parses an error body: normally an array of `{message, errorCode,
    /// fields?}`; a single object (or an OAuth `{error,
    /// error_description}`) is accepted. Every field is optional.
    pub fn parse_errors(body: &str) -> Vec<SfError> {
        let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let items = match value {
            Value::Array(items) => items,
            Value::Object(_) => vec![value],
            _ => Vec::new(),
        };
        items
            .iter()
            .map(|e| {
                let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
                let dup = e.get("duplicateResut").or_else(|| e.get("duplicateResult"));
                SfError {
                    code: [s("errorCode"), s("error")]
                        .into_iter()
                        .find(|c| !c.is_empty())
                        .unwrap_or_default()
                        .to_owned(),
                    message: [s("message"), s("error_description")]
                        .into_iter()
                        .find(|c| !c.is_empty())
                        .unwrap_or_default()
                        .to_owned(),
                    fields: e
                        .get("fields")
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .map(str::to_owned)
                                .collect()
                        })
                        .unwrap_or_default(),
                    duplicates: dup.map(duplicate_ids).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// `matchResults[*].matchRecords[*].record.Id`.
    fn duplicate_ids(dup: &Value) -> Vec<String> {
        let list = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        list(dup, "matchResults")
            .iter()
            .flat_map(|m| list(m, "matchRecords"))
            .filter_map(|r| r.get("record")?.get("Id")?.as_str().map(str::to_owned))
            .collect()
    }

    /// Whether a `401` says the session (the access token) expired or is
    /// invalid (`INVALID_SESSION_ID`), so a fresh token may help.
    pub fn session_expired(response: &HttpResponse) -> bool {
        response.status == 401
            && parse_errors(&response.body)
                .iter()
                .any(|e| e.code == "INVALID_SESSION_ID")
    }

    /// How long a `REQUEST_LIMIT_EXCEEDED` for the org's daily request
    /// allowance (`TotalRequests Limit exceeded.`) waits without a
    /// `Retry-After`.
    const TOTAL_LIMIT_WAIT: Duration = Duration::from_secs(60 * 60);
    /// How long one for too many concurrent long requests
    /// (`ConcurrentRequests Limit exceeded.`) waits without a `Retry-After`.
    const CONCURRENT_LIMIT_WAIT: Duration = Duration::from_secs(10);

    /// For an error on the address fields that a mismatch between the org
    /// and [`SalesforceConfig::address_fields`] causes (`INVALID_FIELD`:
    /// no `CountryCode` in an org without State and Country/Territory
    /// Picklists; `FIELD_INTEGRITY_EXCEPTION`: a code in the text `Country`
    /// of an org with them), a pointer to the setting; else nothing.
    fn address_hint(e: &SfError) -> &'static str {
        const ADDRESS: [&str; 4] = ["Country", "State", "CountryCode", "StateCode"];
        let on_address = e.fields.iter().any(|f| ADDRESS.contains(&f.as_str()))
            || e.message.contains("CountryCode")
            || e.message.contains("StateCode");
        match e.code.as_str() {
            "INVALID_FIELD" | "FIELD_INTEGRITY_EXCEPTION" if on_address => {
                " [the Lead's country/state fields: does SalesforceConfig::address_fields \
                 (Picklist: CountryCode/StateCode, Text: Country/State) match the org's State \
                 and Country/Territory Picklists setting, and state_code_countries its states?]"
            }
            _ => "",
        }
    }

    /// Classifies a non-2xx Salesforce response.
    pub fn classify(response: &HttpResponse, now: SystemTime) -> CrmError {
        let errors = parse_errors(&response.body);
        let described = match errors.first() {
            None => format!(
                "Salesforce HTTP {}: {}",
                response.status,
                response.snippet()
            ),
            Some(e) => {
                let fields = if e.fields.is_empty() {
                    String::new()
                } else {
                    format!(" (fields: {})", e.fields.join(", "))
                };
                format!(
                    "Salesforce HTTP {} {}: {}{fields}{}",
                    response.status,
                    e.code,
                    e.message.trim(),
                    address_hint(e)
                )
            }
        };
        if let Some(dup) = errors.iter().find(|e| e.code == "DUPLICATES_DETECTED") {
            return CrmError::conflict(described, dup.duplicates.first().cloned());
        }
        match errors.first().map(|e| e.code.as_str()) {
            Some("REQUEST_LIMIT_EXCEEDED") => {
                let usage = response
                    .header("sforce-limit-info")
                    .map(|u| format!(" [{u}]"))
                    .unwrap_or_default();
                // One code, two limits: `TotalRequests` (the org's rolling
                // 24-hour allowance: wait for usage to drop) and
                // `ConcurrentRequests` / `ConcurrentPerOrgLongTxn` (too many
                // long requests in flight: clears within seconds).
                let concurrent = errors
                    .first()
                    .is_some_and(|e| e.message.to_ascii_lowercase().contains("concurrent"));
                let wait = if concurrent {
                    CONCURRENT_LIMIT_WAIT
                } else {
                    TOTAL_LIMIT_WAIT
                };
                CrmError::rate_limited(
                    format!("{described}{usage}"),
                    Some(response.retry_after(now).unwrap_or(wait)),
                )
            }
            Some("UNABLE_TO_LOCK_ROW") => CrmError::transient(described),
            Some("INVALID_SESSION_ID") => CrmError::permanent(described),
            _ => http::fallback_error(response, described, now),
        }
    }
}
