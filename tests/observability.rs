//! The `tracing` and `metrics` features: the spans and fields of a route,
//! `TracingSink`, and the counters and histograms — captured by a tiny
//! subscriber and recorder written here (no extra dependencies).
#![cfg(all(feature = "tracing", feature = "metrics"))]

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use leadroute::crm::CrmError;
use leadroute::events::TracingSink;
use leadroute::outbox::InMemoryOutbox;
use leadroute::policy::spec::{ActionSpec, Condition, OwnerSpec};
use leadroute::testing::{InMemoryCrm, ManualClock, Method, RecordingSink};
use leadroute::{Clock, LeadInput, LeadRouter, PolicySpec, compile};
use pollster::block_on;

// ---- a capturing tracing subscriber --------------------------------------

#[derive(Debug, Clone, Default)]
struct SpanRec {
    name: &'static str,
    parent: Option<u64>,
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct EventRec {
    target: String,
    level: tracing::Level,
    span: Option<u64>,
    fields: BTreeMap<String, String>,
}

#[derive(Default)]
struct Capture {
    spans: Mutex<BTreeMap<u64, SpanRec>>,
    events: Mutex<Vec<EventRec>>,
    stack: Mutex<Vec<u64>>,
    next: AtomicU64,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

#[derive(Clone, Default)]
struct Shared(Arc<Capture>);

impl tracing::Subscriber for Shared {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let id = self.0.next.fetch_add(1, Ordering::Relaxed) + 1;
        let parent = match attrs.parent() {
            Some(p) => Some(p.into_u64()),
            None if attrs.is_contextual() => self.0.stack.lock().unwrap().last().copied(),
            None => None,
        };
        let mut rec = SpanRec {
            name: attrs.metadata().name(),
            parent,
            fields: BTreeMap::new(),
        };
        attrs.record(&mut Fields(&mut rec.fields));
        self.0.spans.lock().unwrap().insert(id, rec);
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, span: &tracing::span::Id, values: &tracing::span::Record<'_>) {
        if let Some(rec) = self.0.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut rec.fields));
        }
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.events.lock().unwrap().push(EventRec {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            span: self.0.stack.lock().unwrap().last().copied(),
            fields,
        });
    }
    fn enter(&self, span: &tracing::span::Id) {
        self.0.stack.lock().unwrap().push(span.into_u64());
    }
    fn exit(&self, _: &tracing::span::Id) {
        self.0.stack.lock().unwrap().pop();
    }
}

// ---- a capturing metrics recorder ----------------------------------------

#[derive(Default)]
struct Counter(AtomicU64);
impl metrics::CounterFn for Counter {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Histogram(Mutex<Vec<f64>>);
impl metrics::HistogramFn for Histogram {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

struct NoGauge;
impl metrics::GaugeFn for NoGauge {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, _: f64) {}
}

#[derive(Default)]
struct Recorder {
    counters: Mutex<BTreeMap<String, Arc<Counter>>>,
    histograms: Mutex<BTreeMap<String, Arc<Histogram>>>,
}

fn key_name(key: &metrics::Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    if labels.is_empty() {
        key.name().to_owned()
    } else {
        format!("{}{{{}}}", key.name(), labels.join(","))
    }
}

impl metrics::Recorder for Recorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let c = self
            .counters
            .lock()
            .unwrap()
            .entry(key_name(key))
            .or_default()
            .clone();
        metrics::Counter::from_arc(c)
    }
    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::from_arc(Arc::new(NoGauge))
    }
    fn register_histogram(
        &self,
        key: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        let h = self
            .histograms
            .lock()
            .unwrap()
            .entry(key_name(key))
            .or_default()
            .clone();
        metrics::Histogram::from_arc(h)
    }
}

impl Recorder {
    fn counter(&self, key: &str) -> u64 {
        self.counters
            .lock()
            .unwrap()
            .get(key)
            .map_or(0, |c| c.0.load(Ordering::Relaxed))
    }
    fn samples(&self, key: &str) -> Vec<f64> {
        self.histograms
            .lock()
            .unwrap()
            .get(key)
            .map(|h| h.0.lock().unwrap().clone())
            .unwrap_or_default()
    }
}

// ---- the router under test -----------------------------------------------

/// A clock that moves 1 ms every time it is read: each stage takes a
/// known, non-zero time.
struct TickingClock(ManualClock);

impl Clock for TickingClock {
    fn now(&self) -> SystemTime {
        let t = self.0.now();
        self.0.advance(Duration::from_millis(1));
        t
    }
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send {
        self.0.sleep(d)
    }
}

