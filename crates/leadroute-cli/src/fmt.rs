//! `leadroute fmt [--check] POLICY…`: canonical formatting of TOML and JSON
//! policies.
//!
//! # Key order
//!
//! Keys are put in the order the policy format defines them (the field
//! order of `leadroute::policy::spec`), at every level:
//!
//! | object | order |
//! |---|---|
//! | policy | `$schema`, `name`, `version`, `owners`, `territories`, `pools`, `schedules`, `rules`, `fallback` |
//! | owner | `id`, `name`, `email`, `crm_ids`, `active`, `timezone`, `schedule`, `out_of_office`, `attributes` |
//! | territory | `id`, `countries`, `regions`, `postal_codes`, `exclude` |
//! | place set (`exclude`) | `countries`, `regions`, `postal_codes` |
//! | postal codes | `country`, `prefixes`, `ranges` |
//! | pool | `id`, `members`, `capacity`, `fallback`, `distribution`, `max_open`, `respect_schedules`, `schedule`, `timezone` |
//! | member | `owner`, `weight`, `capacity`, `max_open` |
//! | capacity | `max`, `per` |
//! | schedule | `id`, `timezone`, `hours`, `holidays` |
//! | hours | `weekdays`, `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun` |
//! | rule | `id`, `description`, `when`, `then` |
//! | action (`then`, `fallback`) | `assign`, `experience`, `if_unavailable`, `check_availability`, `tags`, `priority`, `sla_minutes`, `write_to_crm` |
//! | bounds (`employees`, `annual_revenue`) | `min`, `max` |
//! | field test (`attribute`, `field`) | `key`, `equals`, `one_of`, `exists`, `regex` |
//! | record test (`account`, `contact`) | `exists`, `has_owner`, `owner_active`, `is_customer`, `tier`, `field` |
//! | `day_of_week` | `days`, `timezone` |
//! | `account_match` | `matched`, `matched_by`, `min_confidence`, `ambiguous` |
//! | `spam` | `score_at_least`, `score_below` |
//!
//! So in TOML the `[[schedules]]` sections come after the `[[pools]]` and
//! before the `[[rules]]`. Tests keep this list complete: every key the
//! policy JSON Schema allows must have its place here, in the order of the
//! spec's fields.
//!
//! Keys the format does not know (a policy with a typo still formats; `check`
//! reports the typo) follow the known ones, in their written order in TOML,
//! by name in JSON. The keys of free-form maps (`crm_ids`, `attributes`,
//! objects inside `equals`/`one_of`) are sorted by name: the policy reads
//! them into sorted maps, so their written order means nothing. Array items
//! never move: rule order is meaning.
//!
//! # TOML: edited in place with `toml_edit`
//!
//! A TOML policy is parsed with `toml_edit`, the format-preserving TOML
//! parser (the one `cargo` uses to edit manifests), reordered and
//! normalized in that syntax tree, and printed back. Re-serializing the
//! parsed policy instead (`toml::to_string`) would drop every comment and
//! turn the author's choice of inline tables and `[[rules]]` sections into
//! the serializer's. So comments stay attached to the key, table or value
//! they precede or follow, and the structure stays as written. What changes:
//!
//! - key order, as above; table sections (`[fallback]`, `[[rules]]`) are
//!   printed in that order too;
//! - `key = value` with one space around `=`; inline tables as
//!   `{ a = 1, b = 2 }` and one-line arrays as `[1, 2]` (those holding a
//!   comment or written over several lines keep their layout);
//! - one blank line before each table header, none at the start of the
//!   file, no blank lines between keys, comment lines without indentation,
//!   trailing whitespace removed, exactly one newline at the end.
//!
//! # JSON
//!
//! JSON has no comments, so a JSON policy is parsed and printed anew: two
//! spaces of indentation; an array or object that fits within 100 columns
//! on one line is printed on one line (`{"id": "ana", "name": "Ana"}`),
//! otherwise one item per line.
//!
//! # Safety
//!
//! Formatting is idempotent (`fmt(fmt(x)) == fmt(x)`), and when the input
//! reads as a policy the output must read as the very same policy spec:
//! this is checked on every run, and a file that would change meaning is
//! reported as an internal error and left alone.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use leadroute::PolicySpec;
use serde_json::Value;
use toml_edit::{Array, DocumentMut, InlineTable, Item, RawString, Table, Value as TomlValue};

use crate::{PolicyFormat, read_text, write_stdout};

/// What a value is in the policy format: decides the key order of its
/// children and what its children are.
///
/// Every object of `leadroute::policy::json_schema()` has a kind here
/// whose [`order`](Kind::order) lists all its keys (a test walks the
/// schema), in the field order of its `leadroute::policy::spec` struct (a
/// test compares with a policy serialized from the spec).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Root,
    Owner,
    Territory,
    PlaceSet,
    Postal,
    Pool,
    Member,
    Capacity,
    Schedule,
    /// A schedule's `hours`.
    WeeklyHours,
    Rule,
    Action,
    /// `assign`, a pool `fallback`, a `calendar`: one-key `{owner|pool}`.
    Target,
    IfUnavailable,
    Experience,
    BookMeeting,
    Reject,
    Condition,
    Bounds,
    FieldTest,
    RecordTest,
    DayOfWeek,
    MatchTest,
    SpamTest,
    /// Data: keys keep their order (TOML) and are not checked.
    Free,
    /// A value with no structure the format knows.
    Leaf,
}

