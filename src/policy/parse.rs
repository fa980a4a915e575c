//! Reading a policy's text: JSON or TOML to a
//! [`PolicySpec`](super::spec::PolicySpec), every
//! structural problem a [`Diagnostic`] with its path, the offending value and
//! a hint.
//!
//! Three steps: the text is parsed into a [`Node`] tree (keeping key order
//! and duplicate keys; a syntax error names line, column and the path the
//! parser was at), the tree is checked against the format's
//! [schema](super::schema), reporting every problem at once (bounded by
//! [`CompileError::LIMIT`]), and only a clean tree is handed to serde.

use std::collections::HashSet;
use std::fmt::{self, Write as _};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::diagnostic::{CompileError, Diagnostic, Sink, did_you_mean};
use super::limits::PolicyLimits;
use super::schema::{ChoiceShape, ObjectShape, POLICY, Shape};
use super::suggest::closest_word;
use crate::lead::issue::{shorten, shorten_message};
use serde::de::DeserializeOwned;

/// The text format, for messages and examples in help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    #[cfg_attr(not(feature = "toml"), allow(dead_code))]
    Toml,
}

/// A parsed document. Unlike [`Value`], objects keep their keys in order
/// and keep duplicates, so both can be reported.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Num(Number),
    /// A float JSON cannot hold (TOML `nan`, `inf`).
    BadFloat(f64),
    Str(String),
    List(Vec<Node>),
    Obj(Vec<(String, Node)>),
}

#[cfg(feature = "toml")]
mod toml_scan;

/// How the `toml` crate hands a date-time to serde: a one-key map.
const DATETIME_KEY: &str = "$__toml_private_datetime";

/// Deepest nesting read whatever the limits say (JSON's own parser stops
/// at 128, TOML's at 80).
const MAX_DEPTH: usize = 128;

/// Reads a spec from JSON. Generic over the spec type so that the reader
/// does not depend on the module that calls it (`spec` calls `parse`).
pub(crate) fn json<T: DeserializeOwned>(
    text: &str,
    limits: &PolicyLimits,
) -> Result<T, CompileError> {
    too_big(text, limits)?;
    let mut reading = Reading::new(limits);
    let mut de = serde_json::Deserializer::from_str(text);
    let read = Seed {
        reading: &mut reading,
        depth: 0,
    }
    .deserialize(&mut de)
    .and_then(|node| de.end().map(|()| node));
    match read {
        Ok(node) => check(&node, Format::Json),
        Err(e) => Err(one(reading.violation.take().unwrap_or_else(|| {
            Diagnostic::syntax(
                render_path(&reading.track),
                "JSON",
                shorten_message(&e.to_string()),
            )
        }))),
    }
}

/// Refuses a text over [`PolicyLimits::max_spec_bytes`] before parsing it.
fn too_big(text: &str, limits: &PolicyLimits) -> Result<(), CompileError> {
    if text.len() > limits.max_spec_bytes {
        return Err(one(Diagnostic::limit_exceeded(
            String::new(),
            format!("the policy text has {} bytes", text.len()),
            "max_spec_bytes",
            limits.max_spec_bytes,
        )));
    }
    Ok(())
}

/// Reads a spec from TOML.
#[cfg(feature = "toml")]
pub(crate) fn toml<T: DeserializeOwned>(
    text: &str,
    limits: &PolicyLimits,
) -> Result<T, CompileError> {
    too_big(text, limits)?;
    // Nesting and lengths before `toml` builds its tables (it reads the
    // whole text first); the visitor in `toml_node` checks them again,
    // exactly.
    toml_prescan(text, limits)?;
    let node = toml_node(text, limits)?;
    check(&node, Format::Toml)
}

/// The pre-scan's verdict as the reader's diagnostic, with line and column.
#[cfg(feature = "toml")]
fn toml_prescan(text: &str, limits: &PolicyLimits) -> Result<(), CompileError> {
    toml_scan::scan(text, limits, limits.max_depth.min(MAX_DEPTH)).map_err(|x| {
        let (line, column) = line_column(text, x.offset);
        let path: Vec<Seg<String>> = x
            .path
            .into_iter()
            .map(|s| match s {
                toml_scan::Step::Key(k) => Seg::Key(k),
                toml_scan::Step::Index(i) => Seg::Index(i),
            })
            .collect();
        one(Diagnostic::limit_exceeded(
            render_path(&path),
            format!("{} at line {line} column {column}", x.found),
            x.limit,
            x.max,
        ))
    })
}

