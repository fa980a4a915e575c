//! The Salesforce adapter against the loopback mock: the exact
//! requests it sends (SOQL, headers, bodies), SOQL injection attempts, and
//! how each documented response is classified.

#[path = "../examples/salesforce.rs"]
#[allow(dead_code)]
mod salesforce;

use std::collections::BTreeMap;
use std::time::Duration;

use leadroute::Crm;
use leadroute::crm::{CrmError, PersonKind};
use leadroute::router::Routed;
use leadroute_examples::ExampleRouter;
use leadroute_examples::mock::{Expect, MockServer, Recorded, Reply};
use leadroute_salesforce::support::{
    WebsiteMatch, candidate_query, parse_errors, sobject_of, soql_escape, website_matches,
};
use leadroute_salesforce::{AddressFields, Salesforce, SalesforceConfig, StaticToken};
use salesforce::demo::{self, QUERY};
use serde_json::{Value, json};

const TOKEN: &str = "00D5e000000TEST!AQ4AQTestAccessToken";
const LEADS: &str = "/services/data/v66.0/sobjects/Lead/";

const ACCOUNT_Q: &str = "SELECT Id, Name, Website, OwnerId, Type FROM Account WHERE Website LIKE ";
const CONTACT_Q: &str = "SELECT Id, OwnerId, AccountId FROM Contact WHERE Email = ";
const LEAD_Q: &str = "SELECT Id, OwnerId FROM Lead WHERE Email = ";
const ACCOUNT_TAIL: &str = " ORDER BY CreatedDate ASC LIMIT 50";
const CONTACT_TAIL: &str = " ORDER BY CreatedDate ASC LIMIT 2";
const LEAD_TAIL: &str = " AND IsConverted = false ORDER BY CreatedDate ASC LIMIT 2";

async fn setup() -> (MockServer, Salesforce) {
    setup_with(|c| c).await
}

async fn setup_with(
    f: impl FnOnce(SalesforceConfig) -> SalesforceConfig,
) -> (MockServer, Salesforce) {
    let server = MockServer::start().await.unwrap();
    let policy = leadroute_examples::seed_policy().unwrap();
    let crm = Salesforce::new(
        f(SalesforceConfig::new(server.base_url())),
        StaticToken::new(TOKEN),
        &policy,
    )
    .unwrap();
    (server, crm)
}

fn router(crm: Salesforce) -> ExampleRouter<Salesforce> {
    leadroute_examples::router(leadroute_examples::seed_policy().unwrap(), crm)
}

async fn route(router: &ExampleRouter<Salesforce>, payload: &str) -> Routed {
    router.route_json(payload).await.unwrap()
}

/// Every header but `host` and `content-length`.
fn headers(r: &Recorded) -> BTreeMap<String, String> {
    r.headers_except(&["host", "content-length"])
}

fn query_headers() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("accept".to_owned(), "application/json".to_owned()),
        ("authorization".to_owned(), format!("Bearer {TOKEN}")),
        (
            "user-agent".to_owned(),
            leadroute_salesforce::USER_AGENT.to_owned(),
        ),
    ])
}

fn write_headers() -> BTreeMap<String, String> {
    let mut h = query_headers();
    h.insert("content-type".to_owned(), "application/json".to_owned());
    h.insert("sforce-auto-assign".to_owned(), "FALSE".to_owned());
    h
}

/// Asserts a query request and returns its decoded `q`.
fn q_of(r: &Recorded) -> String {
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", QUERY));
    assert_eq!(headers(r), query_headers());
    assert_eq!(r.body, "");
    let pairs = r.query_pairs();
    assert_eq!(pairs.len(), 1, "only `q`: {pairs:?}");
    assert_eq!(pairs[0].0, "q");
    pairs[0].1.clone()
}

/// Reads the SOQL string literal that starts at `q[start]` (a `'`) with
/// Salesforce's escape rules and returns (its value, the text after it).
fn read_literal(q: &str, start: usize) -> (String, &str) {
    let body = &q[start..];
    assert!(body.starts_with('\''), "no literal at {start}: {q}");
    let mut value = String::new();
    let mut chars = body.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, e) = chars.next().expect("dangling backslash");
                value.push(match e {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\u{7}', // bell, per the documented table
                    'f' => '\u{c}',
                    other => {
                        assert!("'\"\\%_".contains(other), "invalid escape \\{other} in {q}");
                        other
                    }
                });
            }
            '\'' => return (value, &body[i + 1..]),
            c => value.push(c),
        }
    }
    panic!("unterminated literal in {q}")
}

/// Asserts `q` is exactly `prefix` + one string literal + `tail`, and
/// returns the literal's value: nothing the value held leaked into the query.
fn single_literal(q: &str, prefix: &str, tail: &str) -> String {
    assert!(q.starts_with(prefix), "{q}");
    let (value, rest) = read_literal(q, prefix.len());
    assert_eq!(rest, tail, "text after the literal in {q}");
    value
}

fn by_soql<'a>(requests: &'a [Recorded], from: &str) -> Vec<&'a Recorded> {
    requests
        .iter()
        .filter(|r| r.path == QUERY && r.query_param("q").is_some_and(|q| q.contains(from)))
        .collect()
}

fn writes(requests: &[Recorded]) -> Vec<&Recorded> {
    requests.iter().filter(|r| r.path != QUERY).collect()
}

// ------------------------------------------------------------------ SOQL

#[tokio::test]
async fn the_account_lookup_queries_website_like_the_domain_and_rechecks_hosts() {
    let (server, crm) = setup().await;
    demo::query(
        &server,
        "FROM Account",
        json!([
            demo::account(
                "001D000000IqhSAIAZ",
                "Not Acme",
                "http://notacme.com",
                "0055e000001DevAAA",
                "Prospect"
            ),
            demo::account(
                "001D000000IqhSBIAZ",
                "Phish",
                "https://acme.com.evil.io/login",
                "0055e000001DevAAA",
                "Prospect"
            ),
            demo::account(
                "001D000000IqhSCIAZ",
                "Acme Shop",
                "shop.acme.com",
                "0055e000001BobAAA",
                "Prospect"
            ),
            demo::account(
                "001D000000IqhSLIAZ",
                "Acme Corporation",
                "https://www.ACME.com/about",
                "0055e000001CleAAA",
                "Customer - Direct"
            ),
            demo::account(
                "001D000000IqhSDIAZ",
                "No site",
                "",
                "0055e000001DevAAA",
                "Prospect"
            ),
        ]),
    );
    let account = crm.find_account("Acme.com").await.unwrap().unwrap();
    assert_eq!(
        account.id, "001D000000IqhSLIAZ",
        "the exact host beats the subdomain"
    );
    assert_eq!(account.name, "Acme Corporation");
    assert_eq!(account.domain.as_deref(), Some("acme.com"));
    assert_eq!(account.owner.as_deref(), Some("cleo"));
    assert!(account.is_customer);
    assert_eq!(account.fields["Type"], "Customer - Direct");

    let sent = server.take_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        q_of(&sent[0]),
        format!("{ACCOUNT_Q}'%acme.com%'{ACCOUNT_TAIL}")
    );
    // The raw encoding on the wire: spaces as `+`, quotes, `%` and `,` escaped.
    assert_eq!(
        sent[0].query.as_deref(),
        Some(
            "q=SELECT+Id%2C+Name%2C+Website%2C+OwnerId%2C+Type+FROM+Account+WHERE+Website+LIKE+%27%25acme.com%25%27+ORDER+BY+CreatedDate+ASC+LIMIT+50"
        )
    );

    // A subdomain alone still matches; false positives alone do not.
    demo::query(
        &server,
        "FROM Account",
        json!([demo::account(
            "001D000000IqhSCIAZ",
            "Acme Shop",
            "shop.acme.com",
            "0055e000001BobAAA",
            "Prospect"
        )]),
    );
    let account = crm.find_account("acme.com").await.unwrap().unwrap();
    assert_eq!(
        (
            account.id.as_str(),
            account.owner.as_deref(),
            account.is_customer
        ),
        ("001D000000IqhSCIAZ", Some("bob"), false)
    );
    demo::query(
        &server,
        "FROM Account",
        json!([demo::account(
            "001D000000IqhSAIAZ",
            "Not Acme",
            "notacme.com",
            "0055e000001DevAAA",
            "Customer"
        )]),
    );
    assert_eq!(crm.find_account("acme.com").await.unwrap(), None);
}

