//! What an outbox holds: an [`OutboxEntry`] (a [`PendingWrite`] with its
//! delivery state), the [`Lease`] a claimer holds on it, and the
//! [`DeadLetter`] it becomes when retrying cannot help.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::crm::{CrmError, PendingWrite};

/// The longest entry id an outbox must accept, in bytes. Entry ids are lead
/// ids (a client's `lead_id` or the router's derived `lr-<ms>-<hash>`), far
/// shorter in practice; the bound lets stores size their key columns.
pub const MAX_ENTRY_ID_LEN: usize = 256;

/// Where an entry is in its life.
///
/// JSON: `"pending"`, `"claimed"`, `"dead"`.
///
/// ```text
///             enqueue                claim (due, or lease expired)
///   ─────────▶ pending ───────────────────────────────▶ claimed
///                 ▲   ◀──────────── fail(next_attempt_at) ──┘ │ │
///                 │                                           │ │ complete
///   requeue ──────┘        dead ◀──────── dead_letter ────────┘ ▼
///   (by hand)                                                (removed)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryStatus {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    /// Held by a claimer until its lease expires.
    Claimed,
    /// Dead-lettered: no more attempts until a person requeues it.
    Dead,
}

impl EntryStatus {
    /// The snake_case name (`pending`, `claimed`, `dead`).
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Pending => "pending",
            EntryStatus::Claimed => "claimed",
            EntryStatus::Dead => "dead",
        }
    }
}

/// A claimer's hold on an entry: who (`owner`), for which attempt, and until
/// when.
///
/// A lease is identified by `owner` **and** `attempt`: the attempt number
/// is the entry's `attempts` count at the claim, which every claim
/// increments, so two claims of the same entry never hold equal leases
/// even when one worker id claims twice (after its own lease expired, or
/// after a restart under the same id). [`Outbox::complete`],
/// [`fail`](super::Outbox::fail) and [`dead_letter`](super::Outbox::dead_letter)
/// apply only while the entry still holds this exact lease.
///
/// JSON: `{"owner": text, "attempt": n, "until_ms": unix ms}`.
///
/// [`Outbox::complete`]: super::Outbox::complete
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Lease {
    /// Who holds it: a worker id, unique per running process (the runtime
    /// makes it up; the core has no randomness), or the router's
    /// [`WRITE_AHEAD_OWNER`](super::WRITE_AHEAD_OWNER) for a write-ahead entry.
    pub owner: String,
    /// The entry's attempt count when this lease was granted (1 for the
    /// first attempt).
    pub attempt: u32,
    /// When the lease expires: from then on the entry can be claimed again.
    #[serde(rename = "until_ms", with = "unix_ms")]
    pub until: SystemTime,
}

impl Lease {
    /// A lease held by `owner` for attempt `attempt` until `until`.
    pub fn new(owner: impl Into<String>, attempt: u32, until: SystemTime) -> Self {
        Lease {
            owner: owner.into(),
            attempt,
            until,
        }
    }

    /// Whether the lease has expired at `now` (expiry is inclusive: at
    /// `until` the entry is claimable again).
    pub fn expired_at(&self, now: SystemTime) -> bool {
        now >= self.until
    }

    /// Whether `other` is the same hold (same owner and attempt; the expiry
    /// does not matter).
    pub fn same_hold(&self, other: &Lease) -> bool {
        self.owner == other.owner && self.attempt == other.attempt
    }
}

/// Why an entry was dead-lettered.
///
/// JSON: `"not_retryable"`, `"attempts_exhausted"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeadReason {
    /// The CRM said retrying cannot help: a `permanent` error (bad data,
    /// authentication, permissions) or a `conflict` that names no record to
    /// update.
    NotRetryable,
    /// The retry policy's attempts ran out (claims whose worker died count:
    /// each claim is an attempt).
    AttemptsExhausted,
}

impl DeadReason {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadReason::NotRetryable => "not_retryable",
            DeadReason::AttemptsExhausted => "attempts_exhausted",
        }
    }
}

/// Why and when an entry stopped being retried.
///
/// JSON: `{"reason": DeadReason, "at_ms": unix ms, "error": CrmError | null}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeadLetter {
    /// Why.
    pub reason: DeadReason,
    /// When.
    #[serde(rename = "at_ms", with = "unix_ms")]
    pub at: SystemTime,
    /// The last error, if an attempt returned one (a worker that died
    /// mid-attempt leaves none).
    #[serde(default)]
    pub error: Option<CrmError>,
}

impl DeadLetter {
    /// A dead letter for `reason` at `at`.
    pub fn new(reason: DeadReason, at: SystemTime, error: Option<CrmError>) -> Self {
        DeadLetter { reason, at, error }
    }
}

