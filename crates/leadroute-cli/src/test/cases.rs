//! Reading test-case files: TOML or JSON text → typed [`Case`]s, or every
//! problem found as a [`CaseDiagnostic`] with its file, line, column, field
//! path and case name.
//!
//! The text is first parsed into a JSON value tree (TOML datetimes become
//! RFC 3339 strings), then walked by hand rather than through serde derive:
//! that way every problem is reported (not just the first), each unknown key
//! gets a "did you mean" from the core's suggestion rule
//! ([`leadroute::policy::did_you_mean`]), and ids the policy does not know
//! (owners, rules, pools) are caught here, with a suggestion, instead of
//! failing as a confusing mismatch later. The format is documented in the
//! crate docs and in `docs/cases.schema.json`.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use leadroute::PolicySpec;
use leadroute::crm::{Account, Contact, LookupStatus};
use leadroute::decision::{Priority, Unavailable};
use leadroute::policy::did_you_mean;
use leadroute::pool::PoolStates;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::locate::{self, Location, SpanMap};

/// Largest case file read, in bytes.
pub(crate) const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most cases in one file.
pub(crate) const MAX_CASES: usize = 10_000;
/// Longest `expect.rotation` (routes of one case).
pub(crate) const MAX_ROTATION: usize = 1_000;
/// Most diagnostics reported for one file (the rest are counted).
const MAX_DIAGNOSTICS: usize = 50;

/// Keys of the top level of a case file.
const FILE_KEYS: &[&str] = &["$schema", "defaults", "cases"];
/// Keys a case's context may set (also the keys of `defaults`).
pub(crate) const CONTEXT_KEYS: &[&str] = &[
    "account",
    "contact",
    "account_lookup",
    "person_lookup",
    "away",
    "open_leads",
    "now",
    "pools",
];
/// Keys of a case besides the context keys.
const CASE_KEYS: &[&str] = &["name", "description", "lead", "sequence", "expect"];
/// Keys of `expect`.
pub(crate) const EXPECT_KEYS: &[&str] = &[
    "owner",
    "owner_one_of",
    "not_owner",
    "assigned",
    "rule",
    "fallback",
    "pool",
    "experience",
    "meeting_with",
    "tags",
    "tags_include",
    "priority",
    "sla_minutes",
    "owner_unavailable",
    "write_to_crm",
    "explanation_contains",
    "rotation",
];
/// Keys of an `account`.
pub(crate) const ACCOUNT_KEYS: &[&str] = &[
    "id",
    "name",
    "domain",
    "owner",
    "is_customer",
    "customer",
    "tier",
    "fields",
];
/// Keys of a `contact`.
pub(crate) const CONTACT_KEYS: &[&str] = &["id", "kind", "owner", "account_id"];
/// Experience names, as decisions name them.
const EXPERIENCES: &[&str] = &[
    "book_meeting",
    "confirmation",
    "customer_success",
    "nurture",
    "manual_review",
    "reject",
];
/// Keys of one pool's prior state.
const POOL_STATE_KEYS: &[&str] = &["version", "members", "recent"];
/// Keys of one member's counters.
const MEMBER_STATE_KEYS: &[&str] = &["current", "assigned", "period", "in_period"];
const LOOKUPS: &[&str] = &["found", "not_found", "skipped", "failed", "timed_out"];
const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];
/// Values of `expect.owner_unavailable`: the decision's
/// `owner_unavailable`, or `none` for "not set".
pub(crate) const OWNER_UNAVAILABLE: &[&str] = &["off_shift", "away", "none"];

/// A problem in a case file.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CaseDiagnostic {
    /// The file, as given on the command line.
    pub file: String,
    /// Stable code: `io`, `too_large`, `not_utf8`, `unknown_format`,
    /// `syntax`, `unknown_key`, `missing_key`, `wrong_type`,
    /// `invalid_value`, `unknown_id`, `duplicate_case`, `too_many`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// The field path (`cases[2].expect.ownr`); empty for the whole file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// The case's name, when the problem is inside a named case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// How to fix it (`did you mean `owner`?`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Where, when it can be located in the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<LineColumn>,
    /// The source excerpt for people (not serialized).
    #[serde(skip)]
    pub excerpt: Option<String>,
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct LineColumn {
    pub line: usize,
    pub column: usize,
}

impl CaseDiagnostic {
    fn file_level(file: &str, code: &'static str, message: String) -> Self {
        CaseDiagnostic {
            file: file.to_owned(),
            code,
            message,
            path: String::new(),
            case: None,
            help: None,
            location: None,
            excerpt: None,
        }
    }

