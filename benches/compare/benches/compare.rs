//! leadroute against a hand-written baseline and zen-engine, in one run, on
//! the same decision table and the same leads.
//!
//! ```text
//! cargo bench --manifest-path benches/compare/Cargo.toml
//! ```
//!
//! - `seed/*`: the seed policy (`examples/policies/seed.json`) over the nine
//!   mixed seed leads, each benchmark evaluating all nine per iteration:
//!   leadroute with the trace on and off, the hand-written baseline, and the
//!   equivalent JDM decision table in zen-engine, compiled, with its trace off
//!   and on.
//! - `table/*`: generated tables, one lead per iteration (early, late and
//!   fallback leads): the 24-rule `ANCHORS.md` shape (country set × employee
//!   band × product) and generated territory plans of 100 and 1 000 rules.
//!
//! The JDM table is generated from the leadroute spec by [`jdm`]: one input
//! column per fact (`email_kind`, `account.*`, `country`, `region`,
//! `postal_code`, `employees_min`, `employees_max`, `product_interest`),
//! first-hit policy, outputs `rule` and `assignee`, and a last row with
//! empty inputs for the fallback. Facts a zen user computes before calling
//! the engine (the lead's fields, whether the account owner is an active
//! owner) are computed by [`zen_input`] before measuring, as leadroute's
//! leads and contexts are. zen-engine names the pool in `assignee`
//! (`pool:<id>`); leadroute and the baseline also pick the pool member.
//!
//! zen-engine's `evaluate` is async; it runs on a current-thread tokio
//! runtime through criterion's `to_async`, which times only the awaited
//! evaluations.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use leadroute::PolicySpec;
use leadroute::policy::EvalOptions;
use leadroute::policy::spec::{Assignee, Condition};
use leadroute::{Facts, Lead, Normalizer, RouteDecision, compile};
use leadroute::crm::Account;
use leadroute::decision::AssignedBy;
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use zen_engine::model::DecisionContent;
use zen_engine::{Decision, DecisionEngine, EvaluationOptions, Variable};

#[path = "../../support/policy_gen.rs"]
mod policy_gen;
#[path = "../../support/seed_baseline.rs"]
mod seed_baseline;
#[path = "../../support/seed_group.rs"]
mod seed_group;

use policy_gen::GenOptions;
use seed_baseline::{NOW_UNIX, SeedBaseline, seed_leads};

/// Output value of the fallback row's `rule` column.
const FALLBACK_ROW: &str = "(fallback)";

// ---------------------------------------------------------------------------
// The leadroute spec as a JDM decision table.

/// Input columns, in table order: (column id, field).
const COLUMNS: &[(&str, &str)] = &[
    ("email_kind", "email_kind"),
    ("account_exists", "account.exists"),
    ("account_has_owner", "account.has_owner"),
    ("account_is_customer", "account.is_customer"),
    ("account_owner_active", "account.owner_active"),
    ("country", "country"),
    ("region", "region"),
    ("postal_code", "postal_code"),
    ("employees_min", "employees_min"),
    ("employees_max", "employees_max"),
    ("product_interest", "product_interest"),
];

