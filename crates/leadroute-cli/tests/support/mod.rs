//! Helpers the CLI's integration tests share.

use std::path::PathBuf;

use assert_cmd::Command;

/// A path relative to the repository root.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// A file of this crate's `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The `leadroute` binary, run from the fixtures directory.
pub fn leadroute() -> Command {
    let mut cmd = Command::cargo_bin("leadroute").unwrap();
    cmd.current_dir(fixture(""));
    cmd
}
