//! The policy format's shape in one table: every key at every place, the
//! type it takes and whether it is required.
//!
//! The reader ([`parse`](super::parse)) checks a document against it before
//! serde sees it, so every structural problem gets a path, the offending
//! value and a hint. The tests at the end check the table against the serde
//! types (every key, every variant, which keys are required and which take
//! `null`), so the two cannot drift apart.
//!
//! One deliberate difference: serde's derive also reads a struct from a list
//! of its fields in order (`["ana", "Ana"]` as an owner); the reader does
//! not, since nobody writes a policy that way on purpose.

/// What a value must look like.
#[derive(Debug)]
pub(crate) enum Shape {
    /// A string.
    Text,
    /// `true` or `false`.
    Bool,
    /// A whole number from 0 to this.
    Int(u64),
    /// A number from 0 to 1.
    Fraction,
    /// Any value.
    Json,
    /// A list of these.
    List(&'static Shape),
    /// `[a, b]`, both of this shape.
    Pair(&'static Shape),
    /// An object with free keys, values of this shape.
    Map(&'static Shape),
    /// An object with known keys.
    Object(&'static ObjectShape),
    /// One of several forms: a word, or a one-key object.
    Choice(&'static ChoiceShape),
}

/// A key of an [`ObjectShape`].
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) key: &'static str,
    pub(crate) shape: &'static Shape,
    /// Must be present.
    pub(crate) required: bool,
    /// Accepts `null` (an `Option` in the spec type).
    pub(crate) nullable: bool,
}

/// An object with known keys (a serde struct).
#[derive(Debug)]
pub(crate) struct ObjectShape {
    /// What it is, for messages: "an owner".
    pub(crate) what: &'static str,
    pub(crate) fields: &'static [Field],
    /// A choice flattened into the object: exactly one of its keys sits
    /// beside the fields (a field test's `equals` / `one_of` / …).
    pub(crate) choice: Option<&'static ChoiceShape>,
    /// Keys people write that the format spells another way, with what to
    /// write instead.
    pub(crate) hints: &'static [(&'static str, &'static str)],
}

/// A serde enum: plain words (unit variants) and one-key objects (variants
/// with data).
#[derive(Debug)]
pub(crate) struct ChoiceShape {
    /// What it is, for messages: "a condition".
    pub(crate) what: &'static str,
    /// What each key names, for messages: "test".
    pub(crate) noun: &'static str,
    /// The forms written as a word: `"account_owner"`.
    pub(crate) words: &'static [&'static str],
    /// The forms written as a one-key object: `{"owner": "ana"}`.
    pub(crate) keyed: &'static [(&'static str, &'static Shape)],
    /// Help for an object naming several keys, as JSON and as TOML.
    pub(crate) several: Option<(&'static str, &'static str)>,
}

impl ObjectShape {
    pub(crate) fn field(&self, key: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.key == key)
    }
    /// Every key the object can have, for suggestions.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &'static str> + Clone + '_ {
        let choice = self.choice.map(|c| c.keyed).unwrap_or_default();
        self.fields
            .iter()
            .map(|f| f.key)
            .chain(choice.iter().map(|(k, _)| *k))
    }
}

impl ChoiceShape {
    pub(crate) fn keyed(&self, key: &str) -> Option<&'static Shape> {
        self.keyed.iter().find(|(k, _)| *k == key).map(|(_, s)| *s)
    }
    /// Every word and key, for suggestions.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> + Clone + '_ {
        self.words
            .iter()
            .copied()
            .chain(self.keyed.iter().map(|(k, _)| *k))
    }
}

const fn req(key: &'static str, shape: &'static Shape) -> Field {
    Field {
        key,
        shape,
        required: true,
        nullable: false,
    }
}

const fn opt(key: &'static str, shape: &'static Shape) -> Field {
    Field {
        key,
        shape,
        required: false,
        nullable: false,
    }
}

/// An `Option` field: may be absent or `null`.
const fn maybe(key: &'static str, shape: &'static Shape) -> Field {
    Field {
        key,
        shape,
        required: false,
        nullable: true,
    }
}

const fn object(what: &'static str, fields: &'static [Field]) -> ObjectShape {
    ObjectShape {
        what,
        fields,
        choice: None,
        hints: &[],
    }
}

