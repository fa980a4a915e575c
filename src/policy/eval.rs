//! Evaluation: pure, deterministic, one code path with the trace on or off.
//!
//! That one path is compiled twice, for the trace on and off (a `const`
//! parameter of the evaluator and its recorder): in the copy without a
//! trace every recording step — events, observed values, the reasons for
//! skipped rules — is removed by the compiler rather than tested at each
//! step, which makes an untraced evaluation 5-16 % cheaper (callgrind,
//! `benches/instr_evaluate.rs`). The decision is the same either way.
//!
//! Rules are visited in order (first match wins), except those the
//! [rule index](super::index) proves cannot match, which are skipped in
//! runs. A matched rule resolves its assignee; if the assignee cannot take
//! the lead, the action's `if_unavailable` says where to go next. The
//! fallback always ends somewhere (nobody, at worst).

use serde_json::Value;

use super::index::{Candidates, idx32};
use super::ir::{
    Action, AssignC, Cond, ExperienceC, Flag, NextC, Pred, Record, TargetC, TextField, ValueMatch,
    fold_chars,
};
use super::program::{Folded, FoldedCase, Program};
use crate::crm::records::Lookup;
use crate::decision::{
    AssignedBy, Experience, FallbackReason, IndexedFact, IndexedFacts, Observed, RouteDecision,
    ShortText, Trace, TraceEvent, Unavailable,
};
use crate::facts::Facts;
use crate::lead::model::Lead;
use crate::lead::range::Range;
use crate::name::Name;
use crate::pool::rotation::{self, Ask, StepDraft};
use crate::schedule::{Schedule, timestamp, write_label};

/// Options for [`Policy::evaluate_with`](super::Policy::evaluate_with).
///
/// # What one evaluation costs
///
/// Rules the rule index cannot rule out are visited in order,
/// each condition node at most once: the work per decision is at most the
/// policy's condition nodes, which [`PolicyLimits`](super::PolicyLimits)
/// bounds (`max_rules` × `max_conditions_per_rule`); regexes run in time
/// linear in the (length-limited) lead value. The trace is bounded by
/// [`max_trace_events`](Self::max_trace_events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EvalOptions {
    /// Record the trace (default `true`). Never changes the decision.
    pub trace: bool,
    /// Most events in one decision's trace (default 4,096; at least 2).
    /// Events are fixed-size (40 bytes in memory, at most 256 bytes of
    /// JSON each), so this also bounds the trace's bytes: 160 KiB in
    /// memory and 1 MiB of JSON by default. A longer trace keeps its first
    /// events and its last 16, with one
    /// [`TraceEvent::Truncated`](crate::decision::TraceEvent::Truncated)
    /// between them counting the events left out. The router may append a
    /// few events of its own (store and CRM outages) after evaluation.
    ///
    /// The trace is the one allocation an evaluation makes: events are
    /// recorded on the stack and copied into a `Vec` of exactly their
    /// number (up to 32 events), else into one of 64 events that grows by
    /// doubling only past that. [`Policy::evaluate_into`] a reused
    /// decision reuses its trace's allocation instead.
    ///
    /// [`Policy::evaluate_into`]: crate::Policy::evaluate_into
    pub max_trace_events: usize,
}

/// Events kept at the end of a truncated trace: the decisive steps (the
/// matching rule, the pool choice, the fallback) come last.
const TRACE_TAIL: usize = 16;

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            trace: true,
            max_trace_events: 4096,
        }
    }
}

impl EvalOptions {
    /// Options with the trace off.
    pub fn without_trace() -> Self {
        EvalOptions {
            trace: false,
            ..EvalOptions::default()
        }
    }

    /// These options with at most `n` trace events (at least 2).
    pub fn with_max_trace_events(mut self, n: usize) -> Self {
        self.max_trace_events = n;
        self
    }
}

/// Events recorded on the stack before the trace needs the heap: a trace
/// this long is copied into one allocation of exactly its size at the end.
const INLINE_EVENTS: usize = 32;

/// The capacity a trace longer than [`INLINE_EVENTS`] moves to (then it
/// grows by doubling): traces up to this long allocate once.
const SPILL_EVENTS: usize = 64;

/// Records trace events when on; a no-op when off. The evaluation code is
/// the same either way.
///
/// Bounded: the first `head` events are kept, then the last `tail` in a
/// ring in the same buffer, counting the ones overwritten. Events go to a
/// buffer on the caller's stack first, so a trace of up to
/// [`SPILL_EVENTS`] events costs one allocation, and one of up to
/// [`INLINE_EVENTS`] is allocated at exactly its length.
struct Recorder<'b, const ON: bool> {
    /// The stack buffer (empty with the trace off).
    inline: &'b mut [TraceEvent],
    /// Events in `inline`, until they move to `heap`.
    len: usize,
    /// The events once `inline` is full.
    heap: Vec<TraceEvent>,
    spilled: bool,
    /// Events `push` may still write to `inline` at once: the smaller of
    /// its length and the room the limit leaves; 0 once spilled.
    fast: usize,
    head: usize,
    tail: usize,
    /// Events overwritten in the tail ring (left out of the trace).
    dropped: u64,
    /// A caller's buffer for the trace, whose capacity `finish` reuses
    /// (`Policy::evaluate_into`). A reference, not a `Vec`: a second owned
    /// buffer moved through every evaluation cost 20-55 instructions on
    /// those without one (callgrind, seed and plans).
    reuse: Option<&'b mut Vec<TraceEvent>>,
}