#[test]
fn websites_match_the_domain_or_a_subdomain_only() {
    let m = |w: &str| website_matches(w, "acme.co.uk");
    assert_eq!(m("https://www.acme.co.uk"), Some(WebsiteMatch::Exact));
    assert_eq!(m("acme.co.uk/contact"), Some(WebsiteMatch::Exact));
    assert_eq!(m("HTTP://ACME.CO.UK."), Some(WebsiteMatch::Exact));
    assert_eq!(
        m("https://eu.shop.acme.co.uk:8443/x"),
        Some(WebsiteMatch::Subdomain)
    );
    assert_eq!(m("https://notacme.co.uk"), None);
    assert_eq!(m("https://acme.co.uk.evil.io"), None);
    assert_eq!(m("https://evil.io/?acme.co.uk"), None);
    assert_eq!(m("https://user@evil.io/acme.co.uk"), None);
    assert_eq!(m(""), None);
    assert_eq!(m("not a url at all"), None);
}

#[tokio::test]
async fn crafted_emails_and_domains_stay_a_single_soql_literal() {
    let (server, crm) = setup().await;
    let emails = [
        ("x' OR Name != '", r"x\' or name != \'"),
        (r"x\' OR Id != \'", r"x\\\' or id != \\\'"),
        ("a%b_c@acme.com", "a%b_c@acme.com"), // `=`: wildcards are literal already
        ("\"q\"\n\r\t@acme.com", "\\\"q\\\"\\n\\r\\t@acme.com"),
        ("nul\u{0}@acme.com", "nul@acme.com"),
    ];
    for (email, escaped) in emails {
        demo::query(&server, "FROM Contact", json!([]));
        demo::query(&server, "FROM Lead", json!([]));
        assert_eq!(crm.find_person(email).await.unwrap(), None);
        let sent = server.take_requests();
        assert_eq!(sent.len(), 2);
        let contact_q = q_of(&sent[0]);
        assert_eq!(contact_q, format!("{CONTACT_Q}'{escaped}'{CONTACT_TAIL}"));
        let lead_q = q_of(&sent[1]);
        assert_eq!(lead_q, format!("{LEAD_Q}'{escaped}'{LEAD_TAIL}"));
        let lower: String = email
            .to_lowercase()
            .chars()
            .filter(|c| !c.is_control() || "\n\r\t".contains(*c))
            .collect();
        assert_eq!(
            single_literal(&contact_q, CONTACT_Q, CONTACT_TAIL),
            lower.trim()
        );
        assert_eq!(single_literal(&lead_q, LEAD_Q, LEAD_TAIL), lower.trim());
    }

    let domains = [
        ("a_b%c.com", r"'%a\_b\%c.com%'"),
        ("x.com' OR Name LIKE '%", r"'%x.com\' or name like \'\%%'"),
        (r"x\%.com", r"'%x\\\%.com%'"),
    ];
    for (domain, literal) in domains {
        demo::query(&server, "FROM Account", json!([]));
        assert_eq!(crm.find_account(domain).await.unwrap(), None);
        let sent = server.take_requests();
        let q = q_of(&sent[0]);
        assert_eq!(q, format!("{ACCOUNT_Q}{literal}{ACCOUNT_TAIL}"));
        let pattern = single_literal(&q, ACCOUNT_Q, ACCOUNT_TAIL);
        assert_eq!(
            pattern,
            format!("%{}%", domain.to_lowercase()),
            "wildcards from the value are literal"
        );
    }
}

const CANDIDATE_Q: &str = "SELECT Id, Name, Website, OwnerId, Type, ParentId, BillingCountry, BillingPostalCode, Phone, LastActivityDate FROM Account WHERE ";

#[tokio::test]
async fn the_candidate_lookup_is_one_escaped_soql_query_read_for_the_matcher() {
    let (server, crm) = setup().await;
    let mut uk = demo::account(
        "001D000000Uk",
        "Acme UK Ltd",
        "https://www.acme.co.uk",
        "0055e000001CleAAA",
        "Prospect",
    );
    uk["ParentId"] = json!("001D000000Hq");
    uk["BillingCountry"] = json!("United Kingdom");
    uk["BillingPostalCode"] = json!("SW1A 1AA");
    uk["LastActivityDate"] = json!("2024-01-15");
    let hq = demo::account(
        "001D000000Hq",
        "Acme Corporation",
        "acme.com",
        "0055e000001DevAAA",
        "Customer - Direct",
    );
    demo::query(&server, "FROM Account", json!([uk, hq.clone(), hq]));
    let lead = leadroute::Normalizer::default()
        .normalize_json(r#"{"email": "jo@acme.co.uk", "company": "Acme_50% Ltd"}"#)
        .unwrap()
        .lead;
    let found = crm
        .find_candidates(&leadroute::crm::CandidateQuery::for_lead(&lead, 500))
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["001D000000Uk", "001D000000Hq"],
        "each account once"
    );
    assert_eq!(found[0].domain.as_deref(), Some("https://www.acme.co.uk"));
    assert_eq!(found[0].parent_id.as_deref(), Some("001D000000Hq"));
    assert_eq!(found[0].country.as_deref(), Some("United Kingdom"));
    assert_eq!(found[0].postal_code.as_deref(), Some("SW1A 1AA"));
    assert_eq!(found[0].last_activity, Some(1_705_276_800));
    assert!(found[1].is_customer);
    let sent = server.take_requests();
    assert_eq!(sent.len(), 1);
    // `=` takes the name as typed (wildcards are literal there); the limit is capped at 200.
    assert_eq!(
        q_of(&sent[0]),
        format!(
            "{CANDIDATE_Q}Website LIKE '%acme.co.uk%' OR Website LIKE '%acme.%' OR Name = 'Acme_50% Ltd' \
             OR Name LIKE '%acme%' ORDER BY CreatedDate ASC LIMIT 200"
        )
    );
}

/// `n` older accounts that share only a word of the name (`Globex …`).
fn namesakes(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            demo::account(
                &format!("001D0000Nm{i:04}"),
                &format!("Globex Holdings {i}"),
                &format!("globex-holdings-{i}.example"),
                "0055e000001DevAAA",
                "Prospect",
            )
        })
        .collect()
}

