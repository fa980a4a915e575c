//! Throwaway `redis-server` and PostgreSQL servers for the workspace's tests.
//!
//! Each server runs from the binaries on the machine, on a free `127.0.0.1`
//! port, with its data in a fresh temporary directory; dropping the handle
//! kills the server and removes the directory. See the crate README for where
//! the binaries are looked up, how a missing binary is reported
//! (`SKIPPED: …`, or a failure under `LEADROUTE_REQUIRE_SERVICES=1`) and how
//! PostgreSQL runs when the tests run as root.
#![warn(missing_docs)]

pub mod replicas;
pub mod scenario;
pub mod suite;

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that turns a missing server into a failure.
pub const REQUIRE_ENV: &str = "LEADROUTE_REQUIRE_SERVICES";

/// How long a server gets to accept connections after it was started.
const STARTUP: Duration = Duration::from_secs(60);

/// Whether `LEADROUTE_REQUIRE_SERVICES=1` is set: a missing server must fail
/// the test rather than skip it.
pub fn services_required() -> bool {
    std::env::var(REQUIRE_ENV).is_ok_and(|v| v.trim() == "1")
}

/// Why a server could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// A binary the server needs is not installed (not on `PATH`, nor where
    /// the distribution puts it).
    Missing(String),
    /// The binary is there but the server did not come up.
    Start(String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Missing(why) => write!(f, "server binary missing: {why}"),
            ServerError::Start(why) => write!(f, "server did not start: {why}"),
        }
    }
}

impl std::error::Error for ServerError {}

/// The server handle, or `None` after printing `SKIPPED: {test}: {why}` when
/// its binary is missing. Panics when the binary is missing and
/// [`services_required`], and whenever a present binary fails to start a
/// server (that is a broken machine or harness, not an absent service).
fn or_skip<T>(test: &str, started: Result<T, ServerError>) -> Option<T> {
    match started {
        Ok(server) => Some(server),
        Err(ServerError::Missing(why)) if !services_required() => {
            eprintln!(
                "\n==========\nSKIPPED: {test}: {why} (set {REQUIRE_ENV}=1 to make this a failure)\n==========\n"
            );
            None
        }
        Err(e) => panic!("{test}: {e} ({REQUIRE_ENV}={})", services_required()),
    }
}

/// A directory removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(kind: &str) -> Result<TempDir, ServerError> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "leadroute-{kind}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path)
            .map_err(|e| ServerError::Start(format!("creating {}: {e}", path.display())))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A port nobody listens on right now (the kernel's choice).
fn free_port() -> Result<u16, ServerError> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| ServerError::Start(format!("no free loopback port: {e}")))
}

/// Runs `spawn_on` (which starts a server on the port it is given) on a
/// free port; the port can be taken between our probe and the server's
/// bind, so up to three ports are tried.
fn on_free_port(
    mut spawn_on: impl FnMut(u16) -> Result<(), ServerError>,
) -> Result<(), ServerError> {
    let mut last = None;
    for _ in 0..3 {
        match spawn_on(free_port()?) {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| ServerError::Start("no attempt made".into())))
}