/// A placeholder for unused inline slots (never part of a trace).
const EMPTY: TraceEvent = TraceEvent::Truncated { omitted: 0 };

impl<'b, const ON: bool> Recorder<'b, ON> {
    /// A recorder into `inline` (empty with the trace off), returning its
    /// events in `reuse` when given.
    fn new(
        inline: &'b mut [TraceEvent],
        max: usize,
        reuse: Option<&'b mut Vec<TraceEvent>>,
    ) -> Self {
        // One slot for the `Truncated` marker.
        let room = max.max(2) - 1;
        let tail = TRACE_TAIL.min(room / 2);
        Recorder {
            fast: inline.len().min(room),
            inline,
            len: 0,
            heap: Vec::new(),
            spilled: false,
            head: room - tail,
            tail,
            dropped: 0,
            reuse,
        }
    }

    #[inline]
    fn push(&mut self, e: TraceEvent) {
        if !ON {
            return;
        }
        // The common case, one compare: room in the stack buffer.
        if self.len < self.fast {
            if let Some(slot) = self.inline.get_mut(self.len) {
                *slot = e;
                self.len += 1;
                return;
            }
        }
        self.push_slow(e);
    }

    /// [`push`](Self::push) past the stack buffer's room: to the heap, or
    /// into the tail ring.
    #[cold]
    fn push_slow(&mut self, e: TraceEvent) {
        let room = self.head + self.tail;
        if self.spilled {
            if self.heap.len() < room {
                self.heap.push(e);
            } else {
                self.overflow(e);
            }
        } else if self.len < room {
            self.spill(e);
        } else {
            self.overflow(e);
        }
    }

    /// Records `events` in order, as that many [`push`](Self::push)es
    /// would: one copy when the stack buffer has room for all of them.
    fn extend(&mut self, events: &[TraceEvent]) {
        if !ON {
            return;
        }
        let end = self.len + events.len();
        if !self.spilled && end <= self.head + self.tail {
            if let Some(dst) = self.inline.get_mut(self.len..end) {
                dst.copy_from_slice(events);
                self.len = end;
                return;
            }
        }
        for e in events {
            self.push(*e);
        }
    }

    /// The recorded events of the stack buffer (plain data: copied out in
    /// one go).
    fn inline_events(&self) -> &[TraceEvent] {
        self.inline.get(..self.len).unwrap_or_default()
    }

    /// Moves the full stack buffer to the heap, then records `e`.
    #[cold]
    fn spill(&mut self, e: TraceEvent) {
        // Room for the marker too, never more than the limit needs.
        let capacity = SPILL_EVENTS
            .min(self.head + self.tail + 1)
            .max(self.len + 1);
        // The caller's buffer when given (`finish` then returns this one).
        let mut heap = match self.reuse.take() {
            Some(reuse) => {
                reuse.clear();
                reuse.reserve_exact(capacity);
                std::mem::take(reuse)
            }
            None => Vec::with_capacity(capacity),
        };
        heap.extend_from_slice(self.inline_events());
        heap.push(e);
        self.heap = heap;
        self.spilled = true;
        self.fast = 0;
    }

    #[cold]
    fn overflow(&mut self, e: TraceEvent) {
        if self.tail > 0 {
            let at = self.head + (self.dropped % self.tail as u64) as usize;
            let slot = if self.spilled {
                self.heap.get_mut(at)
            } else {
                self.inline.get_mut(at)
            };
            if let Some(slot) = slot {
                *slot = e;
            }
        }
        self.dropped += 1;
    }

    /// The events in order, with the marker where events were left out.
    fn finish(&mut self) -> Vec<TraceEvent> {
        if !ON {
            return Vec::new();
        }
        let marker = self.dropped > 0;
        let mut events = if self.spilled {
            std::mem::take(&mut self.heap)
        } else if let Some(reuse) = self.reuse.take() {
            // Its capacity is kept; it grows only for a longer trace.
            reuse.clear();
            reuse.extend_from_slice(self.inline_events());
            std::mem::take(reuse)
        } else {
            let mut v = Vec::with_capacity(self.len + usize::from(marker));
            v.extend_from_slice(self.inline_events());
            v
        };
        if marker {
            if self.tail > 0 {
                let oldest = (self.dropped % self.tail as u64) as usize;
                if let Some(ring) = events.get_mut(self.head..self.head + self.tail) {
                    ring.rotate_left(oldest);
                }
            }
            events.insert(
                self.head,
                TraceEvent::Truncated {
                    omitted: self.dropped,
                },
            );
        }
        events
    }
}

/// Who a resolved action assigns, before it becomes a decision.
struct Assignment<'a> {
    /// The owner's id, in the program (copied once, into the decision).
    owner: Option<&'a Name>,
    by: By,
    step: Option<StepDraft>,
    /// A directly named owner (by index) who is off shift or away.
    off: Option<(u32, Unavailable)>,
    /// The working hours the SLA counts in: the owner's own, else (chosen
    /// by a pool) the pool's. Found where the owner's index is known, so
    /// the SLA needs no second lookup of the owner by id (~100
    /// instructions a decision on the seed).
    schedule: Option<&'a Schedule>,
}

impl Assignment<'_> {
    fn nobody() -> Self {
        Assignment {
            owner: None,
            by: By::Nobody,
            step: None,
            off: None,
            schedule: None,
        }
    }
}

