//! The HubSpot adapter against the loopback mock: the exact requests it
//! sends and how each documented response is classified.

#[path = "../examples/hubspot.rs"]
#[allow(dead_code)]
mod hubspot;

use std::collections::BTreeMap;
use std::time::Duration;

use hubspot::demo;
use leadroute::Crm;
use leadroute::crm::{CrmError, PersonKind};
use leadroute::router::Routed;
use leadroute_examples::ExampleRouter;
use leadroute_examples::mock::{Expect, MockServer, Recorded, Reply};
use leadroute_hubspot::support::{DomainMatch, company_matches, existing_id, rate_limit_wait};
use leadroute_hubspot::{ApiPaths, HubSpot, HubSpotConfig, StaticToken};
use serde_json::{Value, json};

const TOKEN: &str = "pat-na1-11111111-2222-3333-4444-555555555555";
const SEARCH: &str = "/crm/v3/objects/companies/search";
const CONTACTS: &str = "/crm/v3/objects/contacts";

async fn setup() -> (MockServer, HubSpot) {
    setup_with(|c| c).await
}

async fn setup_with(f: impl FnOnce(HubSpotConfig) -> HubSpotConfig) -> (MockServer, HubSpot) {
    let server = MockServer::start().await.unwrap();
    let policy = leadroute_examples::seed_policy().unwrap();
    let crm = HubSpot::new(
        f(HubSpotConfig::new(server.base_url())),
        StaticToken::new(TOKEN),
        &policy,
    )
    .unwrap();
    (server, crm)
}

fn router(crm: HubSpot) -> ExampleRouter<HubSpot> {
    leadroute_examples::router(leadroute_examples::seed_policy().unwrap(), crm)
}

/// Every header the adapter sent but `host` and `content-length`.
fn headers(r: &Recorded) -> BTreeMap<String, String> {
    r.headers_except(&["host", "content-length"])
}

fn expected_headers(with_json_body: bool) -> BTreeMap<String, String> {
    let mut h = BTreeMap::from([
        ("accept".to_owned(), "application/json".to_owned()),
        ("authorization".to_owned(), format!("Bearer {TOKEN}")),
        (
            "user-agent".to_owned(),
            leadroute_hubspot::USER_AGENT.to_owned(),
        ),
    ]);
    if with_json_body {
        h.insert("content-type".to_owned(), "application/json".to_owned());
    }
    h
}

fn search_body(domain: &str) -> Value {
    json!({
        "filterGroups": [
            { "filters": [ { "propertyName": "domain", "operator": "EQ", "value": domain } ] },
            { "filters": [ { "propertyName": "hs_additional_domains", "operator": "CONTAINS_TOKEN", "value": domain } ] }
        ],
        "properties": ["name", "domain", "hs_additional_domains", "hubspot_owner_id", "lifecyclestage"],
        // Required by PublicObjectSearchRequest in HubSpot's OpenAPI document (defect 7).
        "sorts": [],
        "after": "0",
        "limit": 10
    })
}

/// The router's candidate search for a lead at `domain` (brand `brand`)
/// whose company name's longest word is `word`.
fn candidate_body(domain: &str, brand: &str, word: &str) -> Value {
    json!({
        "filterGroups": [
            { "filters": [ { "propertyName": "domain", "operator": "EQ", "value": domain } ] },
            { "filters": [ { "propertyName": "hs_additional_domains", "operator": "CONTAINS_TOKEN", "value": domain } ] },
            { "filters": [ { "propertyName": "domain", "operator": "CONTAINS_TOKEN", "value": format!("{brand}.*") } ] },
            { "filters": [ { "propertyName": "name", "operator": "CONTAINS_TOKEN", "value": word } ] }
        ],
        "properties": ["name", "domain", "hs_additional_domains", "hubspot_owner_id", "lifecyclestage",
                       "country", "zip", "phone", "hs_parent_company_id"],
        "sorts": [],
        "after": "0",
        "limit": 50
    })
}

fn assert_get_contact(r: &Recorded, encoded_email: &str) {
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, format!("{CONTACTS}/{encoded_email}"));
    assert_eq!(
        r.query.as_deref(),
        Some("idProperty=email&properties=email%2Chubspot_owner_id%2Cassociatedcompanyid")
    );
    assert_eq!(headers(r), expected_headers(false));
    assert_eq!(r.body, "");
}

fn assert_search(r: &Recorded, domain: &str) {
    assert_eq!(
        (r.method.as_str(), r.path.as_str(), r.query.as_deref()),
        ("POST", SEARCH, None)
    );
    assert_eq!(headers(r), expected_headers(true));
    assert_eq!(r.json().unwrap(), search_body(domain));
}

/// The two lookups run concurrently: returns (search, contact GET, the rest in order).
fn split_lookups(mut requests: Vec<Recorded>) -> (Recorded, Recorded, Vec<Recorded>) {
    assert!(requests.len() >= 2, "{requests:#?}");
    let rest = requests.split_off(2);
    let (a, b) = (requests.remove(0), requests.remove(0));
    if a.path == SEARCH {
        (a, b, rest)
    } else {
        (b, a, rest)
    }
}

async fn route(router: &ExampleRouter<HubSpot>, payload: &str) -> Routed {
    router.route_json(payload).await.unwrap()
}

// ---------------------------------------------------------------- lookups

#[tokio::test]
async fn company_search_sends_the_documented_request_and_rechecks_domains_on_the_client() {
    let (server, crm) = setup().await;
    demo::search(
        &server,
        json!([
            // CONTAINS_TOKEN false positives: neither `domain` nor any `;` entry is exactly acme.com.
            demo::company(
                "1001",
                "Acme AU",
                "acme.com.au",
                "acme.com.au; shop.acme.com",
                "9004",
                ""
            ),
            demo::company("1002", "Notacme", "notacme.com", "acme.co", "9005", ""),
            // The match, on an additional domain (spaces and case as HubSpot stores them).
            demo::company(
                "1003",
                "Acme Corporation",
                "acme.io",
                "acme.io; ACME.com ;acme.co.uk",
                "9003",
                "customer"
            ),
        ]),
    );
    let account = crm.find_account("Acme.com").await.unwrap().unwrap();
    assert_eq!(account.id, "1003");
    assert_eq!(account.name, "Acme Corporation");
    assert_eq!(account.domain.as_deref(), Some("acme.com"));
    assert_eq!(
        account.owner.as_deref(),
        Some("cleo"),
        "HubSpot owner 9003 is cleo in the seed policy"
    );
    assert!(account.is_customer);
    assert_eq!(account.fields["hubspot_owner_id"], "9003");

    let sent = server.take_requests();
    assert_eq!(sent.len(), 1);
    assert_search(&sent[0], "acme.com");
}

