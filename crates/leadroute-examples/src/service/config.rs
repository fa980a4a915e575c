//! [`ServiceConfig`]: the HTTP service's settings, from the environment.

use std::net::SocketAddr;
use std::time::Duration;

/// The service's settings. [`ServiceConfig::default`] is what a marketing
/// form needs; [`ServiceConfig::from_env`] reads the variables below, each
/// optional:
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `LEADROUTE_ADDR` | `127.0.0.1:3000` (or `PORT` on 127.0.0.1) | the address to listen on |
/// | `LEADROUTE_MAX_BODY_BYTES` | `65536` | larger bodies get `413` |
/// | `LEADROUTE_HEADER_TIMEOUT_MS` | `10000` | a request line and headers not received in full by then (counted from when the server starts waiting for them, so an idle keep-alive connection too) close the connection without an answer (slow-loris clients) |
/// | `LEADROUTE_BODY_TIMEOUT_MS` | `10000` | a body not received in full by then gets `408` (slow clients) |
/// | `LEADROUTE_RATE_PER_MINUTE` | `5` | lead submissions per client per minute; more get `429` with `Retry-After` |
/// | `LEADROUTE_RATE_BURST` | `5` | how many of them may come at once |
/// | `LEADROUTE_TRUST_FORWARDED_FOR` | `false` | key clients by the last `X-Forwarded-For` address (only behind a proxy that sets it) instead of the peer address |
/// | `LEADROUTE_ALLOWED_ORIGINS` | `http://localhost:3000` | comma-separated origins whose pages may post (CORS); a request with another `Origin` gets `403` |
/// | `LEADROUTE_HONEYPOT_FIELD` | `leadroute_hp` | the form's hidden honeypot field |
/// | `LEADROUTE_MIN_FILL_MS` | `3000` | submissions sooner than this after `form_started` are `too_fast` |
/// | `LEADROUTE_KNOWN_BAD_DOMAINS` | empty | comma-separated domains whose submissions are `known_bad_domain` |
/// | `LEADROUTE_LOG_FORMAT` | `text` | `json` for one JSON object per log line |
/// | `RUST_LOG` | `info` | the `tracing` filter |
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The largest accepted body.
    pub max_body_bytes: usize,
    /// How long a client may take to send its request line and headers
    /// (and how long an idle keep-alive connection stays open).
    pub header_timeout: Duration,
    /// How long a client may take to send its body.
    pub body_timeout: Duration,
    /// Lead submissions per client per minute.
    pub rate_per_minute: u32,
    /// How many of them may come at once.
    pub rate_burst: u32,
    /// Key clients by `X-Forwarded-For` (behind a trusted proxy only).
    pub trust_forwarded_for: bool,
    /// Origins allowed to post (exact `scheme://host[:port]`).
    pub allowed_origins: Vec<String>,
    /// The honeypot field.
    pub honeypot_field: String,
    /// The minimum time to fill in the form.
    pub min_fill: Duration,
    /// Domains treated as known bad.
    pub known_bad_domains: Vec<String>,
    /// Log as JSON lines.
    pub json_logs: bool,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            max_body_bytes: 64 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            rate_per_minute: 5,
            rate_burst: 5,
            trust_forwarded_for: false,
            allowed_origins: vec!["http://localhost:3000".into()],
            honeypot_field: "leadroute_hp".into(),
            min_fill: Duration::from_secs(3),
            known_bad_domains: Vec::new(),
            json_logs: false,
        }
    }
}

/// A variable that could not be read: which, what it held, what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The variable.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What it should be.
    pub expected: &'static str,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}={:?}: expected {}",
            self.variable, self.value, self.expected
        )
    }
}

impl std::error::Error for ConfigError {}

