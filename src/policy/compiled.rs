//! [`Policy`]: the public handle on a compiled policy, and every public
//! method it has.

use std::sync::Arc;

use super::compile::program;
use super::diagnostic::{CompileError, Diagnostic};
use super::eval::{self, EvalOptions};
use super::explain::{self, Explanation};
use super::ir::Owner;
use super::limits::PolicyLimits;
use super::program::Program;
use super::spec::PolicySpec;
use crate::crm::OwnerView;
use crate::decision::RouteDecision;
use crate::facts::Facts;
use crate::lead::model::Lead;

/// Validates a spec and compiles it into a [`Policy`], or returns every
/// problem found ([`CompileError`]), each naming the rule and the field path.
///
/// Warnings of a policy that compiles are on [`Policy::warnings`].
///
/// ```
/// use leadroute::PolicySpec;
///
/// let spec = PolicySpec::from_json_str(r#"{
///   "name": "inbound", "version": "1",
///   "rules": [{"id": "us", "when": {"country": ["US", "XX"]}, "then": {"assign": {"pool": "nope"}}}]
/// }"#).unwrap();
/// let err = leadroute::compile(&spec).unwrap_err();
/// let messages: Vec<String> = err.errors.iter().map(|d| d.to_string()).collect();
/// assert_eq!(messages, [
///     "error: rules[0].when.country[1] (rule `us`): `XX` is not an ISO 3166-1 alpha-2 country code",
///     "error: rules[0].then.assign.pool (rule `us`): unknown pool `nope`",
///     "error: fallback: the policy has no fallback; every policy needs one so every lead gets a decision",
/// ]);
/// ```
pub fn compile(spec: &PolicySpec) -> Result<Policy, CompileError> {
    compile_with_limits(spec, &PolicyLimits::default())
}

/// [`compile`] with caller-chosen size limits, checked before anything else
/// (each violation a [`LimitExceeded`](super::DiagnosticCode::LimitExceeded)
/// error; see [`PolicyLimits`] for the defaults).
///
/// ```
/// use leadroute::policy::{compile_with_limits, DiagnosticCode, PolicyLimits};
/// use leadroute::PolicySpec;
///
/// let spec = PolicySpec::from_json_str(r#"{"name": "n", "version": "1",
///   "owners": [{"id": "q", "name": "Queue"}],
///   "rules": [{"id": "a", "when": {"country": ["US"]}, "then": {"assign": "nobody"}},
///             {"id": "b", "when": {"country": ["CA"]}, "then": {"assign": "nobody"}}],
///   "fallback": {"assign": {"owner": "q"}}}"#).unwrap();
/// let mut limits = PolicyLimits::default();
/// limits.max_rules = 1;
/// let err = compile_with_limits(&spec, &limits).unwrap_err();
/// assert_eq!(err.errors[0].code, DiagnosticCode::LimitExceeded);
/// assert!(compile_with_limits(&spec, &PolicyLimits::default()).is_ok());
/// ```
pub fn compile_with_limits(
    spec: &PolicySpec,
    limits: &PolicyLimits,
) -> Result<Policy, CompileError> {
    program(spec, limits).map(Policy::from_program)
}

/// A validated, indexed policy, ready to evaluate. Cheap to clone (an `Arc`),
/// `Send + Sync`: compile once, share with every request.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) program: Arc<Program>,
}

impl Policy {
    pub(crate) fn from_program(program: Program) -> Self {
        Policy {
            program: Arc::new(program),
        }
    }

