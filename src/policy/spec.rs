//! The policy spec: what RevOps writes, as serde data (JSON, TOML) or built
//! in Rust with [`PolicySpec::new`] and its setters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::diagnostic::CompileError;
use super::limits::PolicyLimits;
use super::parse;
use crate::decision::Priority;
use crate::lead::email::EmailKind;
use crate::matching::MatchMethod;
use crate::pool::roster::{Capacity, Period};
use crate::submission::signal::SignalKind;

mod schedule;
pub use crate::pool::load::Distribution;
pub use schedule::{DayOfWeekSpec, ScheduleSpec, Weekday, WeeklyHoursSpec};

/// A routing policy as written: owners, territories, pools, ordered rules and
/// a mandatory fallback. Turn it into a [`Policy`](crate::Policy) with
/// [`compile`](crate::compile), or read and compile in one call with
/// [`Policy::from_json_str`](crate::Policy::from_json_str).
///
/// Keys: `name`, `version` (both required), `owners` ([`OwnerSpec`]),
/// `territories` ([`TerritorySpec`]), `pools` ([`PoolSpec`]), `rules`
/// ([`RuleSpec`]) and `fallback` ([`ActionSpec`]). See the
/// [module docs](crate::policy) for a complete example.
///
/// ```
/// use leadroute::PolicySpec;
///
/// let json = PolicySpec::from_json_str(r#"{
///   "name": "inbound", "version": "2026-11-24",
///   "owners": [{"id": "queue", "name": "Inbound queue"}],
///   "rules": [{"id": "spam", "when": {"email_kind": ["disposable"]}, "then": {"assign": "nobody"}}],
///   "fallback": {"assign": {"owner": "queue"}}
/// }"#)?;
/// let toml = PolicySpec::from_toml_str(r#"
/// name = "inbound"
/// version = "2026-11-24"
/// owners = [{ id = "queue", name = "Inbound queue" }]
///
/// [[rules]]
/// id = "spam"
/// when = { email_kind = ["disposable"] }
/// then = { assign = "nobody" }
///
/// [fallback]
/// assign = { owner = "queue" }
/// "#)?;
/// assert_eq!(json, toml);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicySpec {
    /// The JSON Schema the document points editors at (`"$schema":
    /// "./docs/policy.schema.json"`); read and written back, otherwise
    /// ignored.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Policy name, recorded in every decision.
    pub name: String,
    /// Policy version, recorded in every decision (any string: `"2026-11-24.1"`, a git sha…).
    pub version: String,
    /// The owners directory.
    #[serde(default)]
    pub owners: Vec<OwnerSpec>,
    /// Named territories.
    #[serde(default)]
    pub territories: Vec<TerritorySpec>,
    /// Named pools (teams).
    #[serde(default)]
    pub pools: Vec<PoolSpec>,
    /// Named working-hours schedules ([`ScheduleSpec`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleSpec>,
    /// Rules, evaluated in order; the first whose `when` holds wins.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// What happens when no rule matches. Required: a spec without one does
    /// not compile.
    #[serde(default)]
    pub fallback: Option<ActionSpec>,
}

impl PolicySpec {
    /// Reads a spec from JSON, reporting every structural problem at once:
    /// a syntax error (with line and column), an unknown key (with the
    /// closest valid one), a wrong type, a missing required key, a
    /// condition naming two tests… each a [`Diagnostic`](crate::policy::Diagnostic)
    /// with its path, the offending value and help.
    ///
    /// `serde_json::from_str::<PolicySpec>` reads the same format, with
    /// serde's own error.
    ///
    /// ```
    /// use leadroute::PolicySpec;
    /// use leadroute::policy::DiagnosticCode;
    ///
    /// let err = PolicySpec::from_json_str(r#"{
    ///   "name": "inbound", "version": "1",
    ///   "rules": [{"id": "us", "when": {"contry": ["US"]}, "then": {"asign": "nobody"}}]
    /// }"#).unwrap_err();
    /// let found: Vec<_> = err.errors.iter()
    ///     .map(|d| (d.code, d.path.as_str(), d.help.as_deref().unwrap_or("")))
    ///     .collect();
    /// assert_eq!(found, [
    ///     (DiagnosticCode::UnknownField, "rules[0].when.contry", "did you mean `country`?"),
    ///     (DiagnosticCode::UnknownField, "rules[0].then.asign", "did you mean `assign`?"),
    ///     (DiagnosticCode::MissingField, "rules[0].then.assign", ""),
    /// ]);
    /// ```
    pub fn from_json_str(s: &str) -> Result<Self, CompileError> {
        parse::json(s, &PolicyLimits::default())
    }

    /// [`from_json_str`](Self::from_json_str) with caller-chosen
    /// [`PolicyLimits`]: the text's size is checked before parsing, nesting
    /// and list lengths while parsing (see [`PolicyLimits`] for an example).
    pub fn from_json_str_with_limits(s: &str, limits: &PolicyLimits) -> Result<Self, CompileError> {
        parse::json(s, limits)
    }

    /// Reads a spec from TOML, with the same diagnostics as
    /// [`from_json_str`](Self::from_json_str).
    ///
    /// ```
    /// use leadroute::PolicySpec;
    /// use leadroute::policy::DiagnosticCode;
    ///
    /// let err = PolicySpec::from_toml_str(r#"
    /// name = "inbound"
    /// version = "1"
    /// [[rules]]
    /// id = "us-big"
    /// when = { country = ["US"], employees = { min = 200 } }
    /// then = { assign = "nobody" }
    /// "#).unwrap_err();
    /// assert_eq!(err.errors[0].code, DiagnosticCode::ExpectedOneKey);
    /// assert_eq!(err.errors[0].path, "rules[0].when");
    /// assert_eq!(err.errors[0].help.as_deref(), Some("use `all = [...]` to combine conditions"));
    /// ```
    #[cfg(feature = "toml")]
    pub fn from_toml_str(s: &str) -> Result<Self, CompileError> {
        parse::toml(s, &PolicyLimits::default())
    }

    /// [`from_toml_str`](Self::from_toml_str) with caller-chosen
    /// [`PolicyLimits`].
    #[cfg(feature = "toml")]
    pub fn from_toml_str_with_limits(s: &str, limits: &PolicyLimits) -> Result<Self, CompileError> {
        parse::toml(s, limits)
    }

