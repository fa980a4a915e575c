//! `leadroute report EVENTS.jsonl`: the funnel, per route (rule) and per
//! owner, from the router's events (one `leadroute::events::Event` JSON
//! object per line, as the repository's `docs/events.md` describes).
//!
//! # What is measured
//!
//! Events are joined by `lead_id`. A lead is counted once, under the rule
//! and owner of its **first** decision (`owner_assigned` or
//! `lead_rejected`; the rule `null` is the fallback, the owner `null` is
//! nobody):
//!
//! - **leads**: leads decided.
//! - **submit → owner assigned**: the first decision's `since_submit_ms`,
//!   as p50 / p90 / p99.
//! - **CRM write success rate**: of the leads with a write attempt
//!   (`crm_write_success` or `crm_write_failed`), those with a success (a
//!   failure followed by a successful retry counts as a success).
//! - **meeting shown → booked rate**: of the leads with `meeting_shown`
//!   (or `meeting_booked`), those with `meeting_booked`.
//! - **fallback rate**: of the leads, those with `routing_fallback`.
//! - **reassignment rate**: of the leads, those decided again later with
//!   another owner (a second `owner_assigned` / `lead_rejected`, or an
//!   `owner_reassigned` from `LeadRouter::reassign`).
//!
//! Counted for the whole file, not per row: writes the outbox queued
//! (`crm_write_queued`), dead letters (`crm_write_dead_lettered`), outbox
//! failures (`outbox_failed`) and missed SLAs (`sla_breached`).
//!
//! # Percentiles
//!
//! Nearest-rank percentiles over a log-linear histogram per row: exact
//! below 256 ms, and above that buckets 1/128 of their value wide, so a
//! reported percentile is never below the exact nearest-rank value and at
//! most 0.8 % above it (and never above the largest duration seen). A row
//! holds at most ~7,400 buckets however many leads it counts.
//!
//! # Memory
//!
//! The file is read one line at a time. Leads still open to later events
//! (a meeting booked days after the submission) are held in a window of
//! the most recent `--max-open-leads` leads (default 500,000; about 400
//! bytes each with short ids, so ~200 MB when full); when it is full the oldest lead is counted as it stands,
//! and later events for it (a fallback, a write, a meeting) are counted as
//! `unattributed`, as are such events for a lead never submitted or decided
//! in the file. At most
//! [`MAX_ROWS`] distinct rules and owners get rows; the rest are counted
//! under `(other)`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufReader, Write as _};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use leadroute::events::{Event, EventKind};
use serde_json::{Value, json};

use crate::progress::{Progress, thousands};
use crate::route::for_each_line;
use crate::{DocFormat, WRITING_STDOUT};

/// The most rows (distinct rules, and distinct owners) a report keeps.
pub(crate) const MAX_ROWS: usize = 10_000;
/// The most broken lines listed (all are counted).
const MAX_BROKEN_LISTED: usize = 100;
/// The event names this version reads (`EventKind::name`); lines with other
/// names are counted as `unknown_events` and otherwise skipped.
const KNOWN_EVENTS: [&str; 20] = [
    "form_started",
    "form_submitted",
    "validation_failed",
    "account_matched",
    "account_not_matched",
    "pool_store_failed",
    "owner_assigned",
    "lead_rejected",
    "routing_fallback",
    "crm_write_success",
    "crm_write_skipped",
    "crm_write_failed",
    "meeting_shown",
    "meeting_booked",
    "submission_screened",
    "crm_write_queued",
    "crm_write_dead_lettered",
    "outbox_failed",
    "sla_breached",
    "owner_reassigned",
];
/// The row of rules and owners past [`MAX_ROWS`].
const OTHER: &str = "(other)";

// ------------------------------------------------------------- histogram

/// Durations in a log-linear histogram: exact below 256, then 128 buckets
/// per power of two.
#[derive(Debug, Default, Clone)]
pub(crate) struct Histogram {
    buckets: BTreeMap<u32, u64>,
    count: u64,
    max: u64,
}

impl Histogram {
    fn bucket(v: u64) -> u32 {
        if v < 256 {
            return v as u32;
        }
        let e = 63 - v.leading_zeros(); // >= 8
        let shift = e - 7;
        let top = (v >> shift) as u32; // 128..=255
        256 + (shift - 1) * 128 + (top - 128)
    }

