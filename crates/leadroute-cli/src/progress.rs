//! A one-line progress display on stderr for long replays (`diff`,
//! `report`), hand-rolled: one `\r`-rewritten line, at most four times a
//! second, only when stderr is a terminal (never in a pipe, a file or CI
//! logs), erased when done.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Progress over a stream of known (or unknown) total size.
pub(crate) struct Progress {
    enabled: bool,
    what: &'static str,
    total_bytes: Option<u64>,
    started: Instant,
    last: Instant,
    drawn: bool,
}

const EVERY: Duration = Duration::from_millis(250);

impl Progress {
    /// A display for `what` (`leads`, `events`); `wanted`: not switched off
    /// on the command line.
    pub(crate) fn new(what: &'static str, total_bytes: Option<u64>, wanted: bool) -> Self {
        let now = Instant::now();
        Progress {
            enabled: wanted && std::io::stderr().is_terminal(),
            what,
            total_bytes,
            started: now,
            last: now,
            drawn: false,
        }
    }

    /// Redraws if it is time: `items` read so far, `bytes` of the input,
    /// `extra` (e.g. `1,234 changed`).
    pub(crate) fn tick(&mut self, items: u64, bytes: u64, extra: impl FnOnce() -> String) {
        if !self.enabled || items % 1024 != 0 {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.last) < EVERY {
            return;
        }
        self.last = now;
        let secs = now.duration_since(self.started).as_secs_f64().max(1e-3);
        let rate = items as f64 / secs;
        let share = match self.total_bytes {
            Some(total) if total > 0 => format!(" ({:.0} %)", 100.0 * bytes as f64 / total as f64),
            _ => String::new(),
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K{} {}{share}, {}, {} {}/s",
            thousands(items),
            self.what,
            extra(),
            thousands(rate as u64),
            self.what
        );
        let _ = err.flush();
        self.drawn = true;
    }

    /// Erases the line.
    pub(crate) fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_groups_digits() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
