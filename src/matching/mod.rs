//! **Match**: which existing CRM account a lead belongs to — a pure,
//! explainable stage between the lead and the policy.
//!
//! Given a [`Lead`](crate::Lead) and **candidate accounts** (from
//! [`Crm::find_candidates`](crate::Crm::find_candidates), an accounts file,
//! or anything else), a [`Matcher`] returns an [`AccountMatch`]: the chosen
//! account or none, the [`MatchMethod`] that decided, a confidence, the
//! [`TieBreaker`] that separated close candidates, every candidate with the
//! [`Evidence`] behind its score, and an explicit **ambiguous** outcome when
//! the evidence does not separate the best candidates. It never guesses:
//! precision comes first, because a wrong match sends a stranger's lead to
//! an account owner.
//!
//! ```
//! use leadroute::Normalizer;
//! use leadroute::crm::Account;
//! use leadroute::matching::{MatchMethod, Matcher};
//!
//! let lead = Normalizer::default()
//!     .normalize_json(r#"{"email": "jane@acme.co.uk", "company": "ACME Ltd", "country": "GB"}"#)?
//!     .lead;
//! let accounts = [
//!     Account::new("001", "Acme Corporation").domain("https://www.acme.com").owner("ana"),
//!     Account::new("002", "Acme Labs").domain("acmelabs.io"),
//!     Account::new("003", "Initech").domain("initech.com"),
//! ];
//! let m = Matcher::default().match_accounts(&lead, &accounts);
//! assert_eq!(m.account_id.as_deref(), Some("001"));
//! assert_eq!(m.method, Some(MatchMethod::CrossTld));
//! assert_eq!(m.confidence, 0.85); // cross-TLD 0.7 + the names agree 0.15
//! assert_eq!(
//!     m.to_string(),
//!     "matched Acme Corporation (acme.com) by cross-TLD domain acme.co.uk, confidence 0.85; \
//!      2 candidates without evidence"
//! );
//! # Ok::<(), leadroute::lead::NormalizeError>(())
//! ```
//!
//! # The algorithm
//!
//! 1. **Prepare.** The lead's domains are its company domain and, for a
//!    business email, the email host (`uk.acme.com`). A CRM's `domain` and
//!    `additional_domains` are read like websites (`https://www.acme.com/en`
//!    → `acme.com`). Free-mail, disposable and reserved (`example.com`)
//!    domains are never matched on, on either side. Names become match keys:
//!    the normalizer's company key (transliteration, accents, case,
//!    punctuation, ~1,200 legal forms) with connectors between words dropped
//!    (`&`, `and`, `und`, `et`, `y`, `e`, `en`, `och`, `og`), so `Procter &
//!    Gamble Co.` and `Procter und Gamble GmbH` key alike.
//! 2. **Gather evidence** per candidate. Identifying signals (the
//!    [`MatchMethod`]s): the same host (`exact_domain`), one of the
//!    account's additional domains (`additional_domain`), the same
//!    registrable domain with a subdomain on one side (`subdomain`), the
//!    account most contacts with the lead's email domain belong to
//!    (`contact_domain`: at least `min_contacts` and at least
//!    `contact_majority` of those contacts among the candidates), the same
//!    brand under another suffix (`cross_tld`: `acme.co.uk` ↔ `acme.com`;
//!    never for brands shorter than `min_brand_len`, all digits, or generic
//!    words such as `global` or `shop`), equal name keys (`name_key`),
//!    similar name keys (`fuzzy_name`: Jaro–Winkler, from `strsim`, at least
//!    `fuzzy_min_similarity`, keys of four characters or more) and acronyms
//!    (`acronym`: `AMD` ↔ `Advanced Micro Devices`). Supporting signals: the
//!    same country, postal code or phone (last nine digits), and similar
//!    domains (similar brands, or a brand that is the other side's name).
//!    Conflicts: both sides have business domains and nothing relates them;
//!    both have countries and they differ.
//! 3. **Score.** A candidate's method is its strongest identifying signal;
//!    its score is that method's weight, plus each *other* kind of agreeing
//!    evidence once (`support_domain`, `support_name`, `support_country`,
//!    `support_postal_code`, `support_phone`), minus the conflicts, clamped
//!    to 0–1. [`Weights`] lists the defaults. `fuzzy_name` and `acronym`
//!    need a supporting signal that is not a name; so does every name method
//!    for a **free-mail or disposable** lead, whose domains (a website it
//!    typed) can only support, never identify.
//! 4. **Choose.** Candidates with a method, the support they need and at
//!    least `min_confidence` are eligible. Those within `ambiguity_margin` of
//!    the best score contend; one contender is the match. Several go
//!    through the [tie-breakers](TieBreaker) in order (default:
//!    [`TieBreaker::DEFAULT_ORDER`]); the first that leaves one decides, and
//!    if none does the outcome is **ambiguous** and no account is chosen.
//! 5. **Parents.** With `route_to_parent`, a matched subsidiary whose
//!    `parent_id` is among the candidates is routed to the parent
//!    (`routed_account_id`); the `parent` tie-breaker prefers a parent over
//!    its own subsidiaries when both contend.
//!
//! Matching is deterministic and independent of the candidates' order:
//! candidates are read in id order (duplicates by id once, at most
//! `max_candidates`), ties are broken by data, never by position.
//!
//! Weights, thresholds, tie-breakers and options are a [`MatchConfig`]
//! (serde: JSON or TOML), checked by [`Matcher::new`]. The
//! [`LeadRouter`](crate::LeadRouter) runs its matcher on the CRM's
//! candidates.
//!
//! # Prepared candidates
//!
//! Most of a match's cost is reading the candidates: parsing websites,
//! looking up public suffixes and free-mail lists, transliterating and
//! keying names. [`Matcher::match_accounts`] does it per call, for fresh
//! CRM results; callers who hold accounts (an in-memory CRM, an accounts
//! file, a service's cache) build a [`CandidateSet`] once and call
//! [`Matcher::match_set`], which only compares. The lead is read once per
//! match either way, and the similarity of two names is computed only when
//! a cheap bound (the letters they share) says it can reach the threshold.
//! Both paths give identical results. A CRM adapter that keeps a set hands
//! it to the router as [`Candidates::Prepared`].
//!
//! The lead itself (its domains, name key, country, postal code, phone) is
//! read once for both the CRM query and the match when it is prepared with
//! [`Matcher::prepare_lead`]: the [`PreparedLead`] gives the query
//! ([`CandidateQuery::for_prepared_lead`](crate::crm::CandidateQuery::for_prepared_lead))
//! and is matched with [`Matcher::match_prepared_with`]. The router does
//! this for every lead.
//!
//! Policies test the result with the `account_match` condition
//! (`matched_by`, `min_confidence`, `ambiguous`), and
//! [`Policy::explain`](crate::Policy::explain) prints it.

mod config;
mod domains;
mod matcher;
mod names;
mod prepared;
mod result;
mod score;
mod tiebreak;

pub use config::{MAX_CANDIDATES_LIMIT, MatchConfig, MatchConfigError, Weights};
pub use matcher::Matcher;
pub use prepared::{CandidateSet, Candidates, PreparedLead};
pub use result::{
    AccountMatch, CandidateReport, CandidateStatus, Evidence, MatchMethod, MatchOutcome, Signal,
};
pub use tiebreak::TieBreaker;

pub(crate) use domains::Host;
pub(crate) use names::{NameKey, name_words};