/// The first executable called `name` on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The last lines of a log file, for an error message.
fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn signal(child: &Child, sig: libc::c_int) {
    // The pid is our own child's and we have not reaped it yet, so it cannot
    // have been reused by another process.
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Waits up to `limit` for the child to exit; SIGKILLs it past that.
fn reap(child: &mut Child, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls `ready` until it says yes, the child exits, or the startup time ends.
fn wait_ready(
    child: &mut Child,
    log: &Path,
    what: &str,
    mut ready: impl FnMut() -> bool,
) -> Result<(), ServerError> {
    let deadline = Instant::now() + STARTUP;
    loop {
        if ready() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(ServerError::Start(format!(
                "{what} exited with {status}; log:\n{}",
                log_tail(log)
            )));
        }
        if Instant::now() > deadline {
            return Err(ServerError::Start(format!(
                "{what} not ready after {STARTUP:?}; log:\n{}",
                log_tail(log)
            )));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A `redis-server` on `127.0.0.1`, killed on drop.
///
/// It runs with `appendonly yes`, `appendfsync no` and no RDB snapshots, so
/// what it acknowledged survives [`kill`](Self::kill) and
/// [`restart`](Self::restart): with `appendfsync no` the server writes the
/// append-only file before it replies (the page cache keeps it when the
/// process dies; only a machine crash would lose it, as with the Postgres
/// server's `fsync=off`). With the default `everysec` it does not: while a
/// background fsync is slow (a busy CI disk) Redis postpones the write for
/// up to two seconds and replies anyway, and a SIGKILL then loses what it
/// had acknowledged (CI once lost 125 of 3,000 assignments that way).
#[derive(Debug)]
pub struct Redis {
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
    dir: TempDir,
}

impl Redis {
    /// Starts a server, or says why it could not.
    pub fn start() -> Result<Redis, ServerError> {
        let binary = on_path("redis-server")
            .ok_or_else(|| ServerError::Missing("`redis-server` is not on PATH".into()))?;
        let mut redis = Redis {
            binary,
            port: 0,
            child: None,
            dir: TempDir::new("redis")?,
        };
        on_free_port(|port| {
            redis.port = port;
            redis.spawn()
        })?;
        Ok(redis)
    }

    /// [`start`](Self::start), or `None` after printing `SKIPPED: …` when
    /// `redis-server` is missing (a panic under `LEADROUTE_REQUIRE_SERVICES=1`).
    pub fn start_or_skip(test: &str) -> Option<Redis> {
        or_skip(test, Redis::start())
    }

    fn spawn(&mut self) -> Result<(), ServerError> {
        let log = self.dir.0.join("redis.log");
        let mut child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .arg("--dir")
            .arg(&self.dir.0)
            .args(["--appendonly", "yes", "--appendfsync", "no", "--save", ""])
            .args(["--daemonize", "no"])
            .args(["--protected-mode", "no", "--logfile"])
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| ServerError::Start(format!("spawning redis-server: {e}")))?;
        let port = self.port;
        let ready = wait_ready(&mut child, &log, "redis-server", || redis_ping(port));
        if ready.is_err() {
            let _ = child.kill();
            let _ = child.wait();
        }
        ready?;
        self.child = Some(child);
        Ok(())
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server with SIGKILL (a crash): clients see their
    /// connections drop and new ones refused until [`start_again`](Self::start_again).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGKILL);
            reap(&mut child, Duration::from_secs(10));
        }
    }

    /// Starts the server again on the same port and data directory (after
    /// [`kill`](Self::kill)); it reloads what it had acknowledged.
    pub fn start_again(&mut self) -> Result<(), ServerError> {
        self.kill();
        self.spawn()
    }

    /// [`kill`](Self::kill), then [`start_again`](Self::start_again).
    pub fn restart(&mut self) -> Result<(), ServerError> {
        self.start_again()
    }
}

impl suite::TestServer for Redis {
    fn start_or_skip(test: &str) -> Option<Self> {
        Redis::start_or_skip(test)
    }

    /// [`Redis::url`].
    fn address(&self) -> String {
        self.url()
    }

    fn kill(&mut self) {
        Redis::kill(self);
    }

    fn start_again(&mut self) -> Result<(), ServerError> {
        Redis::start_again(self)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether a Redis server answers `PING` with `+PONG` on the port (not
/// `-LOADING` while it replays its log).
fn redis_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

/// The directories PostgreSQL's server binaries may be in: `LEADROUTE_PG_BIN`
/// alone if set; otherwise `PATH`, then `/usr/lib/postgresql/<version>/bin`
/// (Debian's layout), highest version first.
fn postgres_bin() -> Result<PathBuf, ServerError> {
    let has_both =
        |dir: &Path| is_executable(&dir.join("initdb")) && is_executable(&dir.join("postgres"));
    if let Some(dir) = std::env::var_os("LEADROUTE_PG_BIN") {
        let dir = PathBuf::from(dir);
        return if has_both(&dir) {
            Ok(dir)
        } else {
            Err(ServerError::Missing(format!(
                "LEADROUTE_PG_BIN={} has no `initdb` and `postgres`",
                dir.display()
            )))
        };
    }
    if let (Some(initdb), Some(_)) = (on_path("initdb"), on_path("postgres")) {
        // Use initdb's own directory so both binaries are one installation.
        let resolved = fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(dir) = resolved.parent().filter(|d| has_both(d)) {
            return Ok(dir.to_owned());
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        ServerError::Missing(
            "PostgreSQL's `initdb` and `postgres` are neither on PATH nor in /usr/lib/postgresql/<version>/bin"
                .into(),
        )
    })
}

/// The user that runs PostgreSQL's binaries when we are root: `nobody`.
fn unprivileged() -> Result<Option<(libc::uid_t, libc::gid_t)>, ServerError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = c"nobody";
    // SAFETY: getpwnam reads a NUL-terminated name; the record it returns is
    // copied out at once, before any other call could overwrite it.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(ServerError::Start(
            "running as root and there is no `nobody` user to run PostgreSQL as".into(),
        ));
    }
    // SAFETY: pw is non-null and points at a valid passwd record.
    let (uid, gid) = unsafe { ((*pw).pw_uid, (*pw).pw_gid) };
    Ok(Some((uid, gid)))
}

/// A command that runs `program` as `user` (when set): through `setpriv`,
/// which `exec`s so the child's pid is the program's, else `runuser`.
fn as_user(
    program: &Path,
    user: Option<(libc::uid_t, libc::gid_t)>,
) -> Result<Command, ServerError> {
    let Some((uid, gid)) = user else {
        return Ok(Command::new(program));
    };
    if let Some(setpriv) = on_path("setpriv").or_else(|| {
        let p = PathBuf::from("/usr/bin/setpriv");
        is_executable(&p).then_some(p)
    }) {
        let mut cmd = Command::new(setpriv);
        cmd.arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .arg("--clear-groups")
            .arg("--")
            .arg(program);
        return Ok(cmd);
    }
    if let Some(runuser) = on_path("runuser").or_else(|| {
        let p = PathBuf::from("/usr/sbin/runuser");
        is_executable(&p).then_some(p)
    }) {
        let mut cmd = Command::new(runuser);
        cmd.args(["-u", "nobody", "--"]).arg(program);
        return Ok(cmd);
    }
    Err(ServerError::Start(
        "running as root, and neither `setpriv` nor `runuser` is there to run PostgreSQL unprivileged".into(),
    ))
}

/// A PostgreSQL server on `127.0.0.1` (superuser `postgres`, trust
/// authentication, database `postgres`), killed on drop.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    user: Option<(libc::uid_t, libc::gid_t)>,
    port: u16,
    child: Option<Child>,
    dir: TempDir,
}

