//! One scan of a text field for everything the text rules' cheap checks ask
//! about: which marker bytes occur, whether a link marker or a markup
//! keyword is present, and how many links the text holds.
//!
//! # Why this shape
//!
//! The rules used to ask one question per pass (`contains('<')`, then a
//! case-insensitive search for `javascript`, then `drop`, then `union`,
//! then the link markers, then the link count), so a message was read six
//! to nine times. Here it is read once, branch-free, to learn which of a
//! dozen bytes occur (a table lookup and an OR per pair of bytes, see
//! below); the few
//! questions that need positions are then asked only when that first pass
//! says they can be true:
//!
//! - a link starts at `http://` or `https://` (found at the `:` of `://`,
//!   looking back), `www.` (at the `.`, looking back), `[url` (at the `[`)
//!   or `<a ` (at the `<`);
//! - `javascript` matters only with a `:` in the text, `drop` only with a
//!   `;`, so those searches run only then, and none of the keyword searches
//!   runs once a `<`, `[` or `=` has already decided.
//!
//! The link anchors are found in the same pass: it reads the text eight
//! bytes at a time, and a chunk whose flags hold an anchor byte (a `.`
//! only with a `w` in it or the chunk before) is looked at again in
//! place: its anchor bytes' positions as the bits of one word (four exact
//! zero-byte tests), each then checked (issue 18: re-reading the chunk
//! byte by byte through the flag table cost 44 more of assess_only's
//! 2,188 on the bench lead, whose message re-reads one chunk). A `memchr3` over the anchors after the first pass (as before)
//! cost more: its set-up was paid again at every hit, and a message's
//! sentences end in dots. The keywords are searched
//! for on the text lower-cased (ASCII) into a 256-byte stack window, with
//! searchers built once per screen (`memchr::memmem`, [`Keywords`]): a
//! search from every occurrence of the keyword's first letter (`memchr2`,
//! as before) paid its set-up again at every hit, and the `u` of `union`
//! is in most messages, several times. A text with no upper-case letter of
//! the keyword (the first pass notes them too) is searched as it is, with
//! no lower-cased copy: there, a match ignoring case is a match as written.
//!
//! Measured and left: searching the link markers themselves (`://`,
//! `www.`, `<a`, `[url`) the same way, merged in text order, cost more
//! than `memchr3` at the anchors did on the bench message (four
//! searchers' calls and iterators outweigh a few hits); so did an
//! eight-bytes-a-time (SWAR) search for the keywords' first letter. So
//! did 16-byte chunks for the first pass (the rest read as one 8-byte
//! piece and a tail, through a closure): about 260 instructions more on
//! the bench lead; keeping the flags in a local instead of the `Scan`
//! changed nothing (the compiler already did). Measured again and left
//! (assess_only on the bench lead): looking for `union` at each `u` of
//! the chunks the first pass flags (the chunk re-read in place, as for the
//! anchors) cost about 270 instructions more than the prebuilt searcher,
//! and a separate SWAR pass for its `u`s about 250 more; a re-read costs
//! some hundred instructions a chunk, and a message has a `u` in most.
//!
//! What is kept (issue 18, second pass): `union` is searched for only where
//! the text has a `un` (ASCII case ignored). That pass found it with a
//! word test of each chunk holding a `u` (its `u`s and `n`s as bits, exact
//! zero-byte tests, about 27 instructions a chunk; the bench message has
//! `u`s in three chunks and no `un`): assess_only 2,050 → 2,008. Measured
//! and left then: the pair found with one zero-byte test instead of two and
//! an AND cost 12 more (layout).
//!
//! Since the third pass the pair table answers it: a pair that is `un` has
//! the [`UN`] flag, so the first pass finds every `un` at an even offset
//! for nothing, and a pair whose second byte is a `u` has [`U_SECOND`], so
//! only a chunk with one has its odd-offset pairs looked up ([`odd_un`]:
//! the eight bytes after the chunk's first, as one more chunk of pairs).
//! The `u` flag is gone, and `<` and `[` share a flag to make room (every
//! question asks about both). The bench message has one such chunk:
//! assess_only 1,836 → 1,778. [`odd_un`] is out of line: inline, the
//! compiler kept five counters for the chunk loop instead of one (1,833).
//!
//! Measured and left (issue 18, assess_only on the bench lead, whose
//! message is 125 bytes; the scan was 743 instructions of its 2,323):
//! SSE2 compares for the first pass. The `core::arch::x86_64` intrinsics
//! cannot be called here: with rustc 1.95 each is a `#[target_feature]`
//! function, and calling one from a function without that attribute needs
//! `unsafe` even where `sse2` is on in the build (the compiler says so),
//! while a safe `#[target_feature(enable = "sse2")]` function of ours
//! would need `unsafe` at its own call site; the crate forbids it. So the
//! same sixteen-bytes-a-time shape was written element-wise for LLVM to
//! vectorize: each marker compared across the chunk and ORed, as one bit
//! of two bytes per lane, into two accumulators, and the chunk's anchor,
//! dot, `w` and upper-case positions gathered into bit masks (a multiply
//! per eight bytes), so that only those bytes are looked at again. LLVM
//! did make it `pcmpeqb`s, but the scan cost 1,490 to 1,504 instructions
//! (with a copy of the tail into a zeroed chunk; written with
//! `array::from_fn` 1,892 to 2,119, and as a loop over a table of marks,
//! not vectorized, 10,700). Without a byte shuffle (SSSE3, not baseline)
//! every marker costs a compare and an OR (and, packed into bits, an AND)
//! per chunk: for the thirteen markers that is already as much as the
//! table's two instructions a byte (32 a chunk) before any anchor is
//! looked at or any mask gathered.
//!
//! An Aho–Corasick automaton over all the needles (the `aho-corasick`
//! crate, already in the tree through `regex`) was measured as the
//! alternative: with ASCII case-insensitivity it has no SIMD prefilter,
//! walks every byte through its DFA, and its per-search set-up outweighs a
//! short name field; it cost about twice this scan on a message and three
//! to four times on a name (callgrind, instructions).
//!
//! Measured and left as well (issue 18): the `http`/`https` test before a
//! `://` as one masked four-byte word compare instead of
//! `ends_with_ci`'s byte loop saved 3 instructions (assess_only 2,126 →
//! 2,123), not worth a second way of comparing.
//!
//! The first pass reads its flags a pair of bytes at a time (issue 18,
//! third pass): [`PAIR_FLAGS`] holds, for each of the 65,536 pairs, the
//! two bytes' [`FLAGS`] ORed, so a chunk's flags are four 16-bit loads and
//! four table ORs where they were eight of each. assess_only on the bench
//! lead 1,974 → 1,873 (the scan's own instructions 558 → 455), and 1,852
//! with the tail's flags read from the text's last eight bytes (one whole
//! chunk's lookups instead of a loop over its pairs). The cost is the
//! table's 128 KiB of read-only data (a text touches only the entries of
//! the pairs it holds; pairs of ASCII bytes are all in its lower half).
//! Measured and left on the way: building the pair index from two byte
//! loads (what the compiler made of `u16::from_le_bytes([a, b])` on a
//! chunk's destructured bytes) cost more than the byte table (2,029); read
//! from `chunks_exact(2)` it is one load. Searching for `union` without
//! the `un` gate (its searcher run on every message) cost 23 more.
//!
//! The results are exactly those of the separate passes, which the tests
//! keep as a reference implementation and compare on arbitrary text.

