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
//! leadroute diff old.toml new.toml --leads history.jsonl --format markdown
//! leadroute report events.jsonl --baseline last-month.jsonl --html report.html
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
//! | 1 | `check`: a policy has errors (or warnings, with `--deny-warnings`); `route`: an input line failed; `explain`: the lead does not normalize; `diff`: some decision changed; `report`: some lines were broken (the report covers the rest) |
//! | 2 | usage error, a file that cannot be read (missing, not UTF-8), a policy that does not compile (`route`, `explain`, `diff`); `diff`: some lines of the leads file were broken (the report covers the rest) |
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
//! Besides the compiler's own warnings, `check` reports the policy's lints
//! (`leadroute::Policy::lint`), as warnings: `unused_territory`,
//! `unused_pool`, `unused_owner`, `overlapping_territories`,
//! `shadowed_rule` and `fallback_only` (see `leadroute::policy::lint` for
//! what each finds and how). They never fail the check unless
//! `--deny-warnings` is given.
//!
//! ## `leadroute route POLICY [--accounts FILE] [--now UNIX_SECS] < leads.jsonl`
//!
//! Routes JSON lines of form payloads, one lead per line (blank lines are
//! skipped), like the repository's `route` example: accounts (a JSON array
//! of CRM accounts) are matched by company domain; pool rotation advances
//! across the run. `--now` fixes the evaluation time (default: the clock).
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
//! ## `leadroute explain POLICY LEAD [--accounts FILE] [--now UNIX_SECS]`
//!
//! `LEAD` is a JSON object on the command line (it starts with `{`) or a
//! file holding one. Prints the decision's explanation; `--format json`
//! prints `{"email", "decision", "explanation"}` as `route` does.
//!
//! ## `leadroute diff OLD NEW --leads FILE [--accounts FILE] [--now UNIX_SECS]`
//!
//! Replays JSON lines of leads (`-`: stdin; the same lines as `route`)
//! through both policy versions and reports every lead whose decision
//! changes in its rule, assignee, owner, experience, priority, SLA, tags or
//! `write_to_crm`. Changes are grouped by (old rule → new rule, old assignee
//! → new assignee, what changed), most leads first, each with its count and
//! its first lead, with both decisions and explanations. An assignee is
//! `pool:ID` (whichever member), `owner:ID`, `account_owner`,
//! `contact_owner` or `nobody`.
//!
//! **Rotation.** Each version replays with its own in-memory pool state,
//! starting empty, recording each pool step in file order (as `route`
//! does). When a change moves leads into or out of a pool, later leads that
//! stay in that pool can meet another member: such a group changes only
//! `owner`, and is counted in `rotation_only`. Every lead of both versions
//! is evaluated at one time (`--now`, default the clock at the start), so
//! capacity caps fill within the replay alike in both; `--time-field KEY`
//! evaluates each lead at its own time instead (the top-level key holds
//! Unix seconds or an RFC 3339 time; a lead without a valid one is a broken
//! line), so daily and weekly capacity windows replay as they happened.
//!
//! **Streaming.** The file is read a line at a time (at most 1 MiB a line);
//! memory grows with the number of groups, not of leads: at most 1,000
//! groups are kept (the leads of further groups are counted in
//! `omitted_group_leads`). On a terminal, a progress line on stderr shows
//! leads, share of the file, changes and leads per second
//! (`--no-progress` to hide it; never drawn when stderr is not a terminal).
//! Broken lines are reported on stderr with their line numbers (the first
//! 100; all are counted) and the rest is compared.
//!
//! `--format text` (default), `markdown` (for a pull-request comment: a
//! summary table and a collapsible example per group) or `json`:
//!
//! ```json
//! {
//!   "old": {"file": "old.toml", "name": "inbound", "version": "1"},
//!   "new": {"file": "new.toml", "name": "inbound", "version": "2"},
//!   "lines": 9, "leads": 6, "changed": 5, "unchanged": 1, "rotation_only": 2,
//!   "invalid": 1, "broken_lines": 1, "broken": [{"line": 5, "error": "not valid JSON: …"}],
//!   "groups": [
//!     {"count": 3, "old_rule": null, "new_rule": "us-enterprise",
//!      "old_assignee": "pool:inbound", "new_assignee": "pool:enterprise-us",
//!      "changes": ["rule", "assignee", "owner", "experience", "priority", "sla_minutes", "tags"],
//!      "example": {"line": 2, "lead": {…},
//!                  "old": {"decision": RouteDecision, "explanation": {"summary", "steps"}},
//!                  "new": {"decision": RouteDecision, "explanation": {"summary", "steps"}}}}
//!   ],
//!   "omitted_group_leads": 0
//! }
//! ```
//!
//! `invalid` counts leads that do not normalize (the same field errors in
//! both versions: not a change); a rule of `null` is the fallback.
//!
//! ## `leadroute report EVENTS [--baseline FILE] [--format F] [--html FILE]`
//!
//! Reads the router's events (JSON lines, as the repository's
//! `docs/events.md` documents) and reports, per route (rule) and per owner
//! and for all leads: lead count, submit → owner assigned p50 / p90 / p99,
//! CRM write success rate, meeting shown → booked rate, fallback rate and
//! reassignment rate. Events are joined by `lead_id`; a lead counts under
//! its first decision's rule and owner.
//!
//! - CRM write success: of the leads with a write attempt, those with a
//!   success (a failure then a successful retry is a success).
//! - shown → booked: of the leads shown a meeting (or that booked one),
//!   those that booked.
//! - reassignment: of the leads, those decided again with another owner.
//! - Percentiles are nearest-rank over a log-linear histogram: exact below
//!   256 ms, above that never below the exact value and at most 0.8 %
//!   above it; bounded memory per row.
//! - Memory: the file is streamed; leads stay open for later events in a
//!   window of the most recent `--max-open-leads` (default 500,000), past
//!   which the oldest is counted as it stands and later events for it are
//!   `unattributed`; at most 10,000 rules and owners get their own rows
//!   (the rest: `(other)`).
//!
//! `--baseline OLD.jsonl` reads a second period the same way and shows each
//! row's change (leads, milliseconds, percentage points). `--html FILE`
//! also writes one self-contained page: the tables and a bar chart per
//! measure (inline SVG, this period over the baseline), no scripts, no
//! network resources. Lines that are not JSON, have no `event` name, or have
//! a known name with wrong fields are reported with their line numbers and
//! skipped (exit status 1); events of kinds this version does not know are
//! counted as `unknown_events`. `--format json`:
//!
//! ```json
//! {
//!   "events": {"file", "lines", "events", "broken_lines", "broken": [{"line", "error"}], "submitted",
//!              "validation_failed", "pool_store_failed", "undecided", "unknown_events", "unattributed"},
//!   "baseline": {…the same…} | null,
//!   "total": Row,
//!   "rules": [Row + {"rule": id | null}],
//!   "owners": [Row + {"owner": id | null}]
//! }
//! ```
//!
//! where a `Row` is `{"leads", "submit_to_assigned_ms": {"samples", "p50",
//! "p90", "p99"}, "crm_writes", "crm_write_success_rate", "meetings_shown",
//! "meeting_booked_rate", "fallback_rate", "reassignment_rate"}` (rates from
//! 0 to 1, `null` without a denominator; percentiles `null` without
//! samples), plus `"baseline": Row` and `"change": {"leads", "p50_ms",
//! "p90_ms", "p99_ms", "crm_write_success_rate", "meeting_booked_rate",
//! "fallback_rate", "reassignment_rate"}` with `--baseline`. Rows are
//! sorted by leads, most first; rules and owners only the baseline has are
//! listed with zero leads.
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
mod diff;
mod locate;
mod progress;
mod report;
mod route;
mod timestamp;

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

