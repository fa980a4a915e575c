//! Every subcommand with a closed stdout (`leadroute … | head -1` once
//! `head` has gone): no panic, the documented message and exit status 2.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::ffi::OsString;
use std::fs::File;
use std::path::PathBuf;
use std::process::{ChildStdin, Command, Stdio};

// (`support::leadroute` runs through assert_cmd, which owns stdout.)
#[allow(dead_code)]
mod support;
use support::{fixture, repo};

const BIN: &str = env!("CARGO_BIN_EXE_leadroute");

/// The write end of a pipe whose read end is already closed: any write to
/// it fails with a broken pipe, from the very first byte.
///
/// The pipe is another process's stdin: that process (`leadroute
/// --version`, which never reads stdin) holds the only read end and has
/// exited by the time this returns. Unlike spawning with `Stdio::piped()`
/// and dropping the reader afterwards, this leaves no window in which the
/// command under test could write before the reader is gone.
fn closed_pipe() -> ChildStdin {
    let mut reader = Command::new(BIN)
        .arg("--version")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let writer = reader.stdin.take().unwrap();
    assert!(reader.wait().unwrap().success());
    writer
}

/// Runs `leadroute ARGS` from the fixtures directory with stdout a closed
/// pipe (and stdin `input`, else nothing); returns the exit code and stderr.
fn run_with_closed_stdout(args: &[OsString], input: Option<PathBuf>) -> (Option<i32>, String) {
    let stdin = match input {
        Some(path) => Stdio::from(File::open(path).unwrap()),
        None => Stdio::null(),
    };
    let out = Command::new(BIN)
        .args(args)
        .current_dir(fixture(""))
        .stdin(stdin)
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_closed_stdout_is_reported(args: &[OsString], input: Option<PathBuf>) {
    let (code, stderr) = run_with_closed_stdout(args, input);
    let shown = format!("leadroute {args:?}: exit {code:?}, stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{shown}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{shown}");
    assert!(stderr.contains("leadroute: writing stdout: "), "{shown}");
    // The documented status for a stdout that fails (crate docs, "Exit status").
    assert_eq!(code, Some(2), "{shown}");
}

fn args(items: &[&str]) -> Vec<OsString> {
    items.iter().map(OsString::from).collect()
}

fn seed() -> String {
    repo("examples/policies/seed.toml").display().to_string()
}

#[test]
fn explain_with_a_closed_stdout_does_not_panic() {
    for format in ["text", "json"] {
        assert_closed_stdout_is_reported(
            &args(&[
                "explain",
                &seed(),
                "lead.json",
                "--now",
                "1796137200",
                "--format",
                format,
            ]),
            None,
        );
    }
}

#[test]
fn test_with_a_closed_stdout_does_not_panic() {
    let cases = repo("examples/policies/seed.cases.toml")
        .display()
        .to_string();
    for format in ["text", "json", "junit"] {
        assert_closed_stdout_is_reported(
            &args(&["test", &seed(), &cases, "--format", format]),
            None,
        );
    }
}

#[test]
fn every_other_subcommand_with_a_closed_stdout_does_not_panic() {
    let leads = repo("examples/leads.jsonl");
    for (argv, input) in [
        (args(&["check", &seed()]), None),
        (args(&["check", &seed(), "--format", "json"]), None),
        (
            args(&["route", &seed(), "--now", "1700000000"]),
            Some(leads.clone()),
        ),
        (
            args(&["route", &seed(), "--now", "1700000000", "--format", "json"]),
            Some(leads),
        ),
        // `--check`: lists the file, rewrites nothing.
        (args(&["fmt", "--check", "fmt/messy.toml"]), None),
        (
            args(&[
                "diff",
                &seed(),
                "seed_v2.toml",
                "--leads",
                "diff_leads.jsonl",
                "--now",
                "1700000000",
            ]),
            None,
        ),
        (
            args(&[
                "diff",
                &seed(),
                "seed_v2.toml",
                "--leads",
                "diff_leads.jsonl",
                "--now",
                "1700000000",
                "--format",
                "json",
            ]),
            None,
        ),
        (args(&["report", "events.jsonl"]), None),
        (args(&["report", "events.jsonl", "--format", "json"]), None),
        (args(&["schema"]), None),
        (args(&["schema", "--cases"]), None),
    ] {
        assert_closed_stdout_is_reported(&argv, input);
    }
}
