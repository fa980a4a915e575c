//! The text rules behind the content signals: links, markup, placeholders,
//! keyboard mashes, a company field that is an address. Each is a pure
//! function of one field's text; the regular expressions are compiled once
//! per [`Screen`](super::Screen), never held globally.

use regex::Regex;

use super::scan::{Keywords, Scan};
use super::swar::lanes;
use crate::lead::normalizer::trim;

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
    /// Text-formatting tags (`<b>`, `<font>`, `<h1>`…): markup in a name
    /// or company, where nobody types them, but a form's own formatting
    /// (`<br>`, `<p>`) in a message, so only names and companies are asked.
    formatting: Option<Regex>,
    /// An email address anywhere in the text.
    email: Option<Regex>,
    /// The markup keywords' searchers, for [`Scan::of`].
    pub(crate) keywords: Keywords,
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
                </?(?:script|iframe|img|svg|object|embed|style|body|a|div|span|form|input|meta|link)(?-u:\b)
                | javascript\s*:\S
                | (?-u:\b)on(?:error|load|click|mouseover|focus)\s*=
                | \{\{[^}]*[^\w\s.}][^}]*\}\} | \$\{[^}]*[^\w\s.}][^}]*\}
                | '\s*(?:or|and)\s+'?\d+'?\s*=\s*'?\d+
                | (?-u:\b)union\s+(?:all\s+)?select(?-u:\b)
                | ;\s*drop\s+table(?-u:\b)
                | \[/?(?:url|link|img)(?:=|\](?:[^(]|$))
                "#,
            )
            .ok(),
            formatting: Regex::new(
                r"(?i)</?(?:b|i|u|s|em|strong|small|big|font|center|marquee|blink|h[1-6]|p|br|hr|table|tr|td|ul|ol|li|button|textarea|select|option|label)(?-u:\b)",
            )
            .ok(),
            email: Regex::new(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}").ok(),
            keywords: Keywords::new(),
        }
    }

    /// The first link-like text in a person's name, if any: a URL, or a
    /// bare domain. `scan` is the name's [`Scan`].
    pub(crate) fn link_in_name<'t>(&self, text: &'t str, scan: &Scan) -> Option<&'t str> {
        if !scan.has_dot() && !scan.may_link() {
            return None;
        }
        find(&self.link, text).or_else(|| find(&self.bare_domain, text))
    }

    /// The first markup or injection fragment, if any. `scan` is the
    /// text's [`Scan`].
    pub(crate) fn script_like<'t>(&self, text: &'t str, scan: &Scan) -> Option<&'t str> {
        if !scan.may_script() {
            return None;
        }
        find(&self.script, text)
    }

    /// [`script_like`](Self::script_like) of a name or company: also its
    /// formatting tags (`<b>Buy</b>`).
    pub(crate) fn script_like_in_name<'t>(&self, text: &'t str, scan: &Scan) -> Option<&'t str> {
        if !scan.may_script() {
            return None;
        }
        find(&self.script, text).or_else(|| find(&self.formatting, text))
    }

    /// Whether a company field is an email address or a URL (a scheme,
    /// `www.`, or a path after a domain). A bare domain (`Booking.com`) is
    /// a company name, not a URL. `scan` is the field's [`Scan`] (of the
    /// untrimmed text: trimming removes none of the bytes it reports).
    ///
    /// Inline, the usual company (no `@`, `://` or `/`): only the `www.`
    /// test, without a call (the call cost 29 instructions of assess_only,
    /// 2,088 → 2,059).
    #[inline]
    pub(crate) fn company_is_address(&self, text: &str, scan: &Scan) -> bool {
        if !scan.has_at() && !scan.has_scheme() && !scan.has_slash() {
            return starts_with_www(trim(text));
        }
        self.company_address_rules(text, scan)
    }

    /// [`company_is_address`](Self::company_is_address) of a company with
    /// an `@`, `://` or `/`.
    #[inline(never)]
    fn company_address_rules(&self, text: &str, scan: &Scan) -> bool {
        let t = trim(text);
        (scan.has_at() && find(&self.email, t).is_some())
            || scan.has_scheme()
            || starts_with_www(t)
            || (scan.has_slash() && !t.contains(' ') && find(&self.bare_domain, t).is_some())
    }
}

/// Whether `t` starts with `www.`, ignoring ASCII case: its first four
/// bytes as one word, the three `w`s' case bit set (only `W` and `w` give
/// `w` then; the `.` is compared as it is). One compare, where
/// `eq_ignore_ascii_case` on the four bytes cost about 10 instructions more.
fn starts_with_www(t: &str) -> bool {
    t.as_bytes()
        .first_chunk::<4>()
        .is_some_and(|head| u32::from_le_bytes(*head) | 0x0020_2020 == u32::from_le_bytes(*b"www."))
}

/// Whether `text` is made only of ASCII letters, `-` and `'` (most
/// names). Such a text holds no link and no markup: every link
/// alternative needs a `:`, `.`, `[` or `<`, and every markup alternative
/// a `<`, `[`, `=`, `{`, `:`, `;`, a digit or whitespace. So
/// [`Patterns::link_in_name`] and [`Patterns::script_like`] are `None` for
/// it whatever its [`Scan`], and the screen skips the scan.
pub(crate) fn is_plain_name(text: &str) -> bool {
    all_plain(text.as_bytes(), PLAIN_NAME)
}

/// Whether every byte of `b` has `bit` in [`PLAIN`]: eight bytes at a
/// time, their entries ANDed without a branch, one test a chunk (a test
/// and early exit per byte cost about twice as much on a short name).
fn all_plain(b: &[u8], bit: u8) -> bool {
    let mut chunks = b.chunks_exact(8);
    for chunk in &mut chunks {
        if chunk.iter().fold(bit, |m, &c| m & plain(c)) == 0 {
            return false;
        }
    }
    chunks.remainder().iter().fold(bit, |m, &c| m & plain(c)) != 0
}

/// A byte [`is_plain_name`] allows.
const fn plain_name_byte(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'-' || b == b'\''
}

