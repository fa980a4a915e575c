//! Bad input and faults, end to end: each documented error body (and each
//! transport fault) hits the adapter's first write, through a
//! `LeadRouter`, against a stateful fake Salesforce org on 127.0.0.1. Each
//! row asserts the `CrmError` class the write ends in and, after the
//! router's `retry_write` (with the fault gone), the org's final state:
//! exactly one Lead, with the submitted email and an owner.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use leadroute_examples::mock::{MockServer, Recorded, Reply};
use leadroute_salesforce::{Salesforce, SalesforceConfig, StaticToken};
use serde_json::{Map, Value, json};

const DATA: &str = "/services/data/v66.0";
const EMAIL: &str = "kim@umbrella.io";
const EXTERNAL_ID: &str = "LeadRoute_Lead_Id__c";
/// The owner of the Lead someone else created (defect 1: it is kept).
const THEIR_OWNER: &str = "0055e000001BobAAA";

/// What happens to the first write.
#[derive(Clone)]
enum Fault {
    /// Salesforce refuses it with this reply; nothing is written.
    Reject(Reply),
    /// Someone else creates a Lead with this email just before ours
    /// arrives; the org's duplicate rule (Block) matches it.
    ConcurrentDuplicate,
    /// Salesforce applies it, then its reply is mangled like this.
    Applied(fn(Reply) -> Reply),
}

#[derive(Default)]
struct Org {
    /// (id, fields)
    leads: Vec<(String, Map<String, Value>)>,
    next_id: u64,
    fault: Option<Fault>,
}

fn sf_error(code: &str, message: &str) -> Value {
    json!([{"message": message, "errorCode": code, "fields": []}])
}

impl Org {
    fn create(&mut self, fields: Map<String, Value>) -> String {
        self.next_id += 1;
        let id = format!("00Q5e00000Fake{:04}", self.next_id);
        self.leads.push((id.clone(), fields));
        id
    }

    /// The duplicate rule: another Lead with this email blocks the insert.
    fn duplicate_of(&self, fields: &Map<String, Value>) -> Option<String> {
        let email = fields.get("Email")?.as_str()?.to_lowercase();
        self.leads
            .iter()
            .find(|(_, f)| {
                f.get("Email")
                    .and_then(Value::as_str)
                    .map(str::to_lowercase)
                    == Some(email.clone())
            })
            .map(|(id, _)| id.clone())
    }

    fn duplicate_reply(id: &str) -> Reply {
        Reply::json(
            400,
            json!([{
                "duplicateResut": {
                    "allowSave": false, "duplicateRule": "Standard_Lead_Duplicate_Rule",
                    "duplicateRuleEntityType": "Lead", "errorMessage": "Use one of these records?",
                    "matchResults": [{"entityType": "Lead", "errors": [], "matchEngine": "ExactMatchEngine",
                        "matchRecords": [{"additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100.0,
                            "record": {"attributes": {"type": "Lead", "url": format!("{DATA}/sobjects/Lead/{id}")}, "Id": id}}],
                        "rule": "Standard_Lead_Match_Rule_v1_0", "size": 1, "success": true}]
                },
                "errorCode": "DUPLICATES_DETECTED", "message": "Use one of these records?"
            }]),
        )
    }

    /// The write as Salesforce would do it: upsert by the external id
    /// (create or update), update by id; the duplicate rule on inserts.
    fn write(&mut self, r: &Recorded) -> Reply {
        let fields = r
            .json()
            .and_then(|b| b.as_object().cloned())
            .unwrap_or_default();
        let path = r.decoded_path();
        let rest = path
            .strip_prefix(&format!("{DATA}/sobjects/Lead/"))
            .unwrap_or_default();
        if let Some(value) = rest.strip_prefix(&format!("{EXTERNAL_ID}/")) {
            if let Some(i) = self
                .leads
                .iter()
                .position(|(_, f)| f.get(EXTERNAL_ID) == Some(&json!(value)))
            {
                let (id, existing) = &mut self.leads[i];
                existing.extend(fields);
                return Reply::json(
                    200,
                    json!({"id": id, "errors": [], "success": true, "created": false}),
                );
            }
            if let Some(dup) = self.duplicate_of(&fields) {
                return Self::duplicate_reply(&dup);
            }
            let mut fields = fields;
            fields.insert(EXTERNAL_ID.into(), json!(value));
            let id = self.create(fields);
            return Reply::json(
                201,
                json!({"id": id, "errors": [], "success": true, "created": true}),
            );
        }
        match self.leads.iter_mut().find(|(id, _)| id == rest) {
            Some((_, existing)) => {
                existing.extend(fields);
                Reply::empty(204)
            }
            None => Reply::json(
                404,
                sf_error("NOT_FOUND", "The requested resource does not exist"),
            ),
        }
    }

