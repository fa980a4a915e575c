//! The text rules behind the content signals: links, markup, placeholders,
//! keyboard mashes, a company field that is an address. Each is a pure
//! function of one field's text; the regular expressions are compiled once
//! per [`Screen`](super::Screen), never held globally.

use regex::Regex;

/// The compiled patterns one screen uses. Each is a constant expression
/// (a unit test checks that all of them compile), held as an `Option` only
/// so that building one never needs a panic path.
#[derive(Debug, Clone)]
pub(crate) struct Patterns {
    /// A URL with a scheme or `www.`, a BBCode `[url]`, or an HTML anchor.
    link: Option<Regex>,
    /// A bare domain with a TLD spammers use, as a word (`cheap-pills.ru`).
    bare_domain: Option<Regex>,
    /// Markup, script or injection syntax.
    script: Option<Regex>,
    /// An email address anywhere in the text.
    email: Option<Regex>,
}

impl Patterns {
    pub(crate) fn new() -> Self {
        Patterns {
            link: Regex::new(r"(?i)(?-u:\b)(?:https?://|www\.)[^\s<>]+|\[url[=\]]|<a\s+href").ok(),
            bare_domain: Regex::new(
                r"(?i)(?-u:\b)[a-z0-9][a-z0-9-]*\.(?:com|net|org|info|biz|ru|cn|xyz|top|io|site|online|club|shop|link|click|live|tk|ml|ga|cf|gq|pw|su|icu|buzz|win|loan|bid)(?-u:\b)",
            )
            .ok(),
            script: Regex::new(
                r#"(?ix)
                <\s*/?\s*(?:script|iframe|img|svg|object|embed|style|body|a|div|span|form|input|meta|link)(?-u:\b)
                | javascript\s*:
                | (?-u:\b)on(?:error|load|click|mouseover|focus)\s*=
                | \{\{.*\}\} | \$\{[^}]*\}
                | '\s*(?:or|and)\s+'?\d+'?\s*=\s*'?\d+
                | (?-u:\b)union\s+(?:all\s+)?select(?-u:\b)
                | ;\s*drop\s+table(?-u:\b)
                | \[/?(?:url|link|img)(?-u:\b)
                "#,
            )
            .ok(),
            email: Regex::new(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}").ok(),
        }
    }

    /// How many links the text holds: URLs starting `http://`,
    /// `https://` or `www.`, BBCode `[url`, HTML `<a `. Counted in one
    /// pass over the bytes (a message is the longest field, and most hold
    /// no link); a URL counts once however it is spelled.
    pub(crate) fn links(&self, text: &str) -> usize {
        count_links(text)
    }

    /// The first link-like text in a person's name, if any: a URL, or a
    /// bare domain.
    pub(crate) fn link_in_name<'t>(&self, text: &'t str) -> Option<&'t str> {
        if !text.as_bytes().contains(&b'.') && !may_link(text) {
            return None;
        }
        find(&self.link, text).or_else(|| find(&self.bare_domain, text))
    }

    /// The first markup or injection fragment, if any.
    pub(crate) fn script_like<'t>(&self, text: &'t str) -> Option<&'t str> {
        if !may_script(text) {
            return None;
        }
        find(&self.script, text)
    }

    /// Whether a company field is an email address or a URL (a scheme,
    /// `www.`, or a path after a domain). A bare domain (`Booking.com`) is
    /// a company name, not a URL.
    pub(crate) fn company_is_address(&self, text: &str) -> bool {
        let t = text.trim();
        (t.as_bytes().contains(&b'@') && find(&self.email, t).is_some())
            || may_link(t) && t.contains("://")
            || t.get(..4)
                .is_some_and(|head| head.eq_ignore_ascii_case("www."))
            || (t.contains('/') && !t.contains(' ') && find(&self.bare_domain, t).is_some())
    }
}

/// `word` (ASCII, lower-case) starts at byte `i` of `b`, ignoring ASCII case.
fn word_at(b: &[u8], i: usize, word: &[u8]) -> bool {
    b.get(i..i + word.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(word))
}

