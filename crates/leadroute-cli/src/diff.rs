//! `leadroute diff OLD NEW --leads FILE`: replay a lead set through two
//! versions of a policy and report every decision that changes, grouped.
//!
//! Memory stays flat in the number of leads: the file is read one line at a
//! time, each lead is normalized once and decided by both versions, and
//! only the groups are kept (a count and the first lead of each, with both
//! decisions and explanations), at most [`MAX_GROUPS`] of them.
//!
//! Pool rotation: each version replays with its own in-memory pool state,
//! starting empty, and records every pool step in file order, as `route`
//! does. A lead that stays in the same rule and pool can still get another
//! member when the leads before it moved in or out of that pool; such
//! changes are grouped like any other (`changes: ["owner"]`) and counted
//! as `rotation_only`. Every lead is evaluated at one time (`--now`, or the
//! clock when the run starts), so capacity caps fill up within the replay
//! the same way in both versions — unless `--time-field KEY` names the
//! leads' own time (Unix seconds or RFC 3339), which then replays capacity
//! windows as they happened.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufReader, Write as _};
use std::path::Path;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use leadroute::decision::AssignedBy;
use leadroute::policy::Explanation;
use leadroute::{Policy, RouteDecision};
use serde::Serialize;

use crate::progress::{Progress, thousands};
use crate::route::{Router, for_each_line, load_accounts, load_matcher, load_policy};
use crate::{ContextArgs, DocFormat, WRITING_STDOUT};

/// The most groups kept; the leads of further groups are counted in
/// `omitted_group_leads`.
pub(crate) const MAX_GROUPS: usize = 1000;
/// The most broken lines listed (all are counted).
const MAX_BROKEN_LISTED: usize = 100;
/// An example lead longer than this is shown by its size only.
const MAX_EXAMPLE_BYTES: usize = 16 * 1024;

/// What can change between two decisions of one lead, in report order.
const ASPECTS: [&str; 8] = [
    "rule",
    "assignee",
    "owner",
    "experience",
    "priority",
    "sla_minutes",
    "tags",
    "write_to_crm",
];

/// The aspects in which two decisions differ, as a bit set over [`ASPECTS`].
fn changes(a: &RouteDecision, b: &RouteDecision) -> u16 {
    let flags = [
        a.rule != b.rule,
        a.assigned_by != b.assigned_by,
        a.owner != b.owner,
        experience(a) != experience(b),
        a.priority != b.priority,
        a.sla_minutes != b.sla_minutes,
        a.tags != b.tags,
        a.write_to_crm != b.write_to_crm,
    ];
    flags
        .iter()
        .enumerate()
        .filter(|(_, f)| **f)
        .fold(0, |m, (i, _)| m | (1 << i))
}

/// A decision's experience as compared: its kind, and a meeting's calendar
/// only when it is not the assigned owner's (so that a rotation to another
/// member does not count as a change of experience too).
fn experience(d: &RouteDecision) -> (&'static str, Option<&str>) {
    let with = d.meeting_with().filter(|w| Some(*w) != d.owner_id());
    (d.experience.name(), with)
}

fn change_names(mask: u16) -> Vec<&'static str> {
    ASPECTS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// Who a decision assigns, as grouped: `pool:ID` (whichever member), `owner:ID`,
