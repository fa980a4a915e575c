//! What the cases reached: every rule, the policy fallback, every pool
//! member that can be chosen and every pool fallback, each with how many
//! routes reached it.
//!
//! An item is *reached* when a routed lead's decision went through it:
//!
//! - a rule: it decided the lead (its condition held and its assignee took
//!   it, or its `if_unavailable` sent the lead on in its name);
//! - the policy fallback: it decided the lead;
//! - a pool member: the pool chose that member (the explanation's
//!   `pool_choice` step), also when the pool was reached through another
//!   pool's fallback;
//! - a pool fallback: the pool had nobody eligible and handed the lead on
//!   (the `pool_fallback` step).
//!
//! Members whose owner is inactive can never be chosen; they are listed
//! apart and not counted. The percentage is reached items over all counted
//! items.

use std::collections::BTreeMap;

use leadroute::PolicySpec;
use leadroute::RouteDecision;
use leadroute::policy::{Explanation, Step};
use serde::Serialize;

/// Route counts per coverage item of one policy.
#[derive(Debug, Clone)]
pub(crate) struct Coverage {
    rules: Vec<(String, usize)>,
    fallback: usize,
    /// (pool, owner) → routes.
    members: Vec<((String, String), usize)>,
    inactive_members: Vec<(String, String)>,
    /// pool → routes (pools with a fallback only).
    pool_fallbacks: Vec<(String, usize)>,
}

impl Coverage {
    /// Every item of the policy, none reached yet.
    pub fn of(spec: &PolicySpec) -> Self {
        let active: BTreeMap<&str, bool> = spec
            .owners
            .iter()
            .map(|o| (o.id.as_str(), o.active))
            .collect();
        let mut members = Vec::new();
        let mut inactive_members = Vec::new();
        for pool in &spec.pools {
            for m in &pool.members {
                let key = (pool.id.clone(), m.owner.clone());
                if active.get(m.owner.as_str()).copied().unwrap_or(false) {
                    members.push((key, 0));
                } else {
                    inactive_members.push(key);
                }
            }
        }
        Coverage {
            rules: spec.rules.iter().map(|r| (r.id.clone(), 0)).collect(),
            fallback: 0,
            members,
            inactive_members,
            pool_fallbacks: spec
                .pools
                .iter()
                .filter(|p| p.fallback.is_some())
                .map(|p| (p.id.clone(), 0))
                .collect(),
        }
    }

    /// Counts what one routed lead reached.
    pub fn record(&mut self, decision: &RouteDecision, explanation: &Explanation) {
        if let Some(rule) = &decision.rule {
            if let Some((_, n)) = self.rules.iter_mut().find(|(id, _)| **id == **rule) {
                *n += 1;
            }
        }
        if decision.fallback {
            self.fallback += 1;
        }
        for step in &explanation.steps {
            match step {
                Step::PoolChoice { pool, owner, .. } => {
                    if let Some((_, n)) = self
                        .members
                        .iter_mut()
                        .find(|((p, o), _)| p == pool && o == owner)
                    {
                        *n += 1;
                    }
                }
                Step::PoolFallback { pool } => {
                    if let Some((_, n)) = self.pool_fallbacks.iter_mut().find(|(p, _)| p == pool) {
                        *n += 1;
                    }
                }
                _ => {}
            }
        }
    }

    /// (reached, total) counted items.
    pub fn counts(&self) -> (usize, usize) {
        let reached = self.rules.iter().filter(|(_, n)| *n > 0).count()
            + usize::from(self.fallback > 0)
            + self.members.iter().filter(|(_, n)| *n > 0).count()
            + self.pool_fallbacks.iter().filter(|(_, n)| *n > 0).count();
        let total = self.rules.len() + 1 + self.members.len() + self.pool_fallbacks.len();
        (reached, total)
    }

    /// The percentage reached, rounded down to a tenth (so 99.96 % is
    /// never shown as 100 %).
    pub fn percent(&self) -> f64 {
        let (reached, total) = self.counts();
        if total == 0 {
            return 100.0;
        }
        ((reached * 1000) / total) as f64 / 10.0
    }

    /// Whether at least `min` percent of the items were reached (exact,
    /// not rounded).
    pub fn at_least(&self, min: f64) -> bool {
        let (reached, total) = self.counts();
        (reached as f64) * 100.0 >= min * (total as f64)
    }