/// Whether the text has a link's marker (`://`, `www.`, `[url`, `<a`):
/// one pass over the bytes, far cheaper than the expression, and most
/// text has none.
fn may_link(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().any(|(i, c)| match c {
        b':' => word_at(b, i, b"://"),
        b'w' | b'W' => word_at(b, i, b"www."),
        b'[' => word_at(b, i, b"[url"),
        b'<' => word_at(b, i, b"<a"),
        _ => false,
    })
}

/// The first occurrence of `word` (ASCII, lower-case) in `b`, ignoring
/// ASCII case, checking the first byte before comparing.
fn ci_find(b: &[u8], word: &[u8]) -> bool {
    let Some(&first) = word.first() else {
        return false;
    };
    b.windows(word.len()).any(|w| {
        w.first().is_some_and(|c| c.to_ascii_lowercase() == first) && w.eq_ignore_ascii_case(word)
    })
}

/// Whether the text has what some alternative of the markup expression
/// needs: `<` (tags), `[` (BBCode), `=` (handlers, `' or 1=1`), `{{` or
/// `${` (templates), `javascript` with a `:`, `union`, or `drop` with a
/// `;`. Byte searches, far cheaper than the expression; most text passes
/// none of them.
fn may_script(text: &str) -> bool {
    let b = text.as_bytes();
    b.contains(&b'<')
        || b.contains(&b'[')
        || b.contains(&b'=')
        || (b.contains(&b'{') && (text.contains("{{") || text.contains("${")))
        || (b.contains(&b':') && ci_find(b, b"javascript"))
        || (b.contains(&b';') && ci_find(b, b"drop"))
        || ci_find(b, b"union")
}

/// Counts links (see [`Patterns::links`]).
fn count_links(text: &str) -> usize {
    let b = text.as_bytes();
    let mut n = 0;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hit = match c {
            b'h' | b'H' => word_at(b, i, b"http://") || word_at(b, i, b"https://"),
            b'w' | b'W' => word_at(b, i, b"www."),
            b'[' => word_at(b, i, b"[url"),
            b'<' => word_at(b, i, b"<a ") || word_at(b, i, b"<a\t"),
            _ => false,
        };
        if hit {
            n += 1;
            // The rest of this link is part of it (`https://www.…` is one).
            while b
                .get(i)
                .is_some_and(|c| !c.is_ascii_whitespace() && *c != b']' && *c != b'>')
            {
                i += 1;
            }
        }
        i += 1;
    }
    n
}

fn find<'t>(re: &Option<Regex>, text: &'t str) -> Option<&'t str> {
    re.as_ref()?.find(text).map(|m| m.as_str())
}

/// Names people type when they do not want to give one, compared with the
/// whole field, case-insensitively. Deliberately short: `Doe`, `Test` or
/// `Demo` alone are also real surnames, so single words here are the ones
/// no real person writes as their name, and a pair (`John Doe`) is only
/// matched whole.
const PLACEHOLDER_WORDS: &[&str] = &[
    "test",
    "testing",
    "asdf",
    "asd",
    "qwerty",
    "qwer",
    "zxcv",
    "foobar",
    "xxx",
    "xx",
    "aaa",
    "abc",
    "abcd",
    "n/a",
    "none",
    "undefined",
    "name",
    "firstname",
    "lastname",
    "first name",
    "last name",
    "your name",
    "fname",
    "lname",
    "example",
    "dummy",
    "fake",
    "noname",
    "no name",
    "-",
    "--",
    ".",
    "..",
    "?",
    "??",
    "...",
    "123",
    "1234",
];

/// The longest entry of [`PLACEHOLDER_WORDS`] (longer names are not checked).
const LONGEST_PLACEHOLDER: usize = 10;

// Left out on purpose, because they are real names: `Na` (Korean),
// `Foo` (Chinese), `Bar` (Hebrew), `Nil` (Turkish), `Tester`, `Sample`,
// `Null`, `X`, `First`/`Last` alone.

/// Placeholder full names (first and last together).
const PLACEHOLDER_PAIRS: &[(&str, &str)] = &[
    ("john", "doe"),
    ("jane", "doe"),
    ("test", "test"),
    ("test", "user"),
    ("first", "last"),
    ("foo", "bar"),
    ("asdf", "asdf"),
    ("mickey", "mouse"),
    ("donald", "duck"),
];