/// A byte [`is_plain_company`] allows.
const fn plain_company_byte(b: u8) -> bool {
    (b.is_ascii_alphanumeric() && b | 0x20 != b'u')
        || matches!(b, b' ' | b'-' | b'\'' | b'.' | b',' | b'&')
}

/// [`PLAIN`] bits: the byte may be in a plain name, a plain company.
const PLAIN_NAME: u8 = 1;
const PLAIN_COMPANY: u8 = 2;

/// Each byte's [`PLAIN_NAME`] and [`PLAIN_COMPANY`] bits, from the
/// predicates at compile time: one load and test a byte, where the
/// predicates' range compares cost about ten instructions a byte.
#[allow(clippy::indexing_slicing)] // compile time: out of bounds is a compile error
const PLAIN: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if plain_name_byte(c) { PLAIN_NAME } else { 0 }
            | if plain_company_byte(c) {
                PLAIN_COMPANY
            } else {
                0
            };
        b += 1;
    }
    t
};

/// `b`'s entry in [`PLAIN`].
fn plain(b: u8) -> u8 {
    PLAIN.get(usize::from(b)).copied().unwrap_or(0)
}

/// Whether `text` is made only of ASCII letters other than `u`, digits,
/// spaces and `-`, `'`, `.`, `,`, `&` (most company names). For such a
/// text the rules a company's [`Scan`] feeds answer as for an empty scan:
/// [`Patterns::company_is_address`] reads only `@`, `://` and `/` from it,
/// and [`Patterns::script_like`] runs only on a `<`, `[`, `=`, `{`, `:`,
/// `;` or a `union` (whose `u` is left out here). So the screen skips the
/// scan, about a hundred instructions for a short name.
#[cfg(test)]
pub(crate) fn is_plain_company(text: &str) -> bool {
    all_plain(text.as_bytes(), PLAIN_COMPANY)
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
    "-",
    "--",
    ".",
    "..",
    "...",
    "123",
    "1234",
    "?",
    "??",
    "aaa",
    "abc",
    "abcd",
    "asd",
    "asdf",
    "dummy",
    "example",
    "fake",
    "first name",
    "firstname",
    "fname",
    "foobar",
    "last name",
    "lastname",
    "lname",
    "n/a",
    "name",
    "no name",
    "noname",
    "none",
    "qwer",
    "qwerty",
    "test",
    "testing",
    "undefined",
    "xx",
    "xxx",
    "your name",
    "zxcv",
];

/// The longest entry of [`PLACEHOLDER_WORDS`] (longer names are not checked).
const LONGEST_PLACEHOLDER: usize = 10;

/// A text of at most 15 bytes as one number: its bytes, ASCII lower-cased,
/// then its length in the top byte (so `"a"` and `"a\0"` differ).
const fn short_key(text: &[u8]) -> Option<u128> {
    if text.len() > 15 {
        return None;
    }
    let mut key = (text.len() as u128) << 120;
    let (mut rest, mut shift) = (text, 0);
    while let [b, tail @ ..] = rest {
        key |= (b.to_ascii_lowercase() as u128) << shift;
        (rest, shift) = (tail, shift + 8);
    }
    Some(key)
}

/// [`PLACEHOLDER_WORDS`] as [`short_key`]s: a name is looked up with one
/// pass over it and integer compares.
#[allow(clippy::indexing_slicing)] // compile time: out of bounds is a compile error
const PLACEHOLDER_KEYS: [u128; PLACEHOLDER_WORDS.len()] = {
    let mut keys = [0u128; PLACEHOLDER_WORDS.len()];
    let (mut words, mut i) = (PLACEHOLDER_WORDS, 0);
    while let [word, rest @ ..] = words {
        keys[i] = match short_key(word.as_bytes()) {
            Some(key) => key,
            // None of the words is (a unit test checks the longest).
            None => 0,
        };
        (words, i) = (rest, i + 1);
    }
    keys
};

/// For each first byte, bit `n` set when some word of
/// [`PLACEHOLDER_WORDS`] starting with it in either ASCII case is `n`
/// bytes long: most names are passed over with one table read, before any
/// key is built (the name's byte as it is: lower-casing it first cost
/// about 8 instructions a lead more).
#[allow(clippy::indexing_slicing)] // compile time: out of bounds is a compile error
const PLACEHOLDER_STARTS: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut words = PLACEHOLDER_WORDS;
    while let [word, rest @ ..] = words {
        let b = word.as_bytes();
        t[b[0] as usize] |= 1 << b.len();
        t[b[0].to_ascii_uppercase() as usize] |= 1 << b.len();
        words = rest;
    }
    t
};

/// Whether `s` may be one of [`PLACEHOLDER_WORDS`] by its first byte and
/// length (a necessary condition; the key lookup decides).
fn may_be_placeholder(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() <= LONGEST_PLACEHOLDER
        && b.first().is_some_and(|&c| {
            let bits = PLACEHOLDER_STARTS.get(usize::from(c)).copied().unwrap_or(0);
            bits & (1 << b.len()) != 0
        })
}

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

/// Bit `n` set when some pair of [`PLACEHOLDER_PAIRS`] has a last name
/// `n` bytes long (all are shorter than 16): most full names are passed
/// over with one test, before the pairs are compared.
const PAIR_LAST_LENGTHS: u16 = {
    let (mut bits, mut pairs) = (0u16, PLACEHOLDER_PAIRS);
    while let [(_, last), rest @ ..] = pairs {
        bits |= 1 << last.len();
        pairs = rest;
    }
    bits
};

/// The placeholder the name is, if it is one: a single field that is a
/// placeholder word, or a known placeholder pair.
///
/// Inline, the prefilters only (a name's first byte and length, a last
/// name's length for the pairs): most names are passed over with them,
/// without a call (the call's set-up cost about 20 instructions a lead).
#[inline]
pub(crate) fn placeholder_name(first: Option<&str>, last: Option<&str>) -> Option<String> {
    let (f, l) = (first.map(trim), last.map(trim));
    let may_be_word = |s: Option<&str>| s.is_some_and(may_be_placeholder);
    let may_be_pair =
        f.is_some() && l.is_some_and(|l| l.len() < 16 && PAIR_LAST_LENGTHS & (1 << l.len()) != 0);
    if !may_be_word(f) && !may_be_word(l) && !may_be_pair {
        return None;
    }
    placeholder_rules(first, last, f, l)
}

