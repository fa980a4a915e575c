//! A conservative implication test between conditions, used to find rules
//! that can never match. "Conservative" means it may miss an implication but
//! never claims one that does not hold.

use super::spec::{Bounds, Condition, MatchTest, RecordTest, SpamTest};

/// Whether `a` holding guarantees `b` holds, for every lead and context.
pub(crate) fn implies(a: &Condition, b: &Condition) -> bool {
    use Condition::*;
    if a == b {
        return true;
    }
    match (a, b) {
        (_, Always(true)) => true,
        (Always(false), _) => true,
        (_, All(bs)) => bs.iter().all(|b| implies(a, b)),
        (Any(as_), _) => as_.iter().all(|a| implies(a, b)),
        (All(as_), _) => as_.iter().any(|a| implies(a, b)),
        (_, Any(bs)) => bs.iter().any(|b| implies(a, b)),
        (Country(x), Country(y)) => subset_ci(x, y),
        (Region(x), Region(y)) => subset_ci(x, y),
        (ProductInterest(x), ProductInterest(y)) => subset_ci(x, y),
        (Source(x), Source(y))
        | (UtmSource(x), UtmSource(y))
        | (UtmMedium(x), UtmMedium(y))
        | (UtmCampaign(x), UtmCampaign(y))
        | (UtmTerm(x), UtmTerm(y))
        | (UtmContent(x), UtmContent(y))
        | (CompanyDomain(x), CompanyDomain(y)) => subset_ci(x, y),
        (EmailKind(x), EmailKind(y)) => x.iter().all(|k| y.contains(k)),
        (Employees(x), Employees(y)) | (AnnualRevenue(x), AnnualRevenue(y)) => within(x, y),
        (Account(x), Account(y)) | (Contact(x), Contact(y)) => record_implies(x, y),
        (AccountMatch(x), AccountMatch(y)) => match_implies(x, y),
        (Signal(x), Signal(y)) => !x.is_empty() && x.iter().all(|k| y.contains(k)),
        (Spam(x), Spam(y)) => score_within(x, y),
        _ => false,
    }
}

/// Every value of `x` is in `y` (case-insensitively): "any of x" ⟹ "any of y".
fn subset_ci(x: &[String], y: &[String]) -> bool {
    !x.is_empty()
        && x.iter()
            .all(|v| y.iter().any(|w| w.trim().eq_ignore_ascii_case(v.trim())))
}

/// The bounds `x` lie within `y`.
fn within(x: &Bounds, y: &Bounds) -> bool {
    let lo_ok = match (x.min, y.min) {
        (_, None) => true,
        (Some(a), Some(b)) => a >= b,
        (None, Some(_)) => false,
    };
    let hi_ok = match (x.max, y.max) {
        (_, None) => true,
        (Some(a), Some(b)) => a <= b,
        (None, Some(_)) => false,
    };
    lo_ok && hi_ok
}

/// Every score within `x`'s bounds is within `y`'s.
fn score_within(x: &SpamTest, y: &SpamTest) -> bool {
    let lo_ok = match (x.score_at_least, y.score_at_least) {
        (_, None) => true,
        (Some(a), Some(b)) => a >= b,
        (None, Some(b)) => b == 0,
    };
    let hi_ok = match (x.score_below, y.score_below) {
        (_, None) => true,
        (Some(a), Some(b)) => a <= b,
        (None, Some(_)) => false,
    };
    lo_ok && hi_ok
}

/// Every fact `y` requires is required identically by `x`.
fn same_or_free<T: PartialEq>(x: &Option<T>, y: &Option<T>) -> bool {
    y.is_none() || x == y
}

/// Every fact `y` requires, `x` requires identically.
fn record_implies(x: &RecordTest, y: &RecordTest) -> bool {
    same_or_free(&x.exists, &y.exists)
        && same_or_free(&x.has_owner, &y.has_owner)
        && same_or_free(&x.owner_active, &y.owner_active)
        && same_or_free(&x.is_customer, &y.is_customer)
        && same_or_free(&x.tier, &y.tier)
        && same_or_free(&x.field, &y.field)
}