impl Kind {
    /// The keys of this kind, in canonical order: the field order of the
    /// spec struct (flattened fields in place: a territory's includes, a
    /// field test's value test).
    fn order(self) -> &'static [&'static str] {
        match self {
            // PolicySpec
            Kind::Root => &[
                "$schema",
                "name",
                "version",
                "owners",
                "territories",
                "pools",
                "schedules",
                "rules",
                "fallback",
            ],
            // OwnerSpec
            Kind::Owner => &[
                "id",
                "name",
                "email",
                "crm_ids",
                "active",
                "timezone",
                "schedule",
                "out_of_office",
                "attributes",
            ],
            // TerritorySpec: `id`, the flattened PlaceSetSpec, `exclude`.
            Kind::Territory => &["id", "countries", "regions", "postal_codes", "exclude"],
            // PlaceSetSpec
            Kind::PlaceSet => &["countries", "regions", "postal_codes"],
            // PostalSpec
            Kind::Postal => &["country", "prefixes", "ranges"],
            // PoolSpec
            Kind::Pool => &[
                "id",
                "members",
                "capacity",
                "fallback",
                "distribution",
                "max_open",
                "respect_schedules",
                "schedule",
                "timezone",
            ],
            // MemberSpec
            Kind::Member => &["owner", "weight", "capacity", "max_open"],
            // Capacity
            Kind::Capacity => &["max", "per"],
            // ScheduleSpec
            Kind::Schedule => &["id", "timezone", "hours", "holidays"],
            // WeeklyHoursSpec
            Kind::WeeklyHours => &["weekdays", "mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            // RuleSpec
            Kind::Rule => &["id", "description", "when", "then"],
            // ActionSpec
            Kind::Action => &[
                "assign",
                "experience",
                "if_unavailable",
                "check_availability",
                "tags",
                "priority",
                "sla_minutes",
                "write_to_crm",
            ],
            // Target (and CalendarSpec's `owner`)
            Kind::Target => &["owner", "pool"],
            // IfUnavailable::Assign
            Kind::IfUnavailable => &["assign"],
            // ExperienceSpec's variants with data
            Kind::Experience => &["book_meeting", "reject"],
            Kind::BookMeeting => &["calendar"],
            Kind::Reject => &["reason"],
            // Condition: one key each, in the enum's variant order.
            Kind::Condition => &[
                "all",
                "any",
                "not",
                "always",
                "territory",
                "country",
                "region",
                "postal_code",
                "employees",
                "annual_revenue",
                "product_interest",
                "email_kind",
                "source",
                "utm_source",
                "utm_medium",
                "utm_campaign",
                "utm_term",
                "utm_content",
                "company_domain",
                "attribute",
                "account",
                "contact",
                "within_schedule",
                "outside_schedule",
                "day_of_week",
                "account_match",
                "spam",
                "signal",
            ],
            // Bounds
            Kind::Bounds => &["min", "max"],
            // FieldTest: `key`, then the flattened ValueTest.
            Kind::FieldTest => &["key", "equals", "one_of", "exists", "regex"],
            // RecordTest
            Kind::RecordTest => &[
                "exists",
                "has_owner",
                "owner_active",
                "is_customer",
                "tier",
                "field",
            ],
            // DayOfWeekSpec
            Kind::DayOfWeek => &["days", "timezone"],
            // MatchTest
            Kind::MatchTest => &["matched", "matched_by", "min_confidence", "ambiguous"],
            // SpamTest
            Kind::SpamTest => &["score_at_least", "score_below"],
            Kind::Free | Kind::Leaf => &[],
        }
    }

    /// The kind of the value under `key` (arrays are transparent: their
    /// items have the kind the key gives).
    fn child(self, key: &str) -> Kind {
        match (self, key) {
            (Kind::Root, "owners") => Kind::Owner,
            (Kind::Root, "territories") => Kind::Territory,
            (Kind::Root, "pools") => Kind::Pool,
            (Kind::Root, "schedules") => Kind::Schedule,
            (Kind::Root, "rules") => Kind::Rule,
            (Kind::Root, "fallback") => Kind::Action,
            (Kind::Owner, "crm_ids" | "attributes") => Kind::Free,
            (Kind::Territory | Kind::PlaceSet, "postal_codes") => Kind::Postal,
            (Kind::Territory, "exclude") => Kind::PlaceSet,
            (Kind::Pool, "members") => Kind::Member,
            (Kind::Pool | Kind::Member, "capacity") => Kind::Capacity,
            (Kind::Pool, "fallback") => Kind::Target,
            (Kind::Schedule, "hours") => Kind::WeeklyHours,
            (Kind::Rule, "when") => Kind::Condition,
            (Kind::Rule, "then") => Kind::Action,
            (Kind::Action | Kind::IfUnavailable, "assign") => Kind::Target,
            (Kind::Action, "experience") => Kind::Experience,
            (Kind::Action, "if_unavailable") => Kind::IfUnavailable,
            (Kind::Experience, "book_meeting") => Kind::BookMeeting,
            (Kind::Experience, "reject") => Kind::Reject,
            (Kind::BookMeeting, "calendar") => Kind::Target,
            (Kind::Condition, "all" | "any" | "not") => Kind::Condition,
            (Kind::Condition, "postal_code") => Kind::Postal,
            (Kind::Condition, "employees" | "annual_revenue") => Kind::Bounds,
            (Kind::Condition, "attribute") => Kind::FieldTest,
            (Kind::Condition, "account" | "contact") => Kind::RecordTest,
            (Kind::Condition, "day_of_week") => Kind::DayOfWeek,
            (Kind::Condition, "account_match") => Kind::MatchTest,
            (Kind::Condition, "spam") => Kind::SpamTest,
            (Kind::RecordTest, "field") => Kind::FieldTest,
            (Kind::FieldTest, "equals" | "one_of") => Kind::Free,
            (Kind::Free, _) => Kind::Free,
            _ => Kind::Leaf,
        }
    }

    /// Where `key` goes among its siblings: known keys by their position,
    /// unknown keys after them (`None`: a free-form map, sorted by key).
    fn rank(self, key: &str) -> Option<usize> {
        if self == Kind::Free {
            return None;
        }
        let order = self.order();
        Some(order.iter().position(|k| *k == key).unwrap_or(order.len()))
    }

    /// Compares two sibling keys: known keys by rank; keys of free-form
    /// maps by name; unknown keys after the known ones, in their written
    /// order (the sorts are stable).
    fn compare(self, a: &str, b: &str) -> Ordering {
        match (self.rank(a), self.rank(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.cmp(b),
        }
    }
}

// ------------------------------------------------------------------ TOML

/// The comment lines of a decor (a key's, table's or value's prefix), each
/// without indentation, each ending in a newline; blank lines inside a
/// block of comments are kept as one, blank lines around it dropped.
fn comment_lines(raw: Option<&RawString>) -> String {
    let text = raw.and_then(RawString::as_str).unwrap_or("");
    let mut out = String::new();
    let mut blank = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if line.starts_with('#') {
            if blank {
                out.push('\n');
            }
            out.push_str(line);
            out.push('\n');
        }
        blank = false;
    }
    out
}