#[tokio::test]
async fn a_full_candidate_page_asks_again_for_the_domain_and_puts_those_accounts_first() {
    let (server, crm) = setup().await;
    // The combined query's page (LIMIT 3) is full of older namesakes; the
    // account on the lead's domain is only in the strong query's answer.
    demo::query(&server, "FROM Account", json!(namesakes(3)));
    let own = demo::account(
        "001D000000Gx",
        "Globex Corporation",
        "https://www.globex.com",
        "0055e000001CleAAA",
        "Customer",
    );
    demo::query(&server, "FROM Account", json!([own]));
    let lead = leadroute::Normalizer::default()
        .normalize_json(r#"{"email": "jo@globex.com", "company": "Globex Corporation"}"#)
        .unwrap()
        .lead;
    let query = leadroute::crm::CandidateQuery::for_lead(&lead, 3);
    let found = crm.find_candidates(&query).await.unwrap();
    assert_eq!(
        found.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["001D000000Gx", "001D0000Nm0000", "001D0000Nm0001"],
        "the strong match first, the page's others after it, at most the limit"
    );
    let sent = server.take_requests();
    assert_eq!(sent.len(), 2);
    assert!(q_of(&sent[0]).contains("Name LIKE '%globex%'"));
    assert_eq!(
        q_of(&sent[1]),
        format!(
            "{CANDIDATE_Q}Website LIKE '%globex.com%' OR Name = 'Globex Corporation' \
             ORDER BY CreatedDate ASC LIMIT 3"
        )
    );
    assert!(server.unused().is_empty());
}

#[tokio::test]
async fn a_candidate_page_with_room_left_is_the_whole_answer() {
    let (server, crm) = setup().await;
    demo::query(&server, "FROM Account", json!(namesakes(2)));
    let lead = leadroute::Normalizer::default()
        .normalize_json(r#"{"email": "jo@globex.com", "company": "Globex Corporation"}"#)
        .unwrap()
        .lead;
    let query = leadroute::crm::CandidateQuery::for_lead(&lead, 3);
    assert_eq!(crm.find_candidates(&query).await.unwrap().len(), 2);
    assert_eq!(server.take_requests().len(), 1, "nothing was left out");
}

#[tokio::test]
async fn the_router_finds_the_domain_account_behind_a_page_of_namesakes() {
    // The router asks for 50 candidates; 50 older `Globex …` accounts fill
    // the combined query's page. Before, the lead went without its account
    // (to the round robin) instead of to the account owner.
    let (server, crm) = setup().await;
    demo::query(&server, "FROM Account", json!(namesakes(50)));
    demo::query(
        &server,
        "FROM Account",
        json!([demo::account(
            "001D000000Gx",
            "Globex Corporation",
            "https://www.globex.com",
            "0055e000001CleAAA",
            "Customer"
        )]),
    );
    demo::query(&server, "FROM Contact", json!([]));
    demo::query(&server, "FROM Lead", json!([]));
    demo::created(&server, "t-g", "00Q5e00000AbCdGEAV");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-g", "email": "jo@globex.com", "company": "Globex Corporation"}"#,
    )
    .await;
    let m = routed.lookups.account_match.as_deref().unwrap();
    assert_eq!(m.account_id.as_deref(), Some("001D000000Gx"), "{m}");
    assert_eq!(routed.decision.owner.as_deref(), Some("cleo"));
    assert_eq!(routed.decision.rule.as_deref(), Some("existing-customer"));
}

#[tokio::test]
async fn crafted_company_names_stay_single_literals_in_the_candidate_query() {
    let (server, crm) = setup().await;
    for (company, literal) in [
        ("x' OR Name != '", r"'x\' OR Name != \''"),
        (r"Bob\' OR Id != \'", r"'Bob\\\' OR Id != \\\''"),
    ] {
        demo::query(&server, "FROM Account", json!([]));
        let mut input = leadroute::LeadInput::from_email("jo@gmail.com");
        input.company = Some(company.into());
        let lead = leadroute::Normalizer::default()
            .normalize(&input)
            .unwrap()
            .lead;
        let query = leadroute::crm::CandidateQuery::for_lead(&lead, 10);
        assert!(crm.find_candidates(&query).await.unwrap().is_empty());
        let sent = server.take_requests();
        let q = q_of(&sent[0]);
        let prefix = format!("{CANDIDATE_Q}Name = ");
        assert!(q.starts_with(&format!("{prefix}{literal}")), "{q}");
        let (value, rest) = read_literal(&q, prefix.len());
        assert_eq!(value, company.trim(), "the whole name is one literal");
        assert!(rest.starts_with(" OR Name LIKE '%"), "{rest}");
    }
}

#[tokio::test]
async fn the_router_matches_a_regional_domain_across_tlds_over_salesforce() {
    let (server, crm) = setup().await;
    demo::query(
        &server,
        "FROM Account",
        json!([
            demo::account(
                "001D000000Hq",
                "Acme Corporation",
                "https://www.acme.com/",
                "0055e000001CleAAA",
                "Customer"
            ),
            demo::account(
                "001D000000Nt",
                "Notacme",
                "notacme.com",
                "0055e000001DevAAA",
                "Prospect"
            ),
        ]),
    );
    demo::query(&server, "FROM Contact", json!([]));
    demo::query(&server, "FROM Lead", json!([]));
    demo::created(&server, "t-x", "00Q5e00000AbCdXEAV");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-x", "email": "jo@acme.co.uk", "company": "ACME Ltd"}"#,
    )
    .await;
    let m = routed.lookups.account_match.as_deref().unwrap();
    assert_eq!(m.account_id.as_deref(), Some("001D000000Hq"), "{m}");
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
}

#[tokio::test]
async fn the_brand_is_searched_in_each_spelling_and_a_hyphenated_account_matches_across_tlds() {
    // The lead writes `acmecorp`; the CRM's account `acme-corp.de`. The
    // matcher reads both as the brand `acmecorp`: the SOQL asks for both.
    let (server, crm) = setup().await;
    demo::query(
        &server,
        "FROM Account",
        json!([demo::account(
            "001D000000De",
            "Acme Corp GmbH",
            "https://www.acme-corp.de/",
            "0055e000001CleAAA",
            "Customer"
        )]),
    );
    demo::query(&server, "FROM Contact", json!([]));
    demo::query(&server, "FROM Lead", json!([]));
    demo::created(&server, "t-h", "00Q5e00000AbCdHEAV");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-h", "email": "jo@acmecorp.com", "company": "Acme Corp Inc"}"#,
    )
    .await;
    let m = routed.lookups.account_match.as_deref().unwrap();
    assert_eq!(m.account_id.as_deref(), Some("001D000000De"), "{m}");
    assert_eq!(m.method, Some(leadroute::matching::MatchMethod::CrossTld));
    let accounts: Vec<String> = server
        .take_requests()
        .iter()
        .filter(|r| r.path == QUERY)
        .map(q_of)
        .filter(|q| q.contains("FROM Account"))
        .collect();
    assert_eq!(
        accounts,
        [format!(
            "{CANDIDATE_Q}Website LIKE '%acmecorp.com%' OR Website LIKE '%acmecorp.%' OR Website LIKE \
             '%acme-corp.%' OR Name = 'Acme Corp Inc' OR Name LIKE '%acme%' ORDER BY CreatedDate ASC \
             LIMIT 50"
        )]
    );
    // Every spelling is escaped like any other value; a query built by hand
    // with only the brand still searches it.
    let mut by_hand = leadroute::crm::CandidateQuery::default();
    by_hand.brand_spellings = vec!["a_b".into(), "o'x%".into()];
    by_hand.limit = 5;
    assert_eq!(
        candidate_query(&by_hand).unwrap(),
        format!(
            "{CANDIDATE_Q}Website LIKE '%a\\_b.%' OR Website LIKE '%o\\'x\\%.%' ORDER BY \
             CreatedDate ASC LIMIT 5"
        )
    );
    let mut only_brand = leadroute::crm::CandidateQuery::default();
    only_brand.brand = Some("initech".into());
    assert!(
        candidate_query(&only_brand)
            .unwrap()
            .contains("WHERE Website LIKE '%initech.%' ORDER BY")
    );
}

#[test]
fn one_escaping_function_for_literals_and_like_patterns() {
    assert_eq!(soql_escape(r"Bob's \ BBQ", false), r"Bob\'s \\ BBQ");
    assert_eq!(soql_escape("50%_off", false), "50%_off");
    assert_eq!(soql_escape("50%_off", true), r"50\%\_off");
    assert_eq!(soql_escape("b\u{c}c\u{1}d", false), r"b\fcd");
}

/// Defect 5: Salesforce's table of quoted-string escape sequences says `\b`
/// is *bell* (U+0007); U+0008 (backspace) has no escape sequence, so it is
/// dropped like the other control characters, never sent as `\b`.
#[test]
fn bell_is_escaped_as_backslash_b_and_backspace_is_dropped() {
    assert_eq!(soql_escape("a\u{7}b", false), r"a\bb");
    assert_eq!(soql_escape("a\u{8}b", false), "ab");
    assert_eq!(soql_escape("a\u{8}\u{7}%", true), r"a\b\%");
}

#[tokio::test]
async fn a_contact_is_found_first_and_a_lead_only_when_unconverted() {
    let (server, crm) = setup().await;
    demo::query(
        &server,
        "FROM Contact",
        json!([demo::person(
            "Contact",
            "0035e00000LeeAAAA1",
            "0055e000001BobAAA",
            Some("001D000000IqhSNIAZ")
        )]),
    );
    let person = crm.find_person("Lee@Initech.io").await.unwrap().unwrap();
    assert_eq!(person.id, "0035e00000LeeAAAA1");
    assert_eq!(person.kind, PersonKind::Contact);
    assert_eq!(person.owner.as_deref(), Some("bob"));
    assert_eq!(person.account_id.as_deref(), Some("001D000000IqhSNIAZ"));
    let sent = server.take_requests();
    assert_eq!(sent.len(), 1, "no Lead query once a Contact is found");
    assert_eq!(
        q_of(&sent[0]),
        format!("{CONTACT_Q}'lee@initech.io'{CONTACT_TAIL}")
    );

    demo::query(&server, "FROM Contact", json!([]));
    demo::query(
        &server,
        "FROM Lead",
        json!([demo::person(
            "Lead",
            "00Q5e00000KimAAAA1",
            "00G5e000000QueAAA",
            None
        )]),
    );
    let person = crm.find_person("kim@umbrella.io").await.unwrap().unwrap();
    assert_eq!(person.kind, PersonKind::Lead);
    assert_eq!(
        person.owner.as_deref(),
        Some("inbound-queue"),
        "a queue owner maps too"
    );
    let sent = server.take_requests();
    assert_eq!(
        q_of(&sent[1]),
        format!("{LEAD_Q}'kim@umbrella.io'{LEAD_TAIL}")
    );
}

#[tokio::test]
async fn eighteen_character_owner_ids_match_fifteen_character_crm_ids() {
    let server = MockServer::start().await.unwrap();
    let spec = leadroute::PolicySpec::from_json_str(
        r#"{"name": "p", "version": "1",
            "owners": [{"id": "zoe", "name": "Zoe", "crm_ids": {"salesforce": "0055e000001ZoeA"}}],
            "fallback": {"assign": {"owner": "zoe"}}}"#,
    )
    .unwrap();
    let policy = leadroute::compile(&spec).unwrap();
    let crm = Salesforce::new(
        SalesforceConfig::new(server.base_url()),
        StaticToken::new(TOKEN),
        &policy,
    )
    .unwrap();
    assert_eq!(
        crm.policy_owner(Some("0055e000001ZoeAAAA")).as_deref(),
        Some("zoe")
    );
    assert_eq!(
        crm.policy_owner(Some("0055e000001ZoeA")).as_deref(),
        Some("zoe")
    );
    assert_eq!(crm.policy_owner(Some("0055e000001ZoXAAAA")), None);
}

