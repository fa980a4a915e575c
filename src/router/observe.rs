//! What the router tells `tracing` (feature `tracing`) and `metrics`
//! (feature `metrics`). Without either feature every item here is empty
//! and compiles away.
//!
//! # Spans (feature `tracing`)
//!
//! One `route` span per submission, at `INFO`, with four children:
//!
//! | span | fields |
//! |---|---|
//! | `route` | `lead_id`, `policy_version`, `rule`, `owner`, `experience`, `fallback`, `account_lookup`, `person_lookup`, `write`, `duration_us` |
//! | `normalize` | `duration_us`, `valid` |
//! | `lookups` | `account_lookup`, `person_lookup`, `duration_us` |
//! | `decide` | `rule`, `owner`, `pool_store_failed`, `duration_us` |
//! | `write` | `write` (`written`, `queued`, `dead_lettered`, `pending`, `skipped`), `duration_us` |
//!
//! The [`RetryWorker`](super::RetryWorker) opens a `retry` span per entry
//! it attempts, with `entry_id`, `attempt` and `outcome` (`written`,
//! `queued`, `dead_lettered`, `lease_lost`, `outbox_error`).
//!
//! Durations come from the router's [`Clock`](crate::Clock), never from a
//! clock of the subscriber's, so a manual clock gives exact figures in
//! tests. Events emitted during a route (with
//! [`TracingSink`](crate::events::TracingSink)) are inside its span.
//!
//! # Metrics (feature `metrics`)
//!
//! Through the [`metrics`] facade, to whatever recorder the application
//! installed (the core installs none and keeps no state; without a
//! recorder every call is a no-op):
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `leadroute_decisions_total` | counter | `rule` (`fallback` for the fallback), `experience` |
//! | `leadroute_fallbacks_total` | counter | |
//! | `leadroute_lookup_timeouts_total` | counter | `lookup` (`account`, `person`) |
//! | `leadroute_crm_writes_total` | counter | `created` (`true`, `false`) |
//! | `leadroute_crm_write_failures_total` | counter | `class` (`transient`, `rate_limited`, `unknown_outcome`, `conflict`, `permanent`) |
//! | `leadroute_crm_writes_queued_total` | counter | |
//! | `leadroute_dead_letters_total` | counter | `reason` (`not_retryable`, `attempts_exhausted`) |
//! | `leadroute_outbox_failures_total` | counter | `operation` |
//! | `leadroute_pool_store_failures_total` | counter | `kind` |
//! | `leadroute_stage_seconds` | histogram | `stage` (`normalize`, `lookups`, `decide`, `write`, `total`) |
//! | `leadroute_submit_to_owner_assigned_seconds` | histogram | |
//! | `leadroute_submit_to_crm_written_seconds` | histogram | |
//!
//! Label values come from the policy (rule ids) and fixed vocabularies, so
//! their number is bounded. The submit → written histogram covers writes
//! the retry worker delivers too (their events measure from the submit).

use std::time::Duration;

use super::report::{Routed, WriteOutcome};
use crate::events::Event;

/// The `route` span, or nothing.
#[derive(Debug, Clone)]
pub(super) struct RouteSpan {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

/// One stage's child span, or nothing.
#[derive(Debug, Clone)]
pub(super) struct StageSpan {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl RouteSpan {
    pub(super) fn new() -> Self {
        RouteSpan {
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                "route",
                lead_id = tracing::field::Empty,
                policy_version = tracing::field::Empty,
                rule = tracing::field::Empty,
                owner = tracing::field::Empty,
                experience = tracing::field::Empty,
                fallback = tracing::field::Empty,
                account_lookup = tracing::field::Empty,
                person_lookup = tracing::field::Empty,
                write = tracing::field::Empty,
                duration_us = tracing::field::Empty,
            ),
        }
    }

    /// Runs `work` inside the span.
    #[cfg(feature = "tracing")]
    pub(super) fn instrument<F: std::future::Future>(
        &self,
        work: F,
    ) -> tracing::instrument::Instrumented<F> {
        tracing::Instrument::instrument(work, self.span.clone())
    }

