//! `leadroute route` and `leadroute explain`: the repository's `route`
//! example, installed.

use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use anyhow::{Context, anyhow, bail};
use leadroute::crm::Account;
use leadroute::lead::{FieldIssue, Lead, NormalizeError};
use leadroute::matching::{CandidateSet, MAX_CANDIDATES_LIMIT, MatchConfig, Matcher};
use leadroute::policy::Explanation;
use leadroute::pool::InMemoryPoolStore;
use leadroute::{Facts, Normalizer, Policy, RouteDecision};
use serde::Serialize;

use crate::check::compile_file;
use crate::{ContextArgs, Format, WRITING_STDOUT, read_text, write_stdout};

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
pub(crate) fn load_policy(path: &Path) -> anyhow::Result<Policy> {
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

pub(crate) fn load_accounts(path: Option<&Path>) -> anyhow::Result<Vec<Account>> {
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
pub(crate) fn load_matcher(path: Option<&Path>, accounts: usize) -> anyhow::Result<Matcher> {
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
pub(crate) struct Router<'a> {
    policy: &'a Policy,
    /// Every account, prepared once for all the leads routed.
    accounts: CandidateSet,
    matcher: Matcher,
    normalizer: Normalizer,
    store: InMemoryPoolStore,
    now: Option<u64>,
}

impl<'a> Router<'a> {
    pub(crate) fn new(
        policy: &'a Policy,
        accounts: &'a [Account],
        matcher: Matcher,
        now: Option<u64>,
    ) -> Self {
        Router {
            policy,
            accounts: matcher.prepare(accounts.iter().cloned()),
            matcher,
            normalizer: Normalizer::default(),
            store: InMemoryPoolStore::new(),
            now,
        }
    }

    /// Normalizes one lead (a JSON object).
    pub(crate) fn normalize(&self, json: &str) -> Result<Lead, NormalizeError> {
        self.normalizer.normalize_json(json).map(|n| n.lead)
    }

    /// Decides a normalized lead and records its pool step in this
    /// router's own pool store.
    pub(crate) fn decide(&self, lead: &Lead) -> anyhow::Result<RouteDecision> {
        self.decide_at(lead, self.now)
    }

    /// [`decide`](Self::decide) at the given time (Unix seconds; `None`: the clock).
    pub(crate) fn decide_at(&self, lead: &Lead, now: Option<u64>) -> anyhow::Result<RouteDecision> {
        let mut facts = match now {
            Some(secs) => Facts::at_unix(secs),
            None => Facts::new(SystemTime::now()),
        };
        // The same matcher as the router's, over every account.
        let active = |o: &str| self.policy.owner(o).is_some_and(|v| v.active);
        let matched = Arc::new(self.matcher.match_set_with(lead, &self.accounts, &active));
        if let Some(account) = matched
            .routed_account_id
            .as_deref()
            .and_then(|id| self.accounts.get(id))
        {
            facts = facts.account(account);
        }
        facts = facts.account_match(&matched);
        pollster::block_on(leadroute::router::decide_and_record(
            self.policy,
            lead,
            &facts,
            &self.store,
        ))
        .map_err(|e| anyhow!("recording the pool step: {e}"))
    }

    /// Routes one lead (a JSON object) and records its pool step; the
    /// closure gets the output line.
    fn route<T>(
        &self,
        json: &str,
        line: Option<usize>,
        emit: impl FnOnce(&Line<'_>) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        match self.normalize(json) {
            Err(err) => emit(&Line::Invalid {
                line,
                errors: &err.errors,
            }),
            Ok(lead) => {
                let decision = self.decide(&lead)?;
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

/// The longest input line read (1 MiB); a longer line is reported as
/// broken and skipped.
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

/// One non-blank line of a JSON-lines file.
pub(crate) struct InputLine<'a> {
    /// 1-based line number.
    pub(crate) number: usize,
    /// Bytes read so far, this line included (for progress).
    pub(crate) bytes_read: u64,
    /// The line's JSON object, or why it is not one.
    pub(crate) json: Result<&'a str, String>,
}

/// Reads JSON lines (one object per line; blank lines are skipped, `\r\n`
/// accepted) and hands each to `f`, broken ones with the reason: not UTF-8,
/// not JSON, not an object, longer than [`MAX_LINE_BYTES`]. Memory stays
/// flat: one line at a time. Returns the number of lines read.
pub(crate) fn for_each_line(
    mut input: impl BufRead,
    mut f: impl FnMut(InputLine<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<usize> {
    let mut buf = Vec::new();
    let mut number = 0usize;
    let mut bytes_read = 0u64;
    let limit = u64::try_from(MAX_LINE_BYTES).unwrap_or(u64::MAX);
    loop {
        buf.clear();
        let n = (&mut input)
            .take(limit + 1)
            .read_until(b'\n', &mut buf)
            .context("reading the input")?;
        if n == 0 {
            break;
        }
        number += 1;
        bytes_read += n as u64;
        if buf.len() > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            bytes_read += skip_line(&mut input)?;
            f(InputLine {
                number,
                bytes_read,
                json: Err(format!("longer than {MAX_LINE_BYTES} bytes")),
            })?;
            continue;
        }
        let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        f(InputLine {
            number,
            bytes_read,
            json: broken(bytes),
        })?;
    }
    Ok(number)
}

/// Skips to the end of the current line; returns the bytes skipped.
fn skip_line(input: &mut impl BufRead) -> anyhow::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let chunk = input.fill_buf().context("reading the input")?;
        if chunk.is_empty() {
            return Ok(skipped);
        }
        match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(skipped + i as u64 + 1);
            }
            None => {
                let n = chunk.len();
                input.consume(n);
                skipped += n as u64;
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
    let mut failed = 0usize;
    let lines = for_each_line(io::stdin().lock(), |input| {
        let line_no = input.number;
        let json = match input.json {
            Ok(json) => json,
            Err(why) => {
                failed += 1;
                eprintln!("line {line_no}: {why}");
                return Ok(());
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
        writeln!(out, "{printed}").context(WRITING_STDOUT)
    })?;
    out.flush().context(WRITING_STDOUT)?;
    if failed > 0 {
        eprintln!(
            "{failed} of {lines} line{} could not be read",
            if lines == 1 { "" } else { "s" }
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
    let matcher = load_matcher(context.match_config.as_deref(), accounts.len())?;
    let router = Router::new(&policy, &accounts, matcher, context.now);
    router.route(&json, None, |line| {
        let invalid = matches!(line, Line::Invalid { .. });
        match (format, line) {
            (Format::Json, line) => {
                write_stdout(&format!("{}\n", serde_json::to_string_pretty(line)?))?;
            }
            (Format::Text, Line::Routed { explanation, .. }) => {
                write_stdout(&format!("{explanation}\n"))?;
            }
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