// ---------------------------------------------------------------- writes

#[tokio::test]
async fn a_new_lead_without_last_name_or_company_gets_the_documented_fallbacks() {
    let (server, crm) = setup().await;
    demo::query(&server, "FROM Account", json!([]));
    demo::query(&server, "FROM Contact", json!([]));
    demo::query(&server, "FROM Lead", json!([]));
    demo::created(&server, "t-1", "00Q5e00000AbCdEEAV");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-1", "email": "Jane.Doe@NewCo.com", "country": "US", "state": "CA", "zip": "94105",
            "company_size": "1000+", "revenue": "$10M-$50M", "phone": "+1 415 555 0100"}"#,
    )
    .await;
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("00Q5e00000AbCdEEAV", true)
    );

    let sent = server.take_requests();
    let w = writes(&sent);
    assert_eq!(w.len(), 1);
    assert_eq!(
        (
            w[0].method.as_str(),
            w[0].path.as_str(),
            w[0].query.as_deref()
        ),
        ("PATCH", demo::upsert("t-1").as_str(), None)
    );
    assert_eq!(headers(w[0]), write_headers());
    assert_eq!(
        w[0].json().unwrap(),
        json!({
            "LastName": "Jane.Doe",
            "Company": "newco.com",
            "Email": "Jane.Doe@newco.com",
            "Phone": "+14155550100",
            "Website": "https://newco.com",
            "CountryCode": "US",
            "StateCode": "CA",
            "PostalCode": "94105",
            "NumberOfEmployees": 1000,
            "AnnualRevenue": 10000000,
            "OwnerId": "0055e000001AnaAAA",
            "LeadRoute_Owner__c": "ana",
            "LeadRoute_Rule__c": "us-enterprise",
            "LeadRoute_Experience__c": "book_meeting",
            "LeadRoute_Policy_Version__c": "seed-inbound@1"
        })
    );
}

// ------------------------------------------------ country and state fields

/// The body of the create a new lead with this payload (routing fields
/// off) is written with, under this configuration.
async fn created_body(
    config: impl FnOnce(SalesforceConfig) -> SalesforceConfig,
    payload: &str,
) -> Value {
    let (server, crm) = setup_with(|c| config(c.routing_fields(false))).await;
    lookups_miss(&server);
    demo::created(&server, "t-geo", "00Q5e00000GeoAAAA1");
    let routed = route(&router(crm), payload).await;
    assert!(routed.write.receipt().is_some(), "{:?}", routed.write);
    let sent = server.take_requests();
    let w = writes(&sent);
    assert_eq!(w.len(), 1);
    assert_eq!(
        (w[0].method.as_str(), w[0].path.as_str()),
        ("PATCH", demo::upsert("t-geo").as_str())
    );
    w[0].json().unwrap()
}

const US_CA: &str = r#"{"lead_id": "t-geo", "email": "jo@newco.com", "last_name": "Jo", "country": "US", "state": "US-CA"}"#;
const DE_BY: &str = r#"{"lead_id": "t-geo", "email": "jo@newco.de", "last_name": "Jo", "country": "DE", "state": "DE-BY"}"#;

#[tokio::test]
async fn by_default_the_country_and_state_are_picklist_codes() {
    // A state picklist country: both codes, and never the text fields
    // (which would need the integration values, "United States").
    let body = created_body(|c| c, US_CA).await;
    assert_eq!(
        body,
        json!({
            "LastName": "Jo", "Company": "newco.com", "Email": "jo@newco.com",
            "Website": "https://newco.com", "OwnerId": "0055e000001EmmAAA",
            "CountryCode": "US", "StateCode": "CA"
        })
    );

    // Germany has no states in the default picklists: a StateCode would be
    // refused (and the whole Lead with it), so only the country is sent.
    let body = created_body(|c| c, DE_BY).await;
    assert_eq!(body["CountryCode"], json!("DE"));
    for absent in ["StateCode", "State", "Country"] {
        assert!(body.get(absent).is_none(), "{absent} in {body}");
    }

    // An org whose admin added the Länder says so.
    let body = created_body(
        |c| {
            c.state_code_countries(
                leadroute_salesforce::DEFAULT_STATE_CODE_COUNTRIES
                    .iter()
                    .chain(&["de"]),
            )
        },
        DE_BY,
    )
    .await;
    assert_eq!(
        (&body["CountryCode"], &body["StateCode"]),
        (&json!("DE"), &json!("BY"))
    );
    assert_eq!(
        SalesforceConfig::new("https://x.my.salesforce.com").address_fields,
        AddressFields::Picklist
    );
}

#[tokio::test]
async fn orgs_without_the_picklists_get_text_country_and_state() {
    let text = |c: SalesforceConfig| c.address_fields(AddressFields::Text);
    let body = created_body(text, US_CA).await;
    assert_eq!(
        body,
        json!({
            "LastName": "Jo", "Company": "newco.com", "Email": "jo@newco.com",
            "Website": "https://newco.com", "OwnerId": "0055e000001EmmAAA",
            "Country": "US", "State": "CA"
        })
    );
    // Free text: the state of any country.
    let body = created_body(text, DE_BY).await;
    assert_eq!(
        (&body["Country"], &body["State"]),
        (&json!("DE"), &json!("BY"))
    );
    assert!(
        body.get("CountryCode").is_none() && body.get("StateCode").is_none(),
        "{body}"
    );
}