#[tokio::test]
async fn a_primary_domain_match_wins_and_unknown_or_empty_owners_map_to_none() {
    let (server, crm) = setup().await;
    demo::search(
        &server,
        json!([
            demo::company("2001", "Acme (old)", "acme.net", "acme.com", "9001", ""),
            demo::company("2002", "Acme", "www.acme.com", "", "424242", "lead"),
        ]),
    );
    let account = crm.find_account("acme.com").await.unwrap().unwrap();
    assert_eq!(account.id, "2002");
    assert_eq!(account.owner, None, "owner 424242 is not in the policy");
    assert!(!account.is_customer);

    // `""` (a cleared property) and `null` are both "no owner".
    let mut cleared = demo::company("2003", "Acme", "acme.com", "", "", "");
    cleared["properties"]["hubspot_owner_id"] = json!("");
    demo::search(&server, json!([cleared]));
    let account = crm.find_account("acme.com").await.unwrap().unwrap();
    assert_eq!(
        (account.id.as_str(), account.owner.as_deref()),
        ("2003", None)
    );

    // No result at all, and only false positives.
    demo::search(&server, json!([]));
    assert_eq!(crm.find_account("acme.com").await.unwrap(), None);
    demo::search(
        &server,
        json!([demo::company(
            "2004",
            "X",
            "acme.co",
            "acme.com.br",
            "9001",
            ""
        )]),
    );
    assert_eq!(crm.find_account("acme.com").await.unwrap(), None);
    assert_eq!(server.take_requests().len(), 4);
}

#[test]
fn company_matching_splits_additional_domains_on_semicolons() {
    assert_eq!(
        company_matches("acme.com", Some("ACME.com"), None),
        Some(DomainMatch::Primary)
    );
    assert_eq!(
        company_matches("acme.com", Some("www.acme.com."), None),
        Some(DomainMatch::Primary)
    );
    assert_eq!(
        company_matches(
            "acme.com",
            Some("acme.io"),
            Some("domain.com; acme.com; domain3.com")
        ),
        Some(DomainMatch::Additional)
    );
    assert_eq!(
        company_matches("acme.com", Some("acme.io"), Some("acme.com.au;myacme.com")),
        None
    );
    assert_eq!(company_matches("acme.com", None, Some("acme")), None);
    assert_eq!(company_matches("acme.com", None, None), None);
}

#[tokio::test]
async fn contact_lookup_gets_by_email_with_id_property() {
    let (server, crm) = setup().await;
    demo::contact(
        &server,
        "jane@acme.com",
        "37765128953",
        "9001",
        "5790939450",
    );
    let contact = crm.find_person("Jane@ACME.com").await.unwrap().unwrap();
    assert_eq!(contact.id, "37765128953");
    assert_eq!(contact.kind, PersonKind::Contact);
    assert_eq!(contact.owner.as_deref(), Some("ana"));
    assert_eq!(contact.account_id.as_deref(), Some("5790939450"));

    let sent = server.take_requests();
    assert_eq!(sent.len(), 1);
    assert_get_contact(&sent[0], "jane%40acme.com");
    assert_eq!(
        sent[0].query_param("properties").as_deref(),
        Some("email,hubspot_owner_id,associatedcompanyid")
    );
}

#[tokio::test]
async fn an_email_cannot_add_path_segments_or_query_parameters() {
    let (server, crm) = setup().await;
    demo::no_contact(&server, "a/../b?x=1#@acme.com");
    assert_eq!(crm.find_person("a/../b?x=1#@acme.com").await.unwrap(), None);
    let sent = server.take_requests();
    assert_get_contact(&sent[0], "a%2F..%2Fb%3Fx%3D1%23%40acme.com");
}

#[tokio::test]
async fn a_404_on_get_by_email_is_no_contact() {
    let (server, crm) = setup().await;
    demo::no_contact(&server, "nobody@acme.com");
    assert_eq!(crm.find_person("nobody@acme.com").await.unwrap(), None);
    // Any 404 body, even a non-JSON one.
    server.script(
        Expect::new("GET", &format!("{CONTACTS}/nobody@acme.com")),
        Reply::empty(404),
    );
    assert_eq!(crm.find_person("nobody@acme.com").await.unwrap(), None);
}

// ---------------------------------------------------------- classification

async fn lookup_error(reply: Reply) -> CrmError {
    let (server, crm) = setup().await;
    server.script(
        Expect::new("GET", &format!("{CONTACTS}/jane@acme.com")),
        reply,
    );
    crm.find_person("jane@acme.com").await.unwrap_err()
}

fn rate_limited_for(e: &CrmError) -> Option<Duration> {
    match e {
        CrmError::RateLimited { retry_after, .. } => *retry_after,
        other => panic!("expected rate_limited, got {other:?}"),
    }
}