#[derive(Clone, Copy)]
enum By {
    AccountOwner,
    ContactOwner,
    Owner,
    Pool(u32),
    /// The fallback owner of this pool (by index): nobody in it could take
    /// the lead.
    PoolFallback(u32),
    Nobody,
}

/// Where an action that could not assign sends the lead.
enum Onward {
    NextRule,
    Fallback,
}

/// Evaluates `p` for a lead.
pub(crate) fn evaluate(
    p: &Program,
    lead: &Lead,
    facts: &Facts<'_>,
    opts: EvalOptions,
) -> RouteDecision {
    evaluate_excluding(p, lead, facts, opts, &[])
}

/// Evaluates `p` for a lead, never assigning any of `excluded` (the earlier
/// assignees of a lead being reassigned).
pub(crate) fn evaluate_excluding(
    p: &Program,
    lead: &Lead,
    facts: &Facts<'_>,
    opts: EvalOptions,
    excluded: &[String],
) -> RouteDecision {
    evaluate_reusing(p, lead, facts, opts, excluded, None)
}

/// [`evaluate_excluding`] with the trace's events in `reuse`'s allocation
/// (left empty), when given.
pub(crate) fn evaluate_reusing(
    p: &Program,
    lead: &Lead,
    facts: &Facts<'_>,
    opts: EvalOptions,
    excluded: &[String],
    reuse: Option<&mut Vec<TraceEvent>>,
) -> RouteDecision {
    // Two compiled copies of one evaluator: with the trace off, every
    // recording (events, observed values, skipped runs) is dead code, not a
    // branch taken at each step.
    if opts.trace {
        // The stack buffer exists only with the trace on, and is never moved.
        let mut inline = [EMPTY; INLINE_EVENTS];
        let max = opts.max_trace_events;
        Eval::<true>::new(p, lead, facts, excluded, &mut inline, max, reuse).run()
    } else {
        Eval::<false>::new(
            p,
            lead,
            facts,
            excluded,
            &mut [],
            opts.max_trace_events,
            None,
        )
        .run()
    }
}

/// One evaluation in progress, with the trace on (`TRACE`) or off.
struct Eval<'a, const TRACE: bool> {
    p: &'a Program,
    lead: &'a Lead,
    facts: &'a Facts<'a>,
    rec: Recorder<'a, TRACE>,
    /// The lead values the trace has shown already.
    shown: IndexedFacts,
    /// Owners never to assign (earlier assignees of a reassigned lead).
    excluded: &'a [String],
}

impl<'a, const TRACE: bool> Eval<'a, TRACE> {
    /// An evaluation recording into `inline` (with the trace on) at most
    /// `max_events` events.
    fn new(
        p: &'a Program,
        lead: &'a Lead,
        facts: &'a Facts<'a>,
        excluded: &'a [String],
        inline: &'a mut [TraceEvent],
        max_events: usize,
        reuse: Option<&'a mut Vec<TraceEvent>>,
    ) -> Self {
        Eval {
            p,
            lead,
            facts,
            rec: Recorder::new(inline, max_events, reuse),
            shown: IndexedFacts::default(),
            excluded,
        }
    }

    fn run(&mut self) -> RouteDecision {
        if let Some(m) = self.facts.account_match {
            self.rec.push(TraceEvent::account_match(m));
        }
        for (lookup, status) in [
            (Lookup::Account, self.facts.account_lookup),
            (Lookup::Person, self.facts.person_lookup),
        ] {
            if status.is_unknown() {
                self.rec.push(TraceEvent::CrmUnavailable { lookup, status });
            }
        }
        let p = self.p;
        let reason = match self.rules() {
            Ok((rule, action, a)) => return self.decide(Some(rule), action, a),
            Err(reason) => reason,
        };
        self.rec.push(TraceEvent::Fallback { reason });
        let a = self
            .take(&p.fallback, None)
            .unwrap_or_else(|_| Assignment::nobody());
        // A reassignment never goes back to an earlier assignee, not even
        // through the fallback.
        let a = if a.owner.is_some_and(|o| self.is_excluded(o)) {
            self.rec.push(TraceEvent::Unavailable {
                rule: None,
                reason: Unavailable::EarlierAssignee,
            });
            Assignment::nobody()
        } else {
            a
        };
        self.decide(None, &p.fallback, a)
    }

    /// The first rule that matches and can assign, or why the fallback
    /// decides.
    fn rules(&mut self) -> Result<(u32, &'a Action, Assignment<'a>), FallbackReason> {
        let p: &'a Program = self.p;
        let mut next = 0usize;
        let sets = p.index.lead_sets(self.lead);
        let mut candidates = p.index.candidates(&sets);
        // The screening state, when it is one the folded rules were
        // evaluated in, and the folded rules not yet passed.
        let state = if p.folded.is_empty() {
            None
        } else {
            Screening::of(self.facts)
        };
        let mut folded: &'a [(u32, Folded)] = &p.folded;
        while let Some(r) = candidates.next() {
            let Some(rule) = p.rules.get(r) else { continue };
            self.skipped(&candidates, next, r);
            next = r + 1;
            let ri = idx32(r);
            let case = state.and_then(|state| {
                while let [(at, _), rest @ ..] = folded {
                    if *at >= ri {
                        break;
                    }
                    folded = rest;
                }
                match folded {
                    [(at, f), ..] if *at == ri => Some(f.case(state)),
                    _ => None,
                }
            });
            let matched = match case {
                Some(case) => {
                    self.rec.extend(&case.events);
                    case.matched
                }
                None => self.cond(&rule.cond),
            };
            self.rec.push(TraceEvent::Rule { rule: ri, matched });
            if !matched {
                continue;
            }
            match self.take(&rule.action, Some(ri)) {
                Ok(a) => return Ok((ri, &rule.action, a)),
                Err(Onward::NextRule) => continue,
                Err(Onward::Fallback) => return Err(FallbackReason::RuleAsked { rule: ri }),
            }
        }
        self.skipped(&candidates, next, p.index.len());
        Err(FallbackReason::NoRuleMatched)
    }

