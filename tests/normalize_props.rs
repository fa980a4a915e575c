//! Property tests for normalization invariants.

use leadroute::{LeadInput, Normalizer};
use proptest::prelude::*;

fn arbitrary_input() -> impl Strategy<Value = LeadInput> {
    proptest::collection::vec(proptest::option::of(any::<String>()), 19).prop_map(|v| {
        let mut it = v.into_iter();
        let mut next = || it.next().flatten();
        let mut i = LeadInput::default();
        i.lead_id = next();
        i.email = next();
        i.first_name = next();
        i.last_name = next();
        i.company = next();
        i.website = next();
        i.country = next();
        i.region = next();
        i.postal_code = next();
        i.phone = next();
        i.employees = next();
        i.annual_revenue = next();
        i.product_interest = next();
        i.source = next();
        i.utm_source = next();
        i.utm_medium = next();
        i.utm_campaign = next();
        i.utm_term = next();
        i.utm_content = next();
        i
    })
}

/// Inputs shaped like real form data (valid and messy), so that most of them
/// normalize and the round-trip property is exercised on real leads.
fn plausible_input() -> impl Strategy<Value = LeadInput> {
    let email = "[a-zA-Z][a-zA-Z0-9.+]{0,8}@(gmail\\.com|Acme\\.co\\.uk|mail\\.acme\\.com|x\\.io|mailinator\\.com|müller\\.de)";
    let pick =
        |items: &'static [&'static str]| proptest::sample::select(items).prop_map(str::to_owned);
    (
        email,
        proptest::option::of("[A-Za-zÄÖÜäöüéøñß&.,' -]{0,24}"),
        proptest::option::of(pick(&[
            "acme.com",
            "https://WWW.Acme.co.uk/about?x=1",
            "n/a",
            "gmail.com",
            "linkedin.com/in/x",
            "bad site",
            "münchen.de",
        ])),
        proptest::option::of(pick(&[
            "US",
            "usa",
            "United States of America",
            "UK",
            "Deutschland",
            "Canada",
            "AU",
            "Atlantis",
            "n/a",
            "FR",
        ])),
        proptest::option::of(pick(&[
            "CA",
            "California",
            "ON",
            "NSW",
            "US-NY",
            "Bayern",
            "FR-75",
            "Narnia",
            "--",
        ])),
        proptest::option::of(pick(&[
            "02134",
            "2134",
            "94105-1234",
            "k1a0b1",
            "sw1a1aa",
            "10115",
            "ABC",
            "1012ab",
        ])),
        proptest::option::of(pick(&[
            "(415) 555-0100",
            "+44 (0)20 7946 0958",
            "030 1234567",
            "415.555.0100 x42",
            "call me",
            "4155550100",
        ])),
        proptest::option::of(pick(&[
            "51-200",
            "1,000+",
            "over 5,000",
            "<10",
            "5000",
            "10k-50k",
            "self-employed",
            "n/a",
        ])),
        proptest::option::of(pick(&[
            "$10M-$50M",
            "$1B+",
            "2500000",
            "€1.5M",
            "under $1M",
        ])),
        proptest::option::of("[A-Za-z ,;|]{0,30}"),
        proptest::option::of("[ -~]{0,12}"),
        proptest::option::of("[ -~]{0,12}"),
    )
        .prop_map(
            |(
                email,
                company,
                website,
                country,
                region,
                postal,
                phone,
                employees,
                revenue,
                products,
                source,
                utm,
            )| {
                let mut i = LeadInput::from_email(email);
                i.company = company;
                i.website = website;
                i.country = country;
                i.region = region;
                i.postal_code = postal;
                i.phone = phone;
                i.employees = employees;
                i.annual_revenue = revenue;
                i.product_interest = products;
                i.source = source;
                i.utm_campaign = utm;
                i
            },
        )
}