    fn handle(&mut self, r: &Recorded) -> Reply {
        let path = r.decoded_path();
        if r.method == "GET" && path == format!("{DATA}/query") {
            // The lookups find nothing: the Lead is new when the route starts.
            return Reply::json(200, json!({"totalSize": 0, "done": true, "records": []}));
        }
        if r.method == "GET" {
            if let Some(id) = path.strip_prefix(&format!("{DATA}/sobjects/Lead/")) {
                return match self.leads.iter().find(|(i, _)| i == id) {
                    Some((id, f)) => {
                        let mut body = f.clone();
                        body.insert("Id".into(), json!(id));
                        body.insert(
                            "attributes".into(),
                            json!({"type": "Lead", "url": format!("{DATA}/sobjects/Lead/{id}")}),
                        );
                        Reply::json(200, Value::Object(body))
                    }
                    None => Reply::json(
                        404,
                        sf_error("NOT_FOUND", "The requested resource does not exist"),
                    ),
                };
            }
        }
        if r.method == "PATCH" && path.starts_with(&format!("{DATA}/sobjects/Lead/")) {
            return match self.fault.take() {
                None => self.write(r),
                Some(Fault::Reject(reply)) => reply,
                Some(Fault::ConcurrentDuplicate) => {
                    let mut theirs = Map::new();
                    theirs.insert("Email".into(), json!(EMAIL));
                    theirs.insert("LastName".into(), json!("Kim"));
                    theirs.insert("OwnerId".into(), json!(THEIR_OWNER));
                    self.create(theirs);
                    self.write(r)
                }
                Some(Fault::Applied(mangle)) => mangle(self.write(r)),
            };
        }
        Reply::json(501, sf_error("NOT_FOUND", "fake org: unexpected request"))
    }
}

fn html(status: u16) -> Reply {
    Reply::json(status, Value::Null)
        .body("<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request.</p></body></html>")
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
                json!([{"message": "Required fields are missing: [Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Company"]}]),
            )),
            Some("permanent"),
        ),
        (
            "authentication",
            Reject(Reply::json(401, json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]))),
            Some("permanent"),
        ),
        (
            "permissions",
            Reject(Reply::json(403, sf_error("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"))),
            Some("permanent"),
        ),
        (
            "not found",
            Reject(Reply::json(404, sf_error("NOT_FOUND", "The requested resource does not exist"))),
            Some("permanent"),
        ),
        ("conflict (a duplicate created concurrently)", ConcurrentDuplicate, None),
        (
            "locked row",
            Reject(Reply::json(400, sf_error("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"))),
            Some("transient"),
        ),
        (
            "request limit",
            Reject(
                Reply::json(403, json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]))
                    .header("Sforce-Limit-Info", "api-usage=100018/100000"),
            ),
            Some("rate_limited"),
        ),
        ("5xx with an HTML body", Reject(html(503)), Some("transient")),
        ("500 with an HTML body", Reject(html(500)), Some("transient")),
        (
            "truncated JSON on a 201",
            Applied(|r| {
                let cut = r.body.len() / 2;
                let body = r.body.get(..cut).unwrap_or_default().to_owned();
                r.body(&body)
            }),
            Some("unknown_outcome"),
        ),
        ("a stalled response", Applied(|r| r.delay(Duration::from_secs(2))), Some("unknown_outcome")),
        ("the connection closed mid-body", Applied(|r| r.cut_after(8)), Some("unknown_outcome")),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_ends_in_its_class_and_one_lead_after_retry() {
    let policy = leadroute_examples::seed_policy().unwrap();
    for (n, (row, fault, class)) in table().into_iter().enumerate() {
        let org = Arc::new(Mutex::new(Org {
            fault: Some(fault),
            ..Org::default()
        }));
        let fake = org.clone();
        let server = MockServer::start_with(move |r| fake.lock().unwrap().handle(r))
            .await
            .unwrap();
        let crm = Salesforce::new(
            SalesforceConfig::new(server.base_url()).timeout(Duration::from_millis(500)),
            StaticToken::new("00D5e000000FAULTS!AQ4AQ"),
            &policy,
        )
        .unwrap();
        let router = leadroute_examples::router(policy.clone(), crm);
        let payload = format!(
            r#"{{"lead_id": "f-{n}", "email": "{EMAIL}", "last_name": "Kim", "company": "Umbrella"}}"#
        );
        let routed = router.route_json(&payload).await.unwrap();
        let decided = routed
            .decision
            .owner_id()
            .and_then(|o| policy.owner(o))
            .and_then(|o| o.crm_id("salesforce"))
            .map(str::to_owned);
        assert!(
            decided.is_some(),
            "{row}: the decided owner has a Salesforce id"
        );

        let got = routed.write.pending().map(|p| p.error.class());
        assert_eq!(got, class, "{row}: {:?}", routed.write);
        if let Some(pending) = routed.write.into_pending() {
            assert_eq!(pending.lead.email, EMAIL, "{row}: the lead is kept");
            assert_eq!(pending.existing, None, "{row}");
            let receipt = router
                .retry_write(pending)
                .await
                .unwrap_or_else(|p| panic!("{row}: retry failed: {:?}", p.error));
            assert!(!receipt.record_id.is_empty());
        }

        let org = org.lock().unwrap();
        assert_eq!(org.leads.len(), 1, "{row}: {:?}", org.leads);
        let lead = &org.leads[0].1;
        assert_eq!(lead["Email"], EMAIL, "{row}");
        let owner = lead.get("OwnerId").and_then(Value::as_str);
        if class.is_none() {
            // Attached to the person someone else created: their owner stays.
            assert_eq!(owner, Some(THEIR_OWNER), "{row}");
        } else {
            assert_eq!(owner, decided.as_deref(), "{row}");
            assert_eq!(
                lead[EXTERNAL_ID],
                format!("f-{n}"),
                "{row}: keyed by the lead id"
            );
        }
    }
}
