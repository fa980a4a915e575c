//! [`Program`]: everything a compiled policy holds, shared by evaluation,
//! explanation and the public [`Policy`](super::compiled::Policy) handle.

use std::sync::Arc;

use super::diagnostic::Diagnostic;
use super::index::RuleIndex;
use super::ir::{Action, NodeInfo, NodeTexts, Owner, Pool, Rule, Territory};
use crate::decision::{TraceEvent, Unavailable};
use crate::name::{FxMap, Name};

/// A compiled policy's data.
#[derive(Debug)]
pub(crate) struct Program {
    pub(crate) name: Name,
    pub(crate) version: Name,
    pub(crate) owners: Vec<Owner>,
    pub(crate) owner_index: FxMap<Box<str>, u32>,
    pub(crate) territories: Vec<Territory>,
    pub(crate) pools: Vec<Pool>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) fallback: Action,
    pub(crate) nodes: Vec<NodeInfo>,
    /// The texts `nodes` point into.
    pub(crate) node_texts: NodeTexts,
    pub(crate) warnings: Vec<Diagnostic>,
    pub(crate) index: RuleIndex,
    /// Members of pools that read open-lead counts, each once, in pool and
    /// member order, at most [`MAX_LOAD_OWNERS`](crate::pool::MAX_LOAD_OWNERS).
    pub(crate) load_owners: Box<[Name]>,
    /// The named schedules, in spec order.
    pub(crate) schedules: Vec<Arc<crate::schedule::Schedule>>,
    /// The rules whose condition reads only the screening facts, evaluated
    /// in advance (by the evaluator's `fold_screening`), by rule index.
    pub(crate) folded: Box<[(u32, Folded)]>,
}

/// A rule whose condition reads nothing but the screening facts (the
/// `signal` and `spam` conditions, and constants), evaluated once when the
/// policy is compiled in both of the usual screening states (not screened;
/// screened with nothing fired): its result and the trace events its
/// condition records, which an evaluation in one of those states copies
/// instead of walking the condition. The recommended
/// screening rules are such rules, and most submissions are clean, so a
/// screened policy costs a clean lead little more than an unscreened one.
/// The events are those of the same `cond` walk, so the trace is the same
/// either way (a unit test compares the two).
///
/// Measured and left (issue 18, `instr_pipeline`, callgrind): the rule's
/// `Rule` event stored at the end of its events (one copy, no push) left
/// `screening/normalize_screen_evaluate` where it was (16,037) and cost
/// the unscreened `screening/normalize_evaluate` 35 more (the walk's
/// code changed); precomputed runs of consecutive folded rules that do not
/// match, copied at once (the index offers such rules in a row), saved the
/// screened evaluation 24 but cost the unscreened one 19 (the walk with a
/// candidate read ahead), and with two copies of the walk (with and
/// without folding) +4 and +23 (`decide` compiled differently).
#[derive(Debug)]
pub(crate) struct Folded {
    /// Not screened (`Facts::signals` is `None`), then screened with
    /// nothing fired (score 0, no signal).
    pub(crate) cases: [FoldedCase; 2],
}

#[derive(Debug)]
pub(crate) struct FoldedCase {
    /// Whether the condition holds.
    pub(crate) matched: bool,
    /// The events its walk records, in order.
    pub(crate) events: Box<[TraceEvent]>,
}

/// The members of `pools` that read open-lead counts, each once, in order.
pub(crate) fn load_owners(pools: &[super::ir::Pool]) -> Box<[Name]> {
    let mut seen = std::collections::HashSet::new();
    pools
        .iter()
        .filter(|p| p.uses_load)
        .flat_map(|p| p.roster.seats.iter())
        .filter(|seat| seen.insert(&*seat.owner))
        .take(crate::pool::MAX_LOAD_OWNERS)
        .map(|seat| seat.owner.clone())
        .collect()
}

impl Program {
    /// An active owner by id, or why it cannot take a lead.
    pub(crate) fn active_owner(&self, id: &str) -> Result<u32, Unavailable> {
        let i = *self.owner_index.get(id).ok_or(Unavailable::UnknownOwner)?;
        match self.owners.get(i as usize) {
            Some(o) if o.active => Ok(i),
            _ => Err(Unavailable::InactiveOwner),
        }
    }

    pub(crate) fn rule_id(&self, r: u32) -> String {
        self.rules
            .get(r as usize)
            .map_or_else(|| format!("#{r}"), |r| r.id.to_string())
    }

    pub(crate) fn pool_id(&self, i: u32) -> String {
        self.pools
            .get(i as usize)
            .map_or_else(|| format!("#{i}"), |x| x.id.to_string())
    }

    pub(crate) fn member_id(&self, pool: u32, m: u32) -> String {
        self.pools
            .get(pool as usize)
            .and_then(|x| x.roster.seat(m))
            .map_or_else(|| format!("#{m}"), |s| s.owner.to_string())
    }
}