use memchr::memmem;

use super::swar::{lanes, le_word, zero_lanes};

/// Which bytes occur (the first pass), and whether a keyword's upper-case
/// letters do. `<` and `[` share a flag: every question asks about both
/// (an anchor; a markup start).
const LT_OR_LBRACKET: u16 = 1 << 0;
/// A pair of [`PAIR_FLAGS`] whose second byte is `u` (ASCII case ignored):
/// the pair that starts there, at an odd offset, may be `un`.
const U_SECOND: u16 = 1 << 1;
const EQUALS: u16 = 1 << 2;
const BRACE: u16 = 1 << 3;
const COLON: u16 = 1 << 4;
const SEMICOLON: u16 = 1 << 5;
const DOT: u16 = 1 << 6;
const AT: u16 = 1 << 7;
const SLASH: u16 = 1 << 8;
const LETTER_J: u16 = 1 << 9;
const LETTER_D: u16 = 1 << 10;
/// A pair of [`PAIR_FLAGS`] that is `un` (ASCII case ignored).
const UN: u16 = 1 << 11;
const LETTER_W: u16 = 1 << 12;
/// An upper-case letter of `union`, of `drop`, of `javascript`: without
/// one, the keyword occurs ignoring case exactly where it occurs as
/// written, so the text is searched as it is, not lower-cased first.
const UPPER_UNION: u16 = 1 << 13;
const UPPER_DROP: u16 = 1 << 14;
const UPPER_JAVASCRIPT: u16 = 1 << 15;