/// The placeholder the name is, if it is one: a single field that is a
/// placeholder word, or a known placeholder pair.
pub(crate) fn placeholder_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let (f, l) = (first.map(str::trim), last.map(str::trim));
    // The lists are ASCII: comparing ignoring ASCII case needs no copy.
    let is_word = |s: Option<&str>| {
        s.is_some_and(|s| {
            s.len() <= LONGEST_PLACEHOLDER
                && PLACEHOLDER_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
        })
    };
    if is_word(f) || is_word(l) {
        let shown = [first, last]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        return Some(shown);
    }
    let (Some(f), Some(l)) = (f, l) else {
        return None;
    };
    PLACEHOLDER_PAIRS
        .iter()
        .any(|(a, b)| a.eq_ignore_ascii_case(f) && b.eq_ignore_ascii_case(l))
        .then(|| format!("{f} {l}"))
}

/// The three letter rows of a QWERTY keyboard.
const ROWS: [&[u8]; 3] = [b"qwertyuiop", b"asdfghjkl", b"zxcvbnm"];

/// Each lower-case letter's (row, column), from [`ROWS`], built at compile
/// time (where an index out of bounds is a compile error, not a panic).
#[allow(clippy::indexing_slicing)]
const KEYS: [(u8, u8); 26] = {
    let mut keys = [(0u8, 0u8); 26];
    let mut r = 0;
    while r < ROWS.len() {
        let row = ROWS[r];
        let mut i = 0;
        while i < row.len() {
            keys[(row[i] - b'a') as usize] = (r as u8, i as u8);
            i += 1;
        }
        r += 1;
    }
    keys
};

fn key_position(c: u8) -> Option<(usize, usize)> {
    if !c.is_ascii_lowercase() {
        return None;
    }
    KEYS.get(usize::from(c - b'a'))
        .map(|&(r, i)| (usize::from(r), usize::from(i)))
}

/// The longest run of keys that follow each other along one keyboard row
/// (`sdfgh` is 5), either direction.
fn longest_row_run(word: &[u8]) -> usize {
    let mut best = usize::from(!word.is_empty());
    let (mut up, mut down) = (1, 1);
    let mut prev = word.first().and_then(|c| key_position(*c));
    for c in word.iter().skip(1) {
        let here = key_position(*c);
        match (prev, here) {
            (Some((ra, ia)), Some((rb, ib))) if ra == rb && ib == ia + 1 => {
                up += 1;
                down = 1;
            }
            (Some((ra, ia)), Some((rb, ib))) if ra == rb && ib + 1 == ia => {
                down += 1;
                up = 1;
            }
            _ => (up, down) = (1, 1),
        }
        best = best.max(up).max(down);
        prev = here;
    }
    best
}

/// The longest run of one repeated character.
fn longest_repeat(word: &[u8]) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for &c in word {
        run = if prev == Some(c) { run + 1 } else { 1 };
        prev = Some(c);
        best = best.max(run);
    }
    best
}

/// Whether the word is one chunk of 3–4 keys along a keyboard row,
/// repeated (`asdasd`, `sdfsdf`, `jkljkljkl`). Repeated syllables in real
/// names (`Tingting`, `Lulu`) are not row runs, so they do not count.
fn repeated_row_chunk(word: &[u8]) -> bool {
    (3..=4).any(|n| {
        word.len() >= 2 * n
            && word.len() % n == 0
            && word.get(..n).is_some_and(|chunk| {
                longest_row_run(chunk) == n && word.chunks(n).all(|c| c == chunk)
            })
    })
}