fn policy() -> leadroute::Policy {
    let spec = PolicySpec::new("observed", "7")
        .owner(OwnerSpec::new("ana", "Ana"))
        .owner(OwnerSpec::new("queue", "Queue"))
        .rule("uk", Condition::country(["GB"]), ActionSpec::owner("ana"))
        .fallback(ActionSpec::owner("queue"));
    compile(&spec).unwrap()
}

fn lead(i: usize, country: &str) -> LeadInput {
    let mut input = LeadInput::from_email(format!("b{i}@c{i}.com"));
    input.lead_id = Some(format!("lead-{i}"));
    input.country = Some(country.into());
    input
}

#[test]
fn a_route_is_one_span_with_a_child_per_stage_and_its_events_inside() {
    let capture = Shared::default();
    let router = LeadRouter::new(
        policy(),
        InMemoryCrm::new(),
        TracingSink::wrapping(RecordingSink::new()),
    )
    .with_clock(TickingClock(ManualClock::at_unix(1_700_000_000)));
    let routed = tracing::subscriber::with_default(capture.clone(), || {
        block_on(router.route(lead(1, "United Kingdom"))).unwrap()
    });
    assert!(routed.write.receipt().is_some());
    let spans = capture.0.spans.lock().unwrap().clone();
    let (route_id, route) = spans
        .iter()
        .find(|(_, s)| s.name == "route")
        .map(|(id, s)| (*id, s.clone()))
        .expect("a route span");
    let f = |k: &str| route.fields.get(k).cloned().unwrap_or_default();
    assert_eq!(f("lead_id"), "lead-1");
    assert_eq!(f("policy_version"), "7");
    assert_eq!(f("rule"), "uk");
    assert_eq!(f("owner"), "ana");
    assert_eq!(f("experience"), "confirmation");
    assert_eq!(f("fallback"), "false");
    assert_eq!(f("account_lookup"), "not_found");
    assert_eq!(f("person_lookup"), "not_found");
    assert_eq!(f("write"), "written");
    let total: u64 = f("duration_us").parse().unwrap();
    assert_eq!(Duration::from_micros(total), routed.timings.total);

    let children: Vec<&SpanRec> = spans
        .values()
        .filter(|s| s.parent == Some(route_id))
        .collect();
    let names: Vec<&str> = children.iter().map(|s| s.name).collect();
    assert_eq!(names, ["normalize", "lookups", "decide", "write"]);
    let dur = |s: &SpanRec| -> u64 { s.fields["duration_us"].parse().unwrap() };
    let sum: u64 = children.iter().map(|s| dur(s)).sum();
    assert_eq!(sum, total, "the stages partition the route");
    assert!(children.iter().all(|s| dur(s) > 0));
    assert_eq!(children[0].fields["valid"], "true");
    assert_eq!(children[1].fields["account_lookup"], "not_found");
    assert_eq!(children[2].fields["rule"], "uk");
    assert_eq!(children[2].fields["pool_store_failed"], "false");
    assert_eq!(children[3].fields["write"], "written");

    // TracingSink: every funnel event as a tracing event, inside the route.
    let events = capture.0.events.lock().unwrap().clone();
    let funnel: Vec<&EventRec> = events
        .iter()
        .filter(|e| e.target == "leadroute::events")
        .collect();
    let names: Vec<&str> = funnel.iter().map(|e| e.fields["event"].as_str()).collect();
    assert_eq!(names, router.events().inner().names());
    let in_route = |e: &EventRec| {
        let mut at = e.span;
        while let Some(id) = at {
            if id == route_id {
                return true;
            }
            at = spans.get(&id).and_then(|s| s.parent);
        }
        false
    };
    assert!(funnel.iter().all(|e| in_route(e)), "{funnel:?}");
    let assigned = funnel
        .iter()
        .find(|e| e.fields["event"] == "owner_assigned")
        .unwrap();
    assert_eq!(assigned.level, tracing::Level::INFO);
    assert_eq!(assigned.fields["lead_id"], "lead-1");
    let details: serde_json::Value = serde_json::from_str(&assigned.fields["details"]).unwrap();
    assert_eq!(details["owner"], "ana");
    assert_eq!(details["rule"], "uk");
}

