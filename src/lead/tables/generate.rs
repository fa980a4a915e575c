//! Builds `generated.rs` from the reference data (`src/lead/data/*.tsv`,
//! `*.txt`) and the hand-curated tables in `geo_data.rs`, folding every name
//! with the normalizer's own functions so that a lookup key built at run time
//! from user input matches.
//!
//! `cargo test --lib lead::tables::generate` fails when the committed
//! `generated.rs` (or `country_names_unresolved.tsv`) differs from what the data
//! gives; `LEADROUTE_REGENERATE=1 cargo test --lib lead::tables::generate`
//! rewrites both. `scripts/refresh_reference_data.py` refreshes the data.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::hash;
use crate::lead::company::{self, ALONE, MAX_FORM_WORDS, PREFIX, SUFFIX};
use crate::lead::geo::place_key;
use crate::lead::geo_data::{
    AMBIGUOUS_COUNTRY_NAMES, COUNTRIES, COUNTRY_ALIASES, REGION_ALIASES, REGIONS,
};

const COUNTRY_NAMES_TSV: &str = include_str!("../data/country_names.tsv");
const SUBDIVISIONS_TSV: &str = include_str!("../data/subdivisions.tsv");
const DISPOSABLE_TXT: &str = include_str!("../data/disposable_email_domains.txt");
const FREE_TXT: &str = include_str!("../data/free_email_domains.txt");
const LEGAL_FORMS_TSV: &str = include_str!("../data/legal_forms.tsv");

fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
}

/// The tables looked up mostly for keys they do not hold, given more
/// empty slots (see [`render`]).
const SPARSE: [&str; 2] = ["DISPOSABLE_DOMAINS", "FREE_DOMAINS"];

/// The keys of a table, each with its value rendered as Rust.
struct Spec {
    name: &'static str,
    doc: String,
    value_type: &'static str,
    entries: BTreeMap<String, String>,
}

