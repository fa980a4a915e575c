//! A linear pre-scan of TOML text that enforces the nesting and length
//! limits of [`PolicyLimits`] **before** the `toml` crate builds anything.
//!
//! The `toml` crate parses a whole document into its own tables before
//! serde sees a value, so the checks of the reader's visitor (which stop a
//! JSON list at its limit-plus-first item) come too late for TOML: a list
//! of a million values cost 371 MB and 21 s before it was refused. This
//! scan walks the tokens of `toml_parser`'s lexer (the lexer the `toml`
//! crate itself uses) once, in constant memory per nesting level, and
//! stops at the first limit exceeded:
//!
//! - **nesting**: every table (from a `[header]`, a dotted key or an inline
//!   `{…}`), array and array of tables is one level, counted as the reader
//!   counts them (the document is level 0);
//! - **items** in one array (`[…]` values and `[[header]]` tables; a
//!   top-level `rules` against `max_rules`, every other list against
//!   `max_list_len`);
//! - **keys** in one table, wherever they are written (key/value lines,
//!   dotted keys, sub-table headers), against `max_list_len`.
//!
//! Keys are told apart by a 64-bit hash of their path, so the scan keeps
//! one number per distinct key, never the keys themselves. A collision can
//! only make it count too few, never refuse a valid document; the exact
//! check while reading still runs after it. The scan does not validate the
//! syntax: on malformed text it may stop at a limit or find nothing, and
//! the parser reports the syntax error.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use toml_parser::Source;
use toml_parser::lexer::{Token, TokenKind};

use crate::policy::limits::PolicyLimits;

/// One step of the path to where a limit was exceeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// The first limit the text exceeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Exceeded {
    /// The container that is too big or too deep.
    pub(crate) path: Vec<Step>,
    /// What was found, as the reader words it ("more than 10 items").
    pub(crate) found: String,
    /// The `PolicyLimits` field.
    pub(crate) limit: &'static str,
    pub(crate) max: usize,
    /// Byte offset of the token that went over the limit.
    pub(crate) offset: usize,
}

/// Scans `text`; `max_depth` is the effective nesting limit.
pub(crate) fn scan(text: &str, limits: &PolicyLimits, max_depth: usize) -> Result<(), Exceeded> {
    let source = Source::new(text);
    let mut scan = Scan {
        source,
        limits,
        max_depth,
        seen: HashSet::new(),
        keys: HashMap::new(),
        tables_in: HashMap::new(),
        section: Section {
            id: ROOT,
            depth: 0,
            path_len: 0,
        },
        path: Vec::new(),
        frames: Vec::new(),
        state: State::LineStart,
        parts: Vec::new(),
        pending: None,
        offset: 0,
    };
    // The document itself is a table, at level 0.
    scan.enter(0)?;
    let mut tokens = source.lex().peekable();
    while let Some(token) = tokens.next() {
        scan.offset = token.span().start();
        let next_is_bracket = tokens
            .peek()
            .is_some_and(|t| t.kind() == TokenKind::LeftSquareBracket);
        scan.token(token, next_is_bracket)?;
    }
    Ok(())
}

const ROOT: u64 = 0;

/// The table the current `[header]` opened.
#[derive(Debug, Clone, Copy)]
struct Section {
    id: u64,
    depth: usize,
    /// Length of `Scan::path` that is the section's path.
    path_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Top level, at the start of a line.
    LineStart,
    /// Reading a `[header]`'s keys (`array` for `[[…]]`, whose second `[`
    /// is still to `skip`).
    Header {
        array: bool,
        skip: bool,
        start: usize,
    },
    /// Reading a key (top level or in an inline table), up to `=`.
    Key,
    /// After `=` (or in an array): a value is next.
    Value,
    /// After a value: waiting for the end of the line, `,`, `]` or `}`.
    After,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An inline array; `in_item` while inside an item's tokens.
    Array { items: usize, in_item: bool },
    /// An inline table.
    Table,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    kind: Kind,
    id: u64,
    depth: usize,
    /// Length of `Scan::path` that is this container's path.
    path_len: usize,
}

struct Scan<'t, 'l> {
    source: Source<'t>,
    limits: &'l PolicyLimits,
    max_depth: usize,
    /// Ids of every key path seen, so a key written twice (`a.b`, `a.c`)
    /// counts once in its table.
    seen: HashSet<u64>,
    /// Keys per table id.
    keys: HashMap<u64, usize>,
    /// Tables per array-of-tables id.
    tables_in: HashMap<u64, usize>,
    section: Section,
    /// The path of the innermost container (plus, while reading a key's
    /// value, that key).
    path: Vec<Step>,
    frames: Vec<Frame>,
    state: State,
    /// The parts of the key or header being read.
    parts: Vec<String>,
    /// The id and value depth of the key whose value comes next.
    pending: Option<(u64, usize)>,
    offset: usize,
}

