//! The schema cannot drift from the serde types: every key and variant it
//! knows is the one serde knows (read from serde's own derive output), and
//! for every field and variant, the schema and serde accept and reject the
//! same probe values.

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde_json::{Value, json};

use super::*;
use crate::decision::Priority;
use crate::lead::email::EmailKind;
use crate::policy::schema::*;
use crate::policy::spec::*;
use crate::pool::roster::{Capacity, Period};
use crate::submission::signal::SignalKind;

// ------------------------------------------------- what serde's derive knows

/// What a derived `Deserialize` asked for.
#[derive(Debug, Clone, PartialEq)]
enum Asked {
    Struct(&'static [&'static str]),
    Enum(&'static [&'static str]),
    /// A map: a struct with a `#[serde(flatten)]` field.
    Map,
    Other,
}

/// What a derived `Deserialize` asked of one enum variant.
#[derive(Debug, Clone, PartialEq)]
enum VariantForm {
    Unit,
    Newtype,
    Struct(&'static [&'static str]),
    Other,
}

fn probe_error() -> serde_json::Error {
    de::Error::custom("probe")
}

/// A deserializer that records what it is asked for, then fails.
struct Ask<'a> {
    asked: &'a mut Asked,
    /// For an enum: answer with this variant and record its form.
    variant: Option<(&'static str, &'a mut VariantForm)>,
}

impl<'de> de::Deserializer<'de> for Ask<'_> {
    type Error = serde_json::Error;
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        *self.asked = Asked::Other;
        Err(probe_error())
    }
    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        *self.asked = Asked::Map;
        Err(probe_error())
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.asked = Asked::Struct(fields);
        Err(probe_error())
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.asked = Asked::Enum(variants);
        match self.variant {
            Some((name, form)) => visitor.visit_enum(AskVariant { name, form }),
            None => Err(probe_error()),
        }
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct identifier ignored_any
    }
}

struct AskVariant<'a> {
    name: &'static str,
    form: &'a mut VariantForm,
}