/// [`placeholder_name`] past its prefilters: `f` and `l` are `first` and
/// `last` trimmed.
#[inline(never)]
fn placeholder_rules(
    first: Option<&str>,
    last: Option<&str>,
    f: Option<&str>,
    l: Option<&str>,
) -> Option<String> {
    // The list is lower-case ASCII: the name's key (lower-cased ASCII) is
    // in the list's keys exactly when it equals a word ignoring ASCII case.
    let is_word = |s: Option<&str>| {
        s.is_some_and(|s| {
            may_be_placeholder(s)
                && short_key(s.as_bytes()).is_some_and(|k| PLACEHOLDER_KEYS.contains(&k))
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
    // A pair matches only a last name of its length (`eq_ignore_ascii_case`
    // compares lengths first).
    if l.len() >= 16 || PAIR_LAST_LENGTHS & (1 << l.len()) == 0 {
        return None;
    }
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

/// Each byte's key as `row * 16 + column + 1` for an ASCII letter of
/// either case, 0 for any other byte: keys next to each other on a row
/// differ by one, and no two rows' codes are adjacent (a row has at most
/// ten keys).
#[allow(clippy::indexing_slicing)]
const KEY_CODES: [u8; 256] = {
    let mut codes = [0u8; 256];
    let mut c = 0;
    while c < 26 {
        let (r, i) = KEYS[c];
        let code = r * 16 + i + 1;
        codes[b'a' as usize + c] = code;
        codes[b'A' as usize + c] = code;
        c += 1;
    }
    codes
};

#[cfg(test)]
fn key_position(c: u8) -> Option<(usize, usize)> {
    if !c.is_ascii_lowercase() {
        return None;
    }
    KEYS.get(usize::from(c - b'a'))
        .map(|&(r, i)| (usize::from(r), usize::from(i)))
}

/// Whether the word is one chunk of 3–4 keys along a keyboard row,
/// repeated (`asdasd`, `sdfsdf`, `jkljkljkl`). Repeated syllables in real
/// names (`Tingting`, `Lulu`) are not row runs, so they do not count.
fn repeated_row_chunk(word: &[u8]) -> bool {
    (3..=4).any(|n| {
        word.len() >= 2 * n
            && word.len() % n == 0
            && word.get(..n).is_some_and(|chunk| {
                WordStats::of(chunk).row_run == n
                    && word.chunks(n).all(|c| c.eq_ignore_ascii_case(chunk))
            })
    })
}

/// How the text looks mashed, if it does. `person` applies the rules that
/// only suit personal names (no vowel in a long word, four repeated
/// letters); company names keep acronyms and `AAAA Plumbing`.
///
/// Only ASCII letters are judged: a name in another script is never a
/// keyboard mash by these rules.
#[cfg(test)]
pub(crate) fn keyboard_mash(text: &str, person: bool) -> Option<&'static str> {
    if !may_be_mashed(text.as_bytes(), person) {
        return None;
    }
    mash_rules(text, person)
}

/// The mash rules, for a text [`may_be_mashed`] passed on: out of line, so
/// that the usual call (a real name, passed over by the prefilter) does not
/// pay their set-up.
#[inline(never)]
pub(crate) fn mash_rules(text: &str, person: bool) -> Option<&'static str> {
    // Splitting the bytes on anything but an ASCII letter gives the same
    // words as splitting the text (a non-ASCII character's bytes are all
    // separators), plus empty ones.
    for word in text.as_bytes().split(|c| !c.is_ascii_alphabetic()) {
        // Every rule needs at least four letters.
        if word.len() < 4 {
            continue;
        }
        // A word longer than this is judged on its start (no name is that
        // long; a mash shows early).
        let w = word.get(..64).unwrap_or(word);
        let stats = WordStats::of(w);
        if stats.row_run >= 5 {
            return Some("keys in a row");
        }
        // A repeated chunk is a row run of at least three keys at the
        // word's start, so a word with no such run has none (this skips
        // the chunk passes for almost every real name).
        if stats.row_run >= 3 && repeated_row_chunk(w) {
            return Some("a repeated run of keys");
        }
        let repeat_limit = if person { 4 } else { 5 };
        if stats.repeat >= repeat_limit {
            return Some("one letter repeated");
        }
        if person && w.len() >= 6 && !stats.vowel {
            return Some("no vowel");
        }
    }
    None
}

/// A one-pass test that is `false` only when [`keyboard_mash`] finds
/// nothing, so that most real names are passed with a few instructions a
/// byte. Call two letters *linked* when they are the same letter or
/// neighbours on a keyboard row. Every rule needs, in a word of at least
/// four letters, either two linked pairs in a row (a row run of three or
/// more keys, which also starts every repeated chunk, is two such pairs;
/// four repeated letters are three), or, for a person, six letters with no
/// vowel among the first 64 (the part of a word the rules read), which are
/// six consonants in a row.
///
/// It is looser than the rules in one way: six consonants in a row pass
/// the text on even when their word has a vowel elsewhere (rare in a
/// name; the rules then decide). That needs no per-word state, so the
/// text is read eight bytes at a time as one `u64` of [`MASH_LANES`]
/// entries, with both tests done on all eight lanes at once (SWAR): a
/// byte at a time, the loop cost about twenty instructions a byte (two
/// compares, the word-end branch and the early exit on every byte), and a
/// byte-at-a-time loop with the consonant rule and no word-end branch
/// measured no better. Marking [`keyboard_mash`] `#[inline]` (to save its
/// call) cost more, about 70 instructions a lead; so did reading a full
/// chunk's [`MASH_LANES`] entries as an array mapped into a word instead
/// of the fold (about 25 more).
#[cfg(test)]
fn may_be_mashed(text: &[u8], person: bool) -> bool {
    let mut carry = MashCarry::default();
    let mut chunks = text.chunks_exact(8);
    for chunk in &mut chunks {
        if carry.step(mash_lanes(chunk), person) {
            return true;
        }
    }
    let rest = chunks.remainder();
    !rest.is_empty() && carry.step(mash_lanes(rest), person)
}

/// Up to eight bytes' [`MASH_LANES`] entries, the first byte in the low
/// lane; missing bytes are 0 (separators).
fn mash_lanes(chunk: &[u8]) -> u64 {
    chunk.iter().rev().fold(0, |w, &c| {
        (w << 8) | u64::from(MASH_LANES.get(usize::from(c)).copied().unwrap_or(0))
    })
}

/// What one eight-byte step of [`may_be_mashed`] passes to the next: the
/// previous word's lanes and masks, whose top lanes are the bytes just
/// before this word's first.
#[derive(Default)]
struct MashCarry {
    /// The previous word's [`MASH_LANES`] entries.
    entries: u64,
    /// Bit 7 of a lane: the byte is linked to the one before it.
    linked: u64,
    /// Bit 7 of a lane: the byte is a consonant ...
    consonant: u64,
    /// ... and so is the one before it ...
    two: u64,
    /// ... and so are the three before it.
    four: u64,
}

impl MashCarry {
    /// Whether the eight lanes of `w` (after the words already stepped)
    /// hold two linked pairs in a row or, for a `person`, six consonants
    /// in a row.
    fn step(&mut self, w: u64, person: bool) -> bool {
        const HIGH: u64 = lanes(0x80);
        // Each lane's byte before it: the lane below, or the previous
        // word's top lane.
        let before = (w << 8) | (self.entries >> 56);
        let (code, code_before) = (w & lanes(MASH_CODE), before & lanes(MASH_CODE));
        // 0x81 + code - code_before per lane: codes are below 0x40, so no
        // lane borrows from or carries into the next. Linked is a
        // difference of -1, 0 or 1, that is a lane of 0x80, 0x81 or 0x82:
        // bit 7 set and the low seven bits below 3.
        let diff = ((code | HIGH) - code_before) + lanes(1);
        let below_3 = !((diff & lanes(0x7F)) + lanes(0x7D)) & HIGH;
        // A letter's code is at least 2, a separator's 0: linked needs a
        // letter here (a letter after a separator differs by 2 or more).
        let letter = (code + lanes(0x7F)) & HIGH;
        let linked = diff & below_3 & letter;
        let mut hit = linked & ((linked << 8) | (self.linked >> 56));
        if person {
            let consonant = (w & lanes(CONSONANT)) << 1;
            let two = consonant & ((consonant << 8) | (self.consonant >> 56));
            let four = two & ((two << 16) | (self.two >> 48));
            hit |= four & ((four << 16) | (self.four >> 48));
            (self.consonant, self.two, self.four) = (consonant, two, four);
        }
        (self.entries, self.linked) = (w, linked);
        hit != 0
    }
}

/// [`MASH_LANES`]' bit for a consonant (an ASCII letter that is not a
/// vowel; `y` counts as a vowel).
const CONSONANT: u8 = 0x40;

/// [`MASH_LANES`]' bits for the key code.
const MASH_CODE: u8 = 0x3F;

/// [`MASH_LANES`]' bit for `-` and `'`, the bytes of a plain name
/// ([`is_plain_name`]) that are not letters: the mash tests read only the
/// code and [`CONSONANT`] bits (so for them these are separators, entry
/// 0), and [`survey_name`] reads "every lane non-zero" as "plain".
const NAME_PUNCT: u8 = 0x80;

/// Each byte's [`KEY_CODES`] entry plus one for a letter (so that a
/// letter's code is at least 2, never linked to a separator's 0; the
/// largest is 40), with [`CONSONANT`] set for a consonant of either case;
/// [`NAME_PUNCT`] for `-` and `'`; 0 for any other byte. What
/// [`may_be_mashed`] reads of a byte, in one lookup.
#[allow(clippy::indexing_slicing)] // compile time: out of bounds is a compile error
const MASH_LANES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let code = KEY_CODES[c];
        if code != 0 {
            let vowel = matches!((c as u8) | 0x20, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
            t[c] = (code + 1) | if vowel { 0 } else { CONSONANT };
        }
        c += 1;
    }
    t[b'-' as usize] = NAME_PUNCT;
    t[b'\'' as usize] = NAME_PUNCT;
    t
};

/// What one pass over a person's name tells the screen: whether it is
/// plain ([`is_plain_name`]: its scan can be skipped) and whether the
/// mash rules must run on it ([`may_be_mashed`] for a person). Both read
/// each byte once, through [`MASH_LANES`]: a plain name is one whose
/// lanes are all non-zero (letters and [`NAME_PUNCT`]). The two separate
/// passes cost a loop, a call and a table read a byte more. Inlining
/// [`survey_name`] into the screen (`#[inline(always)]`, to save its two
/// calls' set-up) cost 45 instructions more (assess_only 2,126 → 2,171).
/// A name shorter than eight bytes (most first names) is one word with
/// nothing carried in, surveyed on its own path where the carry is known
/// to be zero: assess_only 2,008 → 1,992, normalize_screen_evaluate
/// 15,953 → 15,928 (issue 18, second pass; the bench's `Dana`). On that
/// path a name shorter than six bytes is tested for linked pairs only (six
/// consonants in a row need six bytes): the two names' surveys 238 → 226
/// (issue 18, third pass). A name of 8 to 15 bytes (the bench's
/// `Whitfield`) is two words on a path of its own, without the loop and
/// its early exit: assess_only 1,687 → 1,675.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameSurvey {
    /// [`is_plain_name`].
    pub(crate) plain: bool,
    /// [`may_be_mashed`], for a person.
    pub(crate) may_mash: bool,
}