/// How the text looks mashed, if it does. `person` applies the rules that
/// only suit personal names (no vowel in a long word, four repeated
/// letters); company names keep acronyms and `AAAA Plumbing`.
///
/// Only ASCII letters are judged: a name in another script is never a
/// keyboard mash by these rules.
pub(crate) fn keyboard_mash(text: &str, person: bool) -> Option<&'static str> {
    for word in text.split(|c: char| !c.is_ascii_alphabetic()) {
        // Every rule needs at least four letters.
        if word.len() < 4 {
            continue;
        }
        // Lower-cased on the stack; a word longer than the buffer is judged
        // on its start (no name is that long; a mash shows early).
        let mut buf = [0u8; 64];
        let n = word.len().min(buf.len());
        for (dst, src) in buf.iter_mut().zip(word.bytes()) {
            *dst = src.to_ascii_lowercase();
        }
        let w = buf.get(..n).unwrap_or_default();
        if longest_row_run(w) >= 5 {
            return Some("keys in a row");
        }
        if repeated_row_chunk(w) {
            return Some("a repeated run of keys");
        }
        let repeat_limit = if person { 4 } else { 5 };
        if longest_repeat(w) >= repeat_limit {
            return Some("one letter repeated");
        }
        if person && w.len() >= 6 && !w.iter().any(|c| b"aeiouy".contains(c)) {
            return Some("no vowel");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_runs_and_repeats() {
        assert_eq!(longest_row_run(b"asdfgh"), 6);
        assert_eq!(longest_row_run(b"lkjhg"), 5);
        assert_eq!(longest_row_run(b"liberty"), 4); // e-r-t-y: four, below the rule's five
        assert!(repeated_row_chunk(b"asdasd"));
        assert!(!repeated_row_chunk(b"tingting"));
        assert!(!repeated_row_chunk(b"lulu"));
        assert_eq!(longest_repeat(b"aaaab"), 4);
    }

    #[test]
    fn real_names_are_not_mashes() {
        for name in [
            "Liberty",
            "Doherty",
            "Flaherty",
            "Tingting",
            "Jingjing",
            "Nguyen",
            "Ng",
            "Hirschsprung",
            "Nietzsche",
            "Przybylski",
            "Mkrtchyan",
            "Asdrubal",
            "Qwabe",
            "José",
            "Müller",
            "Łukasz",
            "Søren",
            "Wojciechowski",
            "Brzęczyszczykiewicz",
            "Schwartz",
            "Lloyd",
            "Aaliyah",
        ] {
            assert_eq!(keyboard_mash(name, true), None, "{name}");
        }
        for company in ["AAAA Plumbing", "KPMG", "HSBC", "BMW", "XKCD LLC"] {
            assert_eq!(keyboard_mash(company, false), None, "{company}");
        }
    }

    #[test]
    fn mashes_are() {
        for text in [
            "asdfgh",
            "Sdfsdf",
            "qwertyuiop",
            "xxxxx",
            "Bcdfgh",
            "jkljkl",
            "zxcvb",
        ] {
            assert!(keyboard_mash(text, true).is_some(), "{text}");
        }
    }

    #[test]
    fn placeholders() {
        assert!(placeholder_name(Some("Test"), None).is_some());
        assert!(placeholder_name(Some("John"), Some("Doe")).is_some());
        assert!(placeholder_name(Some("n/a"), Some("Smith")).is_some());
        assert_eq!(placeholder_name(Some("John"), Some("Testa")), None);
        assert_eq!(placeholder_name(Some("Richard"), Some("Doe")), None);
        assert_eq!(placeholder_name(Some("Demo"), Some("Sánchez")), None);
    }

    #[test]
    fn every_pattern_compiles() {
        let p = Patterns::new();
        assert!(
            p.link.is_some() && p.bare_domain.is_some() && p.script.is_some() && p.email.is_some()
        );
    }

    #[test]
    fn links_and_markup() {
        let p = Patterns::new();
        assert_eq!(
            p.links("see https://a.example/x and www.b.example, [url=c]"),
            3
        );
        assert_eq!(p.links("We use acme.com internally"), 0);
        assert_eq!(
            p.link_in_name("Best SEO cheap-links.ru"),
            Some("cheap-links.ru")
        );
        assert_eq!(p.link_in_name("St. John"), None);
        assert!(p.script_like("<script>alert(1)</script>").is_some());
        assert!(p.script_like("x' OR '1'='1").is_some());
        assert!(p.script_like("O'Brien & Sons <3").is_none());
        assert!(p.script_like("Price < 5 and > 3").is_none());
        assert!(p.company_is_address("jane@acme.com"));
        assert!(p.company_is_address("https://acme.com"));
        assert!(p.company_is_address("www.acme.com"));
        assert!(!p.company_is_address("Booking.com"));
        assert!(!p.company_is_address("AT&T"));
    }
}