/// A CRM write in an outbox, with its delivery state.
///
/// The invariants every [`Outbox`](super::Outbox) keeps: `status` is
/// `claimed` exactly when `lease` is set, and `dead` exactly when
/// `dead_letter` is set; `attempts` counts the write attempts started
/// (the router's own attempt included, and every claim).
///
/// # JSON contract
///
/// ```text
/// {"id": text, "write": PendingWrite, "status": "pending" | "claimed" | "dead",
///  "attempts": n, "enqueued_at_ms": unix ms, "submitted_at_ms": unix ms (optional),
///  "next_attempt_at_ms": unix ms,
///  "lease": Lease | null, "last_error": CrmError | null, "dead_letter": DeadLetter | null}
/// ```
///
/// Times are whole milliseconds since the Unix epoch in JSON (an outbox may
/// store them at that precision).
///
/// ```
/// use leadroute::crm::{CrmError, PendingWrite};
/// use leadroute::outbox::{EntryStatus, OutboxEntry};
/// # use leadroute::policy::spec::{ActionSpec, OwnerSpec};
/// # use leadroute::{Facts, LeadInput, Normalizer, PolicySpec, compile};
/// # let policy = compile(&PolicySpec::new("p", "1").owner(OwnerSpec::new("q", "Queue")).fallback(ActionSpec::owner("q"))).unwrap();
/// # let lead = Normalizer::default().normalize(&LeadInput::from_email("jo@acme.com")).unwrap().lead;
/// # let decision = policy.evaluate(&lead, &Facts::at_unix(0));
/// let write = PendingWrite::new("lead-7", lead, decision, CrmError::transient("502"));
/// use std::time::{Duration, SystemTime};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let entry = OutboxEntry::new(write, now).retry_at(now + Duration::from_secs(2));
/// assert_eq!(entry.id, "lead-7");
/// assert_eq!(entry.status, EntryStatus::Pending);
/// let json = serde_json::to_value(&entry).unwrap();
/// assert_eq!(json["next_attempt_at_ms"], 1_700_000_002_000u64);
/// assert_eq!(serde_json::from_value::<OutboxEntry>(json).unwrap(), entry);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutboxEntry {
    /// The entry's id and idempotency key: the write's lead id. An outbox
    /// holds at most one entry per id (see [`Outbox::enqueue`](super::Outbox::enqueue)).
    pub id: String,
    /// The write to deliver.
    pub write: PendingWrite,
    /// Pending, claimed or dead.
    pub status: EntryStatus,
    /// Write attempts started so far.
    pub attempts: u32,
    /// When the entry was enqueued.
    #[serde(rename = "enqueued_at_ms", with = "unix_ms")]
    pub enqueued_at: SystemTime,
    /// When the lead was submitted, if known (the router sets it), so that
    /// a late write's events still measure speed-to-lead from the submit.
    #[serde(
        rename = "submitted_at_ms",
        default,
        with = "opt_unix_ms",
        skip_serializing_if = "Option::is_none"
    )]
    pub submitted_at: Option<SystemTime>,
    /// The earliest time a claim may take a `pending` entry.
    #[serde(rename = "next_attempt_at_ms", with = "unix_ms")]
    pub next_attempt_at: SystemTime,
    /// The current hold, when `claimed`.
    #[serde(default)]
    pub lease: Option<Lease>,
    /// The last attempt's error, if any.
    #[serde(default)]
    pub last_error: Option<CrmError>,
    /// Why and when it was dead-lettered, when `dead`.
    #[serde(default)]
    pub dead_letter: Option<DeadLetter>,
}

impl OutboxEntry {
    /// A pending entry for `write`, due at `now`, with no attempt made; its
    /// id is the write's lead id.
    pub fn new(write: PendingWrite, now: SystemTime) -> Self {
        OutboxEntry {
            id: write.lead_id.clone(),
            write,
            status: EntryStatus::Pending,
            attempts: 0,
            enqueued_at: now,
            submitted_at: None,
            next_attempt_at: now,
            lease: None,
            last_error: None,
            dead_letter: None,
        }
    }

    /// Sets when the lead was submitted.
    pub fn submitted_at(mut self, at: SystemTime) -> Self {
        self.submitted_at = Some(at);
        self
    }

    /// Sets the id (by default the lead id).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Records `attempts` attempts already made, the last one failing with
    /// `error` (e.g. the router's inline write).
    pub fn after_attempts(mut self, attempts: u32, error: CrmError) -> Self {
        self.attempts = attempts;
        self.last_error = Some(error);
        self
    }

    /// Makes the entry due at `at` (pending).
    pub fn retry_at(mut self, at: SystemTime) -> Self {
        self.status = EntryStatus::Pending;
        self.lease = None;
        self.dead_letter = None;
        self.next_attempt_at = at;
        self
    }

