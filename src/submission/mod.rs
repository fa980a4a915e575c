//! **Screen**: how a submission was made, as named signals the policy can
//! read — a filled honeypot, a form filled in faster than a person can, a
//! name that is a link or a keyboard mash, a token the CAPTCHA provider
//! rejected. Pure: the [`Screen`] reads the [`Lead`](crate::Lead), what the
//! caller knows about the submission ([`Submission`]: start time, recent
//! submissions of the same email from its own store) and how verification
//! went ([`Verification`]), and returns [`Signals`]: each fired
//! [`Signal`] with its field, its observed value and its weight, and their
//! sum, the score.
//!
//! The policy decides what to do with them, through two conditions:
//! `{"spam": {"score_at_least": 100}}` and `{"signal": ["honeypot"]}` —
//! reject, hold for review, or route with a tag. [`recommended_rules`] are
//! the documented default. The [`LeadRouter`](crate::LeadRouter) screens
//! every submission when given a screen (`with_screen`), runs your
//! [`Verifier`] within a budget, passes the signals to the policy in
//! [`Facts`](crate::Facts), emits `submission_screened`, and never writes a
//! rejected submission to the CRM.
//!
//! ```
//! use leadroute::submission::{ScreenConfig, SignalKind, Submission, Verification};
//! use leadroute::{Facts, Normalizer, Policy};
//! use std::time::{Duration, SystemTime};
//!
//! let mut config = ScreenConfig::default();
//! config.honeypot_fields = vec!["contact_me_by_fax".into()];
//! let screen = config.build()?;
//! let lead = Normalizer::default().normalize_json(r#"{
//!     "email": "seo@mailinator.com", "first_name": "Best SEO https://cheap.example",
//!     "contact_me_by_fax": "yes"
//! }"#)?.lead;
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let signals = screen.assess(&lead, &Submission::default(), &Verification::NotConfigured, now);
//! assert_eq!(signals.kinds().to_string(), "honeypot, link_stuffed, disposable_email");
//! assert_eq!(signals.score, 190);
//!
//! let policy = Policy::from_json_str(r#"{
//!   "name": "inbound", "version": "1", "owners": [{"id": "queue"}],
//!   "rules": [{"id": "bots", "when": {"signal": ["honeypot"]},
//!              "then": {"assign": "nobody", "experience": {"reject": {"reason": "spam"}}}}],
//!   "fallback": {"assign": {"owner": "queue"}}
//! }"#)?;
//! let decision = policy.evaluate(&lead, &Facts::new(now).signals(&signals));
//! assert_eq!(decision.rule.as_deref(), Some("bots"));
//! assert!(!decision.write_to_crm);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The signals
//!
//! Each rule, its default weight ([`Weights`]) and how a real lead can trip
//! it. The defaults keep every signal a person can trip alone below the
//! recommended reject line (100); the table in
//! `tests/fixtures/spam_cases.json` measures them.
//!
//! | signal | fires when | weight | false positives |
//! |---|---|---|---|
//! | `honeypot` | a [`honeypot field`](ScreenConfig::honeypot_fields) has a value: not empty or whitespace, and not an unchecked checkbox's `0`, `false`, `off` or `no` (ASCII case ignored; also the number 0 and `false`) | 100 | browser or password-manager autofill of a hidden field: name it something no autofill recognises, hide it with CSS, `autocomplete="off"`, `tabindex="-1"` |
//! | `too_fast` | submitted less than [`min_fill_ms`](ScreenConfig::min_fill_ms) (3 s) after the start time; a start in the future (a client clock ahead) is not judged | 60 | a person whose browser autofills the whole form; a client clock slightly ahead of the server when the start time is the form's own (prefer a start time the server recorded) |
//! | `link_stuffed` | a URL or a bare spam-TLD domain in the first or last name, or more than [`max_message_links`](ScreenConfig::max_message_links) (2) links in a message field | 50 | someone pasting their LinkedIn URL as a name; a message listing several reference sites |
//! | `script_like` | HTML tags (`<` right before the tag name: `< a few` is text), a `javascript:` URL (the colon followed by more than whitespace: `JavaScript: React` is a list), event handlers, template-injection syntax (`{{…}}` or `${…}` holding more than names and dots: merge fields like `{{first_name}}` are text), SQL-injection syntax, BBCode tags (`[url=`, `[img]`; a Markdown link `[Link](…)` is text) in a name, company or message field; in a name or company also text-formatting tags (`<b>`, `<font>`, `<h1>`; in a message they are the form's own formatting, such as `<br>` line breaks) | 60 | a developer asking about XSS or SQL in the message, or pasting embed code (with `link_stuffed` from the same paste, see below) |
//! | `placeholder_name` | a first or last name that is a placeholder word (`test`, `asdf`, `n/a`, `-`…) or a placeholder pair (`John Doe`) | 20 | people with the surname Test (rare), or trying the form before a real submission. Real names that look like placeholders (`Na`, `Foo`, `Bar`, `Nil`, `Tester`, `Null`) are deliberately not in the list |
//! | `keyboard_mash` | five keys in a row on a QWERTY row (`asdfg`), a repeated run of keys (`sdfsdf`), four repeated letters (five in a company), or a six-letter name with no vowel; ASCII letters only | 30 | rare real names with long consonant runs or without a vowel; a company named after the keyboard (`Qwerty Labs`); names in other scripts are never judged |
//! | `company_is_email_or_url` | the company field holds an email address or a URL (scheme, `www.`, or a path); a bare domain (`Booking.com`) is a company name | 20 | people typing their website as the company |
//! | `disposable_email` | the normalizer classed the email `disposable` | 40 | privacy-minded people using a forwarding service; the normalizer's allowlist exempts forwarding services that real buyers use |
//! | `known_bad_domain` | the email or company domain is at or under a domain on the caller's [`known_bad_domains`](ScreenConfig::known_bad_domains) | 100 | as good as the caller's list |
//! | `repeated_submission` | [`repeat_limit`](ScreenConfig::repeat_limit) (3) or more earlier submissions of the same email within [`repeat_window_secs`](ScreenConfig::repeat_window_secs) (1 h), replays of this submission (same lead id) excluded | 40 | a buyer who resubmits because the confirmation did not load |
//! | `unverified` | a verifier is configured and the submission carried no token | 30 | a browser that blocked the CAPTCHA script (privacy extensions, no JavaScript) |
//! | `verification_failed` | the verifier rejected the token | 60 | a token that expired while the person was typing (providers' tokens last minutes) |
//! | `verification_unavailable` | the verifier failed or ran out of its budget | 0 | none: the buyer is not blamed for the provider's outage; the signal is reported so that a policy can still act on it |
//!
//! **One paste, one finding.** Markup and links that are both in the
//! message fields — a developer pasting an embed snippet and the pages it
//! is on — are one finding, not two: together `link_stuffed` and
//! `script_like` add the larger of their two weights (`link_stuffed`
//! carries its own; `script_like`'s [`Signal::weight`] is what it weighs
//! beyond that, 10 with the defaults), so one paste is held for review and
//! not rejected. The score stays the sum of the signals' weights. Markup
//! or a link in a name or company is evidence of its own and counts in
//! full.
//!
//! Screening is bounded: each text field is judged on its first 16 KiB,
//! and the normalizer's [`Limits`](crate::lead::Limits) bound the rest.
//! The control fields (honeypots, start time, tokens) are removed from the
//! lead's attributes ([`Screen::strip_controls`]) by the router, so they are
//! never written to the CRM.

pub(crate) mod config;
pub(crate) mod rules;
pub(crate) mod scan;
pub(crate) mod screen;
pub(crate) mod signal;
pub(crate) mod swar;
pub(crate) mod text;
pub(crate) mod verify;
pub(crate) mod weights;

pub use config::{ConfigIssue, MAX_BAD_DOMAINS, MAX_FIELD_NAMES, ScreenConfig, ScreenConfigError};
pub use rules::{REJECT_AT, REVIEW_AT, recommended_rules};
pub use screen::{RecentSubmission, Screen, Submission, Verification};
pub use signal::{OBSERVED_LIMIT, Signal, SignalKind, SignalSet, Signals};
pub use verify::{Verdict, Verifier, VerifyError};
pub use weights::{MAX_WEIGHT, Weights};
