//! # `leadroute`: the routing policy command line
//!
//! This crate installs the `leadroute` binary; its library only carries this
//! documentation and [`run`], the binary's `main`.
//!
//! ```text
//! cargo install --path crates/leadroute-cli
//! leadroute check examples/policies/seed.toml
//! leadroute route examples/policies/seed.toml --accounts examples/accounts.json < examples/leads.jsonl
//! leadroute explain examples/policies/seed.toml '{"email": "ops@initech.co.uk", "country": "UK"}'
//! leadroute schema --output policy.schema.json
//! ```
//!
//! Every subcommand prints for people by default and takes `--format json`
//! for tools. A policy file is TOML when its name ends in `.toml`, JSON when
//! it ends in `.json`; any other name is an error.
//!
//! ## Exit status
//!
//! | status | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | `check`: a policy has errors (or warnings, with `--deny-warnings`); `route`: an input line failed; `explain`: the lead does not normalize |
//! | 2 | usage error, a file that cannot be read (missing, not UTF-8), a policy that does not compile (`route`, `explain`) |
//!
//! ## `leadroute check POLICY…`
//!
//! Reads and compiles each policy and prints every diagnostic with its
//! severity, code, field path, rule id and help, and a source excerpt with
//! line and column when the path can be located in the text (best effort:
//! the exact value, else the deepest enclosing value written in the file;
//! syntax errors use the line and column of the parser's message).
//!
//! `--format json` prints one document:
//!
//! ```json
//! {
//!   "ok": false,
//!   "files": [
//!     {"file": "bad.json", "ok": false,
//!      "errors": [{"severity": "error", "code": "unknown_owner", "path": "fallback.assign.owner",
//!                  "message": "unknown owner `queeu`", "value": "queeu", "help": "did you mean `queue`?",
//!                  "location": {"line": 4, "column": 37}}],
//!      "warnings": []},
//!     {"file": "missing.toml", "ok": false, "io_error": "cannot read missing.toml: No such file or directory (os error 2)"}
//!   ]
//! }
//! ```
//!
//! Each diagnostic is the core's `Diagnostic` JSON plus `location` when it
//! was located; `omitted_errors` / `omitted_warnings` appear when not zero.
//!
//! ## `leadroute route POLICY [--accounts FILE] [--match-config FILE] [--now UNIX_SECS] < leads.jsonl`
//!
//! Routes JSON lines of form payloads, one lead per line (blank lines are
//! skipped); pool rotation advances across the run. `--now` fixes the
//! evaluation time (default: the clock).
//!
//! **Accounts.** `--accounts` is a JSON array of CRM accounts (at most
//! 1,000, ids unique). Every account is a candidate for every lead, and
//! the core's account matcher (`leadroute::matching`) — the one the
//! `LeadRouter` runs over a CRM's candidates — decides which one a lead
//! belongs to, or that none or several fit (ambiguous): a dry run matches
//! like production. Keys: `id` (required), `name`, `domain` (a website or
//! domain), `owner` (a policy owner id), `customer` (or `is_customer`),
//! `tier`, `fields` (other fields a policy tests), and what the matcher
//! reads: `additional_domains` (a list), `country` (ISO code or name),
//! `postal_code`, `phone`, `parent` (or `parent_id`: the parent account's
//! id), `contact_domains` (`{"acme.com": 12}`: contacts per email domain)
//! and `last_activity` (Unix seconds):
//!
//! ```json
//! [{"id": "001", "name": "Acme Corporation", "domain": "https://www.acme.com", "owner": "ana",
//!   "customer": true, "additional_domains": ["acme.de"], "country": "US"},
//!  {"id": "002", "name": "Acme UK Ltd", "domain": "acme.co.uk", "owner": "cleo", "parent": "001",
//!   "country": "GB", "contact_domains": {"acme.co.uk": 14}}]
//! ```
//!
//! `--match-config` is a JSON `MatchConfig` (`min_confidence`,
//! `weights`, `tie_breakers`, `route_to_parent`, …; see
//! `leadroute::matching::MatchConfig`).
//!
//! Human output is one line per lead: `LINE: EMAIL: SUMMARY`. With
//! `--format json`, one JSON line per lead:
//!
//! ```json
//! {"line": 1, "email": "…", "decision": {…}, "explanation": {"summary": "…", "steps": […]}}
//! {"line": 5, "errors": [{"field": "email", "code": "invalid", "value": "…", "message": "…"}]}
//! ```
//!
//! A lead that does not normalize is output with its field errors (it is a
//! result, not a failure). A line that is not a JSON object, or not UTF-8,
//! is reported on stderr as `line N: …`, the rest is still processed, and
//! the exit status is 1.
//!
//! ## `leadroute explain POLICY LEAD [--accounts FILE] [--match-config FILE] [--now UNIX_SECS]`
//!
//! `LEAD` is a JSON object on the command line (it starts with `{`) or a
//! file holding one. Prints the decision's explanation, with the account
//! match in words (`account match: matched Acme Corporation (acme.com) by
//! cross-TLD domain acme.co.uk, confidence 0.85; …`); `--format json`
//! prints `{"email", "decision", "explanation"}` as `route` does, the
//! decision's `account_match` holding every candidate and its evidence.
//!
//! ## `leadroute schema [--output FILE]`
//!
//! Prints the JSON Schema (draft 2020-12) of the policy format, the same
//! text as the repository's `docs/policy.schema.json`; `--output` writes it
//! to a file. Editors use it to validate and complete policies (see the
//! README's "Command line" section).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod check;
mod locate;
mod route;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

