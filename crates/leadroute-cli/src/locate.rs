//! Best-effort source locations for diagnostic paths.
//!
//! A [`Diagnostic`](leadroute::policy::Diagnostic) names a field path such as
//! `rules[2].when.all[1].country[0]`; this module finds where that value is
//! written in the policy text:
//!
//! - JSON: a small scanner over the document records the byte span of every
//!   value under its path (`serde_json` has no spans).
//! - TOML: [`toml::de::DeTable::parse`] keeps a span for every key and value.
//!
//! When the exact path is not in the text (a missing key, for instance), the
//! deepest enclosing value that is written there is used instead; when not
//! even that is found, or the text does not parse, there is no location.
//! Syntax errors carry their own line and column in the message
//! (`… at line 3 column 7`), which is used as is.

use std::collections::HashMap;
use std::ops::Range;

/// Byte spans of every value in a document, by rendered path.
#[derive(Debug, Default)]
pub struct SpanMap {
    spans: HashMap<String, Range<usize>>,
}

/// A located position: 1-based line and column (in characters), and the
/// byte span it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The byte span in the text.
    pub span: Range<usize>,
}

impl SpanMap {
    /// The spans of a JSON document (empty if it does not scan).
    pub fn json(text: &str) -> Self {
        let mut map = SpanMap::default();
        let mut scanner = Json {
            bytes: text.as_bytes(),
            pos: 0,
            map: &mut map,
        };
        if scanner.value(String::new(), 0).is_none() {
            map.spans.clear();
        }
        map
    }

    /// The spans of a TOML document (empty if it does not parse).
    pub fn toml(text: &str) -> Self {
        let mut map = SpanMap::default();
        if let Ok(root) = toml::de::DeTable::parse(text) {
            toml_table(root.get_ref(), "", &mut map, 0);
        }
        map
    }

    /// The span of `path`, or of its deepest enclosing path in the text
    /// (never the whole document).
    pub fn find(&self, path: &str) -> Option<Range<usize>> {
        let mut path = path;
        while !path.is_empty() {
            if let Some(span) = self.spans.get(path) {
                return Some(span.clone());
            }
            path = parent(path)?;
        }
        None
    }
}

/// `a.b[1]` → `a.b`, `a.b` → `a`, `a` → ``.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    path.get(..cut)
}

fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Deepest nesting recorded (deeper documents are left unlocated below it).
const MAX_DEPTH: usize = 128;

fn toml_table(table: &toml::de::DeTable<'_>, prefix: &str, map: &mut SpanMap, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    for (key, value) in table {
        let path = join_key(prefix, key.get_ref());
        toml_value(value, path, map, depth);
    }
}

fn toml_value(
    value: &toml::Spanned<toml::de::DeValue<'_>>,
    path: String,
    map: &mut SpanMap,
    depth: usize,
) {
    match value.get_ref() {
        toml::de::DeValue::Table(t) => toml_table(t, &path, map, depth + 1),
        toml::de::DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                toml_value(item, format!("{path}[{i}]"), map, depth + 1);
            }
        }
        _ => {}
    }
    map.spans.entry(path).or_insert_with(|| value.span());
}

/// A minimal JSON scanner: recognizes the structure and records spans; it
/// trusts that the document is valid JSON (the policy reader has said so
/// when there is a non-syntax diagnostic).
struct Json<'a, 'm> {
    bytes: &'a [u8],
    pos: usize,
    map: &'m mut SpanMap,
}