fn render(out: &mut String, spec: &Spec) {
    let n = spec.entries.len();
    assert!(
        n < usize::from(u16::MAX),
        "{}: too many keys for u16 slots",
        spec.name
    );
    // Load factor at most 2/3: short probe runs, and at least one empty slot.
    // The email-domain sets at most 1/3: nearly every lookup there is a miss
    // (a business domain, at every level of it, in both sets), and a miss
    // probes until an empty slot, ~3.6 slots at a load of 0.6 against ~1.5
    // at 0.3 (linear probing), each a key compare.
    let size = if SPARSE.contains(&spec.name) {
        (3 * n + 1).next_power_of_two()
    } else {
        (n + n / 2 + 1).next_power_of_two().max(2)
    };
    let mut slots = vec![0u16; size];
    let mut keys = String::new();
    let mut starts = Vec::with_capacity(n);
    for (i, key) in spec.entries.keys().enumerate() {
        assert!(
            !key.is_empty() && !key.contains(['\n', '"', '\\', '\r']),
            "{}: bad key {key:?}",
            spec.name
        );
        starts.push(keys.len());
        keys.push_str(key);
        keys.push('\n');
        let mut at = hash(key.as_bytes()) as usize & (size - 1);
        while slots[at] != 0 {
            at = (at + 1) & (size - 1);
        }
        slots[at] = u16::try_from(i + 1).unwrap();
    }
    let is_set = spec.value_type == "()";
    writeln!(
        out,
        "{}",
        spec.doc
            .lines()
            .map(|l| format!("/// {l}").trim_end().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    )
    .unwrap();
    writeln!(
        out,
        "pub(crate) static {}: Table<{}> = Table {{",
        spec.name, spec.value_type
    )
    .unwrap();
    writeln!(out, "keys: \"{keys}\",").unwrap();
    write_numbers(out, "starts", starts.iter());
    if is_set {
        out.push_str("values: &[],\n");
    } else {
        write_numbers(out, "values", spec.entries.values());
    }
    write_numbers(out, "slots", slots.iter());
    out.push_str("};\n\n");
}

fn write_numbers<T: std::fmt::Display>(
    out: &mut String,
    field: &str,
    items: impl Iterator<Item = T>,
) {
    writeln!(out, "{field}: &[").unwrap();
    let mut line = String::new();
    for item in items {
        write!(line, "{item},").unwrap();
        if line.len() > 96 {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
    }
    if !line.is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("],\n");
}

fn country_index(code: &str) -> usize {
    COUNTRIES
        .iter()
        .position(|c| c.0 == code)
        .unwrap_or_else(|| panic!("unknown country {code}"))
}

/// Where a country name comes from, in order of authority: a code wins over
/// any name, a hand-curated or English (ISO, CLDR `en`) name over a name in
/// another language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    Code,
    Primary,
    Other,
}

struct Countries {
    table: BTreeMap<String, String>,
    native: BTreeMap<String, String>,
    ambiguous: BTreeMap<String, String>,
    unresolved: Vec<String>,
}

/// The alpha-2 codes ISO 3166-1 reserves without assigning them to a
/// country in the tables: exceptionally (`EU`, `UN`, `EZ`, …; `UK` is a
/// curated alias of GB), transitionally (former countries) and
/// indeterminately (vehicle and other codes) reserved.
const RESERVED_ALPHA2: &[&str] = &[
    "AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "FX", "IC", "SU", "TA", "UN", // exceptionally
    "AN", "BU", "CS", "NT", "SF", "TP", "YU", "ZR", // transitionally
    "DY", "EW", "FL", "JA", "LF", "PI", "RA", "RB", "RC", "RH", "RI", "RL", "RM", "RN", "RP", "WG",
    "WL", "WV", "YV", // indeterminately
];

fn countries() -> Countries {
    // key -> tier -> codes
    let mut cands: BTreeMap<String, BTreeMap<Tier, BTreeSet<&str>>> = BTreeMap::new();
    let mut add = |key: String, tier: Tier, code: &'static str| {
        if !key.is_empty() {
            cands
                .entry(key)
                .or_default()
                .entry(tier)
                .or_default()
                .insert(code);
        }
    };
    for &(a2, a3, name) in COUNTRIES {
        add(place_key(a2), Tier::Code, a2);
        add(place_key(a3), Tier::Code, a2);
        add(place_key(name), Tier::Primary, a2);
    }
    for &(alias, a2) in COUNTRY_ALIASES {
        add(place_key(alias), Tier::Primary, a2);
    }
    let rows: Vec<(&'static str, &'static str, Vec<&'static str>)> = records(COUNTRY_NAMES_TSV)
        .map(|r| {
            let code = COUNTRIES[country_index(r[0])].0;
            (code, r[1], r[2].split(' ').collect())
        })
        .collect();
    // A name that folds to a code ISO 3166-1 reserves (the French `É.-U.`
    // folds to `eu`, reserved for the European Union) would read that code
    // as a country: `EU` was the United States. Such a name is read only
    // as written, with its accents (below); a hand-curated alias (`UK`)
    // still counts, and other two-letter abbreviations (the Dutch `VS`)
    // are names like any other.
    let code_shaped = |key: &str| RESERVED_ALPHA2.iter().any(|r| r.eq_ignore_ascii_case(key));
    for (code, name, sources) in &rows {
        if code_shaped(&place_key(name)) {
            continue;
        }
        let primary = sources
            .iter()
            .any(|s| s.starts_with("iso") || *s == "en" || *s == "en-GB");
        add(
            place_key(name),
            if primary { Tier::Primary } else { Tier::Other },
            code,
        );
    }
    let forced: BTreeSet<String> = AMBIGUOUS_COUNTRY_NAMES
        .iter()
        .map(|n| place_key(n))
        .collect();
    let mut table = BTreeMap::new();
    let mut ambiguous = BTreeMap::new();
    for (key, tiers) in &cands {
        let (_, codes) = tiers.iter().next().unwrap();
        if forced.contains(key) && !tiers.contains_key(&Tier::Code) {
            let all: BTreeSet<&str> = tiers.values().flatten().copied().collect();
            ambiguous.insert(key.clone(), all.into_iter().collect::<Vec<_>>().join(" "));
        } else if codes.len() == 1 {
            let code = codes.iter().next().unwrap();
            table.insert(key.clone(), country_index(code).to_string());
        } else {
            ambiguous.insert(
                key.clone(),
                codes.iter().copied().collect::<Vec<_>>().join(" "),
            );
        }
    }
    for key in &forced {
        ambiguous
            .entry(key.clone())
            .or_insert_with(|| "listed by hand".to_owned());
    }
    // A name in another script that folds to an ISO code (Vietnamese `Áo`,
    // Austria, folds to `ao`, Angola's code): codes are typed in ASCII, so for
    // non-ASCII input the name wins, unless two such names disagree.
    let mut native_codes: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for (code, name, _) in &rows {
        let key = place_key(name);
        if !name.is_ascii()
            && !forced.contains(&key)
            && (code_shaped(&key) || cands.get(&key).is_some_and(|t| t.contains_key(&Tier::Code)))
        {
            native_codes.entry(key).or_default().insert(code);
        }
    }
    let native: BTreeMap<String, String> = native_codes
        .into_iter()
        .filter(|(_, codes)| codes.len() == 1)
        .map(|(key, codes)| (key, country_index(codes.iter().next().unwrap()).to_string()))
        .collect();
    let mut unresolved = Vec::new();
    for (code, name, _) in &rows {
        let key = place_key(name);
        let got = (!name.is_ascii())
            .then(|| native.get(&key))
            .flatten()
            .or_else(|| table.get(&key))
            .map(|i| COUNTRIES[i.parse::<usize>().unwrap()].0);
        if got != Some(code) {
            let why = match got {
                None if code_shaped(&key) && name.is_ascii() => {
                    "folds to a code ISO 3166-1 reserves".to_owned()
                }
                Some(other) => {
                    let tier = cands[&key].keys().next().unwrap();
                    format!(
                        "shadowed by {other} ({})",
                        if *tier == Tier::Code {
                            "an ISO code"
                        } else {
                            "an English or hand-curated name"
                        }
                    )
                }
                None if forced.contains(&key) => {
                    "ambiguous (listed in geo_data::AMBIGUOUS_COUNTRY_NAMES)".to_owned()
                }
                None => format!(
                    "ambiguous: {}",
                    ambiguous.get(&key).map_or("?", String::as_str)
                ),
            };
            unresolved.push(format!("{code}\t{name}\t{why}"));
        }
    }
    Countries {
        table,
        native,
        ambiguous,
        unresolved,
    }
}

struct Regions {
    superseded: Vec<String>,
    codes: Vec<String>,
    countries: Vec<String>,
    names: BTreeMap<String, String>,
    unresolved: Vec<String>,
}

fn regions() -> Regions {
    let hand_codes: BTreeSet<String> = REGIONS.iter().map(|(c, s, _)| format!("{c}-{s}")).collect();
    // Former codes the hand-curated aliases map to current ones (IN-CT -> IN-CG).
    let superseded: BTreeSet<String> = REGION_ALIASES
        .iter()
        .filter(|(_, alias, _)| {
            alias.len() <= 3
                && alias
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
        .map(|(c, alias, _)| format!("{c}-{alias}"))
        .filter(|code| !hand_codes.contains(code))
        .collect();
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    let mut iso_names: Vec<(String, &str)> = Vec::new();
    for r in records(SUBDIVISIONS_TSV) {
        if superseded.contains(r[0]) {
            continue;
        }
        if !r[1].is_empty() {
            parent.insert(r[0].to_owned(), r[1].to_owned());
        }
        iso_names.push((r[0].to_owned(), r[2]));
    }
    let mut codes: BTreeSet<String> = hand_codes.clone();
    codes.extend(iso_names.iter().map(|(c, _)| c.clone()));
    // key -> tier (0 code, 1 hand, 2 ISO name) -> codes
    let mut cands: BTreeMap<String, BTreeMap<u8, BTreeSet<String>>> = BTreeMap::new();
    let mut add = |country: &str, name: &str, tier: u8, code: String| {
        let key = format!("{}:{}", country.to_ascii_lowercase(), place_key(name));
        if !key.ends_with(':') {
            cands
                .entry(key)
                .or_default()
                .entry(tier)
                .or_default()
                .insert(code);
        }
    };
    for code in &codes {
        let (country, suffix) = code.split_once('-').unwrap();
        add(country, suffix, 0, code.clone());
    }
    for &(country, suffix, name) in REGIONS {
        add(country, name, 1, format!("{country}-{suffix}"));
    }
    for &(country, alias, suffix) in REGION_ALIASES {
        add(country, alias, 1, format!("{country}-{suffix}"));
    }
    for (code, name) in &iso_names {
        add(&code[..2], name, 2, code.clone());
    }
    let codes: Vec<String> = codes.into_iter().collect();
    let ancestors = |code: &str| {
        let mut out = Vec::new();
        let mut at = code.to_owned();
        while let Some(p) = parent.get(&at) {
            if out.contains(p) {
                break;
            }
            out.push(p.clone());
            at = p.clone();
        }
        out
    };
    let mut names = BTreeMap::new();
    let mut unresolved = Vec::new();
    for (key, tiers) in &cands {
        let (_, found) = tiers.iter().next().unwrap();
        // Names shared by a subdivision and the ones inside it (an overseas
        // region and its department, a community and its one province) go to
        // the outermost: it contains the others, so it is never wrong.
        let outer: Vec<&String> = found
            .iter()
            .filter(|c| !ancestors(c).iter().any(|a| found.contains(a)))
            .collect();
        if outer.len() == 1 {
            let index = codes.binary_search(outer[0]).unwrap();
            names.insert(key.clone(), index.to_string());
        } else {
            unresolved.push(format!(
                "{key}\tambiguous: {}",
                found.iter().cloned().collect::<Vec<_>>().join(" ")
            ));
        }
    }
    let countries: BTreeSet<String> = codes.iter().map(|c| c[..2].to_owned()).collect();
    let in_iso: BTreeSet<&str> = records(SUBDIVISIONS_TSV).map(|r| r[0]).collect();
    Regions {
        superseded: superseded
            .into_iter()
            .filter(|c| in_iso.contains(c.as_str()))
            .collect(),
        codes,
        countries: countries.into_iter().collect(),
        names,
        unresolved,
    }
}

fn domain_set(text: &str) -> BTreeMap<String, String> {
    records(text)
        .map(|r| (r[0].trim().to_owned(), String::new()))
        .collect()
}

struct Forms {
    forms: BTreeMap<String, String>,
    ends: BTreeMap<String, String>,
    starts: BTreeMap<String, String>,
}

fn legal_forms() -> Forms {
    let mut flags: BTreeMap<String, u8> = BTreeMap::new();
    for r in records(LEGAL_FORMS_TSV) {
        let folded = company::fold(r[0]);
        let words: Vec<&str> = folded.split_ascii_whitespace().collect();
        if words.is_empty() || words.len() > MAX_FORM_WORDS || words == ["and"] || words == ["the"]
        {
            continue;
        }
        let side = match r[1] {
            "prefix" => PREFIX,
            "both" => PREFIX | SUFFIX,
            _ => SUFFIX,
        };
        *flags.entry(words.join(" ")).or_default() |= side;
    }
    let mut ends: BTreeMap<String, u8> = BTreeMap::new();
    let mut starts: BTreeMap<String, u8> = BTreeMap::new();
    for (key, &f) in &flags {
        // `form_at` joins a form's words in a 128-byte buffer, and takes
        // `ALONE` in place of looking a one-word form up.
        assert!(key.len() <= 128, "legal form too long: {key}");
        let words: Vec<&str> = key.split(' ').collect();
        let alone = if words.len() == 1 { ALONE } else { 0 };
        if f & SUFFIX != 0 {
            let e = ends.entry(words[words.len() - 1].to_owned()).or_default();
            *e = (*e & ALONE) | (*e & !ALONE).max(words.len() as u8) | alone;
        }
        if f & PREFIX != 0 {
            let e = starts.entry(words[0].to_owned()).or_default();
            *e = (*e & ALONE) | (*e & !ALONE).max(words.len() as u8) | alone;
        }
    }
    let text = |m: BTreeMap<String, u8>| m.into_iter().map(|(k, v)| (k, v.to_string())).collect();
    Forms {
        forms: flags.into_iter().map(|(k, v)| (k, v.to_string())).collect(),
        ends: text(ends),
        starts: text(starts),
    }
}

/// The code points of general categories Cc, Cf, Zl, Zp, Co and Cn, as ranges.
fn unsafe_char_ranges() -> Vec<(u32, u32)> {
    let re = regex::Regex::new(r"[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]").unwrap();
    let all: String = (0..=0x10FFFFu32).filter_map(char::from_u32).collect();
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for m in re.find_iter(&all) {
        for c in m.as_str().chars() {
            let c = u32::from(c);
            match ranges.last_mut() {
                // Surrogates are not characters: a range may run across them.
                Some((_, end)) if *end + 1 == c || (*end == 0xD7FF && c == 0xE000) => *end = c,
                _ => ranges.push((c, c)),
            }
        }
    }
    ranges
}

fn generate() -> (String, String) {
    let c = countries();
    let r = regions();
    let f = legal_forms();
    let mut out = String::from(
        "//! Generated by `LEADROUTE_REGENERATE=1 cargo test --lib lead::tables::generate` from\n\
         //! `src/lead/data/` and the hand-curated tables in `geo_data.rs`. Do not edit.\n\n\
         use super::{FixedList, Table};\n\n",
    );
    let specs = [
        Spec {
            name: "COUNTRY_NAMES",
            doc: format!(
                "Country keys (`place_key` of a code, name or alias) -> index in `COUNTRIES`.\n\
                 {} keys; {} ambiguous keys are left out (see `COUNTRY_AMBIGUOUS`).",
                c.table.len(),
                c.ambiguous.len()
            ),
            value_type: "u8",
            entries: c.table,
        },
        Spec {
            name: "COUNTRY_NATIVE",
            doc: "Keys of names in other scripts that fold to an ISO code (`Áo`, Austria in\n\
                  Vietnamese, folds to `ao`) -> index in `COUNTRIES`, for non-ASCII input only."
                .into(),
            value_type: "u8",
            entries: c.native,
        },
        Spec {
            name: "COUNTRY_AMBIGUOUS",
            doc: "Country keys that name more than one country (or were listed as such by hand)."
                .into(),
            value_type: "()",
            entries: c
                .ambiguous
                .keys()
                .map(|k| (k.clone(), String::new()))
                .collect(),
        },
        Spec {
            name: "REGION_NAMES",
            doc: format!(
                "Region keys (`cc:` + `place_key` of a subdivision code, name or alias) -> index\n\
                 in `REGION_CODES`. {} keys.",
                r.names.len()
            ),
            value_type: "u16",
            entries: r.names,
        },
        Spec {
            name: "DISPOSABLE_DOMAINS",
            doc: "Disposable email domains (`data/disposable_email_domains.txt`).".into(),
            value_type: "()",
            entries: domain_set(DISPOSABLE_TXT),
        },
        Spec {
            name: "FREE_DOMAINS",
            doc: "Free / personal email domains (`data/free_email_domains.txt`).".into(),
            value_type: "()",
            entries: domain_set(FREE_TXT),
        },
        Spec {
            name: "LEGAL_FORMS",
            doc: "Legal forms (folded words joined by one space) -> `SUFFIX` | `PREFIX` flags."
                .into(),
            value_type: "u8",
            entries: f.forms,
        },
        Spec {
            name: "LEGAL_FORM_ENDS",
            doc:
                "Last word of a suffix legal form -> the most words of such a form, with `ALONE`\n\
                  set when the word is itself a suffix form."
                    .into(),
            value_type: "u8",
            entries: f.ends,
        },
        Spec {
            name: "LEGAL_FORM_STARTS",
            doc:
                "First word of a prefix legal form -> the most words of such a form, with `ALONE`\n\
                  set when the word is itself a prefix form."
                    .into(),
            value_type: "u8",
            entries: f.starts,
        },
    ];
    for spec in &specs {
        render(&mut out, spec);
    }
    let fixed = |name: &str, doc: &str, width: usize, items: &[String], out: &mut String| {
        writeln!(out, "/// {doc}\npub(crate) static {name}: FixedList = FixedList {{\nwidth: {width},\nitems: \"\\").unwrap();
        for chunk in items.chunks(96 / (width + 1)) {
            for item in chunk {
                assert!(item.len() <= width && item.is_ascii(), "{name}: {item}");
                write!(out, "{item:<width$}").unwrap();
            }
            out.push_str("\\\n");
        }
        out.push_str("\",\n};\n\n");
    };
    fixed(
        "REGION_CODES",
        "Every ISO 3166-2 subdivision code known, sorted (`data/subdivisions.tsv` plus\n/// `geo_data::REGIONS`).",
        6,
        &r.codes,
        &mut out,
    );
    fixed(
        "REGION_COUNTRIES",
        "Countries with subdivisions in `REGION_CODES`, sorted.",
        2,
        &r.countries,
        &mut out,
    );
    let ranges = unsafe_char_ranges();
    writeln!(
        out,
        "/// Characters an email address may not contain, as sorted inclusive ranges: the\n\
         /// general categories Cc (controls), Cf (format: bidi controls, zero-width and\n\
         /// invisible characters, tags), Zl and Zp (line and paragraph separators), Co (private\n\
         /// use) and Cn (unassigned, including noncharacters), per the Unicode tables of the\n\
         /// `regex` crate. {} ranges.\n\
         pub(crate) static UNSAFE_CHARS: &[(u32, u32)] = &[",
        ranges.len()
    )
    .unwrap();
    let mut line = String::new();
    for (a, b) in ranges {
        write!(line, "(0x{a:X},0x{b:X}),").unwrap();
        if line.len() > 90 {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
    }
    out.push_str(&line);
    out.push_str("\n];\n");
    let out = out.trim_end().to_owned() + "\n";
    let mut unresolved = String::from(
        "# Names that do not resolve to their own code, generated with the tables (see\n\
         # src/lead/tables/generate.rs): country code, name, why. `ambiguous`: the folded name\n\
         # belongs to several countries (or is listed in geo_data::AMBIGUOUS_COUNTRY_NAMES), so\n\
         # it resolves to none; `shadowed`: an ISO code or an English/hand-curated name of\n\
         # another country folds the same way and wins.\n",
    );
    for line in &c.unresolved {
        unresolved.push_str(line);
        unresolved.push('\n');
    }
    unresolved.push_str(
        "# Region keys (country:folded name) that name several unrelated subdivisions of one\n\
         # country and so resolve to none.\n",
    );
    for line in &r.unresolved {
        unresolved.push_str("#\t");
        unresolved.push_str(line);
        unresolved.push('\n');
    }
    unresolved.push_str(
        "# ISO 3166-2 codes of data/subdivisions.tsv that the curated aliases in geo_data.rs\n\
         # name as former codes: they are not current codes.\n",
    );
    for code in &r.superseded {
        unresolved.push_str("#\tsuperseded\t");
        unresolved.push_str(code);
        unresolved.push('\n');
    }
    (out, unresolved)
}

#[test]
fn generated_tables_are_current() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/lead");
    let (tables, unresolved) = generate();
    let targets = [
        (format!("{dir}/tables/generated.rs"), tables),
        (
            format!("{dir}/data/country_names_unresolved.tsv"),
            unresolved,
        ),
    ];
    let regenerate = std::env::var_os("LEADROUTE_REGENERATE").is_some();
    for (path, want) in targets {
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            if regenerate {
                std::fs::write(&path, want).unwrap();
            } else {
                panic!(
                    "{path} is stale: run `LEADROUTE_REGENERATE=1 cargo test --lib lead::tables::generate`"
                );
            }
        }
    }
}
