//! Capture and validate: from a raw form payload ([`LeadInput`]) to a clean
//! [`Lead`], through a [`Normalizer`].

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

pub use email::EmailKind;
pub use input::LeadInput;
pub use issue::{Field, FieldIssue, IssueCode};
pub use model::{CountryCode, CountryCodeError, Lead, Utm};
pub use normalizer::{Limits, NormalizeError, Normalized, Normalizer};
pub use range::{Range, RangeError};
