//! A conservative implication test between conditions, used to find rules
//! that can never match. "Conservative" means it may miss an implication but
//! never claims one that does not hold.

use super::spec::{AccountTest, Bounds, Condition, ContactTest};

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
        (Account(x), Account(y)) => account_implies(x, y),
        (Contact(x), Contact(y)) => contact_implies(x, y),
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

/// Every fact `y` requires is required identically by `x`.
fn same_or_free<T: PartialEq>(x: &Option<T>, y: &Option<T>) -> bool {
    y.is_none() || x == y
}

fn account_implies(x: &AccountTest, y: &AccountTest) -> bool {
    same_or_free(&x.exists, &y.exists)
        && same_or_free(&x.has_owner, &y.has_owner)
        && same_or_free(&x.owner_active, &y.owner_active)
        && same_or_free(&x.is_customer, &y.is_customer)
        && same_or_free(&x.tier, &y.tier)
        && same_or_free(&x.field, &y.field)
}

fn contact_implies(x: &ContactTest, y: &ContactTest) -> bool {
    same_or_free(&x.exists, &y.exists)
        && same_or_free(&x.has_owner, &y.has_owner)
        && same_or_free(&x.owner_active, &y.owner_active)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EmailKind as K;

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