impl ServiceConfig {
    /// Reads the process environment (see the table above).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads settings through `var` (the environment, or a map in tests).
    /// Blank values count as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut c = ServiceConfig::default();
        let bad = |variable: &'static str, value: &str, expected: &'static str| ConfigError {
            variable,
            value: value.to_owned(),
            expected,
        };
        if let Some(v) = get("PORT") {
            let port = v.parse().map_err(|_| bad("PORT", &v, "a port number"))?;
            c.addr = SocketAddr::from(([127, 0, 0, 1], port));
        }
        if let Some(v) = get("LEADROUTE_ADDR") {
            c.addr = v
                .parse()
                .map_err(|_| bad("LEADROUTE_ADDR", &v, "an address such as 0.0.0.0:8080"))?;
        }
        let number = |name: &'static str, min: u64, max: u64| -> Result<Option<u64>, ConfigError> {
            match get(name) {
                None => Ok(None),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                    _ => Err(bad(name, &v, "a whole number in range")),
                },
            }
        };
        if let Some(n) = number("LEADROUTE_MAX_BODY_BYTES", 1024, 16 * 1024 * 1024)? {
            c.max_body_bytes = n as usize;
        }
        if let Some(n) = number("LEADROUTE_HEADER_TIMEOUT_MS", 100, 120_000)? {
            c.header_timeout = Duration::from_millis(n);
        }
        if let Some(n) = number("LEADROUTE_BODY_TIMEOUT_MS", 100, 120_000)? {
            c.body_timeout = Duration::from_millis(n);
        }
        if let Some(n) = number("LEADROUTE_RATE_PER_MINUTE", 1, 100_000)? {
            c.rate_per_minute = n as u32;
        }
        if let Some(n) = number("LEADROUTE_RATE_BURST", 1, 100_000)? {
            c.rate_burst = n as u32;
        }
        if let Some(n) = number("LEADROUTE_MIN_FILL_MS", 0, 600_000)? {
            c.min_fill = Duration::from_millis(n);
        }
        if let Some(v) = get("LEADROUTE_TRUST_FORWARDED_FOR") {
            c.trust_forwarded_for = match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => return Err(bad("LEADROUTE_TRUST_FORWARDED_FOR", &v, "true or false")),
            };
        }
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        if let Some(v) = get("LEADROUTE_ALLOWED_ORIGINS") {
            let origins = list(v.clone());
            if origins.iter().any(|o| {
                !(o.starts_with("http://") || o.starts_with("https://")) || o.ends_with('/')
            }) {
                return Err(bad(
                    "LEADROUTE_ALLOWED_ORIGINS",
                    &v,
                    "comma-separated origins such as https://www.example.com (no path, no trailing slash)",
                ));
            }
            c.allowed_origins = origins;
        }
        if let Some(v) = get("LEADROUTE_HONEYPOT_FIELD") {
            c.honeypot_field = v;
        }
        if let Some(v) = get("LEADROUTE_KNOWN_BAD_DOMAINS") {
            c.known_bad_domains = list(v);
        }
        if let Some(v) = get("LEADROUTE_LOG_FORMAT") {
            c.json_logs = match v.as_str() {
                "json" => true,
                "text" => false,
                _ => return Err(bad("LEADROUTE_LOG_FORMAT", &v, "json or text")),
            };
        }
        Ok(c)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn unset_is_the_default() {
        assert_eq!(
            ServiceConfig::from_vars(vars(&[])),
            Ok(ServiceConfig::default())
        );
    }

    #[test]
    fn every_variable_is_read() {
        let c = ServiceConfig::from_vars(vars(&[
            ("LEADROUTE_ADDR", "0.0.0.0:8080"),
            ("LEADROUTE_MAX_BODY_BYTES", "2048"),
            ("LEADROUTE_HEADER_TIMEOUT_MS", "2500"),
            ("LEADROUTE_RATE_PER_MINUTE", "10"),
            (
                "LEADROUTE_ALLOWED_ORIGINS",
                "https://www.acme.com, https://acme.com",
            ),
            ("LEADROUTE_TRUST_FORWARDED_FOR", "yes"),
            ("LEADROUTE_KNOWN_BAD_DOMAINS", "spam.example"),
            ("LEADROUTE_LOG_FORMAT", "json"),
        ]))
        .unwrap();
        assert_eq!(c.addr.to_string(), "0.0.0.0:8080");
        assert_eq!(c.max_body_bytes, 2048);
        assert_eq!(c.header_timeout, Duration::from_millis(2500));
        assert_eq!(c.rate_per_minute, 10);
        assert_eq!(
            c.allowed_origins,
            ["https://www.acme.com", "https://acme.com"]
        );
        assert!(c.trust_forwarded_for && c.json_logs);
        assert_eq!(c.known_bad_domains, ["spam.example"]);
    }

    #[test]
    fn bad_values_name_their_variable() {
        let err =
            ServiceConfig::from_vars(vars(&[("LEADROUTE_RATE_PER_MINUTE", "0")])).unwrap_err();
        assert_eq!(err.variable, "LEADROUTE_RATE_PER_MINUTE");
        let err =
            ServiceConfig::from_vars(vars(&[("LEADROUTE_HEADER_TIMEOUT_MS", "50")])).unwrap_err();
        assert_eq!(err.variable, "LEADROUTE_HEADER_TIMEOUT_MS");
        let err = ServiceConfig::from_vars(vars(&[("LEADROUTE_ALLOWED_ORIGINS", "acme.com")]))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("LEADROUTE_ALLOWED_ORIGINS=\"acme.com\"")
        );
    }
}
