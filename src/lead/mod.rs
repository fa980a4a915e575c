//! **Capture and validate**: from a raw form payload ([`LeadInput`]) to a
//! clean [`Lead`], through a [`Normalizer`].
//!
//! A [`LeadInput`] accepts the field names real forms and CRMs send (case-
//! and separator-insensitive: `Email`, `e-mail`, `company_size`,
//! `NumberOfEmployees`…), numbers as text, and keeps unknown fields as
//! `attributes`. [`Normalizer::normalize`] checks and cleans every field and
//! returns the [`Lead`] with its warnings ([`Normalized`]), or every field
//! error at once ([`NormalizeError`]), each a [`FieldIssue`] naming the
//! [`Field`], a stable [`IssueCode`], the offending value (shortened) and a
//! sentence. Input sizes are bounded by [`Limits`].
//!
//! ```
//! use leadroute::Normalizer;
//! use leadroute::lead::{EmailKind, Field, IssueCode, Range};
//!
//! let normalizer = Normalizer::default(); // build once; Send + Sync
//! let ok = normalizer.normalize_json(r#"{"Email": "ana@gmail.com", "NumberOfEmployees": "1,000+"}"#)?;
//! assert_eq!(ok.lead.email_kind, EmailKind::Free);
//! assert_eq!(ok.lead.company_domain, None); // a free mailbox says nothing about the company
//! assert_eq!(ok.lead.employees, Some(Range::at_least(1000)));
//!
//! let err = normalizer.normalize_json(r#"{"email": "not-an-email", "company": {"name": "Acme"}}"#).unwrap_err();
//! let fields: Vec<_> = err.errors.iter().map(|e| (e.field.clone(), e.code)).collect();
//! assert_eq!(fields, [(Field::Email, IssueCode::Invalid), (Field::Company, IssueCode::WrongType)]);
//!
//! // An optional field's unreadable answer is a warning; the lead stands.
//! let ok = normalizer.normalize_json(r#"{"email": "ana@acme.com", "employees": "lots"}"#)?;
//! assert_eq!((ok.lead.employees, ok.warnings[0].code), (None, IssueCode::Invalid));
//! # Ok::<(), leadroute::lead::NormalizeError>(())
//! ```

pub(crate) mod company;
pub(crate) mod domain;
pub(crate) mod email;
pub(crate) mod geo;
pub(crate) mod geo_data;
pub(crate) mod input;
pub(crate) mod issue;
pub(crate) mod model;
pub(crate) mod normalizer;
pub(crate) mod phone;
pub(crate) mod range;
pub(crate) mod spoofing;
pub(crate) mod tables;

pub use email::EmailKind;
pub use input::LeadInput;
pub use issue::{Field, FieldIssue, IssueCode};
pub use model::{CountryCode, CountryCodeError, Lead, Utm};
pub use normalizer::{Limits, NormalizeError, Normalized, Normalizer};
pub use range::{Range, RangeError};