/// Output format of the reports (`diff`, `report`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DocFormat {
    /// For people, in a terminal.
    Text,
    /// For a pull-request comment.
    Markdown,
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
    /// Replay leads through two versions of a policy; report every changed decision.
    ///
    /// Changed decisions are grouped by (old rule → new rule, old assignee →
    /// new assignee, what changed), with a count and one example lead per
    /// group with both explanations. Each version replays with its own pool
    /// state, in file order.
    ///
    /// Exit status: 0 nothing changed, 1 some decision changed, 2 an error
    /// (including broken lines in the leads file: they are reported with
    /// their line numbers and the rest is still compared).
    Diff {
        /// The policy before the change (`.toml` or `.json`).
        old: PathBuf,
        /// The policy after the change.
        new: PathBuf,
        /// JSON lines of leads (form payloads), one per line; `-` for stdin.
        #[arg(long, value_name = "FILE")]
        leads: PathBuf,
        #[command(flatten)]
        context: ContextArgs,
        /// Evaluate each lead at its own time: this top-level key of the lead
        /// holds Unix seconds or an RFC 3339 time (default: one time, --now,
        /// for every lead). A lead without it is reported as a broken line.
        #[arg(long, value_name = "KEY")]
        time_field: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Text)]
        format: DocFormat,
        /// No progress line on stderr (it is only drawn on a terminal anyway).
        #[arg(long)]
        no_progress: bool,
    },
    /// Measure the funnel per route (rule) and per owner from the router's events.
    ///
    /// Lead counts, submit → owner assigned p50/p90/p99, CRM write success,
    /// meeting shown → booked, fallback and reassignment rates; with
    /// --baseline, the change against a baseline period.
    ///
    /// Exit status: 0 success, 1 some lines were broken (reported with their
    /// line numbers; the report covers the rest), 2 an error.
    Report {
        /// JSON lines of events, as the router's sinks write them (docs/events.md).
        events: PathBuf,
        /// Events of a baseline period to compare with.
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DocFormat::Text)]
        format: DocFormat,
        /// Also write a self-contained HTML page with charts (inline SVG, no
        /// scripts, no network resources).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
        /// Leads kept open for later events (meetings); the oldest is
        /// counted as it stands when more arrive.
        #[arg(long, value_name = "N", default_value_t = 500_000)]
        max_open_leads: usize,
        /// No progress line on stderr (it is only drawn on a terminal anyway).
        #[arg(long)]
        no_progress: bool,
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
    /// A JSON array of CRM accounts, matched to leads by company domain.
    #[arg(long, value_name = "FILE")]
    accounts: Option<PathBuf>,
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
        Command::Diff {
            old,
            new,
            leads,
            context,
            time_field,
            format,
            no_progress,
        } => diff::run(
            &old,
            &new,
            &leads,
            &context,
            time_field.as_deref(),
            format,
            !no_progress,
        ),
        Command::Report {
            events,
            baseline,
            format,
            html,
            max_open_leads,
            no_progress,
        } => report::run(
            &events,
            baseline.as_deref(),
            format,
            html.as_deref(),
            max_open_leads,
            !no_progress,
        ),
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
