//! Domains as the matcher compares them: a CRM's website or domain field
//! reduced to a host and its registrable domain, the **brand** (the label
//! before the public suffix: `acme` of `acme.co.uk`), and the domains that
//! never identify a company.

use super::names::Letters;
use crate::lead::domain;

/// Brands too generic to say two domains belong to one company: the same
/// word under two suffixes is, for these, usually two companies
/// (`global.de`, `global.com`). Cross-TLD and domain-similarity signals
/// skip them (exact domain matches still count). Sorted (binary search).
const GENERIC_BRANDS: &[&str] = &[
    "agency",
    "app",
    "apps",
    "bank",
    "best",
    "blog",
    "business",
    "capital",
    "cloud",
    "club",
    "company",
    "consulting",
    "corp",
    "data",
    "design",
    "digital",
    "direct",
    "energy",
    "express",
    "finance",
    "global",
    "group",
    "health",
    "holdings",
    "home",
    "info",
    "international",
    "invest",
    "labs",
    "law",
    "mail",
    "market",
    "media",
    "mobile",
    "network",
    "news",
    "online",
    "partners",
    "services",
    "shop",
    "smart",
    "software",
    "solutions",
    "store",
    "studio",
    "systems",
    "tech",
    "technology",
    "travel",
    "web",
    "world",
];

/// Registrable domains reserved for documentation and tests (RFC 2606,
/// RFC 6761): never a company's. (`.test`, `.example`, `.invalid` and
/// `.localhost` have no registrable domain at all.)
const RESERVED: &[&str] = &["example.com", "example.net", "example.org", "example.edu"];

/// A domain from a CRM record or a lead: the host as typed (lower-case
/// ASCII, without `www.`) and its registrable domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Host {
    pub(crate) host: String,
    /// Byte offset of the registrable domain in `host`.
    registrable_at: usize,
    /// Byte length of the registrable domain's first label.
    brand_len: usize,
    /// The brand when it is not that label as written (it had hyphens).
    brand_owned: Option<String>,
    /// The brand is a generic word or all digits.
    generic: bool,
    /// The brand's letter histogram (for the similarity bound).
    letters: Letters,
}

impl Host {
    /// Reads a website (`https://www.Acme.com/about`) or a bare domain;
    /// `None` for anything that is not a domain with a known public suffix.
    ///
    /// One allocation for a plain ASCII host (its lower-case copy): the
    /// IDNA mapping runs only for hosts that need it, and the brand is a
    /// slice of the host unless it has hyphens.
    pub(crate) fn parse(raw: &str) -> Option<Host> {
        // A bare domain (what CRMs mostly store) needs no URL parsing.
        let bare = !raw.is_empty()
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        let host = if bare {
            raw
        } else {
            domain::website_host(raw).ok()?
        };
        let mut ascii = match plain_lowercase(host) {
            Some(plain) => plain,
            None => domain::to_ascii(host).ok()?,
        };
        let registrable_len = domain::registrable(&ascii).ok()?.len();
        if ascii.len() > registrable_len && ascii.starts_with("www.") {
            ascii.drain(..4);
        }
        let registrable_at = ascii.len().checked_sub(registrable_len)?;
        let registrable = ascii.get(registrable_at..)?;
        let label = registrable.split('.').next().unwrap_or(registrable);
        let brand_owned = label.contains('-').then(|| label.replace('-', ""));
        let brand = brand_owned.as_deref().unwrap_or(label);
        let generic = GENERIC_BRANDS.binary_search(&brand).is_ok()
            || brand.bytes().all(|b| b.is_ascii_digit());
        let letters = Letters::of(brand);
        let brand_len = label.len();
        Some(Host {
            host: ascii,
            registrable_at,
            brand_len,
            brand_owned,
            generic,
            letters,
        })
    }

    /// The registrable domain (`acme.co.uk` of `uk.acme.co.uk`).
    pub(crate) fn registrable(&self) -> &str {
        self.host.get(self.registrable_at..).unwrap_or(&self.host)
    }

    /// Labels in the host (`uk.acme.com`: 3).
    pub(crate) fn labels(&self) -> u8 {
        u8::try_from(self.host.bytes().filter(|b| *b == b'.').count() + 1).unwrap_or(u8::MAX)
    }

    /// The brand: the registrable domain's first label, hyphens removed
    /// (`acme-corp.co.uk` → `acmecorp`).
    pub(crate) fn brand(&self) -> &str {
        match &self.brand_owned {
            Some(b) => b,
            None => self
                .host
                .get(self.registrable_at..self.registrable_at + self.brand_len)
                .unwrap_or_default(),
        }
    }

