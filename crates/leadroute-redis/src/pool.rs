//! [`RedisPoolStore`]: pool states in Redis hashes, replaced by a Lua
//! compare-and-swap on their version.

use std::sync::LazyLock;

use leadroute::PoolStore;
use leadroute::pool::PoolState;
use leadroute_tokio::backoff::Backoff;
use redis::Script;

use crate::conn::{RedisConfig, RedisConnection};
use crate::error::RedisStoreError;

/// `KEYS[1]` the pool's hash; `ARGV` the expected version, the new version
/// and the new state's JSON. Versions are compared as the decimal strings
/// this crate writes, so no float conversion can round a large version.
/// Returns 1 if it replaced the state, 0 if the version had moved.
const CAS_SCRIPT: &str = r"
local current = redis.call('HGET', KEYS[1], 'version')
if current == false then current = '0' end
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'state', ARGV[3])
return 1
";

static CAS: LazyLock<Script> = LazyLock::new(|| Script::new(CAS_SCRIPT));

/// A [`PoolStore`] on Redis: each pool's [`PoolState`] is a hash at
/// `{prefix}pool:{pool id}` with fields `version` (decimal) and `state` (the
/// state's JSON, its replay window included); a Lua script replaces both
/// only if `version` still holds the expected value, atomically on the
/// server.
///
/// Cheap to clone; needs a Tokio runtime. See the crate docs for the
/// connection, timeout and retry behaviour and the failure modes.
#[derive(Debug, Clone)]
pub struct RedisPoolStore {
    conn: RedisConnection,
    backoff: std::sync::Arc<Backoff>,
}

impl RedisPoolStore {
    /// Connects to `url` with the default [`RedisConfig`].
    pub async fn connect(url: &str) -> Result<Self, RedisStoreError> {
        Self::connect_with(url, RedisConfig::default()).await
    }

    /// Connects to `url` with `config`.
    pub async fn connect_with(url: &str, config: RedisConfig) -> Result<Self, RedisStoreError> {
        Ok(Self::on(RedisConnection::connect(url, config).await?))
    }

    /// A store on an existing connection (shared with an outbox, say).
    pub fn on(conn: RedisConnection) -> Self {
        RedisPoolStore {
            conn,
            backoff: Default::default(),
        }
    }

    /// The connection.
    pub fn connection(&self) -> &RedisConnection {
        &self.conn
    }

    /// The key a pool's state is stored at.
    pub fn key(&self, pool: &str) -> String {
        self.conn.key(&format!("pool:{pool}"))
    }
}

/// A stored hash's fields as a state: absent is the default state; the
/// JSON's own version must agree with the `version` field.
fn decode(key: &str, version: Option<String>, state: Option<String>) -> Result<PoolState, String> {
    let (version, state) = match (version, state) {
        (None, None) => return Ok(PoolState::default()),
        (Some(v), Some(s)) => (v, s),
        _ => {
            return Err(format!(
                "`{key}` must have both `version` and `state` fields"
            ));
        }
    };
    let version: u64 = version
        .parse()
        .map_err(|_| format!("`version` is `{version}`, not a non-negative integer"))?;
    let state: PoolState =
        serde_json::from_str(&state).map_err(|e| format!("`state` is not a pool state: {e}"))?;
    if state.version != version {
        return Err(format!(
            "`version` is {version} but the state's JSON says {}",
            state.version
        ));
    }
    Ok(state)
}

impl PoolStore for RedisPoolStore {
    type Error = RedisStoreError;

    async fn load(&self, pool: &str) -> Result<PoolState, Self::Error> {
        let key = self.key(pool);
        let op = || format!("load of pool `{pool}`");
        let (version, state): (Option<String>, Option<String>) = self
            .conn
            .run(op, |mut c| {
                let key = key.clone();
                async move {
                    redis::cmd("HMGET")
                        .arg(&key)
                        .arg("version")
                        .arg("state")
                        .query_async(&mut c)
                        .await
                }
            })
            .await?;
        decode(&key, version, state).map_err(|message| RedisStoreError::Corrupt {
            op: op(),
            key,
            message,
        })
    }

    async fn compare_and_swap(
        &self,
        pool: &str,
        expected_version: u64,
        new: PoolState,
    ) -> Result<bool, Self::Error> {
        if new.version != expected_version.wrapping_add(1) {
            return Ok(false);
        }
        let key = self.key(pool);
        let json = serde_json::to_string(&new).map_err(|e| RedisStoreError::Corrupt {
            op: format!("compare-and-swap of pool `{pool}`"),
            key: key.clone(),
            message: format!("the new state does not serialize: {e}"),
        })?;
        let (expected, next) = (expected_version.to_string(), new.version.to_string());
        // Repeating the script after an unknown outcome (a dropped
        // connection, a timeout) is safe: if the first run applied, the
        // repeat finds the version moved and returns 0, and the router then
        // reloads the state and finds this lead in its replay window.
        let attempt = async {
            let replaced: i64 = self
                .conn
                .run(
                    || format!("compare-and-swap of pool `{pool}` at version {expected_version}"),
                    |mut c| {
                        let (key, expected, next, json) =
                            (key.clone(), expected.clone(), next.clone(), json.clone());
                        async move {
                            CAS.key(key)
                                .arg(expected)
                                .arg(next)
                                .arg(json)
                                .invoke_async(&mut c)
                                .await
                        }
                    },
                )
                .await?;
            Ok(replaced == 1)
        };
        // A lost swap waits a little before it is reported, so the losers
        // spread out before they reload (see `leadroute_tokio::backoff`).
        self.backoff.swap(pool, &new, attempt).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_rejects_half_written_or_inconsistent_hashes() {
        assert_eq!(decode("k", None, None).unwrap(), PoolState::default());
        let mut s = PoolState::default();
        s.version = 3;
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            decode("k", Some("3".into()), Some(json.clone())).unwrap(),
            s
        );
        assert!(
            decode("k", Some("3".into()), None)
                .unwrap_err()
                .contains("both")
        );
        assert!(
            decode("k", Some("x".into()), Some(json.clone()))
                .unwrap_err()
                .contains("`x`")
        );
        assert!(
            decode("k", Some("4".into()), Some(json))
                .unwrap_err()
                .contains("says 3")
        );
        assert!(
            decode("k", Some("1".into()), Some("{".into()))
                .unwrap_err()
                .contains("not a pool state")
        );
    }
}