fn child_id(parent: u64, step: &Step) -> u64 {
    let mut h = DefaultHasher::new();
    parent.hash(&mut h);
    step.hash(&mut h);
    // 0 is the document itself.
    h.finish().max(1)
}

impl Hash for Step {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            Step::Key(k) => {
                0u8.hash(h);
                k.hash(h);
            }
            Step::Index(i) => {
                1u8.hash(h);
                i.hash(h);
            }
        }
    }
}

fn is_key_token(kind: TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Atom
            | TokenKind::BasicString
            | TokenKind::LiteralString
            | TokenKind::MlBasicString
            | TokenKind::MlLiteralString
    )
}

impl Scan<'_, '_> {
    fn exceeded(&self, found: String, limit: &'static str, max: usize) -> Exceeded {
        Exceeded {
            path: self.path.clone(),
            found,
            limit,
            max,
            offset: self.offset,
        }
    }

    /// A container at `depth` (the document is 0) is entered.
    fn enter(&self, depth: usize) -> Result<(), Exceeded> {
        if depth >= self.max_depth {
            return Err(self.exceeded(
                format!("nested more than {} levels deep", self.max_depth),
                "max_depth",
                self.max_depth,
            ));
        }
        Ok(())
    }

    /// The limit on items of the list at the current path.
    fn max_items(&self) -> (usize, &'static str) {
        match self.path.as_slice() {
            [Step::Key(k)] if k == "rules" => (self.limits.max_rules, "max_rules"),
            _ => (self.limits.max_list_len, "max_list_len"),
        }
    }

    /// Adds `key` to the table `table` (whose path is `self.path`), counting
    /// it once; returns the key's id.
    fn key(&mut self, table: u64, key: &str) -> Result<u64, Exceeded> {
        let id = child_id(table, &Step::Key(key.to_owned()));
        if self.seen.insert(id) {
            let n = self.keys.entry(table).or_insert(0);
            *n += 1;
            if *n > self.limits.max_list_len {
                let max = self.limits.max_list_len;
                return Err(self.exceeded(format!("more than {max} keys"), "max_list_len", max));
            }
        }
        Ok(id)
    }

    /// Follows the key `parts` from the table `id` at `depth`, pushing each
    /// onto the path: every part but the last is a table one level deeper.
    /// Returns the id of the last key and the depth of its value.
    fn dotted(&mut self, mut id: u64, mut depth: usize) -> Result<(u64, usize), Exceeded> {
        let parts = std::mem::take(&mut self.parts);
        let n = parts.len();
        for (i, part) in parts.into_iter().enumerate() {
            id = self.key(id, &part)?;
            self.path.push(Step::Key(part));
            depth += 1;
            if i + 1 < n {
                self.enter(depth)?;
                // A key that names an array of tables continues in its last table.
                if let Some(&count) = self.tables_in.get(&id) {
                    let index = count.saturating_sub(1);
                    id = child_id(id, &Step::Index(index));
                    self.path.push(Step::Index(index));
                    depth += 1;
                    self.enter(depth)?;
                }
            }
        }
        Ok((id, depth))
    }

    /// A `[header]` or `[[header]]` that began at `start` is complete
    /// (a limit it exceeds is reported at its start).
    fn header(&mut self, array: bool, start: usize) -> Result<(), Exceeded> {
        self.offset = start;
        self.path.clear();
        let parts = std::mem::take(&mut self.parts);
        let n = parts.len();
        let (mut id, mut depth) = (ROOT, 0);
        for (i, part) in parts.into_iter().enumerate() {
            id = self.key(id, &part)?;
            self.path.push(Step::Key(part));
            depth += 1;
            self.enter(depth)?;
            let last = i + 1 == n;
            let count = if last && array {
                let count = self.tables_in.entry(id).or_insert(0);
                *count += 1;
                let count = *count;
                let (max, limit) = self.max_items();
                if count > max {
                    return Err(self.exceeded(format!("more than {max} items"), limit, max));
                }
                Some(count)
            } else {
                self.tables_in.get(&id).copied()
            };
            if let Some(count) = count {
                let index = count - 1;
                id = child_id(id, &Step::Index(index));
                self.path.push(Step::Index(index));
                depth += 1;
                self.enter(depth)?;
            }
        }
        self.section = Section {
            id,
            depth,
            path_len: self.path.len(),
        };
        Ok(())
    }