    /// Renders the spec as pretty JSON.
    pub fn to_json_string(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Renders the spec as TOML.
    #[cfg(feature = "toml")]
    pub fn to_toml_string(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// An empty spec (no owners, rules or fallback) to fill in with the
    /// setters below; produces exactly the data a JSON or TOML file would.
    ///
    /// ```
    /// use leadroute::PolicySpec;
    /// use leadroute::policy::spec::{ActionSpec, Condition, ExperienceSpec, OwnerSpec, PoolSpec};
    ///
    /// let spec = PolicySpec::new("inbound", "1")
    ///     .owner(OwnerSpec::new("ana", "Ana"))
    ///     .owner(OwnerSpec::new("bob", "Bob"))
    ///     .pool(PoolSpec::new("sales").member("ana", 1).member("bob", 1))
    ///     .rule("existing", Condition::account_has_owner(), ActionSpec::account_owner())
    ///     .fallback(ActionSpec::pool("sales").experience(ExperienceSpec::Confirmation));
    /// let policy = leadroute::compile(&spec).unwrap();
    /// assert_eq!(policy.rule_ids().collect::<Vec<_>>(), ["existing"]);
    /// ```
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        PolicySpec {
            name: name.into(),
            version: version.into(),
            ..PolicySpec::default()
        }
    }
    /// Adds an owner.
    pub fn owner(mut self, owner: OwnerSpec) -> Self {
        self.owners.push(owner);
        self
    }
    /// Adds a territory.
    pub fn territory(mut self, territory: TerritorySpec) -> Self {
        self.territories.push(territory);
        self
    }
    /// Adds a pool.
    pub fn pool(mut self, pool: PoolSpec) -> Self {
        self.pools.push(pool);
        self
    }
    /// Adds a working-hours schedule.
    pub fn schedule(mut self, schedule: ScheduleSpec) -> Self {
        self.schedules.push(schedule);
        self
    }
    /// Appends a rule.
    pub fn rule(mut self, id: impl Into<String>, when: Condition, then: ActionSpec) -> Self {
        self.rules.push(RuleSpec::new(id, when, then));
        self
    }
    /// Sets the fallback.
    pub fn fallback(mut self, action: ActionSpec) -> Self {
        self.fallback = Some(action);
        self
    }
}

/// One person (or queue) leads can be assigned to: an entry of `owners`.
///
/// Only `id` is required; `active` defaults to `true`.
///
/// ```
/// use leadroute::policy::spec::OwnerSpec;
///
/// let json: OwnerSpec = serde_json::from_str(r#"{
///   "id": "ana", "name": "Ana Ruiz", "email": "ana@example.com", "active": true,
///   "timezone": "Europe/Madrid", "crm_ids": {"hubspot": "901"},
///   "attributes": {"languages": ["es", "en"]}
/// }"#)?;
/// let toml: OwnerSpec = toml::from_str(r#"
/// id = "ana"
/// name = "Ana Ruiz"
/// email = "ana@example.com"
/// active = true
/// timezone = "Europe/Madrid"
/// crm_ids = { hubspot = "901" }
/// attributes = { languages = ["es", "en"] }
/// "#)?;
/// assert_eq!(json, toml);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OwnerSpec {
    /// Unique id used in rules, pools and decisions.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Ids of this owner in external systems (`{"hubspot": "123", "salesforce": "005…"}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub crm_ids: BTreeMap<String, String>,
    /// Inactive owners (departed, disabled) are never assigned.
    #[serde(default = "yes")]
    pub active: bool,
    /// IANA time zone name (checked at compile time). The owner's own
    /// `out_of_office` dates are local to it when the owner has no
    /// `schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The id of the owner's working-hours schedule (`schedules`): pools
    /// that respect schedules skip the owner off shift, and SLA deadlines
    /// count the owner's working time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Dates the owner is away (`"2026-08-03..2026-08-14"` or one date),
    /// local to the owner's schedule (or `timezone`, or UTC).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub out_of_office: Vec<String>,
    /// Free-form attributes: skills, languages, …
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Value>,
}

fn yes() -> bool {
    true
}

impl OwnerSpec {
    /// An active owner with an id and a display name.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        OwnerSpec {
            id: id.into(),
            name: name.into(),
            active: true,
            ..OwnerSpec::default()
        }
    }
    /// Sets the email.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }
    /// Marks the owner inactive.
    pub fn inactive(mut self) -> Self {
        self.active = false;
        self
    }
    /// Sets the working-hours schedule (a `schedules` id).
    pub fn schedule(mut self, id: impl Into<String>) -> Self {
        self.schedule = Some(id.into());
        self
    }
    /// Adds out-of-office dates (`"2026-08-03"` or `"2026-08-03..2026-08-14"`).
    pub fn out_of_office(mut self, dates: impl Into<String>) -> Self {
        self.out_of_office.push(dates.into());
        self
    }
    /// Sets the IANA time zone.
    pub fn timezone(mut self, zone: impl Into<String>) -> Self {
        self.timezone = Some(zone.into());
        self
    }
    /// Adds an external CRM id.
    pub fn crm_id(mut self, system: impl Into<String>, id: impl Into<String>) -> Self {
        self.crm_ids.insert(system.into(), id.into());
        self
    }
}

/// A set of places: countries, regions, postal codes: a territory's
/// `exclude`, and (flattened to the territory's top level) its includes;
/// see [`TerritorySpec`].
///
/// ```
/// use leadroute::policy::spec::PlaceSetSpec;
///
/// let json: PlaceSetSpec = serde_json::from_str(r#"{
///   "countries": ["CA"], "regions": ["US-NV"],
///   "postal_codes": [{"country": "US", "prefixes": ["941"]}]
/// }"#)?;
/// let toml: PlaceSetSpec = toml::from_str(r#"
/// countries = ["CA"]
/// regions = ["US-NV"]
/// postal_codes = [{ country = "US", prefixes = ["941"] }]
/// "#)?;
/// assert_eq!(json, toml);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PlaceSetSpec {
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// ISO 3166-2 codes (`US-CA`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// Postal-code prefixes and ranges, per country.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postal_codes: Vec<PostalSpec>,
}