const fn words(what: &'static str, words: &'static [&'static str]) -> ChoiceShape {
    ChoiceShape {
        what,
        noun: "key",
        words,
        keyed: &[],
        several: None,
    }
}

const U32: Shape = Shape::Int(u32::MAX as u64);
const U64: Shape = Shape::Int(u64::MAX);
static TEXT: Shape = Shape::Text;
static BOOL: Shape = Shape::Bool;
static TEXTS: Shape = Shape::List(&TEXT);

/// The whole document.
pub(crate) static POLICY: Shape = Shape::Object(&POLICY_OBJ);
pub(crate) static POLICY_OBJ: ObjectShape = ObjectShape {
    what: "a policy",
    fields: &[
        req("name", &TEXT),
        req("version", &TEXT),
        opt("owners", &Shape::List(&OWNER)),
        opt("territories", &Shape::List(&TERRITORY)),
        opt("pools", &Shape::List(&POOL)),
        opt("schedules", &Shape::List(&SCHEDULE)),
        opt("rules", &Shape::List(&RULE)),
        maybe("fallback", &ACTION),
        // `PolicySpec::schema`: where editors find the JSON Schema.
        maybe("$schema", &TEXT),
    ],
    choice: None,
    hints: &[],
};

pub(crate) static OWNER: Shape = Shape::Object(&OWNER_OBJ);
pub(crate) static OWNER_OBJ: ObjectShape = object(
    "an owner",
    &[
        req("id", &TEXT),
        opt("name", &TEXT),
        maybe("email", &TEXT),
        opt("crm_ids", &Shape::Map(&TEXT)),
        opt("active", &BOOL),
        maybe("timezone", &TEXT),
        maybe("schedule", &TEXT),
        opt("out_of_office", &TEXTS),
        opt("attributes", &Shape::Map(&Shape::Json)),
    ],
);

pub(crate) static PLACE_SET: Shape = Shape::Object(&PLACE_SET_OBJ);
pub(crate) static PLACE_SET_OBJ: ObjectShape = object(
    "a set of places",
    &[
        opt("countries", &TEXTS),
        opt("regions", &TEXTS),
        opt("postal_codes", &POSTALS),
    ],
);
static POSTALS: Shape = Shape::List(&POSTAL);

pub(crate) static POSTAL: Shape = Shape::Object(&POSTAL_OBJ);
pub(crate) static POSTAL_OBJ: ObjectShape = object(
    "a postal-code set",
    &[
        req("country", &TEXT),
        opt("prefixes", &TEXTS),
        opt("ranges", &Shape::List(&Shape::Pair(&TEXT))),
    ],
);

const INCLUDE_HINT: &str = "a territory's includes are written at its top level: \
    `countries`, `regions` and `postal_codes`; excludes go under `exclude`";

pub(crate) static TERRITORY: Shape = Shape::Object(&TERRITORY_OBJ);
pub(crate) static TERRITORY_OBJ: ObjectShape = ObjectShape {
    what: "a territory",
    fields: &[
        req("id", &TEXT),
        // `TerritorySpec::include`, flattened: the keys of `PLACE_SET_OBJ`.
        opt("countries", &TEXTS),
        opt("regions", &TEXTS),
        opt("postal_codes", &POSTALS),
        opt("exclude", &PLACE_SET),
    ],
    choice: None,
    hints: &[
        ("include", INCLUDE_HINT),
        ("includes", INCLUDE_HINT),
        ("excludes", "excludes go under `exclude`"),
        (
            "country",
            "a territory lists `countries` (a list of ISO codes)",
        ),
    ],
};

pub(crate) static POOL: Shape = Shape::Object(&POOL_OBJ);
pub(crate) static POOL_OBJ: ObjectShape = object(
    "a pool",
    &[
        req("id", &TEXT),
        opt("members", &Shape::List(&MEMBER)),
        maybe("capacity", &CAPACITY),
        maybe("fallback", &TARGET),
        opt("distribution", &DISTRIBUTION),
        maybe("max_open", &U32),
        maybe("respect_schedules", &BOOL),
        maybe("schedule", &TEXT),
        maybe("timezone", &TEXT),
    ],
);

pub(crate) static DISTRIBUTION: Shape = Shape::Choice(&DISTRIBUTION_CHOICE);
pub(crate) static DISTRIBUTION_CHOICE: ChoiceShape =
    words("a distribution", &["round_robin", "least_loaded"]);

pub(crate) static SCHEDULE: Shape = Shape::Object(&SCHEDULE_OBJ);
pub(crate) static SCHEDULE_OBJ: ObjectShape = ObjectShape {
    what: "a schedule",
    fields: &[
        req("id", &TEXT),
        req("timezone", &TEXT),
        opt("hours", &WEEKLY_HOURS),
        opt("holidays", &TEXTS),
    ],
    choice: None,
    hints: &[
        ("time_zone", "the key is `timezone`"),
        ("tz", "the key is `timezone`"),
        (
            "blocks",
            "blocks go under `hours`, by day: `mon`, …, `sun` or `weekdays`",
        ),
    ],
};

pub(crate) static WEEKLY_HOURS: Shape = Shape::Object(&WEEKLY_HOURS_OBJ);
pub(crate) static WEEKLY_HOURS_OBJ: ObjectShape = ObjectShape {
    what: "weekly hours",
    fields: &[
        opt("weekdays", &TEXTS),
        opt("mon", &TEXTS),
        opt("tue", &TEXTS),
        opt("wed", &TEXTS),
        opt("thu", &TEXTS),
        opt("fri", &TEXTS),
        opt("sat", &TEXTS),
        opt("sun", &TEXTS),
    ],
    choice: None,
    hints: &[
        ("monday", "days are written `mon`, `tue`, …, `sun`"),
        ("tuesday", "days are written `mon`, `tue`, …, `sun`"),
        ("wednesday", "days are written `mon`, `tue`, …, `sun`"),
        ("thursday", "days are written `mon`, `tue`, …, `sun`"),
        ("friday", "days are written `mon`, `tue`, …, `sun`"),
        ("saturday", "days are written `mon`, `tue`, …, `sun`"),
        ("sunday", "days are written `mon`, `tue`, …, `sun`"),
    ],
};

pub(crate) static WEEKDAY: Shape = Shape::Choice(&WEEKDAY_CHOICE);
pub(crate) static WEEKDAY_CHOICE: ChoiceShape = words(
    "a day of the week",
    &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
);

pub(crate) static DAY_OF_WEEK: Shape = Shape::Object(&DAY_OF_WEEK_OBJ);
pub(crate) static DAY_OF_WEEK_OBJ: ObjectShape = object(
    "a `day_of_week` test",
    &[
        req("days", &Shape::List(&WEEKDAY)),
        maybe("timezone", &TEXT),
    ],
);

pub(crate) static MEMBER: Shape = Shape::Object(&MEMBER_OBJ);
pub(crate) static MEMBER_OBJ: ObjectShape = object(
    "a pool member",
    &[
        req("owner", &TEXT),
        opt("weight", &U32),
        maybe("capacity", &CAPACITY),
        maybe("max_open", &U32),
    ],
);

pub(crate) static CAPACITY: Shape = Shape::Object(&CAPACITY_OBJ);
pub(crate) static CAPACITY_OBJ: ObjectShape =
    object("a capacity", &[req("max", &U32), req("per", &PERIOD)]);

pub(crate) static PERIOD: Shape = Shape::Choice(&PERIOD_CHOICE);
pub(crate) static PERIOD_CHOICE: ChoiceShape = words("a period", &["day", "week", "month"]);

pub(crate) static TARGET: Shape = Shape::Choice(&TARGET_CHOICE);
pub(crate) static TARGET_CHOICE: ChoiceShape = ChoiceShape {
    what: "a target",
    noun: "target",
    words: &[],
    keyed: &[("owner", &TEXT), ("pool", &TEXT)],
    several: None,
};

pub(crate) static RULE: Shape = Shape::Object(&RULE_OBJ);
pub(crate) static RULE_OBJ: ObjectShape = ObjectShape {
    what: "a rule",
    fields: &[
        req("id", &TEXT),
        maybe("description", &TEXT),
        req("when", &CONDITION),
        req("then", &ACTION),
    ],
    choice: None,
    hints: &[
        ("condition", "a rule's condition goes under `when`"),
        ("if", "a rule's condition goes under `when`"),
        ("action", "a rule's action goes under `then`"),
        ("do", "a rule's action goes under `then`"),
    ],
};

pub(crate) static ACTION: Shape = Shape::Object(&ACTION_OBJ);
pub(crate) static ACTION_OBJ: ObjectShape = object(
    "an action",
    &[
        req("assign", &ASSIGNEE),
        opt("experience", &EXPERIENCE),
        opt("if_unavailable", &IF_UNAVAILABLE),
        opt("check_availability", &BOOL),
        opt("tags", &TEXTS),
        maybe("priority", &PRIORITY),
        maybe("sla_minutes", &U32),
        maybe("write_to_crm", &BOOL),
    ],
);

pub(crate) static ASSIGNEE: Shape = Shape::Choice(&ASSIGNEE_CHOICE);
pub(crate) static ASSIGNEE_CHOICE: ChoiceShape = ChoiceShape {
    what: "an assignee",
    noun: "target",
    words: &["account_owner", "contact_owner", "nobody"],
    keyed: &[("owner", &TEXT), ("pool", &TEXT)],
    several: None,
};

pub(crate) static IF_UNAVAILABLE: Shape = Shape::Choice(&IF_UNAVAILABLE_CHOICE);
pub(crate) static IF_UNAVAILABLE_CHOICE: ChoiceShape = ChoiceShape {
    what: "an `if_unavailable`",
    noun: "key",
    words: &["next_rule", "fallback"],
    keyed: &[("assign", &TARGET)],
    several: None,
};

pub(crate) static PRIORITY: Shape = Shape::Choice(&PRIORITY_CHOICE);
pub(crate) static PRIORITY_CHOICE: ChoiceShape =
    words("a priority", &["low", "normal", "high", "urgent"]);

pub(crate) static EXPERIENCE: Shape = Shape::Choice(&EXPERIENCE_CHOICE);
pub(crate) static EXPERIENCE_CHOICE: ChoiceShape = ChoiceShape {
    what: "an experience",
    noun: "experience",
    words: &[
        "confirmation",
        "customer_success",
        "nurture",
        "manual_review",
    ],
    keyed: &[("book_meeting", &BOOK_MEETING), ("reject", &REJECT)],
    several: None,
};

pub(crate) static BOOK_MEETING: Shape = Shape::Object(&BOOK_MEETING_OBJ);
pub(crate) static BOOK_MEETING_OBJ: ObjectShape =
    object("a `book_meeting`", &[opt("calendar", &CALENDAR)]);

pub(crate) static REJECT: Shape = Shape::Object(&REJECT_OBJ);
pub(crate) static REJECT_OBJ: ObjectShape = object("a `reject`", &[maybe("reason", &TEXT)]);

pub(crate) static CALENDAR: Shape = Shape::Choice(&CALENDAR_CHOICE);
pub(crate) static CALENDAR_CHOICE: ChoiceShape = ChoiceShape {
    what: "a calendar",
    noun: "calendar",
    words: &["assigned_owner"],
    keyed: &[("owner", &TEXT)],
    several: None,
};

pub(crate) static CONDITION: Shape = Shape::Choice(&CONDITION_CHOICE);
pub(crate) static CONDITION_CHOICE: ChoiceShape = ChoiceShape {
    what: "a condition",
    noun: "test",
    words: &[],
    keyed: &[
        ("all", &CONDITIONS),
        ("any", &CONDITIONS),
        ("not", &CONDITION),
        ("always", &BOOL),
        ("territory", &TEXT),
        ("country", &TEXTS),
        ("region", &TEXTS),
        ("postal_code", &POSTAL),
        ("employees", &BOUNDS),
        ("annual_revenue", &BOUNDS),
        ("product_interest", &TEXTS),
        ("email_kind", &EMAIL_KINDS),
        ("source", &TEXTS),
        ("utm_source", &TEXTS),
        ("utm_medium", &TEXTS),
        ("utm_campaign", &TEXTS),
        ("utm_term", &TEXTS),
        ("utm_content", &TEXTS),
        ("company_domain", &TEXTS),
        ("attribute", &FIELD_TEST),
        ("account", &RECORD),
        ("contact", &RECORD),
        ("within_schedule", &TEXT),
        ("outside_schedule", &TEXT),
        ("day_of_week", &DAY_OF_WEEK),
        ("account_match", &MATCH_TEST),
        ("spam", &SPAM),
        ("signal", &SIGNAL_KINDS),
    ],
    several: Some((
        "use `\"all\": [...]` to combine conditions",
        "use `all = [...]` to combine conditions",
    )),
};
static CONDITIONS: Shape = Shape::List(&CONDITION);

pub(crate) static EMAIL_KIND: Shape = Shape::Choice(&EMAIL_KIND_CHOICE);
pub(crate) static EMAIL_KIND_CHOICE: ChoiceShape =
    words("an email kind", &["business", "free", "disposable"]);
static EMAIL_KINDS: Shape = Shape::List(&EMAIL_KIND);

pub(crate) static SIGNAL_KIND: Shape = Shape::Choice(&SIGNAL_KIND_CHOICE);
pub(crate) static SIGNAL_KIND_CHOICE: ChoiceShape = words(
    "a spam signal",
    &[
        "honeypot",
        "too_fast",
        "link_stuffed",
        "script_like",
        "placeholder_name",
        "keyboard_mash",
        "company_is_email_or_url",
        "disposable_email",
        "known_bad_domain",
        "repeated_submission",
        "unverified",
        "verification_failed",
        "verification_unavailable",
    ],
);
static SIGNAL_KINDS: Shape = Shape::List(&SIGNAL_KIND);

pub(crate) static SPAM: Shape = Shape::Object(&SPAM_OBJ);
pub(crate) static SPAM_OBJ: ObjectShape = object(
    "a spam test",
    &[maybe("score_at_least", &U32), maybe("score_below", &U32)],
);

pub(crate) static BOUNDS: Shape = Shape::Object(&BOUNDS_OBJ);
pub(crate) static BOUNDS_OBJ: ObjectShape =
    object("bounds", &[maybe("min", &U64), maybe("max", &U64)]);

pub(crate) static FIELD_TEST: Shape = Shape::Object(&FIELD_TEST_OBJ);
pub(crate) static FIELD_TEST_OBJ: ObjectShape = ObjectShape {
    what: "a field test",
    fields: &[req("key", &TEXT)],
    // `FieldTest::test`, flattened.
    choice: Some(&VALUE_TEST_CHOICE),
    hints: &[],
};

#[cfg(test)]
pub(crate) static VALUE_TEST: Shape = Shape::Choice(&VALUE_TEST_CHOICE);
pub(crate) static VALUE_TEST_CHOICE: ChoiceShape = ChoiceShape {
    what: "a field test",
    noun: "test",
    words: &[],
    keyed: &[
        ("equals", &Shape::Json),
        ("one_of", &Shape::List(&Shape::Json)),
        ("exists", &BOOL),
        ("regex", &TEXT),
    ],
    several: None,
};

pub(crate) static RECORD: Shape = Shape::Object(&RECORD_OBJ);
pub(crate) static RECORD_OBJ: ObjectShape = object(
    "a record test",
    &[
        maybe("exists", &BOOL),
        maybe("has_owner", &BOOL),
        maybe("owner_active", &BOOL),
        maybe("is_customer", &BOOL),
        maybe("tier", &TEXTS),
        maybe("field", &FIELD_TEST),
    ],
);

pub(crate) static MATCH_TEST: Shape = Shape::Object(&MATCH_TEST_OBJ);
pub(crate) static MATCH_TEST_OBJ: ObjectShape = object(
    "an account match test",
    &[
        maybe("matched", &BOOL),
        maybe("matched_by", &MATCH_METHODS),
        maybe("min_confidence", &Shape::Fraction),
        maybe("ambiguous", &BOOL),
    ],
);

pub(crate) static MATCH_METHOD: Shape = Shape::Choice(&MATCH_METHOD_CHOICE);
pub(crate) static MATCH_METHOD_CHOICE: ChoiceShape = words(
    "a match method",
    &[
        "exact_domain",
        "additional_domain",
        "subdomain",
        "contact_domain",
        "cross_tld",
        "name_key",
        "fuzzy_name",
        "acronym",
    ],
);
static MATCH_METHODS: Shape = Shape::List(&MATCH_METHOD);

/// The shapes rendered once under `$defs` and referred to with `$ref`:
/// the recursive condition and the shapes the table shares.
static DEFS: &[(&str, &Shape)] = &[
    ("condition", &CONDITION),
    ("action", &ACTION),
    ("target", &TARGET),
    ("capacity", &CAPACITY),
    ("postal_code_set", &POSTAL),
    ("place_set", &PLACE_SET),
    ("bounds", &BOUNDS),
    ("field_test", &FIELD_TEST),
    ("record_test", &RECORD),
];

/// The JSON Schema (draft 2020-12) of the policy format, rendered from the
/// table the reader checks documents against, so the two always agree.
///
/// Editors use it to validate and autocomplete policies, in JSON and (with
/// taplo) in TOML; the repository commits it as `docs/policy.schema.json`,
/// which `leadroute schema` prints. Objects keep their keys sorted, so
/// `serde_json::to_string_pretty` gives a stable text.
///
/// ```
/// let schema = leadroute::policy::json_schema();
/// assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
/// assert_eq!(schema["required"], serde_json::json!(["name", "version"]));
/// assert!(schema["$defs"]["condition"]["oneOf"].is_array());
/// ```
pub fn json_schema() -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut defs = Map::new();
    for (name, shape) in DEFS {
        defs.insert((*name).to_owned(), render(shape, Some(shape)));
    }
    let mut root = render(&POLICY, None);
    if let Value::Object(map) = &mut root {
        map.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        map.insert("title".into(), json!("leadroute routing policy"));
        map.insert(
            "description".into(),
            json!(
                "A leadroute routing policy (JSON or TOML): owners, territories, pools, \
                 ordered rules (first match wins) and a fallback."
            ),
        );
        map.insert("$defs".into(), Value::Object(defs));
    }
    sorted(root)
}

