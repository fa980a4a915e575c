//! **Assign**, stage by stage: a routing policy is written as data ([`PolicySpec`](spec::PolicySpec), JSON or TOML) or built
//! in Rust, read with a diagnostic for every problem, checked by [`compile`], evaluated by
//! [`Policy::evaluate`](crate::Policy::evaluate).
//!
//! # The format
//!
//! A policy has a `name` and `version` (recorded in every decision), an
//! `owners` directory, named `territories` and `pools`, ordered `rules`
//! (first match wins) and a mandatory `fallback`:
//!
//! ```
//! # use leadroute::PolicySpec;
//! let spec = PolicySpec::from_json_str(r#"{
//!   "name": "inbound", "version": "2026-11-24",
//!   "owners": [
//!     {"id": "ana", "name": "Ana Ruiz", "email": "ana@example.com", "crm_ids": {"hubspot": "901"}},
//!     {"id": "bob", "name": "Bob Li", "timezone": "America/New_York"},
//!     {"id": "cara", "name": "Cara Diaz", "active": false},
//!     {"id": "inbound-queue", "name": "Inbound queue"}
//!   ],
//!   "territories": [
//!     {"id": "us-west", "regions": ["US-CA", "US-WA", "US-OR"],
//!      "exclude": {"postal_codes": [{"country": "US", "prefixes": ["941"]}]}}
//!   ],
//!   "pools": [
//!     {"id": "enterprise-us", "members": [{"owner": "ana", "weight": 3}, {"owner": "bob"}],
//!      "capacity": {"max": 20, "per": "day"}, "fallback": {"owner": "inbound-queue"}}
//!   ],
//!   "rules": [
//!     {"id": "existing-account",
//!      "when": {"account": {"has_owner": true, "owner_active": true}},
//!      "then": {"assign": "account_owner", "experience": {"book_meeting": {"calendar": "assigned_owner"}}}},
//!     {"id": "us-enterprise",
//!      "when": {"all": [{"country": ["US"]}, {"employees": {"min": 201}}]},
//!      "then": {"assign": {"pool": "enterprise-us"}, "experience": {"book_meeting": {}},
//!               "tags": ["enterprise"], "priority": "high", "sla_minutes": 15}},
//!     {"id": "spam",
//!      "when": {"email_kind": ["disposable"]},
//!      "then": {"assign": "nobody", "experience": {"reject": {"reason": "disposable email"}}}}
//!   ],
//!   "fallback": {"assign": {"owner": "inbound-queue"}, "experience": "confirmation"}
//! }"#).unwrap();
//! let policy = leadroute::compile(&spec).unwrap();
//! assert_eq!(policy.rule_ids().count(), 3);
//! ```
//!
//! The same policy in TOML reads naturally too; see
//! `examples/policies/seed.toml` in the repository.
//!
//! [`json_schema`] gives the format as a JSON Schema, for editors (the
//! repository commits it as `docs/policy.schema.json`); a JSON policy may
//! point at it with an optional top-level `"$schema"` key.
//!
//! ## Conditions
//!
//! See [`Condition`](spec::Condition) for every test. Lists mean "any of"; text compares
//! case-insensitively; `employees`/`annual_revenue` bounds hold when the
//! lead's whole range lies within them; a missing lead value never matches
//! (use `not` to route unknowns).
//!
//! ## Actions
//!
//! `assign` is `"account_owner"`, `"contact_owner"`, `{"owner": id}`,
//! `{"pool": id}` or `"nobody"`. A pool with nobody eligible hands the lead
//! to its `fallback` (an owner or another pool); the decision credits a
//! fallback owner to the pool (`assigned_by: {"pool_fallback": id}`), not to
//! the rule. When the assignee cannot take the lead (no
//! account owner, an unknown or inactive owner, a pool with nobody eligible
//! and no pool fallback), `if_unavailable` says what happens next:
//! `"next_rule"` (the default), `"fallback"`, or `{"assign": {"owner"|"pool": id}}`.
//! Direct owners are checked for being active; pool members also for
//! availability and capacity. A directly named owner (`{"owner": id}`,
//! `"account_owner"`, `"contact_owner"`) who is off shift or away keeps the
//! lead — ownership is not rotation — and the decision says so
//! ([`RouteDecision::owner_unavailable`](crate::RouteDecision::owner_unavailable),
//! an `owner_off_shift` trace event); with `"check_availability": true` the
//! action treats them as unavailable (`off_shift` / `away`) and
//! `if_unavailable` applies. `experience` is one of [`ExperienceSpec`](spec::ExperienceSpec)'s
//! forms; `tags`, `priority` and `sla_minutes` are passed through to the
//! decision.
//!
//! ## Working hours, time zones and load
//!
//! `schedules` are named working hours ([`ScheduleSpec`](spec::ScheduleSpec)):
//! an IANA `timezone`, weekly `hours` blocks per day (`mon` … `sun`, and
//! `weekdays` for Monday to Friday), `holidays`. An owner refers to one with
//! `schedule` and may add its own `out_of_office` dates. A pool skips members
//! outside their hours (the trace says `off_shift`, or `out_of_office` on
//! one of the member's own dates) unless it says `respect_schedules = false` (24/7); its
//! own `schedule` covers members without one, and its `timezone` (else its
//! schedule's) is where capacity days, weeks and months (`"per": "month"`)
//! begin. `distribution = "least_loaded"` picks the member with the fewest
//! open leads for its weight ([`Facts::open_leads`](crate::Facts)), ties by
//! rotation; `max_open` caps open leads in any distribution. Rules test time
//! with `within_schedule`, `outside_schedule` and `day_of_week`. An action's
//! `sla_minutes` gives the decision an `sla_due` counted in the assignee's
//! working time — a pool member's, a named owner's or an account owner's
//! (from their next working time when they are off shift) — and the
//! explanation states it ([`Explanation::sla`]; [`schedule`](crate::schedule)
//! explains how time is counted);
//! [`Policy::reassign`](crate::Policy::reassign) routes a lead again, never to
//! an earlier owner.
//!
//! ```
//! use leadroute::{Facts, LeadInput, Normalizer, Policy};
//! use leadroute::pool::OpenLeadCounts;
//! use std::time::{Duration, SystemTime};
//!
//! let policy = Policy::from_toml_str(r#"
//! name = "follow-the-sun"
//! version = "1"
//! owners = [{ id = "ana", schedule = "emea" }, { id = "bob", schedule = "emea" }, { id = "kai", schedule = "apac" }]
//!
//! [[schedules]]
//! id = "emea"
//! timezone = "Europe/Berlin"
//! hours = { weekdays = ["09:00-12:30", "13:30-18:00"] }
//! holidays = ["2026-12-24..2026-12-26"]
//!
//! [[schedules]]
//! id = "apac"
//! timezone = "Asia/Singapore"
//! hours = { weekdays = ["09:00-18:00"] }
//!
//! [[pools]]
//! id = "emea"
//! members = [{ owner = "ana" }, { owner = "bob", weight = 2 }]
//! distribution = "least_loaded"
//! max_open = 10
//! timezone = "Europe/Berlin"
//! capacity = { max = 40, per = "week" }
//!
//! [[pools]]
//! id = "apac"
//! members = [{ owner = "kai" }]
//!
//! [[rules]]
//! id = "after-hours"
//! when = { outside_schedule = "emea" }
//! then = { assign = { pool = "apac" }, sla_minutes = 60 }
//!
//! [fallback]
//! assign = { pool = "emea" }
//! sla_minutes = 15
//! "#)?;
//! let lead = Normalizer::default().normalize(&LeadInput::from_email("cto@acme.de"))?.lead;
//! let open = OpenLeadCounts::new([("ana", 3), ("bob", 4)]);
//! // Tuesday 2026-12-01 10:00 UTC: 11:00 in Berlin. Bob has 4 open for weight 2.
//! let tuesday = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_119_200);
//! let d = policy.evaluate(&lead, &Facts::new(tuesday).open_leads(&open));
//! assert_eq!(d.owner_id(), Some("bob"));
//! assert!(policy.explain(&d).to_string().contains("bob chosen: 4 open leads, fewest among 2 eligible"));
//! // 02:00 in Berlin is 09:00 in Singapore.
//! let night = tuesday - Duration::from_secs(9 * 3600);
//! let d = policy.evaluate(&lead, &Facts::new(night));
//! assert_eq!((d.rule.as_deref(), d.owner_id()), (Some("after-hours"), Some("kai")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Compile checks every zone (with the closest IANA name), block
//! (`"17:00-09:00"` is inverted: a shift past midnight is two blocks),
//! overlapping blocks, date and schedule reference.
//!
//! ## Diagnostics, from the first byte
//!
//! Every problem, from a misplaced comma to an unreachable rule, is a
//! [`Diagnostic`] in one error type, [`CompileError`]: a stable
//! [`DiagnosticCode`], the field path (`rules[3].when.all[1]`), the rule id,
//! a message, the offending `value` and, where there is one, `help` such as
//! ``did you mean `GB`?``. Each stage reports everything it finds at once,
//! up to [`CompileError::LIMIT`] errors (and as many warnings), counting
//! the rest.
//!
//! Reading ([`PolicySpec::from_json_str`](spec::PolicySpec::from_json_str),
//! `from_toml_str`) reports syntax errors with line and column, unknown keys
//! with the closest valid key at that place, wrong types (`"weight": "3"`),
//! missing required keys, unknown words (`"per": "fortnight"`) and a condition
//! naming several tests. [`Policy::from_json_str`](crate::Policy::from_json_str)
//! reads and compiles in one call.
//!
//! [`compile`] then checks what the text means: unknown owner, pool and
//! territory references (with the closest id); invalid regexes; unknown
//! country and region codes (with the code a name or alias such as `UK`
//! stands for); inverted ranges and postal ranges whose ends differ in
//! length; duplicate ids; empty pools, lists and territories; comparisons
//! with lists or objects; zero weights and capacities; pool fallback cycles;
//! a missing fallback, or one that can fail or falls back to itself;
//! direct assignment to an inactive owner; and rules that can never match
//! because an earlier rule with an identical or broader condition always
//! decides first. Inactive pool members and never-true conditions are
//! warnings.
//!
//! [`Policy::lint`](crate::Policy::lint) goes further, with warnings only
//! (see [`lint`]): overlapping territories, shadowed rules, owners, pools
//! and territories nothing uses, countries and employee-count ranges only
//! the fallback decides.
//! ## Size limits
//!
//! Reading and compiling are bounded by [`PolicyLimits`] (documented
//! defaults; pass your own to [`compile_with_limits`] and
//! [`PolicySpec::from_json_str_with_limits`](spec::PolicySpec::from_json_str_with_limits)):
//! a policy over a limit is a
//! [`LimitExceeded`](DiagnosticCode::LimitExceeded) error found before the
//! expensive work. The unreachable-rule check is indexed for every
//! condition kind (near-linear in the number of rules; the algorithm is on
//! the index in `implies.rs`) and stops, with a
//! [`CheckSkipped`](DiagnosticCode::CheckSkipped) warning, past
//! [`PolicyLimits::max_shadow_comparisons`]. A decision's trace is bounded
//! by [`EvalOptions::max_trace_events`].
//!
//! The rule index that lets [`Policy::evaluate`](crate::Policy::evaluate)
//! skip rules a lead's country, region, postal code, product interest or
//! email kind rules out is linear in the policy's size, also for one rule
//! per postal prefix or product token (50,000 such rules: ~18 MB). Rules
//! whose conditions the index cannot read (attributes, account fields,
//! numeric ranges alone) are evaluated in order, one condition tree each;
//! [`PolicyLimits::max_rules`] bounds how many there can be.

pub(crate) mod compile;
pub(crate) mod compiled;
mod diagnostic;
mod eval;
pub(crate) mod explain;
mod implies;
mod index;
mod ir;
mod limits;
pub mod lint;
mod parse;
mod program;
mod schema;
mod size_check;
pub mod spec;
mod suggest;
pub(crate) mod time;

pub use compiled::Policy;
pub use compiled::{compile, compile_with_limits};
pub use diagnostic::{CompileError, Diagnostic, DiagnosticCode, Severity};
pub use eval::EvalOptions;
pub use explain::{Explanation, SkippedBy, SkippedRule, Step};
pub use limits::PolicyLimits;
pub use schema::json_schema;
pub use suggest::did_you_mean;
pub use time::{Reassign, ReassignReason, Reassignment, ScheduleAvailability};