fn quoted(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    items
        .into_iter()
        .map(|s| format!("'{}'", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn set_cell(row: &mut serde_json::Map<String, Value>, column: &str, cell: String) {
    assert!(
        !row.contains_key(column),
        "two conditions on `{column}` in one rule"
    );
    row.insert(column.to_string(), Value::String(cell));
}

/// The cells a leadroute condition becomes.
fn cells(spec: &PolicySpec, c: &Condition, row: &mut serde_json::Map<String, Value>) {
    match c {
        Condition::All(items) => items.iter().for_each(|x| cells(spec, x, row)),
        Condition::EmailKind(kinds) => {
            set_cell(row, "email_kind", quoted(kinds.iter().map(|k| k.as_str())))
        }
        Condition::Account(t) => {
            assert!(t.owner_active.is_none() && t.tier.is_none() && t.field.is_none());
            for (column, want) in [
                ("account_exists", t.exists),
                ("account_has_owner", t.has_owner),
                ("account_is_customer", t.is_customer),
            ] {
                if let Some(b) = want {
                    set_cell(row, column, b.to_string());
                }
            }
        }
        Condition::Country(list) => set_cell(row, "country", quoted(list)),
        Condition::Region(list) => set_cell(row, "region", quoted(list)),
        Condition::Territory(id) => {
            let t = spec
                .territories
                .iter()
                .find(|t| t.id == *id)
                .expect("territory");
            assert!(t.include.countries.is_empty() && t.include.postal_codes.is_empty());
            assert!(t.exclude.is_empty());
            set_cell(row, "region", quoted(&t.include.regions));
        }
        Condition::PostalCode(p) => {
            // The generated rules also test `country: [p.country]`.
            assert!(p.ranges.is_empty());
            let tests: Vec<String> = p
                .prefixes
                .iter()
                .map(|x| format!("startsWith($, '{x}')"))
                .collect();
            set_cell(row, "postal_code", tests.join(" or "));
        }
        Condition::Employees(b) => {
            if let Some(min) = b.min {
                set_cell(row, "employees_min", format!(">= {min}"));
            }
            if let Some(max) = b.max {
                set_cell(row, "employees_max", format!("<= {max}"));
            }
        }
        Condition::ProductInterest(list) => set_cell(
            row,
            "product_interest",
            format!("some($, # in [{}])", quoted(list)),
        ),
        other => panic!("no JDM translation for {other:?}"),
    }
}

fn assignee(assign: &Assignee, row: &mut serde_json::Map<String, Value>) -> String {
    match assign {
        Assignee::Owner(o) => format!("'{o}'"),
        Assignee::Pool(p) => format!("'pool:{p}'"),
        Assignee::Nobody => "null".into(),
        Assignee::AccountOwner => {
            // leadroute moves on to the next rule when the account's owner
            // is not an active owner; in the table that is one more input.
            set_cell(row, "account_owner_active", "true".into());
            "account.owner".into()
        }
        other => panic!("no JDM translation for {other:?}"),
    }
}

/// A JDM graph (input → first-hit decision table → output) equivalent to
/// `spec`'s rules and fallback.
fn jdm(spec: &PolicySpec) -> Value {
    let mut rows: Vec<serde_json::Map<String, Value>> = Vec::new();
    for rule in &spec.rules {
        let mut row = serde_json::Map::new();
        row.insert("_id".into(), Value::String(rule.id.clone()));
        cells(spec, &rule.when, &mut row);
        let who = assignee(&rule.then.assign, &mut row);
        row.insert("rule".into(), Value::String(format!("'{}'", rule.id)));
        row.insert("assignee".into(), Value::String(who));
        rows.push(row);
    }
    let mut last = serde_json::Map::new();
    last.insert("_id".into(), Value::String("fallback".into()));
    let fallback = spec.fallback.as_ref().expect("fallback");
    let who = assignee(&fallback.assign, &mut last);
    assert!(
        !last.contains_key("account_owner_active"),
        "the fallback row has no inputs"
    );
    last.insert("rule".into(), Value::String(format!("'{FALLBACK_ROW}'")));
    last.insert("assignee".into(), Value::String(who));
    rows.push(last);

    // Only the columns some row uses.
    let inputs: Vec<Value> = COLUMNS
        .iter()
        .filter(|(id, _)| rows.iter().any(|r| r.contains_key(*id)))
        .map(|(id, field)| json!({"id": id, "name": field, "field": field}))
        .collect();
    json!({
        "nodes": [
            {"id": "request", "name": "request", "type": "inputNode", "content": {}},
            {"id": "routing", "name": "routing", "type": "decisionTableNode", "content": {
                "hitPolicy": "first",
                "inputs": inputs,
                "outputs": [
                    {"id": "rule", "name": "rule", "field": "rule"},
                    {"id": "assignee", "name": "assignee", "field": "assignee"}
                ],
                "rules": rows
            }},
            {"id": "response", "name": "response", "type": "outputNode", "content": {}}
        ],
        "edges": [
            {"id": "e1", "sourceId": "request", "targetId": "routing"},
            {"id": "e2", "sourceId": "routing", "targetId": "response"}
        ]
    })
}

/// A compiled zen-engine decision for `spec`.
fn zen_decision(spec: &PolicySpec) -> Decision {
    let content: DecisionContent = serde_json::from_value(jdm(spec)).expect("valid JDM");
    let mut decision = DecisionEngine::default()
        .create_decision(Arc::new(content))
        .expect("a graph");
    decision.compile();
    decision
}

/// The zen input for a lead and the account the caller matched.
fn zen_input(spec: &PolicySpec, lead: &Lead, account: Option<&Account>) -> Variable {
    let owner = account.and_then(|a| a.owner.as_deref());
    let owner_active = owner.is_some_and(|o| spec.owners.iter().any(|x| x.id == o && x.active));
    json!({
        "email_kind": lead.email_kind.as_str(),
        "country": lead.country.map(|c| c.to_string()),
        "region": lead.region,
        "postal_code": lead.postal_code,
        "employees_min": lead.employees.map(|r| r.min),
        "employees_max": lead.employees.and_then(|r| r.max),
        "product_interest": lead.product_interest,
        "account": {
            "exists": account.is_some(),
            "has_owner": owner.is_some(),
            "owner_active": owner_active,
            "is_customer": account.is_some_and(|a| a.is_customer),
            "owner": owner,
        },
    })
    .into()
}

async fn zen_eval(decision: &Decision, input: &Variable, trace: bool) -> Variable {
    let opts = EvaluationOptions {
        trace,
        ..EvaluationOptions::default()
    };
    decision
        .evaluate_with_opts(input.clone(), opts)
        .await
        .expect("zen evaluates")
        .result
}

/// zen's `rule` output (`None` for the fallback row) and `assignee`.
fn zen_outcome(result: &Variable) -> (Option<String>, Option<String>) {
    let v: Value = result.to_value();
    let rule = v["rule"].as_str().map(str::to_string);
    let who = v["assignee"].as_str().map(str::to_string);
    (rule.filter(|r| r != FALLBACK_ROW), who)
}

/// zen and leadroute decide the same: same rule; same named owner, pool or
/// account owner; nobody for nobody.
fn assert_agree(
    rt: &Runtime,
    decision: &Decision,
    input: &Variable,
    d: &RouteDecision,
    what: &str,
) {
    for trace in [false, true] {
        let out = rt.block_on(zen_eval(decision, input, trace));
        let (rule, who) = zen_outcome(&out);
        assert_eq!(
            rule.as_deref(),
            d.rule.as_deref(),
            "{what}: rule (trace {trace})"
        );
        let expected = match &d.assigned_by {
            AssignedBy::Pool(p) => Some(format!("pool:{p}")),
            AssignedBy::Nobody => None,
            _ => d.owner.as_deref().map(str::to_string),
        };
        assert_eq!(who, expected, "{what}: assignee (trace {trace})");
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime")
}

// ---------------------------------------------------------------------------

fn seed(c: &mut Criterion) {
    let rt = runtime();
    let spec = PolicySpec::from_json_str(seed_baseline::SEED_POLICY_JSON).expect("seed policy");
    let policy = compile(&spec).expect("compiles");
    let zen = zen_decision(&spec);
    let leads = seed_leads(&Normalizer::default());
    let contexts: Vec<Facts<'_>> = leads
        .iter()
        .map(|l| match &l.account {
            Some(a) => Facts::at_unix(NOW_UNIX).account(a),
            None => Facts::at_unix(NOW_UNIX),
        })
        .collect();
    let inputs: Vec<Variable> = leads
        .iter()
        .map(|l| zen_input(&spec, &l.lead, l.account.as_ref()))
        .collect();

    let check = SeedBaseline::new();
    for ((l, ctx), input) in leads.iter().zip(&contexts).zip(&inputs) {
        let d = policy.evaluate(&l.lead, ctx);
        assert_eq!(d.rule.as_deref(), l.rule, "{}", l.name);
        assert_eq!(check.route(&l.lead, l.account.as_ref()).rule.id(), l.rule);
        assert_agree(&rt, &zen, input, &d, l.name);
    }

    let n = leads.len();
    let mut g = c.benchmark_group("seed");
    seed_group::bench_seed(&mut g, &policy, &leads, &contexts);
    for (name, trace) in [
        ("zen_compiled_no_trace", false),
        ("zen_compiled_trace", true),
    ] {
        g.bench_function(BenchmarkId::new(name, n), |b| {
            b.to_async(&rt).iter(|| async {
                for input in &inputs {
                    black_box(zen_eval(&zen, black_box(input), trace).await);
                }
            })
        });
    }
    g.finish();
}

fn table(c: &mut Criterion) {
    let rt = runtime();
    let normalizer = Normalizer::default();
    let mut g = c.benchmark_group("table");
    let tables = [
        ("anchor", GenOptions::anchor(24)),
        ("territory", GenOptions::bench(100)),
        ("territory", GenOptions::bench(1_000)),
    ];
    for (shape, opts) in tables {
        let generated = policy_gen::policy(opts);
        let spec = &generated.spec;
        let policy = compile(spec).expect("compiles");
        let zen = zen_decision(spec);
        let cases = generated.bench_cases(&normalizer);
        let ctx = Facts::at_unix(NOW_UNIX);
        let size = spec.rules.len();
        // Beyond the timed leads: the two engines agree on random ones.
        let mut rng = policy_gen::Rng::new(size as u64);
        for i in 0..300 {
            let lead = normalizer
                .normalize(&generated.random_input(&mut rng))
                .expect("lead")
                .lead;
            let d = policy.evaluate(&lead, &ctx);
            let input = zen_input(spec, &lead, None);
            assert_agree(
                &rt,
                &zen,
                &input,
                &d,
                &format!("{shape} {size} random #{i}"),
            );
        }
        for (which, case) in [
            ("early", &cases.early),
            ("late", &cases.late),
            ("fallback", &cases.fallback),
        ] {
            let input = zen_input(spec, &case.lead, None);
            let d = policy.evaluate(&case.lead, &ctx);
            assert_eq!(d.rule.as_deref(), case.expected.rule_id.as_deref());
            assert_agree(&rt, &zen, &input, &d, &format!("{shape} {size} {which}"));

            let id = |engine: &str| BenchmarkId::new(format!("{shape}_{which}/{engine}"), size);
            g.bench_function(id("leadroute_trace_on"), |b| {
                b.iter(|| black_box(policy.evaluate(black_box(&case.lead), black_box(&ctx))))
            });
            g.bench_function(id("leadroute_trace_off"), |b| {
                b.iter(|| {
                    black_box(policy.evaluate_with(
                        black_box(&case.lead),
                        black_box(&ctx),
                        EvalOptions::without_trace(),
                    ))
                })
            });
            for (engine, trace) in [
                ("zen_compiled_no_trace", false),
                ("zen_compiled_trace", true),
            ] {
                g.bench_function(id(engine), |b| {
                    b.to_async(&rt).iter(|| async {
                        black_box(zen_eval(&zen, black_box(&input), trace).await)
                    })
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, seed, table);
criterion_main!(benches);