/// Each byte's flag (0 for the bytes no rule hangs on).
#[allow(clippy::indexing_slicing)] // compile time: out of bounds is a compile error
const FLAGS: [u16; 256] = {
    let mut t = [0u16; 256];
    let marks: [(u8, u16); 15] = [
        (b'<', LT_OR_LBRACKET),
        (b'[', LT_OR_LBRACKET),
        (b'=', EQUALS),
        (b'{', BRACE),
        (b':', COLON),
        (b';', SEMICOLON),
        (b'.', DOT),
        (b'@', AT),
        (b'/', SLASH),
        (b'j', LETTER_J),
        (b'J', LETTER_J),
        (b'd', LETTER_D),
        (b'D', LETTER_D),
        (b'w', LETTER_W),
        (b'W', LETTER_W),
    ];
    let mut i = 0;
    while i < marks.len() {
        let (byte, flag) = marks[i];
        t[byte as usize] = flag;
        i += 1;
    }
    let uppers: [(&[u8], u16); 3] = [
        (b"UNION", UPPER_UNION),
        (b"DROP", UPPER_DROP),
        (b"JAVASCRIPT", UPPER_JAVASCRIPT),
    ];
    let mut k = 0;
    while k < uppers.len() {
        let (word, flag) = uppers[k];
        let mut i = 0;
        while i < word.len() {
            t[word[i] as usize] |= flag;
            i += 1;
        }
        k += 1;
    }
    t
};

/// Each pair of bytes' [`FLAGS`], ORed, indexed by the pair read as a
/// little-endian `u16`: an eight-byte chunk's flags in four lookups.
#[allow(clippy::indexing_slicing)] // compile time: out of bounds is a compile error
static PAIR_FLAGS: [u16; 1 << 16] = {
    let mut t = [0u16; 1 << 16];
    let mut i = 0;
    while i < t.len() {
        let (first, second) = (i & 0xFF, i >> 8);
        t[i] = FLAGS[first] | FLAGS[second];
        // Setting bit 5 maps only `U` and `u` to `u`, only `N` and `n` to
        // `n`.
        if second as u8 | 0x20 == b'u' {
            t[i] |= U_SECOND;
        }
        if first as u8 | 0x20 == b'u' && second as u8 | 0x20 == b'n' {
            t[i] |= UN;
        }
        i += 1;
    }
    t
};

/// A pair of bytes' entry in [`PAIR_FLAGS`].
fn pair_flags(pair: [u8; 2]) -> u16 {
    PAIR_FLAGS
        .get(usize::from(u16::from_le_bytes(pair)))
        .copied()
        .unwrap_or(0)
}

/// A chunk's [`FLAGS`], ORed: a lookup per pair of bytes (and one for an
/// odd last byte).
fn chunk_flags(chunk: &[u8]) -> u16 {
    let mut pairs = chunk.chunks_exact(2);
    let f = (&mut pairs).fold(0, |s, p| s | p.try_into().map_or(0, pair_flags));
    pairs.remainder().iter().fold(f, |s, &c| s | flags(c))
}