    /// Reads a policy from JSON and compiles it: [`PolicySpec::from_json_str`]
    /// then [`compile`](crate::compile), with one error type for both.
    ///
    /// ```
    /// use leadroute::Policy;
    /// use leadroute::policy::DiagnosticCode;
    ///
    /// let policy = Policy::from_json_str(r#"{
    ///   "name": "inbound", "version": "1",
    ///   "owners": [{"id": "queue", "name": "Queue"}],
    ///   "fallback": {"assign": {"owner": "queue"}}
    /// }"#).unwrap();
    /// assert_eq!(policy.name(), "inbound");
    ///
    /// let err = Policy::from_json_str(r#"{
    ///   "name": "inbound", "version": "1",
    ///   "owners": [{"id": "queue", "name": "Queue"}],
    ///   "fallback": {"assign": {"owner": "queeu"}}
    /// }"#).unwrap_err();
    /// assert_eq!(err.errors[0].code, DiagnosticCode::UnknownOwner);
    /// assert_eq!(err.errors[0].help.as_deref(), Some("did you mean `queue`?"));
    /// ```
    pub fn from_json_str(text: &str) -> Result<Policy, CompileError> {
        compile(&PolicySpec::from_json_str(text)?)
    }

    /// Reads a policy from TOML and compiles it, like
    /// [`from_json_str`](Self::from_json_str).
    ///
    /// ```
    /// use leadroute::Policy;
    ///
    /// let policy = Policy::from_toml_str(r#"
    /// name = "inbound"
    /// version = "1"
    /// owners = [{ id = "queue", name = "Queue" }]
    /// fallback = { assign = { owner = "queue" } }
    /// "#).unwrap();
    /// assert_eq!(policy.version(), "1");
    /// ```
    #[cfg(feature = "toml")]
    pub fn from_toml_str(text: &str) -> Result<Policy, CompileError> {
        compile(&PolicySpec::from_toml_str(text)?)
    }

    /// The policy name.
    pub fn name(&self) -> &str {
        &self.program.name
    }

    /// The policy version.
    pub fn version(&self) -> &str {
        &self.program.version
    }