    /// Runs `work` (there is no span).
    #[cfg(not(feature = "tracing"))]
    pub(super) fn instrument<F>(&self, work: F) -> F {
        work
    }

    pub(super) fn started(&self, _lead_id: &str, _policy_version: &str) {
        #[cfg(feature = "tracing")]
        {
            self.span.record("lead_id", _lead_id);
            self.span.record("policy_version", _policy_version);
        }
    }

    /// A child span for `stage`: `normalize`, `lookups`, `decide`, `write`.
    pub(super) fn stage(&self, _stage: &'static str) -> StageSpan {
        #[cfg(feature = "tracing")]
        {
            let parent = &self.span;
            let empty = tracing::field::Empty;
            let span = match _stage {
                "normalize" => {
                    tracing::info_span!(parent: parent, "normalize", valid = empty, duration_us = empty)
                }
                "lookups" => tracing::info_span!(
                    parent: parent,
                    "lookups",
                    account_lookup = empty,
                    person_lookup = empty,
                    duration_us = empty
                ),
                "decide" => tracing::info_span!(
                    parent: parent,
                    "decide",
                    rule = empty,
                    owner = empty,
                    pool_store_failed = empty,
                    duration_us = empty
                ),
                _ => {
                    tracing::info_span!(parent: parent, "write", write = empty, duration_us = empty)
                }
            };
            StageSpan { span }
        }
        #[cfg(not(feature = "tracing"))]
        StageSpan {}
    }

    /// Records the route's outcome on the span, and its stage latencies and
    /// lookup timeouts as metrics.
    pub(super) fn finish(&self, _routed: &Routed) {
        #[cfg(feature = "tracing")]
        {
            let d = &_routed.decision;
            let span = &self.span;
            if let Some(rule) = d.rule.as_deref() {
                span.record("rule", rule);
            }
            if let Some(owner) = d.owner_id() {
                span.record("owner", owner);
            }
            span.record("experience", d.experience.name());
            span.record("fallback", d.fallback);
            span.record("account_lookup", _routed.lookups.account.as_str());
            span.record("person_lookup", _routed.lookups.person.as_str());
            span.record("write", write_name(&_routed.write));
            span.record("duration_us", micros(_routed.timings.total));
        }
        #[cfg(feature = "metrics")]
        {
            let t = &_routed.timings;
            for (stage, d) in [
                ("normalize", t.normalize),
                ("lookups", t.lookup),
                ("decide", t.decide),
                ("write", t.write),
                ("total", t.total),
            ] {
                metrics::histogram!("leadroute_stage_seconds", "stage" => stage).record(d);
            }
            for (lookup, status) in [
                ("account", _routed.lookups.account),
                ("person", _routed.lookups.person),
            ] {
                if status == crate::crm::LookupStatus::TimedOut {
                    metrics::counter!("leadroute_lookup_timeouts_total", "lookup" => lookup)
                        .increment(1);
                }
            }
        }
    }
}

impl StageSpan {
    /// Runs `work` inside the stage's span.
    pub(super) fn in_scope<R>(&self, work: impl FnOnce() -> R) -> R {
        #[cfg(feature = "tracing")]
        {
            self.span.in_scope(work)
        }
        #[cfg(not(feature = "tracing"))]
        work()
    }

    /// Runs `work` inside the stage's span.
    #[cfg(feature = "tracing")]
    pub(super) fn instrument<F: std::future::Future>(
        &self,
        work: F,
    ) -> tracing::instrument::Instrumented<F> {
        tracing::Instrument::instrument(work, self.span.clone())
    }

    /// Runs `work` (there is no span).
    #[cfg(not(feature = "tracing"))]
    pub(super) fn instrument<F>(&self, work: F) -> F {
        work
    }

    /// Records a field on the stage's span.
    pub(super) fn record(&self, _field: &'static str, _value: &str) {
        #[cfg(feature = "tracing")]
        self.span.record(_field, _value);
    }

    /// Records a boolean field on the stage's span.
    pub(super) fn flag(&self, _field: &'static str, _value: bool) {
        #[cfg(feature = "tracing")]
        self.span.record(_field, _value);
    }