#[tokio::test]
async fn rate_limits_wait_by_policy_name_or_retry_after() {
    let e = lookup_error(Reply::json(429, demo::rate_limit_body())).await;
    assert_eq!(rate_limited_for(&e), Some(Duration::from_secs(10)));
    assert!(e.to_string().contains("TEN_SECONDLY_ROLLING"), "{e}");

    let secondly = json!({"status":"error","message":"You have reached your secondly limit.","errorType":"RATE_LIMIT","correlationId":"6828d000-3d2f-4701-8d90-b21e53b0d005","policyName":"SECONDLY","requestId":"ce6a6a91-ac17-492f-bbdb-7d72477c319c"});
    let e = lookup_error(Reply::json(429, secondly)).await;
    assert_eq!(rate_limited_for(&e), Some(Duration::from_secs(1)));

    let daily = json!({"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"c033cdaa-2c40-4a64-ae48-b4cec88dad24","policyName":"DAILY","requestId":"3d3e35b7-0dae-4b9f-a6e3-9c230cbcf8dd"});
    let e = lookup_error(Reply::json(429, daily)).await;
    assert_eq!(rate_limited_for(&e), Some(Duration::from_secs(3600)));

    // Retry-After wins when present.
    let e =
        lookup_error(Reply::json(429, demo::rate_limit_body()).header("Retry-After", "3")).await;
    assert_eq!(rate_limited_for(&e), Some(Duration::from_secs(3)));

    // A 429 whose body says nothing (category-only, or not JSON at all).
    let e = lookup_error(Reply::json(
        429,
        json!({"status":"error","message":"Too many","category":"RATE_LIMITS"}),
    ))
    .await;
    assert_eq!(rate_limited_for(&e), Some(Duration::from_secs(10)));
    let e = lookup_error(Reply::empty(429)).await;
    assert_eq!(rate_limited_for(&e), Some(Duration::from_secs(10)));

    // 423 Locked: wait about 2 s.
    let e = lookup_error(Reply::json(
        423,
        json!({"status":"error","message":"Locked","category":"LOCKED"}),
    ))
    .await;
    assert_eq!(rate_limited_for(&e), Some(Duration::from_secs(2)));

    assert_eq!(
        rate_limit_wait(Some("ten_secondly_rolling"), ""),
        Duration::from_secs(10)
    );
    assert_eq!(
        rate_limit_wait(None, "You have reached your secondly limit."),
        Duration::from_secs(1)
    );
}

#[tokio::test]
async fn auth_failures_are_permanent_and_server_errors_transient() {
    let unauthorized = json!({"status":"error","message":"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview","correlationId":"f0ee980f-a446-4189-b004-ff06d08bf4e3","category":"INVALID_AUTHENTICATION"});
    let e = lookup_error(
        Reply::json(401, unauthorized).header("x-hubspot-auth-failure", "401 Unauthorized"),
    )
    .await;
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");
    assert!(e.to_string().contains("INVALID_AUTHENTICATION"), "{e}");

    let scopes = json!({"status":"error","message":"This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.","correlationId":"a43683b0-5717-4ceb-80b4-104d02915d8c","errors":[{"message":"One or more of the following scopes are required.","context":{"requiredScopes":["contacts"]}}],"links":{"scopes":"https://developers.hubspot.com/scopes"},"category":"MISSING_SCOPES"});
    let e = lookup_error(Reply::json(403, scopes)).await;
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");
    assert!(e.to_string().contains("MISSING_SCOPES"), "{e}");

    let invalid = json!({"status":"error","message":"Property values were not valid","errors":[{"message":"Property \"leadroute_rule\" does not exist","in":"leadroute_rule"}],"category":"VALIDATION_ERROR","correlationId":"a43683b0-5717-4ceb-80b4-104d02915d8c"});
    let e = lookup_error(Reply::json(400, invalid)).await;
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");

    for status in [500, 502, 503, 504] {
        let e = lookup_error(Reply::json(
            status,
            json!({"status":"error","message":"internal error","category":"INTERNAL_ERROR"}),
        ))
        .await;
        assert!(matches!(e, CrmError::Transient { .. }), "{status}: {e:?}");
    }
    let e = lookup_error(Reply::empty(502)).await;
    assert!(matches!(e, CrmError::Transient { .. }), "{e:?}");
}

#[tokio::test]
async fn an_unreachable_api_is_transient_and_an_unexpected_success_body_permanent() {
    let policy = leadroute_examples::seed_policy().unwrap();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let crm = HubSpot::new(
        HubSpotConfig::new(format!("http://{closed}")),
        StaticToken::new(TOKEN),
        &policy,
    )
    .unwrap();
    let e = crm.find_account("acme.com").await.unwrap_err();
    assert!(matches!(e, CrmError::Transient { .. }), "{e:?}");

    let (server, crm) = setup().await;
    server.script(
        Expect::new("POST", SEARCH),
        Reply::json(200, json!({"unexpected": true})),
    );
    let e = crm.find_account("acme.com").await.unwrap_err();
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");
}

#[test]
fn the_existing_id_is_read_from_the_409_message() {
    assert_eq!(
        existing_id("Contact already exists. Existing ID: 37765128953").as_deref(),
        Some("37765128953")
    );
    assert_eq!(
        existing_id("Contact already exists. Existing ID:42").as_deref(),
        Some("42")
    );
    assert_eq!(existing_id("Contact already exists."), None);
    assert_eq!(existing_id("Existing ID: abc"), None);
}

#[tokio::test]
async fn candidate_search_asks_by_domain_brand_and_name_and_reads_what_the_matcher_needs() {
    let (server, crm) = setup().await;
    let mut uk = demo::company("2001", "Acme UK Ltd", "acme.co.uk", "", "9003", "");
    uk["properties"]["country"] = json!("United Kingdom");
    uk["properties"]["zip"] = json!("SW1A 1AA");
    uk["properties"]["hs_parent_company_id"] = json!("2002");
    let mut parent = demo::company(
        "2002",
        "Acme Corporation",
        "acme.com",
        "acme.de; ACME.fr ",
        "9004",
        "customer",
    );
    parent["properties"]["phone"] = json!("+1 415 555 0100");
    // The same company twice (two filter groups hit it) comes back once.
    demo::search(&server, json!([uk, parent.clone(), parent]));
    let lead = leadroute::Normalizer::default()
        .normalize_json(r#"{"email": "jane@mail.acme.io", "website": "acme.io", "company": "Acme Holdings GmbH"}"#)
        .unwrap()
        .lead;
    let query = leadroute::crm::CandidateQuery::for_lead(&lead, 500);
    let found = crm.find_candidates(&query).await.unwrap();
    assert_eq!(
        found.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["2001", "2002"]
    );
    assert_eq!(found[0].country.as_deref(), Some("United Kingdom"));
    assert_eq!(found[0].postal_code.as_deref(), Some("SW1A 1AA"));
    assert_eq!(found[0].parent_id.as_deref(), Some("2002"));
    assert_eq!(found[1].domain.as_deref(), Some("acme.com"));
    assert_eq!(found[1].additional_domains, ["acme.de", "acme.fr"]);
    assert_eq!(found[1].phone.as_deref(), Some("+1 415 555 0100"));
    assert!(found[1].is_customer);
    let sent = server.take_requests();
    assert_eq!(sent.len(), 1);
    let body = sent[0].json().unwrap();
    // Five groups, the email host among them; the limit capped at HubSpot's 200.
    assert_eq!(
        body["filterGroups"],
        json!([
            { "filters": [ { "propertyName": "domain", "operator": "EQ", "value": "acme.io" } ] },
            { "filters": [ { "propertyName": "hs_additional_domains", "operator": "CONTAINS_TOKEN", "value": "acme.io" } ] },
            { "filters": [ { "propertyName": "domain", "operator": "EQ", "value": "mail.acme.io" } ] },
            { "filters": [ { "propertyName": "domain", "operator": "CONTAINS_TOKEN", "value": "acme.*" } ] },
            { "filters": [ { "propertyName": "name", "operator": "CONTAINS_TOKEN", "value": "holdings" } ] }
        ])
    );
    assert_eq!(body["limit"], 200);
}

/// `n` companies that share only a word of the name (`Globex …`).
fn namesakes(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            demo::company(
                &format!("40{i:02}"),
                &format!("Globex Holdings {i}"),
                &format!("globex-holdings-{i}.example"),
                "",
                "9004",
                "",
            )
        })
        .collect()
}

/// Scripts one company search answering `results` of `total` matches.
fn search_page(server: &MockServer, results: Vec<Value>, total: usize) {
    let n = results.len();
    let mut body = json!({ "total": total, "results": results });
    if total > n {
        body["paging"] = json!({ "next": { "after": n.to_string() } });
    }
    server.script(Expect::new("POST", SEARCH), Reply::json(200, body));
}

#[tokio::test]
async fn a_full_candidate_page_searches_again_for_the_domain_and_puts_those_companies_first() {
    let (server, crm) = setup().await;
    search_page(&server, namesakes(3), 41);
    let own = demo::company(
        "3100",
        "Globex Corporation",
        "globex.com",
        "",
        "9003",
        "customer",
    );
    search_page(&server, vec![own], 1);
    let lead = leadroute::Normalizer::default()
        .normalize_json(r#"{"email": "jo@globex.com", "company": "Globex Corporation"}"#)
        .unwrap()
        .lead;
    let found = crm
        .find_candidates(&leadroute::crm::CandidateQuery::for_lead(&lead, 3))
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["3100", "4000", "4001"],
        "the strong match first, the page's others after it, at most the limit"
    );
    let sent = server.take_requests();
    assert_eq!(sent.len(), 2);
    let strong = sent[1].json().unwrap();
    assert_eq!(
        strong["filterGroups"],
        json!([
            { "filters": [ { "propertyName": "domain", "operator": "EQ", "value": "globex.com" } ] },
            { "filters": [ { "propertyName": "hs_additional_domains", "operator": "CONTAINS_TOKEN", "value": "globex.com" } ] },
            { "filters": [ { "propertyName": "name", "operator": "EQ", "value": "Globex Corporation" } ] }
        ])
    );
    assert_eq!(strong["limit"], 3);
    assert!(server.unused().is_empty());
}

#[tokio::test]
async fn a_candidate_page_that_holds_every_result_is_the_whole_answer() {
    let (server, crm) = setup().await;
    // As many results as the limit, and `total` says that is all of them.
    search_page(&server, namesakes(3), 3);
    let lead = leadroute::Normalizer::default()
        .normalize_json(r#"{"email": "jo@globex.com", "company": "Globex Corporation"}"#)
        .unwrap()
        .lead;
    let found = crm
        .find_candidates(&leadroute::crm::CandidateQuery::for_lead(&lead, 3))
        .await
        .unwrap();
    assert_eq!(found.len(), 3);
    assert_eq!(server.take_requests().len(), 1);
    // A query with nothing broader than the domain has no second search.
    let mut by_hand = leadroute::crm::CandidateQuery::default();
    by_hand.domain = Some("globex.com".into());
    assert!(leadroute_hubspot::support::exact_filter_groups(&by_hand).is_empty());
}

#[tokio::test]
async fn the_router_finds_the_domain_company_behind_a_page_of_namesakes() {
    // The router asks for 50 candidates; 50 `Globex …` companies fill the
    // page. Before, the lead went without its account (to the round robin)
    // instead of to the account owner.
    let (server, crm) = setup().await;
    search_page(&server, namesakes(50), 73);
    let own = demo::company(
        "3100",
        "Globex Corporation",
        "globex.com",
        "",
        "9003",
        "customer",
    );
    search_page(&server, vec![own], 1);
    demo::no_contact(&server, "jo@globex.com");
    demo::created(&server, "37765128099", "jo@globex.com");
    let routed = route(
        &router(crm),
        r#"{"email": "jo@globex.com", "company": "Globex Corporation"}"#,
    )
    .await;
    let m = routed.lookups.account_match.as_deref().unwrap();
    assert_eq!(m.account_id.as_deref(), Some("3100"), "{m}");
    assert_eq!(routed.decision.owner.as_deref(), Some("cleo"));
    assert_eq!(routed.decision.rule.as_deref(), Some("existing-customer"));
}

#[tokio::test]
async fn the_router_matches_a_regional_domain_to_the_company_across_tlds() {
    let (server, crm) = setup().await;
    demo::search(
        &server,
        json!([
            demo::company(
                "3001",
                "Acme Corporation",
                "acme.com",
                "",
                "9003",
                "customer"
            ),
            demo::company("3002", "Acme Labs", "acmelabs.io", "", "9004", ""),
        ]),
    );
    demo::no_contact(&server, "jane@acme.co.uk");
    demo::created(&server, "37765128011", "jane@acme.co.uk");
    let routed = route(
        &router(crm),
        r#"{"email": "jane@acme.co.uk", "company": "ACME Ltd"}"#,
    )
    .await;
    let m = routed.lookups.account_match.as_deref().unwrap();
    assert_eq!(m.account_id.as_deref(), Some("3001"));
    assert_eq!(m.method, Some(leadroute::matching::MatchMethod::CrossTld));
    assert_eq!(
        routed
            .lookups
            .matched_account
            .as_ref()
            .unwrap()
            .owner
            .as_deref(),
        Some("cleo")
    );
    let (search, _, _) = split_lookups(server.take_requests());
    assert_eq!(
        search.json().unwrap(),
        candidate_body("acme.co.uk", "acme", "acme")
    );
}

/// The brand-search filter groups of a candidate search body.
fn brand_groups(body: &Value) -> Vec<String> {
    body["filterGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["filters"][0])
        .filter(|f| f["propertyName"] == "domain" && f["operator"] == "CONTAINS_TOKEN")
        .map(|f| f["value"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_hyphenated_brand_is_searched_with_and_without_its_hyphen_and_matches_across_tlds() {
    // The lead writes `acme-corp`; the CRM's account `acmecorp.de`. The
    // matcher reads both as the brand `acmecorp`, so the search must ask
    // for both spellings.
    let (server, crm) = setup().await;
    demo::search(
        &server,
        json!([demo::company(
            "4001",
            "Acme Corp GmbH",
            "acmecorp.de",
            "",
            "9003",
            "customer"
        )]),
    );
    demo::no_contact(&server, "jane@acme-corp.co.uk");
    demo::created(&server, "37765128012", "jane@acme-corp.co.uk");
    let routed = route(
        &router(crm),
        r#"{"email": "jane@acme-corp.co.uk", "company": "Acme Corp Ltd"}"#,
    )
    .await;
    let m = routed.lookups.account_match.as_deref().unwrap();
    assert_eq!(m.account_id.as_deref(), Some("4001"));
    assert_eq!(m.method, Some(leadroute::matching::MatchMethod::CrossTld));
    let (search, _, _) = split_lookups(server.take_requests());
    let body = search.json().unwrap();
    assert_eq!(brand_groups(&body), ["acme-corp.*", "acmecorp.*"]);
    assert_eq!(body["filterGroups"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn an_unhyphenated_brand_is_also_searched_hyphenated_where_the_name_spells_it() {
    let (server, crm) = setup().await;
    demo::search(
        &server,
        json!([demo::company(
            "4002",
            "Quill Feather Analytics GmbH",
            "quill-feather.de",
            "",
            "9003",
            ""
        )]),
    );
    demo::no_contact(&server, "jo@quillfeather.io");
    demo::created(&server, "37765128013", "jo@quillfeather.io");
    let routed = route(
        &router(crm),
        r#"{"email": "jo@quillfeather.io", "company": "Quill Feather Analytics, Inc."}"#,
    )
    .await;
    let m = routed.lookups.account_match.as_deref().unwrap();
    assert_eq!(m.account_id.as_deref(), Some("4002"));
    assert_eq!(m.method, Some(leadroute::matching::MatchMethod::CrossTld));
    let (search, _, _) = split_lookups(server.take_requests());
    assert_eq!(
        brand_groups(&search.json().unwrap()),
        ["quillfeather.*", "quill-feather.*"]
    );
}

#[test]
fn the_search_keeps_to_five_filter_groups_dropping_a_second_brand_spelling_first() {
    use leadroute_hubspot::support::{MAX_FILTER_GROUPS, candidate_filter_groups};
    // Company domain, additional domains, a different email host, two
    // spellings of the brand and a name word: six wanted, five sent.
    let lead = leadroute::Normalizer::default()
        .normalize_json(
            r#"{"email": "jo@mail.acme-corp.io", "website": "acme-corp.io", "company": "Acme Holdings"}"#,
        )
        .unwrap()
        .lead;
    let query = leadroute::crm::CandidateQuery::for_lead(&lead, 50);
    assert_eq!(query.brand_spellings, ["acme-corp", "acmecorp"]);
    let groups = candidate_filter_groups(&query);
    assert_eq!(groups.len(), MAX_FILTER_GROUPS);
    let values: Vec<&str> = groups
        .iter()
        .map(|g| g["filters"][0]["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            "acme-corp.io",
            "acme-corp.io",
            "mail.acme-corp.io",
            "acme-corp.*",
            "holdings"
        ]
    );
    // A query built by hand with only the brand still searches it.
    let mut by_hand = leadroute::crm::CandidateQuery::default();
    by_hand.brand = Some("initech".into());
    assert_eq!(
        candidate_filter_groups(&by_hand),
        [
            json!({"filters": [{"propertyName": "domain", "operator": "CONTAINS_TOKEN", "value": "initech.*"}]})
        ]
    );
}

#[tokio::test]
async fn a_lead_with_nothing_to_search_on_sends_no_request() {
    let (server, crm) = setup().await;
    demo::search(&server, json!([]));
    let lead = leadroute::Normalizer::default()
        .normalize_json(r#"{"email": "jane@gmail.com"}"#)
        .unwrap()
        .lead;
    // Nothing to search on: no request at all.
    let found = crm
        .find_candidates(&leadroute::crm::CandidateQuery::for_lead(&lead, 50))
        .await
        .unwrap();
    assert!(found.is_empty());
    assert!(server.take_requests().is_empty());
}

// ------------------------------------------------------------------ writes

#[tokio::test]
async fn a_new_lead_is_created_with_owner_routing_fields_and_no_association() {
    let (server, crm) = setup().await;
    demo::search(&server, json!([]));
    demo::no_contact(&server, "jane@newco.com");
    demo::created(&server, "37765128001", "jane@newco.com");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-1", "email": "Jane@NewCo.com", "first_name": "Jane", "last_name": "Doe",
            "company": "NewCo", "country": "US", "state": "CA", "zip": "94105", "company_size": "1000+"}"#,
    )
    .await;
    assert_eq!(routed.decision.owner_id(), Some("ana"));
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("37765128001", true)
    );

    let (search, get, rest) = split_lookups(server.take_requests());
    assert_eq!(
        (search.method.as_str(), search.path.as_str()),
        ("POST", SEARCH)
    );
    assert_eq!(
        search.json().unwrap(),
        candidate_body("newco.com", "newco", "newco")
    );
    assert_get_contact(&get, "jane%40newco.com");
    assert_eq!(rest.len(), 1);
    let post = &rest[0];
    assert_eq!(
        (
            post.method.as_str(),
            post.path.as_str(),
            post.query.as_deref()
        ),
        ("POST", CONTACTS, None)
    );
    assert_eq!(headers(post), expected_headers(true));
    assert_eq!(
        post.json().unwrap(),
        json!({ "properties": {
            "email": "Jane@newco.com",
            "firstname": "Jane",
            "lastname": "Doe",
            "company": "NewCo",
            "country": "US",
            "state": "CA",
            "zip": "94105",
            "hubspot_owner_id": "9001",
            "leadroute_lead_id": "t-1",
            "leadroute_owner": "ana",
            "leadroute_rule": "us-enterprise",
            "leadroute_experience": "book_meeting",
            "leadroute_policy_version": "seed-inbound@1"
        },
        // Required by SimplePublicObjectInputForCreate, even when empty (defect 7).
        "associations": []
        })
    );
}

#[tokio::test]
async fn a_lead_at_a_known_company_is_created_with_association_type_279() {
    let (server, crm) = setup().await;
    demo::search(
        &server,
        json!([demo::company(
            "5790939450",
            "Acme",
            "acme.com",
            "",
            "9003",
            "customer"
        )]),
    );
    demo::no_contact(&server, "sam@acme.com");
    demo::created(&server, "37765128002", "sam@acme.com");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-2", "email": "sam@acme.com"}"#,
    )
    .await;
    assert_eq!(routed.decision.owner_id(), Some("cleo"));
    assert_eq!(routed.decision.rule.as_deref(), Some("existing-customer"));
    assert!(routed.write.receipt().unwrap().created);

    let (_, _, rest) = split_lookups(server.take_requests());
    assert_eq!(rest.len(), 1);
    assert_eq!(
        rest[0].json().unwrap(),
        json!({
            "properties": {
                "email": "sam@acme.com",
                "hubspot_owner_id": "9003",
                "leadroute_lead_id": "t-2",
                "leadroute_owner": "cleo",
                "leadroute_rule": "existing-customer",
                "leadroute_experience": "customer_success",
                "leadroute_policy_version": "seed-inbound@1"
            },
            "associations": [{
                "to": { "id": "5790939450" },
                "types": [ { "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279 } ]
            }]
        })
    );
}

#[tokio::test]
async fn an_existing_contact_is_patched_then_associated_with_the_v4_default_put() {
    let (server, crm) = setup().await;
    demo::search(
        &server,
        json!([demo::company(
            "5790939460",
            "Initech",
            "initech.io",
            "",
            "9002",
            "opportunity"
        )]),
    );
    demo::contact(
        &server,
        "lee@initech.io",
        "37765128953",
        "9002",
        "5790939460",
    );
    demo::updated(&server, "37765128953", "lee@initech.io");
    demo::associated(&server, "37765128953", "5790939460");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-3", "email": "lee@initech.io", "first_name": "Lee"}"#,
    )
    .await;
    assert_eq!(routed.decision.owner_id(), Some("bob"));
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("37765128953", false)
    );

    let (_, _, rest) = split_lookups(server.take_requests());
    assert_eq!(rest.len(), 2, "{rest:#?}");
    let (patch, put) = (&rest[0], &rest[1]);
    assert_eq!(
        (
            patch.method.as_str(),
            patch.path.as_str(),
            patch.query.as_deref()
        ),
        ("PATCH", "/crm/v3/objects/contacts/37765128953", None)
    );
    assert_eq!(headers(patch), expected_headers(true));
    assert_eq!(
        patch.json().unwrap(),
        json!({ "properties": {
            "email": "lee@initech.io",
            "firstname": "Lee",
            "hubspot_owner_id": "9002",
            "leadroute_lead_id": "t-3",
            "leadroute_owner": "bob",
            "leadroute_rule": "existing-account",
            "leadroute_experience": "book_meeting",
            "leadroute_policy_version": "seed-inbound@1"
        }})
    );
    assert_eq!(
        (put.method.as_str(), put.path.as_str(), put.query.as_deref()),
        (
            "PUT",
            "/crm/v4/objects/contact/37765128953/associations/default/company/5790939460",
            None
        )
    );
    assert_eq!(headers(put), expected_headers(false));
    assert_eq!(put.body, "");
}

#[tokio::test]
async fn a_409_duplicate_becomes_a_conflict_with_the_existing_id_and_the_router_updates_it() {
    let (server, crm) = setup().await;
    demo::search(&server, json!([]));
    demo::no_contact(&server, "max@globex.com");
    server.script(
        Expect::new("POST", CONTACTS),
        Reply::json(409, demo::conflict_body("37765128999")),
    );
    demo::updated(&server, "37765128999", "max@globex.com");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-4", "email": "max@globex.com"}"#,
    )
    .await;
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("37765128999", false)
    );

    let (_, _, rest) = split_lookups(server.take_requests());
    let calls: Vec<(&str, &str, u16)> = rest
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.status))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", CONTACTS, 409),
            ("PATCH", "/crm/v3/objects/contacts/37765128999", 200)
        ]
    );
    // The update carries the same properties as the failed create.
    assert_eq!(
        rest[0].json().unwrap()["properties"],
        rest[1].json().unwrap()["properties"]
    );
}