/// Whether a chunk with flags `f`, after a chunk with flags `before`, may
/// hold a link marker or start. Sentences end in dots, so a `.` counts
/// only with a `w` in the chunk or the one before: the `w` just before the
/// `.` of `www.` is in one of the two.
fn has_anchor(f: u16, before: u16) -> bool {
    f & (COLON | LT_OR_LBRACKET) != 0 || (f & DOT != 0 && (f | before) & LETTER_W != 0)
}

/// `c`'s entry in [`FLAGS`].
fn flags(c: u8) -> u16 {
    FLAGS.get(usize::from(c)).copied().unwrap_or(0)
}

/// [`Scan::found`]'s bits: the text has `://`; a link marker; what the
/// markup expression needs.
const SCHEME: u16 = 1 << 0;
const LINK_MARKER: u16 = 1 << 1;
const MAY_SCRIPT: u16 = 1 << 2;

/// What one scan of a text found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Scan {
    seen: u16,
    /// [`SCHEME`], [`LINK_MARKER`], [`MAY_SCRIPT`]: bits, not three
    /// `bool`s, so that a scan is two words to copy (with the `bool`s it
    /// was copied field by field, a byte at a time for some: assess_only
    /// 1,750 → 1,717, issue 18, third pass).
    found: u16,
    links: usize,
}

impl Scan {
    /// Scans `text` (see the module docs).
    pub(crate) fn of(text: &str, keywords: &Keywords) -> Scan {
        let b = text.as_bytes();
        let mut scan = Scan::default();
        // The start of the last link counted: a later start with no
        // terminator between the two is inside that link.
        let mut last: Option<usize> = None;
        // Eight bytes at a time: their flags ORed (four pair lookups, two
        // instructions each), and only a chunk holding an anchor byte is
        // looked at again. A message has a few such chunks; a search per
        // anchor (`memchr3`, as before) paid its set-up again at each hit.
        let mut chunks = b.chunks_exact(8);
        let (mut base, mut before) = (0, 0);
        // Whether a `un` (ASCII case ignored) occurs: `union` is searched
        // for only then.
        let mut un = false;
        for chunk in &mut chunks {
            let f = chunk_flags(chunk);
            scan.seen |= f;
            if f & (COLON | LT_OR_LBRACKET | DOT | UN | U_SECOND) != 0 {
                if has_anchor(f, before) {
                    scan.anchors(b, base, chunk, &mut last);
                }
                if f & (UN | U_SECOND) != 0 && !un {
                    un = f & UN != 0 || odd_un(b, base);
                }
            }
            (base, before) = (base + 8, f);
        }
        let rest = chunks.remainder();
        // The tail's flags from the text's last eight bytes when it has
        // that many (their flags are the tail's and some already seen, so
        // `seen` is the same, and the tests below only read more chunks
        // than they must): a whole chunk's four lookups, not a loop.
        let (f, tail) = match b.len().checked_sub(8) {
            Some(from) if !rest.is_empty() => (b.get(from..).map_or(0, chunk_flags), from),
            _ => (chunk_flags(rest), base),
        };
        scan.seen |= f;
        if has_anchor(f, before) {
            scan.anchors(b, base, rest, &mut last);
        }
        if f & (UN | U_SECOND) != 0 && !un {
            un = f & UN != 0 || odd_un(b, tail);
        }
        let seen = scan.seen;
        let may_script = seen & (LT_OR_LBRACKET | EQUALS) != 0
            || (seen & BRACE != 0 && has_template(b))
            || (seen & (COLON | LETTER_J) == COLON | LETTER_J
                && contains_ci(b, &keywords.javascript, seen & UPPER_JAVASCRIPT != 0))
            || (seen & (SEMICOLON | LETTER_D) == SEMICOLON | LETTER_D
                && contains_ci(b, &keywords.drop, seen & UPPER_DROP != 0))
            || (un && contains_ci(b, &keywords.union, seen & UPPER_UNION != 0));
        if may_script {
            scan.found |= MAY_SCRIPT;
        }
        scan
    }

