//! Checking a [`PolicySpec`] against [`PolicyLimits`] before compiling it.

use std::fmt::Display;

use super::diagnostic::{Diagnostic, Sink};
use super::limits::PolicyLimits;
use super::spec::{Condition, PolicySpec, ValueTest};

/// Checks a spec against `limits`, reporting every violation (bounded by
/// the sink) into `sink`. Runs before any other compile work.
pub(crate) fn check(spec: &PolicySpec, limits: &PolicyLimits, sink: &mut Sink) {
    let mut c = Checker {
        limits,
        sink,
        too_deep: false,
    };
    if spec.rules.len() > limits.max_rules {
        c.sink.push(Diagnostic::limit_exceeded(
            "rules".into(),
            format!("{} rules", spec.rules.len()),
            "max_rules",
            limits.max_rules,
        ));
    }
    c.list(&"owners", spec.owners.len());
    c.list(&"territories", spec.territories.len());
    c.list(&"pools", spec.pools.len());
    for (i, o) in spec.owners.iter().enumerate() {
        c.list(&format_args!("owners[{i}].crm_ids"), o.crm_ids.len());
        c.list(&format_args!("owners[{i}].attributes"), o.attributes.len());
    }
    for (i, t) in spec.territories.iter().enumerate() {
        for (part, set) in [("", &t.include), (".exclude", &t.exclude)] {
            let at = Territory(i, part);
            c.list(&format_args!("{at}.countries"), set.countries.len());
            c.list(&format_args!("{at}.regions"), set.regions.len());
            c.list(&format_args!("{at}.postal_codes"), set.postal_codes.len());
            for (k, p) in set.postal_codes.iter().enumerate() {
                c.list(
                    &format_args!("{at}.postal_codes[{k}].prefixes"),
                    p.prefixes.len(),
                );
                c.list(
                    &format_args!("{at}.postal_codes[{k}].ranges"),
                    p.ranges.len(),
                );
            }
        }
    }
    for (i, p) in spec.pools.iter().enumerate() {
        c.list(&format_args!("pools[{i}].members"), p.members.len());
    }
    // Only the first `max_rules` rules: the count is already reported.
    for (i, r) in spec.rules.iter().enumerate().take(limits.max_rules) {
        let at = RuleWhen(i);
        c.too_deep = false;
        let mut nodes = 0;
        c.condition(&r.when, &at, 0, &mut nodes);
        if nodes > limits.max_conditions_per_rule && !c.too_deep {
            c.sink.push(Diagnostic::limit_exceeded(
                at.to_string(),
                format!("more than {} conditions", limits.max_conditions_per_rule),
                "max_conditions_per_rule",
                limits.max_conditions_per_rule,
            ));
        }
        c.list(&format_args!("rules[{i}].then.tags"), r.then.tags.len());
    }
    c.list(
        &"fallback.tags",
        spec.fallback.as_ref().map_or(0, |f| f.tags.len()),
    );
}

/// `territories[i]` and a suffix, rendered only for a violation (as is
/// every path here: a 10,000-rule plan has tens of thousands of lists).
struct Territory(usize, &'static str);

impl Display for Territory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "territories[{}]{}", self.0, self.1)
    }
}

/// `rules[i].when`.
struct RuleWhen(usize);

impl Display for RuleWhen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rules[{}].when", self.0)
    }
}

struct Checker<'a> {
    limits: &'a PolicyLimits,
    sink: &'a mut Sink,
    /// The current rule's condition is nested too deeply (reported once).
    too_deep: bool,
}

impl Checker<'_> {
    /// Checks one list's length. `at` is rendered only for a violation:
    /// a 10,000-rule plan has tens of thousands of lists to check.
    fn list(&mut self, at: &dyn Display, len: usize) {
        if len > self.limits.max_list_len {
            self.sink.push(Diagnostic::limit_exceeded(
                at.to_string(),
                format!("{len} items"),
                "max_list_len",
                self.limits.max_list_len,
            ));
        }
    }

    /// Walks a condition, counting nodes; stops descending past the node
    /// limit or the depth limit, so a hostile spec costs at most the limits.
    fn condition(&mut self, c: &Condition, at: &dyn Display, depth: usize, nodes: &mut usize) {
        use Condition::*;
        *nodes += 1;
        if *nodes > self.limits.max_conditions_per_rule || self.too_deep {
            return;
        }
        if depth > self.limits.max_depth {
            self.sink.push(Diagnostic::limit_exceeded(
                at.to_string(),
                format!("conditions nested more than {} deep", self.limits.max_depth),
                "max_depth",
                self.limits.max_depth,
            ));
            // Once per rule: stop the whole walk.
            self.too_deep = true;
            *nodes = usize::MAX / 2;
            return;
        }
        match c {
            All(items) | Any(items) => {
                let op = if matches!(c, All(_)) { "all" } else { "any" };
                self.list(&format_args!("{at}.{op}"), items.len());
                for (i, item) in items.iter().enumerate() {
                    self.condition(item, &format_args!("{at}.{op}[{i}]"), depth + 1, nodes);
                }
            }
            Not(inner) => self.condition(inner, &format_args!("{at}.not"), depth + 1, nodes),
            Country(v) => self.list(&format_args!("{at}.country"), v.len()),
            Region(v) => self.list(&format_args!("{at}.region"), v.len()),
            ProductInterest(v) => self.list(&format_args!("{at}.product_interest"), v.len()),
            Source(v) => self.list(&format_args!("{at}.source"), v.len()),
            UtmSource(v) => self.list(&format_args!("{at}.utm_source"), v.len()),
            UtmMedium(v) => self.list(&format_args!("{at}.utm_medium"), v.len()),
            UtmCampaign(v) => self.list(&format_args!("{at}.utm_campaign"), v.len()),
            UtmTerm(v) => self.list(&format_args!("{at}.utm_term"), v.len()),
            UtmContent(v) => self.list(&format_args!("{at}.utm_content"), v.len()),
            CompanyDomain(v) => self.list(&format_args!("{at}.company_domain"), v.len()),
            EmailKind(v) => self.list(&format_args!("{at}.email_kind"), v.len()),
            PostalCode(p) => {
                self.list(&format_args!("{at}.postal_code.prefixes"), p.prefixes.len());
                self.list(&format_args!("{at}.postal_code.ranges"), p.ranges.len());
            }
            Attribute(f) => self.value_test(&f.test, &format_args!("{at}.attribute")),
            Account(t) | Contact(t) => {
                let what = if matches!(c, Account(_)) {
                    "account"
                } else {
                    "contact"
                };
                if let Some(tier) = &t.tier {
                    self.list(&format_args!("{at}.{what}.tier"), tier.len());
                }
                if let Some(f) = &t.field {
                    self.value_test(&f.test, &format_args!("{at}.{what}.field"));
                }
            }
            // Territory ids, bounds and constants are fixed-size; kinds
            // added later add their lists here.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn value_test(&mut self, t: &ValueTest, at: &dyn Display) {
        match t {
            ValueTest::OneOf(vs) => self.list(&format_args!("{at}.one_of"), vs.len()),
            ValueTest::Regex(re) if re.len() > self.limits.max_regex_len => {
                self.sink.push(Diagnostic::limit_exceeded(
                    format!("{at}.regex"),
                    format!("a pattern of {} bytes", re.len()),
                    "max_regex_len",
                    self.limits.max_regex_len,
                ));
            }
            _ => {}
        }
    }
}