/// Parses TOML into a [`Node`], checking the limits while visiting it.
#[cfg(feature = "toml")]
fn toml_node(text: &str, limits: &PolicyLimits) -> Result<Node, CompileError> {
    let mut reading = Reading::new(limits);
    let read = toml::de::Deserializer::parse(text).and_then(|de| {
        Seed {
            reading: &mut reading,
            depth: 0,
        }
        .deserialize(de)
    });
    match read {
        Ok(node) => Ok(node),
        Err(e) => {
            if let Some(d) = reading.violation.take() {
                return Err(one(d));
            }
            let text_message = shorten_message(e.message().trim_end());
            let message = match e.span() {
                Some(span) => {
                    let (line, column) = line_column(text, span.start);
                    format!("{text_message} at line {line} column {column}")
                }
                None => text_message,
            };
            Err(one(Diagnostic::syntax(
                render_path(&reading.track),
                "TOML",
                message,
            )))
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
#[cfg(feature = "toml")]
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn one(d: Diagnostic) -> CompileError {
    let mut sink = Sink::default();
    sink.push(d);
    sink.into_error()
}

/// Checks a parsed document against the schema, then deserializes it.
fn check<T: DeserializeOwned>(node: &Node, format: Format) -> Result<T, CompileError> {
    let mut sink = Sink::default();
    validate(&POLICY, node, format, &mut sink);
    if sink.has_errors() {
        return Err(sink.into_error());
    }
    serde_path_to_error::deserialize(node.to_value()).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        one(Diagnostic::from_serde(path, e.inner().to_string()))
    })
}

/// Checks `node` against `shape`, reporting into `sink`.
pub(crate) fn validate(shape: &'static Shape, node: &Node, format: Format, sink: &mut Sink) {
    Walker {
        sink,
        path: Vec::new(),
        format,
    }
    .value(shape, node);
}

// ------------------------------------------------------------------ paths

/// One step of a path: an object key or a list index.
#[derive(Debug, Clone)]
enum Seg<K> {
    Key(K),
    Index(usize),
}

/// `rules[3].when.all[1]`; keys that are not plain words are quoted:
/// `crm_ids["my system"]`.
fn render_path<K: AsRef<str>>(segs: &[Seg<K>]) -> String {
    let mut out = String::new();
    for seg in segs {
        push_seg(&mut out, seg);
    }
    out
}

fn push_seg<K: AsRef<str>>(out: &mut String, seg: &Seg<K>) {
    match seg {
        Seg::Index(i) => {
            let _ = write!(out, "[{i}]");
        }
        Seg::Key(k) => {
            let k = k.as_ref();
            let plain = !k.is_empty()
                && k.len() <= 64
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !plain {
                let _ = write!(out, "[{:?}]", shorten(k));
            } else {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
        }
    }
}

// ---------------------------------------------------------------- reading

/// The state of one read: the path the parser is at (so a syntax error can
/// say where it happened) and the first limit exceeded.
struct Reading<'l> {
    track: Vec<Seg<String>>,
    limits: &'l PolicyLimits,
    violation: Option<Diagnostic>,
}

impl<'l> Reading<'l> {
    fn new(limits: &'l PolicyLimits) -> Self {
        Reading {
            track: Vec::new(),
            limits,
            violation: None,
        }
    }

    /// Records a limit exceeded here and gives the error that stops the parse.
    fn exceeded<E: de::Error>(&mut self, found: String, limit: &str, max: usize) -> E {
        self.violation = Some(Diagnostic::limit_exceeded(
            render_path(&self.track),
            found,
            limit,
            max,
        ));
        E::custom("policy limit exceeded")
    }

    /// How many items the list or object being read may have.
    fn max_items(&self) -> (usize, &'static str) {
        match self.track.as_slice() {
            [Seg::Key(k)] if k == "rules" => (self.limits.max_rules, "max_rules"),
            _ => (self.limits.max_list_len, "max_list_len"),
        }
    }
}

/// Reads any value into a [`Node`], checking nesting and list lengths
/// against the limits as it goes.
struct Seed<'r, 'l> {
    reading: &'r mut Reading<'l>,
    depth: usize,
}

impl<'l> Seed<'_, 'l> {
    fn child(&mut self) -> Seed<'_, 'l> {
        Seed {
            reading: &mut *self.reading,
            depth: self.depth + 1,
        }
    }

    fn enter<E: de::Error>(&mut self) -> Result<(), E> {
        let max = self.reading.limits.max_depth.min(MAX_DEPTH);
        if self.depth >= max {
            return Err(self.reading.exceeded(
                format!("nested more than {max} levels deep"),
                "max_depth",
                max,
            ));
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = Node;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, '_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Num(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Num(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Number::from_f64(v).map_or(Node::BadFloat(v), Node::Num))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        self.deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Node, A::Error> {
        self.enter()?;
        let (max, limit) = self.reading.max_items();
        let mut items = Vec::new();
        loop {
            if items.len() == max {
                // One more item is one too many; none at all is fine.
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(self.reading.exceeded(
                        format!("more than {max} items"),
                        limit,
                        max,
                    ));
                }
                return Ok(Node::List(items));
            }
            self.reading.track.push(Seg::Index(items.len()));
            match seq.next_element_seed(self.child())? {
                Some(item) => items.push(item),
                None => {
                    self.reading.track.pop();
                    return Ok(Node::List(items));
                }
            }
            self.reading.track.pop();
        }
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Node, A::Error> {
        self.enter()?;
        let max = self.reading.limits.max_list_len;
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.len() == max {
                return Err(self.reading.exceeded(
                    format!("more than {max} keys"),
                    "max_list_len",
                    max,
                ));
            }
            self.reading.track.push(Seg::Key(key.clone()));
            let value = map.next_value_seed(self.child())?;
            self.reading.track.pop();
            entries.push((key, value));
        }
        Ok(Node::Obj(entries))
    }
}

