//! The HTTP service, started on 127.0.0.1 and exercised over raw HTTP/1.1:
//! routing, the public-endpoint protections (body limit, slow request
//! heads, slow bodies, rate limit, origins), spam screening, and graceful shutdown — each with its
//! status, body and the events the router emitted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use leadroute::crm::{Account, CrmError};
use leadroute::testing::InMemoryCrm;
use leadroute::testing::Method;
use leadroute_examples::service::{self, Service, ServiceConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Svc = Arc<Service<InMemoryCrm>>;

async fn start(crm: InMemoryCrm) -> (SocketAddr, Svc) {
    start_with(crm, ServiceConfig::default()).await
}

async fn start_with(crm: InMemoryCrm, config: ServiceConfig) -> (SocketAddr, Svc) {
    let (addr, svc, _stop, _task) = start_stoppable(crm, config).await;
    std::mem::forget(_stop); // keep serving until the test ends
    (addr, svc)
}

async fn start_stoppable(
    crm: InMemoryCrm,
    config: ServiceConfig,
) -> (
    SocketAddr,
    Svc,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let header_timeout = config.header_timeout;
    let svc = Arc::new(Service::new(crm, config).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = service::app(svc.clone());
    let task = tokio::spawn(service::serve(listener, app, header_timeout, async {
        let _ = stopped.await;
    }));
    (addr, svc, stop, task)
}

/// A response: status, headers (lower-case names) and the JSON body.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Writes `raw` on a fresh connection and reads the reply (until the
/// server closes, at most 10 s). A write the server cut short (it answered
/// before reading everything) is not an error.
async fn exchange(addr: SocketAddr, raw: &[u8]) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stream.write_all(raw).await;
    read_reply(&mut stream).await
}

async fn read_reply(stream: &mut tokio::net::TcpStream) -> Reply {
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw)).await;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