/// Custom attributes as forms send them: a few, or more than the default
/// limit of 100; with `null`s (no value), long keys and long values.
fn attributes() -> impl Strategy<Value = std::collections::BTreeMap<String, serde_json::Value>> {
    use serde_json::Value;
    let value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z ]{0,12}".prop_map(Value::String),
        // One under the default limit of 16 KiB, one over it.
        (1usize..3).prop_map(|k| Value::String("x".repeat(k * 12_000))),
    ];
    let key = prop_oneof![8 => "[a-z_]{1,12}", 1 => "[a-z]{200,210}"];
    prop_oneof![
        8 => proptest::collection::btree_map(key.clone(), value.clone(), 0..8),
        1 => proptest::collection::btree_map(key, value, 100..104),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn normalize_owned_gives_what_normalize_gives(
        mut input in plausible_input(),
        attributes in attributes(),
        phone in proptest::option::of(proptest::sample::select(&["+1 415 555 0100 ext. 7", "020 7946 0958", "call me"][..])),
    ) {
        input.attributes = attributes;
        input.phone = phone.map(str::to_owned);
        let normalizer = Normalizer::default();
        let borrowed = normalizer.normalize(&input);
        let owned = normalizer.normalize_owned(input);
        prop_assert_eq!(owned, borrowed);
    }

    #[test]
    fn normalize_never_panics_and_errors_always_name_a_field(input in arbitrary_input()) {
        let normalizer = Normalizer::default();
        match normalizer.normalize(&input) {
            Ok(out) => {
                // A lead always has a syntactically complete email.
                prop_assert!(out.lead.email.ends_with(&out.lead.email_domain));
                prop_assert!(out.lead.email_domain.is_ascii());
            }
            Err(err) => {
                prop_assert!(!err.errors.is_empty());
                for e in &err.errors {
                    prop_assert!(!e.message.is_empty());
                    prop_assert!(e.value.as_ref().is_none_or(|v| v.chars().count() <= 64 + 1));
                }
            }
        }
    }

    #[test]
    fn normalize_json_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = Normalizer::default().normalize_json(&text);
    }

    #[test]
    fn normalizing_a_normalized_lead_gives_the_same_lead(input in plausible_input()) {
        let normalizer = Normalizer::default();
        if let Ok(first) = normalizer.normalize(&input) {
            let json = serde_json::to_string(&first.lead).unwrap();
            let again = normalizer.normalize_json(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&again.lead, &first.lead, "json: {}", json);
            // Idempotent all the way: the second pass finds nothing to repair.
            prop_assert!(
                again.warnings.iter().all(|w| w.code != leadroute::lead::IssueCode::Repaired || w.field == leadroute::lead::Field::Phone),
                "{:?}", again.warnings
            );
        }
    }

    #[test]
    fn numbers_survive_normalize_json_normalize_exactly(
        min in any::<u64>(),
        width in proptest::option::of(any::<u64>()),
        revenue in any::<u64>(),
        float in any::<f64>().prop_filter("JSON has finite numbers", |f| f.is_finite()),
        big in any::<u64>(),
    ) {
        let max = width.map(|w| min.saturating_add(w));
        let input = serde_json::json!({
            "email": "ann@acme.com",
            // The object form the crate itself writes, and plain integer text.
            "employees": {"min": min, "max": max},
            "annual_revenue": revenue.to_string(),
            "ratio": float,
            "count": big,
        });
        let normalizer = Normalizer::default();
        let first = normalizer.normalize_json(&input.to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want = leadroute::lead::Range::new(min, max);
        prop_assert_eq!(first.lead.employees, Some(want));
        prop_assert_eq!(first.lead.annual_revenue, Some(leadroute::lead::Range::exactly(revenue)));
        prop_assert_eq!(first.lead.attributes["ratio"].as_f64(), Some(float));
        prop_assert_eq!(first.lead.attributes["count"].as_u64(), Some(big));
        let mut lead = first.lead;
        for _ in 0..3 {
            let json = serde_json::to_string(&lead).unwrap();
            let again = normalizer.normalize_json(&json).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&again.lead, &lead, "json: {}", json);
            lead = again.lead;
        }
    }

    #[test]
    fn company_key_ignores_case_and_legal_suffix(
        name in "[A-Za-z0-9äöüéñøß&'. -]{1,30}",
        suffix in proptest::sample::select(&["Inc.", "Inc", "Incorporated", "LLC", "Ltd", "Limited", "GmbH", "S.A.", "Corp.", "Pty Ltd", "AG", "B.V.", "plc", "S.A. de C.V.", "Co., Ltd."][..]),
    ) {
        let n = Normalizer::default();
        let key = n.company_key(&name);
        // The one documented exception: a name that is only the article "the"
        // keeps it, while "The Inc" keys as "inc".
        prop_assume!(key.as_deref().is_some_and(|k| k != "the"));
        // Nor may the name's last word and the suffix together be a longer
        // legal form, which is stripped whole (`0 FZ LLC`: `FZ LLC` is the
        // UAE free-zone company, so the key is `0`).
        let last = name.split_whitespace().last().unwrap_or_default();
        prop_assume!(n.company_key(&format!("{last} {suffix}")) == n.company_key(last));
        prop_assert_eq!(n.company_key(&name.to_uppercase()), key.clone());
        prop_assert_eq!(n.company_key(&name.to_lowercase()), key.clone());
        prop_assert_eq!(n.company_key(&format!("{name} {suffix}")), key.clone());
        prop_assert_eq!(n.company_key(&format!("{name}, {}", suffix.to_uppercase())), key.clone());
        prop_assert!(!key.unwrap_or_default().is_empty());
    }

    #[test]
    fn invisible_characters_never_change_the_address(
        local in "[a-z][a-z0-9.+]{0,8}[a-z0-9]",
        domain in proptest::sample::select(&["acme.com", "gmail.com", "mail.acme.co.uk", "müller.de"][..]),
        invisible in proptest::sample::select(&['\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}'][..]),
        at in 0usize..40,
    ) {
        let n = Normalizer::default();
        let clean = format!("{local}@{domain}");
        prop_assume!(!clean.contains(".."));
        let Ok(want) = n.normalize(&LeadInput::from_email(&clean)) else { return Ok(()) };
        let mut dirty: Vec<char> = clean.chars().collect();
        dirty.insert(at.min(dirty.len()), invisible);
        let dirty: String = dirty.into_iter().collect();
        let got = n.normalize(&LeadInput::from_email(&dirty)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&got.lead, &want.lead);
        prop_assert!(got.warnings.iter().any(|w| w.code == leadroute::lead::IssueCode::Repaired));
    }

    #[test]
    fn unsafe_characters_are_always_rejected(
        local in "[a-z]{1,8}",
        bad in proptest::sample::select(&['\u{202E}', '\u{200F}', '\u{2066}', '\u{2028}', '\u{2029}', '\u{0007}', '\u{E000}', '\u{0378}', '\u{FFFE}'][..]),
    ) {
        let input = LeadInput::from_email(format!("{local}{bad}x@acme.com"));
        let err = Normalizer::default().normalize(&input).unwrap_err();
        prop_assert_eq!(err.errors.len(), 1);
        prop_assert!(err.errors[0].message.contains("U+"));
    }

    /// Whatever the order of a field's spellings, a placeholder in one never
    /// beats a real value in the other: the lead is the lead of the real
    /// value alone, and the placeholder stays visible (a `placeholder`
    /// warning when it came first, an attribute when it came second).
    #[test]
    fn a_placeholder_spelling_never_beats_a_real_one(
        (first, second, real) in proptest::sample::select(&[
            ("company", "company_name", "Initech"),
            ("email", "work_email", "jane@initech.com"),
            ("country", "country_code", "DE"),
            ("State/Province", "state", "Bavaria"),
            ("zip", "Zip/Postal Code", "80331"),
            ("website", "website_url", "https://initech.com"),
            ("employees", "numemployees", "51-200"),
            ("phone", "mobilephone", "+49 89 1234567"),
            ("annual_revenue", "revenue", "$10M-$50M"),
        ][..]),
        placeholder in proptest::sample::select(&["N/A", "-", " none ", "Select Country", "Prefer not to say", "  "][..]),
        placeholder_first in any::<bool>(),
    ) {
        let n = Normalizer::default();
        let email = if first == "email" { "" } else { r#""email": "a@initech.com", "# };
        let q = |s: &str| serde_json::to_string(s).unwrap();
        let alone = n
            .normalize_json(&format!("{{{email}{}: {}, \"Country\": \"DE\"}}", q(second), q(real)))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (a, b) = if placeholder_first { ((first, placeholder), (second, real)) } else { ((second, real), (first, placeholder)) };
        let json = format!("{{{email}{}: {}, {}: {}, \"Country\": \"DE\"}}", q(a.0), q(a.1), q(b.0), q(b.1));
        let both = n.normalize_json(&json).map_err(|e| TestCaseError::fail(format!("{json}: {e}")))?;
        let mut lead = both.lead.clone();
        let placeholder_kept = lead.attributes.remove(first);
        prop_assert_eq!(&lead, &alone.lead, "{}", json);
        let warned = both.warnings.iter().any(|w| w.code == leadroute::lead::IssueCode::Placeholder);
        if placeholder.trim().is_empty() {
            // A blank first spelling is no value to keep; a blank second one is kept.
            prop_assert_eq!(placeholder_kept.is_some(), !placeholder_first, "{}", json);
        } else if placeholder_first {
            prop_assert!(warned && placeholder_kept.is_none(), "{}: {:?}", json, both.warnings);
        } else {
            prop_assert_eq!(placeholder_kept, Some(serde_json::Value::from(placeholder)), "{}", json);
        }
    }

    /// A one-item array (a multi-select, a hidden field) normalizes as its
    /// item would; an array of several items in a single-valued field leaves
    /// the field absent with a `wrong_type` warning quoting it, never an error.
    #[test]
    fn a_one_item_array_is_its_item(
        (key, value) in proptest::sample::select(&[
            ("utm_source", "google"), ("country", "US"), ("company", "Acme"), ("website", "acme.com"),
            ("zip", "94105"), ("employees", "51-200"), ("revenue", "1M"), ("first_name", "Ann"),
            ("region", "CA"), ("phone", "+1 415 555 0100"), ("lead_source", "Web"), ("id", "42"),
            ("product_interest", "plg"), ("email", "ann@acme.com"),
        ][..]),
        extra in "[a-zA-Z0-9 ]{0,8}",
    ) {
        let n = Normalizer::default();
        let email = if key == "email" { "" } else { r#""email": "a@acme.com", "# };
        let q = |v: serde_json::Value| v.to_string();
        let plain = n.normalize_json(&format!("{{{email}\"{key}\": {}}}", q(value.into())));
        let array = n.normalize_json(&format!("{{{email}\"{key}\": {}}}", q(serde_json::json!([value]))));
        prop_assert_eq!(&array, &plain);
        let several = serde_json::json!([value, extra]);
        let got = n.normalize_json(&format!("{{{email}\"{key}\": {several}}}"));
        match key {
            // Several products are several tokens; several emails an error.
            "product_interest" => prop_assert!(got.is_ok()),
            "email" => prop_assert!(got.is_err()),
            _ => {
                let got = got.map_err(|e| TestCaseError::fail(e.to_string()))?;
                let w = got.warnings.iter().find(|w| w.code == leadroute::lead::IssueCode::WrongType);
                let w = w.ok_or_else(|| TestCaseError::fail(format!("{:?}", got.warnings)))?;
                let quoted = several.to_string();
                prop_assert_eq!(w.value.as_deref(), Some(quoted.as_str()));
            }
        }
    }
}
