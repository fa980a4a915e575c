//! Scoring: the evidence between the lead and each candidate, the score it
//! adds up to, and the choice among the candidates (see the
//! [module docs](super) for the algorithm in words).

use super::config::MatchConfig;
use super::domains::{Host, is_reserved};
use super::names::{NameKey, may_be_similar, similarity};
use super::result::{
    AccountMatch, CandidateReport, CandidateStatus, Evidence, MatchMethod, MatchOutcome, Signal,
};
use super::tiebreak::{self, Traits};
use crate::crm::records::Account;
use crate::lead::email::EmailKind;
use crate::lead::model::{CountryCode, Lead};
use crate::lead::normalizer::Normalizer;
use crate::name::Name;

/// How many parent links are followed (a loop in CRM data ends here).
const MAX_PARENT_DEPTH: usize = 16;

/// The lead, prepared once per match (or once for both the CRM query and
/// the match: [`PreparedLead`](super::PreparedLead)).
#[derive(Debug, Clone)]
pub(crate) struct LeadSide {
    /// Business email: domains identify; otherwise they only support.
    business: bool,
    /// The company domain is usable, and `hosts[0]`.
    company_usable: bool,
    /// The company domain and the business email host (distinct).
    hosts: Vec<Host>,
    /// Which of `hosts` is the email host, for contact domains (business
    /// leads only).
    email_host: Option<usize>,
    name: Option<NameKey>,
    /// `name` is the company name's key (not the lead's `company_key`).
    name_from_company: bool,
    /// The company domain when it is never matched on (reserved, free
    /// mail); a usable one is `hosts[0]`.
    unusable_company: Option<Host>,
    country: Option<CountryCode>,
    postal: Option<String>,
    phone: Option<String>,
}

impl LeadSide {
    /// The lead's company domain, parsed (usable or not).
    pub(crate) fn company_host(&self) -> Option<&Host> {
        if self.company_usable {
            self.hosts.first()
        } else {
            self.unusable_company.as_ref()
        }
    }

    /// The key of the lead's company name (not its `company_key`).
    pub(crate) fn company_name_key(&self) -> Option<&NameKey> {
        self.name.as_ref().filter(|_| self.name_from_company)
    }

    /// The email host, for contact domains.
    fn email_host(&self) -> Option<&Host> {
        self.email_host.and_then(|i| self.hosts.get(i))
    }

    pub(crate) fn new(lead: &Lead, normalizer: &Normalizer) -> LeadSide {
        let business = lead.email_kind == EmailKind::Business;
        let mut hosts: Vec<Host> = Vec::with_capacity(2);
        let usable = |h: &Host| {
            !is_reserved(h.registrable())
                && normalizer.email_kind(h.registrable()) == EmailKind::Business
        };
        let mut unusable_company = None;
        if let Some(h) = lead.company_domain.as_deref().and_then(Host::parse) {
            if usable(&h) {
                hosts.push(h);
            } else {
                unusable_company = Some(h);
            }
        }
        let company_usable = !hosts.is_empty();
        // A business lead whose domains are all unusable (reserved) is
        // matched like a free-mail one: by name plus support.
        let business = business && !hosts.is_empty();
        // The email host, for contact domains: usually the company domain
        // itself (read once), otherwise parsed and added.
        let email_host = if !business {
            None
        } else if hosts.first().is_some_and(|h| h.host == lead.email_domain) {
            Some(0)
        } else {
            Host::parse(&lead.email_domain).filter(usable).map(|h| {
                match hosts.iter().position(|x| x.host == h.host) {
                    Some(i) => i,
                    None => {
                        hosts.push(h);
                        hosts.len() - 1
                    }
                }
            })
        };
        let company_name_key = lead.company_name.as_deref().and_then(NameKey::new);
        let name_from_company = company_name_key.is_some();
        let name = company_name_key.or_else(|| lead.company_key.as_deref().and_then(NameKey::new));
        LeadSide {
            business,
            company_usable,
            hosts,
            email_host,
            name,
            name_from_company,
            unusable_company,
            country: lead.country,
            postal: lead.postal_code.as_deref().map(postal_key),
            phone: lead.phone.as_deref().and_then(phone_key),
        }
    }
}

/// What the matcher reads of a candidate account, computed once per
/// account: by [`CandidateSet`](super::CandidateSet) when it is built, or
/// per match for fresh accounts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Features {
    /// Its usable domains; `true` for an additional one.
    hosts: Vec<(Host, bool)>,
    /// Domains it has that are never matched on.
    unusable: Vec<String>,
    name: Option<NameKey>,
    country: Option<CountryCode>,
    postal: Option<String>,
    phone: Option<String>,
}

