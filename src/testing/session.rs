//! [`PolicySession`]: leads routed in sequence, with pool state kept between
//! them — purely, without a store or an executor.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime};

use super::checked::Checked;
use super::tester::PolicyTester;
use crate::lead::model::Lead;
use crate::pool::availability::AwayList;
use crate::pool::state::{PoolState, PoolStates};

/// The state of a pool no lead has reached yet.
static FRESH: PoolState = PoolState {
    version: 0,
    members: BTreeMap::new(),
    recent: VecDeque::new(),
};

/// Leads routed one after another through a [`PolicyTester`]'s policy, with
/// pool rotation state kept between them: each decision's
/// [`PoolStep`](crate::pool::PoolStep) is applied with
/// [`PoolStep::apply`](crate::pool::PoolStep::apply) to pool states the
/// session owns, exactly as a [`PoolStore`](crate::PoolStore) would record
/// it. No store, no async, no executor.
///
/// Made by [`PolicyTester::session`]; it starts at the tester's time, away
/// list and pool state, and can change the time and the away list between
/// leads.
///
/// # New leads and replays
///
/// A payload **without** a lead id (`lead_id`, `id` or `submission_id`) is a
/// new lead every time it is routed, so routing it again advances the
/// rotation. A payload **with** a lead id the pool assigned recently is a
/// replay: it gets the same owner again and changes no counter (the pool
/// remembers the last 256 lead ids). ([`LeadRouter`](crate::LeadRouter)
/// gives a submission without an id one derived from its email and time;
/// the tester does not.)
///
/// ```
/// use std::time::Duration;
/// use leadroute::testing::PolicyTester;
///
/// let t = PolicyTester::from_toml(r#"
///     name = "p"
///     version = "1"
///     owners = [{ id = "ana", name = "Ana" }, { id = "bob", name = "Bob" }]
///     pools = [{ id = "team", members = [{ owner = "ana" }, { owner = "bob" }], capacity = { max = 2, per = "day" } }]
///     [fallback]
///     assign = { pool = "team" }
/// "#);
/// let mut s = t.session();
/// s.route(r#"{"email": "a@acme.com", "lead_id": "L-1"}"#).assert_owner("ana");
/// s.route(r#"{"email": "a@acme.com", "lead_id": "L-1"}"#).assert_owner("ana"); // replay
/// assert_eq!(s.pool_state("team").version, 1);
/// s.route(r#"{"email": "b@acme.com", "lead_id": "L-2"}"#).assert_owner("bob");
///
/// // Bob goes on holiday: Ana takes the next lead, and then she is at her cap.
/// s.set_away(["bob"]);
/// s.route(r#"{"email": "c@acme.com"}"#).assert_owner("ana");
/// s.route(r#"{"email": "d@acme.com"}"#)
///     .assert_unassigned()
///     .assert_explanation_contains("ana skipped: at capacity (2/2)");
///
/// // The next day the caps reset.
/// s.advance(Duration::from_secs(86_400));
/// s.route(r#"{"email": "e@acme.com"}"#).assert_owner("ana");
/// assert_eq!(s.pool_state("team").member("ana").in_period, 1);
/// assert_eq!(s.pool_state("team").member("ana").assigned, 3);
/// ```
#[derive(Debug, Clone)]
pub struct PolicySession {
    tester: PolicyTester,
    pools: PoolStates,
    now: SystemTime,
    away: AwayList,
}

impl PolicySession {
    pub(super) fn new(tester: PolicyTester) -> Self {
        PolicySession {
            pools: tester.pools().clone(),
            now: tester.now(),
            away: tester.away().clone(),
            tester,
        }
    }

    /// Normalizes a JSON payload (panicking on field errors), evaluates it
    /// on the session's pool state, and records the decision's pool step.
    #[track_caller]
    pub fn route(&mut self, lead_json: &str) -> Checked {
        let lead = self.tester.lead(lead_json);
        self.route_lead(&lead)
    }

    /// Routes `lead_json` once per expected owner, continuing from the
    /// session's current state, and asserts the owners in order. The payload
    /// must not carry a lead id (see
    /// [`PolicyTester::assert_rotation`]). On a mismatch it panics with both
    /// sequences and the explanation of the first lead that went elsewhere.
    #[track_caller]
    pub fn assert_rotation<I, S>(&mut self, lead_json: &str, owners: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let want: Vec<S> = owners.into_iter().collect();
        let lead = self.tester.lead(lead_json);
        if let (Some(id), true) = (&lead.lead_id, want.len() > 1) {
            panic!(
                "assert_rotation routes the same payload {} times, but it has lead id `{id}`: \
                 every route after the first would replay the first assignment. Remove the id, \
                 or route distinct lead ids with session().route(…)",
                want.len()
            );
        }
        let mut got: Vec<Option<String>> = Vec::with_capacity(want.len());
        let mut first_miss: Option<(usize, Checked)> = None;
        for w in &want {
            let checked = self.route_lead(&lead);
            let owner = checked.decision.owner_id().map(str::to_owned);
            if first_miss.is_none() && owner.as_deref() != Some(w.as_ref()) {
                first_miss = Some((got.len(), checked));
            }
            got.push(owner);
        }
        if let Some((i, checked)) = first_miss {
            let want_list: Vec<&str> = want.iter().map(AsRef::as_ref).collect();
            let got_list: Vec<&str> = got.iter().map(|o| o.as_deref().unwrap_or("-")).collect();
            let expected = want_list.get(i).copied().unwrap_or_default();
            let went = got_list.get(i).copied().unwrap_or_default();
            panic!(
                "expected rotation {want_list:?}, got {got_list:?} (\"-\": nobody); \
                 lead {} went to `{went}` instead of `{expected}`:\n{}",
                i + 1,
                checked.explanation
            );
        }
        self
    }