    /// The anchor bytes of `chunk` (at `base` in `b`): each is checked for
    /// a link marker and start, in text order (a start's position is never
    /// after its anchor's, and no two starts' anchors are out of order, so
    /// text order of anchors is text order of starts).
    ///
    /// The chunk's anchor bytes are found as one word's bits (an exact
    /// zero-byte test of the word XORed with each anchor byte), and only
    /// they are looked at: a loop over the chunk's bytes, each through
    /// [`FLAGS`], cost about 45 instructions more a re-read chunk.
    #[inline(never)]
    fn anchors(&mut self, b: &[u8], base: usize, chunk: &[u8], last: &mut Option<usize>) {
        let w = le_word(chunk);
        let mut marks = [b':', b'.', b'<', b'[']
            .into_iter()
            .fold(0, |m, a| m | zero_lanes(w ^ lanes(a)));
        while marks != 0 {
            let j = (marks.trailing_zeros() / 8) as usize;
            marks &= marks - 1;
            let Some(start) = self.anchor(b, base + j) else {
                continue;
            };
            let outside = last.is_none_or(|l| {
                b.get(l..start)
                    .is_some_and(|run| run.iter().copied().any(ends_link))
            });
            if outside {
                self.links += 1;
                *last = Some(start);
            }
        }
    }

    /// Whether the text has a link's marker: `://`, `www.`, `[url` or `<a`
    /// (ASCII case ignored).
    pub(crate) fn may_link(&self) -> bool {
        self.found & LINK_MARKER != 0
    }

    /// Whether the text has what some alternative of the markup expression
    /// needs: `<`, `[`, `=`, `{{` or `${`, `javascript` with a `:`, `drop`
    /// with a `;`, or `union` (ASCII case ignored).
    pub(crate) fn may_script(&self) -> bool {
        self.found & MAY_SCRIPT != 0
    }

    /// How many links: starts of `http://`, `https://`, `www.`, `[url`,
    /// `<a ` or `<a<tab>` (ASCII case ignored); a link runs to the next
    /// ASCII whitespace, `]` or `>`, and a start inside it is part of it
    /// (`https://www.…` is one).
    pub(crate) fn links(&self) -> usize {
        self.links
    }

    /// Whether the text has `://`.
    pub(crate) fn has_scheme(&self) -> bool {
        self.found & SCHEME != 0
    }

    /// Whether the text has a `.`.
    pub(crate) fn has_dot(&self) -> bool {
        self.seen & DOT != 0
    }

    /// Whether the text has an `@`.
    pub(crate) fn has_at(&self) -> bool {
        self.seen & AT != 0
    }

    /// Whether the text has a `/`.
    pub(crate) fn has_slash(&self) -> bool {
        self.seen & SLASH != 0
    }

    /// At an anchor byte (`:`, `.`, `<`, `[`) at `i`: records a link marker
    /// and returns the link's start, if one starts there.
    fn anchor(&mut self, b: &[u8], i: usize) -> Option<usize> {
        match b.get(i)? {
            b':' => {
                if b.get(i + 1..i + 3) != Some(b"//") {
                    return None;
                }
                self.found |= SCHEME | LINK_MARKER;
                // `https` first, the usual scheme (the two exclude each
                // other: the byte before the `:` is `s` or `p`): 3 fewer.
                if ends_with_ci(b, i, b"https") {
                    Some(i - 5)
                } else if ends_with_ci(b, i, b"http") {
                    Some(i - 4)
                } else {
                    None
                }
            }
            b'.' => {
                if !ends_with_ci(b, i, b"www") {
                    return None;
                }
                self.found |= LINK_MARKER;
                Some(i - 3)
            }
            b'<' => {
                if !at_ci(b, i + 1, b"a") {
                    return None;
                }
                self.found |= LINK_MARKER;
                matches!(b.get(i + 2), Some(b' ' | b'\t')).then_some(i)
            }
            b'[' => {
                if !at_ci(b, i + 1, b"url") {
                    return None;
                }
                self.found |= LINK_MARKER;
                Some(i)
            }
            _ => None,
        }
    }
}