/// Postal codes of one country: prefixes and inclusive ranges.
///
/// A range `["94000", "94999"]` compares the first `len("94000")` characters
/// of the lead's normalized postal code; both ends must have the same length.
/// Used in a place set's `postal_codes` and by the `postal_code` condition.
///
/// ```
/// use leadroute::policy::spec::PostalSpec;
///
/// let json: PostalSpec = serde_json::from_str(
///     r#"{"country": "US", "prefixes": ["941", "100"], "ranges": [["94000", "94999"]]}"#,
/// )?;
/// let toml: PostalSpec = toml::from_str(r#"
/// country = "US"
/// prefixes = ["941", "100"]
/// ranges = [["94000", "94999"]]
/// "#)?;
/// assert_eq!(json, toml);
/// assert_eq!(json.ranges, [("94000".to_owned(), "94999".to_owned())]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PostalSpec {
    /// ISO 3166-1 alpha-2 country the codes belong to.
    pub country: String,
    /// Prefixes (`"941"` matches `94105`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefixes: Vec<String>,
    /// Inclusive ranges `[from, to]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<(String, String)>,
}

/// A named territory: the places it includes, minus the places it excludes.
///
/// A lead is in the territory when its country, region or postal code matches
/// any include and none of the excludes.
///
/// The includes ([`include`](Self::include) in Rust) are written at the
/// territory's top level, beside `id`: `countries`, `regions` and
/// `postal_codes`. The excludes go under `exclude`. There is no `include`
/// key.
///
/// ```
/// use leadroute::policy::spec::TerritorySpec;
///
/// let json: TerritorySpec = serde_json::from_str(r#"{
///   "id": "us-west",
///   "regions": ["US-CA", "US-WA", "US-OR"],
///   "postal_codes": [{"country": "US", "ranges": [["89000", "89199"]]}],
///   "exclude": {"postal_codes": [{"country": "US", "prefixes": ["941"]}]}
/// }"#)?;
/// let toml: TerritorySpec = toml::from_str(r#"
/// id = "us-west"
/// regions = ["US-CA", "US-WA", "US-OR"]
/// postal_codes = [{ country = "US", ranges = [["89000", "89199"]] }]
/// exclude = { postal_codes = [{ country = "US", prefixes = ["941"] }] }
/// "#)?;
/// assert_eq!(json, toml);
/// assert_eq!(json.include.regions, ["US-CA", "US-WA", "US-OR"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TerritorySpec {
    /// Unique id.
    pub id: String,
    /// Included places, written at the territory's top level
    /// (`countries`, `regions`, `postal_codes`), not under a key.
    #[serde(flatten)]
    pub include: PlaceSetSpec,
    /// Excluded places.
    #[serde(default, skip_serializing_if = "PlaceSetSpec::is_empty")]
    pub exclude: PlaceSetSpec,
}

impl PlaceSetSpec {
    /// Whether the set names no place at all.
    pub fn is_empty(&self) -> bool {
        self.countries.is_empty() && self.regions.is_empty() && self.postal_codes.is_empty()
    }
}

impl TerritorySpec {
    /// A territory of whole countries.
    pub fn countries<I, S>(id: impl Into<String>, countries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TerritorySpec {
            id: id.into(),
            include: PlaceSetSpec {
                countries: countries.into_iter().map(Into::into).collect(),
                ..PlaceSetSpec::default()
            },
            exclude: PlaceSetSpec::default(),
        }
    }
    /// Adds included regions.
    pub fn regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.include
            .regions
            .extend(regions.into_iter().map(Into::into));
        self
    }
    /// Adds excluded regions.
    pub fn exclude_regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exclude
            .regions
            .extend(regions.into_iter().map(Into::into));
        self
    }
}

/// A team that shares leads: an entry of `pools`.
///
/// Only `id` is required; `capacity` is a [`Capacity`] (`{"max": 20, "per":
/// "day"}`, `per` is `"day"`, `"week"` or `"month"`, local to the pool's
/// `timezone`), `fallback` a [`Target`]. The time and load keys —
/// `schedule`, `timezone`, `respect_schedules`, `distribution`
/// ([`Distribution`]), `max_open` — are described in the
/// [module docs](crate::policy#working-hours-time-zones-and-load).
///
/// ```
/// use leadroute::policy::spec::PoolSpec;
///
/// let json: PoolSpec = serde_json::from_str(r#"{
///   "id": "enterprise-us",
///   "members": [{"owner": "ana", "weight": 3}, {"owner": "bob", "capacity": {"max": 5, "per": "week"}}],
///   "capacity": {"max": 20, "per": "day"},
///   "fallback": {"owner": "inbound-queue"}
/// }"#)?;
/// let toml: PoolSpec = toml::from_str(r#"
/// id = "enterprise-us"
/// members = [{ owner = "ana", weight = 3 }, { owner = "bob", capacity = { max = 5, per = "week" } }]
/// capacity = { max = 20, per = "day" }
/// fallback = { owner = "inbound-queue" }
/// "#)?;
/// assert_eq!(json, toml);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PoolSpec {
    /// Unique id.
    pub id: String,
    /// Members, in tie-break order.
    #[serde(default)]
    pub members: Vec<MemberSpec>,
    /// A cap on leads per member per period (members may override it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Where leads go when no member is eligible. Without one, the rule's
    /// `if_unavailable` applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Target>,
    /// How the pool picks among eligible members (default round robin).
    #[serde(default, skip_serializing_if = "is_default")]
    pub distribution: Distribution,
    /// A cap on open leads per member (members may override it); needs
    /// open-lead counts in the facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open: Option<u32>,
    /// Whether members with a schedule are skipped off shift (default
    /// `true`); `false` makes the pool 24/7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respect_schedules: Option<bool>,
    /// The pool's own working hours (a `schedules` id), for members without
    /// a schedule of their own; its zone is the pool's default zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// IANA zone whose local days, weeks and months capacity periods count
    /// in (default: the pool schedule's zone, else UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl PoolSpec {
    /// An empty pool.
    pub fn new(id: impl Into<String>) -> Self {
        PoolSpec {
            id: id.into(),
            ..PoolSpec::default()
        }
    }
    /// Adds a member with a weight.
    pub fn member(mut self, owner: impl Into<String>, weight: u32) -> Self {
        self.members.push(MemberSpec {
            owner: owner.into(),
            weight,
            capacity: None,
            max_open: None,
        });
        self
    }
    /// Sets how the pool picks among eligible members.
    pub fn distribution(mut self, distribution: Distribution) -> Self {
        self.distribution = distribution;
        self
    }
    /// Sets a cap on open leads per member.
    pub fn max_open(mut self, max: u32) -> Self {
        self.max_open = Some(max);
        self
    }
    /// Makes the pool 24/7 (`false`) or skip off-shift members (`true`, the
    /// default).
    pub fn respect_schedules(mut self, respect: bool) -> Self {
        self.respect_schedules = Some(respect);
        self
    }
    /// Sets the pool's own schedule (a `schedules` id).
    pub fn schedule(mut self, id: impl Into<String>) -> Self {
        self.schedule = Some(id.into());
        self
    }
    /// Sets the zone capacity periods count local days in.
    pub fn timezone(mut self, zone: impl Into<String>) -> Self {
        self.timezone = Some(zone.into());
        self
    }
    /// Sets a per-member cap.
    pub fn capacity(mut self, max: u32, per: Period) -> Self {
        self.capacity = Some(Capacity::new(max, per));
        self
    }
    /// Sets the pool's fallback.
    pub fn fallback(mut self, target: Target) -> Self {
        self.fallback = Some(target);
        self
    }
}