#[test]
fn failures_are_warnings_and_dead_letters_errors() {
    let capture = Shared::default();
    let router = LeadRouter::new(policy(), InMemoryCrm::new(), TracingSink::new())
        .with_clock(ManualClock::at_unix(1_700_000_000))
        .with_outbox(InMemoryOutbox::new());
    router
        .crm()
        .fail_next(Method::UpsertLead, 1, CrmError::permanent("401"));
    let routed = tracing::subscriber::with_default(capture.clone(), || {
        block_on(router.route(lead(1, "US"))).unwrap()
    });
    assert!(routed.write.dead_lettered().is_some());
    let events = capture.0.events.lock().unwrap().clone();
    let level = |name: &str| {
        events
            .iter()
            .find(|e| e.fields.get("event").map(String::as_str) == Some(name))
            .map(|e| e.level)
    };
    assert_eq!(level("crm_write_failed"), Some(tracing::Level::WARN));
    assert_eq!(
        level("crm_write_dead_lettered"),
        Some(tracing::Level::ERROR)
    );
    let spans = capture.0.spans.lock().unwrap().clone();
    let route = spans.values().find(|s| s.name == "route").unwrap();
    assert_eq!(route.fields["write"], "dead_lettered");
    assert!(
        !route.fields.contains_key("rule"),
        "the fallback has no rule"
    );
    assert_eq!(route.fields["fallback"], "true");
}

#[test]
fn metrics_count_decisions_failures_timeouts_and_dead_letters() {
    let recorder = Recorder::default();
    let router = LeadRouter::new(policy(), InMemoryCrm::new(), RecordingSink::new())
        .with_clock(TickingClock(ManualClock::at_unix(1_700_000_000)))
        .with_outbox(InMemoryOutbox::new());
    metrics::with_local_recorder(&recorder, || {
        block_on(router.route(lead(1, "United Kingdom"))).unwrap();
        block_on(router.route(lead(2, "US"))).unwrap();
        router
            .crm()
            .fail_next(Method::UpsertLead, 1, CrmError::transient("503"));
        block_on(router.route(lead(3, "US"))).unwrap();
        router
            .crm()
            .fail_next(Method::UpsertLead, 1, CrmError::permanent("400"));
        block_on(router.route(lead(4, "US"))).unwrap();
        router.crm().hang_next(Method::FindPerson, 1);
        block_on(router.route(lead(5, "US"))).unwrap();
    });
    assert_eq!(
        recorder.counter("leadroute_decisions_total{experience=confirmation,rule=uk}"),
        1
    );
    assert_eq!(
        recorder.counter("leadroute_decisions_total{experience=confirmation,rule=fallback}"),
        4
    );
    assert_eq!(recorder.counter("leadroute_fallbacks_total"), 4);
    assert_eq!(
        recorder.counter("leadroute_crm_write_failures_total{class=transient}"),
        1
    );
    assert_eq!(
        recorder.counter("leadroute_crm_write_failures_total{class=permanent}"),
        1
    );
    assert_eq!(recorder.counter("leadroute_crm_writes_queued_total"), 1);
    assert_eq!(
        recorder.counter("leadroute_dead_letters_total{reason=not_retryable}"),
        1
    );
    assert_eq!(
        recorder.counter("leadroute_crm_writes_total{created=true}"),
        3
    );
    assert_eq!(
        recorder.counter("leadroute_lookup_timeouts_total{lookup=person}"),
        1
    );
    assert_eq!(
        recorder.counter("leadroute_lookup_timeouts_total{lookup=account}"),
        0
    );
    for stage in ["normalize", "lookups", "decide", "write", "total"] {
        let samples = recorder.samples(&format!("leadroute_stage_seconds{{stage={stage}}}"));
        assert_eq!(samples.len(), 5, "{stage}");
        assert!(samples.iter().all(|s| *s > 0.0), "{stage}: {samples:?}");
    }
    let assigned = recorder.samples("leadroute_submit_to_owner_assigned_seconds");
    assert_eq!(assigned.len(), 5);
    let written = recorder.samples("leadroute_submit_to_crm_written_seconds");
    assert_eq!(written.len(), 3);
    // The owner is assigned before the write ends.
    assert!(written[0] > assigned[0]);
}

#[test]
fn the_retry_worker_opens_a_span_per_entry() {
    let capture = Shared::default();
    let router = LeadRouter::new(policy(), InMemoryCrm::new(), RecordingSink::new())
        .with_clock(ManualClock::at_unix(1_700_000_000))
        .with_outbox(InMemoryOutbox::new());
    router
        .crm()
        .fail_next(Method::UpsertLead, 1, CrmError::transient("503"));
    tracing::subscriber::with_default(capture.clone(), || {
        block_on(router.route(lead(1, "US"))).unwrap();
        router.clock().advance(Duration::from_secs(5));
        let worker = leadroute::router::RetryWorker::new(&router, "w");
        let report = block_on(worker.drain(router.clock().now())).unwrap();
        assert_eq!(report.written, 1);
    });
    let spans = capture.0.spans.lock().unwrap().clone();
    let retry = spans
        .values()
        .find(|s| s.name == "retry")
        .expect("a retry span");
    assert_eq!(retry.fields["entry_id"], "lead-1");
    assert_eq!(retry.fields["attempt"], "2");
    assert_eq!(retry.fields["outcome"], "written");
}
