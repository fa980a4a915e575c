//! [`RedisOutbox`]: the durable outbox of CRM writes in Redis: a hash per
//! entry, sorted sets by due time, and a Lua script per operation.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use leadroute::crm::CrmError;
use leadroute::outbox::{
    DeadLetter, Enqueued, EntryStatus, Lease, MAX_BATCH, Outbox, OutboxEntry, OutboxStats,
};
use redis::Script;

use crate::conn::{RedisConfig, RedisConnection};
use crate::error::RedisStoreError;

/// Adds an entry unless its hash exists. KEYS: the entry's hash, the
/// pending, claimed and dead sets, the sequence counter. ARGV: id, status,
/// attempts, next attempt (ms), lease owner, lease attempt, lease until (ms),
/// last error JSON, dead letter JSON, dead-letter time (ms), entry JSON
/// (`''` for an absent value). Returns the present status, or `added`.
const ENQUEUE: &str = r"
local present = redis.call('HGET', KEYS[1], 'status')
if present then return present end
local seq = redis.call('INCR', KEYS[5])
local member = string.format('%020d', seq) .. ':' .. ARGV[1]
redis.call('HSET', KEYS[1], 'entry', ARGV[11], 'status', ARGV[2], 'attempts', ARGV[3],
  'next_ms', ARGV[4], 'member', member)
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'lease_owner', ARGV[5], 'lease_attempt', ARGV[6], 'lease_until', ARGV[7])
end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'last_error', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'dead_letter', ARGV[9], 'dead_at', ARGV[10]) end
if ARGV[2] == 'pending' then redis.call('ZADD', KEYS[2], ARGV[4], member)
elseif ARGV[2] == 'claimed' then redis.call('ZADD', KEYS[3], ARGV[7], member)
else redis.call('ZADD', KEYS[4], ARGV[10], ARGV[1]) end
return 'added'
";

/// Claims the earliest due entries. KEYS: the pending and claimed sets.
/// ARGV: the entry-hash key prefix, owner, now (ms), lease until (ms),
/// limit. Set members are `<20-digit sequence>:<id>`, so equal due times
/// fall back to enqueue order. Returns each claimed entry's hash fields.
const CLAIM: &str = r"
local limit = tonumber(ARGV[5])
local due = {}
for _, key in ipairs({KEYS[1], KEYS[2]}) do
  local r = redis.call('ZRANGEBYSCORE', key, '-inf', ARGV[3], 'WITHSCORES', 'LIMIT', 0, limit)
  for i = 1, #r, 2 do table.insert(due, {r[i], tonumber(r[i + 1]), key}) end
end
table.sort(due, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  return a[1] < b[1]
end)
local out = {}
for i = 1, math.min(limit, #due) do
  local member, from = due[i][1], due[i][3]
  local h = ARGV[1] .. string.sub(member, 22)
  local attempts = redis.call('HINCRBY', h, 'attempts', 1)
  redis.call('HSET', h, 'status', 'claimed', 'lease_owner', ARGV[2], 'lease_attempt', attempts,
    'lease_until', ARGV[4])
  redis.call('ZREM', from, member)
  redis.call('ZADD', KEYS[2], ARGV[4], member)
  table.insert(out, redis.call('HGETALL', h))
end
return out
";

/// Completes, fails or dead-letters an entry if it is claimed under the
/// given hold. KEYS: the entry's hash, the pending, claimed and dead sets.
/// ARGV: owner, attempt, operation (`complete`, `fail`, `dead`), id, then
/// for `fail` the next attempt (ms) and the error JSON, for `dead` the
/// letter JSON, its time (ms) and its error JSON (or `''`).
const SETTLE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'status', 'lease_owner', 'attempts', 'member')
if f[1] ~= 'claimed' or f[2] ~= ARGV[1] or f[3] ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[3], f[4])
if ARGV[3] == 'complete' then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HDEL', KEYS[1], 'lease_owner', 'lease_attempt', 'lease_until')
if ARGV[3] == 'fail' then
  redis.call('HSET', KEYS[1], 'status', 'pending', 'next_ms', ARGV[5], 'last_error', ARGV[6])
  redis.call('ZADD', KEYS[2], ARGV[5], f[4])
else
  redis.call('HSET', KEYS[1], 'status', 'dead', 'dead_letter', ARGV[5], 'dead_at', ARGV[6])
  if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'last_error', ARGV[7]) end
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[4])
end
return 1
";

