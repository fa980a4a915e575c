//! Property tests of the matcher: deterministic, independent of the
//! candidates' order, never matching on a free-mail or disposable domain,
//! and consistent in what it reports.

use leadroute::crm::Account;
use leadroute::matching::{CandidateStatus, MatchMethod, Matcher, Signal};
use leadroute::{LeadInput, Normalizer};
use proptest::prelude::*;

const DOMAINS: &[&str] = &[
    "acme.com",
    "acme.co.uk",
    "www.acme.de",
    "uk.acme.com",
    "acmelabs.io",
    "globex.com",
    "initech.com",
    "gmail.com",
    "yahoo.co.uk",
    "mailinator.com",
    "outlook.com",
    "example.com",
    "siemens.com",
    "siemens-healthineers.com",
    "hp.com",
    "global.com",
    "global.de",
    "https://www.globex.com/en",
];
const NAMES: &[&str] = &[
    "Acme Corporation",
    "Acme UK Ltd",
    "ACME",
    "Acme Labs",
    "Globex",
    "Globex Corp",
    "Initech",
    "Initech Inc.",
    "Siemens AG",
    "Siemens Healthineers",
    "HP Inc.",
    "Global Solutions",
    "Gmail User",
    "Müller GmbH",
    "Mueller",
    "AMD",
    "Advanced Micro Devices",
];
const COUNTRIES: &[&str] = &["US", "GB", "DE", "FR", "United Kingdom", "Deutschland"];
const EMAIL_DOMAINS: &[&str] = &[
    "acme.com",
    "acme.co.uk",
    "uk.acme.com",
    "acme.fr",
    "globex.com",
    "initech.com",
    "gmail.com",
    "yahoo.co.uk",
    "mailinator.com",
    "outlook.com",
    "siemens.com",
    "hp.de",
    "example.com",
];

fn pick(items: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(items).prop_map(str::to_owned)
}

fn account() -> impl Strategy<Value = Account> {
    (
        0u8..12,
        pick(NAMES),
        proptest::option::of(pick(DOMAINS)),
        proptest::collection::vec(pick(DOMAINS), 0..2),
        proptest::option::of(pick(COUNTRIES)),
        any::<bool>(),
        proptest::option::of(0u8..12),
        proptest::option::of((pick(EMAIL_DOMAINS), 0u32..6)),
        proptest::option::of(0i64..5),
    )
        .prop_map(
            |(id, name, domain, extra, country, customer, parent, contacts, activity)| {
                let mut a = Account::new(format!("a{id}"), name).owner(format!("o{id}"));
                a.domain = domain;
                a.additional_domains = extra;
                a.country = country;
                a.is_customer = customer;
                a.parent_id = parent.map(|p| format!("a{p}"));
                if let Some((d, n)) = contacts {
                    a.contact_domains.insert(d, n);
                }
                a.last_activity = activity;
                a
            },
        )
}

fn accounts() -> impl Strategy<Value = Vec<Account>> {
    // Unique ids: a CRM returns each account once.
    proptest::collection::vec(account(), 0..10).prop_map(|v| {
        let mut seen = std::collections::HashSet::new();
        v.into_iter()
            .filter(|a| seen.insert(a.id.clone()))
            .collect()
    })
}

