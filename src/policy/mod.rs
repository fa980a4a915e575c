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
//! `{"pool": id}` or `"nobody"`. When the assignee cannot take the lead (no
//! account owner, an unknown or inactive owner, a pool with nobody eligible
//! and no pool fallback), `if_unavailable` says what happens next:
//! `"next_rule"` (the default), `"fallback"`, or `{"assign": {"owner"|"pool": id}}`.
//! Direct owners are checked for being active; pool members also for
//! availability and capacity. `experience` is one of [`ExperienceSpec`](spec::ExperienceSpec)'s
//! forms; `tags`, `priority` and `sla_minutes` are passed through to the
//! decision.
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
//! missing required keys, unknown words (`"per": "month"`) and a condition
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

pub(crate) mod compile;
pub(crate) mod compiled;
mod diagnostic;
mod eval;
pub(crate) mod explain;
mod implies;
mod index;
mod ir;
pub mod lint;
mod parse;
mod program;
mod schema;
pub mod spec;
mod suggest;

pub use compiled::Policy;
pub use compiled::compile;
pub use diagnostic::{CompileError, Diagnostic, DiagnosticCode, Severity};
pub use eval::EvalOptions;
pub use explain::{Explanation, Step};
pub use schema::json_schema;
