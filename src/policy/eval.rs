//! Evaluation: pure, deterministic, one code path with the trace on or off.

use serde_json::Value;

use super::compile::kind_bit;
use super::compiled::*;
use crate::context::{Account, Context, CrmStatus};
use crate::decision::*;
use crate::lead::Lead;
use crate::policy::spec::{OwnerSpec, Period};
use crate::pool::{MemberSet, PoolPick, PoolState, PoolStore, REPLAY_WINDOW};

/// Options for [`Policy::evaluate_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EvalOptions {
    /// Record the trace (default `true`). Never changes the decision.
    pub trace: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions { trace: true }
    }
}

impl EvalOptions {
    /// Options with the trace off.
    pub fn without_trace() -> Self {
        EvalOptions { trace: false }
    }
}

/// Why [`Policy::assign`] could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssignError<E: std::error::Error + 'static> {
    /// The pool store failed.
    #[error("pool store error: {0}")]
    Store(#[source] E),
    /// Other replicas kept updating the pool between our read and write.
    #[error("pool `{pool}` changed under us {attempts} times in a row; giving up")]
    Contention {
        /// The pool.
        pool: String,
        /// How many compare-and-swaps failed.
        attempts: u32,
    },
}

/// Records trace events when on; a no-op when off. The evaluation code is
/// the same either way.
struct Recorder {
    on: bool,
    events: Vec<TraceEvent>,
}

impl Recorder {
    #[inline]
    fn push(&mut self, e: TraceEvent) {
        if self.on {
            self.events.push(e);
        }
    }
}

/// Who a resolved action assigns, before it becomes a decision.
struct Assignment {
    owner: Option<u32>,
    by: By,
    pick: Option<PoolPick>,
}

#[derive(Clone, Copy)]
enum By {
    AccountOwner,
    ContactOwner,
    Owner,
    Pool(u32),
    Nobody,
}

const ASSIGN_ATTEMPTS: u32 = 16;

