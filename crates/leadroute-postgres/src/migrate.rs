//! [`migrate`]: creates (or confirms) the tables this crate uses.

use crate::conn::PgConnection;
use crate::error::PostgresStoreError;

/// The migrations, in order: `(name, SQL)`. Each is idempotent; the SQL
/// files are in the crate's `migrations/` directory, for tools that run
/// migrations themselves.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_pool_state",
        include_str!("../migrations/0001_pool_state.sql"),
    ),
    ("0002_outbox", include_str!("../migrations/0002_outbox.sql")),
];

/// An arbitrary constant: the advisory lock that serializes concurrent
/// migrations (`pg_advisory_xact_lock`), released at commit.
const LOCK_KEY: i64 = 0x6c65_6164_726f_7574; // "leadrout"

/// Creates the tables this crate needs if they are missing, in one
/// transaction under an advisory lock: safe to run at every start of every
/// replica, concurrently. Needs the `CREATE` privilege on the schema (the
/// first `search_path` entry, usually `public`); a service whose role may
/// not create tables runs the SQL of [`MIGRATIONS`] once by other means.
pub async fn migrate(conn: &PgConnection) -> Result<(), PostgresStoreError> {
    let mut script = format!("BEGIN;\nSELECT pg_advisory_xact_lock({LOCK_KEY});\n");
    for (_, sql) in MIGRATIONS {
        script.push_str(sql);
        script.push('\n');
    }
    script.push_str("COMMIT;\n");
    // A repeat after an unknown outcome is harmless: every statement is
    // IF NOT EXISTS.
    conn.run(
        || "migration".to_owned(),
        |c| {
            let script = script.as_str();
            async move {
                let r = c.batch_execute(script).await;
                if r.is_err() {
                    // Leave no transaction open on a connection other
                    // calls share.
                    let _ = c.batch_execute("ROLLBACK").await;
                }
                r
            }
        },
    )
    .await
}