/// A pool member: an entry of a pool's `members`. Only `owner` is
/// required; `weight` defaults to 1.
///
/// ```
/// use leadroute::policy::spec::MemberSpec;
///
/// let json: MemberSpec =
///     serde_json::from_str(r#"{"owner": "bob", "weight": 2, "capacity": {"max": 5, "per": "week"}}"#)?;
/// let toml: MemberSpec = toml::from_str(r#"
/// owner = "bob"
/// weight = 2
/// capacity = { max = 5, per = "week" }
/// "#)?;
/// assert_eq!(json, toml);
/// let default: MemberSpec = serde_json::from_str(r#"{"owner": "bob"}"#)?;
/// assert_eq!(default.weight, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MemberSpec {
    /// Owner id.
    pub owner: String,
    /// Relative share of leads (default 1; 0 is an error).
    #[serde(default = "one")]
    pub weight: u32,
    /// Overrides the pool's capacity for this member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Overrides the pool's cap on open leads for this member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_open: Option<u32>,
}

fn one() -> u32 {
    1
}

/// Who an assignment goes to, when it names its target directly: a pool's
/// `fallback` and `if_unavailable`'s `assign`. A one-key object,
/// `{"owner": id}` or `{"pool": id}`.
///
/// ```
/// use leadroute::policy::spec::{PoolSpec, Target};
///
/// let json: Target = serde_json::from_str(r#"{"pool": "smb"}"#)?;
/// assert_eq!(json, Target::Pool("smb".into()));
/// // TOML, as a pool's fallback:
/// let pool: PoolSpec = toml::from_str(r#"
/// id = "enterprise"
/// fallback = { pool = "smb" }
/// "#)?;
/// assert_eq!(pool.fallback, Some(json));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Target {
    /// A named owner.
    Owner(String),
    /// A pool.
    Pool(String),
}

impl RuleSpec {
    /// A rule.
    pub fn new(id: impl Into<String>, when: Condition, then: ActionSpec) -> Self {
        RuleSpec {
            id: id.into(),
            description: None,
            when,
            then,
        }
    }
    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

/// A rule: an id, a condition (`when`, a [`Condition`]) and an action
/// (`then`, an [`ActionSpec`]); `id`, `when` and `then` are required.
///
/// ```
/// use leadroute::policy::spec::RuleSpec;
///
/// let json: RuleSpec = serde_json::from_str(r#"{
///   "id": "us-enterprise", "description": "Big US companies",
///   "when": {"all": [{"country": ["US"]}, {"employees": {"min": 201}}]},
///   "then": {"assign": {"pool": "enterprise-us"}, "experience": {"book_meeting": {}}}
/// }"#)?;
/// let toml: RuleSpec = toml::from_str(r#"
/// id = "us-enterprise"
/// description = "Big US companies"
/// when = { all = [{ country = ["US"] }, { employees = { min = 201 } }] }
/// then = { assign = { pool = "enterprise-us" }, experience = { book_meeting = {} } }
/// "#)?;
/// assert_eq!(json, toml);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RuleSpec {
    /// Unique id, recorded in decisions.
    pub id: String,
    /// Free text for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When the rule applies.
    pub when: Condition,
    /// What it does.
    pub then: ActionSpec,
}

/// How a rule (or the fallback) assigns: an action's `assign`. The words
/// `"account_owner"`, `"contact_owner"` and `"nobody"`, or a one-key object
/// `{"owner": id}` / `{"pool": id}`.
///
/// ```
/// use leadroute::policy::spec::{ActionSpec, Assignee};
///
/// let json: Assignee = serde_json::from_str(r#""account_owner""#)?;
/// assert_eq!(json, Assignee::AccountOwner);
/// let json: Assignee = serde_json::from_str(r#"{"owner": "ana"}"#)?;
/// assert_eq!(json, Assignee::Owner("ana".into()));
/// // TOML, in an action:
/// let action: ActionSpec = toml::from_str(r#"assign = { owner = "ana" }"#)?;
/// assert_eq!(action.assign, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Assignee {
    /// The owner of the matched CRM account.
    AccountOwner,
    /// The owner of the existing CRM contact or lead.
    ContactOwner,
    /// A named owner.
    Owner(String),
    /// A pool, by round robin.
    Pool(String),
    /// Nobody (e.g. rejected spam).
    Nobody,
}

/// What to do when a rule's assignee cannot take the lead (inactive, missing,
/// everybody in the pool away): an action's `if_unavailable`. The words
/// `"next_rule"` (the default) and `"fallback"`, or `{"assign": target}`
/// with a [`Target`].
///
/// ```
/// use leadroute::policy::spec::{ActionSpec, IfUnavailable, Target};
///
/// let json: ActionSpec = serde_json::from_str(
///     r#"{"assign": "account_owner", "if_unavailable": {"assign": {"pool": "smb"}}}"#,
/// )?;
/// let toml: ActionSpec = toml::from_str(r#"
/// assign = "account_owner"
/// if_unavailable = { assign = { pool = "smb" } }
/// "#)?;
/// assert_eq!(json, toml);
/// assert_eq!(json.if_unavailable, IfUnavailable::Assign(Target::Pool("smb".into())));
/// let word: IfUnavailable = serde_json::from_str(r#""fallback""#)?;
/// assert_eq!(word, IfUnavailable::Fallback);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IfUnavailable {
    /// Go on to the next rule (the default).
    #[default]
    NextRule,
    /// Go straight to the policy fallback.
    Fallback,
    /// Assign to this owner or pool instead, keeping the rule's experience.
    Assign(Target),
}