impl Postgres {
    /// Runs `initdb` and starts a server, or says why it could not.
    pub fn start() -> Result<Postgres, ServerError> {
        let bin = postgres_bin()?;
        let user = unprivileged()?;
        let dir = TempDir::new("postgres")?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&dir.0, Some(uid), Some(gid))
                .map_err(|e| ServerError::Start(format!("chown {}: {e}", dir.0.display())))?;
        }
        let data = dir.0.join("data");
        let log = dir.0.join("initdb.log");
        let log_file = fs::File::create(&log)
            .map_err(|e| ServerError::Start(format!("creating {}: {e}", log.display())))?;
        let status = as_user(&bin.join("initdb"), user)?
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .args(["--locale=C"])
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(
                log_file
                    .try_clone()
                    .map_err(|e| ServerError::Start(e.to_string()))?,
            )
            .stderr(log_file)
            .status()
            .map_err(|e| ServerError::Start(format!("running initdb: {e}")))?;
        if !status.success() {
            return Err(ServerError::Start(format!(
                "initdb failed ({status}):\n{}",
                log_tail(&log)
            )));
        }
        let mut pg = Postgres {
            bin,
            user,
            port: 0,
            child: None,
            dir,
        };
        on_free_port(|port| {
            pg.port = port;
            pg.spawn()
        })?;
        Ok(pg)
    }

    /// [`start`](Self::start), or `None` after printing `SKIPPED: …` when the
    /// binaries are missing (a panic under `LEADROUTE_REQUIRE_SERVICES=1`).
    pub fn start_or_skip(test: &str) -> Option<Postgres> {
        or_skip(test, Postgres::start())
    }

    fn spawn(&mut self) -> Result<(), ServerError> {
        let data = self.dir.0.join("data");
        let log = self.dir.0.join("postgres.log");
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| ServerError::Start(format!("opening {}: {e}", log.display())))?;
        let mut child = as_user(&self.bin.join("postgres"), self.user)?
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.0.display()))
            // A killed process loses nothing the server acknowledged (the
            // WAL is in the page cache); only a machine crash would.
            .args(["-c", "fsync=off", "-c", "max_connections=200"])
            .current_dir(&self.dir.0)
            .stdin(Stdio::null())
            .stdout(
                log_file
                    .try_clone()
                    .map_err(|e| ServerError::Start(e.to_string()))?,
            )
            .stderr(log_file)
            .spawn()
            .map_err(|e| ServerError::Start(format!("spawning postgres: {e}")))?;
        let pid_file = data.join("postmaster.pid");
        let port = self.port;
        let ready = wait_ready(&mut child, &log, "postgres", || {
            // Line 8 of postmaster.pid is the server's status; `ready` once it
            // accepts connections (PostgreSQL 10 and later).
            fs::read_to_string(&pid_file).is_ok_and(|text| {
                let lines: Vec<&str> = text.lines().collect();
                lines.get(3).is_some_and(|p| p.trim() == port.to_string())
                    && lines.get(7).is_some_and(|s| s.trim() == "ready")
            })
        });
        if ready.is_err() {
            signal(&child, libc::SIGQUIT);
            reap(&mut child, Duration::from_secs(10));
        }
        ready?;
        self.child = Some(child);
        Ok(())
    }

    /// A libpq-style connection string: `host=127.0.0.1 port=PORT
    /// user=postgres dbname=postgres`.
    pub fn conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres",
            self.port
        )
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server as a crash would (SIGQUIT: immediate shutdown, no
    /// checkpoint; the next start recovers from the WAL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGQUIT);
            reap(&mut child, Duration::from_secs(20));
        }
    }

    /// Starts the server again on the same port and data directory.
    pub fn start_again(&mut self) -> Result<(), ServerError> {
        self.kill();
        self.spawn()
    }

    /// [`kill`](Self::kill), then [`start_again`](Self::start_again).
    pub fn restart(&mut self) -> Result<(), ServerError> {
        self.start_again()
    }
}