    /// The largest value in a bucket.
    fn upper(bucket: u32) -> u64 {
        if bucket < 256 {
            return u64::from(bucket);
        }
        let shift = (bucket - 256) / 128 + 1;
        let top = u64::from((bucket - 256) % 128 + 128);
        let upper = ((u128::from(top) + 1) << shift) - 1;
        u64::try_from(upper).unwrap_or(u64::MAX)
    }

    pub(crate) fn add(&mut self, v: u64) {
        *self.buckets.entry(Self::bucket(v)).or_default() += 1;
        self.count += 1;
        self.max = self.max.max(v);
    }

    /// The nearest-rank `q` quantile (0 < q ≤ 1), `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (&b, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(Self::upper(b).min(self.max));
            }
        }
        Some(self.max)
    }
}

// ------------------------------------------------------------------ rows

/// The measures of one row (a rule, an owner, or all leads).
#[derive(Debug, Default, Clone)]
struct Row {
    leads: u64,
    latency: Histogram,
    writes: u64,
    writes_ok: u64,
    shown: u64,
    booked: u64,
    fallback: u64,
    reassigned: u64,
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl Row {
    fn p(&self, q: f64) -> Option<u64> {
        self.latency.quantile(q)
    }
    fn write_rate(&self) -> Option<f64> {
        rate(self.writes_ok, self.writes)
    }
    fn booked_rate(&self) -> Option<f64> {
        rate(self.booked, self.shown)
    }
    fn fallback_rate(&self) -> Option<f64> {
        rate(self.fallback, self.leads)
    }
    fn reassignment_rate(&self) -> Option<f64> {
        rate(self.reassigned, self.leads)
    }

    fn to_json(&self) -> Value {
        json!({
            "leads": self.leads,
            "submit_to_assigned_ms": {
                "samples": self.latency.count,
                "p50": self.p(0.5), "p90": self.p(0.9), "p99": self.p(0.99),
            },
            "crm_writes": self.writes,
            "crm_write_success_rate": self.write_rate(),
            "meetings_shown": self.shown,
            "meeting_booked_rate": self.booked_rate(),
            "fallback_rate": self.fallback_rate(),
            "reassignment_rate": self.reassignment_rate(),
        })
    }
}

/// `now - then` for optional numbers.
fn delta_f(now: Option<f64>, then: Option<f64>) -> Option<f64> {
    Some(now? - then?)
}
fn delta_i(now: Option<u64>, then: Option<u64>) -> Option<i64> {
    Some(i64::try_from(now?).ok()? - i64::try_from(then?).ok()?)
}

fn change_json(now: &Row, then: &Row) -> Value {
    json!({
        "leads": i64::try_from(now.leads).unwrap_or(i64::MAX) - i64::try_from(then.leads).unwrap_or(i64::MAX),
        "p50_ms": delta_i(now.p(0.5), then.p(0.5)),
        "p90_ms": delta_i(now.p(0.9), then.p(0.9)),
        "p99_ms": delta_i(now.p(0.99), then.p(0.99)),
        "crm_write_success_rate": delta_f(now.write_rate(), then.write_rate()),
        "meeting_booked_rate": delta_f(now.booked_rate(), then.booked_rate()),
        "fallback_rate": delta_f(now.fallback_rate(), then.fallback_rate()),
        "reassignment_rate": delta_f(now.reassignment_rate(), then.reassignment_rate()),
    })
}

// ------------------------------------------------------------- aggregation

/// What is known of one lead while it is open.
#[derive(Debug, Default)]
struct LeadState {
    decided: bool,
    rule: Option<String>,
    owner: Option<String>,
    write_ok: bool,
    write_failed: bool,
    shown: bool,
    booked: bool,
    fallback: bool,
    reassigned: bool,
}

/// Everything one events file adds up to.
#[derive(Debug, Default)]
struct Period {
    lines: usize,
    events: u64,
    broken: u64,
    broken_listed: Vec<(usize, String)>,
    submitted: u64,
    validation_failed: u64,
    pool_store_failed: u64,
    /// Failed writes the outbox took for the retry worker (an entry may be
    /// queued again after each failed retry).
    writes_queued: u64,
    /// Writes dead-lettered: retrying could not help, a person must look.
    dead_lettered: u64,
    /// Times the outbox itself failed.
    outbox_failed: u64,
    /// Missed SLAs reported by reassignments.
    sla_breached: u64,
    /// Events about a lead no longer (or never) open, that could not be
    /// attributed to a rule or owner.
    unattributed: u64,
    /// Leads with events but no decision.
    undecided: u64,
    /// Lines naming an event this version does not know.
    unknown_events: u64,
    total: Row,
    rules: HashMap<Option<String>, Row>,
    owners: HashMap<Option<String>, Row>,
}

impl Period {
    fn row<'a>(map: &'a mut HashMap<Option<String>, Row>, key: Option<&str>) -> &'a mut Row {
        let key = key.map(str::to_owned);
        if !map.contains_key(&key) && map.len() >= MAX_ROWS {
            return map.entry(Some(OTHER.to_owned())).or_default();
        }
        map.entry(key).or_default()
    }

    /// Counts a lead that is closed (evicted or at the end).
    fn close(&mut self, lead: LeadState) {
        if !lead.decided {
            self.undecided += 1;
            return;
        }
        let rule = Self::row(&mut self.rules, lead.rule.as_deref());
        count(rule, &lead);
        let owner = Self::row(&mut self.owners, lead.owner.as_deref());
        count(owner, &lead);
        count(&mut self.total, &lead);
    }

    fn add_latency(&mut self, rule: Option<&str>, owner: Option<&str>, ms: u64) {
        Self::row(&mut self.rules, rule).latency.add(ms);
        Self::row(&mut self.owners, owner).latency.add(ms);
        self.total.latency.add(ms);
    }
}