/// Requeues a dead entry. KEYS: the entry's hash, the pending and dead
/// sets. ARGV: id, now (ms).
const REQUEUE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'status', 'member')
if f[1] ~= 'dead' then return 0 end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[1], 'dead_letter', 'dead_at')
redis.call('HSET', KEYS[1], 'status', 'pending', 'attempts', 0, 'next_ms', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], f[2])
return 1
";

/// Removes an entry in any status. KEYS: the entry's hash, the pending,
/// claimed and dead sets. ARGV: id.
const REMOVE: &str = r"
local f = redis.call('HMGET', KEYS[1], 'status', 'member')
if not f[1] then return 0 end
redis.call('ZREM', KEYS[2], f[2])
redis.call('ZREM', KEYS[3], f[2])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[1])
return 1
";

/// The earliest dead letters (then by id: members of the dead set are the
/// ids). KEYS: the dead set. ARGV: the entry-hash key prefix, limit.
const DEAD_LETTERS: &str = r"
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  table.insert(out, redis.call('HGETALL', ARGV[1] .. id))
end
return out
";

static SCRIPTS: LazyLock<[Script; 6]> =
    LazyLock::new(|| [ENQUEUE, CLAIM, SETTLE, REQUEUE, REMOVE, DEAD_LETTERS].map(Script::new));

/// An [`Outbox`] on Redis. Each entry is a hash at
/// `{prefix}outbox:e:{id}` (the entry's JSON as enqueued, plus its status,
/// attempts, times and lease as fields); sorted sets
/// `{prefix}outbox:pending` (by next attempt), `{prefix}outbox:claimed` (by
/// lease expiry) and `{prefix}outbox:dead` (by dead-letter time) index them.
/// Every operation is one Lua script, so it is atomic on the server:
/// `claim` picks the earliest due members of both due sets, leases them and
/// moves them to the claimed set; `complete`, `fail` and `dead_letter`
/// check the hold (status, lease owner and attempt) first.
///
/// The scripts compute entry keys from the prefix, so on Redis Cluster give
/// the prefix a hash tag (`{leadroute}:`) to keep every key in one slot.
/// Durability is the server's: run it with `appendonly yes`. Calls are
/// retried after connection faults like the pool store's (see
/// [`RedisConfig::retry_for`]); a repeat after an unknown outcome is
/// harmless for every call but `claim`, where it can lease a second batch
/// (the first one's entries are claimed again when their lease expires).
#[derive(Debug, Clone)]
pub struct RedisOutbox {
    conn: RedisConnection,
}

impl RedisOutbox {
    /// Connects to `url` with the default [`RedisConfig`].
    pub async fn connect(url: &str) -> Result<Self, RedisStoreError> {
        Ok(Self::on(
            RedisConnection::connect(url, RedisConfig::default()).await?,
        ))
    }

    /// An outbox on an existing connection (shared with the pool store).
    pub fn on(conn: RedisConnection) -> Self {
        RedisOutbox { conn }
    }

    /// The connection.
    pub fn connection(&self) -> &RedisConnection {
        &self.conn
    }

    fn entry_key(&self, id: &str) -> String {
        self.conn.key(&format!("outbox:e:{id}"))
    }

    fn set(&self, name: &str) -> String {
        self.conn.key(&format!("outbox:{name}"))
    }

    /// Runs script `which` with `keys` and `args`, retried like every call.
    async fn script<T: redis::FromRedisValue>(
        &self,
        op: String,
        which: usize,
        keys: &[String],
        args: &[String],
    ) -> Result<T, RedisStoreError> {
        self.conn
            .run(
                || op.clone(),
                |mut c| {
                    let mut invocation = SCRIPTS[which].prepare_invoke();
                    for k in keys {
                        invocation.key(k);
                    }
                    for a in args {
                        invocation.arg(a);
                    }
                    async move { invocation.invoke_async(&mut c).await }
                },
            )
            .await
    }

    async fn settle(
        &self,
        op: String,
        id: &str,
        lease: &Lease,
        extra: Vec<String>,
    ) -> Result<bool, RedisStoreError> {
        let keys = [
            self.entry_key(id),
            self.set("pending"),
            self.set("claimed"),
            self.set("dead"),
        ];
        let mut args = vec![lease.owner.clone(), lease.attempt.to_string()];
        args.extend(extra);
        let n: i64 = self.script(op, 2, &keys, &args).await?;
        Ok(n == 1)
    }

