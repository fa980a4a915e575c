//! Checking a [`PolicySpec`] against [`PolicyLimits`] before compiling it.

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
    c.list("owners", spec.owners.len());
    c.list("territories", spec.territories.len());
    c.list("pools", spec.pools.len());
    for (i, o) in spec.owners.iter().enumerate() {
        c.list(&format!("owners[{i}].crm_ids"), o.crm_ids.len());
        c.list(&format!("owners[{i}].attributes"), o.attributes.len());
    }
    for (i, t) in spec.territories.iter().enumerate() {
        for (part, set) in [("", &t.include), (".exclude", &t.exclude)] {
            let at = format!("territories[{i}]{part}");
            c.list(&format!("{at}.countries"), set.countries.len());
            c.list(&format!("{at}.regions"), set.regions.len());
            c.list(&format!("{at}.postal_codes"), set.postal_codes.len());
            for (k, p) in set.postal_codes.iter().enumerate() {
                c.list(
                    &format!("{at}.postal_codes[{k}].prefixes"),
                    p.prefixes.len(),
                );
                c.list(&format!("{at}.postal_codes[{k}].ranges"), p.ranges.len());
            }
        }
    }
    for (i, p) in spec.pools.iter().enumerate() {
        c.list(&format!("pools[{i}].members"), p.members.len());
    }
    // Only the first `max_rules` rules: the count is already reported.
    for (i, r) in spec.rules.iter().enumerate().take(limits.max_rules) {
        let at = format!("rules[{i}].when");
        c.too_deep = false;
        let mut nodes = 0;
        c.condition(&r.when, &at, 0, &mut nodes);
        if nodes > limits.max_conditions_per_rule && !c.too_deep {
            c.sink.push(Diagnostic::limit_exceeded(
                at,
                format!("more than {} conditions", limits.max_conditions_per_rule),
                "max_conditions_per_rule",
                limits.max_conditions_per_rule,
            ));
        }
        c.list(&format!("rules[{i}].then.tags"), r.then.tags.len());
    }
    c.list(
        "fallback.tags",
        spec.fallback.as_ref().map_or(0, |f| f.tags.len()),
    );
}

struct Checker<'a> {
    limits: &'a PolicyLimits,
    sink: &'a mut Sink,
    /// The current rule's condition is nested too deeply (reported once).
    too_deep: bool,
}

impl Checker<'_> {
    fn list(&mut self, at: &str, len: usize) {
        if len > self.limits.max_list_len {
            self.sink.push(Diagnostic::limit_exceeded(
                at.to_owned(),
                format!("{len} items"),
                "max_list_len",
                self.limits.max_list_len,
            ));
        }
    }

    /// Walks a condition, counting nodes; stops descending past the node
    /// limit or the depth limit, so a hostile spec costs at most the limits.
    fn condition(&mut self, c: &Condition, at: &str, depth: usize, nodes: &mut usize) {
        use Condition::*;
        *nodes += 1;
        if *nodes > self.limits.max_conditions_per_rule || self.too_deep {
            return;
        }
        if depth > self.limits.max_depth {
            self.sink.push(Diagnostic::limit_exceeded(
                at.to_owned(),
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
                self.list(&format!("{at}.{op}"), items.len());
                for (i, item) in items.iter().enumerate() {
                    self.condition(item, &format!("{at}.{op}[{i}]"), depth + 1, nodes);
                }
            }
            Not(inner) => self.condition(inner, &format!("{at}.not"), depth + 1, nodes),
            Country(v) => self.list(&format!("{at}.country"), v.len()),
            Region(v) => self.list(&format!("{at}.region"), v.len()),
            ProductInterest(v) => self.list(&format!("{at}.product_interest"), v.len()),
            Source(v) => self.list(&format!("{at}.source"), v.len()),
            UtmSource(v) => self.list(&format!("{at}.utm_source"), v.len()),
            UtmMedium(v) => self.list(&format!("{at}.utm_medium"), v.len()),
            UtmCampaign(v) => self.list(&format!("{at}.utm_campaign"), v.len()),
            UtmTerm(v) => self.list(&format!("{at}.utm_term"), v.len()),
            UtmContent(v) => self.list(&format!("{at}.utm_content"), v.len()),
            CompanyDomain(v) => self.list(&format!("{at}.company_domain"), v.len()),
            EmailKind(v) => self.list(&format!("{at}.email_kind"), v.len()),
            PostalCode(p) => {
                self.list(&format!("{at}.postal_code.prefixes"), p.prefixes.len());
                self.list(&format!("{at}.postal_code.ranges"), p.ranges.len());
            }
            Attribute(f) => self.value_test(&f.test, &format!("{at}.attribute")),
            Account(t) | Contact(t) => {
                let what = if matches!(c, Account(_)) {
                    "account"
                } else {
                    "contact"
                };
                if let Some(tier) = &t.tier {
                    self.list(&format!("{at}.{what}.tier"), tier.len());
                }
                if let Some(f) = &t.field {
                    self.value_test(&f.test, &format!("{at}.{what}.field"));
                }
            }
            // Territory ids, bounds and constants are fixed-size; kinds
            // added later add their lists here.
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn value_test(&mut self, t: &ValueTest, at: &str) {
        match t {
            ValueTest::OneOf(vs) => self.list(&format!("{at}.one_of"), vs.len()),
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