fn count(row: &mut Row, lead: &LeadState) {
    row.leads += 1;
    if lead.write_ok || lead.write_failed {
        row.writes += 1;
        if lead.write_ok {
            row.writes_ok += 1;
        }
    }
    if lead.shown || lead.booked {
        row.shown += 1;
        if lead.booked {
            row.booked += 1;
        }
    }
    row.fallback += u64::from(lead.fallback);
    row.reassigned += u64::from(lead.reassigned);
}

/// Open leads, oldest first, at most `cap` of them.
struct Window {
    cap: usize,
    leads: HashMap<String, LeadState>,
    order: VecDeque<String>,
}

impl Window {
    fn get_or_open(&mut self, id: &str, period: &mut Period) -> &mut LeadState {
        if !self.leads.contains_key(id) {
            while self.leads.len() >= self.cap {
                let Some(oldest) = self.order.pop_front() else {
                    break;
                };
                if let Some(lead) = self.leads.remove(&oldest) {
                    period.close(lead);
                }
            }
            self.order.push_back(id.to_owned());
        }
        self.leads.entry(id.to_owned()).or_default()
    }
}

/// Reads one events file into a [`Period`].
fn read_period(path: &Path, max_open: usize, progress: bool) -> anyhow::Result<Period> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let total = file.metadata().ok().map(|m| m.len());
    let input = BufReader::with_capacity(1 << 16, file);
    let mut period = Period::default();
    let mut window = Window {
        cap: max_open.max(1),
        leads: HashMap::new(),
        order: VecDeque::new(),
    };
    let mut bar = Progress::new("events", total, progress);
    period.lines = for_each_line(input, |line| {
        let parsed = line.json.and_then(|json| {
            let value: Value =
                serde_json::from_str(json).map_err(|e| format!("not valid JSON: {e}"))?;
            match value.get("event").and_then(Value::as_str) {
                None => return Err("not an event: no `event` name".to_owned()),
                // A newer router's event: not an error, but not measured either.
                Some(name) if !KNOWN_EVENTS.contains(&name) => return Ok(None),
                Some(_) => {}
            }
            serde_json::from_value::<Event>(value)
                .map(Some)
                .map_err(|e| format!("not a leadroute event: {e}"))
        });
        let event = match parsed {
            Ok(Some(e)) => e,
            Ok(None) => {
                period.unknown_events += 1;
                return Ok(());
            }
            Err(why) => {
                period.broken += 1;
                if period.broken_listed.len() < MAX_BROKEN_LISTED {
                    eprintln!("{}: line {}: {why}", path.display(), line.number);
                    period.broken_listed.push((line.number, why));
                }
                return Ok(());
            }
        };
        period.events += 1;
        apply(&mut period, &mut window, event);
        bar.tick(period.events, line.bytes_read, || {
            format!("{} leads", thousands(period.submitted))
        });
        Ok(())
    })?;
    bar.finish();
    if period.broken > MAX_BROKEN_LISTED as u64 {
        eprintln!(
            "{}: {} more broken lines not listed",
            path.display(),
            period.broken - MAX_BROKEN_LISTED as u64
        );
    }
    for id in std::mem::take(&mut window.order) {
        if let Some(lead) = window.leads.remove(&id) {
            period.close(lead);
        }
    }
    Ok(period)
}