/// `account_owner`, `contact_owner` or `nobody`.
fn assignee(d: &RouteDecision) -> String {
    match &d.assigned_by {
        AssignedBy::Pool(p) => format!("pool:{p}"),
        // A pool's fallback owner groups with that owner, as before it had
        // its own `assigned_by`.
        AssignedBy::Owner | AssignedBy::PoolFallback(_) => {
            format!("owner:{}", d.owner_id().unwrap_or("?"))
        }
        AssignedBy::AccountOwner => "account_owner".to_owned(),
        AssignedBy::ContactOwner => "contact_owner".to_owned(),
        AssignedBy::Nobody => "nobody".to_owned(),
        other => format!("{other}"),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    old_rule: Option<String>,
    new_rule: Option<String>,
    old_assignee: String,
    new_assignee: String,
    changes: u16,
}

/// One version's decision of the example lead.
#[derive(Serialize)]
struct Shown {
    decision: RouteDecision,
    explanation: Explanation,
}

struct Example {
    line: usize,
    /// The line as read, or a note when it is too long to show.
    lead: String,
    old: Shown,
    new: Shown,
}

struct Group {
    count: u64,
    example: Example,
}

/// Everything a diff run found.
#[derive(Default)]
struct Tally {
    lines: usize,
    compared: u64,
    invalid: u64,
    broken: u64,
    broken_listed: Vec<(usize, String)>,
    changed: u64,
    rotation_only: u64,
    omitted_group_leads: u64,
    groups: HashMap<GroupKey, Group>,
}

impl Tally {
    /// Counts a broken line, and reports it on stderr if it is among the
    /// first [`MAX_BROKEN_LISTED`].
    fn broken_line(&mut self, file: &Path, line: usize, why: String) {
        self.broken += 1;
        if self.broken_listed.len() < MAX_BROKEN_LISTED {
            eprintln!("{}: line {line}: {why}", file.display());
            self.broken_listed.push((line, why));
        }
    }
}

/// The change set of a lead that only met another member of the same pool.
const ROTATION_ONLY: u16 = 1 << 2;

/// `leadroute diff`.
pub(crate) fn run(
    old: &Path,
    new: &Path,
    leads: &Path,
    context: &ContextArgs,
    time_field: Option<&str>,
    format: DocFormat,
    progress: bool,
) -> anyhow::Result<ExitCode> {
    let old_policy = load_policy(old)?;
    let new_policy = load_policy(new)?;
    let accounts = load_accounts(context.accounts.as_deref())?;
    // One time for every lead of both versions, so they see the same clock.
    let now = context.now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let matcher = load_matcher(context.match_config.as_deref(), accounts.len())?;
    let old_router = Router::new(&old_policy, &accounts, matcher.clone(), Some(now));
    let new_router = Router::new(&new_policy, &accounts, matcher, Some(now));

    let (input, total): (Box<dyn io::BufRead>, Option<u64>) = if leads == Path::new("-") {
        (Box::new(io::stdin().lock()), None)
    } else {
        let file = File::open(leads).with_context(|| format!("cannot read {}", leads.display()))?;
        let total = file.metadata().ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 16, file)), total)
    };
    let mut bar = Progress::new("leads", total, progress);
    let mut t = Tally::default();
    t.lines = for_each_line(input, |line| {
        let json = match line.json {
            Ok(json) => json,
            Err(why) => {
                t.broken_line(leads, line.number, why);
                return Ok(());
            }
        };
        // The lead's own time, when the file has one: capacity windows and
        // time-dependent facts then replay as they happened.
        let at = match time_field {
            None => Some(now),
            Some(key) => {
                let value = serde_json::from_str::<serde_json::Value>(json)
                    .ok()
                    .and_then(|v| v.get(key).cloned());
                match value.as_ref().map(crate::timestamp::unix_seconds) {
                    Some(Ok(secs)) => Some(secs),
                    problem => {
                        let why = match problem {
                            Some(Err(e)) => format!("`{key}`: {e}"),
                            _ => format!("no `{key}` time"),
                        };
                        t.broken_line(leads, line.number, why);
                        return Ok(());
                    }
                }
            }
        };
        let lead = match old_router.normalize(json) {
            Ok(lead) => lead,
            Err(_) => {
                // Both versions see the same field errors: no change.
                t.invalid += 1;
                return Ok(());
            }
        };
        let a = old_router.decide_at(&lead, at)?;
        let b = new_router.decide_at(&lead, at)?;
        t.compared += 1;
        let mask = changes(&a, &b);
        if mask != 0 {
            t.changed += 1;
            let key = GroupKey {
                old_rule: a.rule.as_deref().map(str::to_owned),
                new_rule: b.rule.as_deref().map(str::to_owned),
                old_assignee: assignee(&a),
                new_assignee: assignee(&b),
                changes: mask,
            };
            if mask == ROTATION_ONLY {
                t.rotation_only += 1;
            }
            if let Some(g) = t.groups.get_mut(&key) {
                g.count += 1;
            } else if t.groups.len() < MAX_GROUPS {
                let lead_json = if json.len() <= MAX_EXAMPLE_BYTES {
                    json.trim().to_owned()
                } else {
                    format!("(a lead of {} bytes, not shown)", json.len())
                };
                let example = Example {
                    line: line.number,
                    lead: lead_json,
                    old: Shown {
                        explanation: old_policy.explain(&a),
                        decision: a,
                    },
                    new: Shown {
                        explanation: new_policy.explain(&b),
                        decision: b,
                    },
                };
                t.groups.insert(key, Group { count: 1, example });
            } else {
                t.omitted_group_leads += 1;
            }
        }
        bar.tick(t.compared, line.bytes_read, || {
            format!("{} changed", thousands(t.changed))
        });
        Ok(())
    })?;
    bar.finish();
    if t.broken > MAX_BROKEN_LISTED as u64 {
        eprintln!(
            "{}: {} more broken lines not listed",
            leads.display(),
            t.broken - MAX_BROKEN_LISTED as u64
        );
    }

    let mut groups: Vec<(GroupKey, Group)> = t.groups.drain().collect();
    groups.sort_by(|(ka, a), (kb, b)| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.example.line.cmp(&b.example.line))
            .then_with(|| ka.changes.cmp(&kb.changes))
    });
    let sides = [(old, &old_policy), (new, &new_policy)];
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        DocFormat::Json => write_json(&t, &groups, sides, &mut out).context(WRITING_STDOUT)?,
        DocFormat::Markdown => out
            .write_all(markdown(&t, &groups, sides).as_bytes())
            .context(WRITING_STDOUT)?,
        DocFormat::Text => out
            .write_all(text(&t, &groups, sides).as_bytes())
            .context(WRITING_STDOUT)?,
    }
    out.flush().context(WRITING_STDOUT)?;
    Ok(if t.broken > 0 {
        ExitCode::from(2)
    } else if t.changed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

type Sides<'a> = [(&'a Path, &'a Policy); 2];

fn rule_name(rule: Option<&str>) -> String {
    rule.map_or_else(|| "(fallback)".to_owned(), |r| format!("`{r}`"))
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0 %".to_owned()
    } else {
        format!("{:.1} %", 100.0 * part as f64 / whole as f64)
    }
}