impl Node {
    /// The same data as a [`Value`] (a duplicate key keeps its last value).
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Node::Null | Node::BadFloat(_) => Value::Null,
            Node::Bool(b) => Value::Bool(*b),
            Node::Num(n) => Value::Number(n.clone()),
            Node::Str(s) => Value::String(s.clone()),
            Node::List(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Node::Obj(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }

    fn is_datetime(&self) -> bool {
        matches!(self, Node::Obj(e) if matches!(e.as_slice(), [(k, Node::Str(_))] if k == DATETIME_KEY))
    }

    /// What kind of value this is, for messages.
    fn kind(&self, format: Format) -> &'static str {
        match self {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Num(_) => "a number",
            Node::BadFloat(_) => "a number that is not finite",
            Node::Str(_) => "text",
            Node::List(_) => "a list",
            n if n.is_datetime() => "a TOML date-time",
            Node::Obj(_) => match format {
                Format::Json => "an object",
                Format::Toml => "a table",
            },
        }
    }

    /// The value as short JSON-like text (at most ~64 characters).
    fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        shorten(&out)
    }

    fn render_into(&self, out: &mut String) {
        if out.len() > 80 {
            return;
        }
        match self {
            Node::Null => out.push_str("null"),
            Node::Bool(b) => {
                let _ = write!(out, "{b}");
            }
            Node::Num(n) => {
                let _ = write!(out, "{n}");
            }
            Node::BadFloat(f) => {
                let _ = write!(out, "{f}");
            }
            Node::Str(s) => {
                let _ = write!(out, "{:?}", shorten(s));
            }
            n if n.is_datetime() => {
                if let Node::Obj(e) = n {
                    for (_, v) in e {
                        if let Node::Str(s) = v {
                            out.push_str(s);
                        }
                    }
                }
            }
            Node::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.render_into(out);
                    if out.len() > 80 {
                        break;
                    }
                }
                out.push(']');
            }
            Node::Obj(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    let _ = write!(out, "{:?}: ", shorten(k));
                    v.render_into(out);
                    if out.len() > 80 {
                        break;
                    }
                }
                out.push('}');
            }
        }
    }
}

// --------------------------------------------------------------- checking