/// The action of a rule (`then`) or of the fallback. Only `assign` (an
/// [`Assignee`]) is required; `experience` is an [`ExperienceSpec`],
/// `if_unavailable` an [`IfUnavailable`], `priority` one of `"low"`,
/// `"normal"`, `"high"`, `"urgent"`.
///
/// ```
/// use leadroute::policy::spec::ActionSpec;
///
/// let json: ActionSpec = serde_json::from_str(r#"{
///   "assign": {"pool": "enterprise-us"}, "experience": {"book_meeting": {"calendar": "assigned_owner"}},
///   "if_unavailable": "fallback", "tags": ["enterprise"], "priority": "high",
///   "sla_minutes": 15, "write_to_crm": true
/// }"#)?;
/// let toml: ActionSpec = toml::from_str(r#"
/// assign = { pool = "enterprise-us" }
/// experience = { book_meeting = { calendar = "assigned_owner" } }
/// if_unavailable = "fallback"
/// tags = ["enterprise"]
/// priority = "high"
/// sla_minutes = 15
/// write_to_crm = true
/// "#)?;
/// assert_eq!(json, toml);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ActionSpec {
    /// Who gets the lead.
    pub assign: Assignee,
    /// What the buyer sees next (default: a confirmation page).
    #[serde(default)]
    pub experience: ExperienceSpec,
    /// Where to go when the assignee cannot take the lead.
    #[serde(default, skip_serializing_if = "is_default")]
    pub if_unavailable: IfUnavailable,
    /// Whether an owner this action names directly — `{"owner": id}`,
    /// `"account_owner"`, `"contact_owner"` — must be available to take the
    /// lead: on shift by their `schedule` (holidays and out-of-office dates
    /// included) and not away by the caller's
    /// [`Availability`](crate::Availability) (which includes the router's
    /// reassignment away marks). When they are not, the owner counts as
    /// unavailable (`off_shift` / `away`) and `if_unavailable` applies.
    ///
    /// Default `false`: owning an account or being named by a rule is not
    /// rotation, so the owner keeps the lead off shift; the decision says so
    /// ([`RouteDecision::owner_unavailable`](crate::RouteDecision::owner_unavailable))
    /// and its SLA counts in the owner's working hours. Pools check their
    /// members themselves (`respect_schedules`); this key does not change
    /// them, nor an `if_unavailable` owner (assigned as named). On the
    /// policy fallback, an unavailable owner without an `if_unavailable`
    /// target leaves the lead unassigned, as a pool with nobody eligible
    /// does.
    #[serde(default, skip_serializing_if = "is_default")]
    pub check_availability: bool,
    /// Tags for downstream systems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Priority for downstream systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Response SLA in minutes, for downstream systems.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla_minutes: Option<u32>,
    /// Whether to write the lead to the CRM. Default: yes, except for a
    /// `reject` experience (spam is not written unless this says `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_to_crm: Option<bool>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

impl ActionSpec {
    fn assign(assign: Assignee) -> Self {
        ActionSpec {
            assign,
            experience: ExperienceSpec::default(),
            if_unavailable: IfUnavailable::default(),
            check_availability: false,
            tags: Vec::new(),
            priority: None,
            sla_minutes: None,
            write_to_crm: None,
        }
    }
    /// Assign to the matched account's owner.
    pub fn account_owner() -> Self {
        Self::assign(Assignee::AccountOwner)
    }
    /// Assign to the existing contact's owner.
    pub fn contact_owner() -> Self {
        Self::assign(Assignee::ContactOwner)
    }
    /// Assign to a named owner.
    pub fn owner(id: impl Into<String>) -> Self {
        Self::assign(Assignee::Owner(id.into()))
    }
    /// Assign through a pool.
    pub fn pool(id: impl Into<String>) -> Self {
        Self::assign(Assignee::Pool(id.into()))
    }
    /// Assign to nobody.
    pub fn nobody() -> Self {
        Self::assign(Assignee::Nobody)
    }
    /// Sets the experience.
    pub fn experience(mut self, experience: ExperienceSpec) -> Self {
        self.experience = experience;
        self
    }
    /// Sets what happens when the assignee is unavailable.
    pub fn if_unavailable(mut self, next: IfUnavailable) -> Self {
        self.if_unavailable = next;
        self
    }
    /// Makes a directly named owner (an `owner`, the account's or
    /// contact's owner) unavailable while off shift or away, so
    /// `if_unavailable` applies (see [`check_availability`](ActionSpec#structfield.check_availability)).
    pub fn check_availability(mut self, check: bool) -> Self {
        self.check_availability = check;
        self
    }
    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }
    /// Sets the priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = Some(priority);
        self
    }
    /// Sets the SLA.
    pub fn sla_minutes(mut self, minutes: u32) -> Self {
        self.sla_minutes = Some(minutes);
        self
    }
    /// Says whether to write the lead to the CRM (default: yes, except for
    /// rejections).
    pub fn write_to_crm(mut self, write: bool) -> Self {
        self.write_to_crm = Some(write);
        self
    }
}

/// The post-submit experience as written in a spec: an action's
/// `experience`.
///
/// In JSON: `"confirmation"` (the default), `"customer_success"`,
/// `"nurture"`, `"manual_review"`, `{"reject": {"reason": "disposable
/// email"}}`, `{"book_meeting": {}}` (the assigned owner's calendar) or
/// `{"book_meeting": {"calendar": {"owner": "ana"}}}` (see
/// [`CalendarSpec`]). In TOML: `experience = "nurture"`, `experience = {
/// book_meeting = { calendar = { owner = "ana" } } }`.
///
/// ```
/// use leadroute::policy::spec::{ActionSpec, CalendarSpec, ExperienceSpec};
///
/// let json: ExperienceSpec = serde_json::from_str(r#"{"book_meeting": {"calendar": {"owner": "ana"}}}"#)?;
/// assert_eq!(json, ExperienceSpec::BookMeeting { calendar: CalendarSpec::Owner("ana".into()) });
/// let action: ActionSpec = toml::from_str(r#"
/// assign = "nobody"
/// experience = { book_meeting = { calendar = { owner = "ana" } } }
/// "#)?;
/// assert_eq!(action.experience, json);
/// let word: ExperienceSpec = serde_json::from_str(r#""nurture""#)?;
/// assert_eq!(word, ExperienceSpec::Nurture);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ExperienceSpec {
    /// Offer to book a meeting now.
    BookMeeting {
        /// Whose calendar.
        #[serde(default)]
        calendar: CalendarSpec,
    },
    /// A thank-you / confirmation page.
    #[default]
    Confirmation,
    /// Route to the customer-success path.
    CustomerSuccess,
    /// Nurture (marketing follow-up).
    Nurture,
    /// Hold for manual review.
    ManualReview,
    /// Reject (spam, disposable).
    Reject {
        /// Why, for the form and the logs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl ExperienceSpec {
    /// A meeting on the assigned owner's calendar.
    pub fn book_meeting() -> Self {
        ExperienceSpec::BookMeeting {
            calendar: CalendarSpec::AssignedOwner,
        }
    }
    /// A rejection with a reason.
    pub fn reject(reason: impl Into<String>) -> Self {
        ExperienceSpec::Reject {
            reason: Some(reason.into()),
        }
    }
}