impl Features {
    pub(crate) fn new(account: &Account, normalizer: &Normalizer) -> Self {
        let mut hosts = Vec::new();
        let mut unusable = Vec::new();
        let raw = account
            .domain
            .iter()
            .map(|d| (d, false))
            .chain(account.additional_domains.iter().map(|d| (d, true)));
        for (d, additional) in raw {
            let Some(h) = Host::parse(d) else { continue };
            let usable = !is_reserved(h.registrable())
                && normalizer.email_kind(h.registrable()) == EmailKind::Business;
            if !usable {
                unusable.push(h.host);
            } else if !hosts.iter().any(|(x, _): &(Host, bool)| x.host == h.host) {
                hosts.push((h, additional));
            }
        }
        let country = account.country.as_deref().and_then(|c| {
            c.parse::<CountryCode>()
                .ok()
                .filter(|_| c.len() == 2)
                .or_else(|| normalizer.country_code(c))
        });
        Features {
            hosts,
            unusable,
            name: NameKey::new(&account.name),
            country,
            postal: account.postal_code.as_deref().map(postal_key),
            phone: account.phone.as_deref().and_then(phone_key),
        }
    }
}

/// A candidate as the scorer reads it: the account and its features.
#[derive(Clone, Copy)]
pub(crate) struct Candidate<'a> {
    pub(crate) account: &'a Account,
    pub(crate) features: &'a Features,
}

/// Postal codes compare as upper-case letters and digits.
fn postal_key(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Phones compare on their last nine digits (country and trunk prefixes
/// differ in how people write them); fewer than nine is no phone.
fn phone_key(s: &str) -> Option<String> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).collect();
    let tail = digits.get(digits.len().checked_sub(9)?..)?;
    String::from_utf8(tail.to_vec()).ok()
}

/// What evidence is about, so each kind supports a score once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Category {
    Domain,
    Name,
    Country,
    Postal,
    Phone,
    Conflict,
    None,
}

/// A set of [`Category`]s (what a score has counted), as bits.
#[derive(Debug, Clone, Copy, Default)]
struct CategorySet(u8);

impl CategorySet {
    fn bit(c: Category) -> u8 {
        1 << (c as u8)
    }
    fn insert(&mut self, c: Category) {
        self.0 |= Self::bit(c);
    }
    fn contains(self, c: Category) -> bool {
        self.0 & Self::bit(c) != 0
    }
    /// Whether it holds a category other than `a` and `b`.
    fn any_but(self, a: Category, b: Category) -> bool {
        self.0 & !(Self::bit(a) | Self::bit(b)) != 0
    }
}

fn category(s: Signal) -> Category {
    match s {
        Signal::Method(m) if m.is_name_method() => Category::Name,
        Signal::Method(_) | Signal::DomainSimilarity => Category::Domain,
        Signal::Country => Category::Country,
        Signal::PostalCode => Category::Postal,
        Signal::Phone => Category::Phone,
        Signal::DomainConflict | Signal::CountryConflict => Category::Conflict,
        Signal::UnusableDomain => Category::None,
    }
}

/// One candidate, scored.
struct Scored<'a> {
    p: Candidate<'a>,
    evidence: Vec<Evidence>,
    method: Option<MatchMethod>,
    score: f64,
    status: CandidateStatus,
    /// Labels of the matched host (domain specificity).
    specificity: u8,
    /// Contacts on the lead's email domain.
    contacts: u32,
}

fn ev(signal: Signal, lead: &str, account: &str) -> Evidence {
    Evidence {
        signal,
        lead: Name::from(lead),
        account: Name::from(account),
        points: 0.0,
    }
}

