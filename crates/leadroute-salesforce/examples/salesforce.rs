//! The Salesforce adapter (`leadroute-salesforce`) in a runnable program.
//!
//! ```text
//! cargo run -p leadroute-salesforce --example salesforce
//! SALESFORCE_INSTANCE_URL=https://acme.my.salesforce.com SALESFORCE_ACCESS_TOKEN=00D… \
//!     cargo run -p leadroute-salesforce --example salesforce < examples/leads.jsonl
//! ```
//!
//! - **Without `SALESFORCE_ACCESS_TOKEN`** (nor a refresh token) it starts a
//!   loopback mock Salesforce (scripted with realistic success and error
//!   bodies), points the adapter at it, routes a few leads through a
//!   `leadroute::LeadRouter` with the seed policy (new lead, existing account,
//!   existing contact, a duplicate rule's match attached to, the org's API
//!   limit), prints every request the
//!   adapter sent and every decision, and exits.
//! - **With credentials** (and `SALESFORCE_INSTANCE_URL`) it talks to the
//!   org and routes each JSON line of stdin (one form payload per line),
//!   printing one outcome line per lead. This **creates and updates Leads
//!   and Contacts**: use a sandbox.
//!
//! Environment:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `SALESFORCE_ACCESS_TOKEN` | (mock mode) | OAuth access token, sent as `Authorization: Bearer` |
//! | `SALESFORCE_REFRESH_TOKEN`, `SALESFORCE_CLIENT_ID`, `SALESFORCE_CLIENT_SECRET` | unset | refresh the access token on `401 INVALID_SESSION_ID` (OAuth refresh-token flow) |
//! | `SALESFORCE_LOGIN_URL` | `https://login.salesforce.com` | where to refresh (`https://test.salesforce.com` for a sandbox) |
//! | `SALESFORCE_INSTANCE_URL` | required with credentials | `instance_url` from the OAuth token response |
//! | `SALESFORCE_API_VERSION` | `v66.0` | REST API version (`66.0` is accepted too) |
//! | `LEADROUTE_ROUTING_FIELDS` | on | `off` to skip the `LeadRoute_*__c` fields |

use leadroute::router::Routed;
use leadroute_examples::mock::{Expect, MockServer, Reply};
use leadroute_examples::{env_or, env_var};
use leadroute_salesforce::{
    DEFAULT_API_VERSION, OAuthRefresh, Salesforce, SalesforceConfig, StaticToken,
};
use serde_json::{Value, json};

/// The demo's mock Salesforce scripts.
pub mod demo {
    use super::*;

    /// The query path for the default version.
    pub const QUERY: &str = "/services/data/v66.0/query";

    /// Scripts one query (whose SOQL contains `from`) → these records.
    pub fn query(server: &MockServer, from: &str, records: Value) {
        let total = records.as_array().map_or(0, Vec::len);
        server.script(
            Expect::new("GET", QUERY).query_contains(from),
            Reply::json(
                200,
                json!({ "totalSize": total, "done": true, "records": records }),
            ),
        );
    }

    /// An Account record as a query returns it.
    pub fn account(id: &str, name: &str, website: &str, owner: &str, kind: &str) -> Value {
        json!({
            "attributes": { "type": "Account", "url": format!("/services/data/v66.0/sobjects/Account/{id}") },
            "Id": id, "Name": name, "Website": website, "OwnerId": owner, "Type": kind
        })
    }

    /// A Contact or Lead record as a query returns it.
    pub fn person(kind: &str, id: &str, owner: &str, account: Option<&str>) -> Value {
        let mut v = json!({
            "attributes": { "type": kind, "url": format!("/services/data/v66.0/sobjects/{kind}/{id}") },
            "Id": id, "OwnerId": owner
        });
        if let (Some(a), Some(map)) = (account, v.as_object_mut()) {
            map.insert("AccountId".into(), json!(a));
        }
        v
    }

    /// Scripts the upsert of a new Lead (`PATCH …/LeadRoute_Lead_Id__c/{lead_id}`) → 201.
    pub fn created(server: &MockServer, lead_id: &str, id: &str) {
        server.script(
            Expect::new("PATCH", &upsert(lead_id)),
            Reply::json(
                201,
                json!({ "id": id, "errors": [], "success": true, "created": true }),
            ),
        );
    }

    /// The upsert path of a new Lead: `/sobjects/Lead/LeadRoute_Lead_Id__c/{lead_id}`.
    pub fn upsert(lead_id: &str) -> String {
        format!("/services/data/v66.0/sobjects/Lead/LeadRoute_Lead_Id__c/{lead_id}")
    }

