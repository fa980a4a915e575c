//! Company-name match keys.

/// Legal forms (as word sequences) dropped from the end of a company name,
/// after transliteration to ASCII, lower-casing and removal of dots, so `S.A.`,
/// `G.m.b.H.` and `Inc.` arrive here as `sa`, `gmbh`, `inc`.
///
/// Covers the common forms of the US/UK/Commonwealth, EU member states,
/// Switzerland, the Nordics, Latin America, Japan, India and China. Words that
/// are also ordinary name words (`group`, `holdings`, `international`) are
/// deliberately *not* here: "Acme Group" and "Acme" may be different
/// companies.
const LEGAL_FORMS: &[&[&str]] = &[
    // Multi-word forms first, so their parts need not be legal forms alone.
    &["sp", "z", "oo"],
    &["sa", "de", "cv"],
    &["s", "de", "rl"],
    &["s", "a"],
    &["a", "s"],
    &["sdn", "bhd"],
    &["pty", "ltd"],
    &["pvt", "ltd"],
    &["pte", "ltd"],
    &["co", "kg"],
    // English-speaking jurisdictions
    &["inc"],
    &["incorporated"],
    &["corp"],
    &["corporation"],
    &["co"],
    &["company"],
    &["ltd"],
    &["limited"],
    &["llc"],
    &["llp"],
    &["lp"],
    &["lllp"],
    &["plc"],
    &["pllc"],
    &["pc"],
    &["pty"],
    &["pvt"],
    &["pte"],
    &["lc"],
    // German-speaking
    &["gmbh"],
    &["ag"],
    &["kg"],
    &["kgaa"],
    &["ohg"],
    &["ug"],
    &["gbr"],
    &["ev"],
    &["se"],
    &["mbh"],
    &["haftungsbeschrankt"],
    // French, Benelux, Swiss
    &["sa"],
    &["sas"],
    &["sasu"],
    &["sarl"],
    &["eurl"],
    &["sca"],
    &["snc"],
    &["sprl"],
    &["srl"],
    &["bv"],
    &["bvba"],
    &["nv"],
    &["vof"],
    // Southern Europe and Latin America
    &["spa"],
    &["srls"],
    &["sl"],
    &["slu"],
    &["sau"],
    &["sapi"],
    &["ltda"],
    &["lda"],
    &["eireli"],
    // Nordics, Central and Eastern Europe
    &["ab"],
    &["publ"],
    &["as"],
    &["asa"],
    &["aps"],
    &["oy"],
    &["oyj"],
    &["hf"],
    &["ehf"],
    &["sro"],
    &["kft"],
    &["zrt"],
    &["nyrt"],
    &["doo"],
    &["dd"],
    &["ood"],
    &["eood"],
    &["sia"],
    &["uab"],
    &["ou"],
    &["ooo"],
    &["oao"],
    &["zao"],
    &["pao"],
    &["jsc"],
    &["ojsc"],
    &["cjsc"],
    // Asia-Pacific
    &["kk"],
    &["yk"],
    &["gk"],
    &["bhd"],
    &["tbk"],
    // A connector left dangling by a stripped form ("Smith & Co" → "smith and").
    &["and"],
];

/// Leading words that carry no identity ("The Acme Company").
const LEADING_NOISE: &[&str] = &["the"];

/// Computes the match key for a company name, or `None` if the name has no
/// letters or digits at all.
///
/// Steps, in order:
/// 1. transliterate to ASCII (`Müller` → `Muller`, `Ørsted` → `Orsted`) and
///    lower-case;
/// 2. `&` and `+` become the word `and`; apostrophes and dots are removed
///    inside words (`McDonald's` → `mcdonalds`, `S.A.` → `sa`); every other
///    non-alphanumeric character separates words;
/// 3. a leading `the`, then trailing legal-form words are dropped
///    (repeatedly: `Acme Co., Ltd.` → `acme`), but never the last remaining
///    word, so `The Limited` keys as `limited` rather than nothing;
/// 4. the remaining words are joined without separators (`Ac-me` and `AcMe`
///    key alike).
pub(crate) fn company_key(name: &str) -> Option<String> {
    let ascii = deunicode::deunicode(name);
    let mut cleaned = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        match c {
            '&' | '+' => cleaned.push_str(" and "),
            '\'' | '`' | '.' => {}
            c if c.is_ascii_alphanumeric() => cleaned.push(c.to_ascii_lowercase()),
            _ => cleaned.push(' '),
        }
    }
    let words: Vec<&str> = cleaned.split_ascii_whitespace().collect();
    let mut start = 0;
    let mut end = words.len();
    if end == 0 {
        return None;
    }
    while end - start > 1 && words.get(start).is_some_and(|w| LEADING_NOISE.contains(w)) {
        start += 1;
    }
    'strip: while end - start > 1 {
        for form in LEGAL_FORMS {
            // Keep at least one word: a form may only take words after `start`.
            if form.len() < end - start
                && words
                    .get(end - form.len()..end)
                    .is_some_and(|tail| tail == *form)
            {
                end -= form.len();
                continue 'strip;
            }
        }
        break;
    }
    Some(words.get(start..end).unwrap_or_default().concat())
}

#[cfg(test)]
mod tests {
    use super::company_key;

    #[test]
    fn legal_forms_case_punctuation_and_accents_fold_away() {
        let acme = Some("acme".to_owned());
        for name in [
            "ACME, Inc.",
            "Acme Inc",
            "acme incorporated",
            "Acme GmbH",
            "The Acme Company",
            "Acme Co., Ltd.",
            "ACME S.A. de C.V.",
            "Acme Pty Ltd",
            "Acme sp. z o.o.",
            "Acme AB (publ)",
            "Acme, LLC",
            "Ac-me",
            "  acme  ",
            "Acme K.K.",
            "Acme Sdn. Bhd.",
        ] {
            assert_eq!(company_key(name), acme, "{name}");
        }
        assert_eq!(
            company_key("Müller GmbH & Co. KG").as_deref(),
            Some("muller")
        );
        assert_eq!(company_key("Ørsted A/S").as_deref(), Some("orsted"));
        assert_eq!(
            company_key("McDonald's Corporation").as_deref(),
            Some("mcdonalds")
        );
        assert_eq!(
            company_key("Johnson & Johnson").as_deref(),
            Some("johnsonandjohnson")
        );
        assert_eq!(company_key("Smith & Co").as_deref(), Some("smith"));
    }

    #[test]
    fn never_reduces_a_name_to_nothing() {
        assert_eq!(company_key("Limited").as_deref(), Some("limited"));
        assert_eq!(company_key("The Company").as_deref(), Some("company"));
        assert_eq!(company_key("Inc.").as_deref(), Some("inc"));
        assert_eq!(company_key("The").as_deref(), Some("the"));
        assert_eq!(company_key("--- !!!"), None);
        assert_eq!(company_key(""), None);
    }

    #[test]
    fn distinct_companies_stay_distinct() {
        assert_ne!(company_key("Acme Group"), company_key("Acme"));
        assert_ne!(company_key("Acme Labs"), company_key("Acme"));
        assert_eq!(company_key("阿里巴巴").as_deref(), Some("alibaba"));
    }
}
