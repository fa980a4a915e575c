//! Dry-runs a routing policy over leads: JSON lines on stdin, one JSON
//! decision per line on stdout.
//!
//! ```text
//! cargo run --example route -- POLICY_FILE [ACCOUNTS_FILE] < leads.jsonl
//! cargo run --example route -- examples/policies/seed.toml examples/accounts.json < examples/leads.jsonl
//! ```
//!
//! - `POLICY_FILE`: a policy spec, TOML if it ends in `.toml`, else JSON.
//!   Compile errors are printed to stderr and the program exits 2.
//! - `ACCOUNTS_FILE`: optional JSON array of known CRM accounts, each
//!   `{"id", "name", "domain", "owner", "customer", "tier", "fields"}`;
//!   leads are matched to them by company domain.
//!
//! Pool rotation advances across the leads of one run (an in-memory pool
//! store), as it would in production. Each output line is either
//! `{"email", "decision": {…}, "explanation": {"summary", "steps": […]}}` or
//! `{"errors": [{field, code, value, message}]}` for a lead that does not
//! normalize. The program exits 0 after the last line.

use std::collections::HashMap;
use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;
use std::time::SystemTime;

use leadroute::PolicySpec;
use leadroute::crm::Account;
use leadroute::lead::FieldIssue;
use leadroute::policy::Explanation;
use leadroute::pool::InMemoryPoolStore;
use leadroute::{Facts, Normalizer, RouteDecision, compile};
use serde::Serialize;

#[derive(Serialize)]
#[serde(untagged)]
enum Line<'a> {
    Routed {
        email: &'a str,
        decision: &'a RouteDecision,
        explanation: Explanation,
    },
    Invalid {
        errors: &'a [FieldIssue],
    },
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(policy_path) = args.first() else {
        eprintln!("usage: route POLICY_FILE [ACCOUNTS_FILE] < leads.jsonl");
        return ExitCode::from(2);
    };
    match run(policy_path, args.get(1).map(String::as_str)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
    }
}

fn run(policy_path: &str, accounts_path: Option<&str>) -> Result<(), String> {
    let text = std::fs::read_to_string(policy_path).map_err(|e| format!("{policy_path}: {e}"))?;
    let spec = if policy_path.ends_with(".toml") {
        PolicySpec::from_toml_str(&text).map_err(|e| format!("{policy_path}: {e}"))?
    } else {
        PolicySpec::from_json_str(&text).map_err(|e| format!("{policy_path}: {e}"))?
    };
    let policy = compile(&spec).map_err(|e| format!("{policy_path}: {e}"))?;
    for warning in policy.warnings() {
        eprintln!("{policy_path}: {warning}");
    }

    let accounts: Vec<Account> = match accounts_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
            serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?
        }
        None => Vec::new(),
    };
    let by_domain: HashMap<&str, &Account> = accounts
        .iter()
        .filter_map(|a| a.domain.as_deref().map(|d| (d, a)))
        .collect();

    let normalizer = Normalizer::default();
    let store = InMemoryPoolStore::new();
    let stdin = io::stdin();
    let mut out = BufWriter::new(io::stdout().lock());
    for line in stdin.lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        let printed = match normalizer.normalize_json(&line) {
            Err(err) => serde_json::to_string(&Line::Invalid {
                errors: &err.errors,
            }),
            Ok(normalized) => {
                let lead = normalized.lead;
                let account = lead
                    .company_domain
                    .as_deref()
                    .and_then(|d| by_domain.get(d));
                let mut ctx = Facts::new(SystemTime::now());
                if let Some(account) = account {
                    ctx = ctx.account(account);
                }
                let decision = pollster::block_on(leadroute::router::decide_and_record(
                    &policy, &lead, &ctx, &store,
                ))
                .map_err(|e| e.to_string())?;
                serde_json::to_string(&Line::Routed {
                    email: &lead.email,
                    explanation: policy.explain(&decision),
                    decision: &decision,
                })
            }
        };
        writeln!(out, "{}", printed.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}