impl suite::TestServer for Postgres {
    fn start_or_skip(test: &str) -> Option<Self> {
        Postgres::start_or_skip(test)
    }

    /// [`Postgres::conninfo`].
    fn address(&self) -> String {
        self.conninfo()
    }

    fn kill(&mut self) {
        Postgres::kill(self);
    }

    fn start_again(&mut self) -> Result<(), ServerError> {
        Postgres::start_again(self)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_starts_answers_restarts_and_is_gone_after_drop() {
        let Some(mut redis) = Redis::start_or_skip("redis_starts") else {
            return;
        };
        let port = redis.port();
        assert!(redis_ping(port));
        redis.kill();
        assert!(!redis_ping(port));
        redis.start_again().unwrap();
        assert!(redis_ping(port));
        let dir = redis.dir.0.clone();
        drop(redis);
        assert!(!redis_ping(port));
        assert!(!dir.exists());
    }

    #[test]
    fn postgres_starts_accepts_connections_restarts_and_is_gone_after_drop() {
        let Some(mut pg) = Postgres::start_or_skip("postgres_starts") else {
            return;
        };
        let port = pg.port();
        let accepts = || TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok();
        assert!(accepts());
        pg.kill();
        assert!(!accepts());
        pg.start_again().unwrap();
        assert!(accepts());
        let dir = pg.dir.0.clone();
        drop(pg);
        assert!(!accepts());
        assert!(!dir.exists());
    }

    #[test]
    fn a_missing_binary_skips_unless_required() {
        if services_required() {
            return; // the panic path; exercised by CI's own setting
        }
        let skipped: Option<()> = or_skip("t", Err(ServerError::Missing("x".into())));
        assert!(skipped.is_none());
    }
}
