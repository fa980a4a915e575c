//! Property tests for policy evaluation: totality, determinism, first-match
//! semantics visible in the trace, trace on/off equivalence, pool fairness.

use leadroute::PolicySpec;
use leadroute::crm::{Account, Contact};
use leadroute::decision::TraceEvent;
use leadroute::policy::EvalOptions;
use leadroute::pool::{AwayList, InMemoryPoolStore};
use leadroute::{Facts, Lead, LeadInput, Normalizer, Policy, compile};
use proptest::prelude::*;

fn seed_policy() -> Policy {
    let spec = PolicySpec::from_json_str(include_str!("../examples/policies/seed.json")).unwrap();
    compile(&spec).unwrap()
}

fn lead_strategy() -> impl Strategy<Value = Lead> {
    let pick =
        |items: &'static [&'static str]| proptest::sample::select(items).prop_map(str::to_owned);
    (
        pick(&[
            "a@acme.com",
            "b@gmail.com",
            "c@mailinator.com",
            "d@umbrella.com",
            "e@initech.co.uk",
        ]),
        proptest::option::of(pick(&["US", "CA", "GB", "DE"])),
        proptest::option::of(pick(&["1-10", "51-200", "201-500", "1000+", "100-500"])),
        proptest::option::of(pick(&["plg", "analytics", "Free Trial", "self-serve, crm"])),
        proptest::option::of("[a-z0-9]{1,6}"),
    )
        .prop_map(|(email, country, employees, products, id)| {
            let mut i = LeadInput::from_email(email);
            i.country = country;
            i.employees = employees;
            i.product_interest = products;
            i.lead_id = id;
            Normalizer::default().normalize(&i).unwrap().lead
        })
}

fn owner_strategy() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        proptest::sample::select(&["ana", "bob", "gus", "nobody-known", "cleo"][..])
            .prop_map(str::to_owned),
    )
}

