//! [`PostgresOutbox`]: the durable outbox of CRM writes in a table, claimed
//! with `FOR UPDATE SKIP LOCKED` under leases.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use leadroute::crm::CrmError;
use leadroute::outbox::{
    DeadLetter, Enqueued, EntryStatus, Lease, MAX_BATCH, Outbox, OutboxEntry, OutboxStats,
};
use tokio_postgres::Row;
use tokio_postgres::types::Type;

use crate::conn::{PgConnection, PostgresConfig};
use crate::error::PostgresStoreError;

/// The columns an entry is read back from, in [`decode`]'s order.
const COLS: &str = "entry::text, status, attempts, next_attempt_at_ms, lease_owner, \
     lease_attempt, lease_until_ms, last_error::text, dead_letter::text";

const INSERT: &str = "INSERT INTO leadroute_outbox (id, status, attempts, next_attempt_at_ms, \
     lease_owner, lease_attempt, lease_until_ms, last_error, dead_letter, dead_at_ms, entry) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10, $11::jsonb) \
     ON CONFLICT (id) DO NOTHING";

/// The whole claim in one statement: lock the earliest due rows nobody else
/// is locking (`SKIP LOCKED`: concurrent claimers take disjoint batches
/// without waiting on each other), and lease them.
fn claim_sql() -> String {
    let returning = COLS
        .split(", ")
        .map(|c| format!("o.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "WITH due AS (SELECT id, due_ms, seq FROM leadroute_outbox WHERE due_ms <= $2 \
         ORDER BY due_ms, seq LIMIT $4 FOR UPDATE SKIP LOCKED) \
         UPDATE leadroute_outbox o SET status = 'claimed', attempts = o.attempts + 1, \
         lease_owner = $1, lease_attempt = o.attempts + 1, lease_until_ms = $3 \
         FROM due WHERE o.id = due.id RETURNING due.due_ms, due.seq, {returning}"
    )
}

/// Only while the entry is claimed under the same hold (owner and attempt).
const HOLD: &str = "id = $1 AND status = 'claimed' AND lease_owner = $2 AND attempts = $3";

/// An [`Outbox`] on PostgreSQL: the table `leadroute_outbox` created by
/// [`migrate`](crate::migrate), one row per entry (the lead id is the
/// primary key, so enqueue is idempotent).
///
/// - `claim` is one `UPDATE … FROM (SELECT … ORDER BY due_ms, seq LIMIT n
///   FOR UPDATE SKIP LOCKED)`: concurrent workers take disjoint batches
///   without blocking each other; an expired lease makes the row due again.
/// - `complete`, `fail` and `dead_letter` are single statements guarded by
///   `WHERE id = $1 AND status = 'claimed' AND lease_owner = $2 AND
///   attempts = $3`, so a holder whose lease was taken over changes nothing.
///
/// Calls are retried after connection faults like the pool store's (see
/// [`PostgresConfig::retry_for`]). A repeat after an unknown outcome is
/// harmless for every call but `claim`, where it can lease a second batch;
/// the first batch's rows then wait for their lease to expire and are
/// claimed again (at least once, see the trait docs).
#[derive(Debug, Clone)]
pub struct PostgresOutbox {
    conn: PgConnection,
    claim_sql: std::sync::Arc<str>,
}

impl PostgresOutbox {
    /// Connects to `conninfo` with the default [`PostgresConfig`].
    pub async fn connect(conninfo: &str) -> Result<Self, PostgresStoreError> {
        Ok(Self::on(
            PgConnection::connect(conninfo, PostgresConfig::default()).await?,
        ))
    }

    /// An outbox on existing connections (shared with the pool store).
    pub fn on(conn: PgConnection) -> Self {
        PostgresOutbox {
            conn,
            claim_sql: claim_sql().into(),
        }
    }

    /// The connections.
    pub fn connection(&self) -> &PgConnection {
        &self.conn
    }

    async fn do_enqueue(&self, entry: OutboxEntry) -> Result<Enqueued, PostgresStoreError> {
        entry
            .validate()
            .map_err(|source| PostgresStoreError::InvalidEntry { source })?;
        let op = || format!("enqueue of outbox entry `{}`", entry.id);
        let json = serde_json::to_string(&entry).map_err(|e| corrupt(op(), e))?;
        let status = entry.status.as_str();
        let attempts = i32::try_from(entry.attempts).unwrap_or(i32::MAX);
        let next = ms(entry.next_attempt_at);
        let (owner, attempt, until) = match &entry.lease {
            Some(l) => (
                Some(l.owner.as_str()),
                Some(i32::try_from(l.attempt).unwrap_or(i32::MAX)),
                Some(ms(l.until)),
            ),
            None => (None, None, None),
        };
        let last_error = to_json(&entry.last_error).map_err(|e| corrupt(op(), e))?;
        let dead = to_json(&entry.dead_letter).map_err(|e| corrupt(op(), e))?;
        let dead_at = entry.dead_letter.as_ref().map(|d| ms(d.at));
        let id = entry.id.as_str();
        loop {
            let inserted = self
                .conn
                .run(op, |c| {
                    let (json, last_error, dead) = (&json, &last_error, &dead);
                    async move {
                        c.execute_typed(
                            INSERT,
                            &[
                                (&id, Type::TEXT),
                                (&status, Type::TEXT),
                                (&attempts, Type::INT4),
                                (&next, Type::INT8),
                                (&owner, Type::TEXT),
                                (&attempt, Type::INT4),
                                (&until, Type::INT8),
                                (last_error, Type::TEXT),
                                (dead, Type::TEXT),
                                (&dead_at, Type::INT8),
                                (json, Type::TEXT),
                            ],
                        )
                        .await
                    }
                })
                .await?;
            if inserted == 1 {
                return Ok(Enqueued::Added);
            }
            if let Some(present) = self.do_get(id).await? {
                return Ok(Enqueued::AlreadyPresent {
                    status: present.status,
                });
            }
            // Removed between our insert and our read: insert again.
        }
    }

    async fn do_claim(
        &self,
        owner: &str,
        now: SystemTime,
        lease_for: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, PostgresStoreError> {
        let limit = i64::try_from(limit.min(MAX_BATCH)).unwrap_or(0);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (now_ms, until) = (ms(now), ms(now.checked_add(lease_for).unwrap_or(now)));
        let op = || format!("claim of up to {limit} outbox entries for `{owner}`");
        let sql = &*self.claim_sql;
        let rows = self
            .conn
            .run(op, |c| async move {
                c.query_typed(
                    sql,
                    &[
                        (&owner, Type::TEXT),
                        (&now_ms, Type::INT8),
                        (&until, Type::INT8),
                        (&limit, Type::INT8),
                    ],
                )
                .await
            })
            .await?;
        // RETURNING has no order: sort by the due time and enqueue order
        // the rows were picked by.
        let mut claimed = rows
            .iter()
            .map(|row| {
                let key: (i64, i64) = (row.get(0), row.get(1));
                decode(row, 2).map(|e| (key, e))
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(|message| PostgresStoreError::Corrupt { op: op(), message })?;
        claimed.sort_by_key(|(key, _)| *key);
        Ok(claimed.into_iter().map(|(_, e)| e).collect())
    }

    async fn held(
        &self,
        op: String,
        sql: &str,
        id: &str,
        lease: &Lease,
        extra: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> Result<bool, PostgresStoreError> {
        let attempt = i32::try_from(lease.attempt).unwrap_or(i32::MAX);
        let owner = lease.owner.as_str();
        let mut params: Vec<(&(dyn tokio_postgres::types::ToSql + Sync), Type)> = vec![
            (&id, Type::TEXT),
            (&owner, Type::TEXT),
            (&attempt, Type::INT4),
        ];
        params.extend(extra.iter().map(|(v, t)| (*v, t.clone())));
        let n = self
            .conn
            .run(
                || op.clone(),
                |c| {
                    let params = &params;
                    async move { c.execute_typed(sql, params).await }
                },
            )
            .await?;
        Ok(n == 1)
    }

    async fn do_get(&self, id: &str) -> Result<Option<OutboxEntry>, PostgresStoreError> {
        let op = || format!("read of outbox entry `{id}`");
        let sql = format!("SELECT {COLS} FROM leadroute_outbox WHERE id = $1");
        let row = self
            .conn
            .run(op, |c| {
                let sql = sql.as_str();
                async move { c.query_typed_opt(sql, &[(&id, Type::TEXT)]).await }
            })
            .await?;
        row.map(|r| decode(&r, 0))
            .transpose()
            .map_err(|message| PostgresStoreError::Corrupt { op: op(), message })
    }

    async fn do_dead_letters(&self, limit: usize) -> Result<Vec<OutboxEntry>, PostgresStoreError> {
        let limit = i64::try_from(limit.min(MAX_BATCH)).unwrap_or(0);
        let op = || "listing of dead letters".to_owned();
        let sql = format!(
            "SELECT {COLS} FROM leadroute_outbox WHERE status = 'dead' ORDER BY dead_at_ms, id LIMIT $1"
        );
        let rows = self
            .conn
            .run(op, |c| {
                let sql = sql.as_str();
                async move { c.query_typed(sql, &[(&limit, Type::INT8)]).await }
            })
            .await?;
        rows.iter()
            .map(|r| decode(r, 0))
            .collect::<Result<_, _>>()
            .map_err(|message| PostgresStoreError::Corrupt { op: op(), message })
    }

    async fn execute(
        &self,
        op: String,
        sql: &'static str,
        params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
    ) -> Result<u64, PostgresStoreError> {
        self.conn
            .run(
                || op.clone(),
                |c| async move { c.execute_typed(sql, params).await },
            )
            .await
    }

    async fn do_stats(&self) -> Result<OutboxStats, PostgresStoreError> {
        let rows = self
            .conn
            .run(
                || "outbox statistics".to_owned(),
                |c| async move {
                    c.query_typed(
                        "SELECT status, count(*) FROM leadroute_outbox GROUP BY status",
                        &[],
                    )
                    .await
                },
            )
            .await?;
        let (mut pending, mut claimed, mut dead) = (0, 0, 0);
        for row in rows {
            let (status, n): (String, i64) = (row.get(0), row.get(1));
            let n = u64::try_from(n).unwrap_or(0);
            match status.as_str() {
                "pending" => pending = n,
                "claimed" => claimed = n,
                _ => dead = n,
            }
        }
        Ok(OutboxStats::new(pending, claimed, dead))
    }
}

fn corrupt(op: String, e: serde_json::Error) -> PostgresStoreError {
    PostgresStoreError::Corrupt {
        op,
        message: e.to_string(),
    }
}

/// Unix milliseconds (0 before the epoch, which no real time is).
fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn to_json<T: serde::Serialize>(v: &Option<T>) -> Result<Option<String>, serde_json::Error> {
    v.as_ref().map(serde_json::to_string).transpose()
}

/// An entry from the columns [`COLS`] starting at `at`: the enqueued JSON,
/// with the changing fields taken from their columns.
fn decode(row: &Row, at: usize) -> Result<OutboxEntry, String> {
    let json: String = row.get(at);
    let mut entry: OutboxEntry =
        serde_json::from_str(&json).map_err(|e| format!("`entry` is not an outbox entry: {e}"))?;
    let status: String = row.get(at + 1);
    entry.status = serde_json::from_value(serde_json::Value::String(status.clone()))
        .map_err(|_| format!("`status` is `{status}`"))?;
    let attempts: i32 = row.get(at + 2);
    entry.attempts = u32::try_from(attempts).map_err(|_| format!("`attempts` is {attempts}"))?;
    entry.next_attempt_at = from_ms(row.get(at + 3));
    let (owner, attempt, until): (Option<String>, Option<i32>, Option<i64>) =
        (row.get(at + 4), row.get(at + 5), row.get(at + 6));
    entry.lease = match (owner, attempt, until) {
        (Some(owner), Some(attempt), Some(until)) if entry.status == EntryStatus::Claimed => Some(
            Lease::new(owner, u32::try_from(attempt).unwrap_or(0), from_ms(until)),
        ),
        _ => None,
    };
    let last_error: Option<String> = row.get(at + 7);
    entry.last_error = last_error
        .map(|s| serde_json::from_str::<CrmError>(&s))
        .transpose()
        .map_err(|e| format!("`last_error` is not a CRM error: {e}"))?;
    let dead: Option<String> = row.get(at + 8);
    entry.dead_letter = dead
        .map(|s| serde_json::from_str::<DeadLetter>(&s))
        .transpose()
        .map_err(|e| format!("`dead_letter` is not a dead letter: {e}"))?;
    Ok(entry)
}

impl Outbox for PostgresOutbox {
    type Error = PostgresStoreError;

    async fn enqueue(&self, entry: OutboxEntry) -> Result<Enqueued, Self::Error> {
        self.do_enqueue(entry).await
    }

    fn claim(
        &self,
        owner: &str,
        now: SystemTime,
        lease_for: Duration,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, Self::Error>> + Send {
        self.do_claim(owner, now, lease_for, limit)
    }

    async fn complete(&self, id: &str, lease: &Lease) -> Result<bool, Self::Error> {
        let sql = format!("DELETE FROM leadroute_outbox WHERE {HOLD}");
        self.held(
            format!("completion of outbox entry `{id}`"),
            &sql,
            id,
            lease,
            &[],
        )
        .await
    }

    async fn fail(
        &self,
        id: &str,
        lease: &Lease,
        error: &CrmError,
        next_attempt_at: SystemTime,
    ) -> Result<bool, Self::Error> {
        let op = format!("failure report of outbox entry `{id}`");
        let error = serde_json::to_string(error).map_err(|e| corrupt(op.clone(), e))?;
        let next = ms(next_attempt_at);
        let sql = format!(
            "UPDATE leadroute_outbox SET status = 'pending', lease_owner = NULL, lease_attempt = NULL, \
             lease_until_ms = NULL, next_attempt_at_ms = $4, last_error = $5::jsonb WHERE {HOLD}"
        );
        self.held(
            op,
            &sql,
            id,
            lease,
            &[(&next, Type::INT8), (&error, Type::TEXT)],
        )
        .await
    }

    async fn dead_letter(
        &self,
        id: &str,
        lease: &Lease,
        letter: &DeadLetter,
    ) -> Result<bool, Self::Error> {
        let op = format!("dead-lettering of outbox entry `{id}`");
        let json = serde_json::to_string(letter).map_err(|e| corrupt(op.clone(), e))?;
        let error = to_json(&letter.error).map_err(|e| corrupt(op.clone(), e))?;
        let at = ms(letter.at);
        let sql = format!(
            "UPDATE leadroute_outbox SET status = 'dead', lease_owner = NULL, lease_attempt = NULL, \
             lease_until_ms = NULL, dead_letter = $4::jsonb, dead_at_ms = $5, \
             last_error = COALESCE($6::jsonb, last_error) WHERE {HOLD}"
        );
        self.held(
            op,
            &sql,
            id,
            lease,
            &[(&json, Type::TEXT), (&at, Type::INT8), (&error, Type::TEXT)],
        )
        .await
    }

    async fn get(&self, id: &str) -> Result<Option<OutboxEntry>, Self::Error> {
        self.do_get(id).await
    }

    fn dead_letters(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<OutboxEntry>, Self::Error>> + Send {
        self.do_dead_letters(limit)
    }

    async fn requeue(&self, id: &str, now: SystemTime) -> Result<bool, Self::Error> {
        let now = ms(now);
        let n = self
            .execute(
                format!("requeue of outbox entry `{id}`"),
                "UPDATE leadroute_outbox SET status = 'pending', next_attempt_at_ms = $2, attempts = 0, \
                 dead_letter = NULL, dead_at_ms = NULL WHERE id = $1 AND status = 'dead'",
                &[(&id, Type::TEXT), (&now, Type::INT8)],
            )
            .await?;
        Ok(n == 1)
    }

    async fn remove(&self, id: &str) -> Result<bool, Self::Error> {
        let n = self
            .execute(
                format!("removal of outbox entry `{id}`"),
                "DELETE FROM leadroute_outbox WHERE id = $1",
                &[(&id, Type::TEXT)],
            )
            .await?;
        Ok(n == 1)
    }

    fn stats(&self) -> impl Future<Output = Result<OutboxStats, Self::Error>> + Send {
        self.do_stats()
    }
}