/// Whose calendar a meeting is booked on: `book_meeting`'s `calendar`. The
/// word `"assigned_owner"` (the default) or `{"owner": id}`.
///
/// ```
/// use leadroute::policy::spec::{ActionSpec, CalendarSpec, ExperienceSpec};
///
/// let json: CalendarSpec = serde_json::from_str(r#""assigned_owner""#)?;
/// assert_eq!(json, CalendarSpec::AssignedOwner);
/// let action: ActionSpec = toml::from_str(r#"
/// assign = { owner = "ana" }
/// experience = { book_meeting = { calendar = "assigned_owner" } }
/// "#)?;
/// assert_eq!(action.experience, ExperienceSpec::BookMeeting { calendar: json });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CalendarSpec {
    /// The owner the lead was assigned to.
    #[default]
    AssignedOwner,
    /// A named owner's calendar.
    Owner(String),
}

/// A condition over the lead and what the CRM knows.
///
/// Each condition is a one-key object naming what it tests. Lists mean "any
/// of". Text comparisons are case-insensitive.
///
/// | JSON | holds when |
/// |---|---|
/// | `{"all": [c, …]}` / `{"any": [c, …]}` / `{"not": c}` | all / any / not |
/// | `{"always": true}` | always (`false`: never) |
/// | `{"territory": "us-west"}` | the lead is in the named territory |
/// | `{"country": ["US", "CA"]}` | the lead's country is one of these |
/// | `{"region": ["US-CA"]}` | the lead's region is one of these |
/// | `{"postal_code": {"country": "US", "prefixes": ["94"], "ranges": [["10000", "14999"]]}}` | postal code matches |
/// | `{"employees": {"min": 201, "max": null}}` | the lead's whole employee range lies within these bounds |
/// | `{"annual_revenue": {"min": 10000000}}` | likewise for revenue |
/// | `{"product_interest": ["plg"]}` | the lead named any of these products |
/// | `{"email_kind": ["free", "disposable"]}` | email kind is one of these |
/// | `{"source": ["webinar"]}`, `{"utm_source": […]}`, … `utm_content` | equals one of these |
/// | `{"company_domain": ["acme.com"]}` | the company domain is one of these |
/// | `{"attribute": {"key": "budget", "equals": "50k"}}` | custom attribute test (`equals`, `one_of`, `exists`, `regex`) |
/// | `{"account": {"exists": true, "has_owner": true, "owner_active": true, "is_customer": true, "tier": ["enterprise"], "field": {…}}}` | CRM account facts (all given must hold) |
/// | `{"contact": {"exists": true, "has_owner": true, "owner_active": true}}` | existing CRM contact/lead facts |
/// | `{"within_schedule": "support"}` / `{"outside_schedule": "support"}` | the decision time is (not) in the named schedule's open hours |
/// | `{"day_of_week": {"days": ["sat", "sun"], "timezone": "Europe/Berlin"}}` | the decision time's local weekday is one of these ([`DayOfWeekSpec`]) |
/// | `{"account_match": {"matched": true, "matched_by": ["exact_domain"], "min_confidence": 0.9, "ambiguous": false}}` | how the lead was matched to an account (all given must hold; see [`MatchTest`]) |
/// | `{"spam": {"score_at_least": 40, "score_below": 100}}` | the submission's spam score is within these bounds ([`SpamTest`]) |
/// | `{"signal": ["honeypot", "too_fast"]}` | any of these spam signals fired ([`SignalKind`]) |
///
/// In TOML each is an inline table, usually a rule's `when`:
/// `when = { country = ["US", "CA"] }`, `when = { all = [{ country = ["US"]
/// }, { employees = { min = 201 } }] }`. One object names one test; combine
/// tests with `all`.
///
/// ```
/// use leadroute::policy::spec::{Condition, RuleSpec};
///
/// let json: Condition = serde_json::from_str(
///     r#"{"all": [{"country": ["US"]}, {"not": {"email_kind": ["free"]}}]}"#,
/// )?;
/// let rule: RuleSpec = toml::from_str(r#"
/// id = "us-business"
/// when = { all = [{ country = ["US"] }, { not = { email_kind = ["free"] } }] }
/// then = { assign = "nobody" }
/// "#)?;
/// assert_eq!(rule.when, json);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Condition {
    /// All hold (true when empty).
    All(Vec<Condition>),
    /// Any holds (false when empty).
    Any(Vec<Condition>),
    /// Does not hold.
    Not(Box<Condition>),
    /// Constant.
    Always(bool),
    /// In a named territory.
    Territory(String),
    /// Country is one of.
    Country(Vec<String>),
    /// Region is one of.
    Region(Vec<String>),
    /// Postal code matches.
    PostalCode(PostalSpec),
    /// Employee range within bounds.
    Employees(Bounds),
    /// Revenue range within bounds.
    AnnualRevenue(Bounds),
    /// Product interest includes any of.
    ProductInterest(Vec<String>),
    /// Email kind is one of.
    EmailKind(Vec<EmailKind>),
    /// Source is one of.
    Source(Vec<String>),
    /// `utm_source` is one of.
    UtmSource(Vec<String>),
    /// `utm_medium` is one of.
    UtmMedium(Vec<String>),
    /// `utm_campaign` is one of.
    UtmCampaign(Vec<String>),
    /// `utm_term` is one of.
    UtmTerm(Vec<String>),
    /// `utm_content` is one of.
    UtmContent(Vec<String>),
    /// Company domain is one of.
    CompanyDomain(Vec<String>),
    /// A custom attribute test.
    Attribute(FieldTest),
    /// CRM account facts.
    Account(RecordTest),
    /// Existing CRM contact facts.
    Contact(RecordTest),
    /// The decision time is within the named schedule's open hours.
    WithinSchedule(String),
    /// The decision time is outside the named schedule's open hours.
    OutsideSchedule(String),
    /// The decision time's local weekday is one of these.
    DayOfWeek(DayOfWeekSpec),
    /// How the lead was matched to an account.
    AccountMatch(MatchTest),
    /// The submission's spam score is within bounds. Never holds for a
    /// submission that was not screened.
    Spam(SpamTest),
    /// Any of these spam signals fired. Never holds for a submission that
    /// was not screened.
    Signal(Vec<SignalKind>),
}

