//! `leadroute check`: read and compile policies, print their diagnostics.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use leadroute::policy::{CompileError, Diagnostic, DiagnosticCode, Severity};
use leadroute::{Policy, PolicySpec};
use serde_json::{Value, json};

use crate::locate::{self, Location, SpanMap};
use crate::{Format, PolicyFormat, read_text, write_stdout};

/// What checking one file found.
enum Outcome {
    /// The file could not be read (or has an unknown extension).
    Unreadable(String),
    /// The policy was read and compiled (or not).
    Checked {
        text: String,
        format: PolicyFormat,
        errors: Vec<Diagnostic>,
        warnings: Vec<Diagnostic>,
        omitted_errors: usize,
        omitted_warnings: usize,
    },
}

/// Reads and compiles a policy file.
pub(crate) fn compile_file(
    path: &Path,
) -> anyhow::Result<(String, PolicyFormat, Result<Policy, CompileError>)> {
    let (text, format, result) = compile_file_with_spec(path)?;
    Ok((text, format, result.map(|(_, policy)| policy)))
}

/// A spec and the policy compiled from it, or why it did not compile.
type SpecAndPolicy = Result<(PolicySpec, Policy), CompileError>;

/// [`compile_file`], also returning the spec (what [`Policy::lint`] reads).
fn compile_file_with_spec(path: &Path) -> anyhow::Result<(String, PolicyFormat, SpecAndPolicy)> {
    let format = PolicyFormat::of(path)?;
    let text = read_text(path)?;
    let result = match format {
        PolicyFormat::Toml => PolicySpec::from_toml_str(&text),
        PolicyFormat::Json => PolicySpec::from_json_str(&text),
    }
    .and_then(|spec| leadroute::compile(&spec).map(|policy| (spec, policy)));
    Ok((text, format, result))
}

fn check_file(path: &Path) -> Outcome {
    match compile_file_with_spec(path) {
        Err(e) => Outcome::Unreadable(format!("{e:#}")),
        Ok((text, format, Ok((spec, policy)))) => Outcome::Checked {
            text,
            format,
            errors: Vec::new(),
            // The compiler's warnings, then the lints (`Policy::lint`).
            warnings: policy
                .warnings()
                .iter()
                .cloned()
                .chain(policy.lint(&spec))
                .collect(),
            omitted_errors: 0,
            omitted_warnings: 0,
        },
        Ok((text, format, Err(e))) => Outcome::Checked {
            text,
            format,
            errors: e.errors,
            warnings: e.warnings,
            omitted_errors: e.omitted_errors,
            omitted_warnings: e.omitted_warnings,
        },
    }
}

/// Where a diagnostic is in the text, if it can be found.
fn location(d: &Diagnostic, text: &str, spans: &SpanMap) -> Option<Location> {
    if d.code == DiagnosticCode::Syntax {
        return locate::from_message(text, &d.message);
    }
    spans.find(&d.path).map(|span| locate::locate(text, span))
}

fn code_name(code: DiagnosticCode) -> String {
    match serde_json::to_value(code) {
        Ok(Value::String(s)) => s,
        _ => format!("{code:?}"),
    }
}

fn render_text(file: &str, d: &Diagnostic, text: &str, loc: Option<&Location>, out: &mut String) {
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{sev}[{}]: {}", code_name(d.code), d.message);
    match loc {
        Some(loc) => {
            let _ = writeln!(out, "  --> {file}:{}:{}", loc.line, loc.column);
        }
        None => {
            let _ = writeln!(out, "  --> {file}");
        }
    }
    if !d.path.is_empty() {
        let _ = writeln!(out, "  = path: {}", d.path);
    }
    if let Some(rule) = &d.rule {
        let _ = writeln!(out, "  = rule: {rule}");
    }
    if let Some(loc) = loc {
        for line in locate::excerpt(text, loc).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "  = help: {help}");
    }
    out.push('\n');
}

fn diagnostic_json(d: &Diagnostic, loc: Option<&Location>) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
    if let (Some(loc), Value::Object(map)) = (loc, &mut v) {
        map.insert(
            "location".to_owned(),
            json!({"line": loc.line, "column": loc.column}),
        );
    }
    v
}

/// Runs `check` over the files; see the crate docs for the output.
pub(crate) fn run(
    paths: &[PathBuf],
    deny_warnings: bool,
    format: Format,
) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let mut unreadable = false;
    let mut text_out = String::new();
    let mut files = Vec::new();
    for path in paths {
        let file = path.display().to_string();
        match check_file(path) {
            Outcome::Unreadable(message) => {
                unreadable = true;
                if format == Format::Json {
                    files.push(json!({"file": file, "ok": false, "io_error": message}));
                } else {
                    eprintln!("leadroute: {message}");
                }
            }
            Outcome::Checked {
                text,
                format: policy_format,
                errors,
                warnings,
                omitted_errors,
                omitted_warnings,
            } => {
                let spans = match policy_format {
                    PolicyFormat::Json => SpanMap::json(&text),
                    PolicyFormat::Toml => SpanMap::toml(&text),
                };
                let n_errors = errors.len() + omitted_errors;
                let n_warnings = warnings.len() + omitted_warnings;
                let ok = n_errors == 0 && !(deny_warnings && n_warnings > 0);
                failed |= !ok;
                let located: Vec<(&Diagnostic, Option<Location>)> = errors
                    .iter()
                    .chain(&warnings)
                    .map(|d| (d, location(d, &text, &spans)))
                    .collect();
                if format == Format::Json {
                    let (errs, warns): (Vec<_>, Vec<_>) = located
                        .iter()
                        .partition(|(d, _)| d.severity == Severity::Error);
                    let mut entry = json!({
                        "file": file,
                        "ok": ok,
                        "errors": errs.iter().map(|(d, l)| diagnostic_json(d, l.as_ref())).collect::<Vec<_>>(),
                        "warnings": warns.iter().map(|(d, l)| diagnostic_json(d, l.as_ref())).collect::<Vec<_>>(),
                    });
                    if let Value::Object(map) = &mut entry {
                        if omitted_errors > 0 {
                            map.insert("omitted_errors".to_owned(), json!(omitted_errors));
                        }
                        if omitted_warnings > 0 {
                            map.insert("omitted_warnings".to_owned(), json!(omitted_warnings));
                        }
                    }
                    files.push(entry);
                } else {
                    for (d, loc) in &located {
                        render_text(&file, d, &text, loc.as_ref(), &mut text_out);
                    }
                    let more = omitted_errors + omitted_warnings;
                    if more > 0 {
                        let _ = writeln!(text_out, "… and {more} more diagnostics\n");
                    }
                    let verdict = if ok { "ok" } else { "FAILED" };
                    let _ = writeln!(
                        text_out,
                        "{file}: {verdict} ({n_errors} error{}, {n_warnings} warning{})",
                        if n_errors == 1 { "" } else { "s" },
                        if n_warnings == 1 { "" } else { "s" },
                    );
                }
            }
        }
    }
    if format == Format::Json {
        let doc = json!({"ok": !failed && !unreadable, "files": files});
        write_stdout(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    } else {
        write_stdout(&text_out)?;
    }
    Ok(if unreadable {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