    /// The diagnostic for people: `error[code]: message`, `--> file:line:col`,
    /// the case, the path, the excerpt and the help.
    pub fn render(&self) -> String {
        let mut out = format!("error[{}]: {}\n", self.code, self.message);
        match self.location {
            Some(l) => out.push_str(&format!("  --> {}:{}:{}\n", self.file, l.line, l.column)),
            None => out.push_str(&format!("  --> {}\n", self.file)),
        }
        if let Some(case) = &self.case {
            out.push_str(&format!("  = case: {case}\n"));
        }
        if !self.path.is_empty() {
            out.push_str(&format!("  = path: {}\n", self.path));
        }
        if let Some(excerpt) = &self.excerpt {
            for line in excerpt.lines() {
                out.push_str("  ");
                out.push_str(line);
                out.push('\n');
            }
        }
        if let Some(help) = &self.help {
            out.push_str(&format!("  = help: {help}\n"));
        }
        out
    }
}

/// The context of one case: what the CRM returned, who is away, the time,
/// the pool state. `None`/empty fields fall back to `defaults`, then to the
/// testing kit's defaults.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub account: Option<Account>,
    pub contact: Option<Contact>,
    pub account_lookup: Option<LookupStatus>,
    pub person_lookup: Option<LookupStatus>,
    pub away: Option<Vec<String>>,
    pub open_leads: Option<Vec<(String, u32)>>,
    pub now: Option<u64>,
    pub pools: Option<PoolStates>,
}

impl Context {
    /// `self` with the unset fields taken from `defaults`.
    fn or(self, defaults: &Context) -> Context {
        Context {
            account: self.account.or_else(|| defaults.account.clone()),
            contact: self.contact.or_else(|| defaults.contact.clone()),
            account_lookup: self.account_lookup.or(defaults.account_lookup),
            person_lookup: self.person_lookup.or(defaults.person_lookup),
            away: self.away.or_else(|| defaults.away.clone()),
            open_leads: self.open_leads.or_else(|| defaults.open_leads.clone()),
            now: self.now.or(defaults.now),
            pools: self.pools.or_else(|| defaults.pools.clone()),
        }
    }
}

/// What a case expects of its decision (every given expectation must hold).
#[derive(Debug, Clone, Default)]
pub(crate) struct Expect {
    pub owner: Option<String>,
    pub owner_one_of: Option<Vec<String>>,
    pub not_owner: Vec<String>,
    pub assigned: Option<bool>,
    pub rule: Option<String>,
    pub fallback: Option<bool>,
    pub pool: Option<String>,
    pub experience: Option<String>,
    pub meeting_with: Option<String>,
    pub tags: Option<Vec<String>>,
    pub tags_include: Vec<String>,
    pub priority: Option<Priority>,
    pub sla_minutes: Option<u32>,
    /// `Some(None)`: expects no `owner_unavailable`.
    pub owner_unavailable: Option<Option<Unavailable>>,
    pub write_to_crm: Option<bool>,
    pub explanation_contains: Vec<String>,
    pub rotation: Option<Vec<String>>,
}

/// One test case, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub name: String,
    /// The lead payload as JSON text (what the normalizer reads).
    pub lead_json: String,
    pub context: Context,
    /// Cases of the same sequence share pool state, in file order.
    pub sequence: Option<String>,
    pub expect: Expect,
    /// Where the case starts in the file.
    pub location: Option<LineColumn>,
}

/// The ids a case file may refer to.
pub(crate) struct PolicyIds {
    owners: Vec<String>,
    rules: Vec<String>,
    pools: Vec<String>,
}

impl PolicyIds {
    pub fn of(spec: &PolicySpec) -> Self {
        PolicyIds {
            owners: spec.owners.iter().map(|o| o.id.clone()).collect(),
            rules: spec.rules.iter().map(|r| r.id.clone()).collect(),
            pools: spec.pools.iter().map(|p| p.id.clone()).collect(),
        }
    }
}

/// Reads and checks a case file: its cases, or every problem found.
pub(crate) fn read(path: &Path, ids: &PolicyIds) -> Result<Vec<Case>, Vec<CaseDiagnostic>> {
    let file = path.display().to_string();
    let one = |code, message| Err(vec![CaseDiagnostic::file_level(&file, code, message)]);
    let is_toml = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => true,
        Some("json") => false,
        _ => {
            return one(
                "unknown_format",
                format!(
                    "{file}: unknown case file format (the file name must end in .toml or .json)"
                ),
            );
        }
    };
    match std::fs::metadata(path) {
        Err(e) => return one("io", format!("cannot read {file}: {e}")),
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            return one(
                "too_large",
                format!(
                    "{file} is {} bytes; case files are limited to {MAX_FILE_BYTES} bytes",
                    m.len()
                ),
            );
        }
        Ok(_) => {}
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return one("io", format!("cannot read {file}: {e}")),
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return one(
                "not_utf8",
                format!(
                    "{file} is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            );
        }
    };
    parse(&file, &text, is_toml, ids)
}