    fn decode_all(
        op: &str,
        hashes: Vec<HashMap<String, String>>,
    ) -> Result<Vec<OutboxEntry>, RedisStoreError> {
        hashes
            .into_iter()
            .map(|h| {
                decode(&h).map_err(|message| RedisStoreError::Corrupt {
                    op: op.to_owned(),
                    key: "outbox entry".to_owned(),
                    message,
                })
            })
            .collect()
    }
}

/// Unix milliseconds (0 before the epoch).
fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn json<T: serde::Serialize>(op: &str, v: &T) -> Result<String, RedisStoreError> {
    serde_json::to_string(v).map_err(|e| RedisStoreError::Corrupt {
        op: op.to_owned(),
        key: "outbox entry".to_owned(),
        message: format!("does not serialize: {e}"),
    })
}

/// An entry from its hash: the enqueued JSON, with the changing fields taken
/// from the hash's fields.
fn decode(h: &HashMap<String, String>) -> Result<OutboxEntry, String> {
    let field = |name: &str| h.get(name).map(String::as_str);
    let number = |name: &str| -> Result<Option<u64>, String> {
        field(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| format!("`{name}` is `{v}`, not a count"))
            })
            .transpose()
    };
    let entry = field("entry").ok_or("the hash has no `entry` field")?;
    let mut entry: OutboxEntry =
        serde_json::from_str(entry).map_err(|e| format!("`entry` is not an outbox entry: {e}"))?;
    let status = field("status").ok_or("the hash has no `status` field")?;
    entry.status = serde_json::from_value(serde_json::Value::String(status.to_owned()))
        .map_err(|_| format!("`status` is `{status}`"))?;
    entry.attempts = number("attempts")?
        .and_then(|n| u32::try_from(n).ok())
        .ok_or("`attempts` is missing or too large")?;
    entry.next_attempt_at = from_ms(number("next_ms")?.ok_or("`next_ms` is missing")?);
    entry.lease = match (
        field("lease_owner"),
        number("lease_attempt")?,
        number("lease_until")?,
    ) {
        (Some(owner), Some(attempt), Some(until)) if entry.status == EntryStatus::Claimed => {
            Some(Lease::new(
                owner,
                u32::try_from(attempt).unwrap_or(u32::MAX),
                from_ms(until),
            ))
        }
        _ => None,
    };
    entry.last_error = field("last_error")
        .map(serde_json::from_str::<CrmError>)
        .transpose()
        .map_err(|e| format!("`last_error` is not a CRM error: {e}"))?;
    entry.dead_letter = field("dead_letter")
        .map(serde_json::from_str::<DeadLetter>)
        .transpose()
        .map_err(|e| format!("`dead_letter` is not a dead letter: {e}"))?;
    Ok(entry)
}

impl Outbox for RedisOutbox {
    type Error = RedisStoreError;

    async fn enqueue(&self, entry: OutboxEntry) -> Result<Enqueued, Self::Error> {
        entry
            .validate()
            .map_err(|source| RedisStoreError::InvalidEntry { source })?;
        let op = format!("enqueue of outbox entry `{}`", entry.id);
        let opt = |v: Option<String>| v.unwrap_or_default();
        let lease = entry.lease.as_ref();
        let args = vec![
            entry.id.clone(),
            entry.status.as_str().to_owned(),
            entry.attempts.to_string(),
            ms(entry.next_attempt_at).to_string(),
            opt(lease.map(|l| l.owner.clone())),
            opt(lease.map(|l| l.attempt.to_string())),
            opt(lease.map(|l| ms(l.until).to_string())),
            opt(entry
                .last_error
                .as_ref()
                .map(|e| json(&op, e))
                .transpose()?),
            opt(entry
                .dead_letter
                .as_ref()
                .map(|d| json(&op, d))
                .transpose()?),
            opt(entry.dead_letter.as_ref().map(|d| ms(d.at).to_string())),
            json(&op, &entry)?,
        ];
        let keys = [
            self.entry_key(&entry.id),
            self.set("pending"),
            self.set("claimed"),
            self.set("dead"),
            self.set("seq"),
        ];
        let result: String = self.script(op.clone(), 0, &keys, &args).await?;
        if result == "added" {
            return Ok(Enqueued::Added);
        }
        let status =
            serde_json::from_value(serde_json::Value::String(result.clone())).map_err(|_| {
                RedisStoreError::Corrupt {
                    op,
                    key: keys[0].clone(),
                    message: format!("`status` is `{result}`"),
                }
            })?;
        Ok(Enqueued::AlreadyPresent { status })
    }