fn idx32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Policy {
    /// The policy name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The policy version.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    /// The spec this policy was compiled from.
    pub fn spec(&self) -> &crate::policy::PolicySpec {
        &self.inner.spec
    }

    /// Warnings found while compiling.
    pub fn warnings(&self) -> &[crate::policy::Diagnostic] {
        &self.inner.warnings
    }

    /// Rule ids, in evaluation order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.inner.rules.iter().map(|r| &*r.id)
    }

    /// An owner from the directory, by id (e.g. to get its CRM ids).
    pub fn owner(&self, id: &str) -> Option<&OwnerSpec> {
        let i = *self.inner.owner_index.get(id)?;
        self.inner.owners.get(i as usize).map(|o| &o.spec)
    }

    /// Evaluates the policy for a lead, with the trace on.
    ///
    /// Pure and deterministic: the same lead and context always give the
    /// same decision. Pool choices are computed from `ctx.pools`; use
    /// [`assign`](Self::assign) to also record them in a [`PoolStore`].
    pub fn evaluate(&self, lead: &Lead, ctx: &Context<'_>) -> RouteDecision {
        self.evaluate_with(lead, ctx, EvalOptions::default())
    }

    /// Evaluates with options (e.g. the trace off).
    pub fn evaluate_with(
        &self,
        lead: &Lead,
        ctx: &Context<'_>,
        opts: EvalOptions,
    ) -> RouteDecision {
        let p = &*self.inner;
        let mut rec = Recorder {
            on: opts.trace,
            events: if opts.trace {
                Vec::with_capacity(p.trace_capacity)
            } else {
                Vec::new()
            },
        };
        if matches!(ctx.crm_status, CrmStatus::Failed | CrmStatus::TimedOut) {
            rec.push(TraceEvent::CrmUnavailable {
                status: ctx.crm_status,
            });
        }
        let mut reason = FallbackReason::NoRuleMatched;
        // Rules the index rules out are skipped in one step each run of them;
        // the rest are visited in order, exactly as a plain scan would.
        let mut next = 0usize;
        for r in p.index.candidates(lead) {
            let Some(rule) = p.rules.get(r) else { continue };
            if r > next {
                rec.push(TraceEvent::RulesSkipped {
                    first: idx32(next),
                    count: idx32(r - next),
                });
            }
            next = r + 1;
            let ri = idx32(r);
            let matched = self.cond(&rule.cond, lead, ctx, &mut rec);
            rec.push(TraceEvent::Rule { rule: ri, matched });
            if !matched {
                continue;
            }
            match self.resolve(rule.action.assign, lead, ctx, &mut rec) {
                Ok(a) => return self.decide(Some(ri), &rule.action, a, rec),
                Err(why) => {
                    rec.push(TraceEvent::Unavailable {
                        rule: Some(ri),
                        reason: why,
                    });
                    match rule.action.if_unavailable {
                        NextC::NextRule => continue,
                        NextC::Fallback => {
                            reason = FallbackReason::RuleAsked { rule: ri };
                            break;
                        }
                        NextC::Target(t) => match self.target(t, lead, ctx, &mut rec, 0) {
                            Ok(a) => return self.decide(Some(ri), &rule.action, a, rec),
                            Err(why) => {
                                rec.push(TraceEvent::Unavailable {
                                    rule: Some(ri),
                                    reason: why,
                                });
                                continue;
                            }
                        },
                    }
                }
            }
        }
        if next < p.index.len() && reason == FallbackReason::NoRuleMatched {
            rec.push(TraceEvent::RulesSkipped {
                first: idx32(next),
                count: idx32(p.index.len() - next),
            });
        }
        rec.push(TraceEvent::Fallback { reason });
        let nobody = || Assignment {
            owner: None,
            by: By::Nobody,
            pick: None,
        };
        let a = match self.resolve(p.fallback.assign, lead, ctx, &mut rec) {
            Ok(a) => a,
            Err(why) => {
                rec.push(TraceEvent::Unavailable {
                    rule: None,
                    reason: why,
                });
                match p.fallback.if_unavailable {
                    NextC::Target(t) => {
                        self.target(t, lead, ctx, &mut rec, 0)
                            .unwrap_or_else(|why| {
                                rec.push(TraceEvent::Unavailable {
                                    rule: None,
                                    reason: why,
                                });
                                nobody()
                            })
                    }
                    NextC::NextRule | NextC::Fallback => nobody(),
                }
            }
        };
        self.decide(None, &p.fallback, a, rec)
    }

    /// Evaluates and records any pool assignment in `store`, atomically:
    /// load the pool's state, evaluate, compare-and-swap; on a concurrent
    /// update, reload and evaluate again. Replays of a lead id already
    /// assigned by the pool do not write.
    ///
    /// ```
    /// use leadroute::{compile, Context, InMemoryPoolStore, LeadInput, Normalizer};
    /// use leadroute::policy::{ActionSpec, OwnerSpec, PolicySpec, PoolSpec};
    ///
    /// let spec = PolicySpec::builder("p", "1")
    ///     .owner(OwnerSpec::new("ana", "Ana"))
    ///     .owner(OwnerSpec::new("bob", "Bob"))
    ///     .pool(PoolSpec::new("team").member("ana", 3).member("bob", 1))
    ///     .fallback(ActionSpec::pool("team"))
    ///     .build();
    /// let policy = compile(&spec).unwrap();
    /// let store = InMemoryPoolStore::new();
    /// let lead = Normalizer::default().normalize(&LeadInput::from_email("x@acme.com")).unwrap().lead;
    /// let owners: Vec<String> = (0..4)
    ///     .map(|_| pollster::block_on(policy.assign(&lead, &Context::at_unix(0), &store)).unwrap())
    ///     .map(|d| d.owner.unwrap().to_string())
    ///     .collect();
    /// assert_eq!(owners, ["ana", "ana", "bob", "ana"]);
    /// ```
    pub async fn assign<S: PoolStore>(
        &self,
        lead: &Lead,
        ctx: &Context<'_>,
        store: &S,
    ) -> Result<RouteDecision, AssignError<S::Error>> {
        let mut states = ctx.pools.clone();
        let mut failures = 0;
        loop {
            let decision = self.evaluate(lead, &ctx.with_pools(&states));
            let Some(pick) = decision.pool_pick else {
                return Ok(decision);
            };
            let Some(pool) = self.inner.pools.get(pick.pool as usize) else {
                return Ok(decision);
            };
            let Some(state) = states.get(&pool.key) else {
                // Decide again on the stored state rather than a fresh one.
                let loaded = store.load(&pool.key).await.map_err(AssignError::Store)?;
                states.insert(&*pool.key, loaded);
                continue;
            };
            if pick.replay {
                return Ok(decision);
            }
            let mut next = state.clone();
            self.apply(&mut next, &pick, lead.lead_id.as_deref());
            if store
                .compare_and_swap(&pool.key, pick.expected_version, next)
                .await
                .map_err(AssignError::Store)?
            {
                return Ok(decision);
            }
            failures += 1;
            if failures >= ASSIGN_ATTEMPTS {
                return Err(AssignError::Contention {
                    pool: pool.id.to_string(),
                    attempts: failures,
                });
            }
            let loaded = store.load(&pool.key).await.map_err(AssignError::Store)?;
            states.insert(&*pool.key, loaded);
        }
    }

    /// Applies a pool pick to a state: the smooth weighted round-robin step,
    /// capacity counts, the replay window and the version.
    pub(crate) fn apply(&self, state: &mut PoolState, pick: &PoolPick, lead_id: Option<&str>) {
        let Some(pool) = self.inner.pools.get(pick.pool as usize) else {
            return;
        };
        let owners = &self.inner.owners;
        let mut total: i64 = 0;
        for (i, m) in pool.members.iter().enumerate() {
            if pick.eligible.contains(i) {
                total += i64::from(m.weight);
                if let Some(o) = owners.get(m.owner as usize) {
                    state.members.entry(o.id.to_string()).or_default().current +=
                        i64::from(m.weight);
                }
            }
        }
        if let Some(m) = pool.members.get(pick.member as usize) {
            if let Some(o) = owners.get(m.owner as usize) {
                let ms = state.members.entry(o.id.to_string()).or_default();
                ms.current -= total;
                ms.assigned += 1;
                let period = period_key(m.capacity.map(|c| c.per), pick.period_day);
                if ms.period != period {
                    ms.period = period;
                    ms.in_period = 0;
                }
                ms.in_period = ms.in_period.saturating_add(1);
                if let Some(id) = lead_id {
                    state.recent.push_back(crate::pool::RecentAssignment {
                        lead_id: id.to_owned(),
                        owner: o.id.to_string(),
                    });
                    while state.recent.len() > REPLAY_WINDOW {
                        state.recent.pop_front();
                    }
                }
            }
        }
        // Members removed from the pool stop being tracked.
        state.members.retain(|id, _| {
            pool.members
                .iter()
                .any(|m| owners.get(m.owner as usize).is_some_and(|o| *o.key == **id))
        });
        state.version += 1;
    }

    fn decide(
        &self,
        rule: Option<u32>,
        action: &Action,
        a: Assignment,
        rec: Recorder,
    ) -> RouteDecision {
        let p = &*self.inner;
        let owner_id = a
            .owner
            .and_then(|o| p.owners.get(o as usize))
            .map(|o| o.id.clone());
        let experience = match &action.experience {
            ExperienceC::BookMeeting(cal) => {
                let with = cal
                    .and_then(|o| p.owners.get(o as usize))
                    .map(|o| o.id.clone())
                    .or_else(|| owner_id.clone());
                match with {
                    Some(with) => Experience::BookMeeting { with },
                    // Nobody to meet: the buyer is told a human will follow up.
                    None => Experience::ManualReview,
                }
            }
            ExperienceC::Confirmation => Experience::Confirmation,
            ExperienceC::CustomerSuccess => Experience::CustomerSuccess,
            ExperienceC::Nurture => Experience::Nurture,
            ExperienceC::ManualReview => Experience::ManualReview,
            ExperienceC::Reject(reason) => Experience::Reject {
                reason: reason.clone(),
            },
        };
        RouteDecision {
            policy_name: p.name.clone(),
            policy_version: p.version.clone(),
            owner: owner_id,
            assigned_by: match a.by {
                By::AccountOwner => AssignedBy::AccountOwner,
                By::ContactOwner => AssignedBy::ContactOwner,
                By::Owner => AssignedBy::Owner,
                By::Pool(i) => p
                    .pools
                    .get(i as usize)
                    .map_or(AssignedBy::Nobody, |pool| AssignedBy::Pool(pool.id.clone())),
                By::Nobody => AssignedBy::Nobody,
            },
            experience,
            rule: rule
                .and_then(|r| p.rules.get(r as usize))
                .map(|r| r.id.clone()),
            fallback: rule.is_none(),
            tags: action.tags.clone(),
            priority: action.priority,
            sla_minutes: action.sla_minutes,
            trace: Trace { events: rec.events },
            pool_pick: a.pick,
        }
    }

    fn owner_by_id(&self, id: &str) -> Result<u32, Unavailable> {
        let i = *self
            .inner
            .owner_index
            .get(id)
            .ok_or(Unavailable::UnknownOwner)?;
        match self.inner.owners.get(i as usize) {
            Some(o) if o.active => Ok(i),
            _ => Err(Unavailable::InactiveOwner),
        }
    }

    fn resolve(
        &self,
        assign: AssignC,
        lead: &Lead,
        ctx: &Context<'_>,
        rec: &mut Recorder,
    ) -> Result<Assignment, Unavailable> {
        match assign {
            AssignC::AccountOwner => {
                let id = ctx
                    .account
                    .and_then(|a| a.owner.as_deref())
                    .ok_or(Unavailable::NoAccountOwner)?;
                Ok(Assignment {
                    owner: Some(self.owner_by_id(id)?),
                    by: By::AccountOwner,
                    pick: None,
                })
            }
            AssignC::ContactOwner => {
                let id = ctx
                    .contact
                    .and_then(|c| c.owner.as_deref())
                    .ok_or(Unavailable::NoContactOwner)?;
                Ok(Assignment {
                    owner: Some(self.owner_by_id(id)?),
                    by: By::ContactOwner,
                    pick: None,
                })
            }
            AssignC::Target(t) => self.target(t, lead, ctx, rec, 0),
            AssignC::Nobody => Ok(Assignment {
                owner: None,
                by: By::Nobody,
                pick: None,
            }),
        }
    }

    fn target(
        &self,
        t: TargetC,
        lead: &Lead,
        ctx: &Context<'_>,
        rec: &mut Recorder,
        depth: usize,
    ) -> Result<Assignment, Unavailable> {
        match t {
            TargetC::Owner(o) => match self.inner.owners.get(o as usize) {
                Some(owner) if owner.active => Ok(Assignment {
                    owner: Some(o),
                    by: By::Owner,
                    pick: None,
                }),
                _ => Err(Unavailable::InactiveOwner),
            },
            TargetC::Pool(pi) => {
                if let Some(pick) = self.select(pi, lead, ctx, rec) {
                    let owner = self
                        .inner
                        .pools
                        .get(pi as usize)
                        .and_then(|p| p.members.get(pick.member as usize))
                        .map(|m| m.owner);
                    return Ok(Assignment {
                        owner,
                        by: By::Pool(pi),
                        pick: Some(pick),
                    });
                }
                let fallback = self.inner.pools.get(pi as usize).and_then(|p| p.fallback);
                match fallback {
                    // Compile rejects fallback cycles; the depth bound is a second guard.
                    Some(next) if depth < self.inner.pools.len() => {
                        rec.push(TraceEvent::PoolFallback { pool: pi });
                        self.target(next, lead, ctx, rec, depth + 1)
                    }
                    _ => Err(Unavailable::PoolExhausted),
                }
            }
        }
    }

    /// Picks a pool member by smooth weighted round robin over the eligible
    /// members, or replays an earlier assignment of the same lead id.
    fn select(
        &self,
        pi: u32,
        lead: &Lead,
        ctx: &Context<'_>,
        rec: &mut Recorder,
    ) -> Option<PoolPick> {
        let p = &*self.inner;
        let pool = p.pools.get(pi as usize)?;
        let state = ctx.pools.get(&pool.key);
        let version = state.map_or(0, |s| s.version);
        // Only capacity periods need the date.
        let day = if pool.capped {
            ctx.unix_secs() / 86_400
        } else {
            0
        };

        if let (Some(state), Some(lead_id)) = (state, lead.lead_id.as_deref()) {
            if let Some(prev) = state.replayed_owner(lead_id) {
                let found = pool.members.iter().position(|m| {
                    p.owners
                        .get(m.owner as usize)
                        .is_some_and(|o| o.active && *o.key == *prev)
                });
                if let Some(i) = found {
                    let member = u32::try_from(i).unwrap_or(u32::MAX);
                    rec.push(TraceEvent::PoolChoice {
                        pool: pi,
                        member,
                        current: state.member(prev).current,
                        eligible_weight: 0,
                        eligible: 0,
                        replay: true,
                    });
                    return Some(PoolPick {
                        pool: pi,
                        member,
                        eligible: MemberSet::default(),
                        replay: true,
                        expected_version: version,
                        period_day: day,
                    });
                }
            }
        }

        let mut eligible = MemberSet::default();
        let mut count = 0u32;
        let mut total: u64 = 0;
        let mut best: Option<(usize, i64)> = None;
        for (i, m) in pool.members.iter().enumerate() {
            let Some(owner) = p.owners.get(m.owner as usize) else {
                continue;
            };
            let member = u32::try_from(i).unwrap_or(u32::MAX);
            if !owner.active {
                rec.push(TraceEvent::PoolSkip {
                    pool: pi,
                    member,
                    reason: SkipReason::Inactive,
                });
                continue;
            }
            if !ctx.availability.is_available(&owner.key, ctx.now) {
                rec.push(TraceEvent::PoolSkip {
                    pool: pi,
                    member,
                    reason: SkipReason::Unavailable,
                });
                continue;
            }
            let ms = state.map(|s| s.member(&owner.key)).unwrap_or_default();
            if let Some(cap) = m.capacity {
                let used = if ms.period == period_key(Some(cap.per), day) {
                    ms.in_period
                } else {
                    0
                };
                if used >= cap.max {
                    rec.push(TraceEvent::PoolSkip {
                        pool: pi,
                        member,
                        reason: SkipReason::AtCapacity {
                            count: used,
                            max: cap.max,
                        },
                    });
                    continue;
                }
            }
            eligible.insert(i);
            count += 1;
            total += u64::from(m.weight);
            let current = ms.current + i64::from(m.weight);
            // Strictly greater: ties go to the earlier member.
            if best.is_none_or(|(_, c)| current > c) {
                best = Some((i, current));
            }
        }
        let (chosen, current) = best?;
        if rec.on {
            for (i, m) in pool.members.iter().enumerate() {
                if i != chosen && eligible.contains(i) {
                    let id = p
                        .owners
                        .get(m.owner as usize)
                        .map(|o| &*o.key)
                        .unwrap_or_default();
                    let c = state.map(|s| s.member(id).current).unwrap_or_default()
                        + i64::from(m.weight);
                    rec.push(TraceEvent::PoolSkip {
                        pool: pi,
                        member: u32::try_from(i).unwrap_or(u32::MAX),
                        reason: SkipReason::NotNext { current: c },
                    });
                }
            }
        }
        let member = u32::try_from(chosen).unwrap_or(u32::MAX);
        rec.push(TraceEvent::PoolChoice {
            pool: pi,
            member,
            current,
            eligible_weight: total,
            eligible: count,
            replay: false,
        });
        Some(PoolPick {
            pool: pi,
            member,
            eligible,
            replay: false,
            expected_version: version,
            period_day: day,
        })
    }

    fn cond(&self, c: &Cond, lead: &Lead, ctx: &Context<'_>, rec: &mut Recorder) -> bool {
        let (node, result, observed) = match c {
            Cond::All(items, n) => (
                *n,
                items.iter().all(|x| self.cond(x, lead, ctx, rec)),
                Observed::None,
            ),
            Cond::Any(items, n) => (
                *n,
                items.iter().any(|x| self.cond(x, lead, ctx, rec)),
                Observed::None,
            ),
            Cond::Not(inner, n) => (*n, !self.cond(inner, lead, ctx, rec), Observed::None),
            Cond::Leaf(pred, n) => {
                let (result, observed) = self.pred(pred, lead, ctx);
                (*n, result, observed)
            }
        };
        rec.push(TraceEvent::Condition {
            node,
            observed,
            result,
        });
        result
    }

    fn pred(&self, pred: &Pred, lead: &Lead, ctx: &Context<'_>) -> (bool, Observed) {
        let text =
            |s: Option<&str>| s.map_or(Observed::None, |s| Observed::Text(ShortText::new(s)));
        match pred {
            Pred::Always(b) => (*b, Observed::Bool(*b)),
            Pred::Territory(t) => {
                let place = lead
                    .region
                    .as_deref()
                    .or(lead.country.as_ref().map(|c| c.as_str()));
                let r = self.inner.territories.get(*t as usize).is_some_and(|t| {
                    let (c, r, p) = (
                        lead.country,
                        lead.region.as_deref(),
                        lead.postal_code.as_deref(),
                    );
                    t.include.matches(c, r, p) && !t.exclude.matches(c, r, p)
                });
                (r, text(place))
            }
            Pred::Country(set) => (
                lead.country.is_some_and(|c| set.contains(c)),
                text(lead.country.as_ref().map(|c| c.as_str())),
            ),
            Pred::Region(list) => {
                let r = lead.region.as_deref();
                (r.is_some_and(|r| list.iter().any(|x| **x == *r)), text(r))
            }
            Pred::Postal(m) => {
                let code = lead.postal_code.as_deref();
                (
                    code.is_some_and(|code| m.matches(lead.country, code)),
                    text(code),
                )
            }
            Pred::Employees(lo, hi) => within(lead.employees, *lo, *hi),
            Pred::Revenue(lo, hi) => within(lead.annual_revenue, *lo, *hi),
            Pred::Product(tokens) => {
                let hit = lead
                    .product_interest
                    .iter()
                    .find(|t| tokens.iter().any(|x| **x == ***t));
                let shown = hit.or(lead.product_interest.first()).map(String::as_str);
                (hit.is_some(), text(shown))
            }
            Pred::EmailKind(mask) => (
                kind_bit(lead.email_kind) & mask != 0,
                text(Some(lead.email_kind.as_str())),
            ),
            Pred::Text(field, list) => {
                let v = match field {
                    TextField::Source => lead.source.as_deref(),
                    TextField::UtmSource => lead.utm.source.as_deref(),
                    TextField::UtmMedium => lead.utm.medium.as_deref(),
                    TextField::UtmCampaign => lead.utm.campaign.as_deref(),
                    TextField::UtmTerm => lead.utm.term.as_deref(),
                    TextField::UtmContent => lead.utm.content.as_deref(),
                    TextField::CompanyDomain => lead.company_domain.as_deref(),
                };
                (
                    v.is_some_and(|v| list.iter().any(|x| eq_fold(v, x))),
                    text(v),
                )
            }
            Pred::Attribute(key, m) => value_match(lead.attributes.get(&**key), m),
            Pred::AccountExists(b) => {
                let v = ctx.account.is_some();
                (v == *b, Observed::Bool(v))
            }
            Pred::AccountHasOwner(b) => {
                let v = ctx.account.is_some_and(|a| a.owner.is_some());
                (v == *b, Observed::Bool(v))
            }
            Pred::AccountOwnerActive(b) => {
                let v = ctx
                    .account
                    .and_then(|a| a.owner.as_deref())
                    .is_some_and(|o| self.owner_by_id(o).is_ok());
                (v == *b, Observed::Bool(v))
            }
            Pred::AccountIsCustomer(b) => {
                let v = ctx.account.is_some_and(|a| a.is_customer);
                (v == *b, Observed::Bool(v))
            }
            Pred::AccountTier(list) => {
                let tier = ctx.account.and_then(|a: &Account| a.tier.as_deref());
                (
                    tier.is_some_and(|t| list.iter().any(|x| eq_fold(t, x))),
                    text(tier),
                )
            }
            Pred::AccountField(key, m) => {
                value_match(ctx.account.and_then(|a| a.fields.get(&**key)), m)
            }
            Pred::ContactExists(b) => {
                let v = ctx.contact.is_some();
                (v == *b, Observed::Bool(v))
            }
            Pred::ContactHasOwner(b) => {
                let v = ctx.contact.is_some_and(|c| c.owner.is_some());
                (v == *b, Observed::Bool(v))
            }
            Pred::ContactOwnerActive(b) => {
                let v = ctx
                    .contact
                    .and_then(|c| c.owner.as_deref())
                    .is_some_and(|o| self.owner_by_id(o).is_ok());
                (v == *b, Observed::Bool(v))
            }
        }
    }
}

