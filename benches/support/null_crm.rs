//! A CRM adapter that answers every call at once and keeps nothing: the
//! adapter cost floor for the pipeline benchmarks.
//!
//! Include with `#[path = "support/null_crm.rs"] mod null_crm;`.
#![allow(dead_code)]

use std::future::Future;

use leadroute::Crm;
use leadroute::crm::{Account, Contact, CrmError, LeadWrite, WriteReceipt};

/// No account, no person, every write accepted as `rec-1`.
pub struct NullCrm;

impl Crm for NullCrm {
    fn find_account(
        &self,
        _: &str,
    ) -> impl Future<Output = Result<Option<Account>, CrmError>> + Send {
        std::future::ready(Ok(None))
    }
    fn find_person(
        &self,
        _: &str,
    ) -> impl Future<Output = Result<Option<Contact>, CrmError>> + Send {
        std::future::ready(Ok(None))
    }
    fn upsert_lead(
        &self,
        _: &LeadWrite<'_>,
    ) -> impl Future<Output = Result<WriteReceipt, CrmError>> + Send {
        std::future::ready(Ok(WriteReceipt::new("rec-1", true)))
    }
}