#[tokio::test]
async fn the_wrong_address_mode_for_the_org_is_a_permanent_error_naming_the_setting() {
    // Text mode in an org with the picklists: `US` is not an integration value.
    let e = write_error(Reply::json(
        400,
        json!([{"message": "There's a problem with this country, even though it may appear correct. Please select a country/territory from the list of valid countries.: Country",
                "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["Country"]}]),
    ))
    .await;
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");
    let message = e.to_string();
    assert!(
        message.starts_with("permanent CRM error: Salesforce HTTP 400 FIELD_INTEGRITY_EXCEPTION: There's a problem with this country")
            && message.contains("(fields: Country)")
            && message.contains("SalesforceConfig::address_fields"),
        "{message}"
    );

    // A state the picklist does not have for the country.
    let e = write_error(Reply::json(
        400,
        json!([{"message": "The StateCode field contains BY, which isn't an available state. Your administrator can add it for you.",
                "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["StateCode"]}]),
    ))
    .await;
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");
    assert!(e.to_string().contains("state_code_countries"), "{e}");

    // Picklist mode in an org without them: no such field.
    let e = write_error(Reply::json(
        400,
        json!([{"message": "No such column 'CountryCode' on sobject of type Lead", "errorCode": "INVALID_FIELD"}]),
    ))
    .await;
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");
    assert!(
        e.to_string().contains("SalesforceConfig::address_fields"),
        "{e}"
    );

    // Other field errors get no such pointer.
    let e = write_error(Reply::json(400, json!([{"message": "bad value for restricted picklist field: Web", "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["LeadSource"]}]))).await;
    assert!(!e.to_string().contains("address_fields"), "{e}");
}

#[tokio::test]
async fn an_attached_duplicate_gets_a_state_only_with_its_own_country() {
    const US_CA_DUP: &str = r#"{"lead_id": "t-d1", "email": "max@globex.com", "last_name": "Mustermann", "country": "US", "state": "US-CA"}"#;
    for (country, state, expected) in [
        // No address: both codes.
        (
            json!(null),
            json!(null),
            json!({"CountryCode": "US", "StateCode": "CA"}),
        ),
        // The same country without a state: the state.
        (json!("US"), json!(null), json!({"StateCode": "CA"})),
        // Another country: neither (CA is no state of Germany).
        (json!("DE"), json!(null), json!({})),
        // A state already: kept.
        (json!("US"), json!("NY"), json!({})),
    ] {
        let (server, crm) = setup_with(|c| c.routing_fields(false)).await;
        lookups_miss(&server);
        server.script(
            Expect::new("PATCH", &demo::upsert("t-d1")),
            Reply::json(400, duplicate_of("Lead", MAX_LEAD)),
        );
        record(
            &server,
            "Lead",
            MAX_LEAD,
            json!({"Email": "max@globex.com", "OwnerId": "0055e000001BobAAA", "LastName": "Mustermann",
                   "Company": "Globex", "CountryCode": country, "StateCode": state}),
        );
        let nothing_to_write = expected == json!({});
        if !nothing_to_write {
            demo::updated(&server, "Lead", MAX_LEAD);
        }
        let routed = route(&router(crm), US_CA_DUP).await;
        assert!(routed.write.receipt().is_some(), "{:?}", routed.write);
        let sent = server.take_requests();
        let w = writes(&sent);
        assert_eq!(w[1].query_param("fields").as_deref(), Some(LEAD_FIELDS));
        if nothing_to_write {
            assert_eq!(w.len(), 2, "no update for {country}/{state}");
        } else {
            assert_eq!(w[2].json().unwrap(), expected, "{country}/{state}");
        }
        assert!(server.unused().is_empty());
    }
}

#[tokio::test]
async fn company_falls_back_to_the_account_name_then_not_provided() {
    // A matched account: Company is its name.
    let (server, crm) = setup_with(|mut c| {
        c.routing_fields = false;
        c
    })
    .await;
    demo::query(
        &server,
        "FROM Account",
        json!([demo::account(
            "001D000000IqhSLIAZ",
            "Acme Corporation",
            "acme.com",
            "0055e000001CleAAA",
            "Customer - Direct"
        )]),
    );
    demo::query(&server, "FROM Contact", json!([]));
    demo::query(&server, "FROM Lead", json!([]));
    demo::created(&server, "t-2", "00Q5e00000AbCdFEAV");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-2", "email": "sam@acme.com", "last_name": "Ng"}"#,
    )
    .await;
    assert!(routed.write.receipt().is_some());
    let sent = server.take_requests();
    assert_eq!(
        writes(&sent)[0].json().unwrap(),
        json!({
            "LastName": "Ng", "Company": "Acme Corporation", "Email": "sam@acme.com",
            "Website": "https://acme.com", "OwnerId": "0055e000001CleAAA"
        })
    );

    // A free-mail address: no company domain, no account → "[not provided]".
    let (server, crm) = setup_with(|mut c| {
        c.routing_fields = false;
        c
    })
    .await;
    demo::query(&server, "FROM Contact", json!([]));
    demo::query(&server, "FROM Lead", json!([]));
    demo::created(&server, "t-3", "00Q5e00000AbCdGEAV");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-3", "email": "jo@gmail.com", "first_name": "Jo"}"#,
    )
    .await;
    assert!(routed.write.receipt().is_some());
    let sent = server.take_requests();
    assert!(
        by_soql(&sent, "FROM Account").is_empty(),
        "no account lookup without a company domain"
    );
    assert_eq!(
        writes(&sent)[0].json().unwrap(),
        json!({ "FirstName": "Jo", "LastName": "jo", "Company": "[not provided]", "Email": "jo@gmail.com", "OwnerId": "0055e000001EmmAAA" })
    );
}

#[tokio::test]
async fn an_existing_lead_is_patched_without_fallback_values() {
    let (server, crm) = setup().await;
    demo::query(&server, "FROM Account", json!([]));
    demo::query(&server, "FROM Contact", json!([]));
    demo::query(
        &server,
        "FROM Lead",
        json!([demo::person(
            "Lead",
            "00Q5e00000KimAAAA1",
            "0055e000001FinAAA",
            None
        )]),
    );
    demo::updated(&server, "Lead", "00Q5e00000KimAAAA1");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-4", "email": "kim@umbrella.io", "first_name": "Kim"}"#,
    )
    .await;
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("00Q5e00000KimAAAA1", false)
    );

    let sent = server.take_requests();
    let w = writes(&sent);
    assert_eq!(w.len(), 1);
    assert_eq!(
        (
            w[0].method.as_str(),
            w[0].path.as_str(),
            w[0].query.as_deref()
        ),
        (
            "PATCH",
            "/services/data/v66.0/sobjects/Lead/00Q5e00000KimAAAA1",
            None
        )
    );
    assert_eq!(headers(w[0]), write_headers());
    assert_eq!(
        w[0].json().unwrap(),
        json!({
            "FirstName": "Kim",
            "OwnerId": "0055e000001EmmAAA",
            "LeadRoute_Lead_Id__c": "t-4",
            "LeadRoute_Owner__c": "emma",
            "LeadRoute_Rule__c": "fallback",
            "LeadRoute_Experience__c": "confirmation",
            "LeadRoute_Policy_Version__c": "seed-inbound@1"
        })
    );
}

#[tokio::test]
async fn an_existing_contact_is_patched_as_a_contact() {
    let (server, crm) = setup().await;
    demo::query(
        &server,
        "FROM Account",
        json!([demo::account(
            "001D000000IqhSNIAZ",
            "Initech",
            "initech.io",
            "0055e000001BobAAA",
            "Prospect"
        )]),
    );
    demo::query(
        &server,
        "FROM Contact",
        json!([demo::person(
            "Contact",
            "0035e00000LeeAAAA1",
            "0055e000001BobAAA",
            Some("001D000000IqhSNIAZ")
        )]),
    );
    demo::updated(&server, "Contact", "0035e00000LeeAAAA1");
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-5", "email": "lee@initech.io", "last_name": "Lee"}"#,
    )
    .await;
    assert_eq!(routed.decision.owner_id(), Some("bob"));
    assert!(!routed.write.receipt().unwrap().created);
    let sent = server.take_requests();
    let w = writes(&sent);
    assert_eq!(
        (w[0].method.as_str(), w[0].path.as_str()),
        (
            "PATCH",
            "/services/data/v66.0/sobjects/Contact/0035e00000LeeAAAA1"
        )
    );
    assert_eq!(headers(w[0]), write_headers());
    assert_eq!(
        w[0].json().unwrap(),
        json!({
            "LastName": "Lee",
            "OwnerId": "0055e000001BobAAA",
            "LeadRoute_Lead_Id__c": "t-5",
            "LeadRoute_Owner__c": "bob",
            "LeadRoute_Rule__c": "existing-account",
            "LeadRoute_Experience__c": "book_meeting",
            "LeadRoute_Policy_Version__c": "seed-inbound@1"
        })
    );
}

// ------------------------------- defects 1 and 2: what a duplicate means

/// A `DUPLICATES_DETECTED` body (REST spelling `duplicateResut`) whose rule
/// matched one record of `kind` (`Lead`, `Contact`, `Account`).
fn duplicate_of(kind: &str, id: &str) -> Value {
    json!([{
        "duplicateResut": {
            "allowSave": false,
            "duplicateRule": format!("Standard_{kind}_Duplicate_Rule"),
            "duplicateRuleEntityType": "Lead",
            "errorMessage": "Use one of these records?",
            "matchResults": [{
                "entityType": kind, "errors": [], "matchEngine": "FuzzyMatchEngine",
                "matchRecords": [{
                    "additionalInformation": [], "fieldDiffs": [], "matchConfidence": 95.0,
                    "record": {
                        "attributes": { "type": kind, "url": format!("/services/data/v66.0/sobjects/{kind}/{id}") },
                        "Id": id
                    }
                }],
                "rule": format!("Standard_{kind}_Match_Rule_v1_0"), "size": 1, "success": true
            }]
        },
        "errorCode": "DUPLICATES_DETECTED",
        "message": "Use one of these records?"
    }])
}

const GLOBEX: &str = r#"{"lead_id": "t-d1", "email": "max@globex.com", "first_name": "Max", "last_name": "Mustermann",
    "phone": "+49 30 1234567", "company": "Globex GmbH"}"#;
const MAX_LEAD: &str = "00Q5e00000XyZaBEAV";
const MAX_CONTACT: &str = "0031i000013x2TEAAY";
/// The Lead fields read before an attach (the default, picklist, mode reads
/// the codes it writes).
const LEAD_FIELDS: &str = "Email,OwnerId,FirstName,LastName,Phone,Company,CountryCode,StateCode,PostalCode,NumberOfEmployees,AnnualRevenue";
const CONTACT_FIELDS: &str = "Email,OwnerId,FirstName,LastName,Phone";

/// Scripts empty account, contact and lead lookups.
fn lookups_miss(server: &MockServer) {
    demo::query(server, "FROM Account", json!([]));
    demo::query(server, "FROM Contact", json!([]));
    demo::query(server, "FROM Lead", json!([]));
}

/// Scripts `GET /sobjects/{kind}/{id}?fields=…` → this record.
fn record(server: &MockServer, kind: &str, id: &str, fields: Value) {
    let mut body = json!({
        "attributes": { "type": kind, "url": format!("/services/data/v66.0/sobjects/{kind}/{id}") },
        "Id": id
    });
    if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
        b.extend(f.clone());
    }
    server.script(
        Expect::new("GET", &format!("/services/data/v66.0/sobjects/{kind}/{id}")),
        Reply::json(200, body),
    );
}

/// (method, path, status) of every request but the lookups' queries.
fn calls(sent: &[Recorded]) -> Vec<(String, String, u16)> {
    writes(sent)
        .iter()
        .map(|r| (r.method.clone(), r.path.clone(), r.status))
        .collect()
}

fn call(method: &str, path: &str, status: u16) -> (String, String, u16) {
    (method.to_owned(), path.to_owned(), status)
}

#[tokio::test]
async fn a_duplicate_with_the_same_email_is_attached_keeping_its_owner_names_and_routing() {
    let (server, crm) = setup().await;
    lookups_miss(&server);
    server.script(
        Expect::new("PATCH", &demo::upsert("t-d1")),
        Reply::json(400, duplicate_of("Lead", MAX_LEAD)),
    );
    // The same person (the lookup missed it: it was created a moment ago).
    record(
        &server,
        "Lead",
        MAX_LEAD,
        json!({"Email": "MAX@globex.com", "OwnerId": "0055e000001BobAAA", "FirstName": "Maximilian",
               "LastName": "Mustermann", "Phone": null, "Company": "Globex", "CountryCode": null, "StateCode": null,
               "PostalCode": null, "NumberOfEmployees": null, "AnnualRevenue": null}),
    );
    demo::updated(&server, "Lead", MAX_LEAD);
    let routed = route(&router(crm), GLOBEX).await;
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        (MAX_LEAD, false)
    );

    let sent = server.take_requests();
    let lead = format!("/services/data/v66.0/sobjects/Lead/{MAX_LEAD}");
    assert_eq!(
        calls(&sent),
        [
            call("PATCH", &demo::upsert("t-d1"), 400),
            call("GET", &lead, 200),
            call("PATCH", &lead, 204),
        ]
    );
    let w = writes(&sent);
    assert_eq!(w[1].query_param("fields").as_deref(), Some(LEAD_FIELDS));
    assert_eq!(headers(w[2]), write_headers());
    // Only what the record lacks: its owner, names, company and routing
    // fields stay; nothing the buyer submitted is dropped where it fits.
    assert_eq!(w[2].json().unwrap(), json!({"Phone": "+49301234567"}));
    assert!(server.unused().is_empty());
}

#[tokio::test]
async fn a_duplicate_with_a_different_email_is_saved_as_a_new_lead_not_merged() {
    let (server, crm) = setup().await;
    lookups_miss(&server);
    server.script(
        Expect::new("PATCH", &demo::upsert("t-d1")),
        Reply::json(400, duplicate_of("Contact", MAX_CONTACT)),
    );
    // A fuzzy match on name and company, at another address.
    record(
        &server,
        "Contact",
        MAX_CONTACT,
        json!({"Email": "m.mustermann@globex-holding.com", "OwnerId": "0055e000001CleAAA",
               "FirstName": "Max", "LastName": "Mustermann", "Phone": "+4930999"}),
    );
    server.script(
        Expect::new("PATCH", &demo::upsert("t-d1")),
        Reply::json(
            201,
            json!({"id": "00Q5e00000NeWlEAV1", "errors": [], "success": true, "created": true}),
        ),
    );
    let routed = route(&router(crm), GLOBEX).await;
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("00Q5e00000NeWlEAV1", true)
    );

    let sent = server.take_requests();
    assert_eq!(
        calls(&sent),
        [
            call("PATCH", &demo::upsert("t-d1"), 400),
            call(
                "GET",
                &format!("/services/data/v66.0/sobjects/Contact/{MAX_CONTACT}"),
                200
            ),
            call("PATCH", &demo::upsert("t-d1"), 201),
        ],
        "the matched Contact is not written"
    );
    let w = writes(&sent);
    assert_eq!(w[1].query_param("fields").as_deref(), Some(CONTACT_FIELDS));
    let mut saved = write_headers();
    saved.insert(
        "sforce-duplicate-rule-header".to_owned(),
        "allowSave=true".to_owned(),
    );
    assert_eq!(headers(w[2]), saved);
    assert_eq!(w[2].body, w[0].body, "the same submission, in full");
    assert_eq!(w[2].json().unwrap()["Email"], "max@globex.com");
    assert_eq!(w[2].json().unwrap()["OwnerId"], "0055e000001EmmAAA");
}

#[tokio::test]
async fn a_blocking_duplicate_rule_at_another_address_is_a_permanent_error_naming_the_match() {
    let (server, crm) = setup().await;
    lookups_miss(&server);
    for _ in 0..2 {
        server.script(
            Expect::new("PATCH", &demo::upsert("t-d1")),
            Reply::json(400, duplicate_of("Contact", MAX_CONTACT)),
        );
    }
    record(
        &server,
        "Contact",
        MAX_CONTACT,
        json!({"Email": "other@globex.com"}),
    );
    let routed = route(&router(crm), GLOBEX).await;
    let pending = routed.write.into_pending().unwrap();
    assert_eq!(pending.error.class(), "permanent", "{:?}", pending.error);
    assert!(
        pending.error.to_string().contains(MAX_CONTACT),
        "{}",
        pending.error
    );
    assert_eq!(
        pending.existing, None,
        "no pending update of someone else's record"
    );
    assert_eq!(
        pending.lead.email, "max@globex.com",
        "the lead is kept for review"
    );
    assert!(server.unused().is_empty());
}

#[tokio::test]
async fn a_duplicate_rule_that_matches_an_account_saves_the_lead() {
    let (server, crm) = setup().await;
    lookups_miss(&server);
    server.script(
        Expect::new("PATCH", &demo::upsert("t-d1")),
        Reply::json(400, duplicate_of("Account", "001D000000IqhSLIAZ")),
    );
    server.script(
        Expect::new("PATCH", &demo::upsert("t-d1")),
        Reply::json(
            201,
            json!({"id": "00Q5e00000NeWlEAV2", "errors": [], "success": true, "created": true}),
        ),
    );
    let routed = route(&router(crm), GLOBEX).await;
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("00Q5e00000NeWlEAV2", true)
    );
    let sent = server.take_requests();
    assert_eq!(
        calls(&sent),
        [
            call("PATCH", &demo::upsert("t-d1"), 400),
            call("PATCH", &demo::upsert("t-d1"), 201),
        ]
    );
    assert_eq!(
        writes(&sent)[1].header("sforce-duplicate-rule-header"),
        Some("allowSave=true")
    );
}

#[tokio::test]
async fn a_pending_write_that_names_an_account_creates_the_lead_on_retry() {
    let (server, crm) = setup().await;
    let router = router(crm);
    lookups_miss(&server);
    server.script(
        Expect::new("PATCH", &demo::upsert("t-d1")),
        Reply::json(
            503,
            json!([{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}]),
        ),
    );
    let mut pending = route(&router, GLOBEX).await.write.into_pending().unwrap();
    // What the old adapter left behind: the Account id as the record to update.
    pending.existing = Some("001D000000IqhSLIAZ".to_owned());
    demo::created(&server, "t-d1", "00Q5e00000NeWlEAV3");
    let receipt = router.retry_write(pending).await.unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("00Q5e00000NeWlEAV3", true)
    );
}

