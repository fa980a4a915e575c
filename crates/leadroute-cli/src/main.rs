//! The `leadroute` command; see the `leadroute_cli` crate docs.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    leadroute_cli::run()
}