impl Condition {
    /// `{"account": {"has_owner": true}}`.
    pub fn account_has_owner() -> Self {
        Condition::Account(RecordTest::default().has_owner(true))
    }
    /// `{"account": {"is_customer": true}}`.
    pub fn account_is_customer() -> Self {
        Condition::Account(RecordTest::default().is_customer(true))
    }
    /// `{"account_match": {"ambiguous": true}}`.
    pub fn account_match_ambiguous() -> Self {
        Condition::AccountMatch(MatchTest::default().ambiguous(true))
    }
    /// `{"contact": {"has_owner": true}}`.
    pub fn contact_has_owner() -> Self {
        Condition::Contact(RecordTest::default().has_owner(true))
    }
    /// `{"country": [...]}`.
    pub fn country<I, S>(codes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Condition::Country(codes.into_iter().map(Into::into).collect())
    }
    /// `{"employees": {"min": min}}`.
    pub fn employees_at_least(min: u64) -> Self {
        Condition::Employees(Bounds::at_least(min))
    }
    /// `{"product_interest": [...]}`.
    pub fn product_interest<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Condition::ProductInterest(tokens.into_iter().map(Into::into).collect())
    }
    /// `{"email_kind": [...]}`.
    pub fn email_kind<I: IntoIterator<Item = EmailKind>>(kinds: I) -> Self {
        Condition::EmailKind(kinds.into_iter().collect())
    }
    /// `{"territory": id}`.
    pub fn territory(id: impl Into<String>) -> Self {
        Condition::Territory(id.into())
    }
    /// `{"spam": {"score_at_least": score}}`.
    pub fn spam_score_at_least(score: u32) -> Self {
        Condition::Spam(SpamTest::at_least(score))
    }
    /// `{"signal": [...]}`.
    pub fn signal<I: IntoIterator<Item = SignalKind>>(kinds: I) -> Self {
        Condition::Signal(kinds.into_iter().collect())
    }
    /// `{"all": [self, other]}`.
    pub fn and(self, other: Condition) -> Self {
        match self {
            Condition::All(mut v) => {
                v.push(other);
                Condition::All(v)
            }
            c => Condition::All(vec![c, other]),
        }
    }
    /// `{"any": [self, other]}`.
    pub fn or(self, other: Condition) -> Self {
        match self {
            Condition::Any(mut v) => {
                v.push(other);
                Condition::Any(v)
            }
            c => Condition::Any(vec![c, other]),
        }
    }
    /// `{"not": self}`.
    pub fn negate(self) -> Self {
        Condition::Not(Box::new(self))
    }
}

/// Inclusive numeric bounds; `None` is unbounded. The lead's whole range must
/// lie within them: `{"min": 201}` holds for `201-500` and `1000+`, not for
/// `51-200` or `100-500`; `{"max": 50}` does not hold for `1000+`. The value
/// of the `employees` and `annual_revenue` conditions.
///
/// ```
/// use leadroute::policy::spec::Bounds;
///
/// let json: Bounds = serde_json::from_str(r#"{"min": 201, "max": 5000}"#)?;
/// let toml: Bounds = toml::from_str("min = 201\nmax = 5000")?;
/// assert_eq!(json, toml);
/// assert_eq!(json, Bounds::between(201, 5000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Bounds {
    /// Lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u64>,
    /// Upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u64>,
}

impl Bounds {
    /// `{"min": min}`.
    pub fn at_least(min: u64) -> Self {
        Bounds {
            min: Some(min),
            max: None,
        }
    }
    /// `{"max": max}`.
    pub fn at_most(max: u64) -> Self {
        Bounds {
            min: None,
            max: Some(max),
        }
    }
    /// `{"min": min, "max": max}`.
    pub fn between(min: u64, max: u64) -> Self {
        Bounds {
            min: Some(min),
            max: Some(max),
        }
    }
}

/// Bounds on a submission's spam score (the sum of its fired signals'
/// weights, see [`Signals`](crate::submission::Signals)): `score_at_least`
/// (inclusive), `score_below` (exclusive), one or both. The value of the
/// `spam` condition.
///
/// ```
/// use leadroute::policy::spec::{Condition, SpamTest};
///
/// let json: Condition = serde_json::from_str(r#"{"spam": {"score_at_least": 40, "score_below": 100}}"#)?;
/// let toml: Condition = toml::from_str("spam = { score_at_least = 40, score_below = 100 }")?;
/// assert_eq!(json, toml);
/// assert_eq!(json, Condition::Spam(SpamTest::between(40, 100)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SpamTest {
    /// The score is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_at_least: Option<u32>,
    /// The score is below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_below: Option<u32>,
}

impl SpamTest {
    /// `{"score_at_least": score}`.
    pub fn at_least(score: u32) -> Self {
        SpamTest {
            score_at_least: Some(score),
            score_below: None,
        }
    }
    /// `{"score_below": score}`.
    pub fn below(score: u32) -> Self {
        SpamTest {
            score_at_least: None,
            score_below: Some(score),
        }
    }
    /// `{"score_at_least": low, "score_below": high}`.
    pub fn between(low: u32, high: u32) -> Self {
        SpamTest {
            score_at_least: Some(low),
            score_below: Some(high),
        }
    }
}

/// A test of one key of a JSON object: the `attribute` condition (the lead's
/// custom attributes) and an account test's `field`. `key` plus exactly one
/// [`ValueTest`] key beside it: `equals`, `one_of`, `exists` or `regex`.
///
/// ```
/// use leadroute::policy::spec::{FieldTest, ValueTest};
///
/// let json: FieldTest = serde_json::from_str(r#"{"key": "industry", "one_of": ["saas", "fintech"]}"#)?;
/// let toml: FieldTest = toml::from_str(r#"
/// key = "industry"
/// one_of = ["saas", "fintech"]
/// "#)?;
/// assert_eq!(json, toml);
/// assert!(matches!(json.test, ValueTest::OneOf(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FieldTest {
    /// The key.
    pub key: String,
    /// The test.
    #[serde(flatten)]
    pub test: ValueTest,
}