/// Rebuilds every object with its keys in order, whatever map serde_json
/// was built with.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// One shape's schema; `defining` is the `$defs` entry being written (it is
/// rendered in full, every other shared shape as a `$ref`).
fn render(shape: &'static Shape, defining: Option<&'static Shape>) -> serde_json::Value {
    use serde_json::{Value, json};
    let shared = DEFS
        .iter()
        .find(|(_, s)| std::ptr::eq(*s, shape))
        .filter(|_| !defining.is_some_and(|d| std::ptr::eq(d, shape)));
    if let Some((name, _)) = shared {
        return json!({ "$ref": format!("#/$defs/{name}") });
    }
    match shape {
        Shape::Text => json!({"type": "string"}),
        Shape::Bool => json!({"type": "boolean"}),
        Shape::Int(max) => json!({"type": "integer", "minimum": 0, "maximum": max}),
        Shape::Fraction => json!({"type": "number", "minimum": 0, "maximum": 1}),
        Shape::Json => json!({}),
        Shape::List(item) => json!({"type": "array", "items": render(item, None)}),
        Shape::Pair(item) => {
            let item = render(item, None);
            json!({"type": "array", "prefixItems": [item, item], "minItems": 2, "maxItems": 2})
        }
        Shape::Map(value) => json!({"type": "object", "additionalProperties": render(value, None)}),
        Shape::Object(obj) => render_object(obj),
        Shape::Choice(choice) => {
            let mut forms = Vec::new();
            match choice.words {
                [] => {}
                [word] => forms.push(json!({"type": "string", "const": word})),
                words => forms.push(json!({"type": "string", "enum": words})),
            }
            for (key, shape) in choice.keyed {
                forms.push(json!({
                    "type": "object",
                    "properties": { *key: render(shape, None) },
                    "required": [key],
                    "additionalProperties": false,
                }));
            }
            json!({"description": capitalized(choice.what), "oneOf": Value::Array(forms)})
        }
    }
}

