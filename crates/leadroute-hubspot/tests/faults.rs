//! Bad input and faults, end to end: each documented error body (and each
//! transport fault) hits the adapter's first write, through a
//! `LeadRouter`, against a stateful fake HubSpot on 127.0.0.1. Each row
//! asserts the `CrmError` class the write ends in and, after the router's
//! `retry_write` (with the fault gone), the portal's final state: exactly
//! one contact, with the submitted email and the decided owner.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use leadroute::crm::CrmError;
use leadroute_examples::mock::{MockServer, Recorded, Reply};
use leadroute_hubspot::{HubSpot, HubSpotConfig, StaticToken};
use serde_json::{Map, Value, json};

const CONTACTS: &str = "/crm/v3/objects/contacts";
const EMAIL: &str = "kim@umbrella.io";

/// What happens to the first write.
#[derive(Clone)]
enum Fault {
    /// HubSpot refuses it with this reply; nothing is written.
    Reject(Reply),
    /// Someone else creates the contact just before ours arrives.
    ConcurrentCreate,
    /// HubSpot applies it, then its reply is mangled like this.
    Applied(fn(Reply) -> Reply),
}

#[derive(Default)]
struct Portal {
    /// (id, properties)
    contacts: Vec<(String, Map<String, Value>)>,
    next_id: u64,
    fault: Option<Fault>,
}

impl Portal {
    fn object(id: &str, props: &Map<String, Value>) -> Value {
        json!({"id": id, "properties": props, "createdAt": "2026-03-01T10:00:00.000Z",
               "updatedAt": "2026-03-01T10:00:00.000Z", "archived": false})
    }

    fn create(&mut self, props: Map<String, Value>) -> String {
        self.next_id += 1;
        let id = format!("4200{}", self.next_id);
        self.contacts.push((id.clone(), props));
        id
    }

    fn by_email(&self, email: &str) -> Option<usize> {
        self.contacts
            .iter()
            .position(|(_, p)| p.get("email").and_then(Value::as_str) == Some(email))
    }

    /// The write as HubSpot would do it (create unique by email, update by id).
    fn write(&mut self, r: &Recorded) -> Reply {
        let body = r.json().unwrap_or(Value::Null);
        let props = body["properties"].as_object().cloned().unwrap_or_default();
        if r.method == "POST" {
            let email = props
                .get("email")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if let Some(i) = self.by_email(email) {
                let existing = self.contacts[i].0.clone();
                return Reply::json(
                    409,
                    json!({"status": "error", "message": format!("Contact already exists. Existing ID: {existing}"),
                           "correlationId": "2dea5219-07f2-40ce-82ec-9c2e302317a4", "category": "CONFLICT"}),
                );
            }
            let id = self.create(props.clone());
            return Reply::json(201, Self::object(&id, &props));
        }
        let id = r.path.rsplit('/').next().unwrap_or_default().to_owned();
        match self.contacts.iter_mut().find(|(i, _)| *i == id) {
            Some((_, existing)) => {
                existing.extend(props);
                let props = existing.clone();
                Reply::json(200, Self::object(&id, &props))
            }
            None => Reply::json(
                404,
                json!({"status": "error", "message": "Object not found.", "category": "OBJECT_NOT_FOUND"}),
            ),
        }
    }

    fn handle(&mut self, r: &Recorded) -> Reply {
        let path = r.decoded_path();
        if r.method == "POST" && path.ends_with("/companies/search") {
            return Reply::json(200, json!({"total": 0, "results": []}));
        }
        if r.method == "GET" && path.starts_with(CONTACTS) {
            let email = path.rsplit('/').next().unwrap_or_default();
            return match self.by_email(email) {
                Some(i) => {
                    let (id, props) = &self.contacts[i];
                    Reply::json(200, Self::object(id, props))
                }
                None => Reply::json(
                    404,
                    json!({"status": "error", "message": "Object not found.  objectId are usually numeric.",
                           "category": "OBJECT_NOT_FOUND"}),
                ),
            };
        }
        if matches!(r.method.as_str(), "POST" | "PATCH") && path.starts_with(CONTACTS) {
            return match self.fault.take() {
                None => self.write(r),
                Some(Fault::Reject(reply)) => reply,
                Some(Fault::ConcurrentCreate) => {
                    let mut props = Map::new();
                    props.insert("email".into(), json!(EMAIL));
                    props.insert("hubspot_owner_id".into(), json!("9002"));
                    self.create(props);
                    self.write(r)
                }
                Some(Fault::Applied(mangle)) => mangle(self.write(r)),
            };
        }
        Reply::json(
            501,
            json!({"status": "error", "message": "fake portal: unexpected request"}),
        )
    }
}

fn hs_error(category: &str, message: &str) -> Value {
    json!({"status": "error", "message": message, "correlationId": "a43683b0-5717-4ceb-80b4-104d02915d8c",
           "category": category})
}

fn html(status: u16) -> Reply {
    Reply::json(status, Value::Null)
        .body("<html><head><title>502 Bad Gateway</title></head><body><center><h1>Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>")
        .header("content-type", "text/html")
}