/// Every test `y` makes, `x` makes at least as strictly: the same flags,
/// methods among `y`'s, a confidence at least `y`'s.
fn match_implies(x: &MatchTest, y: &MatchTest) -> bool {
    let methods = match (&x.matched_by, &y.matched_by) {
        (_, None) => true,
        (Some(a), Some(b)) => !a.is_empty() && a.iter().all(|m| b.contains(m)),
        (None, Some(_)) => false,
    };
    let confidence = match (x.min_confidence, y.min_confidence) {
        (_, None) => true,
        (Some(a), Some(b)) => a.get() >= b.get(),
        (None, Some(_)) => false,
    };
    // A method or a confidence requirement implies an account was matched
    // and the match was not ambiguous.
    let requires_match = x.matched_by.is_some() || x.min_confidence.is_some();
    let matched = y.matched.is_none()
        || x.matched == y.matched
        || (requires_match && y.matched == Some(true));
    let ambiguous = y.ambiguous.is_none()
        || x.ambiguous == y.ambiguous
        || (requires_match && y.ambiguous == Some(false));
    methods && confidence && matched && ambiguous
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::email::EmailKind as K;

    fn c(json: &str) -> Condition {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn broader_and_identical_conditions_are_detected() {
        assert!(implies(
            &c(r#"{"country": ["US"]}"#),
            &c(r#"{"country": ["US", "CA"]}"#)
        ));
        assert!(!implies(
            &c(r#"{"country": ["US", "CA"]}"#),
            &c(r#"{"country": ["US"]}"#)
        ));
        assert!(implies(
            &c(r#"{"employees": {"min": 500}}"#),
            &c(r#"{"employees": {"min": 200}}"#)
        ));
        assert!(!implies(
            &c(r#"{"employees": {"min": 100}}"#),
            &c(r#"{"employees": {"min": 200}}"#)
        ));
        assert!(implies(
            &c(r#"{"employees": {"min": 10, "max": 50}}"#),
            &c(r#"{"employees": {"max": 100}}"#)
        ));
        assert!(implies(
            &c(r#"{"all": [{"country": ["US"]}, {"employees": {"min": 500}}]}"#),
            &c(r#"{"country": ["US"]}"#)
        ));
        assert!(!implies(
            &c(r#"{"country": ["US"]}"#),
            &c(r#"{"all": [{"country": ["US"]}, {"employees": {"min": 500}}]}"#)
        ));
        assert!(implies(
            &c(r#"{"country": ["US"]}"#),
            &c(r#"{"always": true}"#)
        ));
        assert!(implies(
            &c(r#"{"any": [{"country": ["US"]}, {"country": ["CA"]}]}"#),
            &c(r#"{"country": ["us", "CA"]}"#)
        ));
        assert!(implies(
            &c(r#"{"account": {"has_owner": true, "is_customer": true}}"#),
            &c(r#"{"account": {"has_owner": true}}"#)
        ));
        assert!(!implies(
            &c(r#"{"account": {"has_owner": true}}"#),
            &c(r#"{"account": {"has_owner": true, "is_customer": true}}"#)
        ));
        assert!(implies(
            &Condition::EmailKind(vec![K::Free]),
            &Condition::EmailKind(vec![K::Free, K::Disposable])
        ));
        assert!(!implies(
            &c(r#"{"not": {"country": ["US"]}}"#),
            &c(r#"{"country": ["CA"]}"#)
        ));
    }
}

/// Finds, for a rule, the earlier rules that might cover it, without
/// comparing every pair: large territory plans have thousands of rules.
///
/// An earlier "flat" rule (one leaf, or an `all` of leaves) is filed under
/// the values of its most selective list leaf (the one whose values the
/// fewest earlier rules share) (`country`, `region`,
/// `product_interest`, …). For [`implies`] to hold between two flat rules,
/// some leaf of the later rule must be a subset of that leaf, so its first
/// value is one of them: looking up each later leaf's first value finds every
/// possible cover. Rules of any other shape are always compared.
#[derive(Default)]
pub(crate) struct ShadowIndex {
    buckets: std::collections::HashMap<(u8, String), Vec<usize>>,
    always: Vec<usize>,
    all: Vec<usize>,
}

fn list_leaf(c: &Condition) -> Option<(u8, &[String])> {
    use Condition::*;
    Some(match c {
        Country(v) => (0, v),
        Region(v) => (1, v),
        ProductInterest(v) => (2, v),
        Source(v) => (3, v),
        UtmSource(v) => (4, v),
        UtmMedium(v) => (5, v),
        UtmCampaign(v) => (6, v),
        UtmTerm(v) => (7, v),
        UtmContent(v) => (8, v),
        CompanyDomain(v) => (9, v),
        _ => return None,
    })
}

fn flat_leaves(c: &Condition) -> Option<&[Condition]> {
    let composite = |x: &Condition| {
        matches!(
            x,
            Condition::All(_) | Condition::Any(_) | Condition::Not(_) | Condition::Always(_)
        )
    };
    match c {
        Condition::All(items) if !items.iter().any(composite) => Some(items),
        leaf if !composite(leaf) => Some(std::slice::from_ref(leaf)),
        _ => None,
    }
}

fn key(kind: u8, value: &str) -> (u8, String) {
    (kind, value.trim().to_ascii_lowercase())
}

impl ShadowIndex {
    /// Files an earlier rule that always decides when it matches.
    pub(crate) fn add(&mut self, rule: usize, when: &Condition) {
        self.all.push(rule);
        let best = flat_leaves(when).and_then(|leaves| {
            leaves
                .iter()
                .filter_map(list_leaf)
                .filter(|(_, v)| !v.is_empty())
                // The leaf whose values are shared by the fewest rules so far:
                // the most selective one for this plan.
                .min_by_key(|(kind, v)| {
                    let load: usize = v
                        .iter()
                        .map(|x| self.buckets.get(&key(*kind, x)).map_or(0, Vec::len))
                        .sum();
                    (load, v.len())
                })
        });
        match best {
            Some((kind, values)) => {
                for v in values {
                    let bucket = self.buckets.entry(key(kind, v)).or_default();
                    if bucket.last() != Some(&rule) {
                        bucket.push(rule);
                    }
                }
            }
            None => self.always.push(rule),
        }
    }

    /// Earlier rules that might cover `when`, in rule order.
    pub(crate) fn candidates(&self, when: &Condition) -> Vec<usize> {
        let Some(leaves) = flat_leaves(when) else {
            return self.all.clone();
        };
        let mut out = self.always.clone();
        for (kind, values) in leaves.iter().filter_map(list_leaf) {
            if let Some(bucket) = values.first().and_then(|v| self.buckets.get(&key(kind, v))) {
                out.extend_from_slice(bucket);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod shadow_tests {
    use super::*;

    /// A tiny deterministic generator of conditions over few values, so that
    /// covers are frequent.
    fn arb(seed: &mut u64, depth: u32) -> Condition {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = (*seed >> 33) as usize;
        let vals = |n: usize, pool: &[&str]| -> Vec<String> {
            (0..1 + n % 3)
                .map(|k| pool[(n / 3 + k * 7) % pool.len()].to_owned())
                .collect()
        };
        match r % 9 {
            0 | 1 => Condition::Country(vals(r / 9, &["US", "CA", "GB", "us"])),
            2 => Condition::Region(vals(r / 9, &["US-CA", "US-NY", "CA-ON"])),
            3 | 4 => Condition::ProductInterest(vals(r / 9, &["plg", "crm", "billing"])),
            5 => Condition::Employees(Bounds {
                min: Some((r % 4) as u64 * 100),
                max: None,
            }),
            6 if depth < 2 => {
                Condition::All((0..1 + r % 3).map(|_| arb(seed, depth + 1)).collect())
            }
            7 if depth < 2 => {
                Condition::Any((0..1 + r % 2).map(|_| arb(seed, depth + 1)).collect())
            }
            8 if depth < 2 => Condition::Not(Box::new(arb(seed, depth + 1))),
            _ => Condition::Source(vals(r / 9, &["web", "ads"])),
        }
    }

    #[test]
    fn the_shadow_index_never_misses_a_cover() {
        let mut seed = 7;
        let mut covers = 0;
        for _ in 0..300 {
            let rules: Vec<Condition> = (0..25).map(|_| arb(&mut seed, 0)).collect();
            let mut index = ShadowIndex::default();
            for (j, later) in rules.iter().enumerate() {
                let candidates = index.candidates(later);
                for (i, earlier) in rules.iter().enumerate().take(j) {
                    if implies(later, earlier) {
                        covers += 1;
                        assert!(
                            candidates.contains(&i),
                            "missed cover {i} of {j}: {earlier:?} ⊇ {later:?}"
                        );
                    }
                }
                index.add(j, later);
            }
        }
        assert!(
            covers > 100,
            "the generator should produce covers ({covers})"
        );
    }
}
