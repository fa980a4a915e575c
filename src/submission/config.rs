//! [`ScreenConfig`]: what a screen looks for and what each signal weighs,
//! as serde data, checked once by [`ScreenConfig::build`].

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::screen::MAX_FIELD_NAMES;
use super::screen::{Lookup, Screen};
use super::signal::SignalKind;
use super::text::Patterns;
use super::weights::{MAX_WEIGHT, Weights};
use crate::lead::input::LeadInput;

/// Most domains the known-bad list may hold.
pub const MAX_BAD_DOMAINS: usize = 100_000;

/// What a [`Screen`] looks for, and what each signal adds to the score.
///
/// Every key is optional (the defaults are the values below); unknown keys
/// are errors. In TOML:
///
/// ```toml
/// honeypot_fields = ["contact_me_by_fax"]
/// started_field = "form_started"
/// token_fields = ["cf-turnstile-response"]
/// message_fields = ["message"]
/// min_fill_ms = 3000
/// max_message_links = 2
/// repeat_window_secs = 3600
/// repeat_limit = 3
/// known_bad_domains = ["spam-house.example"]
/// [weights]
/// honeypot = 100
/// too_fast = 60
/// ```
///
/// ```
/// use leadroute::submission::ScreenConfig;
///
/// let config: ScreenConfig = serde_json::from_str(r#"{
///   "honeypot_fields": ["contact_me_by_fax"],
///   "known_bad_domains": ["spam-house.example"],
///   "weights": {"too_fast": 40}
/// }"#)?;
/// assert_eq!(config.weights.too_fast, 40);
/// assert_eq!(config.weights.honeypot, 100); // the default
/// let screen = config.build()?;
/// # let _ = screen;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ScreenConfig {
    /// Form fields that people never see (hidden by CSS, not
    /// `type="hidden"`, which bots skip): any value in one is the
    /// `honeypot` signal. Matched against the lead's attributes ignoring
    /// ASCII case. Default `["leadroute_hp"]`. A name the
    /// [`LeadInput`] reads as a lead field (`website`, `url`, `company`…) is an
    /// error: it would be routed as data.
    pub honeypot_fields: Vec<String>,
    /// The form field carrying when the form was started: Unix time in
    /// milliseconds (`Date.now()`) or seconds, as a number or numeric text.
    /// Default `"form_started"`. A start time the caller passes in
    /// [`Submission::started_at`](super::Submission::started_at) wins.
    pub started_field: String,
    /// Form fields carrying a CAPTCHA-style token for the verifier, first
    /// present wins. Default: `captcha_token`, `cf-turnstile-response`,
    /// `g-recaptcha-response`, `h-captcha-response`.
    pub token_fields: Vec<String>,
    /// Free-text fields checked for links and markup (besides the name and
    /// company fields). Default: `message`, `comments`, `comment`, `notes`,
    /// `description`, `how_can_we_help`.
    pub message_fields: Vec<String>,
    /// Submissions sooner than this after the start are `too_fast`.
    /// Default 3000 ms; at most 600 000 (10 minutes).
    pub min_fill_ms: u64,
    /// A message field with more links than this is `link_stuffed`.
    /// Default 2.
    pub max_message_links: u32,
    /// The window recent submissions are counted in. Default 3600 s; at
    /// most 30 days.
    pub repeat_window_secs: u64,
    /// This many earlier submissions of the same email within the window
    /// (replays of this one excluded) make `repeated_submission`. Default
    /// 3; at least 1.
    pub repeat_limit: u32,
    /// Domains whose email addresses or company domains are
    /// `known_bad_domain`, subdomains included (`spam.example` covers
    /// `mx.spam.example`). Written as domains, optionally with a leading
    /// `@` or `*.`.
    pub known_bad_domains: Vec<String>,
    /// What each signal adds to the score.
    pub weights: Weights,
}

impl Default for ScreenConfig {
    fn default() -> Self {
        let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        ScreenConfig {
            honeypot_fields: strings(&["leadroute_hp"]),
            started_field: "form_started".to_owned(),
            token_fields: strings(&[
                "captcha_token",
                "cf-turnstile-response",
                "g-recaptcha-response",
                "h-captcha-response",
            ]),
            message_fields: strings(&[
                "message",
                "comments",
                "comment",
                "notes",
                "description",
                "how_can_we_help",
            ]),
            min_fill_ms: 3_000,
            max_message_links: 2,
            repeat_window_secs: 3_600,
            repeat_limit: 3,
            known_bad_domains: Vec::new(),
            weights: Weights::default(),
        }
    }
}