#[tokio::test]
async fn reassigning_duplicates_is_a_choice_that_also_writes_the_routing_fields() {
    let (server, crm) = setup_with(|c| c.reassign_duplicates(true)).await;
    lookups_miss(&server);
    server.script(
        Expect::new("PATCH", &demo::upsert("t-d1")),
        Reply::json(400, duplicate_of("Lead", MAX_LEAD)),
    );
    record(
        &server,
        "Lead",
        MAX_LEAD,
        json!({"Email": null, "OwnerId": "0055e000001BobAAA", "FirstName": "Maximilian", "LastName": "Mustermann"}),
    );
    demo::updated(&server, "Lead", MAX_LEAD);
    let routed = route(&router(crm), GLOBEX).await;
    assert_eq!(routed.write.receipt().unwrap().record_id, MAX_LEAD);
    let sent = server.take_requests();
    let body = writes(&sent)[2].json().unwrap();
    assert_eq!(
        body,
        json!({
            "Email": "max@globex.com",
            "Phone": "+49301234567",
            "Company": "Globex GmbH",
            "OwnerId": "0055e000001EmmAAA",
            "LeadRoute_Owner__c": "emma",
            "LeadRoute_Rule__c": "fallback",
            "LeadRoute_Experience__c": "confirmation",
            "LeadRoute_Policy_Version__c": "seed-inbound@1"
        })
    );
}