#[tokio::test]
async fn the_409_classification_carries_the_id_and_falls_back_to_a_lookup_without_one() {
    // As the router sees it: the create fails with Conflict { existing_id }.
    let (server, crm) = setup().await;
    demo::search(&server, json!([]));
    demo::no_contact(&server, "max@globex.com");
    server.script(
        Expect::new("POST", CONTACTS),
        Reply::json(409, demo::conflict_body("37765128999")),
    );
    server.script(
        Expect::new("PATCH", "/crm/v3/objects/contacts/37765128999"),
        Reply::json(500, json!({"status": "error", "message": "internal error"})),
    );
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-5", "email": "max@globex.com"}"#,
    )
    .await;
    let pending = routed.write.into_pending().unwrap();
    assert_eq!(pending.existing.as_deref(), Some("37765128999"));
    assert!(
        matches!(pending.error, CrmError::Transient { .. }),
        "{:?}",
        pending.error
    );

    // A 409 without a parsable id: the adapter finds the contact by email.
    let (server, crm) = setup().await;
    demo::search(&server, json!([]));
    demo::no_contact(&server, "max@globex.com");
    server.script(
        Expect::new("POST", CONTACTS),
        Reply::json(409, json!({"status": "error", "message": "Contact already exists.", "category": "CONFLICT"})),
    );
    demo::contact(&server, "max@globex.com", "37765128998", "9003", "");
    demo::updated(&server, "37765128998", "max@globex.com");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-6", "email": "max@globex.com"}"#,
    )
    .await;
    assert_eq!(routed.write.receipt().unwrap().record_id, "37765128998");
    let (_, _, rest) = split_lookups(server.take_requests());
    let calls: Vec<(&str, String)> = rest
        .iter()
        .map(|r| (r.method.as_str(), r.decoded_path()))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST", CONTACTS.to_owned()),
            ("GET", format!("{CONTACTS}/max@globex.com")),
            ("PATCH", format!("{CONTACTS}/37765128998")),
        ]
    );

    // A 409 without an id whose lookup is rate limited: the lookup's
    // failure, retryable, not a conflict nobody can resolve.
    let (server, crm) = setup().await;
    demo::search(&server, json!([]));
    demo::no_contact(&server, "max@globex.com");
    server.script(
        Expect::new("POST", CONTACTS),
        Reply::json(409, json!({"status": "error", "message": "Contact already exists.", "category": "CONFLICT"})),
    );
    server.script(
        Expect::new("GET", &format!("{CONTACTS}/max@globex.com")),
        Reply::json(429, demo::rate_limit_body()).header("Retry-After", "2"),
    );
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-7", "email": "max@globex.com"}"#,
    )
    .await;
    let pending = routed.write.into_pending().unwrap();
    assert!(
        matches!(pending.error, CrmError::RateLimited { .. }),
        "{:?}",
        pending.error
    );
    assert!(pending.error.is_retryable(), "{:?}", pending.error);
}

