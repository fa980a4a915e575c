//! # `leadroute`: the routing policy command line
//!
//! This crate installs the `leadroute` binary; its library only carries this
//! documentation and [`run`], the binary's `main`. The `test`, `fmt` and
//! `schema --cases` formats below (case files, JSON and JUnit output) are
//! user-facing contracts: changes to them are recorded in the CHANGELOG.
//!
//! ```text
//! cargo install --path crates/leadroute-cli
//! leadroute check examples/policies/seed.toml
//! leadroute route examples/policies/seed.toml --accounts examples/accounts.json < examples/leads.jsonl
//! leadroute explain examples/policies/seed.toml '{"email": "ops@initech.co.uk", "country": "UK"}'
//! leadroute schema --output policy.schema.json
//! leadroute test examples/policies/seed.toml examples/policies/seed.cases.toml --min-coverage 100
//! leadroute fmt --check examples/policies/seed.toml
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
//! | 1 | `check`: a policy has errors (or warnings, with `--deny-warnings`); `route`: an input line failed; `explain`: the lead does not normalize; `diff`: some decision changed; `report`: some lines were broken (the report covers the rest); `test`: a case failed or could not run, or coverage is below `--min-coverage`; `fmt --check`: a file is not formatted |
//! | 2 | usage error, a file that cannot be read (missing, not UTF-8), a policy that does not compile (`route`, `explain`, `diff`, `test`); `diff`: some lines of the leads file were broken (the report covers the rest); `test`: a malformed case file; `fmt`: a policy that does not parse; any subcommand: stdout closed or failing before all output was written |
//!
//! **A closed stdout.** Every subcommand writes its output through one
//! error-returning path, so a reader that goes away early (`leadroute
//! explain … | head -1`, a broken pipe) never makes it panic: the command
//! stops, prints `leadroute: writing stdout: Broken pipe (os error 32)` on
//! stderr and exits with status 2, whatever status the run would otherwise
//! have had. `route` stops at the first lead it cannot write; `fmt` at the
//! first file it cannot report (the files before it are already written).
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
//! `shadowed_rule`, `fallback_only` and `ignored_availability_check` (see `leadroute::policy::lint` for
//! what each finds and how). They never fail the check unless
//! `--deny-warnings` is given.
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
//! ## `leadroute test POLICY CASES… [--coverage] [--min-coverage N] [--format text|json|junit]`
//!
//! Test cases as data: each case file (TOML or JSON, by extension) lists
//! form payloads, the context they are routed in, and what the decision
//! must be. Every case is routed through the core's testing kit
//! (`leadroute::testing::PolicyTester` and its sessions), so rotations
//! advance exactly as a pool store would record them. The seed policy's
//! cases, `examples/policies/seed.cases.toml`, show every feature.
//!
//! ```toml
//! "$schema" = "../../docs/cases.schema.json"   # optional, for editors
//!
//! [defaults]                  # optional: context for every case that does not set it
//! now = "2026-11-24T09:30:00Z"
//!
//! [[cases]]
//! name = "a customer goes to the account owner"        # required, unique in the file
//! lead = { email = "ops@initech.co.uk", country = "UK" } # required: the form payload
//! account = { name = "Initech", owner = "cleo", is_customer = true }
//! expect = { owner = "cleo", rule = "existing-customer", experience = "customer_success" }
//!
//! [[cases]]
//! name = "US enterprise leads rotate 2:1"
//! lead = { email = "cto@hooli.com", country = "US", company_size = "1000+" }
//! expect = { rotation = ["ana", "bob", "ana"], pool = "enterprise-us" }
//! ```
//!
//! In JSON the same file is `{"defaults": {…}, "cases": [{"name": …,
//! "lead": {…}, "expect": {…}}, …]}`. The JSON Schema is
//! `docs/cases.schema.json` (`leadroute schema --cases`).
//!
//! **A case** has these keys (any other key is an error, with the closest
//! valid key as help):
//!
//! | key | value |
//! |---|---|
//! | `name` | required; unique within the file; names the case in every report |
//! | `description` | free text |
//! | `lead` | required: the form payload, a table/object read exactly as `leadroute route` and the normalizer read it (`LeadInput`: any keys, `email` required to route) |
//! | `sequence` | a name: cases of one sequence share pool state, in file order (the first starts from its `pools`, or fresh; a later case setting `pools` is an error) — earlier leads in the same file rotate the pools for later ones |
//! | `expect` | required, non-empty: the expectations below; every one given must hold |
//! | `account` | the matched CRM account: `id` (default `test-account`), `name`, `domain`, `owner` (a policy owner id), `is_customer` (or `customer`), `tier`, `fields` (a table of other fields) |
//! | `contact` | the existing CRM contact or lead: `id` (default `test-contact`), `kind` (`contact` or `lead`), `owner`, `account_id` |
//! | `account_lookup`, `person_lookup` | how that CRM lookup ended: `found` (the default when `account`/`contact` is given), `not_found` (the default otherwise), `skipped`, `failed`, `timed_out`; any status but `found` drops the record, as when the CRM is down |
//! | `away` | owner ids that are away (replaces the default list; `[]` brings everyone back) |
//! | `open_leads` | open leads per owner id, `{ ana = 3, bob = 1 }`: what least-loaded pools and `max_open` caps read (the same for every route of the case or sequence; owners not named count as unknown); without it the counts are unknown and least-loaded pools choose by rotation |
//! | `now` | the decision time: seconds since 1970, or an RFC 3339 time with an offset (`2026-11-24T09:30:00Z`, `2026-11-24T10:30:00+01:00`); default 2023-11-14T22:13:20Z |
//! | `pools` | prior pool state, by pool id: `{ "enterprise-us" = { version = 40, members = { ana = { current = 2, assigned = 120, period = 20781, in_period = 25 } }, recent = [{ lead_id = "L-1", owner = "ana" }] } }`; every key optional (zero/empty); pools not named start fresh; `period` counts UTC days (or weeks, for weekly capacities) since 1970 |
//!
//! The context keys (`account` … `pools`) may also be set in `defaults`;
//! a case's own value replaces the default, key by key.
//!
//! **Expectations** (`expect`):
//!
//! | key | holds when |
//! |---|---|
//! | `owner = "ana"` | the owner is `ana` |
//! | `owner_one_of = ["emma", "finn"]` | the owner is one of these |
//! | `not_owner = "gus"` or `["gus", …]` | the owner is none of these (nobody passes) |
//! | `assigned = true` / `false` | someone / nobody is assigned |
//! | `rule = "us-enterprise"` | that rule decided |
//! | `fallback = true` / `false` | the policy fallback decided / a rule did |
//! | `pool = "inbound"` | that pool chose the owner (also through another pool's fallback) |
//! | `experience = "book_meeting"` | the experience: `book_meeting`, `confirmation`, `customer_success`, `nurture`, `manual_review`, `reject` |
//! | `meeting_with = "ana"` | a meeting is offered with `ana` |
//! | `tags = ["enterprise"]` | exactly these tags, in any order (`[]`: none) |
//! | `tags_include = "plg"` or `[…]` | at least these tags |
//! | `priority = "high"` | the priority: `low`, `normal`, `high`, `urgent` |
//! | `sla_minutes = 15` | the SLA |
//! | `owner_unavailable = "off_shift"` | the owner was assigned although `off_shift` or `away` at the decision time (an action without `check_availability`); `"none"`: the decision does not say so |
//! | `write_to_crm = false` | whether the lead is to be written to the CRM |
//! | `explanation_contains = "…"` or `[…]` | the rendered explanation contains each text |
//! | `rotation = ["ana", "bob", "ana"]` | the lead is routed once per entry (the rotation advancing each time) and gets these owners in order; every other expectation must hold on every route; 1 to 1,000 entries; the lead must not carry a lead id (each route after the first would replay the first) |
//!
//! Owner, rule and pool ids are checked against the policy (an unknown id
//! is an error with the closest id as help), so a renamed rule shows up as
//! such rather than as a mismatch.
//!
//! **Limits.** A case file is at most 16 MiB and 10,000 cases; at most 50
//! problems are listed per file (the rest are counted).
//!
//! **Results.** A case *passes* when every expectation holds on every
//! route, *fails* otherwise, and is an *error* when its lead does not
//! normalize (no email, say). A failing case prints every mismatch and the
//! full explanation of the first route that failed (`Policy::explain`).
//! Human output ends with the line `N passed, N failed` (`, N errors`
//! when there are). A case file that cannot be read or checked (missing,
//! not UTF-8, bad syntax, an unknown key, a wrong type, an unknown id, a
//! duplicate name) is reported as a diagnostic with its file, line, column,
//! field path and case name, like `check`'s, and the other files still run:
//!
//! ```text
//! error[unknown_key]: unknown expectation key `ownr`
//!   --> cases.toml:4:19
//!   = case: typo in an expectation
//!   = path: cases[0].expect.ownr
//!     |
//!   4 | expect = { ownr = "ana" }
//!     |                   ^^^^^
//!   = help: did you mean `owner`?
//! ```
//!
//! Diagnostic codes: `io`, `too_large`, `not_utf8`, `unknown_format`,
//! `syntax`, `unknown_key`, `missing_key`, `wrong_type`, `invalid_value`,
//! `unknown_id`, `duplicate_case`, `too_many`.
//!
//! **Coverage** (`--coverage`, implied by `--min-coverage N`): the items of
//! the policy are its rules, its fallback, every pool member whose owner
//! is active and every pool fallback. A rule is reached when it decided a
//! route; the fallback likewise; a member when its pool chose it; a pool
//! fallback when the pool had nobody eligible and handed the lead on. The
//! report lists what no route reached; the percentage is reached items over
//! all items, shown rounded down to a tenth; `--min-coverage N` (0–100,
//! compared exactly) fails the run below it.
//!
//! `--format json` prints one document:
//!
//! ```json
//! {
//!   "ok": false,
//!   "policy": {"file": "seed.toml", "name": "seed-inbound", "version": "1"},
//!   "passed": 1, "failed": 1, "errors": 0,
//!   "files": [{"file": "cases.toml", "cases": [
//!     {"name": "…", "status": "passed", "line": 3,
//!      "routes": [{"owner": "ana", "rule": "us-enterprise", "fallback": false, "summary": "Assigned to ana …"}],
//!      "failures": []},
//!     {"name": "…", "status": "failed", "line": 8, "routes": […],
//!      "failures": ["expected owner `bob`, got `emma`"],
//!      "explanation": {"summary": "…", "steps": […]}}]}],
//!   "input_errors": [{"file": "bad.toml", "code": "unknown_key", "message": "…", "path": "cases[0].expect.ownr",
//!                     "case": "…", "help": "did you mean `owner`?", "location": {"line": 4, "column": 19}}],
//!   "coverage": {"percent": 26.6, "reached": 4, "total": 15, "fallback": 1,
//!                "rules": [{"id": "us-enterprise", "routes": 1}, …],
//!                "pool_members": [{"id": "ana", "pool": "enterprise-us", "routes": 1}, …],
//!                "pool_fallbacks": [{"id": "inbound", "routes": 0}, …],
//!                "inactive_members": [], "not_reached": ["rule `product-led`", …],
//!                "min": 100.0, "ok": false}
//! }
//! ```
//!
//! `status` is `passed`, `failed` or `error`; `line` is where the case
//! starts; `explanation` (the core's `Explanation` JSON) appears on failed
//! cases only; `coverage` only with `--coverage`/`--min-coverage`, and its
//! `min`/`ok` only with `--min-coverage`. Optional diagnostic keys (`path`,
//! `case`, `help`, `location`) are left out when empty.
//!
//! `--format junit` prints JUnit XML for CI test reports: a `<testsuite>`
//! per case file, a `<testcase>` per case (`classname` and `file` the
//! file, `line` where the case starts), a
//! `<failure>` (message: the first mismatch; text: every mismatch and the
//! explanation) or an `<error>` (lead does not normalize); unreadable case
//! files and coverage below `--min-coverage` appear in a suite named
//! `leadroute`. Text is escaped for XML 1.0 (characters XML cannot carry
//! become U+FFFD).
//!
//! ## `leadroute fmt [--check] POLICY…`
//!
//! Rewrites each policy in canonical form: keys in the policy format's
//! field order at every level (`name`, `version`, `owners`, `territories`,
//! `pools`, `rules`, `fallback`; a rule's `id`, `description`, `when`,
//! `then`; an action's `assign`, `experience`, `if_unavailable`, `tags`,
//! `priority`, `sla_minutes`, `write_to_crm`; …), keys of free-form maps
//! (`crm_ids`, `attributes`) by name, array items never moved. TOML is
//! edited in place with `toml_edit`, so comments stay with what they
//! annotate and inline tables stay inline; spacing is normalized (`key =
//! value`, `{ a = 1 }`, `[1, 2]`, one blank line before each table header).
//! JSON is printed anew with two-space indentation, a value on one line
//! when it fits in 100 columns. Formatting is idempotent, and a policy that
//! reads before formatting must read as the same spec after (checked on
//! every run: a file that would change meaning is left alone, exit
//! status 2). Prints `formatted FILE` for each file rewritten; `--check`
//! writes nothing, prints `would reformat FILE` for each file not in
//! canonical form and exits 1 if there is one.
//!
//! ## `leadroute schema [--cases] [--output FILE]`
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
//!              "validation_failed", "pool_store_failed", "crm_writes_queued", "crm_writes_dead_lettered",
//!              "outbox_failed", "sla_breached", "undecided", "unknown_events", "unattributed"},
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
//! README's "Command line" section). `--cases` prints the schema of
//! `leadroute test` case files instead (`docs/cases.schema.json`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    // Output goes through `write_stdout` (or a writer with its error):
    // `print!` panics on a closed stdout.
    clippy::print_stdout,
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
mod fmt;
mod locate;
mod progress;
mod report;
mod route;
mod test;
mod timestamp;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