    /// Scripts `PATCH /sobjects/{sobject}/{id}` → 204.
    pub fn updated(server: &MockServer, sobject: &str, id: &str) {
        server.script(
            Expect::new(
                "PATCH",
                &format!("/services/data/v66.0/sobjects/{sobject}/{id}"),
            ),
            Reply::empty(204),
        );
    }

    /// The `DUPLICATES_DETECTED` body (with the REST spelling `duplicateResut`).
    pub fn duplicate_body(existing: &str) -> Value {
        json!([{
            "duplicateResut": {
                "allowSave": false,
                "duplicateRule": "Standard_Lead_Duplicate_Rule",
                "duplicateRuleEntityType": "Lead",
                "errorMessage": "Use one of these records?",
                "matchResults": [{
                    "entityType": "Lead",
                    "errors": [],
                    "matchEngine": "FuzzyMatchEngine",
                    "matchRecords": [{
                        "additionalInformation": [],
                        "fieldDiffs": [],
                        "matchConfidence": 95.0,
                        "record": {
                            "attributes": { "type": "Lead", "url": format!("/services/data/v66.0/sobjects/Lead/{existing}") },
                            "Id": existing
                        }
                    }],
                    "rule": "Standard_Lead_Match_Rule_v1_0",
                    "size": 1,
                    "success": true
                }]
            },
            "errorCode": "DUPLICATES_DETECTED",
            "message": "Use one of these records?"
        }])
    }

    /// The real `REQUEST_LIMIT_EXCEEDED` body.
    pub fn limit_body() -> Value {
        json!([{ "message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED" }])
    }

    /// Runs the demo against a fresh mock: routes five leads. Returns each
    /// routed lead.
    pub async fn run() -> Result<Vec<Routed>, String> {
        let server = MockServer::start()
            .await
            .map_err(|e| format!("cannot start the mock server: {e}"))?;
        let policy = leadroute_examples::seed_policy()?;
        let config = SalesforceConfig::new(server.base_url());
        let token = StaticToken::new("00Ddemo!AQ4AQFakeAccessToken");
        let crm = Salesforce::new(config, token, &policy).map_err(|e| e.to_string())?;
        println!("mock Salesforce on {}", server.base_url());
        let router = leadroute_examples::router(policy, crm);
        let mut routed = Vec::new();

        // 1. A new lead without LastName or Company → fallbacks.
        query(&server, "FROM Account", json!([]));
        query(&server, "FROM Contact", json!([]));
        query(&server, "FROM Lead", json!([]));
        created(&server, "demo-1", "00Q5e00000AbCdEEAV");
        routed.push(
            leadroute_examples::demo_lead(
                &router,
                &server,
                "New lead without LastName/Company → POST Lead with fallbacks",
                r#"{"lead_id": "demo-1", "email": "jane@newco.com", "country": "US", "company_size": "1000+"}"#,
            )
            .await?,
        );

        // 2. An existing customer account; a LIKE false positive
        //    (notacme.com) is filtered out on the client.
        query(
            &server,
            "FROM Account",
            json!([
                account(
                    "001D000000IqhSMIAZ",
                    "Not Acme",
                    "http://notacme.com",
                    "0055e000001DevAAA",
                    "Prospect"
                ),
                account(
                    "001D000000IqhSLIAZ",
                    "Acme Corporation",
                    "https://www.acme.com",
                    "0055e000001CleAAA",
                    "Customer - Direct"
                ),
            ]),
        );
        query(&server, "FROM Contact", json!([]));
        query(&server, "FROM Lead", json!([]));
        created(&server, "demo-2", "00Q5e00000AbCdFEAV");
        routed.push(
            leadroute_examples::demo_lead(
                &router,
                &server,
                "Existing customer account → POST Lead owned by the account owner",
                r#"{"lead_id": "demo-2", "email": "sam@acme.com", "first_name": "Sam", "last_name": "Ng", "company": "Acme"}"#,
            )
            .await?,
        );

        // 3. An existing Contact at a known account → PATCH the Contact.
        query(
            &server,
            "FROM Account",
            json!([account(
                "001D000000IqhSNIAZ",
                "Initech",
                "initech.io",
                "0055e000001BobAAA",
                "Prospect"
            )]),
        );
        query(
            &server,
            "FROM Contact",
            json!([person(
                "Contact",
                "0035e00000LeeAAAA1",
                "0055e000001BobAAA",
                Some("001D000000IqhSNIAZ")
            )]),
        );
        updated(&server, "Contact", "0035e00000LeeAAAA1");
        routed.push(
            leadroute_examples::demo_lead(
                &router,
                &server,
                "Existing Contact → PATCH /sobjects/Contact/{id} (204)",
                r#"{"lead_id": "demo-3", "email": "lee@initech.io", "first_name": "Lee", "phone": "+1 415 555 0100"}"#,
            )
            .await?,
        );

        // 4. A duplicate rule matches a Lead with the same email (made a
        //    moment ago, so the lookup missed it): attach to it, filling
        //    only what it lacks; its owner stays.
        query(&server, "FROM Account", json!([]));
        query(&server, "FROM Contact", json!([]));
        query(&server, "FROM Lead", json!([]));
        server.script(
            Expect::new("PATCH", &upsert("demo-4")),
            Reply::json(400, duplicate_body("00Q5e00000XyZaBEAV")),
        );
        server.script(
            Expect::new("GET", "/services/data/v66.0/sobjects/Lead/00Q5e00000XyZaBEAV"),
            Reply::json(
                200,
                json!({
                    "attributes": { "type": "Lead", "url": "/services/data/v66.0/sobjects/Lead/00Q5e00000XyZaBEAV" },
                    "Id": "00Q5e00000XyZaBEAV", "Email": "max@globex.com", "OwnerId": "0055e000001BobAAA",
                    "FirstName": "Max", "LastName": "Mustermann", "Phone": null, "Company": null
                }),
            ),
        );
        updated(&server, "Lead", "00Q5e00000XyZaBEAV");
        routed.push(
            leadroute_examples::demo_lead(
                &router,
                &server,
                "DUPLICATES_DETECTED, same email → attach: PATCH only the Lead's blank fields",
                r#"{"lead_id": "demo-4", "email": "max@globex.com", "last_name": "Mustermann", "company": "Globex", "product_interest": "free trial"}"#,
            )
            .await?,
        );

        // 5. The org's API limit: the lookups fail (routing goes on without
        //    CRM facts) and the write is queued for retry.
        let limited = || {
            Reply::json(403, limit_body()).header("Sforce-Limit-Info", "api-usage=100018/100000")
        };
        server.script(
            Expect::new("GET", QUERY).query_contains("FROM Account"),
            limited(),
        );
        server.script(
            Expect::new("GET", QUERY).query_contains("FROM Contact"),
            limited(),
        );
        server.script(Expect::new("PATCH", &upsert("demo-5")), limited());
        routed.push(
            leadroute_examples::demo_lead(
                &router,
                &server,
                "REQUEST_LIMIT_EXCEEDED (403) → RateLimited, decision without CRM facts, write queued",
                r#"{"lead_id": "demo-5", "email": "kim@umbrella.io", "last_name": "Kim", "country": "DE"}"#,
            )
            .await?,
        );
        Ok(routed)
    }
}

