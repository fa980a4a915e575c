//! [`TieBreaker`]s: ordered, deterministic rules that separate candidates
//! whose scores are too close to call.
//!
//! The contenders (every eligible candidate within the config's
//! `ambiguity_margin` of the best score) go through the tie-breakers in
//! order. Each keeps only the contenders with the best value of its
//! criterion; a tie-breaker that cannot separate them (all equal) passes
//! them on unchanged. The first one that leaves a single contender decides
//! it, and the result names it. If the list runs out with several left, the
//! match is **ambiguous**: no account is chosen, rather than a guess.
//! `lowest_id` always separates distinct accounts, so a list ending in it
//! never comes out ambiguous — it is not in the default order for that
//! reason.

use serde::{Deserialize, Serialize};

/// One tie-breaking criterion. JSON: the snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TieBreaker {
    /// The stronger method: exact domain over additional domain over
    /// subdomain over contacts over name key over cross-TLD over fuzzy name
    /// over acronym.
    Method,
    /// The more specific matched host (`uk.acme.com` over `acme.com` for a
    /// lead at `uk.acme.com`).
    DomainSpecificity,
    /// The account in the lead's country.
    SameCountry,
    /// A customer over a prospect.
    Customer,
    /// An account whose owner is active (in the policy) over one whose
    /// owner is inactive or missing.
    ActiveOwner,
    /// The account with the most contacts on the lead's email domain.
    MostContacts,
    /// A parent over its own subsidiaries (the top of the hierarchy among
    /// the contenders).
    Parent,
    /// The most recent activity (`last_activity`).
    RecentActivity,
    /// The smallest account id (a deterministic guess; never ambiguous).
    LowestId,
}

impl TieBreaker {
    /// The default order: `method`, `domain_specificity`, `same_country`,
    /// `customer`, `active_owner`, `most_contacts`, `parent`,
    /// `recent_activity`. Country before customer so that a regional
    /// subsidiary ("IBM India") wins the leads of its country over a
    /// customer parent; no `lowest_id`, so true duplicates come out
    /// ambiguous.
    pub const DEFAULT_ORDER: [TieBreaker; 8] = [
        TieBreaker::Method,
        TieBreaker::DomainSpecificity,
        TieBreaker::SameCountry,
        TieBreaker::Customer,
        TieBreaker::ActiveOwner,
        TieBreaker::MostContacts,
        TieBreaker::Parent,
        TieBreaker::RecentActivity,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TieBreaker::Method => "method",
            TieBreaker::DomainSpecificity => "domain_specificity",
            TieBreaker::SameCountry => "same_country",
            TieBreaker::Customer => "customer",
            TieBreaker::ActiveOwner => "active_owner",
            TieBreaker::MostContacts => "most_contacts",
            TieBreaker::Parent => "parent",
            TieBreaker::RecentActivity => "recent_activity",
            TieBreaker::LowestId => "lowest_id",
        }
    }

    /// What it prefers, for explanations.
    pub fn describe(self) -> &'static str {
        match self {
            TieBreaker::Method => "the stronger match method",
            TieBreaker::DomainSpecificity => "the more specific domain",
            TieBreaker::SameCountry => "the account in the lead's country",
            TieBreaker::Customer => "the customer",
            TieBreaker::ActiveOwner => "the account with an active owner",
            TieBreaker::MostContacts => "the account with the most contacts on the lead's domain",
            TieBreaker::Parent => "the parent account",
            TieBreaker::RecentActivity => "the most recent activity",
            TieBreaker::LowestId => "the lowest account id",
        }
    }
}

/// What the tie-breakers compare, per contender (computed by the scorer).
#[derive(Debug, Clone)]
pub(crate) struct Traits<'a> {
    pub(crate) id: &'a str,
    /// Higher is stronger.
    pub(crate) method_strength: u8,
    pub(crate) specificity: u8,
    pub(crate) same_country: bool,
    pub(crate) customer: bool,
    pub(crate) active_owner: bool,
    pub(crate) contacts: u32,
    /// Is the parent (or an ancestor) of another contender.
    pub(crate) parent_of_contender: bool,
    pub(crate) last_activity: Option<i64>,
}

/// Narrows `contenders` (indices into `traits`) with each tie-breaker in
/// turn; returns the one left and the tie-breaker that left it, or `None`
/// when they stay tied (or the list was empty).
pub(crate) fn decide(
    order: &[TieBreaker],
    traits: &[Traits<'_>],
    contenders: &mut Vec<usize>,
) -> Option<TieBreaker> {
    for &t in order {
        if contenders.len() < 2 {
            break;
        }
        let key = |i: usize| -> Key<'_> {
            let Some(x) = traits.get(i) else {
                return Key::Num(i64::MIN);
            };
            match t {
                TieBreaker::Method => Key::Num(i64::from(x.method_strength)),
                TieBreaker::DomainSpecificity => Key::Num(i64::from(x.specificity)),
                TieBreaker::SameCountry => Key::Num(i64::from(x.same_country)),
                TieBreaker::Customer => Key::Num(i64::from(x.customer)),
                TieBreaker::ActiveOwner => Key::Num(i64::from(x.active_owner)),
                TieBreaker::MostContacts => Key::Num(i64::from(x.contacts)),
                TieBreaker::Parent => Key::Num(i64::from(x.parent_of_contender)),
                TieBreaker::RecentActivity => Key::Num(x.last_activity.unwrap_or(i64::MIN)),
                // Smaller ids first: compare reversed.
                TieBreaker::LowestId => Key::RevText(x.id),
            }
        };
        let Some(best) = contenders.iter().map(|&i| key(i)).max() else {
            break;
        };
        let before = contenders.len();
        contenders.retain(|&i| key(i) == best);
        if contenders.len() == 1 && before > 1 {
            return Some(t);
        }
    }
    None
}

/// A tie-breaker's value: larger is preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key<'a> {
    Num(i64),
    RevText(&'a str),
}

impl PartialOrd for Key<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Key::Num(a), Key::Num(b)) => a.cmp(b),
            (Key::RevText(a), Key::RevText(b)) => b.cmp(a),
            (Key::Num(_), Key::RevText(_)) => std::cmp::Ordering::Less,
            (Key::RevText(_), Key::Num(_)) => std::cmp::Ordering::Greater,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str) -> Traits<'_> {
        Traits {
            id,
            method_strength: 8,
            specificity: 2,
            same_country: false,
            customer: false,
            active_owner: true,
            contacts: 0,
            parent_of_contender: false,
            last_activity: None,
        }
    }

    #[test]
    fn the_first_separating_tie_breaker_decides_and_ties_stay_ambiguous() {
        let mut b = t("b");
        b.customer = true;
        let traits = [t("a"), b, t("c")];
        let mut c = vec![0, 1, 2];
        assert_eq!(
            decide(&TieBreaker::DEFAULT_ORDER, &traits, &mut c),
            Some(TieBreaker::Customer)
        );
        assert_eq!(c, [1]);
        let traits = [t("b"), t("a")];
        let mut c = vec![0, 1];
        assert_eq!(decide(&TieBreaker::DEFAULT_ORDER, &traits, &mut c), None);
        assert_eq!(c.len(), 2);
        assert_eq!(
            decide(&[TieBreaker::LowestId], &traits, &mut c),
            Some(TieBreaker::LowestId)
        );
        assert_eq!(c, [1]);
    }
}