/// A trailing `# comment` (a value's or header's suffix), as ` # comment`,
/// or nothing.
fn trailing_comment(raw: Option<&RawString>) -> String {
    let text = raw.and_then(RawString::as_str).unwrap_or("");
    match text.find('#') {
        Some(i) => format!(" {}", text.get(i..).unwrap_or("").trim_end()),
        None => String::new(),
    }
}

/// Whether any decor inside a value holds a comment or a newline (then its
/// layout is the author's and is kept).
fn laid_out_by_hand(value: &TomlValue) -> bool {
    // The value's own outer decor (an array item's indentation, a comment
    // after the previous item) is not part of its layout.
    let mut inner = value.clone();
    inner.decor_mut().clear();
    let text = inner.to_string();
    text.contains('\n') || contains_comment(&text)
}

/// Whether TOML value text contains a comment (a `#` outside strings).
fn contains_comment(text: &str) -> bool {
    let mut chars = text.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '#') => return true,
            (None, '"' | '\'') => quote = Some(c),
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    false
}

/// Reorders and normalizes a value (not its own outer decor).
fn format_toml_value(value: &mut TomlValue, kind: Kind) {
    match value {
        TomlValue::InlineTable(t) => format_inline_table(t, kind),
        TomlValue::Array(a) => format_array(a, kind),
        _ => {}
    }
}

fn format_inline_table(t: &mut InlineTable, kind: Kind) {
    let by_hand = laid_out_by_hand(&TomlValue::InlineTable(t.clone()));
    // (Cloning is cheap next to a policy's size, and keeps this simple.)
    t.sort_values_by(|a, _, b, _| kind.compare(a.get(), b.get()));
    if !by_hand {
        t.fmt();
    }
    for (key, v) in t.iter_mut() {
        let child = kind.child(key.get());
        format_toml_value(v, child);
    }
    if !by_hand {
        // `{ a = 1 }`: one space inside the braces, none before commas.
        let n = t.len();
        for (i, (mut key, v)) in t.iter_mut().enumerate() {
            key.leaf_decor_mut().set_prefix(" ");
            key.leaf_decor_mut().set_suffix(" ");
            v.decor_mut().set_prefix(" ");
            v.decor_mut().set_suffix(if i + 1 == n { " " } else { "" });
        }
        t.set_trailing("");
        t.set_trailing_comma(false);
    }
}

fn format_array(a: &mut Array, kind: Kind) {
    let by_hand = laid_out_by_hand(&TomlValue::Array(a.clone()));
    if !by_hand {
        a.fmt();
    }
    for v in a.iter_mut() {
        format_toml_value(v, kind);
    }
}

/// Reorders and normalizes a table's key/value pairs and sub-tables, and
/// numbers its header tables in canonical order (`position`).
fn format_table(table: &mut Table, kind: Kind, position: &mut isize, is_root: bool) {
    table.sort_values_by(|a, _, b, _| kind.compare(a.get(), b.get()));
    // A header table's own decor: one blank line, its comments, the header.
    if !is_root && !table.is_implicit() && !table.is_dotted() {
        let comments = comment_lines(table.decor().prefix());
        let suffix = trailing_comment(table.decor().suffix());
        table.decor_mut().set_prefix(format!("\n{comments}"));
        table.decor_mut().set_suffix(suffix);
        table.set_position(Some(*position));
        *position += 1;
    }
    for (mut key, item) in table.iter_mut() {
        let child = kind.child(key.get());
        match item {
            Item::Value(v) => {
                let comments = comment_lines(key.leaf_decor().prefix());
                key.leaf_decor_mut().set_prefix(comments);
                key.leaf_decor_mut().set_suffix(" ");
                let suffix = trailing_comment(v.decor().suffix());
                v.decor_mut().set_prefix(" ");
                v.decor_mut().set_suffix(suffix);
                format_toml_value(v, child);
            }
            Item::Table(t) if t.is_dotted() => {
                let comments = comment_lines(key.leaf_decor().prefix());
                key.leaf_decor_mut().set_prefix(comments);
                key.leaf_decor_mut().set_suffix("");
                format_dotted(t, child);
            }
            Item::Table(t) => {
                // Header comments may sit in the key's decor (before `[`).
                let comments = comment_lines(key.leaf_decor().prefix());
                if !comments.is_empty() {
                    let mut all = comment_lines(t.decor().prefix());
                    all.push_str(&comments);
                    t.decor_mut().set_prefix(all);
                }
                key.leaf_decor_mut().set_prefix("");
                key.leaf_decor_mut().set_suffix("");
                format_table(t, child, position, false);
            }
            Item::ArrayOfTables(tables) => {
                key.leaf_decor_mut().set_prefix("");
                key.leaf_decor_mut().set_suffix("");
                for t in tables.iter_mut() {
                    format_table(t, child, position, false);
                }
            }
            Item::None => {}
        }
    }
}

/// A dotted-key table (`assign.owner = "x"`): its keys in order, `a.b = v`
/// spacing.
fn format_dotted(table: &mut Table, kind: Kind) {
    table.sort_values_by(|a, _, b, _| kind.compare(a.get(), b.get()));
    for (mut key, item) in table.iter_mut() {
        let child = kind.child(key.get());
        key.leaf_decor_mut().set_prefix("");
        match item {
            Item::Value(v) => {
                key.leaf_decor_mut().set_suffix(" ");
                let suffix = trailing_comment(v.decor().suffix());
                v.decor_mut().set_prefix(" ");
                v.decor_mut().set_suffix(suffix);
                format_toml_value(v, child);
            }
            Item::Table(t) => {
                key.leaf_decor_mut().set_suffix("");
                format_dotted(t, child);
            }
            _ => {}
        }
    }
}

