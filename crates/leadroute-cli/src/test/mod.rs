//! `leadroute test POLICY CASES…`: test cases as data.
//!
//! Each case file ([`cases`]) lists form payloads with their context and
//! expected outcome. Every case is routed through the core's testing kit
//! ([`PolicyTester`] and [`PolicySession`](leadroute::testing::PolicySession)):
//! the tester carries the context (account, contact, lookups, away list,
//! time, pool state) and a session applies each decision's pool step, so
//! rotation sequences behave exactly as a pool store would record them.
//! Expectations are checked here rather than with the kit's `assert_*`
//! methods, which panic on the first mismatch: a command line reports every
//! mismatch of every case and goes on.

mod cases;
mod coverage;
mod junit;
mod schema;

pub(crate) use schema::cases_schema;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use leadroute::decision::{AssignedBy, Experience, Unavailable};
use leadroute::policy::Explanation;
use leadroute::pool::PoolStates;
use leadroute::testing::{Checked, PolicyTester};
use leadroute::{Normalizer, PolicySpec, RouteDecision};
use serde::Serialize;
use serde_json::json;

use crate::{PolicyFormat, read_text, write_stdout};
use cases::{Case, CaseDiagnostic, Expect, PolicyIds};
use coverage::Coverage;

/// `leadroute test`'s output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TestFormat {
    /// For people.
    Text,
    /// For tools (documented in the crate docs).
    Json,
    /// JUnit XML, for CI systems' test reports.
    Junit,
}

/// The command line of `leadroute test`.
#[derive(Debug, clap::Args)]
pub(crate) struct TestArgs {
    /// The policy file (`.toml` or `.json`).
    policy: PathBuf,
    /// Case files (`.toml` or `.json`).
    #[arg(required = true)]
    cases: Vec<PathBuf>,
    /// Report the rules, pool members and fallbacks no case reached.
    #[arg(long)]
    coverage: bool,
    /// Fail (exit status 1) when fewer than N percent of the coverage items
    /// were reached; implies --coverage.
    #[arg(long, value_name = "N", value_parser = percent)]
    min_coverage: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    format: TestFormat,
}

fn percent(s: &str) -> Result<f64, String> {
    let n: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=100.0).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{n} is not between 0 and 100"))
    }
}

/// How one case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Passed,
    Failed,
    /// The case could not run (its lead does not normalize).
    Error,
}

/// One route of a case, as reported.
#[derive(Debug, Serialize)]
struct RouteJson {
    owner: Option<String>,
    rule: Option<String>,
    fallback: bool,
    summary: String,
}

/// The result of one case.
#[derive(Debug, Serialize)]
struct CaseResult {
    name: String,
    status: Status,
    /// The case's line in its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    routes: Vec<RouteJson>,
    failures: Vec<String>,
    /// The explanation of the first route that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    explanation: Option<Explanation>,
}

/// The results of one case file.
#[derive(Debug, Serialize)]
struct FileResult {
    file: String,
    cases: Vec<CaseResult>,
}

/// Reads and compiles the policy (and keeps its spec for coverage).
fn load(path: &Path) -> anyhow::Result<(PolicySpec, leadroute::Policy)> {
    let format = PolicyFormat::of(path)?;
    let text = read_text(path)?;
    let spec = match format {
        PolicyFormat::Toml => PolicySpec::from_toml_str(&text),
        PolicyFormat::Json => PolicySpec::from_json_str(&text),
    };
    let compiled = spec.and_then(|spec| leadroute::compile(&spec).map(|p| (spec, p)));
    compiled.map_err(|e| {
        anyhow!(
            "{}: {e}\n  (run `leadroute check {}` for details)",
            path.display(),
            path.display()
        )
    })
}

