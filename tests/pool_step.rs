//! `PoolStep`: the rotation step a decision proposes, applied by whoever owns
//! the state — without the policy, in the caller's own transaction.

use leadroute::decision::RouteDecision;
use leadroute::policy::spec::{ActionSpec, OwnerSpec, PoolSpec};
use leadroute::pool::{Period, PoolState, PoolStates, PoolStep};
use leadroute::{Facts, Lead, LeadInput, Normalizer, Policy, PolicySpec, compile};

fn policy() -> Policy {
    let spec = PolicySpec::new("p", "1")
        .owner(OwnerSpec::new("ana", "Ana"))
        .owner(OwnerSpec::new("bob", "Bob"))
        .pool(
            PoolSpec::new("team")
                .member("ana", 3)
                .member("bob", 1)
                .capacity(10, Period::Day),
        )
        .fallback(ActionSpec::pool("team"));
    compile(&spec).unwrap()
}

fn lead(id: Option<&str>) -> Lead {
    let mut input = LeadInput::from_email("x@acme.com");
    input.lead_id = id.map(str::to_owned);
    let mut lead = Normalizer::default().normalize(&input).unwrap().lead;
    lead.lead_id = id.map(str::to_owned);
    lead
}

fn decide(p: &Policy, states: &PoolStates, id: Option<&str>) -> RouteDecision {
    p.evaluate(&lead(id), &Facts::at_unix(86_400 * 20_000).pools(states))
}

#[test]
fn applying_each_step_gives_the_weighted_rotation() {
    let p = policy();
    let mut states = PoolStates::new();
    let mut owners = Vec::new();
    for _ in 0..8 {
        let d = decide(&p, &states, None);
        let step = d.pool_step().unwrap().clone();
        assert_eq!((step.pool(), step.owner()), ("team", d.owner_id().unwrap()));
        let mut state = states.get("team").cloned().unwrap_or_default();
        step.apply(&mut state).unwrap();
        states.insert("team", state);
        owners.push(d.owner_id().unwrap().to_owned());
    }
    assert_eq!(
        owners,
        ["ana", "ana", "bob", "ana", "ana", "ana", "bob", "ana"]
    );
    let state = states.get("team").unwrap();
    assert_eq!(state.version, 8);
    assert_eq!(
        (state.member("ana").assigned, state.member("bob").assigned),
        (6, 2)
    );
    // Capacity counts the day the decision was made on.
    assert_eq!(state.member("ana").period, 20_000);
    assert_eq!(state.member("ana").in_period, 6);
}

#[test]
fn a_step_refuses_a_state_it_was_not_decided_on() {
    let p = policy();
    let states = PoolStates::new();
    let d = decide(&p, &states, None);
    let step = d.pool_step().unwrap();
    let mut moved_on = PoolState::default();
    moved_on.version = 3;
    let before = moved_on.clone();
    let err = step.apply(&mut moved_on).unwrap_err();
    assert_eq!((err.pool.as_str(), err.expected, err.found), ("team", 0, 3));
    assert_eq!(moved_on, before, "a refused step changes nothing");
    assert!(err.to_string().contains("evaluate again"));
}

#[test]
fn a_replayed_lead_id_changes_nothing() {
    let p = policy();
    let mut states = PoolStates::new();
    let first = decide(&p, &states, Some("lead-1"));
    let step = first.pool_step().unwrap();
    assert!(!step.is_replay());
    assert_eq!(step.lead_id(), Some("lead-1"));
    states.insert("team", step.next_state(&PoolState::default()).unwrap());

    let again = decide(&p, &states, Some("lead-1"));
    let replay = again.pool_step().unwrap();
    assert!(replay.is_replay());
    assert_eq!(again.owner_id(), first.owner_id());
    let state = states.get("team").unwrap().clone();
    assert_eq!(
        replay.next_state(&state).unwrap(),
        state,
        "no count, no version bump"
    );
}

#[test]
fn a_step_survives_a_json_round_trip_and_applies_the_same() {
    let p = policy();
    let states = PoolStates::new();
    let d = decide(&p, &states, Some("lead-9"));
    let step = d.pool_step().unwrap();
    let json = serde_json::to_value(step).unwrap();
    assert_eq!(json["pool"], "team");
    assert_eq!(json["owner"], "ana");
    assert_eq!(json["eligible"], serde_json::json!([0, 1]));
    assert_eq!(json["roster"][1]["owner"], "bob");
    let back: PoolStep = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, step);
    assert_eq!(
        back.next_state(&PoolState::default()).unwrap(),
        step.next_state(&PoolState::default()).unwrap()
    );
    // The decision carries it in its own JSON too.
    let decision = serde_json::to_value(&d).unwrap();
    assert_eq!(decision["pool_step"], json);

    let mut bad = json;
    bad["eligible"] = serde_json::json!([0, 4096]);
    let err = serde_json::from_value::<PoolStep>(bad).unwrap_err();
    assert!(err.to_string().contains("beyond the 256"), "{err}");
}

#[test]
fn decisions_without_a_pool_propose_no_step() {
    let spec = PolicySpec::new("p", "1")
        .owner(OwnerSpec::new("ana", "Ana"))
        .fallback(ActionSpec::owner("ana"));
    let d = compile(&spec)
        .unwrap()
        .evaluate(&lead(None), &Facts::at_unix(0));
    assert!(d.pool_step().is_none());
    assert!(serde_json::to_value(&d).unwrap().get("pool_step").is_none());
}