/// The `--format json` document, serialized straight from the groups (no
/// intermediate JSON tree: the examples of 1,000 groups are large).
#[derive(Serialize)]
struct JsonReport<'a> {
    old: JsonSide,
    new: JsonSide,
    lines: usize,
    leads: u64,
    changed: u64,
    unchanged: u64,
    rotation_only: u64,
    invalid: u64,
    broken_lines: u64,
    broken: Vec<JsonBroken<'a>>,
    groups: Vec<JsonGroup<'a>>,
    omitted_group_leads: u64,
}

#[derive(Serialize)]
struct JsonSide {
    file: String,
    name: String,
    version: String,
}

#[derive(Serialize)]
struct JsonBroken<'a> {
    line: usize,
    error: &'a str,
}

#[derive(Serialize)]
struct JsonGroup<'a> {
    count: u64,
    old_rule: Option<&'a str>,
    new_rule: Option<&'a str>,
    old_assignee: &'a str,
    new_assignee: &'a str,
    changes: Vec<&'static str>,
    example: JsonExample<'a>,
}

#[derive(Serialize)]
struct JsonExample<'a> {
    line: usize,
    lead: serde_json::Value,
    old: &'a Shown,
    new: &'a Shown,
}

fn write_json(
    t: &Tally,
    groups: &[(GroupKey, Group)],
    sides: Sides<'_>,
    out: &mut impl io::Write,
) -> anyhow::Result<()> {
    let side = |(path, policy): (&Path, &Policy)| JsonSide {
        file: path.display().to_string(),
        name: policy.name().to_owned(),
        version: policy.version().to_owned(),
    };
    let [old, new] = sides;
    let doc = JsonReport {
        old: side(old),
        new: side(new),
        lines: t.lines,
        leads: t.compared,
        changed: t.changed,
        unchanged: t.compared - t.changed,
        rotation_only: t.rotation_only,
        invalid: t.invalid,
        broken_lines: t.broken,
        broken: t
            .broken_listed
            .iter()
            .map(|(line, error)| JsonBroken { line: *line, error })
            .collect(),
        groups: groups
            .iter()
            .map(|(k, g)| JsonGroup {
                count: g.count,
                old_rule: k.old_rule.as_deref(),
                new_rule: k.new_rule.as_deref(),
                old_assignee: &k.old_assignee,
                new_assignee: &k.new_assignee,
                changes: change_names(k.changes),
                example: JsonExample {
                    line: g.example.line,
                    // The lead as read (it is a JSON object), or the note as a string.
                    lead: serde_json::from_str(&g.example.lead)
                        .unwrap_or_else(|_| serde_json::Value::String(g.example.lead.clone())),
                    old: &g.example.old,
                    new: &g.example.new,
                },
            })
            .collect(),
        omitted_group_leads: t.omitted_group_leads,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

fn headline(t: &Tally) -> String {
    let mut s = format!(
        "{} of {} leads change ({})",
        thousands(t.changed),
        thousands(t.compared),
        percent(t.changed, t.compared)
    );
    if t.rotation_only > 0 {
        let _ = write!(
            s,
            "; {} of them only in rotation order (same rule and pool, another member)",
            thousands(t.rotation_only)
        );
    }
    if t.invalid > 0 {
        let _ = write!(s, "; {} did not normalize", thousands(t.invalid));
    }
    if t.broken > 0 {
        let _ = write!(
            s,
            "; {} broken line{} skipped",
            thousands(t.broken),
            if t.broken == 1 { "" } else { "s" }
        );
    }
    if t.omitted_group_leads > 0 {
        let _ = write!(
            s,
            "; {} changed leads in groups beyond the first {MAX_GROUPS} not shown",
            thousands(t.omitted_group_leads)
        );
    }
    s
}

fn version((path, policy): (&Path, &Policy)) -> String {
    format!(
        "{} ({} v{})",
        path.display(),
        policy.name(),
        policy.version()
    )
}

fn indent(text: &str, by: &str) -> String {
    text.lines().map(|l| format!("{by}{l}\n")).collect()
}

fn text(t: &Tally, groups: &[(GroupKey, Group)], sides: Sides<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "old: {}", version(sides[0]));
    let _ = writeln!(s, "new: {}", version(sides[1]));
    let _ = writeln!(s, "{}", headline(t));
    for (k, g) in groups {
        let _ = writeln!(
            s,
            "\n{} lead{}: rule {} → {}, {} → {} (changes: {})",
            thousands(g.count),
            if g.count == 1 { "" } else { "s" },
            rule_name(k.old_rule.as_deref()),
            rule_name(k.new_rule.as_deref()),
            k.old_assignee,
            k.new_assignee,
            change_names(k.changes).join(", ")
        );
        let _ = writeln!(s, "  example, line {}: {}", g.example.line, g.example.lead);
        let _ = writeln!(s, "  old:");
        s.push_str(&indent(&g.example.old.explanation.to_string(), "    "));
        let _ = writeln!(s, "  new:");
        s.push_str(&indent(&g.example.new.explanation.to_string(), "    "));
    }
    s
}

/// Text for a Markdown table cell: pipes escaped, line breaks removed.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Inline code that survives any backticks in `text`.
fn code(text: &str) -> String {
    let fence = if text.contains('`') { "`` " } else { "`" };
    let close = if text.contains('`') { " ``" } else { "`" };
    format!("{fence}{text}{close}")
}

fn md_rule(rule: Option<&str>) -> String {
    rule.map_or_else(|| "*fallback*".to_owned(), code)
}

fn markdown(t: &Tally, groups: &[(GroupKey, Group)], sides: Sides<'_>) -> String {
    let mut s = String::new();
    let [(old_path, old), (new_path, new)] = sides;
    let _ = writeln!(
        s,
        "### leadroute diff: {} v{} → {} v{}\n",
        code(old.name()),
        cell(old.version()),
        code(new.name()),
        cell(new.version())
    );
    let _ = writeln!(
        s,
        "Replayed through `{}` and `{}`: **{}**.\n",
        cell(&old_path.display().to_string()),
        cell(&new_path.display().to_string()),
        headline(t)
    );
    if groups.is_empty() {
        return s;
    }
    let _ = writeln!(s, "| leads | rule | assignee | changes |");
    let _ = writeln!(s, "|---:|---|---|---|");
    for (k, g) in groups {
        let _ = writeln!(
            s,
            "| {} | {} → {} | {} → {} | {} |",
            thousands(g.count),
            cell(&md_rule(k.old_rule.as_deref())),
            cell(&md_rule(k.new_rule.as_deref())),
            cell(&code(&k.old_assignee)),
            cell(&code(&k.new_assignee)),
            change_names(k.changes).join(", ")
        );
    }
    for (k, g) in groups {
        let _ = writeln!(
            s,
            "\n<details><summary>{} → {}, {} → {}: {} lead{} (example: line {})</summary>\n",
            md_rule(k.old_rule.as_deref()),
            md_rule(k.new_rule.as_deref()),
            code(&k.old_assignee),
            code(&k.new_assignee),
            thousands(g.count),
            if g.count == 1 { "" } else { "s" },
            g.example.line
        );
        let _ = writeln!(
            s,
            "```json\n{}\n```\n",
            g.example.lead.replace("```", "` ` `")
        );
        for (label, shown) in [("Before", &g.example.old), ("After", &g.example.new)] {
            let mut explanation = shown.explanation.to_string().replace("```", "` ` `");
            if !explanation.ends_with('\n') {
                explanation.push('\n');
            }
            let _ = writeln!(s, "{label}:\n\n```text\n{explanation}```\n");
        }
        let _ = writeln!(s, "</details>");
    }
    s
}