fn apply(period: &mut Period, window: &mut Window, event: Event) {
    let id = event.lead_id.as_str();
    match &event.kind {
        EventKind::FormSubmitted { .. } => {
            period.submitted += 1;
            window.get_or_open(id, period);
        }
        EventKind::ValidationFailed { .. } => period.validation_failed += 1,
        EventKind::PoolStoreFailed(_) => period.pool_store_failed += 1,
        EventKind::CrmWriteQueued(_) => period.writes_queued += 1,
        EventKind::CrmWriteDeadLettered { .. } => period.dead_lettered += 1,
        EventKind::OutboxFailed { .. } => period.outbox_failed += 1,
        EventKind::SlaBreached { .. } => period.sla_breached += 1,
        EventKind::OwnerAssigned { owner, rule, .. }
        | EventKind::LeadRejected { owner, rule, .. } => {
            let lead = window.get_or_open(id, period);
            if lead.decided {
                if lead.owner != *owner {
                    lead.reassigned = true;
                }
                return;
            }
            lead.decided = true;
            lead.rule = rule.clone();
            lead.owner = owner.clone();
            let (rule, owner) = (rule.clone(), owner.clone());
            if let Some(ms) = event.since_submit_ms {
                period.add_latency(rule.as_deref(), owner.as_deref(), ms);
            }
        }
        // Later events only add to a lead that is open (submitted or decided
        // within the window); otherwise they cannot be attributed.
        EventKind::RoutingFallback { .. }
        | EventKind::OwnerReassigned { .. }
        | EventKind::CrmWriteSuccess { .. }
        | EventKind::CrmWriteFailed { .. }
        | EventKind::MeetingShown { .. }
        | EventKind::MeetingBooked { .. } => match window.leads.get_mut(id) {
            Some(lead) => match &event.kind {
                EventKind::RoutingFallback { .. } => lead.fallback = true,
                EventKind::OwnerReassigned { .. } => lead.reassigned = true,
                EventKind::CrmWriteSuccess { .. } => lead.write_ok = true,
                EventKind::CrmWriteFailed { .. } => lead.write_failed = true,
                EventKind::MeetingBooked { .. } => {
                    lead.shown = true;
                    lead.booked = true;
                }
                _ => lead.shown = true,
            },
            None => period.unattributed += 1,
        },
        // Lookups, skipped writes and the front end's form_started carry no
        // measure of this report.
        _ => {}
    }
}

// ------------------------------------------------------------------ output

/// `leadroute report`.
pub(crate) fn run(
    events: &Path,
    baseline: Option<&Path>,
    format: DocFormat,
    html: Option<&Path>,
    max_open: usize,
    progress: bool,
) -> anyhow::Result<ExitCode> {
    let now = read_period(events, max_open, progress)?;
    let then = baseline
        .map(|b| read_period(b, max_open, progress))
        .transpose()?;
    let report = Report {
        events,
        baseline,
        now: &now,
        then: then.as_ref(),
    };
    let text = match format {
        DocFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report.to_json())?;
            s.push('\n');
            s
        }
        DocFormat::Markdown => report.markdown(),
        DocFormat::Text => report.text(),
    };
    if let Some(path) = html {
        std::fs::write(path, report.html())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes()).context(WRITING_STDOUT)?;
    out.flush().context(WRITING_STDOUT)?;
    let broken = now.broken + then.as_ref().map_or(0, |t| t.broken);
    Ok(if broken > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

struct Report<'a> {
    events: &'a Path,
    baseline: Option<&'a Path>,
    now: &'a Period,
    then: Option<&'a Period>,
}

/// Which table: rules or owners.
#[derive(Clone, Copy)]
enum By {
    Rule,
    Owner,
}