#[test]
fn duplicate_matches_parse_under_either_spelling() {
    assert_eq!(
        parse_errors(&demo::duplicate_body(MAX_LEAD).to_string())[0].duplicates,
        [MAX_LEAD]
    );
    // The documented spelling `duplicateResult`, with a cross-object Contact match (real rudder-server body).
    let contact_match = json!([{
        "duplicateResult": {
            "allowSave": true,
            "duplicateRule": "Contacts_DR",
            "duplicateRuleEntityType": "Contact",
            "errorMessage": "You're creating a duplicate record. We recommend you use an existing record instead.",
            "matchResults": [{
                "entityType": "Contact", "errors": [], "matchEngine": "ExactMatchEngine",
                "matchRecords": [{
                    "additionalInformation": [], "fieldDiffs": [], "matchConfidence": 100,
                    "record": { "attributes": { "type": "Contact", "url": "/services/data/v50.0/sobjects/Contact/0031i000013x2TEAAY" }, "Id": "0031i000013x2TEAAY" }
                }],
                "rule": "Contact_MR", "size": 1, "success": true
            }]
        },
        "errorCode": "DUPLICATES_DETECTED",
        "message": "You're creating a duplicate record. We recommend you use an existing record instead."
    }]);
    assert_eq!(
        parse_errors(&contact_match.to_string())[0].duplicates,
        [MAX_CONTACT]
    );
}

#[test]
fn error_bodies_parse_leniently() {
    let errors = parse_errors(&demo::duplicate_body("00Q5e00000XyZaBEAV").to_string());
    assert_eq!(errors[0].code, "DUPLICATES_DETECTED");
    assert_eq!(errors[0].duplicates, ["00Q5e00000XyZaBEAV"]);
    let errors = parse_errors(
        r#"[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]"#,
    );
    assert_eq!(
        (errors[0].code.as_str(), errors[0].fields.as_slice()),
        ("REQUIRED_FIELD_MISSING", &["LastName".to_owned()][..])
    );
    let errors = parse_errors(
        r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
    );
    assert_eq!(
        (errors[0].code.as_str(), errors[0].message.as_str()),
        ("invalid_grant", "expired access/refresh token")
    );
    assert!(parse_errors("<html>Service Unavailable</html>").is_empty());
    assert!(parse_errors("").is_empty());
}

async fn write_error(reply: Reply) -> CrmError {
    write_error_after(vec![reply]).await
}

/// The error a write ends in after these replies to its upserts.
async fn write_error_after(replies: Vec<Reply>) -> CrmError {
    let (server, crm) = setup().await;
    demo::query(&server, "FROM Account", json!([]));
    demo::query(&server, "FROM Contact", json!([]));
    demo::query(&server, "FROM Lead", json!([]));
    for reply in replies {
        server.script(Expect::new("PATCH", &demo::upsert("t-7")), reply);
    }
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-7", "email": "kim@umbrella.io", "last_name": "Kim"}"#,
    )
    .await;
    assert!(server.unused().is_empty());
    routed.write.into_pending().unwrap().error
}