impl Json<'_, '_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        self.skip_ws();
        (self.peek() == Some(b)).then(|| self.pos += 1)
    }

    /// A string; returns its (unescaped where simple) content.
    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let start = self.pos;
        let mut raw = false;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    raw = true;
                    self.pos += 2;
                }
                _ => self.pos += 1,
            }
        }
        let body = self.bytes.get(start..self.pos)?;
        self.pos += 1;
        let body = std::str::from_utf8(body).ok()?;
        if raw {
            serde_json::from_str::<String>(&format!("\"{body}\"")).ok()
        } else {
            Some(body.to_owned())
        }
    }

    fn value(&mut self, path: String, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        let start = self.pos;
        match self.peek()? {
            b'{' => {
                self.pos += 1;
                if self.eat(b'}').is_none() {
                    loop {
                        let key = self.string()?;
                        self.eat(b':')?;
                        self.value(join_key(&path, &key), depth + 1)?;
                        if self.eat(b',').is_none() {
                            self.eat(b'}')?;
                            break;
                        }
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                if self.eat(b']').is_none() {
                    let mut i = 0usize;
                    loop {
                        self.value(format!("{path}[{i}]"), depth + 1)?;
                        i += 1;
                        if self.eat(b',').is_none() {
                            self.eat(b']')?;
                            break;
                        }
                    }
                }
            }
            b'"' => {
                self.string()?;
            }
            _ => {
                while matches!(
                    self.peek(),
                    Some(b'a'..=b'z' | b'0'..=b'9' | b'-' | b'+' | b'.' | b'E')
                ) {
                    self.pos += 1;
                }
                if self.pos == start {
                    return None;
                }
            }
        }
        self.map.spans.entry(path).or_insert(start..self.pos);
        Some(())
    }
}

/// The line and column of a byte offset, and the span clipped to its line.
pub fn locate(text: &str, span: Range<usize>) -> Location {
    let start = span.start.min(text.len());
    let before = text.get(..start).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    Location { line, column, span }
}

/// `… at line L column C` at the end of a syntax error's message.
pub fn from_message(text: &str, message: &str) -> Option<Location> {
    let at = message.rfind(" at line ")?;
    let rest = message.get(at + " at line ".len()..)?;
    let (line, rest) = rest.split_once(" column ")?;
    let line: usize = line.trim().parse().ok()?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let column: usize = digits.parse().ok()?;
    // The byte offset of that place, for the caret.
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    let line_text = text
        .get(line_start..)
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("");
    let col_bytes: usize = line_text
        .chars()
        .take(column.saturating_sub(1))
        .map(char::len_utf8)
        .sum();
    let start = line_start + col_bytes;
    Some(Location {
        line,
        column,
        span: start..start + 1,
    })
}

/// The source line of a location and a caret line under its span, e.g.
///
/// ```text
///  12 |   "fallback": {"assign": {"owner": "queeu"}}
///     |                                    ^^^^^^^
/// ```
pub fn excerpt(text: &str, loc: &Location) -> String {
    let line_text = text.lines().nth(loc.line.saturating_sub(1)).unwrap_or("");
    let width = loc.line.to_string().len();
    // Caret length: the span's characters on this line, at least one.
    let from = loc.span.start;
    let rest = text.get(from..loc.span.end.max(from)).unwrap_or("");
    let first_line = rest.lines().next().unwrap_or("");
    let line_rest = line_text
        .chars()
        .count()
        .saturating_sub(loc.column.saturating_sub(1));
    let carets = first_line.chars().count().clamp(1, line_rest.max(1));
    let pad: String = line_text
        .chars()
        .take(loc.column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!(
        "{:width$} |\n{} | {}\n{:width$} | {}{}",
        "",
        loc.line,
        line_text,
        "",
        pad,
        "^".repeat(carets)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_are_found() {
        let text = "{\"a\": [1, {\"b\": \"x\\\"y\"}], \"c\": true}";
        let map = SpanMap::json(text);
        let span = map.find("a[1].b");
        assert_eq!(span.and_then(|s| text.get(s)), Some("\"x\\\"y\""));
        assert_eq!(map.find("c").and_then(|s| text.get(s)), Some("true"));
        assert_eq!(
            map.find("a[1].zz").and_then(|s| text.get(s)),
            Some("{\"b\": \"x\\\"y\"}")
        );
        assert_eq!(map.find("zz"), None);
    }

    #[test]
    fn toml_paths_are_found() {
        let text = "name = \"x\"\n[[rules]]\nid = \"a\"\nwhen = { country = [\"UK\"] }\n";
        let map = SpanMap::toml(text);
        let span = map.find("rules[0].when.country[0]");
        assert_eq!(span.clone().and_then(|s| text.get(s)), Some("\"UK\""));
        let loc = locate(text, span.unwrap_or(0..0));
        assert_eq!((loc.line, loc.column), (4, 21));
    }

    #[test]
    fn syntax_messages_give_the_place() {
        let text = "{\n  \"a\": ,\n}";
        let loc = from_message(text, "not valid JSON: expected value at line 2 column 8");
        assert_eq!(
            loc.map(|l| (l.line, l.column, l.span.start)),
            Some((2, 8, 9))
        );
    }
}