/// The strongest domain relation between the lead's hosts and the
/// account's, with the matched host's label count.
fn domain_evidence(
    lead: &LeadSide,
    c: &Candidate<'_>,
    config: &MatchConfig,
) -> Option<(Evidence, u8)> {
    let mut best: Option<(MatchMethod, u8, Evidence)> = None;
    for lh in &lead.hosts {
        for (ah, additional) in &c.features.hosts {
            let method = if lh.host == ah.host {
                Some(if *additional {
                    MatchMethod::AdditionalDomain
                } else {
                    MatchMethod::ExactDomain
                })
            } else if lh.registrable() == ah.registrable() {
                Some(if *additional {
                    MatchMethod::AdditionalDomain
                } else {
                    MatchMethod::Subdomain
                })
            } else {
                (lh.brand() == ah.brand() && lh.distinctive(config.min_brand_len))
                    .then_some(MatchMethod::CrossTld)
            };
            let Some(m) = method else { continue };
            let spec = if m == MatchMethod::CrossTld {
                0
            } else {
                ah.labels()
            };
            let better = best
                .as_ref()
                .is_none_or(|(bm, bs, _)| (m.strength(), spec) > (bm.strength(), *bs));
            if better {
                best = Some((m, spec, ev(Signal::Method(m), &lh.host, &ah.host)));
            }
        }
    }
    best.map(|(_, spec, e)| (e, spec))
}

/// Brands that are similar, or — for an account without domains — the
/// lead's brand that is the account's name (`bluebottlecoffee.com` and
/// "Blue Bottle Coffee"). The other way round (a lead's *name* equal to an
/// account's brand) is not evidence: it restates the name.
fn domain_similarity(lead: &LeadSide, c: &Candidate<'_>, config: &MatchConfig) -> Option<Evidence> {
    for lh in &lead.hosts {
        let lb = lh.brand();
        if !lh.distinctive(config.min_brand_len) {
            continue;
        }
        for (ah, _) in &c.features.hosts {
            let ab = ah.brand();
            if ah.distinctive(config.min_brand_len)
                && may_be_similar(
                    lb,
                    lh.brand_letters(),
                    ab,
                    ah.brand_letters(),
                    config.fuzzy_min_similarity,
                )
                && similarity(lb, ab) >= config.fuzzy_min_similarity
            {
                return Some(ev(Signal::DomainSimilarity, &lh.host, &ah.host));
            }
        }
        if c.features.hosts.is_empty() && c.features.name.as_ref().is_some_and(|n| n.key == lb) {
            return Some(ev(Signal::DomainSimilarity, &lh.host, &c.account.name));
        }
    }
    None
}

fn name_evidence(lead: &LeadSide, c: &Candidate<'_>, config: &MatchConfig) -> Option<Evidence> {
    let (l, a) = (lead.name.as_ref()?, c.features.name.as_ref()?);
    if l.key == a.key || l.folded() == a.folded() {
        return Some(ev(Signal::Method(MatchMethod::NameKey), &l.key, &a.key));
    }
    if let Some(acr) = l.acronym_of(a) {
        let long = if acr == l.key { &a.key } else { &l.key };
        let (lead_side, account_side) = if acr == l.key {
            (acr, long.as_str())
        } else {
            (long.as_str(), acr)
        };
        return Some(ev(
            Signal::Method(MatchMethod::Acronym),
            lead_side,
            account_side,
        ));
    }
    // Short keys are too easily similar by chance ("abc" / "abd").
    if l.key.len() >= 4
        && a.key.len() >= 4
        && may_be_similar(
            &l.key,
            l.letters(),
            &a.key,
            a.letters(),
            config.fuzzy_min_similarity,
        )
    {
        let sim = similarity(&l.key, &a.key);
        if sim >= config.fuzzy_min_similarity {
            return Some(ev(
                Signal::Method(MatchMethod::FuzzyName),
                &format!("{} (similarity {:.2})", l.key, sim),
                &a.key,
            ));
        }
    }
    None
}

/// Where a piece of evidence goes in a candidate's report: the method
/// first (`0`), then other identifying signals by strength, supports,
/// conflicts, and what is worth nothing. Evidence is sorted by this key,
/// stably, once the method is known.
fn report_rank(signal: Signal, method: Option<MatchMethod>) -> u8 {
    match signal {
        Signal::Method(m) if Some(m) == method => 0,
        Signal::Method(m) => 10 - m.strength(),
        Signal::Country | Signal::PostalCode | Signal::Phone | Signal::DomainSimilarity => 20,
        Signal::DomainConflict | Signal::CountryConflict => 30,
        Signal::UnusableDomain => 40,
    }
}