/// Runs `leadroute test`; see the crate docs for the output.
pub(crate) fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let (spec, policy) = load(&args.policy)?;
    if args.format != TestFormat::Json {
        for warning in policy.warnings() {
            eprintln!("{}: {warning}", args.policy.display());
        }
    }
    let ids = PolicyIds::of(&spec);
    let base = PolicyTester::new(policy.clone());
    let normalizer = Normalizer::default();
    let mut coverage = Coverage::of(&spec);
    let mut diagnostics: Vec<CaseDiagnostic> = Vec::new();
    let mut files = Vec::new();
    for path in &args.cases {
        match cases::read(path, &ids) {
            Err(mut d) => diagnostics.append(&mut d),
            Ok(cases) => {
                let results = run_file(&base, &normalizer, &cases, &mut coverage);
                files.push(FileResult {
                    file: path.display().to_string(),
                    cases: results,
                });
            }
        }
    }
    let count = |s: Status| {
        files
            .iter()
            .flat_map(|f| &f.cases)
            .filter(|c| c.status == s)
            .count()
    };
    let (passed, failed, errored) = (
        count(Status::Passed),
        count(Status::Failed),
        count(Status::Error),
    );
    let show_coverage = args.coverage || args.min_coverage.is_some();
    let coverage_ok = args.min_coverage.is_none_or(|min| coverage.at_least(min));
    let ok = failed == 0 && errored == 0 && diagnostics.is_empty() && coverage_ok;
    match args.format {
        TestFormat::Text => {
            for d in &diagnostics {
                eprintln!("{}", d.render());
            }
            let mut text = render_text(
                &policy,
                &files,
                show_coverage.then_some(&coverage),
                args.min_coverage,
            );
            let _ = writeln!(
                text,
                "{passed} passed, {failed} failed{}",
                if errored > 0 {
                    format!(", {errored} error{}", if errored == 1 { "" } else { "s" })
                } else {
                    String::new()
                }
            );
            write_stdout(&text)?;
            if !diagnostics.is_empty() {
                let files_with = diagnostics
                    .iter()
                    .map(|d| d.file.as_str())
                    .collect::<std::collections::BTreeSet<_>>()
                    .len();
                eprintln!(
                    "leadroute: {files_with} case file{} could not be read (see above)",
                    if files_with == 1 { "" } else { "s" }
                );
            }
        }
        TestFormat::Json => {
            let mut doc = json!({
                "ok": ok,
                "policy": {"file": args.policy.display().to_string(), "name": policy.name(), "version": policy.version()},
                "passed": passed,
                "failed": failed,
                "errors": errored,
                "files": files,
                "input_errors": diagnostics,
            });
            if show_coverage {
                if let serde_json::Value::Object(m) = &mut doc {
                    let mut c = serde_json::to_value(coverage.to_json())?;
                    if let (Some(min), serde_json::Value::Object(cm)) = (args.min_coverage, &mut c)
                    {
                        cm.insert("min".to_owned(), json!(min));
                        cm.insert("ok".to_owned(), json!(coverage_ok));
                    }
                    m.insert("coverage".to_owned(), c);
                }
            }
            write_stdout(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
        }
        TestFormat::Junit => {
            for d in &diagnostics {
                eprintln!("{}", d.render());
            }
            let suites: Vec<junit::Suite<'_>> = files
                .iter()
                .map(|f| junit::Suite {
                    name: &f.file,
                    cases: f
                        .cases
                        .iter()
                        .map(|c| junit::TestCase {
                            name: &c.name,
                            file: Some(&f.file),
                            line: c.line,
                            status: match c.status {
                                Status::Passed => junit::Outcome::Passed,
                                Status::Failed => junit::Outcome::Failed,
                                Status::Error => junit::Outcome::Error,
                            },
                            message: c.failures.first().map(String::as_str).unwrap_or(""),
                            details: failure_text(c),
                        })
                        .collect(),
                })
                .collect();
            let mut extra = Vec::new();
            if show_coverage && !coverage_ok {
                extra.push(junit::TestCase {
                    name: "coverage",
                    file: None,
                    line: None,
                    status: junit::Outcome::Failed,
                    message: "coverage below --min-coverage",
                    details: coverage.render(),
                });
            }
            for d in &diagnostics {
                extra.push(junit::TestCase {
                    name: &d.file,
                    file: Some(&d.file),
                    line: d.location.map(|l| l.line),
                    status: junit::Outcome::Error,
                    message: &d.message,
                    details: d.render(),
                });
            }
            write_stdout(&junit::render(&suites, &extra))?;
        }
    }
    Ok(if !diagnostics.is_empty() {
        ExitCode::from(2)
    } else if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Runs a file's cases in order; cases of one `sequence` share pool state.
fn run_file(
    base: &PolicyTester,
    normalizer: &Normalizer,
    cases: &[Case],
    coverage: &mut Coverage,
) -> Vec<CaseResult> {
    let mut sequences: HashMap<&str, PoolStates> = HashMap::new();
    let mut results = Vec::with_capacity(cases.len());
    for case in cases {
        let carried = case
            .sequence
            .as_deref()
            .and_then(|s| sequences.get(s).cloned());
        let (result, state) = run_case(base, normalizer, case, carried, coverage);
        if let Some(seq) = case.sequence.as_deref() {
            sequences.insert(seq, state);
        }
        results.push(result);
    }
    results
}

/// Routes one case (once, or once per `expect.rotation` entry) and checks
/// its expectations; returns the result and the pool state after it.
fn run_case(
    base: &PolicyTester,
    normalizer: &Normalizer,
    case: &Case,
    carried: Option<PoolStates>,
    coverage: &mut Coverage,
) -> (CaseResult, PoolStates) {
    let ctx = &case.context;
    let mut tester = base.clone();
    if let Some(a) = &ctx.account {
        tester = tester.with_account(a.clone());
    }
    if let Some(c) = &ctx.contact {
        tester = tester.with_contact(c.clone());
    }
    if let Some(s) = ctx.account_lookup {
        tester = tester.with_account_lookup(s);
    }
    if let Some(s) = ctx.person_lookup {
        tester = tester.with_person_lookup(s);
    }
    if let Some(away) = &ctx.away {
        tester = tester.with_away(away.iter().cloned());
    }
    if let Some(counts) = &ctx.open_leads {
        tester = tester.with_open_leads(counts.iter().cloned());
    }
    if let Some(now) = ctx.now {
        tester = tester.at_unix(now);
    }
    // A sequence's state carries over; a case's own `pools` seeds the
    // first case of a sequence (or a lone case).
    if let Some(pools) = carried.or_else(|| ctx.pools.clone()) {
        tester = tester.with_pools(pools);
    }
    let mut result = CaseResult {
        name: case.name.clone(),
        status: Status::Passed,
        line: case.location.map(|l| l.line),
        routes: Vec::new(),
        failures: Vec::new(),
        explanation: None,
    };
    // The kit panics on a lead that does not normalize; say why instead.
    if let Err(e) = normalizer.normalize_json(&case.lead_json) {
        result.status = Status::Error;
        result.failures = e
            .errors
            .iter()
            .map(|issue| format!("the lead does not normalize: {issue}"))
            .collect();
        return (result, tester.session().pool_states().clone());
    }
    let mut session = tester.session();
    let routes = case.expect.rotation.as_ref().map_or(1, Vec::len);
    for i in 0..routes {
        let checked = session.route(&case.lead_json);
        coverage.record(&checked.decision, &checked.explanation);
        let want_owner = case.expect.rotation.as_ref().and_then(|r| r.get(i));
        let failures = check(&case.expect, want_owner, &checked);
        result.routes.push(RouteJson {
            owner: checked.decision.owner_id().map(str::to_owned),
            rule: checked.decision.rule.as_deref().map(str::to_owned),
            fallback: checked.decision.fallback,
            summary: checked.explanation.summary.clone(),
        });
        if !failures.is_empty() {
            let prefix = if routes > 1 {
                format!("route {} of {routes}: ", i + 1)
            } else {
                String::new()
            };
            result
                .failures
                .extend(failures.into_iter().map(|f| format!("{prefix}{f}")));
            if result.explanation.is_none() {
                result.explanation = Some(checked.explanation.clone());
            }
        }
    }
    if !result.failures.is_empty() {
        result.status = Status::Failed;
    }
    let state = session.pool_states().clone();
    (result, state)
}

/// An optional id for messages: `` `ana` `` or `nobody`.
fn who(id: Option<&str>) -> String {
    id.map_or_else(|| "nobody".to_owned(), |id| format!("`{id}`"))
}

fn list<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("[{}]", items.join(", "))
}

/// Every expectation that does not hold for this decision.
fn check(e: &Expect, rotation_owner: Option<&String>, checked: &Checked) -> Vec<String> {
    let d: &RouteDecision = &checked.decision;
    let owner = d.owner_id();
    let mut out = Vec::new();
    for want in e.owner.iter().chain(rotation_owner) {
        if owner != Some(want.as_str()) {
            out.push(format!("expected owner `{want}`, got {}", who(owner)));
        }
    }
    if let Some(one_of) = &e.owner_one_of {
        if !owner.is_some_and(|o| one_of.iter().any(|w| w == o)) {
            out.push(format!(
                "expected an owner among {}, got {}",
                list(one_of),
                who(owner)
            ));
        }
    }
    if let Some(o) = owner.filter(|o| e.not_owner.iter().any(|n| n == o)) {
        out.push(format!(
            "expected any owner but {}, got `{o}`",
            list(&e.not_owner)
        ));
    }
    match (e.assigned, owner) {
        (Some(true), None) => out.push("expected an owner, got nobody".to_owned()),
        (Some(false), Some(o)) => out.push(format!("expected nobody to be assigned, got `{o}`")),
        _ => {}
    }
    if let Some(rule) = &e.rule {
        if d.rule.as_deref() != Some(rule.as_str()) {
            let got = d
                .rule
                .as_deref()
                .map_or_else(|| "the fallback".to_owned(), |r| format!("rule `{r}`"));
            out.push(format!("expected rule `{rule}`, got {got}"));
        }
    }
    match (e.fallback, d.fallback) {
        (Some(true), false) => out.push(format!(
            "expected the fallback to decide, got rule {}",
            who(d.rule.as_deref())
        )),
        (Some(false), true) => out.push("expected a rule to decide, got the fallback".to_owned()),
        _ => {}
    }
    if let Some(pool) = &e.pool {
        match &d.assigned_by {
            AssignedBy::Pool(p) if **p == **pool => {}
            other => out.push(format!(
                "expected the owner to be chosen by pool `{pool}`, got {} chosen by {other}",
                who(owner)
            )),
        }
    }
    if let Some(name) = &e.experience {
        if d.experience.name() != name {
            out.push(format!(
                "expected experience `{name}`, got `{}`",
                d.experience.name()
            ));
        }
    }
    if let Some(with) = &e.meeting_with {
        match &d.experience {
            Experience::BookMeeting { with: w } if **w == **with => {}
            Experience::BookMeeting { with: w } => {
                out.push(format!(
                    "expected a meeting with `{with}`, got a meeting with `{w}`"
                ));
            }
            other => out.push(format!(
                "expected a meeting with `{with}`, got experience `{}`",
                other.name()
            )),
        }
    }
    let got_tags: std::collections::BTreeSet<&str> = d.tags.iter().map(|t| &**t).collect();
    if let Some(tags) = &e.tags {
        let want: std::collections::BTreeSet<&str> = tags.iter().map(String::as_str).collect();
        if want != got_tags {
            let w: Vec<&str> = want.into_iter().collect();
            let g: Vec<&str> = got_tags.iter().copied().collect();
            out.push(format!("expected tags {}, got {}", list(&w), list(&g)));
        }
    }
    for tag in &e.tags_include {
        if !got_tags.contains(tag.as_str()) {
            let g: Vec<&str> = got_tags.iter().copied().collect();
            out.push(format!("expected tag `{tag}`, got tags {}", list(&g)));
        }
    }
    if let Some(p) = e.priority {
        if d.priority != Some(p) {
            let got = d.priority.map_or("none", |p| p.as_str());
            out.push(format!("expected priority `{p}`, got `{got}`"));
        }
    }
    if let Some(m) = e.sla_minutes {
        match d.sla_minutes {
            Some(got) if got == m => {}
            Some(got) => out.push(format!("expected an SLA of {m} minutes, got {got} minutes")),
            None => out.push(format!("expected an SLA of {m} minutes, got no SLA")),
        }
    }
    if let Some(want) = e.owner_unavailable {
        if d.owner_unavailable != want {
            let name = |u: Option<Unavailable>| u.map_or("none", Unavailable::as_str);
            out.push(format!(
                "expected owner_unavailable = `{}`, got `{}` (owner {})",
                name(want),
                name(d.owner_unavailable),
                who(owner)
            ));
        }
    }
    if let Some(w) = e.write_to_crm {
        if d.write_to_crm != w {
            out.push(format!(
                "expected write_to_crm = {w}, got {} (experience `{}`)",
                d.write_to_crm,
                d.experience.name()
            ));
        }
    }
    if !e.explanation_contains.is_empty() {
        let text = checked.explanation.to_string();
        for want in &e.explanation_contains {
            if !text.contains(want.as_str()) {
                out.push(format!(
                    "expected the explanation to contain {want:?}; it does not"
                ));
            }
        }
    }
    out
}

/// A failed case's failures and explanation, for people (also the body of
/// a JUnit `<failure>`).
fn failure_text(c: &CaseResult) -> String {
    let mut out = String::new();
    for f in &c.failures {
        let _ = writeln!(out, "{f}");
    }
    if let Some(e) = &c.explanation {
        let _ = writeln!(out, "explanation:");
        for line in e.to_string().lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

fn render_text(
    policy: &leadroute::Policy,
    files: &[FileResult],
    coverage: Option<&Coverage>,
    min: Option<f64>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "policy {} v{}", policy.name(), policy.version());
    for f in files {
        let _ = writeln!(out, "\n{}", f.file);
        for c in &f.cases {
            let tag = match c.status {
                Status::Passed => "ok   ",
                Status::Failed => "FAIL ",
                Status::Error => "ERROR",
            };
            let _ = writeln!(out, "  {tag} {}", c.name);
            if c.status != Status::Passed {
                if let Some(line) = c.line {
                    let _ = writeln!(out, "        --> {}:{line}", f.file);
                }
                for line in failure_text(c).lines() {
                    let _ = writeln!(out, "        {line}");
                }
            }
        }
    }
    out.push('\n');
    if let Some(cov) = coverage {
        out.push_str(&cov.render());
        if let Some(min) = min {
            if !cov.at_least(min) {
                let _ = writeln!(
                    out,
                    "coverage {:.1}% is below --min-coverage {min}",
                    cov.percent()
                );
            }
        }
        out.push('\n');
    }
    out
}