/// Reads and checks the text of a case file named `file`.
pub(crate) fn parse(
    file: &str,
    text: &str,
    is_toml: bool,
    ids: &PolicyIds,
) -> Result<Vec<Case>, Vec<CaseDiagnostic>> {
    let (file, text) = (file.to_owned(), text);
    let (root, spans) = if is_toml {
        match toml::from_str::<toml::Table>(text) {
            Ok(table) => (toml_to_json(toml::Value::Table(table)), SpanMap::toml(text)),
            Err(e) => {
                let location = e.span().map(|s| locate::locate(text, s));
                let message = e.message().trim().to_owned();
                return Err(vec![syntax(&file, text, "TOML", message, location)]);
            }
        }
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => (v, SpanMap::json(text)),
            Err(e) => {
                let location = locate::from_message(text, &e.to_string());
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m)
                    .to_owned();
                return Err(vec![syntax(&file, text, "JSON", message, location)]);
            }
        }
    };
    let mut reader = Reader {
        file: &file,
        text,
        spans: &spans,
        ids,
        case: None,
        diagnostics: Vec::new(),
        omitted: 0,
    };
    let cases = reader.file(&root);
    if reader.diagnostics.is_empty() {
        Ok(cases)
    } else {
        if reader.omitted > 0 {
            let more = reader.omitted;
            reader.diagnostics.push(CaseDiagnostic::file_level(
                &file,
                "too_many",
                format!("… and {more} more problems in {file}"),
            ));
        }
        Err(reader.diagnostics)
    }
}

fn syntax(
    file: &str,
    text: &str,
    format: &str,
    message: String,
    location: Option<Location>,
) -> CaseDiagnostic {
    CaseDiagnostic {
        file: file.to_owned(),
        code: "syntax",
        message: format!("not valid {format}: {message}"),
        path: String::new(),
        case: None,
        help: None,
        location: location.as_ref().map(|l| LineColumn {
            line: l.line,
            column: l.column,
        }),
        excerpt: location.as_ref().map(|l| locate::excerpt(text, l)),
    }
}

/// TOML values as JSON values: datetimes become their RFC 3339 text.
fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(f.to_string())),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// The JSON type name of a value, for messages.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table/object",
    }
}

/// Walks a case file's value tree, collecting diagnostics.
struct Reader<'a> {
    file: &'a str,
    text: &'a str,
    spans: &'a SpanMap,
    ids: &'a PolicyIds,
    /// The name of the case being read, for diagnostics.
    case: Option<String>,
    diagnostics: Vec<CaseDiagnostic>,
    omitted: usize,
}