    /// Records the stage's duration (by the router's clock).
    pub(super) fn done(&self, _duration: Duration) {
        #[cfg(feature = "tracing")]
        self.span.record("duration_us", micros(_duration));
    }
}

/// The retry worker's span for one entry, or nothing.
#[derive(Debug, Clone)]
pub(super) struct RetrySpan {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

impl RetrySpan {
    pub(super) fn new(_entry_id: &str, _attempt: u32) -> Self {
        RetrySpan {
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                "retry",
                entry_id = _entry_id,
                attempt = _attempt,
                outcome = tracing::field::Empty
            ),
        }
    }

    /// Runs `work` inside the span.
    #[cfg(feature = "tracing")]
    pub(super) fn instrument<F: std::future::Future>(
        &self,
        work: F,
    ) -> tracing::instrument::Instrumented<F> {
        tracing::Instrument::instrument(work, self.span.clone())
    }

    /// Runs `work` (there is no span).
    #[cfg(not(feature = "tracing"))]
    pub(super) fn instrument<F>(&self, work: F) -> F {
        work
    }

    /// Records how the attempt ended.
    pub(super) fn outcome(&self, _outcome: &'static str) {
        #[cfg(feature = "tracing")]
        self.span.record("outcome", _outcome);
    }
}

/// The write outcome's name, as the spans report it.
pub(super) fn write_name(write: &WriteOutcome) -> &'static str {
    match write {
        WriteOutcome::Written(_) => "written",
        WriteOutcome::Pending(_) => "pending",
        WriteOutcome::Queued(_) => "queued",
        WriteOutcome::DeadLettered(_) => "dead_lettered",
        WriteOutcome::Skipped => "skipped",
    }
}

#[cfg(feature = "tracing")]
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Counts an event the router emits (feature `metrics`).
pub(super) fn on_event(_event: &Event) {
    #[cfg(feature = "metrics")]
    {
        use crate::events::EventKind;
        let since = _event.since_submit_ms.map(Duration::from_millis);
        match &_event.kind {
            EventKind::OwnerAssigned {
                rule, experience, ..
            } => {
                decision(rule.as_deref(), experience.name());
                if let Some(d) = since {
                    metrics::histogram!("leadroute_submit_to_owner_assigned_seconds").record(d);
                }
            }
            EventKind::LeadRejected { rule, .. } => decision(rule.as_deref(), "reject"),
            EventKind::RoutingFallback { .. } => {
                metrics::counter!("leadroute_fallbacks_total").increment(1);
            }
            EventKind::CrmWriteSuccess { created, .. } => {
                let created = if *created { "true" } else { "false" };
                metrics::counter!("leadroute_crm_writes_total", "created" => created).increment(1);
                if let Some(d) = since {
                    metrics::histogram!("leadroute_submit_to_crm_written_seconds").record(d);
                }
            }
            EventKind::CrmWriteFailed { error, .. } => {
                metrics::counter!("leadroute_crm_write_failures_total", "class" => error.class())
                    .increment(1);
            }
            EventKind::CrmWriteQueued(_) => {
                metrics::counter!("leadroute_crm_writes_queued_total").increment(1);
            }
            EventKind::CrmWriteDeadLettered { reason, .. } => {
                metrics::counter!("leadroute_dead_letters_total", "reason" => reason.as_str())
                    .increment(1);
            }
            EventKind::OutboxFailed { operation, .. } => {
                metrics::counter!("leadroute_outbox_failures_total", "operation" => operation.clone())
                    .increment(1);
            }
            EventKind::PoolStoreFailed(failure) => {
                metrics::counter!("leadroute_pool_store_failures_total", "kind" => failure.kind.as_str())
                    .increment(1);
            }
            _ => {}
        }
    }
}

#[cfg(feature = "metrics")]
fn decision(rule: Option<&str>, experience: &'static str) {
    let rule = rule.unwrap_or("fallback").to_owned();
    metrics::counter!("leadroute_decisions_total", "rule" => rule, "experience" => experience)
        .increment(1);
}