/// Check, test, format, run and explain leadroute routing policies.
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
    /// Rewrite policies in canonical form: keys in the format's order,
    /// normalized spacing, comments kept (TOML).
    ///
    /// With --check nothing is written: files that would change are listed
    /// and the exit status is 1. Exit status 2 when a file cannot be read
    /// or parsed.
    Fmt {
        /// Policy files (`.toml` or `.json`).
        #[arg(required = true)]
        policies: Vec<PathBuf>,
        /// Only check: list the files that are not formatted, exit 1 if any.
        #[arg(long)]
        check: bool,
    },
    /// Run test cases (TOML or JSON files of leads, context and expected
    /// outcomes) against a policy.
    ///
    /// A failing case prints its mismatches and the decision's full
    /// explanation. Exit status 1 when a case fails or coverage is below
    /// --min-coverage, 2 when the policy does not compile or a case file
    /// cannot be read.
    ///
    /// JSON: {"ok", "policy", "passed", "failed", "errors", "files": [{"file", "cases": [{"name", "status", "line", "routes", "failures", "explanation"}]}], "input_errors", "coverage"}.
    Test(test::TestArgs),
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
        /// The schema of `leadroute test` case files instead (as
        /// docs/cases.schema.json).
        #[arg(long)]
        cases: bool,
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
        Command::Fmt { policies, check } => fmt::run(&policies, check),
        Command::Test(args) => test::run(&args),
        Command::Schema { output, cases } => schema(output.as_deref(), cases),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("leadroute: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// `leadroute schema [--cases] [--output FILE]`: the policy format's (or
/// the case files') JSON Schema, pretty, with a final newline.
fn schema(output: Option<&Path>, cases: bool) -> anyhow::Result<ExitCode> {
    let schema = if cases {
        test::cases_schema()
    } else {
        leadroute::policy::json_schema()
    };
    let mut text = serde_json::to_string_pretty(&schema)?;
    text.push('\n');
    match output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => write_stdout(&text)?,
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

/// The context of every error writing stdout (a closed pipe: `leadroute:
/// writing stdout: Broken pipe (os error 32)`, exit status 2).
const WRITING_STDOUT: &str = "writing stdout";

/// Writes `text` to stdout and flushes it: the one way subcommands print
/// (`route` and `diff` stream through a writer with the same error). A
/// closed stdout is an error the caller returns, not the panic `print!`
/// would raise.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).context(WRITING_STDOUT)?;
    out.flush().context(WRITING_STDOUT)
}