    /// Warnings found while compiling.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.program.warnings
    }

    /// Rule ids, in evaluation order.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.program.rules.iter().map(|r| &*r.id)
    }

    /// An owner from the directory, by id (e.g. to get its CRM ids).
    pub fn owner(&self, id: &str) -> Option<OwnerView<'_>> {
        let i = *self.program.owner_index.get(id)?;
        self.program.owners.get(i as usize).map(Owner::view)
    }

    /// The owners directory, in spec order (e.g. to map CRM user ids to
    /// owner ids through [`OwnerView::crm_id`]).
    pub fn owners(&self) -> impl Iterator<Item = OwnerView<'_>> {
        self.program.owners.iter().map(Owner::view)
    }

    /// A pool's position in the compiled policy (what trace events name).
    pub(crate) fn pool_index(&self, id: &str) -> Option<u32> {
        let i = self.program.pools.iter().position(|p| *p.id == *id)?;
        u32::try_from(i).ok()
    }

    /// Evaluates the policy for a lead, with the trace on.
    ///
    /// Pure and deterministic: the same lead and facts always give the same
    /// decision. A pool's choice is made on the state in `facts.pools` and
    /// proposed as [`RouteDecision::pool_step`], never recorded here; see
    /// [`pool`](crate::pool) for who records it.
    pub fn evaluate(&self, lead: &Lead, facts: &Facts<'_>) -> RouteDecision {
        eval::evaluate(&self.program, lead, facts, EvalOptions::default())
    }

    /// Evaluates with options (e.g. the trace off).
    pub fn evaluate_with(
        &self,
        lead: &Lead,
        facts: &Facts<'_>,
        opts: EvalOptions,
    ) -> RouteDecision {
        eval::evaluate(&self.program, lead, facts, opts)
    }

    /// [`evaluate_with`](Self::evaluate_with) into an existing decision,
    /// reusing its trace's allocation: for a caller deciding many leads in
    /// a loop (a test run over a corpus, a batch re-route), where a new
    /// decision allocates its trace once per lead.
    ///
    /// `decision` is overwritten entirely, as by
    /// [`Clone::clone_from`]: afterwards it equals what `evaluate_with`
    /// returns for the same arguments. Nothing of the old decision is read
    /// but the capacity of its `trace.events`; so a trace that fits that
    /// capacity costs no allocation (with the trace off there is none
    /// either way). Start from any decision, e.g. the first lead's.
    ///
    /// Measured (callgrind, `benches/instr_evaluate.rs`, the nine seed
    /// leads, trace on): ~4 % fewer instructions than `evaluate_with` and
    /// no allocation instead of one. With the trace off both allocate
    /// nothing and this saves nothing (overwriting in place costs ~30
    /// instructions more than returning a new decision).
    ///
    /// ```
    /// use leadroute::policy::EvalOptions;
    /// use leadroute::policy::spec::{ActionSpec, Condition, OwnerSpec};
    /// use leadroute::{Facts, LeadInput, Normalizer, PolicySpec, compile};
    ///
    /// let spec = PolicySpec::new("inbound", "7")
    ///     .owner(OwnerSpec::new("bob", "Bob"))
    ///     .owner(OwnerSpec::new("queue", "Inbound queue"))
    ///     .rule("us", Condition::country(["US"]), ActionSpec::owner("bob"))
    ///     .fallback(ActionSpec::owner("queue"));
    /// let policy = compile(&spec).unwrap();
    /// let normalizer = Normalizer::default();
    /// let facts = Facts::at_unix(0);
    /// let lead = |country: &str| {
    ///     let mut input = LeadInput::from_email("x@acme.com");
    ///     input.country = Some(country.into());
    ///     normalizer.normalize(&input).unwrap().lead
    /// };
    ///
    /// let mut decision = policy.evaluate(&lead("US"), &facts);
    /// for country in ["DE", "US", "FR"] {
    ///     let lead = lead(country);
    ///     policy.evaluate_into(&lead, &facts, EvalOptions::default(), &mut decision);
    ///     assert_eq!(decision, policy.evaluate(&lead, &facts));
    /// }
    /// assert_eq!(decision.owner.as_deref(), Some("queue"));
    /// ```
    pub fn evaluate_into(
        &self,
        lead: &Lead,
        facts: &Facts<'_>,
        opts: EvalOptions,
        decision: &mut RouteDecision,
    ) {
        // The buffer moves out of the old decision into the new one's
        // trace, so dropping the old decision frees nothing of it. With the
        // trace off the recorder leaves it here: it goes back, empty.
        let mut reuse = std::mem::take(&mut decision.trace.events);
        *decision = eval::evaluate_reusing(&self.program, lead, facts, opts, &[], Some(&mut reuse));
        if decision.trace.events.is_empty() && decision.trace.events.capacity() < reuse.capacity() {
            reuse.clear();
            decision.trace.events = reuse;
        }
    }

    /// Resolves a decision's trace against this policy (the one that made
    /// it) into an [`Explanation`].
    ///
    /// ```
    /// use leadroute::{Facts, LeadInput, Normalizer, compile};
    /// use leadroute::PolicySpec;
    /// use leadroute::policy::spec::{ActionSpec, Condition, OwnerSpec};
    ///
    /// let spec = PolicySpec::new("inbound", "7")
    ///     .owner(OwnerSpec::new("bob", "Bob"))
    ///     .owner(OwnerSpec::new("queue", "Inbound queue"))
    ///     .rule("us", Condition::country(["US"]), ActionSpec::owner("bob"))
    ///     .fallback(ActionSpec::owner("queue"));
    /// let policy = compile(&spec).unwrap();
    /// let mut input = LeadInput::from_email("x@acme.com");
    /// input.country = Some("USA".into());
    /// let lead = Normalizer::default().normalize(&input).unwrap().lead;
    /// let decision = policy.evaluate(&lead, &Facts::at_unix(0));
    /// let text = policy.explain(&decision).to_string();
    /// assert!(text.starts_with("Assigned to bob (owner named by rule `us`) [policy inbound v7]"));
    /// assert!(text.contains("rule `us`: matched"));
    /// assert!(text.contains("country in [US]: observed \"US\" → true"));
    /// ```
    pub fn explain(&self, decision: &RouteDecision) -> Explanation {
        explain::explain(&self.program, decision)
    }
}

// Compile-time proof that what users share across threads can be shared.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Policy>();
    shared::<RouteDecision>();
};