fn lead() -> impl Strategy<Value = leadroute::Lead> {
    (
        "[a-z]{1,6}",
        pick(EMAIL_DOMAINS),
        proptest::option::of(pick(NAMES)),
        proptest::option::of(pick(COUNTRIES)),
        proptest::option::of(pick(DOMAINS)),
    )
        .prop_map(|(local, domain, company, country, website)| {
            let mut input = LeadInput::from_email(format!("{local}@{domain}"));
            input.company = company;
            input.country = country;
            input.website = website;
            Normalizer::default()
                .normalize(&input)
                .expect("a valid lead")
                .lead
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn matching_is_deterministic_and_independent_of_candidate_order(
        lead in lead(),
        accounts in accounts(),
        seed in any::<u64>(),
    ) {
        let m = Matcher::default();
        let first = m.match_accounts(&lead, &accounts);
        prop_assert_eq!(&first, &m.match_accounts(&lead, &accounts));
        let mut shuffled = accounts.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        prop_assert_eq!(&first, &m.match_accounts(&lead, &shuffled));
        shuffled.reverse();
        prop_assert_eq!(&first, &m.match_accounts(&lead, &shuffled));
    }

    #[test]
    fn a_prepared_set_matches_exactly_like_the_fresh_accounts(
        lead in lead(),
        accounts in accounts(),
        extra in accounts(),
        max in 1usize..12,
    ) {
        let mut config = leadroute::matching::MatchConfig::default();
        config.max_candidates = max;
        let m = Matcher::new(config).unwrap();
        let mut set = m.prepare(accounts.clone());
        prop_assert_eq!(m.match_set(&lead, &set), m.match_accounts(&lead, &accounts));
        // Kept current by insert and remove, it still agrees.
        let mut all: Vec<Account> = accounts.clone();
        for a in extra {
            all.retain(|x| x.id != a.id);
            all.push(a.clone());
            set.insert(a);
        }
        prop_assert_eq!(m.match_set(&lead, &set), m.match_accounts(&lead, &all));
        if let Some(first) = all.first().map(|a| a.id.clone()) {
            prop_assert!(set.remove(&first).is_some());
            all.retain(|x| x.id != first);
            prop_assert_eq!(m.match_set(&lead, &set), m.match_accounts(&lead, &all));
        }
    }

    #[test]
    fn never_matches_on_a_free_mail_or_disposable_domain(
        lead in lead(),
        accounts in accounts(),
    ) {
        let normalizer = Normalizer::default();
        let m = Matcher::default().match_accounts(&lead, &accounts);
        let free = |d: &str| {
            normalizer.email_kind(d) != leadroute::lead::EmailKind::Business
        };
        for c in &m.candidates {
            for e in &c.evidence {
                if let Signal::Method(method) = e.signal {
                    if !method.is_name_method() && method != MatchMethod::ContactDomain {
                        prop_assert!(!free(&e.lead) && !free(&e.account), "{e:?}");
                    }
                }
            }
        }
        if lead.email_kind != leadroute::lead::EmailKind::Business {
            // Free and disposable leads are only ever matched by name.
            prop_assert!(m.method.is_none_or(MatchMethod::is_name_method), "{m}");
        }
    }

    #[test]
    fn the_report_is_consistent_with_the_outcome(
        lead in lead(),
        accounts in accounts(),
    ) {
        let m = Matcher::default().match_accounts(&lead, &accounts);
        let chosen: Vec<_> = m.candidates.iter().filter(|c| c.status == CandidateStatus::Chosen).collect();
        let tied = m.candidates.iter().filter(|c| c.status == CandidateStatus::Tied).count();
        prop_assert_eq!(m.candidates.len(), accounts.len());
        prop_assert!((0.0..=1.0).contains(&m.confidence));
        if m.is_matched() {
            prop_assert_eq!(chosen.len(), 1);
            prop_assert_eq!(Some(chosen[0].account_id.as_str()), m.account_id.as_deref());
            prop_assert!(chosen[0].score >= Matcher::default().config().min_confidence);
            prop_assert!(m.routed_account_id.is_some());
            prop_assert_eq!(tied, 0);
        } else {
            prop_assert!(chosen.is_empty() && m.account_id.is_none());
            prop_assert_eq!(m.is_ambiguous(), tied >= 2);
        }
        // Candidates come best first.
        prop_assert!(m.candidates.windows(2).all(|w| w[0].score >= w[1].score));
        // The JSON reads back to the same result.
        let back: leadroute::matching::AccountMatch =
            serde_json::from_value(serde_json::to_value(&m).unwrap()).unwrap();
        prop_assert_eq!(back, m);
    }
}