    async fn claim(
        &self,
        owner: &str,
        now: SystemTime,
        lease_for: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, Self::Error> {
        let limit = limit.min(MAX_BATCH);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let op = format!("claim of up to {limit} outbox entries for `{owner}`");
        let until = now.checked_add(lease_for).unwrap_or(now);
        let args = [
            self.conn.key("outbox:e:"),
            owner.to_owned(),
            ms(now).to_string(),
            ms(until).to_string(),
            limit.to_string(),
        ];
        let hashes: Vec<HashMap<String, String>> = self
            .script(
                op.clone(),
                1,
                &[self.set("pending"), self.set("claimed")],
                &args,
            )
            .await?;
        Self::decode_all(&op, hashes)
    }

    async fn complete(&self, id: &str, lease: &Lease) -> Result<bool, Self::Error> {
        let op = format!("completion of outbox entry `{id}`");
        self.settle(op, id, lease, vec!["complete".into(), id.into()])
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
        let extra = vec![
            "fail".into(),
            id.into(),
            ms(next_attempt_at).to_string(),
            json(&op, error)?,
        ];
        self.settle(op, id, lease, extra).await
    }

    async fn dead_letter(
        &self,
        id: &str,
        lease: &Lease,
        letter: &DeadLetter,
    ) -> Result<bool, Self::Error> {
        let op = format!("dead-lettering of outbox entry `{id}`");
        let error = letter.error.as_ref().map(|e| json(&op, e)).transpose()?;
        let extra = vec![
            "dead".into(),
            id.into(),
            json(&op, letter)?,
            ms(letter.at).to_string(),
            error.unwrap_or_default(),
        ];
        self.settle(op, id, lease, extra).await
    }

    async fn get(&self, id: &str) -> Result<Option<OutboxEntry>, Self::Error> {
        let key = self.entry_key(id);
        let op = || format!("read of outbox entry `{id}`");
        let h: HashMap<String, String> = self
            .conn
            .run(op, |mut c| {
                let key = key.clone();
                async move { redis::cmd("HGETALL").arg(key).query_async(&mut c).await }
            })
            .await?;
        if h.is_empty() {
            return Ok(None);
        }
        decode(&h)
            .map(Some)
            .map_err(|message| RedisStoreError::Corrupt {
                op: op(),
                key,
                message,
            })
    }

    async fn dead_letters(&self, limit: usize) -> Result<Vec<OutboxEntry>, Self::Error> {
        let limit = limit.min(MAX_BATCH);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let op = "listing of dead letters".to_owned();
        let args = [self.conn.key("outbox:e:"), limit.to_string()];
        let hashes: Vec<HashMap<String, String>> = self
            .script(op.clone(), 5, &[self.set("dead")], &args)
            .await?;
        Self::decode_all(&op, hashes)
    }

    async fn requeue(&self, id: &str, now: SystemTime) -> Result<bool, Self::Error> {
        let keys = [self.entry_key(id), self.set("pending"), self.set("dead")];
        let args = [id.to_owned(), ms(now).to_string()];
        let n: i64 = self
            .script(format!("requeue of outbox entry `{id}`"), 3, &keys, &args)
            .await?;
        Ok(n == 1)
    }

    async fn remove(&self, id: &str) -> Result<bool, Self::Error> {
        let keys = [
            self.entry_key(id),
            self.set("pending"),
            self.set("claimed"),
            self.set("dead"),
        ];
        let n: i64 = self
            .script(
                format!("removal of outbox entry `{id}`"),
                4,
                &keys,
                &[id.to_owned()],
            )
            .await?;
        Ok(n == 1)
    }

    async fn stats(&self) -> Result<OutboxStats, Self::Error> {
        let sets = [self.set("pending"), self.set("claimed"), self.set("dead")];
        let (p, c, d): (u64, u64, u64) = self
            .conn
            .run(
                || "outbox statistics".to_owned(),
                |mut conn| {
                    let sets = sets.clone();
                    async move {
                        redis::pipe()
                            .cmd("ZCARD")
                            .arg(&sets[0])
                            .cmd("ZCARD")
                            .arg(&sets[1])
                            .cmd("ZCARD")
                            .arg(&sets[2])
                            .query_async(&mut conn)
                            .await
                    }
                },
            )
            .await?;
        Ok(OutboxStats::new(p, c, d))
    }
}