/// Whether a pair at an odd offset of the chunk at `start` in `b` (the
/// pairs from `start + 1`, the last one reaching into the next chunk) is
/// `un`: the pairs the first pass does not look up. The eight bytes from
/// `start + 1` read as a chunk, or as many as there are.
#[inline(never)]
fn odd_un(b: &[u8], start: usize) -> bool {
    let flags = match b.get(start + 1..start + 9) {
        Some(odd) => chunk_flags(odd),
        None => b.get(start + 1..).map_or(0, chunk_flags),
    };
    flags & UN != 0
}

/// Whether a link ends at this byte.
fn ends_link(c: u8) -> bool {
    c.is_ascii_whitespace() || c == b']' || c == b'>'
}

/// `word` (lower-case ASCII letters only) starts at byte `i` of `b`,
/// ignoring ASCII case. For a letter, setting bit 5 is lower-casing it, and
/// only its two cases map to it.
fn at_ci(b: &[u8], i: usize, word: &[u8]) -> bool {
    b.get(i..i + word.len())
        .is_some_and(|s| s.iter().zip(word).all(|(c, w)| c | 0x20 == *w))
}

/// `word` (lower-case ASCII letters only) ends just before byte `end` of
/// `b`, ignoring ASCII case.
fn ends_with_ci(b: &[u8], end: usize, word: &[u8]) -> bool {
    end.checked_sub(word.len())
        .is_some_and(|start| at_ci(b, start, word))
}

/// The markup keywords the prefilter looks for, as searchers built once
/// per screen (in its [`Patterns`](super::text::Patterns)): a search then
/// costs no set-up.
#[derive(Debug, Clone)]
pub(crate) struct Keywords {
    javascript: memmem::Finder<'static>,
    drop: memmem::Finder<'static>,
    union: memmem::Finder<'static>,
}

impl Keywords {
    pub(crate) fn new() -> Keywords {
        Keywords {
            javascript: memmem::Finder::new(b"javascript"),
            drop: memmem::Finder::new(b"drop"),
            union: memmem::Finder::new(b"union"),
        }
    }
}

/// `b` with ASCII upper-case letters lower-cased, into `out` (as long as
/// `b`; a shorter one is filled as far as it goes).
fn lower_into(out: &mut [u8], b: &[u8]) {
    for (d, &c) in out.iter_mut().zip(b) {
        *d = c | (u8::from(c.wrapping_sub(b'A') < 26) << 5);
    }
}

/// Bytes of text lower-cased per keyword search: a stack buffer, so no
/// allocation; a longer text is searched in windows that overlap by a
/// keyword's length less one, so that no occurrence falls between two.
const WINDOW: usize = 256;

/// Whether `word`'s needle (lower-case ASCII letters) occurs in `b`,
/// ignoring ASCII case: `b` lower-cased (ASCII) into a stack window, then
/// searched with the prebuilt searcher. The keywords start with common
/// letters (the `u` of `union` is in most messages, several times): a
/// search from each occurrence of the first letter (`memchr2`, as before)
/// paid its set-up again at every one; lower-casing is one pass the
/// compiler vectorizes, and the searcher's own prefilter skips the rest.
///
/// `upper` says whether `b` has an upper-case letter of the word: without
/// one, a match ignoring case is a match as written, and `b` is searched
/// as it is (no lower-casing, no windows).
fn contains_ci(b: &[u8], word: &memmem::Finder<'_>, upper: bool) -> bool {
    if !upper {
        return word.find(b).is_some();
    }
    let overlap = word.needle().len().saturating_sub(1);
    let mut buf = [0u8; WINDOW];
    let mut start = 0;
    loop {
        let rest = b.get(start..).unwrap_or_default();
        let chunk = rest.get(..WINDOW).unwrap_or(rest);
        let Some(lower) = buf.get_mut(..chunk.len()) else {
            return false;
        };
        lower_into(lower, chunk);
        if word.find(lower).is_some() {
            return true;
        }
        if chunk.len() < WINDOW || start + chunk.len() >= b.len() {
            return false;
        }
        start += WINDOW - overlap;
    }
}