/// What a [`FieldTest`] checks, written beside its `key`: `"equals": value`,
/// `"one_of": [values]`, `"exists": bool` or `"regex": pattern`.
///
/// ```
/// use leadroute::policy::spec::{FieldTest, ValueTest};
///
/// let json: FieldTest = serde_json::from_str(r#"{"key": "budget", "equals": 50}"#)?;
/// assert_eq!(json.test, ValueTest::Equals(serde_json::json!(50)));
/// let toml: FieldTest = toml::from_str(r#"
/// key = "budget"
/// equals = 50
/// "#)?;
/// assert_eq!(json, toml);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ValueTest {
    /// Equal to this JSON value (strings compare case-insensitively).
    Equals(Value),
    /// Equal to one of these.
    OneOf(Vec<Value>),
    /// Present (non-null) or absent.
    Exists(bool),
    /// A string matching this regular expression (`regex` crate syntax).
    Regex(String),
}

/// Facts about a CRM record — the matched account or the existing contact —
/// every one given must hold.
///
/// JSON: `{"account": {"exists": true, "has_owner": true, "owner_active":
/// true, "is_customer": true, "tier": ["enterprise"], "field": {"key":
/// "industry", "equals": "saas"}}}`; TOML: `when = { account = { has_owner =
/// true } }`. A contact (`{"contact": {…}}`) has `exists`, `has_owner` and
/// `owner_active`; `is_customer`, `tier` and `field` are account facts.
///
/// ```
/// use leadroute::policy::spec::RecordTest;
///
/// let json: RecordTest = serde_json::from_str(r#"{
///   "has_owner": true, "owner_active": true, "tier": ["enterprise"],
///   "field": {"key": "industry", "equals": "saas"}
/// }"#)?;
/// let toml: RecordTest = toml::from_str(r#"
/// has_owner = true
/// owner_active = true
/// tier = ["enterprise"]
/// field = { key = "industry", equals = "saas" }
/// "#)?;
/// assert_eq!(json, toml);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RecordTest {
    /// A record was found (or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// It has an owner id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_owner: Option<bool>,
    /// Its owner is an active owner in this policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_active: Option<bool>,
    /// The account is a customer (accounts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_customer: Option<bool>,
    /// The account's tier is one of these (accounts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Vec<String>>,
    /// A test on any other account field (accounts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldTest>,
}

impl RecordTest {
    /// `{"exists": b}`.
    pub fn exists(mut self, b: bool) -> Self {
        self.exists = Some(b);
        self
    }
    /// `{"has_owner": b}`.
    pub fn has_owner(mut self, b: bool) -> Self {
        self.has_owner = Some(b);
        self
    }
    /// `{"owner_active": b}`.
    pub fn owner_active(mut self, b: bool) -> Self {
        self.owner_active = Some(b);
        self
    }
    /// `{"is_customer": b}`.
    pub fn is_customer(mut self, b: bool) -> Self {
        self.is_customer = Some(b);
        self
    }
}

/// How the lead was matched to a CRM account by the router's
/// [matcher](crate::matching) — every test given must hold.
///
/// | key | holds when |
/// |---|---|
/// | `matched` | an account was (`true`) or was not (`false`) matched |
/// | `matched_by` | an account was matched by one of these [`MatchMethod`]s (`exact_domain`, `additional_domain`, `subdomain`, `contact_domain`, `cross_tld`, `name_key`, `fuzzy_name`, `acronym`) |
/// | `min_confidence` | an account was matched with at least this confidence (0 to 1) |
/// | `ambiguous` | several accounts fit equally well and none was chosen (`true`), or not (`false`) |
///
/// Without a match result in the facts (a CRM outage, a router without a
/// matcher), `matched`, `matched_by`, `min_confidence` and `ambiguous`
/// are all false.
///
/// ```
/// use leadroute::policy::spec::{Condition, MatchTest};
/// use leadroute::matching::MatchMethod;
///
/// let json: Condition = serde_json::from_str(
///     r#"{"account_match": {"matched_by": ["exact_domain", "additional_domain"], "min_confidence": 0.9}}"#,
/// )?;
/// let toml: MatchTest = toml::from_str("ambiguous = true")?;
/// assert_eq!(Condition::AccountMatch(toml), Condition::account_match_ambiguous());
/// let Condition::AccountMatch(t) = json else { unreachable!() };
/// assert_eq!(t.matched_by, Some(vec![MatchMethod::ExactDomain, MatchMethod::AdditionalDomain]));
/// assert_eq!(t.min_confidence.map(|c| c.get()), Some(0.9));
/// assert!(serde_json::from_str::<MatchTest>(r#"{"min_confidence": 1.2}"#).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct MatchTest {
    /// An account was matched (or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched: Option<bool>,
    /// It was matched by one of these methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matched_by: Option<Vec<MatchMethod>>,
    /// It was matched with at least this confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_confidence: Option<Fraction>,
    /// The match was ambiguous (or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ambiguous: Option<bool>,
}

impl MatchTest {
    /// `{"matched": b}`.
    pub fn matched(mut self, b: bool) -> Self {
        self.matched = Some(b);
        self
    }
    /// `{"matched_by": [...]}`.
    pub fn matched_by<I: IntoIterator<Item = MatchMethod>>(mut self, methods: I) -> Self {
        self.matched_by = Some(methods.into_iter().collect());
        self
    }
    /// `{"min_confidence": c}`; `None` unless `c` is between 0 and 1.
    pub fn min_confidence(mut self, c: f64) -> Option<Self> {
        self.min_confidence = Some(Fraction::new(c)?);
        Some(self)
    }
    /// `{"ambiguous": b}`.
    pub fn ambiguous(mut self, b: bool) -> Self {
        self.ambiguous = Some(b);
        self
    }
}

/// A number from 0 to 1 (a confidence). JSON and TOML: a number; anything
/// outside 0–1 does not read.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Fraction(f64);

impl Fraction {
    /// `value`, if it is between 0 and 1.
    pub fn new(value: f64) -> Option<Self> {
        (0.0..=1.0).contains(&value).then_some(Fraction(value))
    }
    /// The number.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        Fraction::new(v).ok_or_else(|| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Float(v),
                &"a number from 0 to 1",
            )
        })
    }
}