#[tokio::test]
async fn write_errors_are_classified_and_queued() {
    for (reply, class) in [
        (Reply::json(429, demo::rate_limit_body()), "rate_limited"),
        (
            Reply::json(
                401,
                json!({"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}),
            ),
            "permanent",
        ),
        (
            Reply::json(
                503,
                json!({"status":"error","message":"Service unavailable"}),
            ),
            "transient",
        ),
    ] {
        let (server, crm) = setup().await;
        demo::search(&server, json!([]));
        demo::no_contact(&server, "kim@umbrella.io");
        server.script(Expect::new("POST", CONTACTS), reply);
        let routed = route(
            &router(crm),
            r#"{"lead_id": "t-7", "email": "kim@umbrella.io"}"#,
        )
        .await;
        let pending = routed.write.into_pending().unwrap();
        assert_eq!(pending.error.class(), class, "{:?}", pending.error);
        assert_eq!(
            routed.decision.owner_id(),
            Some("emma"),
            "the decision stands"
        );
        assert!(server.unused().is_empty());
    }
}

#[tokio::test]
async fn without_routing_fields_only_contact_properties_and_the_owner_are_written() {
    let (server, crm) = setup_with(|mut c| {
        c.routing_fields = false;
        c
    })
    .await;
    demo::search(&server, json!([]));
    demo::no_contact(&server, "ops@bigco.com");
    demo::created(&server, "37765128010", "ops@bigco.com");
    // The fallback pool's owner (emma) has a HubSpot id.
    let routed = route(&router(crm), r#"{"lead_id": "t-8", "email": "ops@bigco.com", "phone": "+44 20 7946 0958", "country": "GB"}"#).await;
    assert!(routed.write.receipt().is_some());
    let (_, _, rest) = split_lookups(server.take_requests());
    let props = rest[0].json().unwrap()["properties"].clone();
    let mut keys: Vec<&str> = props
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["country", "email", "hubspot_owner_id", "phone"]);
}

#[tokio::test]
async fn ids_that_are_not_numeric_never_reach_a_path() {
    let (server, crm) = setup().await;
    demo::search(&server, json!([]));
    server.script(
        Expect::new("GET", &format!("{CONTACTS}/eve@evil.io")),
        Reply::json(200, json!({"id": "../../owners", "properties": {}})),
    );
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-9", "email": "eve@evil.io"}"#,
    )
    .await;
    let pending = routed.write.into_pending().unwrap();
    assert!(
        matches!(pending.error, CrmError::Permanent { .. }),
        "{:?}",
        pending.error
    );
    assert_eq!(server.take_requests().len(), 2, "no write request was sent");
}

// ------------------------------------------------------- owners, paths, demo

#[tokio::test]
async fn owners_resolve_by_email_to_the_owner_id_not_the_user_id() {
    let (server, crm) = setup().await;
    server.script(
        Expect::new("GET", "/crm/v3/owners"),
        Reply::json(200, json!({
            "results": [{
                "id": "41629779", "email": "Email@HubSpot.com", "type": "PERSON", "firstName": "HubSpot",
                "lastName": "Test Owner", "userId": 9586504, "userIdIncludingInactive": 9586504,
                "createdAt": "2019-12-25T13:01:35.228Z", "updatedAt": "2023-08-22T13:40:26.790Z", "archived": false,
                "teams": [ { "id": "368389", "name": "Sales Team", "primary": true } ]
            }],
            "paging": { "next": { "after": "41629779", "link": "?after=41629779" } }
        })),
    );
    let owner = crm
        .find_owner_by_email("email@hubspot.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.id, "41629779");
    assert_eq!(owner.user_id, Some(9586504));
    assert_eq!(owner.last_name.as_deref(), Some("Test Owner"));

    let sent = server.take_requests();
    assert_eq!(sent[0].method, "GET");
    assert_eq!(sent[0].path, "/crm/v3/owners");
    assert_eq!(
        sent[0].query.as_deref(),
        Some("email=email%40hubspot.com&limit=100&archived=false")
    );
    assert_eq!(headers(&sent[0]), expected_headers(false));

    server.script(
        Expect::new("GET", "/crm/v3/owners"),
        Reply::json(200, json!({"results": []})),
    );
    assert_eq!(
        crm.find_owner_by_email("nobody@vendor.com").await.unwrap(),
        None
    );
    server.script(
        Expect::new("GET", "/crm/v3/owners"),
        Reply::json(403, json!({"status":"error","message":"This app hasn't been granted all required scopes to make this call.","category":"MISSING_SCOPES"})),
    );
    let e = crm.find_owner_by_email("x@vendor.com").await.unwrap_err();
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");
}

#[tokio::test]
async fn the_date_versioned_paths_are_one_configuration_change() {
    assert_eq!(ApiPaths::from_version(None), ApiPaths::v3());
    assert_eq!(ApiPaths::from_version(Some("v3")), ApiPaths::v3());
    let (server, crm) = setup_with(|mut c| {
        c.paths = ApiPaths::from_version(Some("2026-03"));
        c
    })
    .await;
    server.script(
        Expect::new("POST", "/crm/objects/2026-03/companies/search"),
        Reply::json(200, json!({"total": 1, "results": [demo::company("7", "Initech", "initech.io", "", "9002", "")]})),
    );
    demo_contact_dated(&server);
    server.script(
        Expect::new("PATCH", "/crm/objects/2026-03/contacts/37765128953"),
        Reply::json(200, demo::object("37765128953", "lee@initech.io")),
    );
    server.script(
        Expect::new(
            "PUT",
            "/crm/objects/2026-03/contact/37765128953/associations/default/company/7",
        ),
        Reply::json(200, json!({"status": "COMPLETE", "results": []})),
    );
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-10", "email": "lee@initech.io"}"#,
    )
    .await;
    assert!(routed.write.receipt().is_some(), "{:?}", routed.write);
    assert!(server.unused().is_empty());
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.path.starts_with("/crm/objects/2026-03/"))
    );
}