fn render_object(obj: &'static ObjectShape) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in obj.fields {
        let schema = render(field.shape, None);
        let schema = if field.nullable {
            nullable(schema)
        } else {
            schema
        };
        properties.insert(field.key.to_owned(), schema);
        if field.required {
            required.push(json!(field.key));
        }
    }
    let mut out = Map::new();
    out.insert("type".into(), json!("object"));
    out.insert("description".into(), json!(capitalized(obj.what)));
    if let Some(choice) = obj.choice {
        // Exactly one of the flattened choice's keys sits beside the fields.
        let mut one_of = Vec::new();
        for (key, shape) in choice.keyed {
            properties.insert((*key).to_owned(), render(shape, None));
            one_of.push(json!({ "required": [key] }));
        }
        out.insert("oneOf".into(), Value::Array(one_of));
    }
    out.insert("properties".into(), Value::Object(properties));
    if !required.is_empty() {
        out.insert("required".into(), Value::Array(required));
    }
    out.insert("additionalProperties".into(), json!(false));
    Value::Object(out)
}

/// A schema that also takes `null`.
fn nullable(schema: serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    let simple = schema.as_object().is_some_and(|m| {
        m.get("type").is_some_and(Value::is_string)
            && !m.contains_key("enum")
            && !m.contains_key("const")
            && !m.contains_key("oneOf")
    });
    match schema {
        Value::Object(mut map) if simple => {
            let ty = map.remove("type").unwrap_or(Value::Null);
            map.insert("type".into(), json!([ty, "null"]));
            Value::Object(map)
        }
        other => json!({"oneOf": [other, {"type": "null"}]}),
    }
}

/// "an owner" → "An owner."
fn capitalized(what: &str) -> String {
    let mut chars = what.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
