//! `leadroute route` and `leadroute explain`: the repository's `route`
//! example, installed.

use std::io::{self, BufRead, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context, anyhow, bail};
use leadroute::crm::Account;
use leadroute::lead::FieldIssue;
use leadroute::matching::{MAX_CANDIDATES_LIMIT, MatchConfig, Matcher};
use leadroute::policy::Explanation;
use leadroute::pool::InMemoryPoolStore;
use leadroute::{Facts, Normalizer, Policy, RouteDecision};
use serde::Serialize;

use crate::check::compile_file;
use crate::{ContextArgs, Format, read_text};

/// One output line of `route --format json` (and `explain --format json`,
/// without `line`).
#[derive(Serialize)]
#[serde(untagged)]
enum Line<'a> {
    Routed {
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
        email: &'a str,
        decision: &'a RouteDecision,
        explanation: Explanation,
    },
    Invalid {
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<usize>,
        errors: &'a [FieldIssue],
    },
}

/// Reads and compiles the policy; compile errors end the run (status 2).
fn load_policy(path: &Path) -> anyhow::Result<Policy> {
    let (_, _, result) = compile_file(path)?;
    let policy = result.map_err(|e| {
        anyhow!(
            "{}: {e}\n  (run `leadroute check {}` for details)",
            path.display(),
            path.display()
        )
    })?;
    for warning in policy.warnings() {
        eprintln!("{}: {warning}", path.display());
    }
    Ok(policy)
}

fn load_accounts(path: Option<&Path>) -> anyhow::Result<Vec<Account>> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text = read_text(path)?;
    let accounts: Vec<Account> = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a JSON array of accounts", path.display()))?;
    if accounts.len() > MAX_CANDIDATES_LIMIT {
        bail!(
            "{}: {} accounts; every account is a candidate for every lead, and the matcher \
             reads at most {MAX_CANDIDATES_LIMIT}",
            path.display(),
            accounts.len()
        );
    }
    let mut ids = std::collections::HashSet::new();
    for (i, a) in accounts.iter().enumerate() {
        if !ids.insert(a.id.as_str()) {
            bail!(
                "{}: account [{i}] repeats the id `{}`",
                path.display(),
                a.id
            );
        }
    }
    Ok(accounts)
}

/// The matcher: the `--match-config` file's, or the default; either way it
/// reads every account of the file.
fn load_matcher(path: Option<&Path>, accounts: usize) -> anyhow::Result<Matcher> {
    let mut config = match path {
        None => MatchConfig::default(),
        Some(path) => MatchConfig::from_json_str(&read_text(path)?)
            .with_context(|| format!("{}: not a matcher config", path.display()))?,
    };
    config.max_candidates = config.max_candidates.max(accounts.max(1));
    Matcher::new(config).map_err(|e| anyhow!("matcher config: {e}"))
}

/// What routing a lead needs besides the lead: the policy, the accounts
/// (every one a candidate) and the matcher, the pool store, the time.
struct Router<'a> {
    policy: &'a Policy,
    accounts: &'a [Account],
    matcher: Matcher,
    normalizer: Normalizer,
    store: InMemoryPoolStore,
    now: Option<u64>,
}

impl<'a> Router<'a> {
    fn new(
        policy: &'a Policy,
        accounts: &'a [Account],
        matcher: Matcher,
        now: Option<u64>,
    ) -> Self {
        Router {
            policy,
            accounts,
            matcher,
            normalizer: Normalizer::default(),
            store: InMemoryPoolStore::new(),
            now,
        }
    }