    /// A pool's rotation state now (all counters zero before its first
    /// lead).
    pub fn pool_state(&self, pool: &str) -> &PoolState {
        self.pools.get(pool).unwrap_or(&FRESH)
    }

    /// Every pool's state now, e.g. to start another tester from it with
    /// [`PolicyTester::with_pools`].
    pub fn pool_states(&self) -> &PoolStates {
        &self.pools
    }

    /// The decision time for the next lead.
    pub fn now(&self) -> SystemTime {
        self.now
    }

    /// Moves the decision time forward (capacity periods are UTC days and
    /// weeks).
    pub fn advance(&mut self, by: Duration) -> &mut Self {
        self.now += by;
        self
    }

    /// Routes the next leads with these owners away (replacing the list;
    /// an empty list brings everyone back).
    pub fn set_away<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, owners: I) -> &mut Self {
        self.away = AwayList::new(owners);
        self
    }

    #[track_caller]
    fn route_lead(&mut self, lead: &Lead) -> Checked {
        let checked = self.tester.check(lead, &self.pools, self.now, &self.away);
        if let Some(step) = checked.decision.pool_step() {
            let mut state = self.pools.get(step.pool()).cloned().unwrap_or_default();
            if let Err(e) = step.apply(&mut state) {
                // The decision was made on exactly this state.
                panic!("leadroute testing kit bug: {e}");
            }
            self.pools.insert(step.pool(), state);
        }
        checked
    }
}

/// Sessions are made from a tester; these methods live here, beside the
/// session, so that the tester does not depend on the session that depends
/// on it.
impl PolicyTester {
    /// A session: routes leads one after another, applying each decision's
    /// [`PoolStep`](crate::pool::PoolStep) to pool state the session owns,
    /// as a [`PoolStore`](crate::PoolStore) would record it. Starts from
    /// [`with_pools`](Self::with_pools) (fresh pools by default).
    ///
    /// ```
    /// use leadroute::testing::PolicyTester;
    ///
    /// let t = PolicyTester::from_toml(r#"
    ///     name = "p"
    ///     version = "1"
    ///     owners = [{ id = "ana", name = "Ana" }, { id = "bob", name = "Bob" }]
    ///     pools = [{ id = "team", members = [{ owner = "ana" }, { owner = "bob" }] }]
    ///     [fallback]
    ///     assign = { pool = "team" }
    /// "#);
    /// let mut s = t.session();
    /// s.route(r#"{"email": "a@acme.com"}"#).assert_owner("ana").assert_pool("team");
    /// s.route(r#"{"email": "b@acme.com"}"#).assert_owner("bob");
    /// assert_eq!(s.pool_state("team").version, 2);
    /// assert_eq!(s.pool_state("team").member("ana").assigned, 1);
    /// ```
    pub fn session(&self) -> PolicySession {
        PolicySession::new(self.clone())
    }

    /// Routes `lead_json` once per expected owner in a fresh
    /// [`session`](Self::session) and asserts the owners, in order; returns
    /// the session to inspect its pool state.
    ///
    /// The payload must not carry a lead id (`lead_id`, `id` or
    /// `submission_id`): each route is then a new lead and the rotation
    /// advances. With an id, every route after the first would be a replay
    /// of the same lead and get the same owner, so this panics and asks for
    /// a session instead (see [`PolicySession`] for replays).
    ///
    /// ```
    /// use leadroute::testing::PolicyTester;
    ///
    /// let t = PolicyTester::from_toml(r#"
    ///     name = "p"
    ///     version = "1"
    ///     owners = [{ id = "ana", name = "Ana" }, { id = "bob", name = "Bob" }]
    ///     pools = [{ id = "team", members = [{ owner = "ana", weight = 3 }, { owner = "bob", weight = 1 }] }]
    ///     [fallback]
    ///     assign = { pool = "team" }
    /// "#);
    /// let lead = r#"{"email": "cto@acme.com"}"#;
    /// let s = t.assert_rotation(lead, ["ana", "ana", "bob", "ana"]);
    /// assert_eq!(s.pool_state("team").member("bob").assigned, 1);
    /// t.with_away(["ana"]).assert_rotation(lead, ["bob", "bob"]);
    /// ```
    #[track_caller]
    pub fn assert_rotation<I, S>(&self, lead_json: &str, owners: I) -> PolicySession
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut session = self.session();
        session.assert_rotation(lead_json, owners);
        session
    }
}
