#!/usr/bin/env python3
"""Builds the whole-script confusable table from Unicode's confusables.txt.

    python3 scripts/refresh_confusables.py --confusables PATH/confusables.txt

confusables.txt is not in any package the other reference data comes from
(scripts/fetch_reference_sources.sh): download it from
https://www.unicode.org/Public/security/VERSION/confusables.txt (the version
and the file's sha256 are written into the outputs, so a refresh shows in the
diff what it was made from).

Reads UTS #39's confusables.txt (Unicode Security Mechanisms data; the
version is read from its header and recorded) and writes:

- src/lead/data/confusables_ascii.tsv   the reviewable table, one character a line
- src/lead/tables/confusables.rs        the same as a sorted static Rust slice

The table holds every character that can appear in a domain label and whose
UTS #39 skeleton is a plain ASCII label, so that a label written wholly in
such characters reads as an ASCII one (Cyrillic `аррӏе` reads as `apple`).
Precisely, a character c is kept when

1. c is not ASCII;
2. c is stable under NFKC case folding (approximated here as NFKC of
   str.casefold), so it survives IDNA's mapping and can be in a label as
   `idna::domain_to_unicode` returns it (capital letters, compatibility
   forms such as fullwidth or mathematical letters never are: IDNA maps them);
3. c is a letter, mark or digit (general category L*, M* or N*);
4. skeleton(c) = NFD(prototype(NFD(c))), with every character's prototype
   from confusables.txt (a character without an entry is its own
   prototype), consists only of `a`-`z`, `0`-`9` and `-`.

NFD is Python's `unicodedata` (its Unicode version is recorded too; a
character newer than it is decomposed as if it had no decomposition, which
for letters added since changes nothing in practice). The Rust side
(`src/lead/spoofing.rs`) applies the rule; a test there checks that the Rust
table and the TSV agree.
"""

import argparse
import hashlib
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TSV = ROOT / "src" / "lead" / "data" / "confusables_ascii.tsv"
RUST = ROOT / "src" / "lead" / "tables" / "confusables.rs"
SOURCE_URL = "https://www.unicode.org/Public/security/{version}/confusables.txt"
ASCII_LABEL = re.compile(r"^[a-z0-9-]+$")


def read_confusables(path):
    text = path.read_text(encoding="utf-8-sig")
    version = re.search(r"^# Version: (\S+)", text, re.M)
    date = re.search(r"^# Date: (.+)$", text, re.M)
    if not version or not date:
        sys.exit(f"{path}: no `# Version:` / `# Date:` header; is this confusables.txt?")
    prototypes = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(";")]
        if len(fields) < 3 or fields[2] != "MA":
            sys.exit(f"{path}: unexpected line {line!r}")
        source = chr(int(fields[0], 16))
        target = "".join(chr(int(cp, 16)) for cp in fields[1].split())
        prototypes[source] = target
    return version.group(1), date.group(1).strip(), prototypes


def skeleton(s, prototypes):
    mapped = "".join(prototypes.get(c, c) for c in unicodedata.normalize("NFD", s))
    return unicodedata.normalize("NFD", mapped)


def in_labels(c):
    return (
        ord(c) >= 0x80
        and unicodedata.category(c)[0] in "LMN"
        and unicodedata.normalize("NFKC", c.casefold()) == c
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--confusables", required=True, type=Path, help="path of confusables.txt")
    args = ap.parse_args()
    version, date, prototypes = read_confusables(args.confusables)
    sha256 = hashlib.sha256(args.confusables.read_bytes()).hexdigest()
    rows = []
    for cp in range(0x80, 0x110000):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or not in_labels(c):
            continue
        sk = skeleton(c, prototypes)
        if ASCII_LABEL.match(sk):
            name = unicodedata.name(c, f"U+{cp:04X}")
            rows.append((cp, c, sk, name))
    url = SOURCE_URL.format(version=version)
    header = [
        "Characters of domain labels whose UTS #39 skeleton is an ASCII label (see",
        "scripts/refresh_confusables.py for the rule). Generated; do not edit.",
        f"Source: {url}",
        f"  (Unicode Security Mechanisms for UTS #39, version {version}, dated {date})",
        f"  sha256 of the file read: {sha256}",
        "Licence: Unicode License v3 (Unicode-3.0), https://www.unicode.org/license.txt",
        f"NFD from Python unicodedata {unicodedata.unidata_version}.",
        "code point, character, skeleton, character name",
    ]
    text = "".join(f"# {h}\n" for h in header)
    text += "".join(f"U+{cp:04X}\t{c}\t{sk}\t{name}\n" for cp, c, sk, name in rows)
    TSV.write_text(text, encoding="utf-8")
    print(f"{TSV.relative_to(ROOT)}: {len(rows)} characters")

    rust = [
        "//! Generated by `python3 scripts/refresh_confusables.py` from Unicode's",
        f"//! confusables.txt {version} (<{url}>, Unicode License v3);",
        "//! the same data as `src/lead/data/confusables_ascii.tsv`. Do not edit.",
        "",
        "/// Characters of domain labels whose UTS #39 skeleton is an ASCII label,",
        "/// sorted by character, with that skeleton.",
        f"pub(crate) static ASCII_SKELETONS: [(char, &str); {len(rows)}] = [",
    ]
    rust += [f"    ('\\u{{{cp:x}}}', \"{sk}\")," for cp, _, sk, _ in rows]
    rust += ["];", ""]
    RUST.write_text("\n".join(rust), encoding="utf-8")
    print(f"{RUST.relative_to(ROOT)}: written")


if __name__ == "__main__":
    main()