    /// Routes one lead (a JSON object) and records its pool step; the
    /// closure gets the output line.
    fn route<T>(
        &self,
        json: &str,
        line: Option<usize>,
        emit: impl FnOnce(&Line<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        match self.normalizer.normalize_json(json) {
            Err(err) => emit(&Line::Invalid {
                line,
                errors: &err.errors,
            }),
            Ok(normalized) => {
                let lead = normalized.lead;
                let mut facts = match self.now {
                    Some(secs) => Facts::at_unix(secs),
                    None => Facts::new(SystemTime::now()),
                };
                // The same matcher as the router's, over every account.
                let active = |o: &str| self.policy.owner(o).is_some_and(|v| v.active);
                let matched = Arc::new(self.matcher.match_accounts_with(
                    &lead,
                    self.accounts,
                    &active,
                ));
                if let Some(account) = matched
                    .routed_account_id
                    .as_deref()
                    .and_then(|id| self.accounts.iter().find(|a| a.id == id))
                {
                    facts = facts.account(account);
                }
                facts = facts.account_match(&matched);
                let decision = pollster::block_on(leadroute::router::decide_and_record(
                    self.policy,
                    &lead,
                    &facts,
                    &self.store,
                ))
                .map_err(|e| anyhow!("recording the pool step: {e}"))?;
                emit(&Line::Routed {
                    line,
                    email: &lead.email,
                    explanation: self.policy.explain(&decision),
                    decision: &decision,
                })
            }
        }
    }
}

/// Why a line is not a lead to route, if it is not.
fn broken(bytes: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        )
    })?;
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(text),
        Ok(_) => Err("not a JSON object".to_owned()),
        Err(e) => Err(format!("not valid JSON: {e}")),
    }
}

fn issues_text(errors: &[FieldIssue]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// `leadroute route`.
pub(crate) fn route(
    policy: &Path,
    context: &ContextArgs,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let policy = load_policy(policy)?;
    let accounts = load_accounts(context.accounts.as_deref())?;
    let matcher = load_matcher(context.match_config.as_deref(), accounts.len())?;
    let router = Router::new(&policy, &accounts, matcher, context.now);
    let mut out = BufWriter::new(io::stdout().lock());
    let mut input = io::stdin().lock();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut failed = 0usize;
    loop {
        buf.clear();
        let n = input.read_until(b'\n', &mut buf).context("reading stdin")?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let json = match broken(bytes) {
            Ok(json) => json,
            Err(why) => {
                failed += 1;
                eprintln!("line {line_no}: {why}");
                continue;
            }
        };
        let printed = router.route(json, Some(line_no), |line| {
            Ok(match format {
                Format::Json => serde_json::to_string(line)?,
                Format::Text => match line {
                    Line::Routed {
                        email, explanation, ..
                    } => format!("{line_no}: {email}: {}", explanation.summary),
                    Line::Invalid { errors, .. } => {
                        format!("{line_no}: not routed: {}", issues_text(errors))
                    }
                },
            })
        })?;
        writeln!(out, "{printed}").context("writing stdout")?;
    }
    out.flush().context("writing stdout")?;
    if failed > 0 {
        eprintln!(
            "{failed} of {line_no} line{} could not be read",
            if line_no == 1 { "" } else { "s" }
        );
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// `leadroute explain`.
pub(crate) fn explain(
    policy: &Path,
    lead: &str,
    context: &ContextArgs,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let policy = load_policy(policy)?;
    let accounts = load_accounts(context.accounts.as_deref())?;
    let matcher = load_matcher(context.match_config.as_deref(), accounts.len())?;
    let json = if lead.trim_start().starts_with('{') {
        lead.to_owned()
    } else {
        read_text(Path::new(lead))?
    };
    match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(serde_json::Value::Object(_)) => {}
        Ok(_) => bail!("the lead is not a JSON object"),
        Err(e) => bail!("the lead is not valid JSON: {e}"),
    }
    let router = Router::new(&policy, &accounts, matcher, context.now);
    router.route(&json, None, |line| {
        let invalid = matches!(line, Line::Invalid { .. });
        match (format, line) {
            (Format::Json, line) => println!("{}", serde_json::to_string_pretty(line)?),
            (Format::Text, Line::Routed { explanation, .. }) => println!("{explanation}"),
            (Format::Text, Line::Invalid { errors, .. }) => {
                eprintln!("the lead does not normalize:");
                for e in *errors {
                    eprintln!("  {e}");
                }
            }
        }
        Ok(if invalid {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}