fn context_facts() -> impl Strategy<Value = (Option<Account>, Option<Contact>, Vec<String>)> {
    (
        proptest::option::of(
            (owner_strategy(), any::<bool>()).prop_map(|(owner, customer)| {
                let mut a = Account::new("001", "Acct");
                a.owner = owner;
                a.is_customer = customer;
                a
            }),
        ),
        proptest::option::of(owner_strategy().prop_map(|owner| {
            let mut c = Contact::new("003");
            c.owner = owner;
            c
        })),
        proptest::collection::vec(
            proptest::sample::select(&["ana", "bob", "cleo", "dev", "emma", "finn"][..])
                .prop_map(str::to_owned),
            0..6,
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_lead_gets_a_decision_that_ends_somewhere(lead in lead_strategy(), (account, contact, away) in context_facts(), t in 0u64..2_000_000_000) {
        let policy = seed_policy();
        let away = AwayList::new(away);
        let mut ctx = Facts::at_unix(t).availability(&away);
        if let Some(a) = &account { ctx = ctx.account(a); }
        if let Some(c) = &contact { ctx = ctx.contact(c); }
        let d = policy.evaluate(&lead, &ctx);
        // Decided by exactly one of: a rule, or the fallback.
        prop_assert_eq!(d.rule.is_some(), !d.fallback);
        // Any owner is a real, active owner of the policy.
        if let Some(owner) = d.owner_id() {
            let spec = policy.owner(owner);
            prop_assert!(spec.is_some_and(|o| o.active), "owner {owner} not active");
        }
        // The last rule event names the deciding rule, or the fallback follows.
        let last_matched = d.trace.events.iter().rev().find_map(|e| match e {
            TraceEvent::Rule { rule, matched: true } => Some(*rule),
            _ => None,
        });
        match &d.rule {
            Some(id) => {
                let idx = policy.rule_ids().position(|r| r == &**id).unwrap() as u32;
                prop_assert_eq!(last_matched, Some(idx));
            }
            None => {
                let has_fallback = d.trace.events.iter().any(|e| matches!(e, TraceEvent::Fallback { .. }));
                prop_assert!(has_fallback);
            }
        }
    }

    #[test]
    fn first_match_wins_and_rules_are_considered_in_order(lead in lead_strategy(), (account, contact, away) in context_facts()) {
        let policy = seed_policy();
        let away = AwayList::new(away);
        let mut ctx = Facts::at_unix(0).availability(&away);
        if let Some(a) = &account { ctx = ctx.account(a); }
        if let Some(c) = &contact { ctx = ctx.contact(c); }
        let d = policy.evaluate(&lead, &ctx);
        let events = &d.trace.events;
        let rule_events: Vec<(usize, u32, bool)> = events.iter().enumerate().filter_map(|(pos, e)| match e {
            TraceEvent::Rule { rule, matched } => Some((pos, *rule, *matched)),
            _ => None,
        }).collect();
        // Every rule up to the decision is accounted for exactly once, in
        // order: evaluated (a `rule` event) or inside a `rules_skipped` run.
        let mut expected = 0u32;
        for e in events {
            match e {
                TraceEvent::Rule { rule, .. } => {
                    prop_assert_eq!(*rule, expected);
                    expected += 1;
                }
                TraceEvent::RulesSkipped { first, count, .. } => {
                    prop_assert_eq!(*first, expected);
                    prop_assert!(*count > 0);
                    expected += count;
                }
                _ => {}
            }
        }
        if d.fallback {
            prop_assert_eq!(expected as usize, policy.rule_ids().count());
        }
        // Every matched rule before the decision handed the lead on visibly.
        let decided = d.rule.as_ref().map(|id| policy.rule_ids().position(|r| r == &**id).unwrap());
        for (pos, rule, matched) in &rule_events {
            if *matched && Some(*rule as usize) != decided {
                let next = events.get(pos + 1..).unwrap_or_default();
                let handed_on = next
                    .iter()
                    .take_while(|e| !matches!(e, TraceEvent::Rule { .. }))
                    .any(|e| matches!(e, TraceEvent::Unavailable { .. }));
                prop_assert!(handed_on, "rule {} matched but did not decide and no Unavailable event follows", rule);
            }
        }
    }

    #[test]
    fn the_rule_index_never_changes_a_decision(lead in lead_strategy(), (account, contact, away) in context_facts()) {
        let policy = seed_policy();
        // The same policy with every condition behind `not(not(…))`: the index
        // cannot see through it, so every rule is evaluated in order.
        let mut spec = PolicySpec::from_json_str(include_str!("../examples/policies/seed.json")).unwrap();
        for rule in &mut spec.rules {
            rule.when = rule.when.clone().negate().negate();
        }
        let unindexed = compile(&spec).unwrap();
        let away = AwayList::new(away);
        let mut ctx = Facts::at_unix(0).availability(&away);
        if let Some(a) = &account { ctx = ctx.account(a); }
        if let Some(c) = &contact { ctx = ctx.contact(c); }
        let (a, b) = (policy.evaluate(&lead, &ctx), unindexed.evaluate(&lead, &ctx));
        prop_assert_eq!((&a.owner, &a.rule, a.fallback, &a.experience), (&b.owner, &b.rule, b.fallback, &b.experience));
        let skipped = b.trace.events.iter().any(|e| matches!(e, TraceEvent::RulesSkipped { .. }));
        prop_assert!(!skipped);
    }

    #[test]
    fn same_inputs_same_decision_and_trace_never_changes_it(lead in lead_strategy(), (account, contact, away) in context_facts()) {
        let policy = seed_policy();
        let away = AwayList::new(away);
        let mut ctx = Facts::at_unix(86_400 * 3).availability(&away);
        if let Some(a) = &account { ctx = ctx.account(a); }
        if let Some(c) = &contact { ctx = ctx.contact(c); }
        let a = policy.evaluate(&lead, &ctx);
        let b = policy.evaluate(&lead, &ctx);
        prop_assert_eq!(&a, &b);
        let mut quiet = policy.evaluate_with(&lead, &ctx, EvalOptions::without_trace());
        prop_assert!(quiet.trace.events.is_empty());
        quiet.trace = a.trace.clone();
        prop_assert_eq!(&quiet, &a);
    }

    #[test]
    fn pool_shares_follow_weights(weights in proptest::collection::vec(1u32..=9, 2..=6), cycles in 1usize..=3) {
        let mut b = PolicySpec::new("fair", "1");
        let mut pool = leadroute::policy::spec::PoolSpec::new("team");
        for (i, w) in weights.iter().enumerate() {
            b = b.owner(leadroute::policy::spec::OwnerSpec::new(format!("o{i}"), format!("O{i}")));
            pool = pool.member(format!("o{i}"), *w);
        }
        let policy = compile(&b.pool(pool).fallback(leadroute::policy::spec::ActionSpec::pool("team"))).unwrap();
        let store = InMemoryPoolStore::new();
        let lead = Normalizer::default().normalize(&LeadInput::from_email("x@acme.com")).unwrap().lead;
        let total: u32 = weights.iter().sum();
        let mut counts = vec![0u32; weights.len()];
        for n in 1..=(total as usize * cycles) {
            let d = pollster::block_on(leadroute::router::decide_and_record(&policy, &lead, &Facts::at_unix(0), &store)).unwrap();
            let i: usize = d.owner_id().unwrap()[1..].parse().unwrap();
            counts[i] += 1;
            for (k, w) in weights.iter().enumerate() {
                let ideal = n as f64 * f64::from(*w) / f64::from(total);
                let msg = format!("after {n}: member {k} has {} vs ideal {ideal:.2}", counts[k]);
                prop_assert!((f64::from(counts[k]) - ideal).abs() < 1.5, "{}", msg);
            }
            if n % total as usize == 0 {
                let cycle = (n / total as usize) as u32;
                prop_assert_eq!(&counts, &weights.iter().map(|w| w * cycle).collect::<Vec<_>>());
            }
        }
    }
}