impl Reader<'_> {
    fn location(&self, path: &str) -> Option<Location> {
        self.spans.find(path).map(|s| locate::locate(self.text, s))
    }

    fn report(&mut self, code: &'static str, path: &str, message: String, help: Option<String>) {
        if self.diagnostics.len() >= MAX_DIAGNOSTICS {
            self.omitted += 1;
            return;
        }
        let location = self.location(path);
        self.diagnostics.push(CaseDiagnostic {
            file: self.file.to_owned(),
            code,
            message,
            path: path.to_owned(),
            case: self.case.clone(),
            help,
            location: location.as_ref().map(|l| LineColumn {
                line: l.line,
                column: l.column,
            }),
            excerpt: location.as_ref().map(|l| locate::excerpt(self.text, l)),
        });
    }

    fn wrong_type(&mut self, path: &str, want: &str, got: &Value) {
        self.report(
            "wrong_type",
            path,
            format!("`{}` must be {want}, not {}", leaf(path), type_name(got)),
            None,
        );
    }

    /// Reports keys of `map` not in `known` (with the closest known key).
    fn unknown_keys(&mut self, map: &Map<String, Value>, known: &[&str], path: &str, what: &str) {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                let help = did_you_mean(key, known.iter().copied())
                    .map(|k| format!("did you mean `{k}`?"))
                    .or_else(|| Some(format!("{what} keys are: {}", known.join(", "))));
                self.report(
                    "unknown_key",
                    &join(path, key),
                    format!("unknown {what} key `{key}`"),
                    help,
                );
            }
        }
    }

    fn object<'v>(&mut self, v: &'v Value, path: &str) -> Option<&'v Map<String, Value>> {
        match v {
            Value::Object(m) => Some(m),
            other => {
                self.wrong_type(path, "a table/object", other);
                None
            }
        }
    }

    fn string(&mut self, v: &Value, path: &str) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(path, "a string", other);
                None
            }
        }
    }

    fn bool(&mut self, v: &Value, path: &str) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong_type(path, "true or false", other);
                None
            }
        }
    }

    fn strings(&mut self, v: &Value, path: &str) -> Option<Vec<String>> {
        let Value::Array(items) = v else {
            self.wrong_type(path, "an array of strings", v);
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            out.push(self.string(item, &format!("{path}[{i}]"))?);
        }
        Some(out)
    }

    /// A string or an array of strings.
    fn one_or_many(&mut self, v: &Value, path: &str) -> Option<Vec<String>> {
        match v {
            Value::String(s) => Some(vec![s.clone()]),
            Value::Array(_) => self.strings(v, path),
            other => {
                self.wrong_type(path, "a string or an array of strings", other);
                None
            }
        }
    }

    /// One of some words.
    fn word(&mut self, v: &Value, path: &str, words: &[&str]) -> Option<String> {
        let s = self.string(v, path)?;
        if words.contains(&s.as_str()) {
            return Some(s);
        }
        let help = did_you_mean(&s, words.iter().copied())
            .map(|w| format!("did you mean `{w}`?"))
            .or_else(|| Some(format!("one of: {}", words.join(", "))));
        self.report(
            "invalid_value",
            path,
            format!("`{s}` is not a valid `{}`", leaf(path)),
            help,
        );
        None
    }

    /// An id the policy defines (`kind`: owner, rule, pool).
    fn known_id(&mut self, id: &str, path: &str, kind: &str) -> bool {
        let ids = match kind {
            "owner" => &self.ids.owners,
            "rule" => &self.ids.rules,
            _ => &self.ids.pools,
        };
        if ids.iter().any(|i| i == id) {
            return true;
        }
        let help = did_you_mean(id, ids.iter().map(String::as_str))
            .map(|w| format!("did you mean `{w}`?"));
        self.report(
            "unknown_id",
            path,
            format!("the policy has no {kind} `{id}`"),
            help,
        );
        false
    }

    fn owner_ids(&mut self, v: &Value, path: &str, many: bool) -> Option<Vec<String>> {
        let ids = if many {
            self.one_or_many(v, path)?
        } else {
            vec![self.string(v, path)?]
        };
        let mut ok = true;
        for (i, id) in ids.iter().enumerate() {
            let p = if matches!(v, Value::Array(_)) {
                format!("{path}[{i}]")
            } else {
                path.to_owned()
            };
            ok &= self.known_id(id, &p, "owner");
        }
        ok.then_some(ids)
    }

    fn file(&mut self, root: &Value) -> Vec<Case> {
        let Some(map) = self.object(root, "") else {
            return Vec::new();
        };
        self.unknown_keys(map, FILE_KEYS, "", "case file");
        let defaults = match map.get("defaults") {
            None => Context::default(),
            Some(v) => match self.object(v, "defaults") {
                Some(m) => {
                    self.unknown_keys(m, CONTEXT_KEYS, "defaults", "defaults");
                    self.context(m, "defaults")
                }
                None => Context::default(),
            },
        };
        let Some(list) = map.get("cases") else {
            self.report(
                "missing_key",
                "",
                "the file has no cases (add `[[cases]]` tables in TOML, a `\"cases\": [...]` array in JSON)".to_owned(),
                None,
            );
            return Vec::new();
        };
        let Value::Array(items) = list else {
            self.wrong_type("cases", "an array of tables/objects", list);
            return Vec::new();
        };
        if items.len() > MAX_CASES {
            self.report(
                "too_many",
                "cases",
                format!("{} cases; a file holds at most {MAX_CASES}", items.len()),
                Some("split the cases over several files".to_owned()),
            );
            return Vec::new();
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut sequences: HashMap<String, usize> = HashMap::new();
        let mut cases = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("cases[{i}]");
            self.case = None;
            if let Some(case) = self.case(item, &path, &defaults) {
                if let Some(first) = names.insert(case.name.clone(), i) {
                    self.report(
                        "duplicate_case",
                        &join(&path, "name"),
                        format!(
                            "two cases are named `{}` (cases[{first}] and cases[{i}])",
                            case.name
                        ),
                        Some("case names identify results in reports: make them unique".to_owned()),
                    );
                }
                if let Some(seq) = &case.sequence {
                    let own_pools = item.get("pools").is_some();
                    match sequences.get(seq) {
                        Some(first) if own_pools => self.report(
                            "invalid_value",
                            &join(&path, "pools"),
                            format!(
                                "sequence `{seq}` started at cases[{first}]: its later cases carry on from the pool state before them and cannot set `pools`"
                            ),
                            Some("set `pools` on the first case of the sequence, or start a new sequence".to_owned()),
                        ),
                        Some(_) => {}
                        None => {
                            sequences.insert(seq.clone(), i);
                        }
                    }
                }
                cases.push(case);
            }
        }
        self.case = None;
        cases
    }

    fn case(&mut self, v: &Value, path: &str, defaults: &Context) -> Option<Case> {
        let map = self.object(v, path)?;
        // The name first, so that every later diagnostic can carry it.
        let name = match map.get("name") {
            Some(n) => self.string(n, &join(path, "name")),
            None => {
                self.report(
                    "missing_key",
                    path,
                    "a case needs a `name`".to_owned(),
                    None,
                );
                None
            }
        };
        self.case = name.clone();
        let known: Vec<&str> = CASE_KEYS.iter().chain(CONTEXT_KEYS).copied().collect();
        self.unknown_keys(map, &known, path, "case");
        let before = self.diagnostics.len() + self.omitted;
        let lead_json = match map.get("lead") {
            None => {
                self.report(
                    "missing_key",
                    path,
                    "a case needs a `lead`: the form payload to route".to_owned(),
                    None,
                );
                None
            }
            Some(lead) => self
                .object(lead, &join(path, "lead"))
                .map(|m| Value::Object(m.clone()).to_string()),
        };
        if let Some(d) = map.get("description") {
            self.string(d, &join(path, "description"));
        }
        let sequence = map
            .get("sequence")
            .and_then(|s| self.string(s, &join(path, "sequence")));
        let context = self.context(map, path).or(defaults);
        let expect = match map.get("expect") {
            None => {
                self.report(
                    "missing_key",
                    path,
                    "a case needs an `expect` table: what the decision must be".to_owned(),
                    Some(format!("expectation keys are: {}", EXPECT_KEYS.join(", "))),
                );
                None
            }
            Some(e) => self.expect(e, &join(path, "expect"), map.get("lead")),
        };
        let clean = self.diagnostics.len() + self.omitted == before;
        let location = self.location(path).map(|l| LineColumn {
            line: l.line,
            column: l.column,
        });
        match (name, lead_json, expect, clean) {
            (Some(name), Some(lead_json), Some(expect), true) => Some(Case {
                name,
                lead_json,
                context,
                sequence,
                expect,
                location,
            }),
            _ => None,
        }
    }

    /// The context keys of a case (or of `defaults`).
    fn context(&mut self, map: &Map<String, Value>, path: &str) -> Context {
        let mut ctx = Context::default();
        if let Some(v) = map.get("account") {
            let p = join(path, "account");
            if let Some(m) = self.object(v, &p) {
                self.unknown_keys(m, ACCOUNT_KEYS, &p, "account");
                // The owner is not checked against the policy: an account
                // owned by a CRM user the policy does not know is a real
                // case to test (`owner_active` is false for it).
                let mut m = m.clone();
                m.entry("id")
                    .or_insert_with(|| Value::String("test-account".to_owned()));
                match serde_json::from_value::<Account>(Value::Object(m)) {
                    Ok(a) => ctx.account = Some(a),
                    Err(e) => self.report("wrong_type", &p, format!("not an account: {e}"), None),
                }
            }
        }
        if let Some(v) = map.get("contact") {
            let p = join(path, "contact");
            if let Some(m) = self.object(v, &p) {
                self.unknown_keys(m, CONTACT_KEYS, &p, "contact");
                let mut m = m.clone();
                m.entry("id")
                    .or_insert_with(|| Value::String("test-contact".to_owned()));
                match serde_json::from_value::<Contact>(Value::Object(m)) {
                    Ok(c) => ctx.contact = Some(c),
                    Err(e) => self.report("wrong_type", &p, format!("not a contact: {e}"), None),
                }
            }
        }
        for (key, slot) in [
            ("account_lookup", &mut ctx.account_lookup),
            ("person_lookup", &mut ctx.person_lookup),
        ] {
            if let Some(v) = map.get(key) {
                let p = join(path, key);
                *slot = self
                    .word(v, &p, LOOKUPS)
                    .and_then(|w| serde_json::from_value(Value::String(w)).ok());
            }
        }
        if let Some(v) = map.get("away") {
            ctx.away = self.owner_ids(v, &join(path, "away"), true);
        }
        if let Some(v) = map.get("open_leads") {
            ctx.open_leads = self.open_leads(v, &join(path, "open_leads"));
        }
        if let Some(v) = map.get("now") {
            ctx.now = self.time(v, &join(path, "now"));
        }
        if let Some(v) = map.get("pools") {
            ctx.pools = self.pool_states(v, &join(path, "pools"));
        }
        ctx
    }

    /// Prior pool state: `{pool: {version, members: {owner: {current,
    /// assigned, period, in_period}}, recent: [{lead_id, owner}]}}`, every
    /// key optional (zero, empty), pools and owners checked against the
    /// policy.
    fn pool_states(&mut self, v: &Value, path: &str) -> Option<PoolStates> {
        let pools = self.object(v, path)?;
        let before = self.diagnostics.len() + self.omitted;
        let mut full = Map::new();
        for (pool, state) in pools {
            let p = join(path, pool);
            self.known_id(pool, &p, "pool");
            let Some(state) = self.object(state, &p) else {
                continue;
            };
            self.unknown_keys(state, POOL_STATE_KEYS, &p, "pool state");
            let mut members = Map::new();
            if let Some(m) = state.get("members") {
                let mp = join(&p, "members");
                if let Some(m) = self.object(m, &mp) {
                    for (owner, counters) in m {
                        let op = join(&mp, owner);
                        self.known_id(owner, &op, "owner");
                        let Some(c) = self.object(counters, &op) else {
                            continue;
                        };
                        self.unknown_keys(c, MEMBER_STATE_KEYS, &op, "member state");
                        let mut c = c.clone();
                        for key in MEMBER_STATE_KEYS {
                            c.entry(*key).or_insert(Value::from(0));
                        }
                        members.insert(owner.clone(), Value::Object(c));
                    }
                }
            }
            let mut full_state = state.clone();
            full_state.insert("members".to_owned(), Value::Object(members));
            full_state.entry("version").or_insert(Value::from(0));
            full_state
                .entry("recent")
                .or_insert(Value::Array(Vec::new()));
            full.insert(pool.clone(), Value::Object(full_state));
        }
        if self.diagnostics.len() + self.omitted > before {
            return None;
        }
        match serde_json::from_value::<PoolStates>(Value::Object(full)) {
            Ok(states) => Some(states),
            Err(e) => {
                self.report(
                    "wrong_type",
                    path,
                    format!("not a pool state: {e}"),
                    Some("counters are whole numbers (`current` may be negative); `recent` is [{ lead_id = \"…\", owner = \"…\" }]".to_owned()),
                );
                None
            }
        }
    }

    /// Open leads per owner: `{owner: count}`, owners checked against the
    /// policy, counts whole numbers up to `u32::MAX`.
    fn open_leads(&mut self, v: &Value, path: &str) -> Option<Vec<(String, u32)>> {
        let counts = self.object(v, path)?;
        let mut out = Vec::with_capacity(counts.len());
        let mut ok = true;
        for (owner, n) in counts {
            let p = join(path, owner);
            ok &= self.known_id(owner, &p, "owner");
            match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => out.push((owner.clone(), n)),
                None => {
                    self.wrong_type(&p, "a whole number of open leads (0 to 4294967295)", n);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// Seconds since the Unix epoch, or an RFC 3339 time with an offset.
    fn time(&mut self, v: &Value, path: &str) -> Option<u64> {
        match v {
            Value::Number(n) => match n.as_u64() {
                Some(s) => Some(s),
                None => {
                    self.report(
                        "invalid_value",
                        path,
                        format!("`now` = {n} is not a whole number of seconds since 1970"),
                        None,
                    );
                    None
                }
            },
            Value::String(s) => match parse_rfc3339(s) {
                Ok(secs) => Some(secs),
                Err(why) => {
                    self.report(
                        "invalid_value",
                        path,
                        format!("`now` = {s:?}: {why}"),
                        Some("write seconds since 1970 (1700000000) or an RFC 3339 time with an offset (2026-11-24T09:30:00Z)".to_owned()),
                    );
                    None
                }
            },
            other => {
                self.wrong_type(path, "seconds since 1970 or an RFC 3339 time", other);
                None
            }
        }
    }

    fn expect(&mut self, v: &Value, path: &str, lead: Option<&Value>) -> Option<Expect> {
        let map = self.object(v, path)?;
        self.unknown_keys(map, EXPECT_KEYS, path, "expectation");
        if map.is_empty() {
            self.report(
                "missing_key",
                path,
                "`expect` is empty: a case must expect something".to_owned(),
                Some(format!("expectation keys are: {}", EXPECT_KEYS.join(", "))),
            );
            return None;
        }
        let mut e = Expect::default();
        let p = |k: &str| join(path, k);
        if let Some(v) = map.get("owner") {
            e.owner = self
                .owner_ids(v, &p("owner"), false)
                .and_then(|mut v| v.pop());
        }
        if let Some(v) = map.get("owner_one_of") {
            e.owner_one_of = self.owner_ids(v, &p("owner_one_of"), true);
        }
        if let Some(v) = map.get("not_owner") {
            e.not_owner = self.owner_ids(v, &p("not_owner"), true).unwrap_or_default();
        }
        if let Some(v) = map.get("meeting_with") {
            e.meeting_with = self
                .owner_ids(v, &p("meeting_with"), false)
                .and_then(|mut v| v.pop());
        }
        if let Some(v) = map.get("assigned") {
            e.assigned = self.bool(v, &p("assigned"));
        }
        if let Some(v) = map.get("rule") {
            let path = p("rule");
            e.rule = self
                .string(v, &path)
                .filter(|r| self.known_id(r, &path, "rule"));
        }
        if let Some(v) = map.get("fallback") {
            e.fallback = self.bool(v, &p("fallback"));
        }
        if let Some(v) = map.get("pool") {
            let path = p("pool");
            e.pool = self
                .string(v, &path)
                .filter(|r| self.known_id(r, &path, "pool"));
        }
        if let Some(v) = map.get("experience") {
            e.experience = self.word(v, &p("experience"), EXPERIENCES);
        }
        if let Some(v) = map.get("tags") {
            e.tags = self.strings(v, &p("tags"));
        }
        if let Some(v) = map.get("tags_include") {
            e.tags_include = self.one_or_many(v, &p("tags_include")).unwrap_or_default();
        }
        if let Some(v) = map.get("priority") {
            e.priority = self
                .word(v, &p("priority"), PRIORITIES)
                .and_then(|w| serde_json::from_value(Value::String(w)).ok());
        }
        if let Some(v) = map.get("sla_minutes") {
            match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => e.sla_minutes = Some(n),
                None => self.wrong_type(&p("sla_minutes"), "a whole number of minutes", v),
            }
        }
        if let Some(v) = map.get("owner_unavailable") {
            e.owner_unavailable = self
                .word(v, &p("owner_unavailable"), OWNER_UNAVAILABLE)
                .map(|w| match w.as_str() {
                    "off_shift" => Some(Unavailable::OffShift),
                    "away" => Some(Unavailable::Away),
                    _ => None,
                });
        }
        if let Some(v) = map.get("write_to_crm") {
            e.write_to_crm = self.bool(v, &p("write_to_crm"));
        }
        if let Some(v) = map.get("explanation_contains") {
            e.explanation_contains = self
                .one_or_many(v, &p("explanation_contains"))
                .unwrap_or_default();
        }
        if let Some(v) = map.get("rotation") {
            let path = p("rotation");
            if let Some(owners) = self.owner_ids(v, &path, true) {
                if owners.is_empty() || owners.len() > MAX_ROTATION {
                    self.report(
                        "invalid_value",
                        &path,
                        format!(
                            "`rotation` lists {} owners; give 1 to {MAX_ROTATION}",
                            owners.len()
                        ),
                        None,
                    );
                } else if owners.len() > 1 && lead.is_some_and(has_lead_id) {
                    self.report(
                        "invalid_value",
                        &path,
                        "`rotation` routes the same lead several times, but the lead has a lead id: every route after the first would replay the first assignment".to_owned(),
                        Some("remove `lead_id`/`id`/`submission_id` from the lead, or use one case per lead in a `sequence`".to_owned()),
                    );
                } else {
                    e.rotation = Some(owners);
                }
            }
        }
        if let (Some(owner), Some(one_of)) = (&e.owner, &e.owner_one_of) {
            if !one_of.contains(owner) {
                self.report(
                    "invalid_value",
                    &p("owner_one_of"),
                    format!(
                        "`owner` = `{owner}` is not in `owner_one_of`: the case can never pass"
                    ),
                    None,
                );
            }
        }
        let set: BTreeSet<&String> = e.not_owner.iter().collect();
        if let Some(owner) = e.owner.as_ref().filter(|o| set.contains(o)) {
            self.report(
                "invalid_value",
                &p("not_owner"),
                format!("`{owner}` is both `owner` and `not_owner`: the case can never pass"),
                None,
            );
        }
        Some(e)
    }
}

/// Whether a lead payload carries a lead id (under any name the normalizer
/// accepts for it).
fn has_lead_id(lead: &Value) -> bool {
    let Value::Object(m) = lead else { return false };
    m.iter().any(|(k, v)| {
        let folded: String = k
            .chars()
            .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        matches!(folded.as_str(), "leadid" | "id" | "submissionid") && !v.is_null()
    })
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The last key of a path: `cases[0].expect.owner` → `owner`.
fn leaf(path: &str) -> &str {
    let end = path
        .rfind('[')
        .filter(|_| path.ends_with(']'))
        .map_or(path, |i| path.get(..i).unwrap_or(path));
    end.rsplit('.').next().unwrap_or(end)
}

pub(crate) use crate::timestamp::parse_rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20+01:00"),
            Ok(1_700_000_000)
        );
        assert_eq!(parse_rfc3339("2023-11-14 22:13:20.999z"), Ok(1_700_000_000));
        assert_eq!(parse_rfc3339("2024-02-29T00:00:00Z"), Ok(1_709_164_800));
        assert!(parse_rfc3339("2023-02-29T00:00:00Z").is_err());
        assert!(
            parse_rfc3339("2023-11-14T22:13:20")
                .unwrap_err()
                .contains("offset")
        );
        assert!(parse_rfc3339("1969-12-31T23:59:59Z").is_err());
        assert!(parse_rfc3339("yesterday").is_err());
        assert!(parse_rfc3339("2023-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn leaves_of_paths() {
        assert_eq!(leaf("cases[0].expect.owner"), "owner");
        assert_eq!(leaf("cases[0].away[1]"), "away");
        assert_eq!(leaf("now"), "now");
    }

    fn ids() -> PolicyIds {
        PolicyIds {
            owners: vec!["ana".into(), "bob".into()],
            rules: vec!["us".into()],
            pools: vec!["team".into()],
        }
    }

    /// Any JSON value, a few levels deep, with the keys a case file uses.
    fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let keys = prop::sample::select(
            [
                CASE_KEYS,
                CONTEXT_KEYS,
                EXPECT_KEYS,
                ACCOUNT_KEYS,
                &["x", "members", "recent", "version", "current"],
            ]
            .concat(),
        );
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[a-z0-9 :TZ+-]{0,24}".prop_map(Value::String),
            prop::sample::select(vec![
                "ana",
                "bob",
                "us",
                "team",
                "2026-11-24T09:30:00Z",
                "found"
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(keys.clone(), inner, 0..6).prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    proptest::proptest! {
        /// Whatever a case file holds, reading it never panics: it gives
        /// cases, or diagnostics that each name the file and say what.
        #[test]
        fn any_case_file_reads_or_is_diagnosed(cases in proptest::collection::vec(any_value(), 0..4), defaults in any_value()) {
            let doc = serde_json::json!({"defaults": defaults, "cases": cases});
            let text = serde_json::to_string_pretty(&doc).unwrap();
            match parse("c.json", &text, false, &ids()) {
                Ok(read) => proptest::prop_assert_eq!(read.len(), cases.len()),
                Err(diags) => {
                    proptest::prop_assert!(!diags.is_empty());
                    for d in diags {
                        proptest::prop_assert_eq!(&d.file, "c.json");
                        proptest::prop_assert!(!d.message.is_empty());
                    }
                }
            }
        }
    }

    #[test]
    fn a_minimal_case_reads() {
        let text = "[[cases]]\nname = \"n\"\nlead = { email = \"a@b.io\" }\nexpect = { owner = \"ana\" }\n";
        let cases = parse("c.toml", text, true, &ids()).unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].name, "n");
        assert_eq!(cases[0].lead_json, r#"{"email":"a@b.io"}"#);
        assert_eq!(cases[0].expect.owner.as_deref(), Some("ana"));
        assert_eq!(cases[0].location.map(|l| l.line), Some(1));
    }

    #[test]
    fn lead_ids_under_any_name() {
        assert!(has_lead_id(&serde_json::json!({"Lead ID": "x"})));
        assert!(has_lead_id(&serde_json::json!({"submissionId": 3})));
        assert!(!has_lead_id(
            &serde_json::json!({"email": "a@b.co", "id": null})
        ));
    }
}