/// The evidence about one candidate, before contact domains and scoring.
///
/// Pushed in the order the report shows it whatever the method turns out
/// to be (identifying signals, supports, conflicts, unusable domains; the
/// evidence of one rank in a fixed order), so the report's stable sort by
/// [`report_rank`] usually finds it sorted.
fn gather(lead: &LeadSide, c: &Candidate<'_>, config: &MatchConfig) -> (Vec<Evidence>, u8) {
    // Room for the usual evidence and a contact-domain method, so that
    // no candidate's list grows while it is gathered.
    let mut out = Vec::with_capacity(4 + c.features.unusable.len());
    let mut specificity = 0;
    let mut similar_domain = None;
    let mut domain_conflict = None;
    if let Some((e, spec)) = domain_evidence(lead, c, config) {
        out.push(e);
        specificity = spec;
    } else if let Some(e) = domain_similarity(lead, c, config) {
        similar_domain = Some(e);
    } else if !lead.hosts.is_empty() && !c.features.hosts.is_empty() {
        let l = lead.hosts.first().map_or("", |h| h.host.as_str());
        let a = c.features.hosts.first().map_or("", |h| h.0.host.as_str());
        domain_conflict = Some(ev(Signal::DomainConflict, l, a));
    }
    if let Some(e) = name_evidence(lead, c, config) {
        out.push(e);
    }
    out.extend(similar_domain);
    let mut country_conflict = None;
    match (lead.country, c.features.country) {
        (Some(l), Some(a)) if l == a => out.push(ev(Signal::Country, l.as_str(), a.as_str())),
        (Some(l), Some(a)) => {
            country_conflict = Some(ev(Signal::CountryConflict, l.as_str(), a.as_str()));
        }
        _ => {}
    }
    if let (Some(l), Some(a)) = (&lead.postal, &c.features.postal) {
        let same_country = match (lead.country, c.features.country) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        };
        if l == a && !l.is_empty() && same_country {
            out.push(ev(Signal::PostalCode, l, a));
        }
    }
    if let (Some(l), Some(a)) = (&lead.phone, &c.features.phone) {
        if l == a {
            out.push(ev(Signal::Phone, l, a));
        }
    }
    out.extend(domain_conflict);
    out.extend(country_conflict);
    for d in &c.features.unusable {
        out.push(ev(Signal::UnusableDomain, "", d));
    }
    (out, specificity)
}

/// Contacts of `account` on the lead's email host (or its registrable
/// domain).
fn contacts_on(account: &Account, host: &Host) -> u32 {
    account
        .contact_domains
        .iter()
        .filter(|(d, _)| {
            let d = d.trim().trim_end_matches('.');
            d.eq_ignore_ascii_case(&host.host) || d.eq_ignore_ascii_case(host.registrable())
        })
        .map(|(_, n)| *n)
        .max()
        .unwrap_or(0)
}

fn weight(config: &MatchConfig, m: MatchMethod) -> f64 {
    let w = &config.weights;
    match m {
        MatchMethod::ExactDomain => w.exact_domain,
        MatchMethod::AdditionalDomain => w.additional_domain,
        MatchMethod::Subdomain => w.subdomain,
        MatchMethod::ContactDomain => w.contact_domain,
        MatchMethod::CrossTld => w.cross_tld,
        MatchMethod::NameKey => w.name_key,
        MatchMethod::FuzzyName => w.fuzzy_name,
        MatchMethod::Acronym => w.acronym,
    }
}