    /// Records that rules `from..to` were ruled out by the index: one run
    /// naming every fact that rules out some of them, each fact's lead
    /// value shown once before its first run. Only with the trace on: the
    /// reasons are for people. The test is inline and the recording out of
    /// line: most candidates follow the one before (nothing skipped), and
    /// an out-of-line call just to return cost about 18 instructions a
    /// rule (callgrind, the screening bench's two screening rules).
    #[inline]
    fn skipped(&mut self, candidates: &Candidates<'_>, from: usize, to: usize) {
        if TRACE && to > from {
            self.record_skipped(candidates, from, to);
        }
    }

    /// [`skipped`](Self::skipped)'s recording, for a non-empty run.
    #[inline(never)]
    fn record_skipped(&mut self, candidates: &Candidates<'_>, from: usize, to: usize) {
        let by = candidates.skipped_facts(from, to);
        if !self.shown.contains_all(by) {
            for fact in by.iter() {
                if self.shown.insert(fact) {
                    let observed = self.lead_value(fact);
                    self.rec.push(TraceEvent::LeadValue { fact, observed });
                }
            }
        }
        self.rec.push(TraceEvent::RulesSkipped {
            first: idx32(from),
            count: idx32(to - from),
            by,
        });
    }

    /// The lead's value of an indexed attribute, as the trace shows it.
    fn lead_value(&self, fact: IndexedFact) -> Observed {
        let lead = self.lead;
        let text = |s: &str| Observed::Text(ShortText::new(s));
        match fact {
            IndexedFact::Country => lead.country.map_or(Observed::None, |c| text(c.as_str())),
            IndexedFact::Region => lead.region.as_deref().map_or(Observed::None, text),
            IndexedFact::PostalCode => lead.postal_code.as_deref().map_or(Observed::None, text),
            IndexedFact::EmailKind => text(lead.email_kind.as_str()),
            IndexedFact::Employees => lead.employees.map_or(Observed::None, Observed::Range),
            IndexedFact::AnnualRevenue => {
                lead.annual_revenue.map_or(Observed::None, Observed::Range)
            }
            IndexedFact::ProductInterest if lead.product_interest.is_empty() => Observed::None,
            IndexedFact::ProductInterest => Observed::Text(ShortText::joined(
                lead.product_interest.iter().map(String::as_str),
                ", ",
            )),
        }
    }

