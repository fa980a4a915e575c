//! The HubSpot adapter (`leadroute-hubspot`) in a runnable program.
//!
//! ```text
//! cargo run -p leadroute-hubspot --example hubspot
//! HUBSPOT_TOKEN=pat-na1-… cargo run -p leadroute-hubspot --example hubspot < examples/leads.jsonl
//! ```
//!
//! - **Without `HUBSPOT_TOKEN`** it starts a loopback mock HubSpot
//!   (scripted with realistic success and error bodies), points the adapter
//!   at it, routes a few leads through a `leadroute::LeadRouter` with the
//!   seed policy (new lead, existing account, existing contact → update, a
//!   `409` duplicate turned into an update, a `429` rate limit), prints every
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
//! | `HUBSPOT_API_VERSION` | `v3` | `v3` = `/crm/v3/…` + `/crm/v4/…`; a date such as `2026-03` = `/crm/objects/2026-03/…` |
//! | `LEADROUTE_ROUTING_FIELDS` | on | `off` to skip the `leadroute_*` properties |

use leadroute_examples::mock::{Expect, MockServer, Reply};
use leadroute_examples::{env_or, env_var};
use leadroute_hubspot::{ApiPaths, DEFAULT_BASE_URL, HubSpot, HubSpotConfig, StaticToken};
use serde_json::{Value, json};

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
        let policy = leadroute_examples::seed_policy()?;
        let config = HubSpotConfig::new(server.base_url());
        let crm = HubSpot::new(config, StaticToken::new("pat-na1-demo-token"), &policy)
            .map_err(|e| e.to_string())?;
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
            leadroute_examples::print_request(&r);
        }
        println!("   owner: {owner:?}");

        let router = leadroute_examples::router(policy, crm);
        let mut routed = Vec::new();

        // 1. A new lead: no company, no contact → create.
        search(&server, json!([]));
        no_contact(&server, "jane@newco.com");
        created(&server, "37765128001", "jane@newco.com");
        routed.push(
            leadroute_examples::demo_lead(
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
            leadroute_examples::demo_lead(
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
            leadroute_examples::demo_lead(
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
            leadroute_examples::demo_lead(
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
            leadroute_examples::demo_lead(
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

/// The configuration and token from the environment; `None` without
/// `HUBSPOT_TOKEN`.
pub fn from_env() -> Option<(HubSpotConfig, StaticToken)> {
    let token = env_var("HUBSPOT_TOKEN")?;
    let config = HubSpotConfig::new(env_or("HUBSPOT_BASE_URL", DEFAULT_BASE_URL))
        .paths(ApiPaths::from_version(
            env_var("HUBSPOT_API_VERSION").as_deref(),
        ))
        .routing_fields(leadroute_examples::routing_fields_enabled());
    Some((config, StaticToken::new(token)))
}

#[allow(dead_code)] // unused when the tests include this file as a module
#[tokio::main]
async fn main() -> Result<(), String> {
    match from_env() {
        None => {
            println!("HUBSPOT_TOKEN is not set: running against a loopback mock HubSpot.");
            demo::run().await.map(|_| ())
        }
        Some((config, token)) => {
            let policy = leadroute_examples::seed_policy()?;
            eprintln!(
                "routing stdin leads into HubSpot at {} ({})",
                config.base_url, config.paths.objects
            );
            let crm = HubSpot::new(config, token, &policy).map_err(|e| e.to_string())?;
            leadroute_examples::route_stdin(&leadroute_examples::router(policy, crm)).await
        }
    }
}