/// Runs the live mode with this token provider.
async fn live<T: leadroute_salesforce::TokenProvider>(
    config: SalesforceConfig,
    tokens: T,
) -> Result<(), String> {
    let policy = leadroute_examples::seed_policy()?;
    eprintln!(
        "routing stdin leads into Salesforce at {} ({})",
        config.instance_url, config.api_version
    );
    let crm = Salesforce::new(config, tokens, &policy).map_err(|e| e.to_string())?;
    leadroute_examples::route_stdin(&leadroute_examples::router(policy, crm)).await
}

#[allow(dead_code)] // unused when the tests include this file as a module
#[tokio::main]
async fn main() -> Result<(), String> {
    let access = env_var("SALESFORCE_ACCESS_TOKEN");
    let refresh = env_var("SALESFORCE_REFRESH_TOKEN");
    if access.is_none() && refresh.is_none() {
        println!("SALESFORCE_ACCESS_TOKEN is not set: running against a loopback mock Salesforce.");
        return demo::run().await.map(|_: Vec<Routed>| ());
    }
    let instance = env_var("SALESFORCE_INSTANCE_URL").ok_or(
        "SALESFORCE_INSTANCE_URL is not set (use the instance_url of the OAuth token response)",
    )?;
    let config = SalesforceConfig::new(instance)
        .api_version(&env_or("SALESFORCE_API_VERSION", DEFAULT_API_VERSION))
        .routing_fields(leadroute_examples::routing_fields_enabled());
    match (refresh, access) {
        (Some(refresh), access) => {
            let client_id = env_var("SALESFORCE_CLIENT_ID")
                .ok_or("SALESFORCE_REFRESH_TOKEN needs SALESFORCE_CLIENT_ID")?;
            let login = env_or("SALESFORCE_LOGIN_URL", "https://login.salesforce.com");
            let mut tokens =
                OAuthRefresh::new(login, client_id, refresh).map_err(|e| e.to_string())?;
            if let Some(secret) = env_var("SALESFORCE_CLIENT_SECRET") {
                tokens = tokens.client_secret(secret);
            }
            if let Some(access) = access {
                tokens = tokens.access_token(access);
            }
            live(config, tokens).await
        }
        (None, Some(access)) => live(config, StaticToken::new(access)).await,
        (None, None) => Ok(()),
    }
}