    /// Resolves an action's assignee, or its `if_unavailable` target.
    ///
    /// A directly named owner who is off shift or away keeps the lead
    /// (noted in the trace and the decision) unless the action checks
    /// availability; then they are unavailable like an inactive owner.
    fn take(&mut self, action: &Action, rule: Option<u32>) -> Result<Assignment<'a>, Onward> {
        let names_owner = matches!(
            action.assign,
            AssignC::AccountOwner | AssignC::ContactOwner | AssignC::Target(TargetC::Owner(_))
        );
        let why = match self.resolve(action.assign) {
            Ok(a) => match a.off {
                Some((_, why)) if action.check_availability && names_owner => why,
                _ => return Ok(self.noted(a)),
            },
            Err(why) => why,
        };
        self.rec.push(TraceEvent::Unavailable { rule, reason: why });
        match action.if_unavailable {
            NextC::NextRule => Err(Onward::NextRule),
            NextC::Fallback => Err(Onward::Fallback),
            NextC::Target(t) => match self.target(t, 0) {
                Ok(a) => Ok(self.noted(a)),
                Err(why) => {
                    self.rec.push(TraceEvent::Unavailable { rule, reason: why });
                    Err(Onward::NextRule)
                }
            },
        }
    }

    /// Records that an owner assigned anyway is off shift or away.
    fn noted(&mut self, a: Assignment<'a>) -> Assignment<'a> {
        if let Some((owner, reason)) = a.off {
            let local = self
                .p
                .owners
                .get(owner as usize)
                .and_then(|o| o.schedule.as_deref())
                .map_or(Observed::None, |s| {
                    local_text(&s.zone, timestamp(self.facts.now))
                });
            self.rec.push(TraceEvent::OwnerOffShift {
                owner,
                reason,
                local,
            });
        }
        a
    }

    /// Whether owner `i` is off shift (their schedule) or away (the
    /// caller's availability) at the decision time.
    fn off_shift(&self, i: u32) -> Option<(u32, Unavailable)> {
        let owner = self.p.owners.get(i as usize)?;
        let now = self.facts.now;
        if owner.schedule.as_deref().is_some_and(|s| !s.is_open(now)) {
            return Some((i, Unavailable::OffShift));
        }
        (!self.facts.availability.is_available(&owner.id, now)).then_some((i, Unavailable::Away))
    }

    fn resolve(&mut self, assign: AssignC) -> Result<Assignment<'a>, Unavailable> {
        match assign {
            AssignC::AccountOwner => self.record_owner(
                self.facts.account.and_then(|a| a.owner.as_deref()),
                Unavailable::NoAccountOwner,
                By::AccountOwner,
            ),
            AssignC::ContactOwner => self.record_owner(
                self.facts.contact.and_then(|c| c.owner.as_deref()),
                Unavailable::NoContactOwner,
                By::ContactOwner,
            ),
            AssignC::Target(t) => self.target(t, 0),
            AssignC::Nobody => Ok(Assignment::nobody()),
        }
    }

    fn is_excluded(&self, owner: &str) -> bool {
        self.excluded.iter().any(|x| x == owner)
    }

    /// The owner of a CRM record, if it is an active owner of this policy.
    fn record_owner(
        &self,
        owner: Option<&str>,
        missing: Unavailable,
        by: By,
    ) -> Result<Assignment<'a>, Unavailable> {
        let owner = owner.ok_or(missing)?;
        if self.is_excluded(owner) {
            return Err(Unavailable::EarlierAssignee);
        }
        let i = self.p.active_owner(owner)?;
        let o = self.p.owners.get(i as usize);
        Ok(Assignment {
            owner: o.map(|o| &o.id),
            by,
            step: None,
            off: self.off_shift(i),
            schedule: o.and_then(|o| o.schedule.as_deref()),
        })
    }

    fn target(&mut self, t: TargetC, depth: usize) -> Result<Assignment<'a>, Unavailable> {
        let p = self.p;
        let pi = match t {
            TargetC::Owner(o) => {
                return match p.owners.get(o as usize) {
                    Some(owner) if self.is_excluded(&owner.id) => Err(Unavailable::EarlierAssignee),
                    Some(owner) if owner.active => Ok(Assignment {
                        owner: Some(&owner.id),
                        by: By::Owner,
                        step: None,
                        off: self.off_shift(o),
                        schedule: owner.schedule.as_deref(),
                    }),
                    _ => Err(Unavailable::InactiveOwner),
                };
            }
            TargetC::Pool(pi) => pi,
        };
        let Some(pool) = p.pools.get(pi as usize) else {
            return Err(Unavailable::PoolExhausted);
        };
        let ask = Ask {
            roster: &pool.roster,
            state: self.facts.pools.get(&pool.key),
            lead_id: self.lead.lead_id.as_deref(),
            now: self.facts.now,
            availability: self.facts.availability,
            report_not_next: TRACE,
            seat_rules: &pool.seat_rules,
            respect_schedules: pool.respect_schedules,
            zone: pool.zone.as_ref(),
            distribution: pool.distribution,
            open_leads: self.facts.open_leads,
            excluded: self.excluded,
        };
        // No counts for a pool that reads them: it chooses by rotation
        // (every count 0, ties by rotation; no caps), and says so.
        let load_known = !pool.uses_load || self.facts.open_leads.is_known();
        if !load_known {
            self.rec.push(TraceEvent::OpenLeadsUnknown { pool: pi });
        }
        let rec = &mut self.rec;
        let choice = rotation::choose(&ask, |member, reason| {
            rec.push(TraceEvent::PoolSkip {
                pool: pi,
                member,
                reason,
            });
        });
        if let Some(c) = choice {
            if let Some(open) = c.open.filter(|_| load_known) {
                self.rec.push(TraceEvent::PoolLoad {
                    pool: pi,
                    member: c.member,
                    open,
                    eligible: c.eligible,
                });
            }
            self.rec.push(TraceEvent::PoolChoice {
                pool: pi,
                member: c.member,
                current: c.current,
                eligible_weight: c.eligible_weight,
                eligible: c.eligible,
                replay: c.step.is_replay(),
            });
            return Ok(Assignment {
                owner: pool.roster.seat(c.member).map(|s| &s.owner),
                by: By::Pool(pi),
                step: Some(c.step),
                off: None,
                // The member's own hours, else the pool's (`SeatRules`).
                schedule: pool
                    .seat_rules
                    .get(c.member as usize)
                    .and_then(|r| r.schedule.as_deref()),
            });
        }
        match pool.fallback {
            // Compile rejects fallback cycles; the depth bound is a second guard.
            Some(next) if depth < p.pools.len() => {
                self.rec.push(TraceEvent::PoolFallback { pool: pi });
                let mut a = self.target(next, depth + 1)?;
                // The owner is this pool's fallback, not one a rule named
                // (a fallback pool's member stays that pool's choice).
                if matches!(a.by, By::Owner) {
                    a.by = By::PoolFallback(pi);
                }
                Ok(a)
            }
            _ => Err(Unavailable::PoolExhausted),
        }
    }

    fn decide(&mut self, rule: Option<u32>, action: &Action, a: Assignment<'a>) -> RouteDecision {
        let p = self.p;
        let experience = match &action.experience {
            ExperienceC::BookMeeting(cal) => {
                let with = cal
                    .and_then(|o| p.owners.get(o as usize))
                    .map(|o| o.id.clone())
                    .or_else(|| a.owner.cloned());
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
        let sla_due = action
            .sla_minutes
            .and_then(|m| sla_due(a.owner.is_some(), a.schedule, self.facts.now, m));
        RouteDecision {
            policy_name: p.name.clone(),
            policy_version: p.version.clone(),
            owner: a.owner.cloned(),
            assigned_by: match a.by {
                By::AccountOwner => AssignedBy::AccountOwner,
                By::ContactOwner => AssignedBy::ContactOwner,
                By::Owner => AssignedBy::Owner,
                By::Pool(i) => p
                    .pools
                    .get(i as usize)
                    .map_or(AssignedBy::Nobody, |pool| AssignedBy::Pool(pool.id.clone())),
                By::PoolFallback(i) => p.pools.get(i as usize).map_or(AssignedBy::Owner, |pool| {
                    AssignedBy::PoolFallback(pool.id.clone())
                }),
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
            sla_due,
            owner_unavailable: a.off.map(|(_, why)| why),
            write_to_crm: action.write_to_crm,
            trace: Trace {
                events: self.rec.finish(),
            },
            pool_step: a.step.and_then(|draft| {
                let By::Pool(i) = a.by else { return None };
                let pool = p.pools.get(i as usize)?;
                Some(draft.build(&pool.id, &pool.roster, self.lead.lead_id.as_deref()))
            }),
            account_match: self.facts.account_match.cloned(),
        }
    }

    fn cond(&mut self, c: &Cond) -> bool {
        let (node, result, observed) = match c {
            Cond::All(items, n) => (*n, items.iter().all(|x| self.cond(x)), Observed::None),
            Cond::Any(items, n) => (*n, items.iter().any(|x| self.cond(x)), Observed::None),
            Cond::Not(inner, n) => (*n, !self.cond(inner), Observed::None),
            Cond::Leaf(pred, n) => {
                let (result, observed) = self.pred(pred);
                (*n, result, observed)
            }
        };
        self.rec.push(TraceEvent::Condition {
            node,
            observed,
            result,
        });
        result
    }

    /// A predicate's result and, with the trace on, what the lead or facts
    /// showed it. With the trace off no observation is built: no text copy,
    /// no formatting.
    fn pred(&self, pred: &Pred) -> (bool, Observed) {
        let (lead, facts) = (self.lead, self.facts);
        let on = TRACE;
        let text = |s: Option<&str>| match s {
            Some(s) if on => Observed::Text(ShortText::new(s)),
            _ => Observed::None,
        };
        match pred {
            Pred::Always(b) => (*b, Observed::Bool(*b)),
            Pred::Territory(t) => {
                let place = lead
                    .region
                    .as_deref()
                    .or(lead.country.as_ref().map(|c| c.as_str()));
                let r = self.p.territories.get(*t as usize).is_some_and(|t| {
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
                lead.email_kind.bit() & mask != 0,
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
            Pred::Attribute(key, m) => value_match(lead.attributes.get(&**key), m, on),
            Pred::Flag(record, flag, want) => match self.flag(*record, *flag) {
                Some(v) => (v == *want, Observed::Bool(v)),
                // No record: every fact about it is false, and the trace
                // says there was no record rather than "observed false".
                None => (!*want, Observed::None),
            },
            Pred::AccountTier(list) => {
                let tier = facts.account.and_then(|a| a.tier.as_deref());
                (
                    tier.is_some_and(|t| list.iter().any(|x| eq_fold(t, x))),
                    text(tier),
                )
            }
            Pred::AccountField(key, m) => {
                value_match(facts.account.and_then(|a| a.fields.get(&**key)), m, on)
            }
            Pred::Schedule(s, within) => match self.p.schedules.get(*s as usize) {
                Some(schedule) => {
                    let at = timestamp(facts.now);
                    let open = schedule.is_open_at(at);
                    let shown = if on {
                        local_text(&schedule.zone, at)
                    } else {
                        Observed::None
                    };
                    (open == *within, shown)
                }
                None => (false, Observed::None),
            },
            Pred::DayOfWeek(mask, zone) => {
                let at = timestamp(facts.now);
                let day = zone.to_datetime(at).weekday().to_monday_zero_offset();
                let bit = u8::try_from(day).map_or(0, |d| 1u8 << d);
                let shown = if on {
                    local_text(zone, at)
                } else {
                    Observed::None
                };
                (mask & bit != 0, shown)
            }
            Pred::Matched(want) => match facts.account_match {
                Some(m) => (m.is_matched() == *want, Observed::Bool(m.is_matched())),
                None => (!*want, Observed::None),
            },
            Pred::MatchedBy(mask) => {
                let method = facts
                    .account_match
                    .filter(|m| m.is_matched())
                    .and_then(|m| m.method);
                (
                    method.is_some_and(|x| x.bit() & mask != 0),
                    text(method.map(|x| x.as_str())),
                )
            }
            Pred::MinConfidence(min) => match facts.account_match.filter(|m| m.is_matched()) {
                Some(m) => {
                    // Shown as "0.86", formatted on the stack: no allocation.
                    let mut buf = StackText::default();
                    if on {
                        let _ = std::fmt::Write::write_fmt(
                            &mut buf,
                            format_args!("{:.2}", m.confidence),
                        );
                    }
                    (m.confidence_permille() >= *min, text(Some(buf.as_str())))
                }
                None => (false, Observed::None),
            },
            Pred::Ambiguous(want) => {
                let ambiguous = facts.account_match.is_some_and(|m| m.is_ambiguous());
                (ambiguous == *want, Observed::Bool(ambiguous))
            }
            // Not screened: no score to compare, and the trace says so.
            Pred::SpamScore(lo, hi) => facts.signals.map_or((false, Observed::None), |s| {
                let ok = lo.is_none_or(|lo| s.score >= lo) && hi.is_none_or(|hi| s.score < hi);
                (ok, Observed::Count(u64::from(s.score)))
            }),
            Pred::Signal(set) => facts.signals.map_or((false, Observed::None), |s| {
                let fired = s.kinds();
                let hit = fired.intersection(*set);
                // The matching signals, else what did fire ("none" when nothing).
                if !on {
                    return (!hit.is_empty(), Observed::None);
                }
                let shown = if hit.is_empty() { fired } else { hit };
                let mut buf = StackText::default();
                for (i, k) in shown.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    if std::fmt::Write::write_fmt(&mut buf, format_args!("{sep}{k}")).is_err() {
                        break;
                    }
                }
                let observed = if shown.is_empty() {
                    "none"
                } else {
                    buf.as_str()
                };
                (!hit.is_empty(), Observed::Text(ShortText::new(observed)))
            }),
        }
    }

    /// A yes/no fact about a CRM record; `None` when there is no record
    /// (then every fact, `exists` included, is false).
    fn flag(&self, record: Record, flag: Flag) -> Option<bool> {
        let (owner, customer) = match record {
            Record::Account => {
                let a = self.facts.account?;
                (a.owner.as_deref(), a.is_customer)
            }
            Record::Contact => (self.facts.contact?.owner.as_deref(), false),
        };
        Some(match flag {
            Flag::Exists => true,
            Flag::HasOwner => owner.is_some(),
            Flag::OwnerActive => owner.is_some_and(|o| self.p.active_owner(o).is_ok()),
            Flag::IsCustomer => customer,
        })
    }
}

/// `at` in `zone` as the trace shows it (`"Fri 17:55"`), on the stack.
/// The screening states a [`Folded`] rule was evaluated in: the ones a
/// real lead is almost always in.
#[derive(Clone, Copy)]
enum Screening {
    /// Not screened: `Facts::signals` is `None`.
    Unscreened,
    /// Screened, and nothing fired: score 0, no signal.
    Clean,
}

impl Screening {
    fn of(facts: &Facts<'_>) -> Option<Screening> {
        match facts.signals {
            None => Some(Screening::Unscreened),
            Some(s) if s.score == 0 && s.kinds().is_empty() => Some(Screening::Clean),
            Some(_) => None,
        }
    }
}

impl Folded {
    fn case(&self, state: Screening) -> &FoldedCase {
        let [unscreened, clean] = &self.cases;
        match state {
            Screening::Unscreened => unscreened,
            Screening::Clean => clean,
        }
    }
}

/// Whether a condition reads nothing but the screening facts.
fn reads_only_screening(c: &Cond) -> bool {
    match c {
        Cond::All(items, _) | Cond::Any(items, _) => items.iter().all(reads_only_screening),
        Cond::Not(inner, _) => reads_only_screening(inner),
        Cond::Leaf(pred, _) => matches!(
            pred,
            Pred::Always(_) | Pred::SpamScore(..) | Pred::Signal(_)
        ),
    }
}

/// The [`Folded`] rules of a program, by rule index (increasing). Empty
/// (no allocation) for a policy without screening-only rules.
pub(crate) fn fold_screening(p: &Program) -> Box<[(u32, Folded)]> {
    // The lead is never read by a screening-only condition.
    let lead = Lead {
        lead_id: None,
        email: String::new(),
        email_domain: String::new(),
        email_kind: crate::lead::email::EmailKind::Business,
        first_name: None,
        last_name: None,
        company_name: None,
        company_key: None,
        company_domain: None,
        country: None,
        region: None,
        postal_code: None,
        phone: None,
        employees: None,
        annual_revenue: None,
        product_interest: Vec::new(),
        source: None,
        utm: Default::default(),
        attributes: Default::default(),
    };
    let clean = crate::submission::Signals::default();
    let unscreened = Facts::new(std::time::SystemTime::UNIX_EPOCH);
    let screened = Facts::new(std::time::SystemTime::UNIX_EPOCH).signals(&clean);
    let run = |cond: &Cond, facts: &Facts<'_>| {
        // Room for every node's event: the recorder never truncates here.
        let mut buf = vec![EMPTY; p.nodes.len() + 1];
        let mut eval = Eval::<true>::new(p, &lead, facts, &[], &mut buf, usize::MAX, None);
        let matched = eval.cond(cond);
        FoldedCase {
            matched,
            events: eval.rec.finish().into_boxed_slice(),
        }
    };
    p.rules
        .iter()
        .enumerate()
        .filter(|(_, r)| reads_only_screening(&r.cond))
        .map(|(i, r)| {
            let cases = [run(&r.cond, &unscreened), run(&r.cond, &screened)];
            (idx32(i), Folded { cases })
        })
        .collect()
}

fn local_text(zone: &jiff::tz::TimeZone, at: jiff::Timestamp) -> Observed {
    let mut buf = StackText::default();
    let _ = write_label(&mut buf, zone.to_datetime(at));
    Observed::Text(ShortText::new(buf.as_str()))
}

/// When the SLA is due: `minutes` of the assignee's working time
/// (`schedule`: its own, else the choosing pool's), or plain minutes for an
/// owner without working hours. `None` with nobody assigned, or for a
/// schedule with no open time ahead.
fn sla_due(
    assigned: bool,
    schedule: Option<&Schedule>,
    now: std::time::SystemTime,
    minutes: u32,
) -> Option<std::time::SystemTime> {
    if !assigned {
        return None;
    }
    match schedule {
        Some(schedule) => schedule.deadline(now, minutes),
        None => now.checked_add(std::time::Duration::from_secs(u64::from(minutes) * 60)),
    }
}

fn within(range: Option<Range>, lo: Option<u64>, hi: Option<u64>) -> (bool, Observed) {
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

/// Whether a JSON value matches, and (when `show`) what the trace shows.
fn value_match(v: Option<&Value>, m: &ValueMatch, show: bool) -> (bool, Observed) {
    let v = v.filter(|v| !v.is_null());
    let observed = match v {
        _ if !show => Observed::None,
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
                let mut buf = StackText::default();
                std::fmt::Write::write_fmt(&mut buf, format_args!("{n}")).is_ok()
                    && list.iter().any(|x| **x == *buf.as_str())
            }
            _ => false,
        }),
        ValueMatch::Regex(re) => v.is_some_and(|v| match v {
            Value::String(s) => re.is_match(s),
            Value::Number(n) => {
                let mut buf = StackText::default();
                std::fmt::Write::write_fmt(&mut buf, format_args!("{n}")).is_ok()
                    && re.is_match(buf.as_str())
            }
            Value::Bool(b) => re.is_match(if *b { "true" } else { "false" }),
            _ => false,
        }),
    };
    (result, observed)
}

/// A stack buffer for short text: a JSON number (at most ~25 bytes) or the
/// first bytes of a list.
#[derive(Default)]
struct StackText {
    buf: [u8; 32],
    len: usize,
}

impl StackText {
    fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

/// Writes what fits — cut at a character boundary — and fails if not all
/// of it did, so a caller can tell complete text from a prefix.
impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.buf.len() - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        let (src, dst) = (
            s.as_bytes().get(..take).unwrap_or_default(),
            self.buf.get_mut(self.len..self.len + take),
        );
        if let Some(dst) = dst {
            dst.copy_from_slice(src);
            self.len += take;
        }
        if take == s.len() {
            Ok(())
        } else {
            Err(std::fmt::Error)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::Policy;
    use crate::submission::{Signal, SignalKind, Signals};

    /// Screening-only rules of every shape (and one that is not), before
    /// a rule that routes.
    const POLICY: &str = r#"{
      "name": "folded", "version": "1", "owners": [{"id": "q"}],
      "rules": [
        {"id": "reject", "when": {"any": [{"signal": ["honeypot", "known_bad_domain"]}, {"spam": {"score_at_least": 100}}]},
         "then": {"assign": "nobody", "experience": {"reject": {"reason": "spam"}}}},
        {"id": "not-clean", "when": {"not": {"spam": {"score_below": 1}}}, "then": {"assign": "nobody"}},
        {"id": "band", "when": {"all": [{"spam": {"score_at_least": 20, "score_below": 40}}, {"not": {"signal": ["too_fast"]}}]},
         "then": {"assign": "nobody"}},
        {"id": "clean-us", "when": {"all": [{"spam": {"score_below": 10}}, {"country": ["US"]}]},
         "then": {"assign": {"owner": "q"}}},
        {"id": "quiet", "when": {"not": {"signal": ["honeypot"]}}, "then": {"assign": {"owner": "q"}}}
      ],
      "fallback": {"assign": {"owner": "q"}}
    }"#;

    #[test]
    fn folded_rules_decide_and_trace_as_the_walk_does() {
        let folded = Policy::from_json_str(POLICY).unwrap();
        assert_eq!(
            folded
                .program
                .folded
                .iter()
                .map(|(r, _)| *r)
                .collect::<Vec<_>>(),
            [0, 1, 2, 4],
            "every screening-only rule is folded, the mixed one is not"
        );
        let mut walked = Policy::from_json_str(POLICY).unwrap();
        Arc::get_mut(&mut walked.program).unwrap().folded = Box::default();

        let lead = crate::Normalizer::default()
            .normalize_json(r#"{"email": "jane@acme.com", "country": "US"}"#)
            .unwrap()
            .lead;
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let signal = |kind, weight| Signal::new(kind, None, "x", weight);
        let mut score_only = Signals::default();
        score_only.score = 30;
        let states = [
            None,
            Some(Signals::default()),
            Some(Signals::from_signals(vec![signal(
                SignalKind::Honeypot,
                100,
            )])),
            Some(Signals::from_signals(vec![signal(SignalKind::TooFast, 30)])),
            Some(Signals::from_signals(vec![signal(
                SignalKind::PlaceholderName,
                0,
            )])),
            Some(score_only),
        ];
        for signals in &states {
            let facts = match signals {
                Some(s) => Facts::new(now).signals(s),
                None => Facts::new(now),
            };
            for opts in [
                EvalOptions::default(),
                EvalOptions::without_trace(),
                EvalOptions::default().with_max_trace_events(3),
            ] {
                let json = |p: &Policy| {
                    serde_json::to_value(p.evaluate_with(&lead, &facts, opts)).unwrap()
                };
                assert_eq!(json(&folded), json(&walked), "{signals:?}");
            }
        }
    }
}