/// One problem in a [`ScreenConfig`]: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{path}: {message}")]
#[non_exhaustive]
pub struct ConfigIssue {
    /// The key (`known_bad_domains[3]`, `weights.too_fast`).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Every problem found in a [`ScreenConfig`], at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the screen configuration has {} problem(s): {}", issues.len(), render(issues))]
#[non_exhaustive]
pub struct ScreenConfigError {
    /// The problems, in key order.
    pub issues: Vec<ConfigIssue>,
}

fn render(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl ScreenConfig {
    /// Checks the configuration and builds the [`Screen`]: every problem
    /// at once, each with its key.
    ///
    /// ```
    /// use leadroute::submission::ScreenConfig;
    ///
    /// let mut config = ScreenConfig::default();
    /// config.honeypot_fields = vec!["website".into()];
    /// config.known_bad_domains = vec!["not a domain".into()];
    /// config.weights.too_fast = 5000;
    /// let err = config.build().unwrap_err();
    /// let paths: Vec<_> = err.issues.iter().map(|i| i.path.as_str()).collect();
    /// assert_eq!(paths, ["honeypot_fields[0]", "known_bad_domains[0]", "weights.too_fast"]);
    /// ```
    pub fn build(&self) -> Result<Screen, ScreenConfigError> {
        let mut issues = Vec::new();
        let screen = self.assemble(&mut |path, message| issues.push(ConfigIssue { path, message }));
        if issues.is_empty() {
            Ok(screen)
        } else {
            Err(ScreenConfigError { issues })
        }
    }

    /// Builds without reporting problems: for the built-in defaults, which
    /// a unit test checks build cleanly.
    pub(crate) fn build_unchecked(&self) -> Screen {
        self.assemble(&mut |_, _| {})
    }

    /// Builds the screen, reporting each problem to `issue` (an entry that
    /// fails its check is left out, a value out of range is clamped).
    fn assemble(&self, issue: &mut impl FnMut(String, String)) -> Screen {
        let honeypots = field_names("honeypot_fields", &self.honeypot_fields, true, issue);
        let started = field_names(
            "started_field",
            std::slice::from_ref(&self.started_field),
            true,
            issue,
        );
        let tokens = field_names("token_fields", &self.token_fields, true, issue);
        let messages = field_names("message_fields", &self.message_fields, false, issue);
        if self.min_fill_ms > MAX_MIN_FILL_MS {
            issue(
                "min_fill_ms".into(),
                format!("{} ms is more than 10 minutes", self.min_fill_ms),
            );
        }
        if self.repeat_window_secs > MAX_REPEAT_WINDOW_SECS {
            issue(
                "repeat_window_secs".into(),
                format!("{} s is more than 30 days", self.repeat_window_secs),
            );
        }
        if self.repeat_limit == 0 {
            issue(
                "repeat_limit".into(),
                "must be at least 1 (0 would flag every submission)".into(),
            );
        }
        if self.known_bad_domains.len() > MAX_BAD_DOMAINS {
            issue(
                "known_bad_domains".into(),
                format!(
                    "{} domains; at most {MAX_BAD_DOMAINS}",
                    self.known_bad_domains.len()
                ),
            );
        }
        let mut bad = HashSet::with_capacity(self.known_bad_domains.len().min(MAX_BAD_DOMAINS));
        for (i, raw) in self
            .known_bad_domains
            .iter()
            .take(MAX_BAD_DOMAINS)
            .enumerate()
        {
            match bad_domain(raw) {
                Ok(d) => {
                    bad.insert(d);
                }
                Err(why) => issue(format!("known_bad_domains[{i}]"), why),
            }
        }
        for kind in SignalKind::ALL {
            let w = self.weights.of(kind);
            if w > MAX_WEIGHT {
                issue(
                    format!("weights.{kind}"),
                    format!("{w} is above the highest weight, {MAX_WEIGHT}"),
                );
            }
        }
        let started: Box<str> = started.into_iter().next().unwrap_or_default();
        let lookup = Lookup::new(&honeypots, &started, &messages);
        Screen {
            honeypots,
            started,
            tokens,
            lookup,
            min_fill: Duration::from_millis(self.min_fill_ms.min(MAX_MIN_FILL_MS)),
            max_message_links: self.max_message_links as usize,
            repeat_window: Duration::from_secs(self.repeat_window_secs.min(MAX_REPEAT_WINDOW_SECS)),
            repeat_limit: self.repeat_limit.max(1) as usize,
            bad_domains: bad,
            weights: self.weights,
            patterns: Patterns::new(),
        }
    }
}

impl Default for Screen {
    /// The default configuration's screen.
    fn default() -> Self {
        ScreenConfig::default().build_unchecked()
    }
}

const MAX_MIN_FILL_MS: u64 = 600_000;
const MAX_REPEAT_WINDOW_SECS: u64 = 30 * 86_400;

/// Checks a list of form-field names: present, bounded, and (for control
/// fields) not a name the lead reads as one of its own fields. Returns
/// them lower-cased (ASCII), for case-insensitive lookup.
fn field_names(
    key: &str,
    names: &[String],
    control: bool,
    issue: &mut impl FnMut(String, String),
) -> Box<[Box<str>]> {
    if names.len() > MAX_FIELD_NAMES {
        issue(
            key.to_owned(),
            format!("{} names; at most {MAX_FIELD_NAMES}", names.len()),
        );
    }
    let single = key == "started_field";
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.iter().take(MAX_FIELD_NAMES).enumerate() {
        let path = if single {
            key.to_owned()
        } else {
            format!("{key}[{i}]")
        };
        let trimmed = name.trim();
        if trimmed.is_empty() || trimmed.len() > 128 {
            issue(path, "a field name is 1 to 128 characters".into());
            continue;
        }
        if control && is_lead_field(trimmed) {
            issue(
                path,
                format!(
                    "`{trimmed}` is a field the lead reads (it would be routed and written as data); choose a name it keeps as an attribute"
                ),
            );
            continue;
        }
        out.push(trimmed.to_ascii_lowercase().into_boxed_str());
    }
    out.into_boxed_slice()
}

/// Whether [`LeadInput`] reads `name` as one of its own fields rather than
/// keeping it as an attribute.
fn is_lead_field(name: &str) -> bool {
    let mut object = serde_json::Map::new();
    object.insert(name.to_owned(), serde_json::Value::String("x".into()));
    match serde_json::from_value::<LeadInput>(serde_json::Value::Object(object)) {
        Ok(input) => !input.attributes.contains_key(name),
        Err(_) => true,
    }
}

/// A known-bad list entry as a lower-case domain.
fn bad_domain(raw: &str) -> Result<String, String> {
    let d = raw.trim();
    let d = d
        .strip_prefix('@')
        .or_else(|| d.strip_prefix("*."))
        .unwrap_or(d);
    let d = d.trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(d)
    } else {
        Err(format!(
            "`{}` is not a domain (write `spam.example`, `@spam.example` or `*.spam.example`; internationalized names in punycode)",
            crate::lead::issue::shorten_to(raw, 60)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_config_builds() {
        assert!(ScreenConfig::default().build().is_ok());
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let config = ScreenConfig {
            started_field: " ".into(),
            min_fill_ms: 700_000,
            repeat_window_secs: u64::MAX,
            repeat_limit: 0,
            known_bad_domains: vec!["ok.example".into(), "@".into()],
            ..ScreenConfig::default()
        };
        let err = config.build().unwrap_err();
        let paths: Vec<_> = err.issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "started_field",
                "min_fill_ms",
                "repeat_window_secs",
                "repeat_limit",
                "known_bad_domains[1]"
            ]
        );
        assert!(err.to_string().contains("5 problem(s)"));
    }

    #[test]
    fn control_fields_must_be_attributes() {
        assert!(is_lead_field("website"));
        assert!(is_lead_field("Company-Name"));
        assert!(!is_lead_field("leadroute_hp"));
        assert!(!is_lead_field("form_started"));
    }

    #[test]
    fn bad_domains_are_normalized() {
        assert_eq!(bad_domain(" @Spam.Example ").unwrap(), "spam.example");
        assert_eq!(bad_domain("*.spam.example.").unwrap(), "spam.example");
        assert!(bad_domain("spam").is_err());
        assert!(bad_domain("sp am.example").is_err());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = serde_json::from_str::<ScreenConfig>(r#"{"weights": {"honeypott": 1}}"#);
        assert!(err.unwrap_err().to_string().contains("honeypott"));
    }
}
