//! The matching benchmarks' lead and candidate accounts: a realistic mix of
//! one account on the lead's own domain, regional siblings, namesakes and
//! unrelated companies, so every signal is computed.
//!
//! Include with `#[path = "support/match_candidates.rs"] mod match_candidates;`.
#![allow(dead_code)]

use leadroute::crm::Account;

/// The lead every matching benchmark matches.
pub const LEAD_JSON: &str =
    r#"{"email": "jane@acme.co.uk", "company": "ACME Ltd", "country": "GB", "zip": "SW1A 1AA"}"#;

/// `n` candidate accounts, the lead's own company first.
pub fn candidates(n: usize) -> Vec<Account> {
    let mut out = vec![
        Account::new("a-0", "Acme Corporation")
            .domain("https://www.acme.com")
            .additional_domain("acme.de")
            .country("US")
            .owner("ana")
            .customer(),
    ];
    let names = [
        ("Acme Labs", "acmelabs.io"),
        ("Initech", "initech.com"),
        ("Globex Corporation", "globex.com"),
        ("Umbrella GmbH", "umbrella.de"),
        ("Acme UK Ltd", "acme.co.uk"),
        ("Stark Industries", "stark.com"),
        ("Wayne Enterprises", "wayne.com"),
        ("Hooli", "hooli.xyz"),
        ("Vandelay Industries", "vandelay.com"),
    ];
    let mut i = 1;
    while out.len() < n {
        let (name, domain) = names[i % names.len()];
        out.push(
            Account::new(format!("a-{i}"), format!("{name} {i}"))
                .domain(format!("{i}.{domain}"))
                .country("GB"),
        );
        i += 1;
    }
    out.truncate(n);
    out
}