fn request(path: &str, content_type: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One HTTP/1.1 JSON request over a fresh connection; returns status and JSON body.
async fn post(addr: SocketAddr, path: &str, body: &str) -> (u16, Value) {
    post_as(addr, path, "application/json", body).await
}

/// One HTTP/1.1 request with this content type over a fresh connection.
async fn post_as(addr: SocketAddr, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let r = exchange(addr, &request(path, content_type, "", body)).await;
    (r.status, r.body)
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// The names of the events the router emitted for one lead.
fn events_of(svc: &Svc, lead_id: &str) -> Vec<&'static str> {
    svc.router
        .events()
        .of_lead(lead_id)
        .iter()
        .map(|e| e.name())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_leads_routes_and_returns_the_owner_and_experience() {
    let crm = InMemoryCrm::new().with_account(
        Account::new("001", "Initech")
            .domain("initech.co.uk")
            .owner("cleo")
            .customer(),
    );
    let (addr, svc) = start(crm).await;
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
    assert_eq!(svc.router.crm().records().len(), 2);

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
    let (addr, svc) = start(InMemoryCrm::new()).await;
    let (status, body) = post(addr, "/leads", r#"{"email": "nope", "company": {"x": 1}}"#).await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "company"]);
    assert_eq!(body["errors"][0]["code"], "invalid");
    let (status, body) = post(addr, "/leads", "this is not json").await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "payload");
    assert_eq!(svc.router.crm().calls(Method::UpsertLead), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crm_outage_still_routes_and_queues_the_write() {
    let crm = InMemoryCrm::new();
    crm.hang_next(Method::FindAccount, 1); // times out after the 300 ms budget
    crm.fail_next(Method::FindPerson, 1, CrmError::transient("503"));
    crm.fail_next(Method::UpsertLead, 1, CrmError::transient("503"));
    let (addr, svc) = start(crm).await;
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
    let queued = svc.router.events().retry_queue.lock().unwrap().clone();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].lead.email, "cto@bigco.com");
    // When the CRM is back, the queued write goes through.
    let receipt = svc.router.retry_write(queued[0].clone()).await.unwrap();
    assert!(receipt.created);
    assert_eq!(svc.router.crm().records()[0].owner.as_deref(), Some("ana"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_lead_gets_the_reject_experience_and_is_not_written() {
    let (addr, svc) = start(InMemoryCrm::new()).await;
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
    assert_eq!(svc.router.crm().calls(Method::UpsertLead), 0);
    assert!(svc.router.events().retry_queue.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_forms_post_urlencoded_bodies_and_route_like_json() {
    let (addr, svc) = start(InMemoryCrm::new()).await;
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
    let records = svc.router.crm().records();
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
    assert_eq!(svc.router.crm().records()[1].lead.product_interest, ["plg"]);

    // Field errors come back the same way as for JSON.
    let (status, body) = post_as(
        addr,
        "/leads",
        "application/x-www-form-urlencoded",
        &format!("email=nope&first_name={}", "J".repeat(2000)),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "email");
    assert_eq!(body["errors"][1]["field"], "first_name");
    assert_eq!(body["errors"][1]["code"], "too_long");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_content_types_get_415() {
    let (addr, svc) = start(InMemoryCrm::new()).await;
    let (status, body) = post_as(
        addr,
        "/leads",
        "multipart/form-data; boundary=x",
        "--x\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\na@b.io\r\n--x--\r\n",
    )
    .await;
    assert_eq!(status, 415, "{body}");
    assert_eq!(body["errors"][0]["field"], "payload");
    assert_eq!(svc.router.crm().calls(Method::UpsertLead), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_lead_routes_with_a_request_id_and_its_events() {
    let (addr, svc) = start(InMemoryCrm::new()).await;
    let started = now_ms() - 40_000;
    let body = format!(
        r#"{{"email": "cto@bigco.com", "first_name": "Dana", "country": "US", "company_size": "1000+", "leadroute_hp": "", "form_started": {started}}}"#
    );
    let r = exchange(
        addr,
        &request(
            "/leads",
            "application/json",
            "Origin: http://localhost:3000\r\nX-Request-Id: req-42\r\n",
            &body,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["rule"], "us-enterprise");
    assert_eq!(r.body["crm"]["created"], true);
    assert_eq!(r.header("x-request-id"), Some("req-42"));
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let lead_id = r.body["lead_id"].as_str().unwrap();
    assert_eq!(
        events_of(&svc, lead_id),
        [
            "form_submitted",
            "submission_screened",
            "account_not_matched",
            "owner_assigned",
            "crm_write_success"
        ]
    );
    let screened = &svc.router.events().of_lead(lead_id)[1];
    assert_eq!(serde_json::to_value(screened).unwrap()["score"], 0);
    // The control fields are not written to the CRM.
    let records = svc.router.crm().records();
    assert!(!records[0].lead.attributes.contains_key("form_started"));
    assert!(!records[0].lead.attributes.contains_key("leadroute_hp"));
    // Without a request id, the service makes one.
    let r = exchange(
        addr,
        &request(
            "/leads",
            "application/json",
            "",
            r#"{"email": "ops@initech.co.uk"}"#,
        ),
    )
    .await;
    assert_eq!(
        r.header("x-request-id").map(str::len),
        Some(36),
        "a UUID: {:?}",
        r.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_honeypot_hit_is_rejected_and_not_written() {
    let (addr, svc) = start(InMemoryCrm::new()).await;
    let (status, body) = post_as(
        addr,
        "/leads",
        "application/x-www-form-urlencoded",
        "email=seo%40growth-hacks.com&first_name=John&leadroute_hp=http%3A%2F%2Fbacklinks.example",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rule"], "spam-reject");
    assert_eq!(
        body["experience"],
        serde_json::json!({"reject": {"reason": "submission rejected"}})
    );
    assert_eq!(body["crm"], serde_json::json!({"skipped": true}));
    assert!(
        body.get("signals").is_none(),
        "signals stay out of the reply"
    );
    assert_eq!(svc.router.crm().calls(Method::UpsertLead), 0);
    let lead_id = body["lead_id"].as_str().unwrap();
    assert_eq!(
        events_of(&svc, lead_id),
        [
            "form_submitted",
            "submission_screened",
            "account_not_matched",
            "lead_rejected",
            "crm_write_skipped"
        ]
    );
    let rejected = serde_json::to_value(&svc.router.events().of_lead(lead_id)[3]).unwrap();
    assert_eq!(rejected["signals"], serde_json::json!(["honeypot"]));
    assert_eq!(rejected["score"], 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_too_fast_submission_is_held_for_review() {
    let (addr, svc) = start(InMemoryCrm::new()).await;
    let body = format!(
        r#"{{"email": "dana@globex.com", "first_name": "Dana", "form_started": {}}}"#,
        now_ms() - 600
    );
    let (status, body) = post(addr, "/leads", &body).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rule"], "spam-review");
    assert_eq!(body["experience"], "manual_review");
    assert_eq!(body["owner"], Value::Null);
    assert_eq!(
        body["crm"]["created"], true,
        "held, not rejected: written for a person to look at"
    );
    let lead_id = body["lead_id"].as_str().unwrap();
    let events = svc.router.events().of_lead(lead_id);
    let screened = serde_json::to_value(&events[1]).unwrap();
    assert_eq!(screened["event"], "submission_screened");
    assert_eq!(screened["signals"][0]["kind"], "too_fast");
    assert_eq!(screened["score"], 60);
    assert_eq!(svc.router.crm().records()[0].lead.email, "dana@globex.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_gets_413_and_routes_nothing() {
    let (addr, svc) = start(InMemoryCrm::new()).await;
    let big = format!(
        r#"{{"email": "a@b.io", "message": "{}"}}"#,
        "x".repeat(70 * 1024)
    );
    let r = exchange(addr, &request("/leads", "application/json", "", &big)).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["errors"][0]["code"], "payload_too_large");
    // Chunked, with no length up front: cut off while reading.
    let chunk = "x".repeat(16 * 1024);
    let mut raw = b"POST /leads HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..5 {
        raw.extend_from_slice(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes());
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let r = exchange(addr, &raw).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.body["errors"][0]["code"], "payload_too_large");
    assert!(
        svc.router.events().recent().is_empty(),
        "nothing was routed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_partial_body_is_cut_off_with_408() {
    let mut config = ServiceConfig::default();
    config.body_timeout = Duration::from_millis(300);
    let (addr, svc) = start_with(InMemoryCrm::new(), config).await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /leads HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\nConnection: close\r\n\r\n{\"email\": \"slo")
        .await
        .unwrap();
    let t = std::time::Instant::now();
    let r = read_reply(&mut stream).await;
    assert_eq!(r.status, 408);
    assert_eq!(r.body["errors"][0]["code"], "body_timeout");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "bounded by the body timeout"
    );
    assert!(
        svc.router.events().recent().is_empty(),
        "nothing was routed"
    );
}

/// Writes `bytes` one at a time, `gap` apart, until done or the server
/// closes the connection; returns how many were written.
async fn trickle(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    bytes: Vec<u8>,
    gap: Duration,
) -> usize {
    for (i, b) in bytes.iter().enumerate() {
        if writer.write_all(&[*b]).await.is_err() || writer.flush().await.is_err() {
            return i;
        }
        tokio::time::sleep(gap).await;
    }
    bytes.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_request_head_is_disconnected_at_the_header_timeout() {
    let mut config = ServiceConfig::default();
    config.header_timeout = Duration::from_millis(300);
    let (addr, svc) = start_with(InMemoryCrm::new(), config).await;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, writer) = stream.into_split();
    // A request line, then one header byte every 100 ms: 80 bytes would
    // take 8 s, far past the 300 ms allowed for the whole head.
    let mut head = b"POST /leads HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    head.extend_from_slice(&[b'X'; 80]);
    let writing = tokio::spawn(trickle(writer, head, Duration::from_millis(100)));
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(6), reader.read_to_end(&mut answer)).await;
    assert!(
        read.is_ok(),
        "the server closed the connection (the read ended) well before the client finished"
    );
    assert!(
        answer.is_empty(),
        "no answer is sent to a request that never arrived: {:?}",
        String::from_utf8_lossy(&answer)
    );
    let written = writing.await.unwrap();
    assert!(
        written < 80,
        "the client was cut off, after {written} bytes"
    );
    assert!(
        svc.router.events().recent().is_empty(),
        "nothing was routed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_in_pieces_within_the_timeout_is_served() {
    let mut config = ServiceConfig::default();
    config.header_timeout = Duration::from_secs(5);
    let (addr, _svc) = start_with(InMemoryCrm::new(), config).await;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    for piece in [
        &b"GET /healthz HTTP/1.1\r\n"[..],
        b"Host: localhost\r\n",
        b"Connection: close\r\n\r\n",
    ] {
        writer.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_one_client_gets_429_with_retry_after() {
    let (addr, svc) = start(InMemoryCrm::new()).await;
    let mut statuses = Vec::new();
    let mut last = None;
    for i in 0..7 {
        let r = exchange(
            addr,
            &request(
                "/leads",
                "application/json",
                "",
                &format!(r#"{{"email": "u{i}@globex.com"}}"#),
            ),
        )
        .await;
        statuses.push(r.status);
        last = Some(r);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    let last = last.unwrap();
    let retry: u64 = last.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(last.body["errors"][0]["code"], "rate_limited");
    // The limited requests were never routed: five leads, five routes.
    let submitted = svc
        .router
        .events()
        .recent()
        .iter()
        .filter(|e| e.name() == "form_submitted")
        .count();
    assert_eq!(submitted, 5);
    // Other endpoints are not limited.
    let r = exchange(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disallowed_origin_gets_403_and_no_cors_grant() {
    let mut config = ServiceConfig::default();
    config.allowed_origins = vec!["https://www.acme.com".into()];
    let (addr, svc) = start_with(InMemoryCrm::new(), config).await;
    let r = exchange(
        addr,
        &request(
            "/leads",
            "application/json",
            "Origin: https://evil.example\r\n",
            r#"{"email": "a@acme.com"}"#,
        ),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["errors"][0]["code"], "origin_not_allowed");
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert!(
        svc.router.events().recent().is_empty(),
        "nothing was routed"
    );
    // A preflight from the allowed origin is granted; from another, not.
    let preflight = |origin: &str| {
        format!("OPTIONS /leads HTTP/1.1\r\nHost: localhost\r\nOrigin: {origin}\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\nConnection: close\r\n\r\n").into_bytes()
    };
    let r = exchange(addr, &preflight("https://www.acme.com")).await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://www.acme.com")
    );
    let r = exchange(addr, &preflight("https://evil.example")).await;
    assert_eq!(r.header("access-control-allow-origin"), None);
    // The allowed origin posts.
    let r = exchange(
        addr,
        &request(
            "/leads",
            "application/json",
            "Origin: https://www.acme.com\r\n",
            r#"{"email": "a@acme.com"}"#,
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_submissions_of_one_email_are_held() {
    let mut config = ServiceConfig::default();
    config.rate_per_minute = 100;
    config.rate_burst = 100;
    let (addr, svc) = start_with(InMemoryCrm::new(), config).await;
    let mut rules = Vec::new();
    for i in 0..5 {
        let (status, body) = post(
            addr,
            "/leads",
            &format!(r#"{{"email": "Jane@Globex.com", "first_name": "Jane", "lead_id": "j{i}"}}"#),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        rules.push(body["rule"].as_str().unwrap_or("(fallback)").to_owned());
    }
    // The fourth and fifth have three or more earlier submissions.
    assert_eq!(&rules[3..], ["spam-review", "spam-review"]);
    assert_ne!(rules[2], "spam-review");
    // Replays (a retry with the same lead id) are not repeats.
    for _ in 0..5 {
        let (_, body) = post(
            addr,
            "/leads",
            r#"{"email": "kim@globex.com", "first_name": "Kim", "lead_id": "k1"}"#,
        )
        .await;
        assert_ne!(body["rule"], "spam-review", "{body}");
    }
    let events = svc.router.events().of_lead("j4");
    assert_eq!(
        serde_json::to_value(&events[1]).unwrap()["signals"][0]["kind"],
        "repeated_submission"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_the_route_in_flight() {
    let crm = InMemoryCrm::new();
    crm.delay_next(Method::UpsertLead, 1, Duration::from_millis(800));
    let (addr, svc, stop, task) = start_stoppable(crm, ServiceConfig::default()).await;
    let in_flight = tokio::spawn(async move {
        post(
            addr,
            "/leads",
            r#"{"email": "cto@bigco.com", "country": "US", "company_size": "1000+"}"#,
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["crm"]["created"], true,
        "the write finished before the server stopped"
    );
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
    assert_eq!(svc.router.crm().records().len(), 1);
}