    /// Enqueues the entry already claimed by `owner` for `lease_for`: the
    /// write-ahead shape, where the enqueuer makes the first attempt itself
    /// and a crash before it finishes leaves the entry to be claimed when
    /// the lease expires. Counts that attempt.
    pub fn claimed_by(mut self, owner: impl Into<String>, lease_for: Duration) -> Self {
        self.attempts += 1;
        let until = self
            .enqueued_at
            .checked_add(lease_for)
            .unwrap_or(self.enqueued_at);
        self.lease = Some(Lease::new(owner, self.attempts, until));
        self.status = EntryStatus::Claimed;
        self.dead_letter = None;
        self
    }

    /// Enqueues the entry dead-lettered (e.g. a write the CRM refused with a
    /// permanent error), so that it is kept for a person to see.
    pub fn dead(mut self, letter: DeadLetter) -> Self {
        self.status = EntryStatus::Dead;
        self.lease = None;
        if letter.error.is_some() {
            self.last_error.clone_from(&letter.error);
        }
        self.dead_letter = Some(letter);
        self
    }

    /// When a claim can take this entry: `next_attempt_at` when pending,
    /// the lease's expiry when claimed, never when dead.
    pub fn due_at(&self) -> Option<SystemTime> {
        match self.status {
            EntryStatus::Pending => Some(self.next_attempt_at),
            EntryStatus::Claimed => self.lease.as_ref().map(|l| l.until),
            EntryStatus::Dead => None,
        }
    }

    /// Whether a claim at `now` can take this entry.
    pub fn claimable_at(&self, now: SystemTime) -> bool {
        self.due_at().is_some_and(|due| due <= now)
    }

    /// Checks the entry's shape before a store takes it: a non-empty id of
    /// at most [`MAX_ENTRY_ID_LEN`] bytes, and status, lease and dead letter
    /// agreeing. Returns what is wrong.
    pub fn validate(&self) -> Result<(), InvalidEntry> {
        if self.id.is_empty() {
            return Err(InvalidEntry::EmptyId);
        }
        if self.id.len() > MAX_ENTRY_ID_LEN {
            return Err(InvalidEntry::IdTooLong {
                len: self.id.len(),
                max: MAX_ENTRY_ID_LEN,
            });
        }
        let consistent = match self.status {
            EntryStatus::Pending => self.lease.is_none() && self.dead_letter.is_none(),
            EntryStatus::Claimed => self.lease.is_some() && self.dead_letter.is_none(),
            EntryStatus::Dead => self.lease.is_none() && self.dead_letter.is_some(),
        };
        if !consistent {
            return Err(InvalidEntry::Inconsistent {
                status: self.status,
            });
        }
        Ok(())
    }
}

/// An entry an outbox must refuse ([`OutboxEntry::validate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidEntry {
    /// The id is empty.
    #[error("outbox entry id is empty")]
    EmptyId,
    /// The id is longer than [`MAX_ENTRY_ID_LEN`].
    #[error("outbox entry id is {len} bytes long; the most is {max}")]
    IdTooLong {
        /// The id's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Status, lease and dead letter disagree (a `claimed` entry without a
    /// lease, a `dead` one without its dead letter, …).
    #[error("outbox entry is `{}` but its lease or dead letter says otherwise", .status.as_str())]
    Inconsistent {
        /// The entry's status.
        status: EntryStatus,
    },
}

/// What [`Outbox::enqueue`](super::Outbox::enqueue) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "enqueued", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Enqueued {
    /// The entry was added.
    Added,
    /// An entry with this id was already there (in this status) and was
    /// left unchanged.
    AlreadyPresent {
        /// The existing entry's status.
        status: EntryStatus,
    },
}

/// How many entries an outbox holds, by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutboxStats {
    /// Waiting for an attempt.
    pub pending: u64,
    /// Held by a claimer (leases expired or not).
    pub claimed: u64,
    /// Dead-lettered.
    pub dead: u64,
}

impl OutboxStats {
    /// Counts.
    pub fn new(pending: u64, claimed: u64, dead: u64) -> Self {
        OutboxStats {
            pending,
            claimed,
            dead,
        }
    }
}

/// `SystemTime` as whole milliseconds since the Unix epoch (times before
/// it as 0).
pub(crate) mod unix_ms {
    use std::time::{Duration, SystemTime};

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn to_ms(t: SystemTime) -> u64 {
        let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
    }

    pub(crate) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(to_ms(*t))
    }

    pub(crate) fn from_ms(ms: u64) -> Result<SystemTime, String> {
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_millis(ms))
            .ok_or_else(|| format!("{ms} ms is out of range for a time"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        from_ms(u64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// `Option<SystemTime>` as whole milliseconds since the Unix epoch.
mod opt_unix_ms {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        t: &Option<SystemTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => crate::outbox::entry::unix_ms::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        match Option::<u64>::deserialize(d)? {
            None => Ok(None),
            Some(ms) => crate::outbox::entry::unix_ms::from_ms(ms)
                .map(Some)
                .map_err(serde::de::Error::custom),
        }
    }
}