    /// A `[` or `{` opening a value at `depth`, whose path is `self.path`.
    fn open(&mut self, kind: TokenKind, id: u64, depth: usize) -> Result<(), Exceeded> {
        self.enter(depth)?;
        let kind = if kind == TokenKind::LeftSquareBracket {
            self.state = State::Value;
            Kind::Array {
                items: 0,
                in_item: false,
            }
        } else {
            self.state = State::Key;
            Kind::Table
        };
        self.frames.push(Frame {
            kind,
            id,
            depth,
            path_len: self.path.len(),
        });
        Ok(())
    }

    /// The innermost container closed: back to its parent.
    fn close(&mut self) {
        self.frames.pop();
        match self.frames.last_mut() {
            Some(parent) => {
                self.path.truncate(parent.path_len);
                if let Kind::Array { in_item, .. } = &mut parent.kind {
                    *in_item = true;
                    self.state = State::Value;
                } else {
                    self.state = State::After;
                }
            }
            None => self.state = State::After,
        }
    }

    fn token(&mut self, token: Token, next_is_bracket: bool) -> Result<(), Exceeded> {
        let kind = token.kind();
        if matches!(kind, TokenKind::Whitespace | TokenKind::Comment) {
            return Ok(());
        }
        match self.frames.last().copied() {
            None => self.top_level(token, next_is_bracket),
            Some(frame) => match frame.kind {
                Kind::Array { items, in_item } => self.in_array(token, frame, items, in_item),
                Kind::Table => self.in_table(token, frame),
            },
        }
    }

    fn key_text(&self, token: Token) -> String {
        let mut out = String::new();
        if let Some(raw) = self.source.get(token) {
            if token.kind() == TokenKind::Atom {
                out.push_str(raw.as_str());
            } else {
                raw.decode_key(&mut out, &mut ());
            }
        }
        out
    }

    fn top_level(&mut self, token: Token, next_is_bracket: bool) -> Result<(), Exceeded> {
        let kind = token.kind();
        if kind == TokenKind::Newline {
            // (An unclosed header or key is the parser's to report.)
            self.parts.clear();
            self.pending = None;
            self.path.truncate(self.section.path_len);
            self.state = State::LineStart;
            return Ok(());
        }
        match self.state {
            State::LineStart => {
                if kind == TokenKind::LeftSquareBracket {
                    self.state = State::Header {
                        array: next_is_bracket,
                        skip: next_is_bracket,
                        start: self.offset,
                    };
                } else if is_key_token(kind) {
                    self.parts.push(self.key_text(token));
                    self.state = State::Key;
                }
            }
            State::Header { array, skip, start } => {
                if skip {
                    // The second `[` of `[[`.
                    self.state = State::Header {
                        array,
                        skip: false,
                        start,
                    };
                } else if is_key_token(kind) {
                    self.parts.push(self.key_text(token));
                } else if kind == TokenKind::RightSquareBracket {
                    if !self.parts.is_empty() {
                        self.header(array, start)?;
                    }
                    self.state = State::After;
                }
            }
            State::Key => {
                if is_key_token(kind) {
                    self.parts.push(self.key_text(token));
                } else if kind == TokenKind::Equals {
                    self.path.truncate(self.section.path_len);
                    let (id, depth) = self.dotted(self.section.id, self.section.depth)?;
                    self.state = State::Value;
                    self.pending = Some((id, depth));
                }
            }
            State::Value => {
                let (id, depth) = self.pending.take().unwrap_or((ROOT, 0));
                if matches!(
                    kind,
                    TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket
                ) {
                    self.open(kind, id, depth)?;
                } else {
                    self.state = State::After;
                }
            }
            State::After => {}
        }
        Ok(())
    }