    /// What no case reached, as `rule `x``, `fallback`, `pool `p` member `o``…
    pub fn not_reached(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .rules
            .iter()
            .filter(|(_, n)| *n == 0)
            .map(|(id, _)| format!("rule `{id}`"))
            .collect();
        if self.fallback == 0 {
            out.push("the policy fallback".to_owned());
        }
        out.extend(
            self.members
                .iter()
                .filter(|(_, n)| *n == 0)
                .map(|((p, o), _)| format!("pool `{p}` member `{o}`")),
        );
        out.extend(
            self.pool_fallbacks
                .iter()
                .filter(|(_, n)| *n == 0)
                .map(|(p, _)| format!("pool `{p}` fallback")),
        );
        out
    }

    /// The report for people.
    pub fn render(&self) -> String {
        let (reached, total) = self.counts();
        let count = |items: &mut dyn Iterator<Item = usize>| {
            let v: Vec<usize> = items.collect();
            (v.iter().filter(|n| **n > 0).count(), v.len())
        };
        let (r, rt) = count(&mut self.rules.iter().map(|(_, n)| *n));
        let (m, mt) = count(&mut self.members.iter().map(|(_, n)| *n));
        let (f, ft) = count(&mut self.pool_fallbacks.iter().map(|(_, n)| *n));
        let mut out = format!(
            "coverage: {:.1}% ({reached} of {total} items)\n",
            self.percent()
        );
        out.push_str(&format!("  rules:          {r}/{rt}\n"));
        out.push_str(&format!(
            "  fallback:       {}\n",
            if self.fallback > 0 {
                "reached"
            } else {
                "not reached"
            }
        ));
        out.push_str(&format!("  pool members:   {m}/{mt}\n"));
        out.push_str(&format!("  pool fallbacks: {f}/{ft}\n"));
        if !self.inactive_members.is_empty() {
            let list: Vec<String> = self
                .inactive_members
                .iter()
                .map(|(p, o)| format!("{p}/{o}"))
                .collect();
            out.push_str(&format!(
                "  not counted (inactive owners): {}\n",
                list.join(", ")
            ));
        }
        let missing = self.not_reached();
        if !missing.is_empty() {
            out.push_str("  not reached by any case:\n");
            for item in missing {
                out.push_str(&format!("    - {item}\n"));
            }
        }
        out
    }

    /// The JSON report (see the crate docs).
    pub fn to_json(&self) -> CoverageJson {
        let (reached, total) = self.counts();
        CoverageJson {
            percent: self.percent(),
            reached,
            total,
            rules: self
                .rules
                .iter()
                .map(|(id, n)| ItemJson {
                    id: id.clone(),
                    pool: None,
                    routes: *n,
                })
                .collect(),
            fallback: self.fallback,
            pool_members: self
                .members
                .iter()
                .map(|((p, o), n)| ItemJson {
                    id: o.clone(),
                    pool: Some(p.clone()),
                    routes: *n,
                })
                .collect(),
            pool_fallbacks: self
                .pool_fallbacks
                .iter()
                .map(|(p, n)| ItemJson {
                    id: p.clone(),
                    pool: None,
                    routes: *n,
                })
                .collect(),
            inactive_members: self
                .inactive_members
                .iter()
                .map(|(p, o)| ItemJson {
                    id: o.clone(),
                    pool: Some(p.clone()),
                    routes: 0,
                })
                .collect(),
            not_reached: self.not_reached(),
        }
    }
}

/// `coverage` in `leadroute test --format json`.
#[derive(Debug, Serialize)]
pub(crate) struct CoverageJson {
    percent: f64,
    reached: usize,
    total: usize,
    rules: Vec<ItemJson>,
    fallback: usize,
    pool_members: Vec<ItemJson>,
    pool_fallbacks: Vec<ItemJson>,
    inactive_members: Vec<ItemJson>,
    not_reached: Vec<String>,
}

/// One coverage item: a rule id, a member (`id` the owner, with `pool`) or
/// a pool (fallbacks), and the routes that reached it.
#[derive(Debug, Serialize)]
struct ItemJson {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<String>,
    routes: usize,
}
