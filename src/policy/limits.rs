//! [`PolicyLimits`]: how big a policy may be, checked before the expensive
//! work, so a policy arriving over an admin API cannot stall a service or
//! exhaust its memory.

use serde::{Deserialize, Serialize};

/// Size limits for reading and compiling a policy.
///
/// Every limit that is exceeded is a [`LimitExceeded`] error diagnostic
/// naming the place and the limit; nothing else of such a policy is checked
/// (the point is not to do that work). The readers
/// ([`PolicySpec::from_json_str_with_limits`],
/// [`from_toml_str_with_limits`](super::spec::PolicySpec::from_toml_str_with_limits))
/// check the text's size before parsing it, and nesting and list lengths
/// while parsing it, so a list of a million values is refused at its
/// limit-plus-first value. For TOML, whose parser reads the whole text
/// before serde sees a value, a linear pre-scan of the text's tokens checks
/// nesting, list lengths, keys per table and arrays of tables first (the
/// message gives the line and column), and the same checks run again,
/// exactly, while reading.
/// [`compile_with_limits`](super::compile_with_limits) checks the rest
/// (and everything again, for specs built in Rust).
///
/// The defaults fit large real plans (tens of thousands of rules) and keep
/// a compile well under a second on one core:
///
/// | limit | default |
/// |---|---|
/// | [`max_spec_bytes`](Self::max_spec_bytes) | 16 MiB |
/// | [`max_rules`](Self::max_rules) | 50,000 |
/// | [`max_conditions_per_rule`](Self::max_conditions_per_rule) | 1,000 |
/// | [`max_list_len`](Self::max_list_len) | 10,000 |
/// | [`max_depth`](Self::max_depth) | 64 |
/// | [`max_regex_len`](Self::max_regex_len) | 1,000 bytes |
/// | [`max_regex_program_bytes`](Self::max_regex_program_bytes) | 1 MiB |
/// | [`max_shadow_comparisons`](Self::max_shadow_comparisons) | 2,000,000 |
///
/// ```
/// use leadroute::policy::{DiagnosticCode, PolicyLimits};
/// use leadroute::PolicySpec;
///
/// let mut limits = PolicyLimits::default();
/// limits.max_list_len = 4; // the document's top level has 4 keys
/// let err = PolicySpec::from_json_str_with_limits(
///     r#"{"name": "n", "version": "1", "owners": [], "rules": [
///         {"id": "r", "when": {"country": ["US", "CA", "MX", "GB", "DE"]}, "then": {"assign": "nobody"}}]}"#,
///     &limits,
/// ).unwrap_err();
/// assert_eq!(err.errors[0].code, DiagnosticCode::LimitExceeded);
/// assert_eq!(err.errors[0].path, "rules[0].when.country");
/// ```
///
/// [`LimitExceeded`]: super::DiagnosticCode::LimitExceeded
/// [`PolicySpec::from_json_str_with_limits`]: super::spec::PolicySpec::from_json_str_with_limits
/// [`PolicySpec::from_toml_str_with_limits`]: super::spec::PolicySpec::from_toml_str_with_limits
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicyLimits {
    /// Bytes of policy text a reader accepts.
    pub max_spec_bytes: usize,
    /// Rules in `rules`.
    pub max_rules: usize,
    /// Condition nodes in one rule's `when` (each `all`, `any`, `not` and
    /// test counts one).
    pub max_conditions_per_rule: usize,
    /// Items in any one list other than `rules` (values of a condition,
    /// owners, territories, pools, members, tags, …) and keys in any one
    /// object.
    pub max_list_len: usize,
    /// Nesting of the policy text (each object and list is one level); for
    /// a spec built in Rust, of `all` / `any` / `not` in a condition.
    /// serde_json itself stops at 128, TOML at 80.
    pub max_depth: usize,
    /// Bytes of one regular expression's pattern.
    pub max_regex_len: usize,
    /// Bytes one compiled regular expression may use (the `regex` crate's
    /// size limit; `a{1000}{1000}` is short but huge).
    pub max_regex_program_bytes: usize,
    /// Rule comparisons the unreachable-rule check may make. The check is
    /// indexed (near-linear for real plans), but adversarial plans can still
    /// make many earlier rules candidates; past this budget it stops, with
    /// a [`CheckSkipped`](super::DiagnosticCode::CheckSkipped) warning
    /// naming the first rule left unchecked.
    pub max_shadow_comparisons: usize,
}

impl Default for PolicyLimits {
    fn default() -> Self {
        PolicyLimits {
            max_spec_bytes: 16 << 20,
            max_rules: 50_000,
            max_conditions_per_rule: 1_000,
            max_list_len: 10_000,
            max_depth: 64,
            max_regex_len: 1_000,
            max_regex_program_bytes: 1 << 20,
            max_shadow_comparisons: 2_000_000,
        }
    }
}

impl PolicyLimits {
    /// No limits at all: for trusted policies only (each limit at its
    /// type's maximum, nesting at the parsers' own limits).
    pub fn unlimited() -> Self {
        PolicyLimits {
            max_spec_bytes: usize::MAX,
            max_rules: usize::MAX,
            max_conditions_per_rule: usize::MAX,
            max_list_len: usize::MAX,
            max_depth: 128,
            max_regex_len: usize::MAX,
            max_regex_program_bytes: usize::MAX,
            max_shadow_comparisons: usize::MAX,
        }
    }
}