/// A header comment block, followed by a blank line when the author left
/// one between it and the first entry.
fn header(raw: Option<&RawString>) -> String {
    let mut comments = comment_lines(raw);
    let text = raw.and_then(RawString::as_str).unwrap_or("");
    let after_last = text.rfind('#').map_or("", |i| text.get(i..).unwrap_or(""));
    if !comments.is_empty() && after_last.matches('\n').count() >= 2 {
        comments.push('\n');
    }
    comments
}

/// Removes and returns the comments before the document's first entry (a
/// key, or the first table header when there are no top-level keys).
fn take_header_comments(root: &mut Table) -> String {
    let first_value = root
        .iter_mut()
        .find(|(_, item)| item.is_value() || matches!(item, Item::Table(t) if t.is_dotted()));
    if let Some((mut key, _)) = first_value {
        let comments = header(key.leaf_decor().prefix());
        key.leaf_decor_mut().set_prefix("");
        return comments;
    }
    // No top-level keys: the first table in the file (the lowest position).
    let mut first: Option<&mut Table> = None;
    for (_, item) in root.iter_mut() {
        let candidate = match item {
            Item::Table(t) => Some(t),
            Item::ArrayOfTables(a) => a.iter_mut().next(),
            _ => None,
        };
        if let Some(t) = candidate {
            let earlier = match (&first, t.position()) {
                (None, _) => true,
                (Some(f), Some(p)) => f.position().is_some_and(|fp| p < fp),
                (Some(_), None) => false,
            };
            if earlier {
                first = Some(t);
            }
        }
    }
    match first {
        Some(t) => {
            let comments = header(t.decor().prefix());
            t.decor_mut().set_prefix("");
            comments
        }
        None => String::new(),
    }
}

/// The canonical form of a TOML policy.
pub(crate) fn format_toml(text: &str) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        let at = e
            .span()
            .map(|s| crate::locate::locate(text, s))
            .map(|l| format!(" at line {} column {}", l.line, l.column))
            .unwrap_or_default();
        format!("not valid TOML: {}{at}", e.message().trim())
    })?;
    let mut position = 1;
    // The comments before the first entry are the file's header: they stay
    // at the top, whatever moves.
    let mut lead = comment_lines(doc.decor().prefix());
    lead.push_str(&take_header_comments(doc.as_table_mut()));
    doc.decor_mut().set_prefix(lead);
    let trailing = comment_lines(Some(doc.trailing()));
    doc.set_trailing(trailing);
    format_table(doc.as_table_mut(), Kind::Root, &mut position, true);
    let printed = doc.to_string();
    // Trailing whitespace, leading and trailing blank lines, runs of blank
    // lines: the last word on whitespace.
    let mut out = String::with_capacity(printed.len());
    let mut blank_run = 0;
    for line in printed.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if blank_run > 0 && !out.is_empty() {
            out.push('\n');
        }
        blank_run = 0;
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

// ------------------------------------------------------------------ JSON

/// Width a JSON line may reach before a value is broken over lines.
const JSON_WIDTH: usize = 100;

fn json_compact(v: &Value, kind: Kind, out: &mut String) {
    match v {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_compact(item, kind, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in ordered(map, kind).into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(": ");
                json_compact(item, kind.child(k), out);
            }
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// An object's entries in canonical order: known keys by rank, the rest
/// by name (explicitly: `serde_json`'s map order depends on its features).
fn ordered(map: &serde_json::Map<String, Value>, kind: Kind) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|(a, _), (b, _)| {
        let rank = |k: &str| kind.rank(k).unwrap_or(0);
        rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
    });
    entries
}

/// Prints `v` at `indent`, the current line already holding `used` columns.
fn json_pretty(v: &Value, kind: Kind, indent: usize, used: usize, out: &mut String) {
    let mut compact = String::new();
    json_compact(v, kind, &mut compact);
    let empty = matches!(v, Value::Array(a) if a.is_empty())
        || matches!(v, Value::Object(m) if m.is_empty());
    if used + compact.chars().count() <= JSON_WIDTH || empty || !(v.is_array() || v.is_object()) {
        out.push_str(&compact);
        return;
    }
    let pad = " ".repeat(indent + 2);
    match v {
        Value::Array(items) => {
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                out.push_str(&pad);
                json_pretty(item, kind, indent + 2, indent + 2, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
        }
        Value::Object(map) => {
            out.push_str("{\n");
            let entries = ordered(map, kind);
            let n = entries.len();
            for (i, (k, item)) in entries.into_iter().enumerate() {
                let key = Value::String(k.clone()).to_string();
                out.push_str(&pad);
                out.push_str(&key);
                out.push_str(": ");
                let used = indent + 2 + key.chars().count() + 2;
                json_pretty(item, kind.child(k), indent + 2, used, out);
                out.push_str(if i + 1 < n { ",\n" } else { "\n" });
            }
        }
        _ => {}
    }
    out.push_str(&" ".repeat(indent));
    out.push(if v.is_array() { ']' } else { '}' });
}

/// The canonical form of a JSON policy.
pub(crate) fn format_json(text: &str) -> Result<String, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let mut out = String::with_capacity(text.len());
    json_pretty(&value, Kind::Root, 0, 0, &mut out);
    out.push('\n');
    Ok(out)
}

// --------------------------------------------------------------- command

/// Formats one policy's text; checks that a policy keeps its meaning.
pub(crate) fn format_policy(text: &str, format: PolicyFormat) -> Result<String, String> {
    let (formatted, read): (String, fn(&str) -> Result<PolicySpec, _>) = match format {
        PolicyFormat::Toml => (format_toml(text)?, PolicySpec::from_toml_str),
        PolicyFormat::Json => (format_json(text)?, PolicySpec::from_json_str),
    };
    if let Ok(before) = read(text) {
        match read(&formatted) {
            Ok(after) if after == before => {}
            _ => {
                return Err(
                    "internal error: the formatted policy would differ from the original; the file is left unchanged (please report this)"
                        .to_owned(),
                );
            }
        }
    }
    Ok(formatted)
}

