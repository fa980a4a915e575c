//! Compile-time problems, each naming the rule and the field path.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The policy does not compile.
    Error,
    /// The policy compiles, but something is probably not what was meant.
    Warning,
}

/// A stable code per kind of problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiagnosticCode {
    /// Two owners, territories, pools or rules share an id.
    DuplicateId,
    /// A reference to an owner that is not in the directory.
    UnknownOwner,
    /// A reference to a pool that does not exist.
    UnknownPool,
    /// A reference to a territory that does not exist.
    UnknownTerritory,
    /// A regular expression that does not compile.
    InvalidRegex,
    /// Not an assigned ISO 3166-1 alpha-2 code.
    UnknownCountry,
    /// Not an ISO 3166-2 code (or not one the built-in tables know).
    UnknownRegion,
    /// A lower bound above its upper bound.
    InvertedRange,
    /// A pool without members.
    EmptyPool,
    /// A weight or capacity of zero.
    InvalidNumber,
    /// The policy has no fallback.
    MissingFallback,
    /// A rule that can never match because an earlier rule always wins first.
    UnreachableRule,
    /// Direct assignment to an inactive owner.
    InactiveOwner,
    /// An inactive owner in a pool (skipped at run time).
    InactivePoolMember,
    /// A territory, list or test that names nothing.
    Empty,
    /// Pools whose fallbacks lead back to themselves.
    PoolCycle,
    /// A meeting experience with nobody's calendar to book on.
    NoCalendar,
    /// The policy has no name or version.
    MissingName,
    /// A rule whose condition is constantly false.
    NeverMatches,
    /// A pool with more members than a pool may have (256).
    TooManyMembers,
    /// A key the policy format does not have (or not in this place).
    UnknownField,
}

/// One problem found by [`compile`](crate::compile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What kind of problem.
    pub code: DiagnosticCode,
    /// The rule id, when the problem is inside a rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Where in the spec: `rules[2].when.all[1].country[0]`, `pools[0].members[3].owner`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}", self.path)?;
        if let Some(rule) = &self.rule {
            write!(f, " (rule `{rule}`)")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every error (and warning) found in a spec that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub struct CompileError {
    /// The errors, in spec order.
    pub errors: Vec<Diagnostic>,
    /// The warnings, in spec order.
    pub warnings: Vec<Diagnostic>,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "policy does not compile: {n} error{}",
            if n == 1 { "" } else { "s" }
        )?;
        for d in self.errors.iter().chain(&self.warnings) {
            write!(f, "\n  {d}")?;
        }
        Ok(())
    }
}