impl<'de, 'a> de::EnumAccess<'de> for AskVariant<'a> {
    type Error = serde_json::Error;
    type Variant = AskVariant<'a>;
    fn variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self), Self::Error> {
        let name: de::value::StrDeserializer<'_, serde_json::Error> = self.name.into_deserializer();
        Ok((seed.deserialize(name)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for AskVariant<'_> {
    type Error = serde_json::Error;
    fn unit_variant(self) -> Result<(), Self::Error> {
        *self.form = VariantForm::Unit;
        Err(probe_error())
    }
    fn newtype_variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        _: S,
    ) -> Result<S::Value, Self::Error> {
        *self.form = VariantForm::Newtype;
        Err(probe_error())
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Self::Error> {
        *self.form = VariantForm::Other;
        Err(probe_error())
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.form = VariantForm::Struct(fields);
        Err(probe_error())
    }
}

fn asked<T: DeserializeOwned>() -> Asked {
    let mut asked = Asked::Other;
    let _ = T::deserialize(Ask {
        asked: &mut asked,
        variant: None,
    });
    asked
}

fn variant_form<T: DeserializeOwned>(name: &'static str) -> VariantForm {
    let mut asked = Asked::Other;
    let mut form = VariantForm::Other;
    let _ = T::deserialize(Ask {
        asked: &mut asked,
        variant: Some((name, &mut form)),
    });
    form
}

fn sorted<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = keys.into_iter().collect();
    v.sort_unstable();
    v
}

fn assert_object<T: DeserializeOwned>(o: &ObjectShape) {
    let Asked::Struct(fields) = asked::<T>() else {
        panic!("{}: expected serde to deserialize a struct", o.what);
    };
    assert_eq!(
        sorted(o.fields.iter().map(|f| f.key)),
        sorted(fields.iter().copied()),
        "{}",
        o.what
    );
}

fn assert_choice<T: DeserializeOwned>(c: &ChoiceShape) {
    let Asked::Enum(variants) = asked::<T>() else {
        panic!("{}: expected serde to deserialize an enum", c.what);
    };
    assert_eq!(
        sorted(c.names()),
        sorted(variants.iter().copied()),
        "{}",
        c.what
    );
    for w in c.words {
        assert_eq!(variant_form::<T>(w), VariantForm::Unit, "{}: {w}", c.what);
    }
    for (k, shape) in c.keyed {
        let form = variant_form::<T>(k);
        match (shape, form) {
            (Shape::Object(o), VariantForm::Struct(fields)) => assert_eq!(
                sorted(o.fields.iter().map(|f| f.key)),
                sorted(fields.iter().copied()),
                "{}: {k}",
                c.what
            ),
            // A newtype of a struct: its fields are checked with the struct.
            (_, form) => assert_eq!(form, VariantForm::Newtype, "{}: {k}", c.what),
        }
    }
}

#[test]
fn schema_objects_have_exactly_the_serde_fields() {
    assert_object::<PolicySpec>(&POLICY_OBJ);
    assert_object::<OwnerSpec>(&OWNER_OBJ);
    assert_object::<PlaceSetSpec>(&PLACE_SET_OBJ);
    assert_object::<PostalSpec>(&POSTAL_OBJ);
    assert_object::<PoolSpec>(&POOL_OBJ);
    assert_object::<MemberSpec>(&MEMBER_OBJ);
    assert_object::<Capacity>(&CAPACITY_OBJ);
    assert_object::<RuleSpec>(&RULE_OBJ);
    assert_object::<ActionSpec>(&ACTION_OBJ);
    assert_object::<Bounds>(&BOUNDS_OBJ);
    assert_object::<RecordTest>(&RECORD_OBJ);
    assert_object::<ScheduleSpec>(&SCHEDULE_OBJ);
    assert_object::<WeeklyHoursSpec>(&WEEKLY_HOURS_OBJ);
    assert_object::<DayOfWeekSpec>(&DAY_OF_WEEK_OBJ);
    assert_object::<MatchTest>(&MATCH_TEST_OBJ);
    assert_object::<SpamTest>(&SPAM_OBJ);
}

#[test]
fn schema_choices_have_exactly_the_serde_variants() {
    assert_choice::<Period>(&PERIOD_CHOICE);
    assert_choice::<Target>(&TARGET_CHOICE);
    assert_choice::<Assignee>(&ASSIGNEE_CHOICE);
    assert_choice::<IfUnavailable>(&IF_UNAVAILABLE_CHOICE);
    assert_choice::<Priority>(&PRIORITY_CHOICE);
    assert_choice::<ExperienceSpec>(&EXPERIENCE_CHOICE);
    assert_choice::<CalendarSpec>(&CALENDAR_CHOICE);
    assert_choice::<Condition>(&CONDITION_CHOICE);
    assert_choice::<EmailKind>(&EMAIL_KIND_CHOICE);
    assert_choice::<SignalKind>(&SIGNAL_KIND_CHOICE);
    assert_choice::<ValueTest>(&VALUE_TEST_CHOICE);
    assert_choice::<Distribution>(&DISTRIBUTION_CHOICE);
    assert_choice::<Weekday>(&WEEKDAY_CHOICE);
    assert_choice::<crate::matching::MatchMethod>(&MATCH_METHOD_CHOICE);
}

#[test]
fn flattened_objects_have_the_fields_of_their_parts() {
    // TerritorySpec = id + exclude + PlaceSetSpec's fields, flattened.
    assert_eq!(asked::<TerritorySpec>(), Asked::Map);
    let Asked::Struct(places) = asked::<PlaceSetSpec>() else {
        panic!("PlaceSetSpec is a struct");
    };
    assert_eq!(
        sorted(TERRITORY_OBJ.keys()),
        sorted(["id", "exclude"].into_iter().chain(places.iter().copied()))
    );
    // FieldTest = key + one of ValueTest's variants, flattened.
    assert_eq!(asked::<FieldTest>(), Asked::Map);
    let Asked::Enum(tests) = asked::<ValueTest>() else {
        panic!("ValueTest is an enum");
    };
    assert_eq!(
        sorted(FIELD_TEST_OBJ.keys()),
        sorted(["key"].into_iter().chain(tests.iter().copied()))
    );
}

// ------------------------------------------- the same verdict on every probe

fn node(v: &Value) -> Node {
    match v {
        Value::Null => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Number(n) => Node::Num(n.clone()),
        Value::String(s) => Node::Str(s.clone()),
        Value::Array(items) => Node::List(items.iter().map(node).collect()),
        Value::Object(m) => Node::Obj(m.iter().map(|(k, v)| (k.clone(), node(v))).collect()),
    }
}

fn schema_accepts(shape: &'static Shape, v: &Value) -> bool {
    let mut sink = Sink::default();
    validate(shape, &node(v), Format::Json, &mut sink);
    !sink.has_errors()
}

/// A value of `shape` with every key given.
fn sample(shape: &Shape, depth: usize) -> Value {
    match shape {
        Shape::Text | Shape::Json => json!("x"),
        Shape::Bool => json!(true),
        Shape::Int(_) => json!(1),
        Shape::Fraction => json!(0.5),
        Shape::List(item) if depth < 4 => json!([sample(item, depth + 1)]),
        Shape::List(_) => json!([]),
        Shape::Pair(item) => json!([sample(item, depth + 1), sample(item, depth + 1)]),
        Shape::Map(item) => json!({"k": sample(item, depth + 1)}),
        Shape::Object(o) => {
            let mut m = serde_json::Map::new();
            for f in o.fields {
                m.insert(f.key.to_owned(), sample(f.shape, depth + 1));
            }
            if let Some((k, s)) = o.choice.and_then(|c| c.keyed.first()) {
                m.insert((*k).to_owned(), sample(s, depth + 1));
            }
            Value::Object(m)
        }
        Shape::Choice(c) => match (c.words.first(), c.keyed.first()) {
            (Some(w), _) => json!(w),
            (None, Some((k, s))) => json!({ *k: sample(s, depth + 1) }),
            (None, None) => Value::Null,
        },
    }
}

fn probes() -> Vec<Option<Value>> {
    vec![
        None,
        Some(json!(null)),
        Some(json!(true)),
        Some(json!(7)),
        Some(json!(-7)),
        Some(json!(1.5)),
        Some(json!("x")),
        Some(json!("day")),
        Some(json!([])),
        Some(json!(["x"])),
        Some(json!([["a", "b"]])),
        Some(json!({})),
        Some(json!({"owner": "x"})),
    ]
}

/// Whether `v` writes a struct as a list of its fields in order
/// (`["ana", "Ana"]` for an owner): serde's derive reads that form, the
/// reader deliberately does not.
fn positional(shape: &Shape, v: &Value) -> bool {
    match (shape, v) {
        (Shape::Object(_), Value::Array(_)) => true,
        (Shape::List(item) | Shape::Pair(item), Value::Array(items)) => {
            items.iter().any(|x| positional(item, x))
        }
        (Shape::Map(item), Value::Object(m)) => m.values().any(|x| positional(item, x)),
        (Shape::Object(o), Value::Object(m)) => m.iter().any(|(k, x)| {
            let field = o.field(k).map(|f| f.shape);
            let choice = o.choice.and_then(|c| c.keyed(k));
            field.or(choice).is_some_and(|s| positional(s, x))
        }),
        (Shape::Choice(c), Value::Object(m)) => m
            .iter()
            .any(|(k, x)| c.keyed(k).is_some_and(|s| positional(s, x))),
        _ => false,
    }
}

/// For the object `shape` of `T`: the full sample passes both; with each
/// key replaced by (or left out for) each probe, both agree.
fn agree_object<T: DeserializeOwned>(shape: &'static Shape) {
    let serde_accepts =
        |v: &Value| serde_json::from_value::<T>(v.clone()).is_ok() && !positional(shape, v);
    let full = sample(shape, 0);
    assert!(serde_accepts(&full), "serde rejects the sample {full}");
    assert!(schema_accepts(shape, &full), "schema rejects {full}");
    let Shape::Object(o) = shape else {
        panic!("not an object shape");
    };
    let choice_keys = o.choice.map(|c| c.keyed).unwrap_or_default();
    let keys = o
        .fields
        .iter()
        .map(|f| f.key)
        .chain(choice_keys.iter().map(|(k, _)| *k));
    for key in keys {
        for probe in probes() {
            let mut v = full.clone();
            if let Some(m) = v.as_object_mut() {
                match &probe {
                    Some(p) => m.insert(key.to_owned(), p.clone()),
                    None => m.remove(key),
                };
            }
            assert_eq!(
                schema_accepts(shape, &v),
                serde_accepts(&v),
                "{}: {key} = {probe:?}",
                o.what
            );
        }
    }
}

/// For the choice `shape` of `T`: every word and every keyed form with
/// each probe as its value get the same verdict from both.
fn agree_choice<T: DeserializeOwned>(shape: &'static Shape) {
    let serde_accepts =
        |v: &Value| serde_json::from_value::<T>(v.clone()).is_ok() && !positional(shape, v);
    let Shape::Choice(c) = shape else {
        panic!("not a choice shape");
    };
    let mut cases: Vec<Value> = c.names().map(|w| json!(w)).collect();
    cases.extend([json!("nope"), json!({}), json!(3)]);
    for (k, s) in c.keyed {
        cases.push(json!({ *k: sample(s, 0) }));
        cases.extend(probes().into_iter().flatten().map(|p| json!({ *k: p })));
    }
    for w in c.words {
        cases.push(json!({ *w: null }));
        cases.push(json!({ *w: {} }));
    }
    for v in cases {
        assert_eq!(
            schema_accepts(shape, &v),
            serde_accepts(&v),
            "{}: {v}",
            c.what
        );
    }
}

#[test]
fn schema_and_serde_agree_on_every_field() {
    agree_object::<PolicySpec>(&POLICY);
    agree_object::<OwnerSpec>(&OWNER);
    agree_object::<PlaceSetSpec>(&PLACE_SET);
    agree_object::<PostalSpec>(&POSTAL);
    agree_object::<TerritorySpec>(&TERRITORY);
    agree_object::<PoolSpec>(&POOL);
    agree_object::<MemberSpec>(&MEMBER);
    agree_object::<Capacity>(&CAPACITY);
    agree_object::<RuleSpec>(&RULE);
    agree_object::<ActionSpec>(&ACTION);
    agree_object::<Bounds>(&BOUNDS);
    agree_object::<FieldTest>(&FIELD_TEST);
    agree_object::<RecordTest>(&RECORD);
    agree_object::<ScheduleSpec>(&SCHEDULE);
    agree_object::<WeeklyHoursSpec>(&WEEKLY_HOURS);
    agree_object::<DayOfWeekSpec>(&DAY_OF_WEEK);
    agree_object::<SpamTest>(&SPAM);
}

#[test]
fn schema_and_serde_agree_on_every_variant() {
    agree_choice::<Period>(&PERIOD);
    agree_choice::<Target>(&TARGET);
    agree_choice::<Assignee>(&ASSIGNEE);
    agree_choice::<IfUnavailable>(&IF_UNAVAILABLE);
    agree_choice::<Priority>(&PRIORITY);
    agree_choice::<ExperienceSpec>(&EXPERIENCE);
    agree_choice::<CalendarSpec>(&CALENDAR);
    agree_choice::<Condition>(&CONDITION);
    agree_choice::<EmailKind>(&EMAIL_KIND);
    agree_choice::<SignalKind>(&SIGNAL_KIND);
    agree_choice::<ValueTest>(&VALUE_TEST);
    agree_choice::<Distribution>(&DISTRIBUTION);
    agree_choice::<Weekday>(&WEEKDAY);
}

#[test]
fn what_serde_writes_the_schema_reads() {
    let spec: PolicySpec = serde_json::from_value(sample(&POLICY, 0)).unwrap();
    let written = serde_json::to_value(&spec).unwrap();
    assert!(schema_accepts(&POLICY, &written), "{written}");
}

// ------------------------------------------------------------------ paths

#[test]
fn paths_quote_keys_that_are_not_plain_words() {
    let segs = [
        Seg::Key("owners"),
        Seg::Index(0),
        Seg::Key("crm_ids"),
        Seg::Key("my system"),
    ];
    assert_eq!(render_path(&segs), r#"owners[0].crm_ids["my system"]"#);
    assert_eq!(render_path::<&str>(&[]), "");
    assert_eq!(render_path(&[Seg::Index(2), Seg::Key("a")]), "[2].a");
}

#[cfg(feature = "toml")]
#[test]
fn line_and_column_count_characters() {
    assert_eq!(line_column("ab\ncé\nx", 0), (1, 1));
    assert_eq!(line_column("ab\ncé\nx", 3), (2, 1));
    assert_eq!(line_column("ab\ncé\nx", 7), (3, 1));
    assert_eq!(line_column("ab", 99), (1, 3));
}