    /// The registrable domain's first label as written (`acme-corp` of
    /// `acme-corp.co.uk`): the brand with its hyphens.
    pub(crate) fn brand_label(&self) -> &str {
        self.host
            .get(self.registrable_at..self.registrable_at + self.brand_len)
            .unwrap_or_default()
    }

    /// The brand's letter histogram.
    pub(crate) fn brand_letters(&self) -> &Letters {
        &self.letters
    }

    /// Whether the brand is specific enough to identify a company across
    /// suffixes: at least `min_len` characters, not a generic word, not all
    /// digits.
    pub(crate) fn distinctive(&self, min_len: usize) -> bool {
        !self.generic && self.brand().len() >= min_len
    }
}

/// `host` in lower case when it is a plain letters-digits-hyphens name
/// that [`domain::to_ascii`] would map to exactly that (its fast path: no
/// empty label, no label over 63 bytes or starting or ending with `-`, no
/// punycode label, at most 253 bytes without a trailing dot), in one pass;
/// `None` when `to_ascii` has to decide.
fn plain_lowercase(host: &str) -> Option<String> {
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.is_empty() || host.len() > 253 {
        return None;
    }
    for label in host.split('.') {
        let bytes = label.as_bytes();
        let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
            return None;
        };
        if first == b'-'
            || last == b'-'
            || bytes.len() > 63
            || bytes
                .get(..4)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"xn--"))
            || !bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        {
            return None;
        }
    }
    Some(host.to_ascii_lowercase())
}

/// Whether a registrable domain is reserved for documentation or tests.
pub(crate) fn is_reserved(registrable: &str) -> bool {
    RESERVED.contains(&registrable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websites_become_hosts_with_brands() {
        let h = Host::parse("https://WWW.Acme-Corp.co.uk/en").unwrap();
        assert_eq!(h.host, "acme-corp.co.uk");
        assert_eq!(h.registrable(), "acme-corp.co.uk");
        assert_eq!(h.brand(), "acmecorp");
        let h = Host::parse("uk.acme.com").unwrap();
        assert_eq!((h.registrable(), h.labels()), ("acme.com", 3));
        assert_eq!(Host::parse("www.com"), Host::parse("www.com"));
        assert_eq!(Host::parse("localhost"), None);
        assert_eq!(Host::parse("not a domain"), None);
        let brand_ok = |d: &str| Host::parse(d).unwrap().distinctive(4);
        assert!(!brand_ok("global.com"));
        assert!(!brand_ok("ibm.com"));
        assert!(!brand_ok("1234.de"));
        assert!(brand_ok("siemens.de"));
        assert!(is_reserved("example.com"));
        assert!(GENERIC_BRANDS.windows(2).all(|w| w[0] < w[1]), "sorted");
        // A bare domain and the same as a website read alike.
        assert_eq!(Host::parse("Acme.com"), Host::parse("https://acme.com/"));
        assert_eq!(Host::parse("-acme.com"), None);
    }

    #[test]
    fn the_plain_host_shortcut_reads_hosts_as_to_ascii_does() {
        for raw in [
            "acme.com",
            "ACME.Co.UK",
            "acme.com.",
            "a-b.de",
            "-a.de",
            "a-.de",
            "a..de",
            ".de",
            "",
            ".",
            "xn--mller-kva.de",
            "XN--MLLER-KVA.de",
            "xn-a.de",
            "under_score.com",
            &format!("{}.com", "a".repeat(63)),
            &format!("{}.com", "a".repeat(64)),
            &format!("{}.com", "a.".repeat(125)),
            &format!("{}.com", "a.".repeat(126)),
        ] {
            let fast = plain_lowercase(raw);
            let full = domain::to_ascii(raw).ok();
            if fast.is_some() {
                assert_eq!(fast, full, "{raw:?}");
            }
        }
        assert_eq!(plain_lowercase("ACME.Co.UK").as_deref(), Some("acme.co.uk"));
        assert_eq!(plain_lowercase("xn--mller-kva.de"), None);
    }

    proptest::proptest! {
        #[test]
        fn plain_hosts_are_read_as_to_ascii_reads_them(raw in "[a-zA-Z0-9.-]{0,80}|(xn--)?[a-z-]{0,70}\\.[a-z]{2,3}\\.?") {
            if let Some(fast) = plain_lowercase(&raw) {
                proptest::prop_assert_eq!(Some(fast), domain::to_ascii(&raw).ok());
            }
        }
    }
}