impl By {
    fn title(self) -> &'static str {
        match self {
            By::Rule => "Per route (rule)",
            By::Owner => "Per owner",
        }
    }
    fn key(self) -> &'static str {
        match self {
            By::Rule => "rule",
            By::Owner => "owner",
        }
    }
    fn label(self, key: Option<&str>) -> String {
        match (self, key) {
            (_, Some(k)) => k.to_owned(),
            (By::Rule, None) => "(fallback)".to_owned(),
            (By::Owner, None) => "(nobody)".to_owned(),
        }
    }
    fn map(self, p: &Period) -> &HashMap<Option<String>, Row> {
        match self {
            By::Rule => &p.rules,
            By::Owner => &p.owners,
        }
    }
}

fn ms(v: Option<u64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v} ms"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{:.1} %", 100.0 * v))
}

fn signed_ms(v: Option<i64>) -> String {
    v.map_or_else(String::new, |v| format!(" ({v:+} ms)"))
}

fn signed_pp(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!(" ({:+.1} pp)", 100.0 * v))
}

impl Report<'_> {
    /// The rows of a table, most leads first: (key, label, row, baseline
    /// row if any).
    fn rows(&self, by: By) -> Vec<(Option<&str>, String, &Row, Option<&Row>)> {
        let then = self.then.map(|t| by.map(t));
        let mut rows: Vec<(Option<&str>, String, &Row, Option<&Row>)> = by
            .map(self.now)
            .iter()
            .map(|(k, row)| {
                (
                    k.as_deref(),
                    by.label(k.as_deref()),
                    row,
                    then.and_then(|t| t.get(k)),
                )
            })
            .collect();
        // Rows only the baseline has: empty now.
        if let Some(then) = then {
            for (k, row) in then {
                if !by.map(self.now).contains_key(k) {
                    rows.push((k.as_deref(), by.label(k.as_deref()), &EMPTY, Some(row)));
                }
            }
        }
        rows.sort_by(|a, b| {
            b.2.leads
                .cmp(&a.2.leads)
                .then_with(|| b.3.map(|r| r.leads).cmp(&a.3.map(|r| r.leads)))
                .then_with(|| a.1.cmp(&b.1))
        });
        rows
    }

    fn period_json(path: &Path, p: &Period) -> Value {
        json!({
            "file": path.display().to_string(),
            "lines": p.lines,
            "events": p.events,
            "broken_lines": p.broken,
            "broken": p.broken_listed.iter().map(|(line, error)| json!({"line": line, "error": error})).collect::<Vec<_>>(),
            "submitted": p.submitted,
            "validation_failed": p.validation_failed,
            "pool_store_failed": p.pool_store_failed,
            "crm_writes_queued": p.writes_queued,
            "crm_writes_dead_lettered": p.dead_lettered,
            "outbox_failed": p.outbox_failed,
            "sla_breached": p.sla_breached,
            "undecided": p.undecided,
            "unknown_events": p.unknown_events,
            "unattributed": p.unattributed,
        })
    }

    fn to_json(&self) -> Value {
        let table = |by: By| -> Vec<Value> {
            self.rows(by)
                .into_iter()
                .map(|(key, _, row, base)| {
                    let mut v = row.to_json();
                    if let Value::Object(m) = &mut v {
                        m.insert(by.key().to_owned(), json!(key));
                        if self.then.is_some() {
                            let base = base.unwrap_or(&EMPTY);
                            m.insert("baseline".to_owned(), base.to_json());
                            m.insert("change".to_owned(), change_json(row, base));
                        }
                    }
                    v
                })
                .collect()
        };
        let mut total = self.now.total.to_json();
        if let (Some(then), Value::Object(m)) = (self.then, &mut total) {
            m.insert("baseline".to_owned(), then.total.to_json());
            m.insert(
                "change".to_owned(),
                change_json(&self.now.total, &then.total),
            );
        }
        json!({
            "events": Self::period_json(self.events, self.now),
            "baseline": match (self.baseline, self.then) {
                (Some(path), Some(p)) => Self::period_json(path, p),
                _ => Value::Null,
            },
            "total": total,
            "rules": table(By::Rule),
            "owners": table(By::Owner),
        })
    }

    fn summary(&self) -> String {
        let p = self.now;
        let mut s = format!(
            "{} events, {} leads submitted, {} decided, {} with validation errors",
            thousands(p.events),
            thousands(p.submitted),
            thousands(p.total.leads),
            thousands(p.validation_failed)
        );
        if p.broken > 0 {
            let _ = write!(
                s,
                "; {} broken line{} skipped",
                thousands(p.broken),
                if p.broken == 1 { "" } else { "s" }
            );
        }
        if p.unknown_events > 0 {
            let _ = write!(
                s,
                "; {} event{} of unknown kinds skipped",
                thousands(p.unknown_events),
                if p.unknown_events == 1 { "" } else { "s" }
            );
        }
        if p.writes_queued + p.dead_lettered + p.outbox_failed > 0 {
            let _ = write!(
                s,
                "; outbox: {} writes queued, {} dead-lettered, {} outbox failures",
                thousands(p.writes_queued),
                thousands(p.dead_lettered),
                thousands(p.outbox_failed)
            );
        }
        if p.sla_breached > 0 {
            let _ = write!(s, "; {} SLAs missed", thousands(p.sla_breached));
        }
        if p.unattributed > 0 {
            let _ = write!(
                s,
                "; {} events for leads not in the window",
                thousands(p.unattributed)
            );
        }
        s
    }

    /// The cells of a row, with changes against the baseline when there is one.
    fn cells(&self, row: &Row, base: Option<&Row>) -> Vec<String> {
        let d = |f: &dyn Fn(&Row) -> Option<u64>| {
            base.map_or_else(String::new, |b| signed_ms(delta_i(f(row), f(b))))
        };
        let r = |f: &dyn Fn(&Row) -> Option<f64>| {
            base.map_or_else(String::new, |b| signed_pp(delta_f(f(row), f(b))))
        };
        let leads = match base {
            Some(b) => format!(
                "{} ({:+})",
                thousands(row.leads),
                i128::from(row.leads) - i128::from(b.leads)
            ),
            None => thousands(row.leads),
        };
        vec![
            leads,
            format!("{}{}", ms(row.p(0.5)), d(&|x| x.p(0.5))),
            format!("{}{}", ms(row.p(0.9)), d(&|x| x.p(0.9))),
            format!("{}{}", ms(row.p(0.99)), d(&|x| x.p(0.99))),
            format!("{}{}", pct(row.write_rate()), r(&Row::write_rate)),
            format!("{}{}", pct(row.booked_rate()), r(&Row::booked_rate)),
            format!("{}{}", pct(row.fallback_rate()), r(&Row::fallback_rate)),
            format!(
                "{}{}",
                pct(row.reassignment_rate()),
                r(&Row::reassignment_rate)
            ),
        ]
    }

    const HEADERS: [&'static str; 8] = [
        "leads",
        "p50",
        "p90",
        "p99",
        "CRM write ok",
        "shown → booked",
        "fallback",
        "reassigned",
    ];

    fn table_rows(&self, by: By) -> Vec<Vec<String>> {
        let mut out = vec![{
            let mut first = vec!["(all)".to_owned()];
            first.extend(self.cells(&self.now.total, self.then.map(|t| &t.total)));
            first
        }];
        for (_, label, row, base) in self.rows(by) {
            let mut cells = vec![label];
            cells.extend(self.cells(row, base.or(self.then.map(|_| &EMPTY))));
            out.push(cells);
        }
        out
    }

    fn text(&self) -> String {
        let mut s = format!("{}: {}\n", self.events.display(), self.summary());
        if let (Some(path), Some(then)) = (self.baseline, self.then) {
            let _ = writeln!(
                s,
                "baseline {}: {} leads decided; changes in parentheses (pp: percentage points)",
                path.display(),
                thousands(then.total.leads)
            );
        }
        for by in [By::Rule, By::Owner] {
            let _ = writeln!(s, "\n{}", by.title());
            let mut rows = vec![{
                let mut h = vec![by.key().to_owned()];
                h.extend(Self::HEADERS.iter().map(|h| (*h).to_owned()));
                h
            }];
            rows.extend(self.table_rows(by));
            let columns = rows.first().map_or(0, Vec::len);
            let widths: Vec<usize> = (0..columns)
                .map(|i| {
                    rows.iter()
                        .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for r in &rows {
                let line: Vec<String> = r
                    .iter()
                    .zip(&widths)
                    .enumerate()
                    .map(|(i, (c, w))| {
                        let pad = w - c.chars().count();
                        if i == 0 {
                            format!("{c}{}", " ".repeat(pad))
                        } else {
                            format!("{}{c}", " ".repeat(pad))
                        }
                    })
                    .collect();
                let _ = writeln!(s, "  {}", line.join("  ").trim_end());
            }
        }
        s
    }

    fn markdown(&self) -> String {
        let mut s = format!(
            "### leadroute report: `{}`\n\n{}.\n",
            md_cell(&self.events.display().to_string()),
            self.summary()
        );
        if let (Some(path), Some(then)) = (self.baseline, self.then) {
            let _ = writeln!(
                s,
                "\nAgainst the baseline `{}` ({} leads decided); changes in parentheses (pp: percentage points).",
                md_cell(&path.display().to_string()),
                thousands(then.total.leads)
            );
        }
        for by in [By::Rule, By::Owner] {
            let _ = writeln!(s, "\n#### {}\n", by.title());
            let _ = writeln!(s, "| {} | {} |", by.key(), Self::HEADERS.join(" | "));
            let _ = writeln!(s, "|---|{}", "---:|".repeat(Self::HEADERS.len()));
            for r in self.table_rows(by) {
                let cells: Vec<String> = r.iter().map(|c| md_cell(c)).collect();
                let _ = writeln!(s, "| {} |", cells.join(" | "));
            }
        }
        s
    }

    fn html(&self) -> String {
        let mut s = String::new();
        let title = format!("leadroute report: {}", self.events.display());
        let _ = write!(
            s,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p>{}.</p>\n",
            esc(&title),
            esc(&title),
            esc(&self.summary())
        );
        if let (Some(path), Some(then)) = (self.baseline, self.then) {
            let _ = writeln!(
                s,
                "<p>Baseline <code>{}</code>: {} leads decided. Charts show this period (dark) over the baseline (light); tables give changes in parentheses (pp: percentage points).</p>",
                esc(&path.display().to_string()),
                thousands(then.total.leads)
            );
        }
        for by in [By::Rule, By::Owner] {
            let rows = self.rows(by);
            let _ = writeln!(s, "<h2>{}</h2>\n<div class=\"charts\">", by.title());
            let series =
                |f: &dyn Fn(&Row) -> Option<f64>| -> Vec<(String, Option<f64>, Option<f64>)> {
                    rows.iter()
                        .map(|(_, l, r, b)| (l.clone(), f(r), b.and_then(f)))
                        .collect()
                };
            s.push_str(&bar_chart(
                "Leads",
                &series(&|r| Some(r.leads as f64)),
                Unit::Count,
            ));
            s.push_str(&bar_chart(
                "Submit → owner assigned, p90",
                &series(&|r| r.p(0.9).map(|v| v as f64)),
                Unit::Millis,
            ));
            s.push_str(&bar_chart(
                "CRM write success",
                &series(&Row::write_rate),
                Unit::Rate,
            ));
            s.push_str(&bar_chart(
                "Meeting shown → booked",
                &series(&Row::booked_rate),
                Unit::Rate,
            ));
            s.push_str(&bar_chart(
                "Fallback",
                &series(&Row::fallback_rate),
                Unit::Rate,
            ));
            s.push_str(&bar_chart(
                "Reassigned",
                &series(&Row::reassignment_rate),
                Unit::Rate,
            ));
            s.push_str("</div>\n<table>\n<thead><tr>");
            let _ = write!(s, "<th>{}</th>", esc(by.key()));
            for h in Self::HEADERS {
                let _ = write!(s, "<th>{}</th>", esc(h));
            }
            s.push_str("</tr></thead>\n<tbody>\n");
            for r in self.table_rows(by) {
                s.push_str("<tr>");
                for (i, c) in r.iter().enumerate() {
                    let tag = if i == 0 { "th" } else { "td" };
                    let _ = write!(s, "<{tag}>{}</{tag}>", esc(c));
                }
                s.push_str("</tr>\n");
            }
            s.push_str("</tbody>\n</table>\n");
        }
        s.push_str("</body>\n</html>\n");
        s
    }
}

static EMPTY: Row = Row {
    leads: 0,
    latency: Histogram {
        buckets: BTreeMap::new(),
        count: 0,
        max: 0,
    },
    writes: 0,
    writes_ok: 0,
    shown: 0,
    booked: 0,
    fallback: 0,
    reassigned: 0,
};

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Text for HTML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}\
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}\
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}\
figure{margin:0}figcaption{font-weight:600;font-size:.9rem;margin-bottom:.3rem}\
table{border-collapse:collapse;margin-top:1rem;font-size:.85rem}\
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}\
th:first-child{text-align:left}thead th{background:#f4f4f4}\
svg text{font-size:11px;fill:#222}";

#[derive(Clone, Copy)]
enum Unit {
    Count,
    Millis,
    Rate,
}

fn unit_text(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Count => thousands(v as u64),
        Unit::Millis => format!("{v:.0} ms"),
        Unit::Rate => format!("{:.1} %", 100.0 * v),
    }
}

/// The most bars one chart draws (the rows are sorted by leads).
const MAX_BARS: usize = 25;

/// A horizontal bar chart as inline SVG: one bar per row (`now`), with the
/// baseline's bar behind it, lighter, when there is one.
fn bar_chart(title: &str, rows: &[(String, Option<f64>, Option<f64>)], unit: Unit) -> String {
    let rows: Vec<_> = rows
        .iter()
        .filter(|(_, a, b)| a.is_some() || b.is_some())
        .take(MAX_BARS)
        .collect();
    let max = rows
        .iter()
        .flat_map(|(_, a, b)| [a.unwrap_or(0.0), b.unwrap_or(0.0)])
        .fold(0.0f64, f64::max);
    let max = match unit {
        Unit::Rate => 1.0,
        _ if max > 0.0 => max,
        _ => 1.0,
    };
    let (label_w, bar_w, value_w, row_h) = (150.0, 220.0, 80.0, 18.0);
    let width = label_w + bar_w + value_w;
    let height = row_h * rows.len().max(1) as f64 + 4.0;
    let mut s = format!(
        "<figure><figcaption>{}</figcaption><svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    if rows.is_empty() {
        let _ = write!(s, "<text x=\"0\" y=\"14\">no data</text>");
    }
    for (i, (label, now, then)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let short: String = label.chars().take(22).collect();
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + 12.0,
            esc(&short)
        );
        if let Some(b) = then {
            let _ = write!(
                s,
                "<rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#b8cbe6\"><title>baseline: {}</title></rect>",
                bar_w * (b / max).clamp(0.0, 1.0),
                row_h - 3.0,
                esc(&unit_text(*b, unit))
            );
        }
        if let Some(a) = now {
            let _ = write!(
                s,
                "<rect x=\"{label_w}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#2f5d9c\"><title>{}</title></rect>",
                y + 3.0,
                bar_w * (a / max).clamp(0.0, 1.0),
                row_h - 9.0,
                esc(&unit_text(*a, unit))
            );
        }
        let value = now.map_or_else(|| "–".to_owned(), |a| unit_text(a, unit));
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            label_w + bar_w + 6.0,
            y + 12.0,
            esc(&value)
        );
    }
    s.push_str("</svg></figure>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::Histogram;

    /// The exact nearest-rank quantile of sorted values.
    fn exact(sorted: &[u64], q: f64) -> u64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    #[test]
    fn histogram_quantiles_are_exact_below_256_and_within_0_8_percent_above() {
        let mut seed = 42u64;
        for round in 0..50 {
            let n = 1 + (round * 37) % 2000;
            let mut values = Vec::with_capacity(n);
            let mut h = Histogram::default();
            for _ in 0..n {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let v = (seed >> 33) % [300, 5_000, 2_000_000][round % 3];
                values.push(v);
                h.add(v);
            }
            values.sort_unstable();
            for q in [0.5, 0.9, 0.99, 1.0] {
                let want = exact(&values, q);
                let got = h.quantile(q).unwrap();
                assert!(got >= want, "q{q}: {got} < {want}");
                if want < 256 {
                    assert_eq!(got, want, "q{q}");
                } else {
                    assert!(
                        (got - want) as f64 <= want as f64 / 128.0,
                        "q{q}: {got} vs {want}"
                    );
                }
            }
        }
        assert_eq!(Histogram::default().quantile(0.5), None);
    }

    #[test]
    fn buckets_are_monotonic_and_bound_their_values() {
        let mut last = 0;
        for v in (0..100_000u64).chain([u64::MAX / 2, u64::MAX]) {
            let b = Histogram::bucket(v);
            assert!(b >= last, "{v}");
            assert!(Histogram::upper(b) >= v, "{v}");
            last = b;
        }
    }
}