    fn in_array(
        &mut self,
        token: Token,
        frame: Frame,
        items: usize,
        in_item: bool,
    ) -> Result<(), Exceeded> {
        let kind = token.kind();
        match kind {
            TokenKind::Newline => {}
            TokenKind::Comma => self.set_in_item(false),
            TokenKind::RightSquareBracket => self.close(),
            _ if !in_item && (is_key_token(kind) || is_open(kind)) => {
                let (max, limit) = self.max_items();
                if items + 1 > max {
                    return Err(self.exceeded(format!("more than {max} items"), limit, max));
                }
                if let Some(Frame {
                    kind: Kind::Array { items, in_item },
                    ..
                }) = self.frames.last_mut()
                {
                    *items += 1;
                    *in_item = true;
                }
                if is_open(kind) {
                    let step = Step::Index(items);
                    let id = child_id(frame.id, &step);
                    self.path.push(step);
                    self.open(kind, id, frame.depth + 1)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn set_in_item(&mut self, value: bool) {
        if let Some(Frame {
            kind: Kind::Array { in_item, .. },
            ..
        }) = self.frames.last_mut()
        {
            *in_item = value;
        }
    }

    fn in_table(&mut self, token: Token, frame: Frame) -> Result<(), Exceeded> {
        let kind = token.kind();
        if kind == TokenKind::Newline {
            return Ok(());
        }
        if kind == TokenKind::RightCurlyBracket {
            self.parts.clear();
            self.close();
            return Ok(());
        }
        match self.state {
            State::Key | State::LineStart | State::Header { .. } => {
                if is_key_token(kind) {
                    self.parts.push(self.key_text(token));
                    self.state = State::Key;
                } else if kind == TokenKind::Equals {
                    self.path.truncate(frame.path_len);
                    let (id, depth) = self.dotted(frame.id, frame.depth)?;
                    self.pending = Some((id, depth));
                    self.state = State::Value;
                }
            }
            State::Value => {
                let (id, depth) = self.pending.take().unwrap_or((frame.id, frame.depth));
                if is_open(kind) {
                    self.open(kind, id, depth)?;
                } else {
                    self.state = State::After;
                }
            }
            State::After => {
                if kind == TokenKind::Comma {
                    self.path.truncate(frame.path_len);
                    self.state = State::Key;
                }
            }
        }
        Ok(())
    }
}

fn is_open(kind: TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::LeftSquareBracket | TokenKind::LeftCurlyBracket
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::super::toml_node;
    use super::*;

    fn limits(list: usize, depth: usize, rules: usize) -> PolicyLimits {
        PolicyLimits {
            max_list_len: list,
            max_depth: depth,
            max_rules: rules,
            ..PolicyLimits::default()
        }
    }

    fn scan_with(text: &str, l: &PolicyLimits) -> Result<(), Exceeded> {
        scan(text, l, l.max_depth)
    }

    fn path(x: &Exceeded) -> String {
        x.path
            .iter()
            .map(|s| match s {
                Step::Key(k) => format!(".{k}"),
                Step::Index(i) => format!("[{i}]"),
            })
            .collect()
    }

    #[test]
    fn each_kind_of_container_is_counted_where_it_is_written() {
        let l = limits(3, 64, 2);
        let cases: &[(&str, &str, &str)] = &[
            // An inline array, its fourth item.
            ("a = [1, 2, 3, 4]", ".a", "max_list_len"),
            (
                "a = [1, 2, 3,]\nb = [[1], [2], [3], [4]]",
                ".b",
                "max_list_len",
            ),
            ("a = [[1, 2, 3, 4]]", ".a[0]", "max_list_len"),
            // Keys of an inline table, of a section, of the document.
            ("t = {a = 1, b = 2, c = 3, d = 4}", ".t", "max_list_len"),
            ("[t]\na = 1\nb = 2\nc = 3\nd = 4", ".t", "max_list_len"),
            ("a = 1\nb = 2\nc = 3\nd = 4", "", "max_list_len"),
            // Keys added by dotted keys and by sub-table headers.
            ("t.a = 1\nt.b = 2\nt.c = 3\nt.d = 4", ".t", "max_list_len"),
            ("[t.a]\n[t.b]\n[t.c]\n[t.d]", ".t", "max_list_len"),
            // Arrays of tables: `rules` against max_rules.
            ("[[rules]]\n[[rules]]\n[[rules]]", ".rules", "max_rules"),
            ("rules = [{}, {}, {}]", ".rules", "max_rules"),
            ("[[o]]\n[[o]]\n[[o]]\n[[o]]", ".o", "max_list_len"),
            // A table inside the latest table of an array of tables.
            (
                "[[o]]\n[[o]]\n[o.t]\na = 1\nb = 2\nc = 3\nd = 4",
                ".o[1].t",
                "max_list_len",
            ),
            ("[[o]]\nx = {a = [1, 2, 3, 4]}", ".o[0].x.a", "max_list_len"),
        ];
        for (text, want, limit) in cases {
            let x = scan_with(text, &l).expect_err(text);
            assert_eq!(path(&x), *want, "{text}");
            assert_eq!(x.limit, *limit, "{text}");
            assert!(toml_node(text, &l).is_err(), "the reader agrees: {text}");
        }
        // Within the limits, including keys written twice and comments.
        for text in [
            "a = [1, 2, 3]",
            "t.a = 1\nt.a.b = 2\nt.b = 3",
            "[[rules]]\n[[rules]]\n[rules.x]\na = 1",
            "s = \"[[[{{{,,,\" # [ [ [\nx = ['}', ']']",
            "a = [\n  1, # one\n  2,\n]",
            "d = 1979-05-27T07:32:00Z\nf = [1.5, 2e3, -inf]",
        ] {
            assert_eq!(scan_with(text, &l), Ok(()), "{text}");
        }
    }

    #[test]
    fn nesting_counts_every_level_as_the_reader_does() {
        let l = limits(100, 3, 100);
        // The document is level 0: three more levels are too many.
        for text in [
            "a = [[[1]]]",
            "a = {b = {c = {}}}",
            "[a.b.c]",
            "[[a]]\n[[a.b]]",
            "a.b.c = []",
            "[a]\nb.c = {}",
        ] {
            let x = scan_with(text, &l).expect_err(text);
            assert_eq!(x.limit, "max_depth", "{text}");
            assert!(toml_node(text, &l).is_err(), "the reader agrees: {text}");
        }
        for text in ["a = [[1]]", "a = {b = {}}", "[a.b]", "[[a]]", "a.b = 1"] {
            assert_eq!(scan_with(text, &l), Ok(()), "{text}");
            assert!(toml_node(text, &l).is_ok(), "{text}");
        }
    }

    #[test]
    fn the_offset_is_that_of_the_item_over_the_limit() {
        let x = scan_with("a = [1, 2]\nb = [10, 20, 30, 40]", &limits(3, 64, 3)).unwrap_err();
        assert_eq!(x.offset, "a = [1, 2]\nb = [10, 20, 30, ".len());
        assert_eq!(x.found, "more than 3 items");
    }

    /// Every value written inline (`{…}` and `[…]`).
    fn inline(v: &Value) -> String {
        match v {
            Value::Object(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k} = {}", inline(v)))
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            Value::Array(items) => {
                let parts: Vec<String> = items.iter().map(inline).collect();
                format!("[{}]", parts.join(", "))
            }
            other => other.to_string(),
        }
    }

    /// The top-level objects as dotted keys, the rest inline.
    fn dotted(prefix: &str, m: &Map<String, Value>, out: &mut String) {
        for (k, v) in m {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                Value::Object(inner) if !inner.is_empty() => dotted(&key, inner, out),
                _ => out.push_str(&format!("{key} = {}\n", inline(v))),
            }
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<i32>().prop_map(|i| json!(i)),
            any::<bool>().prop_map(|b| json!(b)),
            "[a-c\\[\\]{},#]{0,3}".prop_map(|s| json!(s)),
        ];
        leaf.prop_recursive(6, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("rules|[a-c]", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// The pre-scan refuses a document exactly when the reader's exact
        /// check (after `toml` has parsed it) does, however the document is
        /// written: with headers and arrays of tables (the `toml` crate's
        /// own layout), all inline, or with dotted keys.
        #[test]
        fn the_prescan_refuses_exactly_what_the_reader_refuses(
            doc in prop::collection::btree_map("rules|[a-c]", value(), 0..6),
            list in 1usize..5,
            depth in 1usize..7,
            rules in 1usize..5,
        ) {
            let doc: Map<String, Value> = doc.into_iter().collect();
            let l = limits(list, depth, rules);
            let mut texts = vec![
                doc.iter().map(|(k, v)| format!("{k} = {}\n", inline(v))).collect::<String>(),
            ];
            let mut d = String::new();
            dotted("", &doc, &mut d);
            texts.push(d);
            if let Ok(t) = toml::to_string(&doc) {
                texts.push(t);
            }
            for text in texts {
                let read = toml_node(&text, &l);
                if let Err(e) = &read {
                    prop_assert!(
                        e.errors[0].code == crate::policy::DiagnosticCode::LimitExceeded,
                        "{text}\n{e}"
                    );
                }
                let scanned = scan_with(&text, &l);
                prop_assert_eq!(scanned.is_ok(), read.is_ok(), "{}\n{:?}\n{:?}", text, scanned, read.err());
            }
        }
    }
}