/// Check, run and explain leadroute routing policies.
#[derive(Debug, Parser)]
#[command(name = "leadroute", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people.
    Text,
    /// For tools (the shapes are documented in the crate docs).
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read and compile policies; print every diagnostic with a source excerpt.
    ///
    /// Exit status 1 when a policy has errors (or warnings, with
    /// --deny-warnings), 2 when a file cannot be read.
    ///
    /// JSON: {"ok", "files": [{"file", "ok", "errors": [Diagnostic + "location": {"line", "column"}], "warnings": […]} | {"file", "ok", "io_error"}]}.
    Check {
        /// Policy files (`.toml` or `.json`).
        #[arg(required = true)]
        policies: Vec<PathBuf>,
        /// Treat warnings as errors.
        #[arg(long)]
        deny_warnings: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Route JSON lines of leads from stdin, one decision per line.
    ///
    /// Broken lines are reported on stderr with their line number (exit status 1).
    ///
    /// JSON: one line per lead, {"line", "email", "decision", "explanation"} or {"line", "errors"}.
    Route {
        /// The policy file (`.toml` or `.json`).
        policy: PathBuf,
        #[command(flatten)]
        context: ContextArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Explain one lead's decision.
    ///
    /// JSON: {"email", "decision", "explanation": {"summary", "steps"}}.
    Explain {
        /// The policy file (`.toml` or `.json`).
        policy: PathBuf,
        /// The lead: a JSON object, or a file holding one.
        lead: String,
        #[command(flatten)]
        context: ContextArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the JSON Schema of the policy format (as docs/policy.schema.json).
    ///
    /// For editors: validation and completion of JSON and TOML policies.
    Schema {
        /// Write the schema to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// What `route` and `explain` know besides the lead.
#[derive(Debug, clap::Args)]
struct ContextArgs {
    /// A JSON array of CRM accounts; every one is a candidate, and the
    /// account matcher decides which one (if any) a lead belongs to.
    #[arg(long, value_name = "FILE")]
    accounts: Option<PathBuf>,
    /// A matcher config (JSON: weights, thresholds, tie-breakers,
    /// `route_to_parent`); default: the built-in one.
    #[arg(long, value_name = "FILE")]
    match_config: Option<PathBuf>,
    /// The evaluation time, in seconds since the Unix epoch (default: now).
    #[arg(long, value_name = "UNIX_SECS")]
    now: Option<u64>,
}

/// Parses the command line and runs the subcommand; the `leadroute`
/// binary's whole `main`.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check {
            policies,
            deny_warnings,
            format,
        } => check::run(&policies, deny_warnings, format),
        Command::Route {
            policy,
            context,
            format,
        } => route::route(&policy, &context, format),
        Command::Explain {
            policy,
            lead,
            context,
            format,
        } => route::explain(&policy, &lead, &context, format),
        Command::Schema { output } => schema(output.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("leadroute: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// `leadroute schema [--output FILE]`: the policy format's JSON Schema,
/// pretty, with a final newline.
fn schema(output: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut text = serde_json::to_string_pretty(&leadroute::policy::json_schema())?;
    text.push('\n');
    match output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// A policy's text format, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PolicyFormat {
    Toml,
    Json,
}

impl PolicyFormat {
    fn of(path: &Path) -> anyhow::Result<Self> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Ok(PolicyFormat::Toml),
            Some("json") => Ok(PolicyFormat::Json),
            _ => bail!(
                "{}: unknown policy format (the file name must end in .toml or .json)",
                path.display()
            ),
        }
    }
}

/// A file's text, with an error naming the file when it is missing or not UTF-8.
fn read_text(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}