/// Whether no lane (byte) of `w` is zero (the exact has-zero-byte test:
/// a zero lane is the lowest to borrow, and sets its own bit 7).
fn no_zero_lane(w: u64) -> bool {
    w.wrapping_sub(lanes(1)) & !w & lanes(0x80) == 0
}

/// [`NameSurvey`] of a person's name.
pub(crate) fn survey_name(text: &str) -> NameSurvey {
    let b = text.as_bytes();
    if b.len() < 8 {
        // One word, nothing carried in.
        let w = mash_lanes(b);
        let past_end = u64::MAX.checked_shl(8 * b.len() as u32).unwrap_or(0);
        return NameSurvey {
            plain: no_zero_lane(w | past_end),
            // Six consonants in a row need six bytes: a shorter name is
            // tested for linked pairs only.
            may_mash: MashCarry::default().step(w, b.len() >= 6),
        };
    }
    if let Some((head, rest)) = b.split_at_checked(8).filter(|(_, rest)| rest.len() < 8) {
        // Two words (the second maybe empty), without the loop.
        let (w0, w1) = (mash_lanes(head), mash_lanes(rest));
        let past_end = u64::MAX.checked_shl(8 * rest.len() as u32).unwrap_or(0);
        let mut carry = MashCarry::default();
        let may_mash = carry.step(w0, true) | carry.step(w1, true);
        return NameSurvey {
            plain: no_zero_lane(w0) && no_zero_lane(w1 | past_end),
            may_mash,
        };
    }
    let mut carry = MashCarry::default();
    let mut plain = true;
    let mut chunks = b.chunks_exact(8);
    for chunk in &mut chunks {
        let w = mash_lanes(chunk);
        plain &= no_zero_lane(w);
        if carry.step(w, true) {
            // Rare (a mash or a long consonant run): the rest of the text
            // is read for plainness on its own.
            return NameSurvey {
                plain: is_plain_name(text),
                may_mash: true,
            };
        }
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return NameSurvey {
            plain,
            may_mash: false,
        };
    }
    let w = mash_lanes(rest);
    // The lanes past the text's end count as plain (1 to 7 bytes are
    // left, so the shift is below 64).
    let past_end = u64::MAX.checked_shl(8 * rest.len() as u32).unwrap_or(0);
    NameSurvey {
        plain: plain && no_zero_lane(w | past_end),
        may_mash: carry.step(w, true),
    }
}

