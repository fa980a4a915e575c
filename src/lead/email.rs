//! Email addresses: cleanup, syntax check, IDNA domain.

use email_address::{EmailAddress, Options};
use serde::{Deserialize, Serialize};

use super::domain::{self, DomainProblem};

/// What kind of mailbox an email address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EmailKind {
    /// A company's own domain.
    Business,
    /// A free or personal provider (Gmail, Outlook, Yahoo, …).
    Free,
    /// A disposable / throw-away provider (Mailinator, …).
    Disposable,
}

impl EmailKind {
    /// Every kind, in declaration order (its position is [`Self::index`]).
    pub(crate) const ALL: [EmailKind; 3] =
        [EmailKind::Business, EmailKind::Free, EmailKind::Disposable];

    /// The kind's position in [`Self::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The kind as a one-bit mask (`1 << index`), for sets of kinds.
    pub(crate) fn bit(self) -> u8 {
        1 << self.index()
    }

    /// The mask of every kind.
    pub(crate) fn all_bits() -> u8 {
        Self::ALL.iter().fold(0, |m, k| m | k.bit())
    }

    /// The snake_case name used in JSON and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::Business => "business",
            EmailKind::Free => "free",
            EmailKind::Disposable => "disposable",
        }
    }
}

/// A syntactically valid address: the local part as typed and the domain in
/// lower-case ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedEmail {
    pub(crate) address: String,
    pub(crate) domain_start: usize,
}

impl ParsedEmail {
    pub(crate) fn domain(&self) -> &str {
        self.address.get(self.domain_start..).unwrap_or_default()
    }
}

/// Why an email was rejected (turned into a field message by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EmailProblem {
    NoAt,
    EmptyLocal,
    Domain(DomainProblem),
    Syntax,
    TooLong,
}

impl EmailProblem {
    pub(crate) fn describe(&self) -> String {
        match self {
            EmailProblem::NoAt => "is not an email address (no `@`)".into(),
            EmailProblem::EmptyLocal => "has nothing before the `@`".into(),
            EmailProblem::Domain(p) => format!("has a domain that {}", p.describe()),
            EmailProblem::Syntax => "is not a valid email address".into(),
            EmailProblem::TooLong => "is longer than the 254 characters an address may have".into(),
        }
    }
}

/// Cleans and checks an email as typed into a form.
///
/// Trims whitespace, drops a leading `mailto:` (any case), unwraps
/// `Name <addr>`, maps the domain through IDNA to lower-case ASCII and checks
/// the result's syntax (RFC 5322 addr-spec as implemented by the
/// `email_address` crate, no IP literals, at least two domain labels).
pub(crate) fn parse(raw: &str) -> Result<ParsedEmail, EmailProblem> {
    let mut s = raw.trim();
    if s.len() >= 7
        && s.get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"))
    {
        s = s.get(7..).unwrap_or_default().trim();
    }
    if let (Some(open), true) = (s.rfind('<'), s.ends_with('>')) {
        s = s.get(open + 1..s.len() - 1).unwrap_or_default().trim();
    }
    // `mailto:` links may carry `?subject=…`.
    if let Some(q) = s.find('?') {
        s = s.get(..q).unwrap_or_default();
    }
    let (local, domain) = s.rsplit_once('@').ok_or(EmailProblem::NoAt)?;
    if local.is_empty() {
        return Err(EmailProblem::EmptyLocal);
    }
    let ascii = domain::to_ascii(domain).map_err(EmailProblem::Domain)?;
    domain::registrable(&ascii).map_err(EmailProblem::Domain)?;
    let address = format!("{local}@{ascii}");
    if address.len() > 254 {
        return Err(EmailProblem::TooLong);
    }
    let options = Options {
        minimum_sub_domains: 2,
        allow_domain_literal: false,
        allow_display_text: false,
        ..Options::default()
    };
    EmailAddress::parse_with_options(&address, options).map_err(|_| EmailProblem::Syntax)?;
    Ok(ParsedEmail {
        domain_start: local.len() + 1,
        address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> (String, String) {
        let p = parse(raw).unwrap_or_else(|e| panic!("{raw}: {e:?}"));
        (p.address.clone(), p.domain().to_owned())
    }

    #[test]
    fn cleans_what_forms_send() {
        assert_eq!(
            ok("  Jane.Doe@ACME.com "),
            ("Jane.Doe@acme.com".into(), "acme.com".into())
        );
        assert_eq!(
            ok("MAILTO:jane@acme.com"),
            ("jane@acme.com".into(), "acme.com".into())
        );
        assert_eq!(ok("mailto:jane@acme.com?subject=hi").0, "jane@acme.com");
        assert_eq!(ok("Jane Doe <jane@Acme.com>").0, "jane@acme.com");
        assert_eq!(ok("jane+tag@mail.acme.co.uk").1, "mail.acme.co.uk");
        assert_eq!(ok("jürgen@müller.de").0, "jürgen@xn--mller-kva.de");
        assert_eq!(ok("x@acme.com.").0, "x@acme.com");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        assert_eq!(parse("jane"), Err(EmailProblem::NoAt));
        assert_eq!(parse("@acme.com"), Err(EmailProblem::EmptyLocal));
        assert_eq!(
            parse("jane@localhost"),
            Err(EmailProblem::Domain(DomainProblem::UnknownSuffix))
        );
        assert_eq!(
            parse("jane@acme.con"),
            Err(EmailProblem::Domain(DomainProblem::UnknownSuffix))
        );
        assert_eq!(parse("jane doe@acme.com"), Err(EmailProblem::Syntax));
        assert_eq!(parse("jane@@acme.com"), Err(EmailProblem::Syntax));
        assert_eq!(parse("jane..doe@acme.com"), Err(EmailProblem::Syntax));
        assert_eq!(
            parse("jane@[127.0.0.1]"),
            Err(EmailProblem::Domain(DomainProblem::Syntax))
        );
        let long = format!("{}@acme.com", "a".repeat(250));
        assert!(parse(&long).is_err());
    }
}
