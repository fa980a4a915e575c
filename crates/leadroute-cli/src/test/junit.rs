//! JUnit XML for `leadroute test --format junit`: the de-facto format CI
//! systems (GitHub Actions reporters, GitLab, Jenkins, Azure) read test
//! reports in.
//!
//! One `<testsuite>` per case file, one `<testcase>` per case
//! (`classname` the file); a failed case has a `<failure>` whose `message`
//! is its first mismatch and whose text is every mismatch and the
//! decision's full explanation; a case whose lead does not normalize has an
//! `<error>`. A case file that cannot be read, and coverage below
//! `--min-coverage`, appear in an extra suite named `leadroute`.
//!
//! Everything is escaped for XML 1.0: `& < > " '` as entities, and the
//! characters XML 1.0 cannot carry at all (control characters other than
//! tab, newline and carriage return; U+FFFE, U+FFFF) replaced by U+FFFD,
//! since no escape exists for them.

use std::fmt::Write as _;

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Passed,
    Failed,
    Error,
}

/// One `<testcase>`.
pub(crate) struct TestCase<'a> {
    pub name: &'a str,
    /// The case file and the case's line in it (`file`, `line`
    /// attributes, which GitLab and others link to).
    pub file: Option<&'a str>,
    pub line: Option<usize>,
    pub status: Outcome,
    /// The first failure, for the `message` attribute.
    pub message: &'a str,
    /// The full text of the failure.
    pub details: String,
}

/// One `<testsuite>`.
pub(crate) struct Suite<'a> {
    pub name: &'a str,
    pub cases: Vec<TestCase<'a>>,
}

/// `s` escaped for XML 1.0 text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn suite(out: &mut String, name: &str, cases: &[TestCase<'_>]) {
    let failures = cases.iter().filter(|c| c.status == Outcome::Failed).count();
    let errors = cases.iter().filter(|c| c.status == Outcome::Error).count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">",
        escape(name),
        cases.len()
    );
    for c in cases {
        let mut open = format!(
            "    <testcase name=\"{}\" classname=\"{}\"",
            escape(c.name),
            escape(name)
        );
        if let Some(file) = c.file {
            let _ = write!(open, " file=\"{}\"", escape(file));
        }
        if let Some(line) = c.line {
            let _ = write!(open, " line=\"{line}\"");
        }
        let element = match c.status {
            Outcome::Passed => {
                let _ = writeln!(out, "{open}/>");
                continue;
            }
            Outcome::Failed => "failure",
            Outcome::Error => "error",
        };
        let _ = writeln!(out, "{open}>");
        let _ = writeln!(
            out,
            "      <{element} message=\"{}\" type=\"{element}\">{}</{element}>",
            escape(c.message),
            escape(&c.details)
        );
        let _ = writeln!(out, "    </testcase>");
    }
    let _ = writeln!(out, "  </testsuite>");
}

/// The whole report: a suite per file, then `extra` (unreadable files,
/// coverage) in a suite named `leadroute` when there are any.
pub(crate) fn render(suites: &[Suite<'_>], extra: &[TestCase<'_>]) -> String {
    let all = suites.iter().flat_map(|s| &s.cases).chain(extra);
    let (mut tests, mut failures, mut errors) = (0, 0, 0);
    for c in all {
        tests += 1;
        failures += usize::from(c.status == Outcome::Failed);
        errors += usize::from(c.status == Outcome::Error);
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"leadroute\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
    );
    for s in suites {
        suite(&mut out, s.name, &s.cases);
    }
    if !extra.is_empty() {
        suite(&mut out, "leadroute", extra);
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_replaces_what_xml_cannot_carry() {
        assert_eq!(
            escape("a<b>&\"c\" 'd'\u{1}\u{FFFF}\te\n"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;\u{FFFD}\u{FFFD}\te\n"
        );
        assert_eq!(escape("Müller → ok"), "Müller → ok");
    }

    #[test]
    fn counts_and_shapes() {
        let xml = render(
            &[Suite {
                name: "a.toml",
                cases: vec![
                    TestCase {
                        name: "good",
                        file: Some("a.toml"),
                        line: Some(2),
                        status: Outcome::Passed,
                        message: "",
                        details: String::new(),
                    },
                    TestCase {
                        name: "bad",
                        file: None,
                        line: None,
                        status: Outcome::Failed,
                        message: "expected `x`",
                        details: "why".into(),
                    },
                ],
            }],
            &[TestCase {
                name: "b.toml",
                file: None,
                line: None,
                status: Outcome::Error,
                message: "cannot read",
                details: "x".into(),
            }],
        );
        assert!(
            xml.contains("<testsuites name=\"leadroute\" tests=\"3\" failures=\"1\" errors=\"1\">")
        );
        assert!(
            xml.contains(
                "<testcase name=\"good\" classname=\"a.toml\" file=\"a.toml\" line=\"2\"/>"
            )
        );
        assert!(xml.contains("<failure message=\"expected `x`\" type=\"failure\">why</failure>"));
        assert!(xml.contains(
            "<testsuite name=\"leadroute\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">"
        ));
    }
}
