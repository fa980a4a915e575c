//! The HTTP service example, started on 127.0.0.1 and exercised over HTTP.

#[path = "../examples/http_service.rs"]
#[allow(dead_code, clippy::expect_used)]
mod http_service;

use std::sync::Arc;

use leadroute::crm::{Account, CrmError};
use leadroute::testing::InMemoryCrm;
use leadroute::testing::Method;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn start(
    crm: InMemoryCrm,
) -> (
    std::net::SocketAddr,
    Arc<http_service::ServiceRouter<InMemoryCrm>>,
) {
    let router = Arc::new(http_service::service_router(crm));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = http_service::app(router.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, router)
}

/// One HTTP/1.1 JSON request over a fresh connection; returns status and JSON body.
async fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, Value) {
    post_as(addr, path, "application/json", body).await
}

/// One HTTP/1.1 request with this content type over a fresh connection.
async fn post_as(
    addr: std::net::SocketAddr,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut raw),
    )
    .await
    .unwrap()
    .unwrap();
    let status: u16 = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_leads_routes_and_returns_the_owner_and_experience() {
    let crm = InMemoryCrm::new().with_account(
        Account::new("001", "Initech")
            .domain("initech.co.uk")
            .owner("cleo")
            .customer(),
    );
    let (addr, router) = start(crm).await;
    let (status, body) = post(
        addr,
        "/leads",
        r#"{"email": "cto@bigco.com", "country": "US", "company_size": "1000+"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["owner"]["id"], "ana");
    assert_eq!(body["owner"]["email"], "ana@example.com");
    assert_eq!(
        body["experience"],
        serde_json::json!({"book_meeting": {"with": "ana"}})
    );
    assert_eq!(body["rule"], "us-enterprise");
    assert_eq!(body["crm"]["created"], true);

    let (status, body) = post(addr, "/leads", r#"{"email": "ops@initech.co.uk"}"#).await;
    assert_eq!(status, 200);
    assert_eq!(body["owner"]["id"], "cleo");
    assert_eq!(body["experience"], "customer_success");
    assert_eq!(router.crm().records().len(), 2);

    let lead_id = body["lead_id"].as_str().unwrap();
    let (status, _) = post(
        addr,
        "/events",
        &format!(r#"{{"event": "meeting_booked", "lead_id": "{lead_id}", "owner": "cleo"}}"#),
    )
    .await;
    assert_eq!(status, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_payloads_get_422_with_field_errors() {
    let (addr, router) = start(InMemoryCrm::new()).await;
    let (status, body) = post(addr, "/leads", r#"{"email": "nope", "employees": "lots"}"#).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "employees"]);
    assert_eq!(body["errors"][0]["code"], "invalid");
    let (status, body) = post(addr, "/leads", "this is not json").await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "payload");
    assert_eq!(router.crm().calls(Method::UpsertLead), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crm_outage_still_routes_and_queues_the_write() {
    let crm = InMemoryCrm::new();
    crm.hang_next(Method::FindAccount, 1); // times out after the 300 ms budget
    crm.fail_next(Method::FindPerson, 1, CrmError::transient("503"));
    crm.fail_next(Method::UpsertLead, 1, CrmError::transient("503"));
    let (addr, router) = start(crm).await;
    let (status, body) = post(
        addr,
        "/leads",
        r#"{"email": "cto@bigco.com", "country": "US", "company_size": "1000+"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["owner"]["id"], "ana");
    assert_eq!(body["crm"]["queued_for_retry"], true);
    assert_eq!(body["crm"]["error"]["class"], "transient");
    let queued = router.events().retry_queue.lock().unwrap().clone();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].lead.email, "cto@bigco.com");
    // When the CRM is back, the queued write goes through.
    let receipt = router.retry_write(queued[0].clone()).await.unwrap();
    assert!(receipt.created);
    assert_eq!(router.crm().records()[0].owner.as_deref(), Some("ana"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_lead_gets_the_reject_experience_and_is_not_written() {
    let (addr, router) = start(InMemoryCrm::new()).await;
    let (status, body) = post(
        addr,
        "/leads",
        r#"{"email": "x7@mailinator.com", "company": "Test", "country": "US"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["owner"], Value::Null);
    assert_eq!(body["rule"], "reject-disposable");
    assert_eq!(
        body["experience"],
        serde_json::json!({"reject": {"reason": "please use your work email"}})
    );
    assert_eq!(body["crm"], serde_json::json!({"skipped": true}));
    assert_eq!(router.crm().calls(Method::UpsertLead), 0);
    assert!(router.events().retry_queue.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_forms_post_urlencoded_bodies_and_route_like_json() {
    let (addr, router) = start(InMemoryCrm::new()).await;
    // What a browser sends for <form method="post">: `+` for spaces, %XX escapes,
    // a checkbox group as a repeated key.
    let (status, body) = post_as(
        addr,
        "/leads",
        "application/x-www-form-urlencoded",
        "email=cto%40bigco.com&first_name=Jane+Doe&country=US&company_size=1000%2B\
         &product_interest=analytics&product_interest=plg",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["owner"]["id"], "ana");
    assert_eq!(body["rule"], "us-enterprise");
    assert_eq!(body["crm"]["created"], true);
    let records = router.crm().records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].lead.email, "cto@bigco.com");
    assert_eq!(records[0].lead.first_name.as_deref(), Some("Jane Doe"));
    assert_eq!(records[0].lead.product_interest, ["analytics", "plg"]);

    // With a charset parameter, and PHP-style `name[]` keys.
    let (status, body) = post_as(
        addr,
        "/leads",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "email=ops%40initech.co.uk&products%5B%5D=plg",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(router.crm().records()[1].lead.product_interest, ["plg"]);

    // Field errors come back the same way as for JSON.
    let (status, body) = post_as(
        addr,
        "/leads",
        "application/x-www-form-urlencoded",
        "email=nope&employees=lots",
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "email");
    assert_eq!(body["errors"][1]["field"], "employees");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_content_types_get_415() {
    let (addr, router) = start(InMemoryCrm::new()).await;
    let (status, body) = post_as(
        addr,
        "/leads",
        "multipart/form-data; boundary=x",
        "--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.io\r\n--x--\r\n",
    )
    .await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["errors"][0]["field"], "payload");
    assert_eq!(router.crm().calls(Method::UpsertLead), 0);
}