fn demo_contact_dated(server: &MockServer) {
    server.script(
        Expect::new("GET", "/crm/objects/2026-03/contacts/lee@initech.io"),
        Reply::json(200, json!({"id": "37765128953", "properties": {"email": "lee@initech.io", "hubspot_owner_id": "9002"}})),
    );
}

/// Owner, rule, and `created` or the error class.
type Outcome<'a> = (Option<&'a str>, Option<&'a str>, Result<bool, &'a str>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_demo_routes_every_scenario() {
    let routed = demo::run().await.unwrap();
    let outcomes: Vec<Outcome<'_>> = routed
        .iter()
        .map(|r| {
            (
                r.decision.owner_id(),
                r.decision.rule.as_deref(),
                r.write
                    .receipt()
                    .map(|w| w.created)
                    .ok_or_else(|| r.write.pending().map_or("skipped", |p| p.error.class())),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (Some("ana"), Some("us-enterprise"), Ok(true)),
            (Some("cleo"), Some("existing-customer"), Ok(true)),
            (Some("bob"), Some("existing-account"), Ok(false)),
            (Some("cleo"), Some("product-led"), Ok(false)),
            (Some("emma"), None, Err("rate_limited")),
        ]
    );
}

// ------------------------------------------------------------------ tokens

/// Hands out `old`, then `new` once the API rejected `old`.
#[derive(Debug, Default)]
struct Rotating {
    refreshed: std::sync::Mutex<Vec<String>>,
}

impl leadroute_hubspot::TokenProvider for Rotating {
    async fn token(&self) -> Result<String, CrmError> {
        Ok("pat-old".to_owned())
    }
    async fn refresh(&self, rejected: &str) -> Result<Option<String>, CrmError> {
        self.refreshed.lock().unwrap().push(rejected.to_owned());
        Ok(Some("pat-new".to_owned()))
    }
}

#[tokio::test]
async fn a_401_asks_the_token_provider_for_a_fresh_token_and_retries_once() {
    let server = MockServer::start().await.unwrap();
    let policy = leadroute_examples::seed_policy().unwrap();
    let crm = HubSpot::new(
        HubSpotConfig::new(server.base_url()),
        Rotating::default(),
        &policy,
    )
    .unwrap();
    let expired = json!({"status":"error","message":"The OAuth token used to make this call expired 3 minute(s) ago.","correlationId":"1c0d0a2b-7d9b-4a4e-9d3f-3b1f0e4c2f11","category":"EXPIRED_AUTHENTICATION"});
    server.script(
        Expect::new("GET", &format!("{CONTACTS}/jane@acme.com")),
        Reply::json(401, expired.clone()),
    );
    demo::contact(&server, "jane@acme.com", "37765128953", "9001", "");
    let contact = crm.find_person("jane@acme.com").await.unwrap().unwrap();
    assert_eq!(contact.id, "37765128953");
    let auth: Vec<(Option<&str>, u16)> = server
        .requests()
        .iter()
        .map(|r| (r.header("authorization"), r.status))
        .map(|(a, s)| {
            (
                a.map(|a| if a == "Bearer pat-old" { "old" } else { "new" }),
                s,
            )
        })
        .collect();
    assert_eq!(auth, [(Some("old"), 401), (Some("new"), 200)]);
    assert_eq!(*crm.tokens().refreshed.lock().unwrap(), ["pat-old"]);

    // A second 401 with the fresh token stands: no refresh loop.
    server.take_requests();
    for _ in 0..2 {
        server.script(
            Expect::new("GET", &format!("{CONTACTS}/jane@acme.com")),
            Reply::json(401, expired.clone()),
        );
    }
    let e = crm.find_person("jane@acme.com").await.unwrap_err();
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");
    assert_eq!(server.take_requests().len(), 2);
}

#[tokio::test]
async fn a_static_token_is_sent_as_is_and_a_401_stays_permanent() {
    let e = lookup_error(Reply::json(
        401,
        json!({"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}),
    ))
    .await;
    assert_eq!(e.class(), "permanent");
    assert_eq!(
        format!("{:?}", StaticToken::new(TOKEN)),
        "StaticToken(***)",
        "the token never reaches logs"
    );
}

// ------------------------------------------------- defect 6: Retry-After

/// A `Retry-After` HTTP-date `secs` seconds from now.
fn http_date_in(secs: u64) -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(secs))
}

#[tokio::test]
async fn a_477_migration_in_progress_waits_as_long_as_retry_after_says() {
    // HubSpot's error-handling page: 477 "Migration in Progress" while a portal
    // moves between data hosting locations, with a Retry-After in seconds.
    let body = json!({"status":"error","message":"Migration in Progress","correlationId":"3f0c1f55-1a0e-4a0e-8f1a-2f8d0c0b9d41","category":"MIGRATION_IN_PROGRESS"});
    let e = lookup_error(Reply::json(477, body.clone()).header("Retry-After", "3600")).await;
    assert_eq!(
        rate_limited_for(&e),
        Some(Duration::from_secs(3600)),
        "{e:?}"
    );
    assert!(e.is_retryable());
    // Without the header it is still retryable, never permanent.
    let e = lookup_error(Reply::json(477, body)).await;
    assert_eq!(e.class(), "transient", "{e:?}");
}

#[tokio::test]
async fn retry_after_on_a_503_is_honoured() {
    let e = lookup_error(
        Reply::json(
            503,
            json!({"status":"error","message":"Service Unavailable"}),
        )
        .header("Retry-After", "120"),
    )
    .await;
    assert_eq!(
        rate_limited_for(&e),
        Some(Duration::from_secs(120)),
        "{e:?}"
    );
    // An HTML 503 from a load balancer, with an HTTP-date.
    let e = lookup_error(
        Reply::empty(503)
            .header("content-type", "text/html")
            .header("Retry-After", &http_date_in(90)),
    )
    .await;
    let wait = rate_limited_for(&e).unwrap();
    assert!(
        (Duration::from_secs(85)..=Duration::from_secs(90)).contains(&wait),
        "{wait:?}"
    );
}

#[tokio::test]
async fn an_http_date_retry_after_on_a_429_is_honoured() {
    let e = lookup_error(
        Reply::json(429, demo::rate_limit_body()).header("Retry-After", &http_date_in(30)),
    )
    .await;
    let wait = rate_limited_for(&e).unwrap();
    assert!(
        (Duration::from_secs(25)..=Duration::from_secs(30)).contains(&wait),
        "{wait:?} (not the 10 s policy default)"
    );
    // A date in the past: retry now.
    let e = lookup_error(
        Reply::json(429, demo::rate_limit_body())
            .header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
    )
    .await;
    assert_eq!(rate_limited_for(&e), Some(Duration::ZERO));
}

// ------------------------------------------- defect 4: unknown outcomes

#[tokio::test]
async fn a_2xx_create_whose_body_cannot_be_read_is_an_unknown_outcome_retried_into_one_contact() {
    let (server, crm) = setup().await;
    let router = router(crm);
    demo::search(&server, json!([]));
    demo::no_contact(&server, "jane@newco.com");
    // HubSpot created the contact, but the body was cut off on the way.
    server.script(
        Expect::new("POST", CONTACTS),
        Reply::json(201, json!(null)).body(r#"{"id": "37765128001", "properties": {"em"#),
    );
    let routed = route(
        &router,
        r#"{"lead_id": "t-u1", "email": "jane@newco.com", "first_name": "Jane"}"#,
    )
    .await;
    let pending = routed.write.into_pending().unwrap();
    assert_eq!(
        pending.error.class(),
        "unknown_outcome",
        "{:?}",
        pending.error
    );
    assert!(pending.error.is_retryable());

    // The retry is idempotent by email: HubSpot answers 409 with the id of
    // the contact the first attempt made, and the router updates it.
    server.take_requests();
    server.script(
        Expect::new("POST", CONTACTS),
        Reply::json(409, demo::conflict_body("37765128001")),
    );
    demo::updated(&server, "37765128001", "jane@newco.com");
    let receipt = router.retry_write(pending).await.unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("37765128001", false)
    );
    let calls: Vec<(String, String, u16)> = server
        .take_requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect();
    assert_eq!(
        calls,
        [
            ("POST".to_owned(), CONTACTS.to_owned(), 409),
            ("PATCH".to_owned(), format!("{CONTACTS}/37765128001"), 200)
        ]
    );
    assert!(server.unused().is_empty());
}

#[tokio::test]
async fn an_unreadable_lookup_body_is_transient_and_a_wrong_shape_permanent() {
    let (server, crm) = setup().await;
    server.script(
        Expect::new("POST", SEARCH),
        Reply::json(200, json!(null)).body(r#"{"total": 1, "results": [{"id": "#),
    );
    let e = crm.find_account("acme.com").await.unwrap_err();
    assert_eq!(e.class(), "transient", "{e:?}");
    // A JSON body without `results` is an API this adapter does not understand.
    server.script(
        Expect::new("POST", SEARCH),
        Reply::json(200, json!({"unexpected": true})),
    );
    assert_eq!(
        crm.find_account("acme.com").await.unwrap_err().class(),
        "permanent"
    );
}
