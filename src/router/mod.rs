//! **Orchestrate**: [`LeadRouter`], the capture-to-owner pipeline — normalize, look up, decide,
//! record the pool step, write, emit — with safe degradation at every I/O step; and what it
//! reports ([`Routed`]).

mod lead_id;
mod observe;
mod pipeline;
mod reassign;
mod record;
pub(crate) mod report;
mod retry;
mod screening;

pub use pipeline::{
    DEFAULT_LOOKUP_BUDGET, DEFAULT_POOL_BUDGET, DEFAULT_VERIFICATION_BUDGET, DEFAULT_WRITE_BUDGET,
    LeadRouter,
};
pub use record::{RECORD_ATTEMPTS, ROUTER_RECORD_ATTEMPTS, RecordError, decide_and_record};
pub use report::{
    DeadLetteredWrite, LookupError, Lookups, PoolStoreFailure, PoolStoreFailureKind, QueuedWrite,
    Reassigned, Routed, Timings, WriteOutcome,
};
pub use retry::{DEFAULT_BATCH_SIZE, DrainReport, MAX_DRAIN_ROUNDS, RetryWorker};
