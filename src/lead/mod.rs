//! Capture and validate: from a raw form payload ([`LeadInput`]) to a clean
//! [`Lead`], through a [`Normalizer`].

mod company;
mod domain;
mod email;
pub(crate) mod geo;
pub(crate) mod geo_data;
mod input;
pub(crate) mod issue;
mod model;
mod normalizer;
mod phone;
mod range;

pub use email::EmailKind;
pub use input::LeadInput;
pub use issue::{Field, FieldIssue, IssueCode, QUOTE_LIMIT};
pub use model::{CountryCode, CountryCodeError, Lead, Utm};
#[allow(unused_imports)] // used by the policy compiler
pub(crate) use normalizer::product_token;
pub use normalizer::{Limits, NormalizeError, Normalized, Normalizer};
pub use range::{Range, RangeError};