/// [`COMPANY_LANES`]' bit for a byte [`is_plain_company`] allows.
const COMPANY_PLAIN: u8 = 0x80;

/// Each byte's [`MASH_LANES`] key code (the [`MASH_CODE`] bits, all a
/// company's mash test reads), with [`COMPANY_PLAIN`] set for a byte
/// [`is_plain_company`] allows: what [`survey_company`] reads of a byte,
/// in one lookup.
#[allow(clippy::indexing_slicing)] // compile time: out of bounds is a compile error
const COMPANY_LANES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = (MASH_LANES[c] & MASH_CODE)
            | if plain_company_byte(c as u8) {
                COMPANY_PLAIN
            } else {
                0
            };
        c += 1;
    }
    t
};

/// Up to eight bytes' [`COMPANY_LANES`] entries, the first byte in the low
/// lane; missing bytes are 0.
fn company_lanes(chunk: &[u8]) -> u64 {
    chunk.iter().rev().fold(0, |w, &c| {
        (w << 8) | u64::from(COMPANY_LANES.get(usize::from(c)).copied().unwrap_or(0))
    })
}

/// What one pass over a company's name tells the screen: whether it is
/// plain ([`is_plain_company`]: its scan can be skipped) and whether the
/// mash rules must run on it ([`may_be_mashed`] for a company, not a
/// person). Both read each byte once, through [`COMPANY_LANES`], where the
/// two passes read it through a table each, in two loops and a call:
/// assess_only 1,992 → 1,974 on the bench lead (`Globex Inc`; issue 18,
/// third pass). An earlier one-loop survey of the company (reading the two
/// tables) measured 7 more; one table is what makes it cheaper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompanySurvey {
    /// [`is_plain_company`].
    pub(crate) plain: bool,
    /// [`may_be_mashed`], for a company.
    pub(crate) may_mash: bool,
}