/// Whether `b` has `{{` or `${`.
fn has_template(b: &[u8]) -> bool {
    memchr::memchr_iter(b'{', b).any(|i| i > 0 && matches!(b.get(i - 1), Some(b'{' | b'$')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The separate passes the scan replaces, kept as the reference it must
    /// agree with.
    mod reference {
        fn word_at(b: &[u8], i: usize, word: &[u8]) -> bool {
            b.get(i..i + word.len())
                .is_some_and(|s| s.eq_ignore_ascii_case(word))
        }

        pub fn may_link(text: &str) -> bool {
            let b = text.as_bytes();
            b.iter().enumerate().any(|(i, c)| match c {
                b':' => word_at(b, i, b"://"),
                b'w' | b'W' => word_at(b, i, b"www."),
                b'[' => word_at(b, i, b"[url"),
                b'<' => word_at(b, i, b"<a"),
                _ => false,
            })
        }

        fn ci_find(b: &[u8], word: &[u8]) -> bool {
            b.windows(word.len()).any(|w| w.eq_ignore_ascii_case(word))
        }

        pub fn may_script(text: &str) -> bool {
            let b = text.as_bytes();
            b.contains(&b'<')
                || b.contains(&b'[')
                || b.contains(&b'=')
                || text.contains("{{")
                || text.contains("${")
                || (b.contains(&b':') && ci_find(b, b"javascript"))
                || (b.contains(&b';') && ci_find(b, b"drop"))
                || ci_find(b, b"union")
        }

        pub fn count_links(text: &str) -> usize {
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
    }

    /// One set of searchers for all the tests.
    static KEYWORDS: std::sync::LazyLock<Keywords> = std::sync::LazyLock::new(Keywords::new);

    /// [`Scan::of`] with the tests' searchers.
    fn scan(text: &str) -> Scan {
        Scan::of(text, &KEYWORDS)
    }

    proptest! {
        #[test]
        fn a_chunks_pair_lookups_are_its_bytes_flags(
            bytes in proptest::collection::vec(any::<u8>(), 0..=9),
        ) {
            // Every pair of byte values in some case (and odd lengths): the
            // bytes' flags, and for each pair at an even offset whether it
            // is `un` or ends in a `u` (ASCII case ignored).
            let mut want = bytes.iter().fold(0, |s, &c| s | flags(c));
            for pair in bytes.chunks_exact(2) {
                let lower = pair.to_ascii_lowercase();
                if lower[1] == b'u' {
                    want |= U_SECOND;
                }
                if lower == b"un" {
                    want |= UN;
                }
            }
            prop_assert_eq!(chunk_flags(&bytes), want, "{:?}", bytes);
        }

        #[test]
        fn contains_ci_is_a_case_insensitive_search(
            text in "([uUnNiIoO ]|union|UNION|Union|drop|java|javascript|é|\\x00){0,24}",
            pad in 0usize..600,
            word in 0usize..3,
        ) {
            // Padding moves the text across the window boundaries.
            let text = format!("{}{text}", "x".repeat(pad));
            let k = &*KEYWORDS;
            let (finder, needle) = match word {
                0 => (&k.union, "union"),
                1 => (&k.drop, "drop"),
                _ => (&k.javascript, "javascript"),
            };
            let b = text.as_bytes();
            let want = b.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes()));
            prop_assert_eq!(contains_ci(b, finder, true), want, "{:?}", text);
            // The as-written search, where the text has no upper-case
            // letter of the word.
            let upper = needle.to_ascii_uppercase();
            if !b.iter().any(|c| upper.as_bytes().contains(c)) {
                prop_assert_eq!(contains_ci(b, finder, false), want, "{:?}", text);
            }
        }
    }

    fn agrees(text: &str) {
        let s = scan(text);
        assert_eq!(s.may_link(), reference::may_link(text), "may_link {text:?}");
        assert_eq!(
            s.may_script(),
            reference::may_script(text),
            "may_script {text:?}"
        );
        assert_eq!(s.links(), reference::count_links(text), "links {text:?}");
        assert_eq!(s.has_scheme(), text.contains("://"), "scheme {text:?}");
        assert_eq!(s.has_dot(), text.contains('.'), "dot {text:?}");
        assert_eq!(s.has_at(), text.contains('@'), "at {text:?}");
        assert_eq!(s.has_slash(), text.contains('/'), "slash {text:?}");
    }

    #[test]
    fn examples() {
        for text in [
            "",
            "Dana",
            "see https://a.example/x and www.b.example, [url=c]",
            "https://www.example.com",
            "HTTPS://WWW.EXAMPLE.COM/ www.x.y",
            "<a href=x>y</a> <A\tHREF=z>",
            "[URL=x]y[/url] [url]z[/url]",
            "x' OR '1'='1",
            "a; DROP TABLE leads",
            "UNION ALL SELECT",
            "javascript:alert(1)",
            "{{7*7}} ${jndi:ldap://x}",
            "Price < 5 and > 3",
            "jane@acme.com",
            "wwww.x https:/ x://y http//x",
            "éwww.ü http://é",
        ] {
            agrees(text);
        }
        assert_eq!(
            scan("see https://a.example/x and www.b.example, [url=c]").links(),
            3
        );
        assert_eq!(scan("We use acme.com internally").links(), 0);
    }

    /// Text built from the pieces the rules look for (and their near
    /// misses), so that the interesting cases are common.
    fn pieces() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("http://"),
            Just("HTTPS://"),
            Just("https:/"),
            Just("://"),
            Just("www."),
            Just("WwW"),
            Just("ww"),
            Just("."),
            Just("[url"),
            Just("[URL="),
            Just("<a "),
            Just("<A\t"),
            Just("<a"),
            Just("<"),
            Just("["),
            Just("]"),
            Just(">"),
            Just("="),
            Just("{"),
            Just("{{"),
            Just("$"),
            Just(":"),
            Just(";"),
            Just("@"),
            Just("/"),
            Just("javascript"),
            Just("JavaScript:"),
            Just("javascrip"),
            Just("drop"),
            Just("DRO"),
            Just("union"),
            Just("UNIO"),
            Just("u"),
            Just("n"),
            Just("UN"),
            Just("j"),
            Just("d"),
            Just("w"),
            Just("h"),
            Just(" "),
            Just("\t"),
            Just("\n"),
            Just("é"),
            Just("ſ"),
            Just("x"),
            Just("acme"),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_scan_agrees_with_the_separate_passes_on_pieces(text in pieces()) {
            agrees(&text);
        }

        #[test]
        fn the_scan_agrees_with_the_separate_passes_around_the_window(
            text in pieces(),
            pad in 0usize..300,
            filler in proptest::sample::select(&["x", " ", "w", "u"][..]),
        ) {
            // Texts on both sides of the short-text path's 256 bytes.
            agrees(&format!("{}{text}", filler.repeat(pad)));
        }

        #[test]
        fn union_is_found_wherever_it_falls_in_the_chunks(
            pad in 0usize..24,
            word in proptest::sample::select(
                &["union", "UNION", "uNiOn", "Union", "unio", "uunion", "u nion", "nion"][..],
            ),
            before in "[uUnNx ]{0,10}",
            after in "[uUnNx ]{0,10}",
        ) {
            // The `un` gate's test across an eight-byte chunk's end.
            agrees(&format!("{}{before}{word}{after}", "x".repeat(pad)));
        }

        #[test]
        fn un_is_found_at_every_offset_of_the_pairs(
            before in "[ -~]{0,40}",
            word in proptest::sample::select(&["union", "UNION", "uNiOn", "xunion", "unio", "u", "un"][..]),
            after in "[ -~é]{0,10}",
        ) {
            // `union` at both offsets of the first pass's pairs, in whole
            // chunks and in the tail (read from the last eight bytes), and
            // texts shorter than a chunk.
            agrees(&format!("{before}{word}{after}"));
        }

        #[test]
        fn the_scan_agrees_with_the_separate_passes_on_any_text(text in any::<String>()) {
            agrees(&text);
        }

        #[test]
        fn the_scan_agrees_with_the_separate_passes_on_ascii(text in "[ -~\t\n]{0,64}") {
            agrees(&text);
        }
    }
}
