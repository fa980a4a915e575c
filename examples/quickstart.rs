//! The main job on built-in data: route a handful of bundled leads through
//! the seed policy with in-memory adapters, and print each decision, its
//! explanation and the events emitted.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use leadroute::PolicySpec;
use leadroute::crm::{Account, Contact};
use leadroute::router::WriteOutcome;
use leadroute::testing::InMemoryCrm;
use leadroute::testing::RecordingSink;
use leadroute::{LeadRouter, compile};

const LEADS: &[(&str, &str)] = &[
    (
        "enterprise US",
        r#"{"email": "dana.whitfield@globex.com", "first_name": "Dana", "company": "Globex Corporation",
            "country": "United States", "state": "CA", "company_size": "1,000+", "product_interest": "Analytics"}"#,
    ),
    (
        "existing customer",
        r#"{"email": "ops@initech.co.uk", "company": "Initech Ltd", "country": "UK", "employees": "51-200"}"#,
    ),
    (
        "PLG interest",
        r#"{"email": "sam@tinyshop.io", "company": "Tiny Shop", "employees": "1-10", "product_interest": "Free Trial"}"#,
    ),
    (
        "free email",
        r#"{"email": "jo.bloggs@gmail.com", "country": "Canada", "employees": "11-50"}"#,
    ),
    (
        "disposable",
        r#"{"email": "x7@mailinator.com", "company": "Test", "country": "US", "employees": "5000+"}"#,
    ),
    (
        "invalid",
        r#"{"email": "not-an-email", "employees": "lots"}"#,
    ),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = PolicySpec::from_json_str(include_str!("policies/seed.json"))?;
    let policy = compile(&spec)?;
    let crm = InMemoryCrm::new()
        .with_account(
            Account::new("001A", "Initech")
                .domain("initech.co.uk")
                .owner("cleo")
                .customer(),
        )
        .with_person("ops@initech.co.uk", Contact::new("003-ops").owner("cleo"));
    let router = LeadRouter::new(policy, crm, RecordingSink::new());

    println!(
        "policy {} v{}: rules {:?}\n",
        router.policy().name(),
        router.policy().version(),
        router.policy().rule_ids().collect::<Vec<_>>()
    );
    for (label, body) in LEADS {
        router.events().clear();
        println!("== {label}");
        match pollster::block_on(router.route_json(body)) {
            Ok(routed) => {
                let d = &routed.decision;
                println!(
                    "owner: {}   experience: {}   rule: {}   crm: {}",
                    d.owner_id().unwrap_or("-"),
                    d.experience.name(),
                    d.rule.as_deref().unwrap_or("(fallback)"),
                    match &routed.write {
                        WriteOutcome::Written(r) => format!(
                            "{} {}",
                            if r.created { "created" } else { "updated" },
                            r.record_id
                        ),
                        WriteOutcome::Pending(p) =>
                            format!("write failed ({}), kept for retry", p.error.class()),
                        _ => "not written (the policy keeps this lead out of the CRM)".to_owned(),
                    }
                );
                print!("{}", router.policy().explain(d));
            }
            Err(err) => println!("invalid input, nothing looked up or written: {err}"),
        }
        println!("events: {}\n", router.events().names().join(" → "));
    }
    Ok(())
}