/// Runs `fmt` over the files: rewrites those not in canonical form, or
/// with `check` only lists them.
pub(crate) fn run(paths: &[PathBuf], check: bool) -> anyhow::Result<ExitCode> {
    let mut unreadable = false;
    let mut changed = 0usize;
    for path in paths {
        match fmt_file(path, check) {
            Ok(false) => {}
            Ok(true) => {
                changed += 1;
                let done = if check { "would reformat" } else { "formatted" };
                write_stdout(&format!("{done} {}\n", path.display()))?;
            }
            Err(e) => {
                unreadable = true;
                eprintln!("leadroute: {e:#}");
            }
        }
    }
    if check && changed > 0 {
        eprintln!(
            "{changed} of {} file{} would be reformatted (run `leadroute fmt` without --check)",
            paths.len(),
            if paths.len() == 1 { "" } else { "s" }
        );
    }
    Ok(if unreadable {
        ExitCode::from(2)
    } else if check && changed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether the file is (or was) not in canonical form.
fn fmt_file(path: &Path, check: bool) -> anyhow::Result<bool> {
    let format = PolicyFormat::of(path)?;
    let text = read_text(path)?;
    let formatted = format_policy(&text, format).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if formatted == text {
        return Ok(false);
    }
    if !check {
        std::fs::write(path, &formatted)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_keys_follow_the_spec_order_and_comments_stay() {
        let text = r#"
# The inbound policy.
version = "1"   # bumped by CI
name =    "inbound"

[fallback]
experience = "confirmation"
# Everyone else.
assign = {owner="queue"}

[[rules]]
then = { tags = ["x"], assign = { owner = "ana" } }
when = { account = { is_customer = true, has_owner = true } }
id = "a"

[[owners]]
name = "Ana"
id = "ana"
"#;
        let out = format_toml(text).unwrap();
        assert_eq!(
            out,
            r#"# The inbound policy.
name = "inbound"
version = "1" # bumped by CI

[[owners]]
id = "ana"
name = "Ana"

[[rules]]
id = "a"
when = { account = { has_owner = true, is_customer = true } }
then = { assign = { owner = "ana" }, tags = ["x"] }

[fallback]
# Everyone else.
assign = { owner = "queue" }
experience = "confirmation"
"#
        );
        assert_eq!(format_toml(&out).unwrap(), out);
    }

    #[test]
    fn toml_working_hours_keys_follow_the_spec_order_and_comments_stay() {
        let text = r#"# Working hours.
name = "hours"
version = "1"

[fallback]
# The queue.
assign = { owner = "queue" }
check_availability = true # even off shift
experience = "confirmation"

# New York office hours.
[[schedules]]
holidays = ["2026-12-25"]
# Local to New York.
timezone = "America/New_York"
id = "ny"

[schedules.hours]
sat = ["10:00-14:00"]
weekdays = ["09:00-17:00"] # Monday to Friday

[[rules]]
then = { check_availability = true, assign = { pool = "sales" }, if_unavailable = "fallback" }
id = "all"
when = { all = [{ day_of_week = { timezone = "UTC", days = ["sat"] } }, { spam = { score_below = 40, score_at_least = 0 } }, { account_match = { min_confidence = 0.9, matched = true } }] }

[[pools]]
# Weekends too.
respect_schedules = false
max_open = 10
distribution = "least_loaded"
members = [{ max_open = 3, owner = "ana", weight = 2 }]
check_availability = true
id = "sales"
timezone = "America/New_York"
schedule = "ny"

[[owners]]
out_of_office = ["2026-08-03..2026-08-14"] # summer
schedule = "ny"
timezone = "America/New_York"
id = "ana"
attributes = { languages = ["es"] }
name = "Ana"

[[owners]]
id = "queue"
"#;
        let out = format_toml(text).unwrap();
        // `check_availability` is an action key: in a pool it is unknown
        // (`check` reports it) and goes after the known keys.
        assert_eq!(
            out,
            r#"# Working hours.
name = "hours"
version = "1"

[[owners]]
id = "ana"
name = "Ana"
timezone = "America/New_York"
schedule = "ny"
out_of_office = ["2026-08-03..2026-08-14"] # summer
attributes = { languages = ["es"] }

[[owners]]
id = "queue"

[[pools]]
id = "sales"
members = [{ owner = "ana", weight = 2, max_open = 3 }]
distribution = "least_loaded"
max_open = 10
# Weekends too.
respect_schedules = false
schedule = "ny"
timezone = "America/New_York"
check_availability = true

# New York office hours.
[[schedules]]
id = "ny"
# Local to New York.
timezone = "America/New_York"
holidays = ["2026-12-25"]

[schedules.hours]
weekdays = ["09:00-17:00"] # Monday to Friday
sat = ["10:00-14:00"]

[[rules]]
id = "all"
when = { all = [{ day_of_week = { days = ["sat"], timezone = "UTC" } }, { spam = { score_at_least = 0, score_below = 40 } }, { account_match = { matched = true, min_confidence = 0.9 } }] }
then = { assign = { pool = "sales" }, if_unavailable = "fallback", check_availability = true }

[fallback]
# The queue.
assign = { owner = "queue" }
experience = "confirmation"
check_availability = true # even off shift
"#
        );
        assert_eq!(format_toml(&out).unwrap(), out, "fmt(fmt(x)) != fmt(x)");
        // Without the pool's stray key the policy reads, and formatting
        // keeps it exactly.
        let valid = text.replace(
            "check_availability = true\nid = \"sales\"",
            "id = \"sales\"",
        );
        let spec = PolicySpec::from_toml_str(&valid).unwrap();
        let formatted = format_policy(&valid, PolicyFormat::Toml).unwrap();
        assert_eq!(PolicySpec::from_toml_str(&formatted).unwrap(), spec);
        assert_eq!(
            formatted,
            out.replace("check_availability = true\n\n", "\n")
        );
    }

    /// Walks a JSON Schema node that describes values of `kind`: every
    /// object key the schema allows must be in `kind.order()`.
    fn check_schema_node(
        schema: &Value,
        node: &Value,
        kind: Kind,
        path: &str,
        seen: &mut std::collections::HashSet<(String, String)>,
        problems: &mut Vec<String>,
    ) {
        let Value::Object(map) = node else {
            return;
        };
        if let Some(target) = map.get("$ref").and_then(Value::as_str) {
            let name = target.strip_prefix("#/$defs/").unwrap();
            if seen.insert((name.to_owned(), format!("{kind:?}"))) {
                let def = &schema["$defs"][name];
                assert!(def.is_object(), "{path}: unknown $ref {target}");
                check_schema_node(
                    schema,
                    def,
                    kind,
                    &format!("{path}<{name}>"),
                    seen,
                    problems,
                );
            }
        }
        for keyword in ["oneOf", "anyOf", "allOf", "prefixItems"] {
            for (i, sub) in map
                .get(keyword)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                check_schema_node(
                    schema,
                    sub,
                    kind,
                    &format!("{path}/{keyword}[{i}]"),
                    seen,
                    problems,
                );
            }
        }
        for keyword in ["items", "not"] {
            if let Some(sub) = map.get(keyword) {
                check_schema_node(
                    schema,
                    sub,
                    kind,
                    &format!("{path}/{keyword}"),
                    seen,
                    problems,
                );
            }
        }
        // A map with keys of the author's choosing: fmt must treat it as data.
        if let Some(extra) = map
            .get("additionalProperties")
            .filter(|v| **v != Value::Bool(false))
        {
            if kind != Kind::Free {
                problems.push(format!(
                    "{path}: a free-form map, but fmt gives it Kind::{kind:?}"
                ));
            }
            check_schema_node(
                schema,
                extra,
                Kind::Free,
                &format!("{path}/*"),
                seen,
                problems,
            );
        }
        let required = map
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let required = required.filter_map(Value::as_str);
        let properties = map.get("properties").and_then(Value::as_object);
        let keys: Vec<&str> = properties
            .into_iter()
            .flat_map(|p| p.keys().map(String::as_str))
            .chain(required)
            .collect();
        if !keys.is_empty() && matches!(kind, Kind::Free | Kind::Leaf) {
            problems.push(format!(
                "{path}: an object with keys {keys:?} that fmt does not know (Kind::{kind:?}): give it a kind in Kind::child"
            ));
            return;
        }
        for key in keys {
            if !kind.order().contains(&key) {
                problems.push(format!(
                    "{path}: key `{key}` is missing from Kind::{kind:?}.order() (put it where the spec struct has the field)"
                ));
            }
        }
        for (key, sub) in properties.into_iter().flatten() {
            check_schema_node(
                schema,
                sub,
                kind.child(key),
                &format!("{path}.{key}"),
                seen,
                problems,
            );
        }
    }

    #[test]
    fn the_key_order_lists_every_key_the_policy_schema_allows() {
        // The schema the core generates, and the committed copy editors
        // read (`tests/cli.rs` checks the two are the same text).
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let committed: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("../../docs/policy.schema.json")).unwrap(),
        )
        .unwrap();
        for (name, schema) in [
            (
                "leadroute::policy::json_schema()",
                leadroute::policy::json_schema(),
            ),
            ("docs/policy.schema.json", committed),
        ] {
            let mut problems = Vec::new();
            check_schema_node(
                &schema,
                &schema,
                Kind::Root,
                "policy",
                &mut std::collections::HashSet::new(),
                &mut problems,
            );
            assert!(
                problems.is_empty(),
                "fmt's key order is out of date with {name}:\n{}",
                problems.join("\n")
            );
        }
    }

    /// A JSON text's structure with object keys in their written order
    /// (`serde_json::Value` may sort them).
    enum Node {
        Object(Vec<(String, Node)>),
        Array(Vec<Node>),
        Scalar,
    }

    impl<'de> serde::Deserialize<'de> for Node {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Node;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("JSON")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut a: A,
                ) -> Result<Node, A::Error> {
                    let mut entries = Vec::new();
                    while let Some(key) = a.next_key::<String>()? {
                        entries.push((key, a.next_value::<Node>()?));
                    }
                    Ok(Node::Object(entries))
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    mut a: A,
                ) -> Result<Node, A::Error> {
                    let mut items = Vec::new();
                    while let Some(item) = a.next_element::<Node>()? {
                        items.push(item);
                    }
                    Ok(Node::Array(items))
                }
                fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                    Ok(Node::Scalar)
                }
                fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                    Ok(Node::Scalar)
                }
                fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                    Ok(Node::Scalar)
                }
                fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                    Ok(Node::Scalar)
                }
                fn visit_str<E>(self, _: &str) -> Result<Node, E> {
                    Ok(Node::Scalar)
                }
                fn visit_unit<E>(self) -> Result<Node, E> {
                    Ok(Node::Scalar)
                }
            }
            d.deserialize_any(V)
        }
    }

    /// Checks that the keys of every object under `node` (of `kind`) come
    /// in `kind`'s order; records each (kind, key) met.
    fn check_serialized_order(
        node: &Node,
        kind: Kind,
        path: &str,
        met: &mut std::collections::BTreeSet<(String, &'static str)>,
        problems: &mut Vec<String>,
    ) {
        match node {
            Node::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_serialized_order(item, kind, &format!("{path}[{i}]"), met, problems);
                }
            }
            Node::Object(entries) => {
                if kind != Kind::Free {
                    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
                    let mut ranked: Vec<&str> = keys.clone();
                    ranked.sort_by(|a, b| kind.compare(a, b));
                    if ranked != keys {
                        problems.push(format!(
                            "{path}: the spec serializes {keys:?}, fmt orders them {ranked:?} (Kind::{kind:?})"
                        ));
                    }
                    for key in &keys {
                        match kind.order().iter().find(|k| *k == key) {
                            Some(known) => {
                                met.insert((format!("{kind:?}"), known));
                            }
                            None => problems.push(format!(
                                "{path}: key `{key}` is missing from Kind::{kind:?}.order()"
                            )),
                        }
                    }
                }
                for (key, value) in entries {
                    check_serialized_order(
                        value,
                        kind.child(key),
                        &format!("{path}.{key}"),
                        met,
                        problems,
                    );
                }
            }
            Node::Scalar => {}
        }
    }

    /// A policy that sets every key of every spec struct, to a value the
    /// spec serializes (not its default).
    const EVERY_KEY: &str = r#"{
      "$schema": "./docs/policy.schema.json",
      "name": "every-key", "version": "1",
      "owners": [{"id": "ana", "name": "Ana", "email": "ana@example.com", "crm_ids": {"hubspot": "1"},
                  "active": false, "timezone": "Europe/Madrid", "schedule": "ny",
                  "out_of_office": ["2026-08-03..2026-08-14"], "attributes": {"languages": ["es"]}}],
      "territories": [{"id": "west", "countries": ["US"], "regions": ["US-CA"],
                       "postal_codes": [{"country": "US", "prefixes": ["941"], "ranges": [["94000", "94999"]]}],
                       "exclude": {"countries": ["CA"], "regions": ["US-NV"],
                                   "postal_codes": [{"country": "US", "prefixes": ["89"]}]}}],
      "pools": [{"id": "sales",
                 "members": [{"owner": "ana", "weight": 2, "capacity": {"max": 5, "per": "week"}, "max_open": 3}],
                 "capacity": {"max": 20, "per": "day"}, "fallback": {"owner": "ana"},
                 "distribution": "least_loaded", "max_open": 10, "respect_schedules": false,
                 "schedule": "ny", "timezone": "America/New_York"}],
      "schedules": [{"id": "ny", "timezone": "America/New_York",
                     "hours": {"weekdays": ["09:00-12:00"], "mon": ["13:00-14:00"], "tue": ["13:00-14:00"],
                               "wed": ["13:00-14:00"], "thu": ["13:00-14:00"], "fri": ["13:00-14:00"],
                               "sat": ["10:00-12:00"], "sun": ["10:00-12:00"]},
                     "holidays": ["2026-12-25"]}],
      "rules": [
        {"id": "every-test", "description": "Every condition with keys",
         "when": {"all": [
           {"employees": {"min": 1, "max": 2}},
           {"attribute": {"key": "budget", "equals": "50k"}},
           {"account": {"exists": true, "has_owner": true, "owner_active": true, "is_customer": true,
                        "tier": ["enterprise"], "field": {"key": "industry", "one_of": ["saas"]}}},
           {"postal_code": {"country": "US", "prefixes": ["1"], "ranges": [["10000", "14999"]]}},
           {"day_of_week": {"days": ["sat"], "timezone": "UTC"}},
           {"account_match": {"matched": true, "matched_by": ["exact_domain"], "min_confidence": 0.5,
                              "ambiguous": false}},
           {"spam": {"score_at_least": 1, "score_below": 2}}]},
         "then": {"assign": {"pool": "sales"}, "experience": {"book_meeting": {"calendar": {"owner": "ana"}}},
                  "if_unavailable": {"assign": {"owner": "ana"}}, "check_availability": true,
                  "tags": ["t"], "priority": "high", "sla_minutes": 5, "write_to_crm": true}},
        {"id": "spam", "when": {"always": true},
         "then": {"assign": "nobody", "experience": {"reject": {"reason": "spam"}}}}],
      "fallback": {"assign": {"owner": "ana"}}
    }"#;

    #[test]
    fn the_key_order_is_the_spec_field_order() {
        let spec: PolicySpec = serde_json::from_str(EVERY_KEY).unwrap();
        // Serializing the struct itself writes its fields in declaration order.
        let serialized = serde_json::to_string(&spec).unwrap();
        let tree: Node = serde_json::from_str(&serialized).unwrap();
        let mut met = std::collections::BTreeSet::new();
        let mut problems = Vec::new();
        check_serialized_order(&tree, Kind::Root, "policy", &mut met, &mut problems);
        assert!(
            problems.is_empty(),
            "fmt's key order is not the spec's:\n{}",
            problems.join("\n")
        );
        // The policy above must exercise every key of every struct kind
        // (the one-key kinds, whose keys exclude each other, aside), so
        // that a key added to an order list is checked too.
        let one_key = [
            Kind::Target,
            Kind::Experience,
            Kind::Condition,
            Kind::FieldTest,
        ];
        let struct_kinds = [
            Kind::Root,
            Kind::Owner,
            Kind::Territory,
            Kind::PlaceSet,
            Kind::Postal,
            Kind::Pool,
            Kind::Member,
            Kind::Capacity,
            Kind::Schedule,
            Kind::WeeklyHours,
            Kind::Rule,
            Kind::Action,
            Kind::IfUnavailable,
            Kind::BookMeeting,
            Kind::Reject,
            Kind::Bounds,
            Kind::RecordTest,
            Kind::DayOfWeek,
            Kind::MatchTest,
            Kind::SpamTest,
        ];
        for kind in struct_kinds {
            assert!(!one_key.contains(&kind));
            for key in kind.order() {
                assert!(
                    met.contains(&(format!("{kind:?}"), *key)),
                    "EVERY_KEY does not set `{key}` of Kind::{kind:?}"
                );
            }
        }
        // And fmt prints a JSON policy in that order.
        let formatted = format_json(&serialized).unwrap();
        let compact: Value = serde_json::from_str(&formatted).unwrap();
        assert_eq!(
            serde_json::to_string(&compact).unwrap().len(),
            serialized.len()
        );
        let mut again = Vec::new();
        check_serialized_order(
            &serde_json::from_str(&formatted).unwrap(),
            Kind::Root,
            "formatted",
            &mut std::collections::BTreeSet::new(),
            &mut again,
        );
        assert!(again.is_empty(), "{}", again.join("\n"));
    }

    #[test]
    fn toml_arrays_laid_out_by_hand_keep_their_layout() {
        let text = "name = \"p\"\nversion = \"1\"\nowners = [\n  { id = \"ana\" }, # first\n  { name = \"Bob\", id = \"bob\" },\n]\n";
        let out = format_toml(text).unwrap();
        assert_eq!(
            out,
            "name = \"p\"\nversion = \"1\"\nowners = [\n  { id = \"ana\" }, # first\n  { id = \"bob\", name = \"Bob\" },\n]\n"
        );
    }

    #[test]
    fn json_is_printed_in_spec_order_within_the_width() {
        let text = r#"{"version": "1", "name": "p", "fallback": {"assign": {"owner": "q"}},
            "owners": [{"name": "Q", "id": "q", "crm_ids": {"z": "1", "a": "2"}}]}"#;
        let out = format_json(text).unwrap();
        assert_eq!(
            out,
            "{\n  \"name\": \"p\",\n  \"version\": \"1\",\n  \"owners\": [{\"id\": \"q\", \"name\": \"Q\", \"crm_ids\": {\"a\": \"2\", \"z\": \"1\"}}],\n  \"fallback\": {\"assign\": {\"owner\": \"q\"}}\n}\n"
        );
        assert_eq!(format_json(&out).unwrap(), out);
    }

    /// Policies of every shape the format has, as TOML or JSON files.
    fn corpus() -> Vec<(String, PolicyFormat, String)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for rel in [
            "../../examples/policies/seed.toml",
            "../../examples/policies/seed.json",
            "tests/fixtures/compile_errors.toml",
            "tests/fixtures/compile_errors.json",
            "tests/fixtures/warnings.toml",
            "tests/fixtures/fmt/messy.toml",
            "tests/fixtures/fmt/messy.json",
        ] {
            let path = root.join(rel);
            let format = PolicyFormat::of(&path).unwrap();
            out.push((
                rel.to_owned(),
                format,
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
        out
    }

    #[test]
    fn formatting_is_idempotent_and_keeps_the_policy() {
        for (name, format, text) in corpus() {
            let once = format_policy(&text, format).unwrap_or_else(|e| panic!("{name}: {e}"));
            let twice = format_policy(&once, format).unwrap();
            assert_eq!(once, twice, "{name}: fmt(fmt(x)) != fmt(x)");
            let read = |t: &str| match format {
                PolicyFormat::Toml => PolicySpec::from_toml_str(t),
                PolicyFormat::Json => PolicySpec::from_json_str(t),
            };
            assert_eq!(read(&once).unwrap(), read(&text).unwrap(), "{name}");
            // Comments survive: every comment line of the input is in the output.
            if format == PolicyFormat::Toml {
                for line in text
                    .lines()
                    .filter_map(|l| l.find('#').map(|i| l[i..].trim_end()))
                {
                    if !line.contains('"') {
                        assert!(
                            once.contains(line),
                            "{name}: lost comment {line:?}:\n{once}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn json_layout_does_not_depend_on_the_input_layout() {
        for (name, format, text) in corpus() {
            if format != PolicyFormat::Json {
                continue;
            }
            let value: Value = serde_json::from_str(&text).unwrap();
            let compact = serde_json::to_string(&value).unwrap();
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            let canonical = format_json(&text).unwrap();
            assert_eq!(format_json(&compact).unwrap(), canonical, "{name}");
            assert_eq!(format_json(&pretty).unwrap(), canonical, "{name}");
            assert!(
                canonical
                    .lines()
                    .all(|l| l.chars().count() <= JSON_WIDTH || !l.trim_start().starts_with('{')),
                "{name}"
            );
        }
    }

    /// A pseudo-random rank of `key` under `seed`.
    fn scramble(key: &str, seed: u64) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (key, seed).hash(&mut h);
        h.finish()
    }

    /// Shuffles every table's keys and the order of sibling table sections
    /// (numbered in pre-order, so a sub-table stays under its parent; array
    /// items keep their order: rule order is meaning).
    fn shuffle_table(t: &mut Table, seed: u64, position: &mut isize) {
        t.sort_values_by(|a, _, b, _| scramble(a.get(), seed).cmp(&scramble(b.get(), seed)));
        for (_, item) in t.iter_mut() {
            match item {
                Item::Table(sub) => {
                    if sub.position().is_some() {
                        sub.set_position(Some(*position));
                        *position += 1;
                    }
                    shuffle_table(sub, seed, position);
                }
                Item::ArrayOfTables(a) => {
                    for sub in a.iter_mut() {
                        sub.set_position(Some(*position));
                        *position += 1;
                        shuffle_table(sub, seed, position);
                    }
                }
                Item::Value(v) => shuffle_value(v, seed),
                Item::None => {}
            }
        }
    }

    fn shuffle_value(v: &mut TomlValue, seed: u64) {
        match v {
            TomlValue::InlineTable(t) => {
                t.sort_values_by(|a, _, b, _| {
                    scramble(a.get(), seed).cmp(&scramble(b.get(), seed))
                });
                for (_, v) in t.iter_mut() {
                    shuffle_value(v, seed);
                }
            }
            TomlValue::Array(a) => {
                for v in a.iter_mut() {
                    shuffle_value(v, seed);
                }
            }
            _ => {}
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// The canonical form does not depend on the order keys and table
        /// sections were written in.
        #[test]
        fn toml_output_does_not_depend_on_key_order(seed in proptest::prelude::any::<u64>()) {
            for (name, format, text) in corpus() {
                if format != PolicyFormat::Toml {
                    continue;
                }
                let mut doc: DocumentMut = text.parse().unwrap();
                // The file's header comment stays the header.
                let header = take_header_comments(doc.as_table_mut());
                doc.decor_mut().set_prefix(header);
                shuffle_table(doc.as_table_mut(), seed, &mut 1);
                let shuffled = doc.to_string();
                let spec = |t: &str| PolicySpec::from_toml_str(t).ok();
                proptest::prop_assert_eq!(spec(&shuffled), spec(&text), "{}: the shuffle changed the policy", name);
                let canonical = format_toml(&text).unwrap();
                proptest::prop_assert_eq!(format_toml(&shuffled).unwrap(), canonical, "{}", name);
            }
        }
    }

    #[test]
    fn comments_are_found_outside_strings_only() {
        assert!(contains_comment("[1, # x\n 2]"));
        assert!(!contains_comment("[\"#1\", '#2']"));
        assert!(!contains_comment(r##"["a\"#"]"##));
    }
}