/// Scores one candidate from its evidence: the method's weight, each other
/// category's support once, minus conflicts. Sets each evidence's points.
fn score(lead: &LeadSide, s: &mut Scored<'_>, config: &MatchConfig) {
    let w = &config.weights;
    // Free and disposable leads identify by name only: their domains (a
    // website they typed) can only support.
    let method = s
        .evidence
        .iter()
        .filter_map(|e| match e.signal {
            Signal::Method(m) if lead.business || m.is_name_method() => Some(m),
            _ => None,
        })
        .max_by_key(|m| m.strength());
    // The method first, then other identifying signals, supports,
    // conflicts, and what is worth nothing.
    // (Gathered in this order, bar the method's place: check first.)
    if !s
        .evidence
        .is_sorted_by_key(|e| report_rank(e.signal, method))
    {
        s.evidence.sort_by_key(|e| report_rank(e.signal, method));
    }
    let Some(method) = method else {
        s.status = CandidateStatus::NoEvidence;
        return;
    };
    s.method = Some(method);
    let method_cat = category(Signal::Method(method));
    let mut counted = CategorySet::default();
    counted.insert(method_cat);
    let mut total = 0.0;
    let mut supported = false;
    for e in &mut s.evidence {
        let cat = category(e.signal);
        e.points = if e.signal == Signal::Method(method) {
            weight(config, method)
        } else if cat == Category::Conflict {
            -match e.signal {
                Signal::DomainConflict => w.conflict_domain,
                _ => w.conflict_country,
            }
        } else if cat == Category::None || counted.contains(cat) {
            0.0
        } else {
            counted.insert(cat);
            supported = true;
            match cat {
                Category::Domain => w.support_domain,
                Category::Name => w.support_name,
                Category::Country => w.support_country,
                Category::Postal => w.support_postal_code,
                Category::Phone => w.support_phone,
                Category::Conflict | Category::None => 0.0,
            }
        };
        total += e.points;
    }
    s.score = (total.clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
    // A name support alone does not make a name match "supported".
    let has_support = supported && counted.any_but(Category::Name, method_cat);
    let needs_support = matches!(method, MatchMethod::FuzzyName | MatchMethod::Acronym)
        || (!lead.business && method.is_name_method());
    s.status = if needs_support && !has_support {
        CandidateStatus::NeedsSupport
    } else if s.score < config.min_confidence {
        CandidateStatus::BelowThreshold
    } else {
        // Eligible: the choice decides the rest.
        CandidateStatus::Outscored
    };
}

/// The order in which `accounts` are read: by id (then name), each id
/// once, at most `max` of them; and how many were left out.
pub(crate) fn candidate_order(accounts: &[Account], max: usize) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..accounts.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (accounts.get(a), accounts.get(b));
        x.map(|x| (&x.id, &x.name))
            .cmp(&y.map(|y| (&y.id, &y.name)))
    });
    order.dedup_by(|a, b| accounts.get(*a).map(|x| &x.id) == accounts.get(*b).map(|x| &x.id));
    let ignored = order.len().saturating_sub(max);
    order.truncate(max);
    (order, ignored)
}

/// The whole match over fresh accounts: order, prepare each, then [`run`].
pub(crate) fn run_accounts(
    config: &MatchConfig,
    normalizer: &Normalizer,
    side: &LeadSide,
    accounts: &[Account],
    owner_active: &dyn Fn(&str) -> bool,
) -> AccountMatch {
    // Order-independent: candidates are read in id order, and only the
    // first `max_candidates` of that order.
    let (order, ignored) = candidate_order(accounts, config.max_candidates);
    let picked: Vec<&Account> = order.iter().filter_map(|&i| accounts.get(i)).collect();
    let features: Vec<Features> = picked
        .iter()
        .map(|a| Features::new(a, normalizer))
        .collect();
    let candidates = picked
        .iter()
        .zip(&features)
        .map(|(account, features)| Candidate { account, features });
    run(config, side, candidates, ignored, owner_active)
}

/// The whole match over prepared candidates, already in id order with each
/// id once and at most `max_candidates` of them, for a prepared lead:
/// gather, count contacts, score, choose.
pub(crate) fn run<'a>(
    config: &MatchConfig,
    side: &LeadSide,
    candidates: impl Iterator<Item = Candidate<'a>>,
    ignored: usize,
    owner_active: &dyn Fn(&str) -> bool,
) -> AccountMatch {
    let mut scored: Vec<Scored<'a>> = candidates
        .map(|c| {
            let (evidence, specificity) = gather(side, &c, config);
            let contacts = side.email_host().map_or(0, |h| contacts_on(c.account, h));
            Scored {
                p: c,
                evidence,
                method: None,
                score: 0.0,
                status: CandidateStatus::NoEvidence,
                specificity,
                contacts,
            }
        })
        .collect();

    // The contacts signal needs every candidate's count.
    let total: u32 = scored.iter().map(|s| s.contacts).sum();
    if let Some(host) = side.email_host() {
        for s in &mut scored {
            if s.contacts >= config.min_contacts
                && f64::from(s.contacts) >= config.contact_majority * f64::from(total)
            {
                s.evidence.push(ev(
                    Signal::Method(MatchMethod::ContactDomain),
                    &host.host,
                    &format!("{} of {} contacts", s.contacts, total),
                ));
            }
        }
    }
    for s in &mut scored {
        score(side, s, config);
    }
    choose(config, side, scored, ignored, owner_active)
}