#[tokio::test]
async fn write_errors_are_classified() {
    let e = write_error(Reply::json(
        401,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
    ))
    .await;
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "permanent CRM error: Salesforce HTTP 401 INVALID_SESSION_ID: Session expired or invalid"
    );

    let limit =
        Reply::json(403, demo::limit_body()).header("Sforce-Limit-Info", "api-usage=100018/100000");
    let e = write_error(limit.clone()).await;
    match &e {
        CrmError::RateLimited {
            retry_after,
            message,
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(3600)));
            assert!(
                message.contains("REQUEST_LIMIT_EXCEEDED")
                    && message.contains("api-usage=100018/100000"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let e = write_error(limit.header("Retry-After", "120")).await;
    assert!(
        matches!(e, CrmError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(120)),
        "{e:?}"
    );
    // The same code for too many concurrent long requests, which clears in
    // seconds, not with the daily allowance (SalesforceLabs/OrgCheck#432).
    let e = write_error(Reply::json(
        403,
        json!([{"message": "ConcurrentRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]),
    ))
    .await;
    assert!(
        matches!(e, CrmError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(10)),
        "{e:?}"
    );

    let e = write_error(Reply::json(400, json!([{"message": "Required fields are missing: [Company]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Company"]}]))).await;
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");
    assert!(e.to_string().ends_with("(fields: Company)"), "{e}");

    let e = write_error(Reply::json(400, json!([{"message": "unable to obtain exclusive access to this record", "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}]))).await;
    assert!(matches!(e, CrmError::Transient { .. }), "{e:?}");

    // A duplicate rule that names no record, and blocks even with
    // allowSave=true: kept for review, never a conflict without an id.
    let dup = || {
        Reply::json(
            400,
            json!([{"message": "Use one of these records?", "errorCode": "DUPLICATES_DETECTED"}]),
        )
    };
    let e = write_error_after(vec![dup(), dup()]).await;
    assert_eq!(e.class(), "permanent", "{e:?}");
    assert!(e.to_string().contains("an unnamed record"), "{e}");

    for status in [500, 503] {
        let e = write_error(Reply::json(
            status,
            json!([{"message": "Server unavailable", "errorCode": "SERVER_UNAVAILABLE"}]),
        ))
        .await;
        assert!(matches!(e, CrmError::Transient { .. }), "{status}: {e:?}");
    }
    let e = write_error(Reply::empty(502)).await;
    assert!(matches!(e, CrmError::Transient { .. }), "{e:?}");
}

#[tokio::test]
async fn query_errors_are_classified_and_routing_goes_on() {
    let (server, crm) = setup().await;
    let malformed = json!([{"message": "\nSELECT Id FROM Lead WHERE SomeField__c IS NULL\n                                        ^\nERROR at Row:1:Column:41\nunexpected token: IS", "errorCode": "MALFORMED_QUERY"}]);
    server.script(
        Expect::new("GET", QUERY).query_contains("FROM Contact"),
        Reply::json(400, malformed),
    );
    let e = crm.find_person("a@b.io").await.unwrap_err();
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");

    server.script(
        Expect::new("GET", QUERY).query_contains("FROM Account"),
        Reply::json(401, json!([{"message": "This session is not valid for use with the REST API", "errorCode": "INVALID_SESSION_ID"}])),
    );
    let e = crm.find_account("b.io").await.unwrap_err();
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");

    server.script(
        Expect::new("GET", QUERY).query_contains("FROM Account"),
        Reply::json(200, json!({"unexpected": 1})),
    );
    let e = crm.find_account("b.io").await.unwrap_err();
    assert!(matches!(e, CrmError::Permanent { .. }), "{e:?}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let policy = leadroute_examples::seed_policy().unwrap();
    let offline = Salesforce::new(
        SalesforceConfig::new(format!("http://{closed}")),
        StaticToken::new(TOKEN),
        &policy,
    )
    .unwrap();
    let e = offline.find_account("b.io").await.unwrap_err();
    assert!(matches!(e, CrmError::Transient { .. }), "{e:?}");
}

#[test]
fn only_lead_and_contact_ids_can_be_updated() {
    assert_eq!(sobject_of("00Q5e00000XyZaBEAV").unwrap(), "Lead");
    assert_eq!(sobject_of("00Q5e00000XyZaB").unwrap(), "Lead");
    assert_eq!(sobject_of("0031i000013x2TEAAY").unwrap(), "Contact");
    assert!(sobject_of("001D000000IqhSLIAZ").is_err(), "an Account");
    assert!(sobject_of("00Q5e00000XyZa/../x").is_err());
    assert!(sobject_of("00Q").is_err());
}

#[tokio::test]
async fn the_api_version_is_configurable() {
    let (server, crm) = setup_with(|mut c| {
        c.api_version = "v61.0".to_owned();
        c
    })
    .await;
    server.script(
        Expect::new("GET", "/services/data/v61.0/query"),
        Reply::json(200, json!({"totalSize": 0, "done": true, "records": []})),
    );
    assert_eq!(crm.find_account("acme.com").await.unwrap(), None);
    assert_eq!(server.take_requests()[0].path, "/services/data/v61.0/query");
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

#[tokio::test]
async fn a_rotated_refresh_token_replaces_the_old_one_and_refreshes_are_one_at_a_time() {
    use leadroute_salesforce::TokenProvider;
    let server = MockServer::start().await.unwrap();
    let tokens =
        leadroute_salesforce::OAuthRefresh::new(server.base_url(), "3MVG9-client", "5Aep-one")
            .unwrap()
            .access_token("00D-expired");
    // Rotation on: each reply carries the next refresh token, and the old
    // one is revoked.
    let reply = |access: &str, refresh: &str| {
        Reply::json(
            200,
            json!({"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                   "instance_url": "https://acme.my.salesforce.com", "issued_at": "1700000000000"}),
        )
    };
    server.script(
        Expect::new("POST", "/services/oauth2/token"),
        reply("00D-a1", "5Aep-two"),
    );
    server.script(
        Expect::new("POST", "/services/oauth2/token"),
        reply("00D-a2", "5Aep-three"),
    );

    // Two requests meet the expired token together: one refresh serves both.
    let (a, b) = tokio::join!(tokens.refresh("00D-expired"), tokens.refresh("00D-expired"));
    assert_eq!(a.unwrap().as_deref(), Some("00D-a1"));
    assert_eq!(b.unwrap().as_deref(), Some("00D-a1"));
    assert_eq!(tokens.refresh_token(), "5Aep-two");
    // The next refresh presents the rotated token.
    assert_eq!(
        tokens.refresh("00D-a1").await.unwrap().as_deref(),
        Some("00D-a2")
    );
    assert_eq!(tokens.refresh_token(), "5Aep-three");
    let bodies: Vec<String> = server.take_requests().into_iter().map(|r| r.body).collect();
    assert_eq!(
        bodies,
        [
            "grant_type=refresh_token&client_id=3MVG9-client&refresh_token=5Aep-one",
            "grant_type=refresh_token&client_id=3MVG9-client&refresh_token=5Aep-two",
        ]
    );
}

#[tokio::test]
async fn an_expired_session_is_refreshed_with_the_oauth_refresh_token_flow() {
    let server = MockServer::start().await.unwrap();
    let policy = leadroute_examples::seed_policy().unwrap();
    let tokens =
        leadroute_salesforce::OAuthRefresh::new(server.base_url(), "3MVG9-client", "5Aep-refresh")
            .unwrap()
            .client_secret("s3cret")
            .access_token("00D-expired");
    let crm = Salesforce::new(SalesforceConfig::new(server.base_url()), tokens, &policy).unwrap();
    server.script(
        Expect::new("GET", QUERY).query_contains("FROM Account"),
        Reply::json(
            401,
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
        ),
    );
    server.script(
        Expect::new("POST", "/services/oauth2/token"),
        Reply::json(
            200,
            json!({
                "access_token": "00D-fresh",
                "signature": "Rne0E+TcqrrKoEz4SXgUZH4EBQf0BKO4F4c9tZ6M2Kg=",
                "scope": "refresh_token api",
                "instance_url": server.base_url(),
                "id": "https://login.salesforce.com/id/00D5e000000TESTEAQ/0055e000001AnaAAA",
                "token_type": "Bearer",
                "issued_at": "1700000000000"
            }),
        ),
    );
    demo::query(&server, "FROM Account", json!([]));
    assert_eq!(crm.find_account("acme.com").await.unwrap(), None);

    let sent = server.take_requests();
    let calls: Vec<(&str, &str, Option<&str>, u16)> = sent
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.header("authorization"),
                r.status,
            )
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("GET", QUERY, Some("Bearer 00D-expired"), 401),
            ("POST", "/services/oauth2/token", None, 200),
            ("GET", QUERY, Some("Bearer 00D-fresh"), 200),
        ]
    );
    assert_eq!(
        sent[1].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        sent[1].body,
        "grant_type=refresh_token&client_id=3MVG9-client&refresh_token=5Aep-refresh&client_secret=s3cret"
    );

    // A refresh token that was revoked: the 401 becomes a permanent error.
    server.script(
        Expect::new("GET", QUERY).query_contains("FROM Account"),
        Reply::json(
            401,
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
        ),
    );
    server.script(
        Expect::new("POST", "/services/oauth2/token"),
        Reply::json(
            400,
            json!({"error": "invalid_grant", "error_description": "expired access/refresh token"}),
        ),
    );
    let e = crm.find_account("acme.com").await.unwrap_err();
    assert_eq!(
        e,
        CrmError::permanent(
            "Salesforce token refresh failed (HTTP 400): invalid_grant expired access/refresh token"
        )
    );
}

#[tokio::test]
async fn a_401_that_is_not_an_expired_session_does_not_refresh() {
    let (server, crm) = setup().await;
    server.script(
        Expect::new("GET", QUERY).query_contains("FROM Account"),
        Reply::json(
            401,
            json!([{"message": "Bad_OAuth_Token", "errorCode": "INVALID_AUTH_HEADER"}]),
        ),
    );
    let e = crm.find_account("acme.com").await.unwrap_err();
    assert_eq!(e.class(), "permanent");
    assert_eq!(server.take_requests().len(), 1);
}

// ------------------------------------------- defect 4: unknown outcomes

#[tokio::test]
async fn a_2xx_create_whose_body_cannot_be_read_is_an_unknown_outcome() {
    let e = write_error(Reply::json(201, json!(null)).body(r#"{"id":"00Q5e00000AbCdEEAV","succ"#))
        .await;
    assert_eq!(e.class(), "unknown_outcome", "{e:?}");
    assert!(e.is_retryable());
    let e = write_error(Reply::json(201, json!({"errors": [], "success": true}))).await;
    assert_eq!(e.class(), "unknown_outcome", "a 2xx without an id: {e:?}");
}

// ------------------------------------- defect 3: idempotent Lead creates

/// `PATCH …/sobjects/Lead/LeadRoute_Lead_Id__c/{lead_id}`: the upsert by the
/// lead id as an external id.
fn upsert_path(lead_id: &str) -> String {
    format!("/services/data/v66.0/sobjects/Lead/LeadRoute_Lead_Id__c/{lead_id}")
}

#[tokio::test]
async fn a_retry_after_an_unknown_outcome_upserts_the_same_lead_by_its_lead_id() {
    let (server, crm) = setup().await;
    let router = router(crm);
    demo::query(&server, "FROM Account", json!([]));
    demo::query(&server, "FROM Contact", json!([]));
    demo::query(&server, "FROM Lead", json!([]));
    // Salesforce created the Lead, but the response was cut off.
    server.script(
        Expect::new("PATCH", &upsert_path("t-idem")),
        Reply::json(201, json!(null)).body(r#"{"id":"00Q5e00000IdEmAEAV","errors":[],"succ"#),
    );
    let routed = route(
        &router,
        r#"{"lead_id": "t-idem", "email": "jane@newco.com", "last_name": "Doe"}"#,
    )
    .await;
    let pending = routed.write.into_pending().unwrap();
    assert_eq!(pending.error.class(), "unknown_outcome");

    // The retry is the same upsert: Salesforce finds the Lead by its
    // external id and updates it (200, created: false) — one Lead, not two.
    server.script(
        Expect::new("PATCH", &upsert_path("t-idem")),
        Reply::json(
            200,
            json!({"id": "00Q5e00000IdEmAEAV", "errors": [], "success": true, "created": false}),
        ),
    );
    let receipt = router.retry_write(pending).await.unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("00Q5e00000IdEmAEAV", false)
    );
    let sent = server.take_requests();
    let w = writes(&sent);
    assert_eq!(w.len(), 2, "{w:#?}");
    for r in &w {
        assert_eq!(
            (r.method.as_str(), r.path.as_str(), r.query.as_deref()),
            ("PATCH", upsert_path("t-idem").as_str(), None)
        );
        assert_eq!(headers(r), write_headers());
        let body = r.json().unwrap();
        assert_eq!(body["Email"], "jane@newco.com");
        assert_eq!(body["OwnerId"], "0055e000001EmmAAA");
        assert!(
            body.get("LeadRoute_Lead_Id__c").is_none(),
            "the external id is in the path, not the body: {body}"
        );
    }
    assert_eq!(w[0].body, w[1].body, "the retry sends the same upsert");
}

#[tokio::test]
async fn without_a_lead_id_field_a_lead_is_created_with_a_plain_post() {
    let (server, crm) = setup_with(|c| c.lead_id_field(None)).await;
    demo::query(&server, "FROM Account", json!([]));
    demo::query(&server, "FROM Contact", json!([]));
    demo::query(&server, "FROM Lead", json!([]));
    server.script(
        Expect::new("POST", LEADS),
        Reply::json(
            201,
            json!({"id": "00Q5e00000PoStAEAV", "errors": [], "success": true}),
        ),
    );
    let routed = route(
        &router(crm),
        r#"{"lead_id": "t-post", "email": "jane@newco.com", "last_name": "Doe"}"#,
    )
    .await;
    let receipt = routed.write.receipt().unwrap();
    assert_eq!(
        (receipt.record_id.as_str(), receipt.created),
        ("00Q5e00000PoStAEAV", true)
    );
    let sent = server.take_requests();
    let body = writes(&sent)[0].json().unwrap();
    assert_eq!(
        body["LeadRoute_Lead_Id__c"], "t-post",
        "then the lead id is a plain field"
    );
}
