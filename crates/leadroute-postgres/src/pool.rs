//! [`PostgresPoolStore`]: pool states in a versioned row, replaced by
//! `UPDATE … WHERE version = $n`.

use leadroute::PoolStore;
use leadroute::pool::PoolState;
use leadroute_tokio::backoff::Backoff;
use tokio_postgres::types::Type;

use crate::conn::{PgConnection, PostgresConfig};
use crate::error::PostgresStoreError;

const LOAD: &str = "SELECT version, state::text FROM leadroute_pool_state WHERE pool = $1";
/// The first state of a pool: only if no row exists yet.
const INSERT: &str = "INSERT INTO leadroute_pool_state (pool, version, state) \
     VALUES ($1, $2, $3::jsonb) ON CONFLICT (pool) DO NOTHING";
/// Any later state: only if the row is still at the expected version.
const UPDATE: &str = "UPDATE leadroute_pool_state SET version = $2, state = $3::jsonb, updated_at = now() \
     WHERE pool = $1 AND version = $4";

/// A [`PoolStore`] on PostgreSQL: each pool's [`PoolState`] is a row of
/// `leadroute_pool_state` (`pool`, `version`, `state` jsonb), created by
/// [`migrate`](crate::migrate). A compare-and-swap is one statement, `UPDATE
/// … WHERE pool = $1 AND version = $expected` (an `INSERT … ON CONFLICT DO
/// NOTHING` for a pool's first state), which PostgreSQL applies atomically
/// under the row lock: of two replicas advancing from the same version, one
/// updates a row and the other updates none.
///
/// Each statement is sent with its parameter types (`query_typed`), so it
/// takes one round trip and no prepared statement. Cheap to clone; needs a
/// Tokio runtime.
#[derive(Debug, Clone)]
pub struct PostgresPoolStore {
    conn: PgConnection,
    backoff: std::sync::Arc<Backoff>,
}

impl PostgresPoolStore {
    /// Connects to `conninfo` with the default [`PostgresConfig`].
    pub async fn connect(conninfo: &str) -> Result<Self, PostgresStoreError> {
        Self::connect_with(conninfo, PostgresConfig::default()).await
    }

    /// Connects to `conninfo` with `config`.
    pub async fn connect_with(
        conninfo: &str,
        config: PostgresConfig,
    ) -> Result<Self, PostgresStoreError> {
        Ok(Self::on(PgConnection::connect(conninfo, config).await?))
    }

    /// A store on existing connections (shared with an outbox, say).
    pub fn on(conn: PgConnection) -> Self {
        PostgresPoolStore {
            conn,
            backoff: Default::default(),
        }
    }

    /// The connections.
    pub fn connection(&self) -> &PgConnection {
        &self.conn
    }
}

/// A row as a state: the JSON's own version must agree with the column.
fn decode(version: i64, state: &str) -> Result<PoolState, String> {
    let state: PoolState =
        serde_json::from_str(state).map_err(|e| format!("`state` is not a pool state: {e}"))?;
    if i64::try_from(state.version) != Ok(version) {
        return Err(format!(
            "`version` is {version} but the state's JSON says {}",
            state.version
        ));
    }
    Ok(state)
}

impl PoolStore for PostgresPoolStore {
    type Error = PostgresStoreError;

    async fn load(&self, pool: &str) -> Result<PoolState, Self::Error> {
        let op = || format!("load of pool `{pool}`");
        let row = self
            .conn
            .run(op, |c| async move {
                c.query_typed_opt(LOAD, &[(&pool, Type::TEXT)]).await
            })
            .await?;
        let Some(row) = row else {
            return Ok(PoolState::default());
        };
        let (version, state): (i64, String) = (row.get(0), row.get(1));
        decode(version, &state).map_err(|message| PostgresStoreError::Corrupt { op: op(), message })
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
        let op = || format!("compare-and-swap of pool `{pool}` at version {expected_version}");
        let (Ok(expected), Ok(next)) =
            (i64::try_from(expected_version), i64::try_from(new.version))
        else {
            return Err(PostgresStoreError::Corrupt {
                op: op(),
                message: format!("version {} does not fit a bigint", new.version),
            });
        };
        let json = serde_json::to_string(&new).map_err(|e| PostgresStoreError::Corrupt {
            op: op(),
            message: format!("the new state does not serialize: {e}"),
        })?;
        // Repeating the statement after an unknown outcome (a dropped
        // connection, a timeout) is safe: if the first one committed, the
        // repeat matches no row (the version moved) and the router then
        // reloads the state and finds this lead in its replay window.
        let attempt = async {
            let rows = self
                .conn
                .run(op, |c| {
                    let json = json.as_str();
                    async move {
                        if expected == 0 {
                            c.execute_typed(
                                INSERT,
                                &[
                                    (&pool, Type::TEXT),
                                    (&next, Type::INT8),
                                    (&json, Type::TEXT),
                                ],
                            )
                            .await
                        } else {
                            c.execute_typed(
                                UPDATE,
                                &[
                                    (&pool, Type::TEXT),
                                    (&next, Type::INT8),
                                    (&json, Type::TEXT),
                                    (&expected, Type::INT8),
                                ],
                            )
                            .await
                        }
                    }
                })
                .await?;
            Ok(rows == 1)
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
    fn decoding_checks_the_json_against_the_version_column() {
        let mut s = PoolState::default();
        s.version = 3;
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(decode(3, &json).unwrap(), s);
        assert!(decode(4, &json).unwrap_err().contains("says 3"));
        assert!(decode(1, "[]").unwrap_err().contains("not a pool state"));
    }
}