/// The candidate with this id: candidates are in id order, each id once.
fn index_of(scored: &[Scored<'_>], id: &str) -> Option<usize> {
    scored
        .binary_search_by(|s| s.p.account.id.as_str().cmp(id))
        .ok()
}

fn choose(
    config: &MatchConfig,
    side: &LeadSide,
    mut scored: Vec<Scored<'_>>,
    ignored: usize,
    owner_active: &dyn Fn(&str) -> bool,
) -> AccountMatch {
    let eligible = |s: &&Scored<'_>| s.status == CandidateStatus::Outscored;
    let best = scored
        .iter()
        .filter(eligible)
        .map(|s| s.score)
        .fold(f64::NEG_INFINITY, f64::max);
    // A small epsilon keeps "within the margin" stable under float sums.
    let floor = best - config.ambiguity_margin - 1e-9;
    let mut contenders: Vec<usize> = scored
        .iter()
        .enumerate()
        .filter(|(_, s)| eligible(s) && s.score >= floor)
        .map(|(i, _)| i)
        .collect();
    let before = contenders.len();
    let tie_breaker = if contenders.len() > 1 {
        let ancestor_of = |anc: usize, child: usize| -> bool {
            let mut cur = child;
            for _ in 0..MAX_PARENT_DEPTH {
                let parent = scored
                    .get(cur)
                    .and_then(|s| s.p.account.parent_id.as_deref())
                    .and_then(|p| index_of(&scored, p));
                match parent {
                    Some(p) if p == anc => return true,
                    Some(p) => cur = p,
                    None => return false,
                }
            }
            false
        };
        // Only the tie-breakers read these.
        let traits: Vec<Traits<'_>> = scored
            .iter()
            .enumerate()
            .map(|(i, s)| Traits {
                id: &s.p.account.id,
                method_strength: s.method.map_or(0, MatchMethod::strength),
                specificity: s.specificity,
                same_country: side.country.is_some() && s.p.features.country == side.country,
                customer: s.p.account.is_customer,
                active_owner: s.p.account.owner.as_deref().is_some_and(owner_active),
                contacts: s.contacts,
                parent_of_contender: contenders.iter().any(|&j| j != i && ancestor_of(i, j)),
                last_activity: s.p.account.last_activity,
            })
            .collect();
        let all = contenders.clone();
        let decided = tiebreak::decide(&config.tie_breakers, &traits, &mut contenders);
        let chosen = (contenders.len() == 1)
            .then(|| contenders.first().copied())
            .flatten();
        for &i in &all {
            if let Some(s) = scored.get_mut(i) {
                s.status = match chosen {
                    Some(c) if c == i => CandidateStatus::Chosen,
                    Some(_) => CandidateStatus::LostTieBreak,
                    None => CandidateStatus::Tied,
                };
            }
        }
        decided
    } else {
        if let Some(s) = contenders.first().and_then(|&i| scored.get_mut(i)) {
            s.status = CandidateStatus::Chosen;
        }
        None
    };
    let chosen = (contenders.len() == 1)
        .then(|| contenders.first().copied())
        .flatten();
    let routed = chosen.map(|c| {
        let parent = scored
            .get(c)
            .and_then(|s| s.p.account.parent_id.as_deref())
            .filter(|p| index_of(&scored, p).is_some());
        match parent {
            Some(p) if config.route_to_parent => p.to_owned(),
            _ => scored
                .get(c)
                .map(|s| s.p.account.id.clone())
                .unwrap_or_default(),
        }
    });
    let outcome = match chosen {
        Some(_) => MatchOutcome::Matched,
        None if before > 1 => MatchOutcome::Ambiguous,
        None => MatchOutcome::NoMatch,
    };
    let chosen_ref = chosen.and_then(|c| scored.get(c));
    let confidence = match outcome {
        MatchOutcome::NoMatch => scored.iter().map(|s| s.score).fold(0.0, f64::max),
        _ => best.max(0.0),
    };
    let mut result = AccountMatch {
        outcome,
        account_id: chosen_ref.map(|s| s.p.account.id.clone()),
        account_name: chosen_ref.map(|s| s.p.account.name.clone()),
        routed_account_id: routed,
        method: chosen_ref.and_then(|s| s.method),
        confidence: chosen_ref.map_or(confidence, |s| s.score),
        tie_breaker,
        candidates: Vec::with_capacity(scored.len()),
        ignored_candidates: ignored,
    };
    // Best first, then by id: candidates are in id order already, and the
    // sort is stable.
    scored.sort_by(|a, b| b.score.total_cmp(&a.score));
    result.candidates = scored
        .into_iter()
        .map(|s| CandidateReport {
            account_id: Name::from(s.p.account.id.as_str()),
            name: Name::from(s.p.account.name.as_str()),
            score: s.score,
            method: s.method,
            status: s.status,
            evidence: s.evidence,
        })
        .collect();
    result
}