/// [`CompanySurvey`] of a company's name. Inline (the screen calls it
/// once): 11 instructions fewer on the bench lead (assess_only 1,698 →
/// 1,687). Measured and left: without the loop's early exit once both
/// answers are known, 1 fewer, not worth a full pass over a long company.
/// A company of 8 to 15 bytes (the bench's `Globex Inc`) is two words on a
/// path of its own, as for a name: 1,675 → 1,656.
#[inline(always)]
pub(crate) fn survey_company(text: &str) -> CompanySurvey {
    const HIGH: u64 = lanes(COMPANY_PLAIN);
    let b = text.as_bytes();
    if let Some((head, rest)) = b.split_at_checked(8).filter(|(_, rest)| rest.len() < 8) {
        // Two words (the second maybe empty), without the loop.
        let (w0, w1) = (company_lanes(head), company_lanes(rest));
        let past_end = u64::MAX.checked_shl(8 * rest.len() as u32).unwrap_or(0);
        let mut carry = MashCarry::default();
        let may_mash = carry.step(w0, false) | carry.step(w1, false);
        return CompanySurvey {
            plain: (w0 & (w1 | past_end)) & HIGH == HIGH,
            may_mash,
        };
    }
    let mut carry = MashCarry::default();
    let (mut plain, mut may_mash) = (true, false);
    let mut chunks = b.chunks_exact(8);
    for chunk in &mut chunks {
        let w = company_lanes(chunk);
        plain &= w & HIGH == HIGH;
        may_mash |= carry.step(w, false);
        if may_mash && !plain {
            return CompanySurvey { plain, may_mash };
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let w = company_lanes(rest);
        // The lanes past the text's end count as plain (1 to 7 bytes are
        // left, so the shift is below 64).
        let past_end = u64::MAX.checked_shl(8 * rest.len() as u32).unwrap_or(0);
        plain &= (w | past_end) & HIGH == HIGH;
        may_mash |= carry.step(w, false);
    }
    CompanySurvey { plain, may_mash }
}

/// What the mash rules ask about one word of ASCII letters, in one pass,
/// ignoring ASCII case.
#[derive(Debug, PartialEq, Eq)]
struct WordStats {
    /// The longest run of keys that follow each other along one keyboard
    /// row, either direction (`sdfgh` is 5).
    row_run: usize,
    /// The longest run of one repeated letter.
    repeat: usize,
    /// Whether it has a vowel (`y` counts).
    vowel: bool,
}

impl WordStats {
    fn of(word: &[u8]) -> WordStats {
        let mut stats = WordStats {
            row_run: usize::from(!word.is_empty()),
            repeat: usize::from(!word.is_empty()),
            vowel: false,
        };
        let (mut up, mut down, mut run) = (1, 1, 1);
        let (mut prev, mut prev_key) = (None, 0u8);
        for &c in word {
            let lower = c.to_ascii_lowercase();
            let key = KEY_CODES.get(usize::from(c)).copied().unwrap_or(0);
            if let Some(p) = prev {
                run = if p == lower { run + 1 } else { 1 };
                let keys = key != 0 && prev_key != 0;
                if keys && key == prev_key + 1 {
                    up += 1;
                    down = 1;
                } else if keys && key + 1 == prev_key {
                    down += 1;
                    up = 1;
                } else {
                    (up, down) = (1, 1);
                }
                stats.row_run = stats.row_run.max(up).max(down);
                stats.repeat = stats.repeat.max(run);
            }
            stats.vowel |= matches!(lower, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
            (prev, prev_key) = (Some(lower), key);
        }
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The mash rules as they were written before the one-pass
    /// [`WordStats`], kept as the reference it must agree with.
    mod reference {
        use super::super::{key_position, repeated_row_chunk};

        /// The longest run of keys that follow each other along one keyboard row
        /// (`sdfgh` is 5), either direction.
        pub fn longest_row_run(word: &[u8]) -> usize {
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
        pub fn longest_repeat(word: &[u8]) -> usize {
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

        pub fn keyboard_mash(text: &str, person: bool) -> Option<&'static str> {
            for word in text.split(|c: char| !c.is_ascii_alphabetic()) {
                if word.len() < 4 {
                    continue;
                }
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

        /// The mash prefilter as it was written before the one-lookup
        /// [`MASH_LANES`](super::super::MASH_LANES) table.
        pub fn may_be_mashed(text: &[u8], person: bool) -> bool {
            let (mut len, mut vowel) = (0usize, false);
            let (mut prev_code, mut prev_lower, mut prev_linked) = (0u8, 0u8, false);
            for &c in text {
                let code = super::super::KEY_CODES
                    .get(usize::from(c))
                    .copied()
                    .unwrap_or(0);
                if code == 0 {
                    if person && len >= 6 && !vowel {
                        return true;
                    }
                    (len, vowel, prev_code, prev_linked) = (0, false, 0, false);
                    continue;
                }
                let lower = c | 0x20;
                let linked =
                    prev_code != 0 && (lower == prev_lower || code.abs_diff(prev_code) == 1);
                if linked && prev_linked {
                    return true;
                }
                if len < 64 {
                    vowel |= matches!(lower, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
                }
                len += 1;
                (prev_code, prev_lower, prev_linked) = (code, lower, linked);
            }
            person && len >= 6 && !vowel
        }

        pub fn placeholder_word(s: &str) -> bool {
            s.len() <= super::super::LONGEST_PLACEHOLDER
                && super::super::PLACEHOLDER_WORDS
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(s))
        }
    }

    use reference::{longest_repeat, longest_row_run};

    /// [`Scan::of`] with fresh searchers.
    fn scan(text: &str) -> Scan {
        Scan::of(text, &Keywords::new())
    }

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
        let name = |t: &str| p.link_in_name(t, &scan(t)).map(str::to_owned);
        let script = |t: &str| p.script_like(t, &scan(t)).is_some();
        let company = |t: &str| p.company_is_address(t, &scan(t));
        assert_eq!(
            name("Best SEO cheap-links.ru").as_deref(),
            Some("cheap-links.ru")
        );
        assert_eq!(name("St. John"), None);
        assert!(script("<script>alert(1)</script>"));
        assert!(script("x' OR '1'='1"));
        assert!(!script("O'Brien & Sons <3"));
        assert!(!script("Price < 5 and > 3"));
        assert!(company("jane@acme.com"));
        assert!(company("https://acme.com"));
        assert!(company("www.acme.com"));
        assert!(company("acme.com/about"));
        assert!(!company("Booking.com"));
        assert!(!company("AT&T"));
        assert!(!company("Smith / Jones"));
    }

    #[test]
    fn the_placeholder_list_is_lower_case_and_bounded() {
        assert!(
            PLACEHOLDER_WORDS
                .iter()
                .all(|w| !w.bytes().any(|c| c.is_ascii_uppercase()))
        );
        assert_eq!(
            PLACEHOLDER_WORDS.iter().map(|w| w.len()).max(),
            Some(LONGEST_PLACEHOLDER)
        );
    }

    /// Words made of keyboard runs, repeats and real-name pieces, in any
    /// case, so that every rule is exercised.
    fn name_like() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z]{1,8}",
            Just("asdfg".to_owned()),
            Just("SDF".to_owned()),
            Just("sdfsdf".to_owned()),
            Just("jkl".to_owned()),
            Just("lkjh".to_owned()),
            Just("xxxx".to_owned()),
            Just("Aaaa".to_owned()),
            Just("bcdfgh".to_owned()),
            Just("qwer".to_owned()),
            Just("ty".to_owned()),
            Just("é".to_owned()),
            Just("ß".to_owned()),
            Just(" ".to_owned()),
            Just("-".to_owned()),
            Just("'".to_owned()),
            Just("n/a".to_owned()),
            Just("Test".to_owned()),
        ];
        proptest::collection::vec(piece, 0..10).prop_map(|v| v.concat())
    }

    /// The name survey on the lengths around its eight-byte steps, with the
    /// one byte that makes a name not plain at every position.
    #[test]
    fn the_name_survey_at_every_length_and_position() {
        for len in 0..20 {
            let name: String = "Whitfield-O'Brianxyz".chars().take(len).collect();
            assert_eq!(survey_name(&name).plain, is_plain_name(&name), "{name:?}");
            for at in 0..len {
                let mut bytes = name.clone().into_bytes();
                for bad in [b' ', b'.', 0, b'1'] {
                    if let Some(b) = bytes.get_mut(at) {
                        *b = bad;
                    }
                    let bad_name = String::from_utf8(bytes.clone()).unwrap();
                    let survey = survey_name(&bad_name);
                    assert!(!survey.plain, "{bad_name:?}");
                    assert_eq!(survey.may_mash, may_be_mashed(bad_name.as_bytes(), true));
                }
            }
        }
    }

    /// Every byte, ASCII and not, against the predicates the table replaces.
    /// The company survey on the lengths around its eight-byte steps, with
    /// a byte that makes a company not plain, or a run of keys, at every
    /// position.
    #[test]
    fn the_company_survey_at_every_length_and_position() {
        for len in 0..20 {
            let company: String = "Globex Inc, O'Brien&".chars().take(len).collect();
            let survey = survey_company(&company);
            assert_eq!(survey.plain, is_plain_company(&company), "{company:?}");
            assert_eq!(survey.may_mash, may_be_mashed(company.as_bytes(), false));
            for at in 0..len {
                for bad in ["u", "@", "\0", "asd", "é"] {
                    let mut bad_company = company.clone();
                    bad_company.replace_range(at..at + 1, bad);
                    let survey = survey_company(&bad_company);
                    assert_eq!(
                        survey.plain,
                        is_plain_company(&bad_company),
                        "{bad_company:?}"
                    );
                    assert_eq!(
                        survey.may_mash,
                        may_be_mashed(bad_company.as_bytes(), false),
                        "{bad_company:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_plain_table_is_the_predicates() {
        for b in 0..=u8::MAX {
            assert_eq!(
                plain(b) & PLAIN_NAME != 0,
                b.is_ascii_alphabetic() || b == b'-' || b == b'\'',
                "{b:#x}"
            );
            assert_eq!(
                plain(b) & PLAIN_COMPANY != 0,
                (b.is_ascii_alphanumeric() && !matches!(b, b'u' | b'U')) || b" -'.,&".contains(&b),
                "{b:#x}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_one_pass_mash_rules_agree_with_the_reference(text in name_like(), person in any::<bool>()) {
            prop_assert_eq!(keyboard_mash(&text, person), reference::keyboard_mash(&text, person));
        }

        #[test]
        fn plain_names_have_no_link_and_no_markup(
            text in "([a-zA-Z'-]|union|select|javascript|www|http|on|url|href|drop|table|or|and){0,8}",
        ) {
            prop_assert!(is_plain_name(&text));
            // Compiled once for all the cases (debug-build regex compiles are slow).
            static PATTERNS: std::sync::LazyLock<Patterns> = std::sync::LazyLock::new(Patterns::new);
            let p = &*PATTERNS;
            let scan = scan(&text);
            prop_assert_eq!(p.link_in_name(&text, &scan), None);
            prop_assert_eq!(p.script_like(&text, &scan), None);
            // The regular expressions themselves, without the scan's prefilter.
            prop_assert_eq!(find(&p.link, &text), None);
            prop_assert_eq!(find(&p.bare_domain, &text), None);
            prop_assert_eq!(find(&p.script, &text), None);
        }

        #[test]
        fn plain_companies_answer_as_with_their_scan(
            text in prop_oneof![
                "([a-zA-Z0-9 .,&'-]|Inc|GmbH|www|com|http|on|select|drop|javascript|nion){0,8}",
                any::<String>(),
                "[ -~]{0,24}",
            ],
        ) {
            static PATTERNS: std::sync::LazyLock<Patterns> = std::sync::LazyLock::new(Patterns::new);
            let p = &*PATTERNS;
            if is_plain_company(&text) {
                let (full, none) = (scan(&text), Scan::default());
                prop_assert_eq!(p.script_like(&text, &full), p.script_like(&text, &none));
                prop_assert_eq!(p.company_is_address(&text, &full), p.company_is_address(&text, &none));
                // Without the scan's prefilter, too.
                prop_assert_eq!(find(&p.script, &text), None);
            } else {
                prop_assert!(text.bytes().any(|b| b | 0x20 == b'u' || !(b.is_ascii_alphanumeric() || b" -'.,&".contains(&b))));
            }
        }

        #[test]
        fn plain_company_examples(
            company in proptest::sample::select(&["Globex Inc", "AT&T", "Acme, Ltd.", "O'Brien-Smith 3", "", "ACME"][..]),
        ) {
            prop_assert!(is_plain_company(company));
        }

        #[test]
        fn the_one_lookup_prefilter_agrees_with_the_reference(
            text in prop_oneof![name_like(), any::<String>(), "[qwertyuiopasdfghjklzxcvbnmQWERTYAEIOUY -]{0,80}", "[bcdfghjklmnpqrstvwxz]{60,70}[aeiou]{0,2}"],
            person in any::<bool>(),
        ) {
            let (fast, slow) = (
                may_be_mashed(text.as_bytes(), person),
                reference::may_be_mashed(text.as_bytes(), person),
            );
            // Never `false` where the reference is `true`; `true` where it
            // is `false` only for a person's name with six consonants in a
            // row (in a word that has a vowel elsewhere, or beyond the 64
            // letters the rules read).
            let six_consonants = text
                .as_bytes()
                .split(|c| {
                    !c.is_ascii_alphabetic()
                        || matches!(c.to_ascii_lowercase(), b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
                })
                .any(|run| run.len() >= 6);
            prop_assert!(!slow || fast, "{:?}", text);
            prop_assert!(!fast || slow || (person && six_consonants), "{:?}", text);
        }

        #[test]
        fn the_name_survey_is_the_plain_test_and_the_mash_prefilter(
            text in prop_oneof![
                name_like(),
                any::<String>(),
                "[a-zA-Z'-]{0,40}",
                "([a-zA-Z'-]{0,9}[ .0-9é\x00]?){0,4}",
            ],
        ) {
            let survey = survey_name(&text);
            prop_assert_eq!(survey.plain, is_plain_name(&text), "{:?}", text);
            prop_assert_eq!(survey.may_mash, may_be_mashed(text.as_bytes(), true), "{:?}", text);
        }

        #[test]
        fn the_short_name_survey_is_the_plain_test_and_the_mash_prefilter(
            text in "[bcdfghjklmnpqrstvwxzBCDFGH aeiouyAE'.-]{0,8}",
        ) {
            // Short names (one word, the path that leaves out the consonant
            // rule below six bytes), most of them runs of consonants.
            let survey = survey_name(&text);
            prop_assert_eq!(survey.plain, is_plain_name(&text), "{:?}", text);
            prop_assert_eq!(survey.may_mash, may_be_mashed(text.as_bytes(), true), "{:?}", text);
        }

        #[test]
        fn the_company_survey_is_the_plain_test_and_the_mash_prefilter(
            text in prop_oneof![
                name_like(),
                any::<String>(),
                "[a-zA-Z0-9 '&.,-]{0,40}",
                "([a-zA-Z0-9 '-]{0,9}[uU@/:é\x00]?){0,4}",
                "([qwertyuiopasdfghjklzxcvbnmQWERTY ]|asdf|sdfg|qwer|aaaa|aaaaa){0,12}",
            ],
        ) {
            let survey = survey_company(&text);
            prop_assert_eq!(survey.plain, is_plain_company(&text), "{:?}", text);
            prop_assert_eq!(survey.may_mash, may_be_mashed(text.as_bytes(), false), "{:?}", text);
        }

        #[test]
        fn the_prefilter_never_hides_a_mash(text in name_like(), person in any::<bool>()) {
            if reference::keyboard_mash(&text, person).is_some() {
                prop_assert!(may_be_mashed(text.as_bytes(), person), "{:?}", text);
            }
        }

        #[test]
        fn the_prefilter_never_hides_a_mash_in_row_text(
            text in "([qwertyuiopasdfghjklzxcvbnmQWERTY]|asdf|sdfg|qwer|aaaa|bcdfg| |-|é){0,12}",
            person in any::<bool>(),
        ) {
            if reference::keyboard_mash(&text, person).is_some() {
                prop_assert!(may_be_mashed(text.as_bytes(), person), "{:?}", text);
            }
            prop_assert_eq!(keyboard_mash(&text, person), reference::keyboard_mash(&text, person));
        }

        #[test]
        fn the_www_test_is_a_case_insensitive_prefix(
            text in "([wW.\x0e\x57\x77\x2e\x07é]|ww|www|WWW|wWw|www[.]|WwW[.]|x){0,4}",
        ) {
            let want = text.get(..4).is_some_and(|h| h.eq_ignore_ascii_case("www."));
            prop_assert_eq!(starts_with_www(&text), want, "{:?}", text);
        }

        #[test]
        fn the_placeholder_prefilter_passes_every_placeholder(
            word in proptest::sample::select(PLACEHOLDER_WORDS),
            upper in any::<bool>(),
            text in "[a-zA-Z.?1-9 /-]{0,11}",
        ) {
            let word = if upper { word.to_ascii_uppercase() } else { word.to_owned() };
            prop_assert!(may_be_placeholder(&word));
            let listed = PLACEHOLDER_WORDS.iter().any(|w| w.eq_ignore_ascii_case(&text));
            prop_assert!(!listed || may_be_placeholder(&text));
        }

        #[test]
        fn the_mash_rules_agree_on_any_text(text in any::<String>(), person in any::<bool>()) {
            prop_assert_eq!(keyboard_mash(&text, person), reference::keyboard_mash(&text, person));
        }

        #[test]
        fn the_quick_trim_is_trim(text in "[ a\\t\\x0b\u{a0}\u{2003}é.]{0,6}") {
            prop_assert_eq!(trim(&text), text.trim());
        }

        #[test]
        fn word_stats_agree_with_the_reference(word in "[a-zA-Z]{0,70}") {
            let lower = word.to_ascii_lowercase();
            let stats = WordStats::of(word.as_bytes());
            prop_assert_eq!(stats.row_run, longest_row_run(lower.as_bytes()));
            prop_assert_eq!(stats.repeat, longest_repeat(lower.as_bytes()));
        }

        #[test]
        fn placeholder_lookup_agrees_with_the_list(word in prop_oneof![
            "[a-zA-Z/ .?-]{0,11}",
            proptest::sample::select(PLACEHOLDER_WORDS).prop_map(|w| w.to_uppercase()),
            proptest::sample::select(PLACEHOLDER_WORDS).prop_map(str::to_owned),
        ]) {
            prop_assert_eq!(
                placeholder_name(Some(&word), None).is_some(),
                reference::placeholder_word(word.trim())
            );
        }

        #[test]
        fn placeholder_pairs_agree_with_the_list(
            first in prop_oneof![
                "[a-zA-Zé ]{0,8}",
                proptest::sample::select(PLACEHOLDER_PAIRS).prop_map(|(f, _)| f.to_uppercase()),
                proptest::sample::select(PLACEHOLDER_PAIRS).prop_map(|(f, _)| f.to_owned()),
            ],
            last in prop_oneof![
                "[a-zA-Zé ]{0,18}",
                proptest::sample::select(PLACEHOLDER_PAIRS).prop_map(|(_, l)| format!(" {} ", l.to_uppercase())),
                proptest::sample::select(PLACEHOLDER_PAIRS).prop_map(|(_, l)| l.to_owned()),
            ],
        ) {
            // The length prefilter against the pair list compared in full.
            let (f, l) = (first.trim(), last.trim());
            let word = |s: &str| PLACEHOLDER_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s));
            let want = if word(f) || word(l) {
                Some(format!("{first} {last}"))
            } else {
                PLACEHOLDER_PAIRS
                    .iter()
                    .any(|(a, b)| a.eq_ignore_ascii_case(f) && b.eq_ignore_ascii_case(l))
                    .then(|| format!("{f} {l}"))
            };
            prop_assert_eq!(placeholder_name(Some(&first), Some(&last)), want);
        }
    }
}