/// (row, fault, the class the first write ends in; `None`: written at once)
fn table() -> Vec<(&'static str, Fault, Option<&'static str>)> {
    use Fault::*;
    vec![
        (
            "validation",
            Reject(Reply::json(
                400,
                json!({"status": "error", "message": "Property values were not valid",
                       "errors": [{"message": "Property \"leadroute_rule\" does not exist", "in": "leadroute_rule"}],
                       "category": "VALIDATION_ERROR"}),
            )),
            Some("permanent"),
        ),
        (
            "authentication",
            Reject(
                Reply::json(
                    401,
                    hs_error(
                        "INVALID_AUTHENTICATION",
                        "Authentication credentials not found.",
                    ),
                )
                .header("x-hubspot-auth-failure", "401 Unauthorized"),
            ),
            Some("permanent"),
        ),
        (
            "missing scopes",
            Reject(Reply::json(
                403,
                hs_error(
                    "MISSING_SCOPES",
                    "This app hasn't been granted all required scopes to make this call.",
                ),
            )),
            Some("permanent"),
        ),
        (
            "not found",
            Reject(Reply::json(
                404,
                hs_error("OBJECT_NOT_FOUND", "Resource not found"),
            )),
            Some("permanent"),
        ),
        ("conflict (a concurrent create)", ConcurrentCreate, None),
        (
            "locked",
            Reject(Reply::json(423, hs_error("LOCKED", "Locked"))),
            Some("rate_limited"),
        ),
        (
            "rate limit",
            Reject(Reply::json(
                429,
                json!({"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                       "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}),
            )),
            Some("rate_limited"),
        ),
        (
            "migration in progress",
            Reject(
                Reply::json(
                    477,
                    hs_error("MIGRATION_IN_PROGRESS", "Migration in Progress"),
                )
                .header("Retry-After", "1"),
            ),
            Some("rate_limited"),
        ),
        (
            "5xx with an HTML body",
            Reject(html(502)),
            Some("transient"),
        ),
        (
            "503 with Retry-After",
            Reject(html(503).header("Retry-After", "2")),
            Some("rate_limited"),
        ),
        (
            "truncated JSON on a 201",
            Applied(|r| {
                let cut = r.body.len() / 2;
                let body = r.body.get(..cut).unwrap_or_default().to_owned();
                r.body(&body)
            }),
            Some("unknown_outcome"),
        ),
        (
            "a stalled response",
            Applied(|r| r.delay(Duration::from_secs(2))),
            Some("unknown_outcome"),
        ),
        (
            "the connection closed mid-body",
            Applied(|r| r.cut_after(12)),
            Some("unknown_outcome"),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_ends_in_its_class_and_one_contact_after_retry() {
    let policy = leadroute_examples::seed_policy().unwrap();
    for (n, (row, fault, class)) in table().into_iter().enumerate() {
        let portal = Arc::new(Mutex::new(Portal {
            fault: Some(fault),
            ..Portal::default()
        }));
        let fake = portal.clone();
        let server = MockServer::start_with(move |r| fake.lock().unwrap().handle(r))
            .await
            .unwrap();
        // A short client timeout, so a stalled response is cut off quickly.
        let crm = HubSpot::new(
            HubSpotConfig::new(server.base_url()).timeout(Duration::from_millis(500)),
            StaticToken::new("pat-na1-faults"),
            &policy,
        )
        .unwrap();
        let router = leadroute_examples::router(policy.clone(), crm);
        let payload = format!(r#"{{"lead_id": "f-{n}", "email": "{EMAIL}", "first_name": "Kim"}}"#);
        let routed = router.route_json(&payload).await.unwrap();
        let owner = routed.decision.owner_id().map(str::to_owned);
        let expected_owner = owner
            .as_deref()
            .and_then(|o| policy.owner(o))
            .and_then(|o| o.crm_id("hubspot"))
            .map(str::to_owned);

        let got = routed.write.pending().map(|p| p.error.class());
        assert_eq!(got, class, "{row}: {:?}", routed.write);
        if let Some(pending) = routed.write.into_pending() {
            assert_eq!(pending.lead.email, EMAIL, "{row}: the lead is kept");
            assert!(
                pending.error.is_retryable() || matches!(pending.error, CrmError::Permanent { .. }),
                "{row}"
            );
            // The fault is gone (fixed, or it was transient): the retry makes it.
            let receipt = router
                .retry_write(pending)
                .await
                .unwrap_or_else(|p| panic!("{row}: retry failed: {:?}", p.error));
            assert!(!receipt.record_id.is_empty());
        }

        let portal = portal.lock().unwrap();
        assert_eq!(portal.contacts.len(), 1, "{row}: {:?}", portal.contacts);
        let props = &portal.contacts[0].1;
        assert_eq!(props["email"], EMAIL, "{row}");
        // Also for the concurrent create: HubSpot emails are unique, so it is
        // the same person, and the router's update gives it the decided owner.
        assert_eq!(
            props.get("hubspot_owner_id").and_then(Value::as_str),
            expected_owner.as_deref(),
            "{row}"
        );
        assert!(
            expected_owner.is_some(),
            "{row}: the decided owner has a HubSpot id"
        );
    }
}