/// The period a capacity count belongs to: days or ISO-style weeks (Monday
/// start) since the Unix epoch, UTC.
fn period_key(per: Option<Period>, day: u64) -> u64 {
    match per {
        // 1970-01-01 was a Thursday: shift by 3 days so weeks start on Monday.
        Some(Period::Week) => (day + 3) / 7,
        Some(Period::Day) | None => day,
    }
}

fn within(range: Option<crate::Range>, lo: Option<u64>, hi: Option<u64>) -> (bool, Observed) {
    let Some(r) = range else {
        return (false, Observed::None);
    };
    let lo_ok = lo.is_none_or(|lo| r.min >= lo);
    let hi_ok = match (hi, r.max) {
        (None, _) => true,
        (Some(hi), Some(max)) => max <= hi,
        (Some(_), None) => false,
    };
    (lo_ok && hi_ok, Observed::Range(r))
}

/// `value` equals `folded` ignoring case (`folded` went through
/// [`fold_case`] at compile time).
fn eq_fold(value: &str, folded: &str) -> bool {
    if value.is_ascii() {
        value.eq_ignore_ascii_case(folded)
    } else {
        fold_chars(value).eq(folded.chars())
    }
}

fn value_match(v: Option<&Value>, m: &ValueMatch) -> (bool, Observed) {
    let v = v.filter(|v| !v.is_null());
    let observed = match v {
        None | Some(Value::Null) => Observed::None,
        Some(Value::Bool(b)) => Observed::Bool(*b),
        Some(Value::Number(n)) => n.as_u64().map_or_else(
            || Observed::Text(ShortText::new("(number)")),
            Observed::Count,
        ),
        Some(Value::String(s)) => Observed::Text(ShortText::new(s)),
        Some(Value::Array(_)) => Observed::Text(ShortText::new("[…]")),
        Some(Value::Object(_)) => Observed::Text(ShortText::new("{…}")),
    };
    let result = match m {
        ValueMatch::Exists(b) => v.is_some() == *b,
        ValueMatch::OneOf(list) => v.is_some_and(|v| match v {
            Value::String(s) => list.iter().any(|x| eq_fold(s, x)),
            Value::Bool(b) => list
                .iter()
                .any(|x| **x == *if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let mut buf = NumText::default();
                std::fmt::Write::write_fmt(&mut buf, format_args!("{n}")).is_ok()
                    && list.iter().any(|x| **x == *buf.as_str())
            }
            _ => false,
        }),
        ValueMatch::Regex(re) => v.is_some_and(|v| match v {
            Value::String(s) => re.is_match(s),
            Value::Number(n) => {
                let mut buf = NumText::default();
                std::fmt::Write::write_fmt(&mut buf, format_args!("{n}")).is_ok()
                    && re.is_match(buf.as_str())
            }
            Value::Bool(b) => re.is_match(if *b { "true" } else { "false" }),
            _ => false,
        }),
    };
    (result, observed)
}

/// A stack buffer for a JSON number's text (at most ~25 bytes).
#[derive(Default)]
struct NumText {
    buf: [u8; 32],
    len: usize,
}

impl NumText {
    fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl std::fmt::Write for NumText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl RouteDecision {
    /// The owner id as `&str`, if any.
    pub fn owner_id(&self) -> Option<&str> {
        self.owner.as_deref()
    }
}

// Compile-time proof that what users share across threads can be shared.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Policy>();
    shared::<RouteDecision>();
    shared::<crate::Name>();
};