struct Walker<'s, 'n> {
    sink: &'s mut Sink,
    path: Vec<Seg<&'n str>>,
    format: Format,
}

/// `key` plus `value` in the document's syntax: `"all": [...]` / `all = [...]`.
fn key_value(format: Format, key: &str, value: &str) -> String {
    match format {
        Format::Json => format!("{{\"{key}\": {value}}}"),
        Format::Toml => format!("{{ {key} = {value} }}"),
    }
}

/// `` `a`, `b` or `c` ``.
fn list_or(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// A number from 0 to 1.
fn is_fraction(n: &serde_json::Number) -> bool {
    n.as_f64().is_some_and(|v| (0.0..=1.0).contains(&v))
}

/// Whether `node` would do as one item of `shape` (a shallow check, for the
/// "write a list" hint).
fn fits(shape: &Shape, node: &Node) -> bool {
    match (shape, node) {
        (Shape::Json, _)
        | (Shape::Text, Node::Str(_))
        | (Shape::Bool, Node::Bool(_))
        | (Shape::List(_) | Shape::Pair(_), Node::List(_))
        | (Shape::Object(_) | Shape::Map(_), Node::Obj(_)) => !node.is_datetime(),
        (Shape::Int(max), Node::Num(n)) => n.as_u64().is_some_and(|v| v <= *max),
        (Shape::Fraction, Node::Num(n)) => is_fraction(n),
        (Shape::Choice(c), Node::Str(s)) => c.words.contains(&s.as_str()),
        (Shape::Choice(c), Node::Obj(e)) => {
            matches!(e.as_slice(), [(k, _)] if c.keyed(k).is_some())
        }
        _ => false,
    }
}

impl<'n> Walker<'_, 'n> {
    fn at(&self) -> String {
        render_path(&self.path)
    }

    /// The path of `key` inside the current object.
    fn at_key(&self, key: &str) -> String {
        let mut out = self.at();
        push_seg(&mut out, &Seg::Key(key));
        out
    }

    fn report(&mut self, d: Diagnostic) {
        self.sink.push(d);
    }

    fn nested(&mut self, seg: Seg<&'n str>, shape: &'static Shape, node: &'n Node) {
        self.path.push(seg);
        self.value(shape, node);
        self.path.pop();
    }

    fn value(&mut self, shape: &'static Shape, node: &'n Node) {
        match (shape, node) {
            (Shape::Json, _) => self.json(node),
            (Shape::Text, Node::Str(_)) | (Shape::Bool, Node::Bool(_)) => {}
            (Shape::Int(max), Node::Num(n)) if n.as_u64().is_some_and(|v| v <= *max) => {}
            (Shape::Fraction, Node::Num(n)) if is_fraction(n) => {}
            (Shape::List(item), Node::List(items)) => {
                for (i, x) in items.iter().enumerate() {
                    self.nested(Seg::Index(i), item, x);
                }
            }
            (Shape::Pair(item), Node::List(items)) if items.len() == 2 => {
                for (i, x) in items.iter().enumerate() {
                    self.nested(Seg::Index(i), item, x);
                }
            }
            (Shape::Map(item), Node::Obj(entries)) if !node.is_datetime() => {
                for (k, v) in entries {
                    self.nested(Seg::Key(k), item, v);
                }
            }
            (Shape::Object(o), Node::Obj(entries)) if !node.is_datetime() => {
                self.object(o, entries);
            }
            (Shape::Choice(c), _) => self.choice(c, node),
            _ => self.wrong_type(shape, node),
        }
    }

    /// Any value, but every number finite.
    fn json(&mut self, node: &'n Node) {
        match node {
            Node::BadFloat(_) => self.wrong_type(&Shape::Json, node),
            Node::List(items) => {
                for (i, x) in items.iter().enumerate() {
                    self.nested(Seg::Index(i), &Shape::Json, x);
                }
            }
            Node::Obj(entries) => {
                for (k, v) in entries {
                    self.nested(Seg::Key(k), &Shape::Json, v);
                }
            }
            _ => {}
        }
    }

    fn describe(&self, shape: &Shape) -> String {
        let object = match self.format {
            Format::Json => "an object",
            Format::Toml => "a table",
        };
        match shape {
            Shape::Text => "text".to_owned(),
            Shape::Bool => "`true` or `false`".to_owned(),
            Shape::Int(max) => format!("a whole number from 0 to {max}"),
            Shape::Fraction => "a number from 0 to 1".to_owned(),
            Shape::Json => "a finite number, text, a boolean, a list or an object".to_owned(),
            Shape::List(_) => "a list".to_owned(),
            Shape::Pair(_) => "a range of two values, [from, to]".to_owned(),
            Shape::Map(_) => object.to_owned(),
            Shape::Object(o) => format!("{} ({object})", o.what),
            Shape::Choice(c) => self.describe_choice(c),
        }
    }

    fn describe_choice(&self, c: &ChoiceShape) -> String {
        let keys: Vec<&str> = c.keyed.iter().map(|(k, _)| *k).collect();
        let keyed = if keys.len() > 4 {
            let first: Vec<String> = keys.iter().take(3).map(|k| format!("`{k}`")).collect();
            format!(
                "an object with one {} such as {}, …",
                c.noun,
                first.join(", ")
            )
        } else {
            format!("an object with one key, {}", list_or(&keys))
        };
        match (c.words.is_empty(), keys.is_empty()) {
            (true, _) => format!("{} ({keyed})", c.what),
            (false, true) => format!("{}: {}", c.what, list_or(c.words)),
            (false, false) => {
                let words: Vec<String> = c.words.iter().map(|w| format!("`{w}`")).collect();
                format!("{}: {}, or {keyed}", c.what, words.join(", "))
            }
        }
    }

    fn wrong_type(&mut self, shape: &Shape, node: &Node) {
        let help = self.type_help(shape, node);
        let d = Diagnostic::wrong_type(
            self.at(),
            &self.describe(shape),
            node.kind(self.format),
            &node.render(),
            help,
        );
        self.report(d);
    }

    /// How to write the value so it has the right type, when that is clear.
    fn type_help(&self, shape: &Shape, node: &Node) -> Option<String> {
        let text = node.render();
        match (shape, node) {
            (Shape::Text, Node::Num(_) | Node::Bool(_)) => Some(format!("quote it: \"{text}\"")),
            (Shape::Text, n) if n.is_datetime() => Some(format!("quote it: \"{text}\"")),
            (Shape::Int(_), Node::Str(s)) if s.trim().parse::<u64>().is_ok() => {
                Some(format!("write the number without quotes: {}", s.trim()))
            }
            (Shape::Fraction, Node::Str(s))
                if s.trim()
                    .parse::<f64>()
                    .is_ok_and(|v| (0.0..=1.0).contains(&v)) =>
            {
                Some(format!("write the number without quotes: {}", s.trim()))
            }
            (Shape::Fraction, Node::Num(n))
                if n.as_f64().is_some_and(|v| v > 1.0 && v <= 100.0) =>
            {
                Some("a confidence is a fraction: write 0.8 for 80 %".to_owned())
            }
            (Shape::Bool, Node::Str(s)) if matches!(s.trim(), "true" | "false") => {
                Some(format!("write it without quotes: {}", s.trim()))
            }
            (Shape::List(item), _) if fits(item, node) => Some(format!("write a list: [{text}]")),
            _ => None,
        }
    }

    /// Reports keys written twice; returns the entries to check (the first
    /// of each key).
    fn distinct(&mut self, entries: &'n [(String, Node)]) -> Vec<&'n (String, Node)> {
        let mut seen = HashSet::with_capacity(entries.len());
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            if seen.insert(entry.0.as_str()) {
                out.push(entry);
            } else {
                let d = Diagnostic::duplicate_key(self.at_key(&entry.0), &entry.0);
                self.report(d);
            }
        }
        out
    }

    fn object(&mut self, o: &'static ObjectShape, entries: &'n [(String, Node)]) {
        let entries = self.distinct(entries);
        let mut chosen: Vec<&str> = Vec::new();
        for (k, v) in entries.iter().copied() {
            if let Some(f) = o.field(k) {
                if !(f.nullable && *v == Node::Null) {
                    self.nested(Seg::Key(k), f.shape, v);
                }
            } else if let Some(shape) = o.choice.and_then(|c| c.keyed(k)) {
                chosen.push(k);
                self.nested(Seg::Key(k), shape, v);
            } else {
                let hint = o.hints.iter().find(|(h, _)| h == k).map(|(_, t)| *t);
                self.unknown_key(o.what, k, o.keys(), hint);
            }
        }
        for f in o.fields.iter().filter(|f| f.required) {
            if !entries.iter().any(|(k, _)| k == f.key) {
                let d = Diagnostic::missing_field(self.at_key(f.key), f.key, o.what);
                self.report(d);
            }
        }
        if let Some(c) = o.choice {
            if chosen.len() != 1 {
                let keys: Vec<&str> = c.keyed.iter().map(|(k, _)| *k).collect();
                let help = format!("write one of {}", list_or(&keys));
                let d = Diagnostic::expected_one_key(self.at(), o.what, c.noun, &chosen, help);
                self.report(d);
            }
        }
    }

    fn unknown_key<'k>(
        &mut self,
        what: &str,
        key: &str,
        valid: impl Iterator<Item = &'k str> + Clone,
        hint: Option<&str>,
    ) {
        let help = match hint {
            Some(h) => h.to_owned(),
            None => match self
                .sink
                .has_room()
                .then(|| closest_word(key, valid.clone()))
                .flatten()
            {
                Some(s) => did_you_mean(s),
                None => {
                    let all: Vec<&str> = valid.collect();
                    format!("expected {}", list_or(&all))
                }
            },
        };
        let d = Diagnostic::unknown_key(self.at_key(key), key, what, help);
        self.report(d);
    }

    fn choice(&mut self, c: &'static ChoiceShape, node: &'n Node) {
        match node {
            Node::Str(s) if c.words.contains(&s.as_str()) => {}
            Node::Str(s) if c.keyed(s).is_some() || c.words.is_empty() => {
                let help = c
                    .keyed(s)
                    .map(|_| format!("`{s}` takes a value: {}", key_value(self.format, s, "…")));
                let d = Diagnostic::wrong_type(
                    self.at(),
                    &self.describe_choice(c),
                    node.kind(self.format),
                    &node.render(),
                    help,
                );
                self.report(d);
            }
            Node::Str(s) => {
                let help = match self
                    .sink
                    .has_room()
                    .then(|| closest_word(s, c.names()))
                    .flatten()
                {
                    Some(w) => did_you_mean(w),
                    None => format!("expected {}", self.describe_choice(c)),
                };
                let d = Diagnostic::unknown_value(self.at(), s, c.what, help);
                self.report(d);
            }
            Node::Obj(entries) if !node.is_datetime() => self.choice_object(c, entries),
            _ => {
                let d = Diagnostic::wrong_type(
                    self.at(),
                    &self.describe_choice(c),
                    node.kind(self.format),
                    &node.render(),
                    None,
                );
                self.report(d);
            }
        }
    }

    fn choice_object(&mut self, c: &'static ChoiceShape, entries: &'n [(String, Node)]) {
        let entries = self.distinct(entries);
        if entries.len() != 1 {
            let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
            let help = match (c.several, self.format) {
                (Some((json, _)), Format::Json) if keys.len() > 1 => json.to_owned(),
                (Some((_, toml)), Format::Toml) if keys.len() > 1 => toml.to_owned(),
                _ => {
                    let all: Vec<&str> = c.keyed.iter().map(|(k, _)| *k).collect();
                    format!("write one of {}", list_or(&all))
                }
            };
            let d = Diagnostic::expected_one_key(self.at(), c.what, c.noun, &keys, help);
            self.report(d);
        }
        // Check each key anyway, so one pass reports everything.
        for (k, v) in entries {
            if let Some(shape) = c.keyed(k) {
                self.nested(Seg::Key(k), shape, v);
            } else if c.words.contains(&k.as_str()) {
                // serde takes `{"nurture": null}` for the word `nurture`.
                if *v != Node::Null {
                    let help = Some(format!("write the word \"{k}\" instead of an object"));
                    let d = Diagnostic::wrong_type(
                        self.at_key(k),
                        "no value",
                        v.kind(self.format),
                        &v.render(),
                        help,
                    );
                    self.report(d);
                }
            } else {
                self.unknown_key(c.what, k, c.names(), None);
            }
        }
    }
}

#[cfg(test)]
mod tests;
