//! Compiling the time parts of a policy: named schedules (zone, weekly
//! blocks, holidays), owners' schedules and out-of-office dates, pools'
//! zones and seat rules, and the time conditions.

use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::{Compiler, idx, render_list};
use crate::name::Name;
use crate::policy::diagnostic::Diagnostic;
use crate::policy::ir::{Cond, Owner, Pred};
use crate::policy::spec::{DayOfWeekSpec, PolicySpec, PoolSpec, WeeklyHoursSpec};
use crate::pool::load::SeatRules;
use crate::pool::roster::Seat;
use crate::schedule::civil::{BlockError, parse_block, parse_dates};
use crate::schedule::{Block, DAY_MINUTES, Schedule};

/// A pool's time settings, compiled.
pub(super) struct PoolTime {
    pub(super) seat_rules: Box<[SeatRules]>,
    pub(super) zone: Option<TimeZone>,
    pub(super) schedule: Option<Arc<Schedule>>,
}

/// A block as written, with where it was written.
struct Written<'s> {
    block: Block,
    text: &'s str,
    path: String,
    /// From `weekdays` rather than the day's own key.
    shared: bool,
}

impl Compiler {
    /// Resolves an IANA zone name, reporting an unknown one with the
    /// closest known name.
    pub(super) fn zone_ref(&mut self, name: &str, path: &str) -> Option<TimeZone> {
        if let Some(zone) = crate::schedule::zone(name.trim()) {
            return Some(zone);
        }
        let suggestion = if self.sink.has_room() && name.len() <= 64 {
            let db = jiff::tz::db();
            let names: Vec<String> = db.available().map(|n| n.as_str().to_owned()).collect();
            crate::policy::suggest::closest_word(name.trim(), names.iter().map(String::as_str))
                .map(str::to_owned)
        } else {
            None
        };
        self.report(Diagnostic::unknown_time_zone(
            path.into(),
            name,
            suggestion.as_deref(),
        ));
        None
    }

    fn schedule_ref(&mut self, id: &str, path: &str) -> Option<u32> {
        let found = self.schedule_index.get(id).copied();
        if found.is_none() {
            let suggestion = self
                .suggest(id, self.schedule_ids.iter().map(String::as_str))
                .map(str::to_owned);
            self.report(Diagnostic::unknown_schedule(
                path.into(),
                id,
                suggestion.as_deref(),
            ));
        }
        found
    }

    fn schedule_at(&self, i: u32) -> Option<Arc<Schedule>> {
        self.schedules.get(i as usize).cloned()
    }

    /// Compiles the named schedules into `self.schedules`.
    pub(super) fn schedules(&mut self, spec: &PolicySpec) {
        for (i, s) in spec.schedules.iter().enumerate() {
            let path = format!("schedules[{i}]");
            if s.id.trim().is_empty() {
                self.report(Diagnostic::missing_id(format!("{path}.id"), "a schedule"));
            }
            if self
                .schedule_index
                .insert(s.id.as_str().into(), idx(i))
                .is_some()
            {
                self.report(Diagnostic::duplicate_id(
                    format!("{path}.id"),
                    "schedule",
                    &s.id,
                ));
            }
            let zone = self
                .zone_ref(&s.timezone, &format!("{path}.timezone"))
                .unwrap_or(TimeZone::UTC);
            let week = self.week(&s.hours, &format!("{path}.hours"));
            let closed = self.dates(&s.holidays, &format!("{path}.holidays"));
            if week.iter().all(|d| d.is_empty()) {
                self.report(Diagnostic::never_open(format!("{path}.hours"), &s.id));
            }
            self.schedules.push(Arc::new(Schedule {
                id: Name::from(s.id.as_str()),
                zone,
                week,
                closed,
                out_of_office: Box::default(),
            }));
        }
    }

    /// Reads one list of blocks.
    fn blocks<'s>(&mut self, list: &'s [String], path: &str, shared: bool) -> Vec<Written<'s>> {
        let mut out = Vec::with_capacity(list.len());
        for (i, text) in list.iter().enumerate() {
            let at = format!("{path}[{i}]");
            match parse_block(text) {
                Ok(block) => out.push(Written {
                    block,
                    text,
                    path: at,
                    shared,
                }),
                Err(BlockError::Syntax) => self.report(Diagnostic::invalid_block(at, text)),
                Err(BlockError::Inverted) => self.report(Diagnostic::inverted_block(at, text)),
            }
        }
        out
    }

    /// The blocks of each weekday, sorted, with overlaps reported.
    fn week(&mut self, hours: &WeeklyHoursSpec, path: &str) -> [Box<[Block]>; 7] {
        let shared = self.blocks(&hours.weekdays, &format!("{path}.weekdays"), true);
        let mut week: [Box<[Block]>; 7] = Default::default();
        for (d, (key, list)) in hours.days().into_iter().enumerate() {
            let mut day = self.blocks(list, &format!("{path}.{key}"), false);
            if d < 5 {
                day.extend(shared.iter().map(|w| Written {
                    block: w.block,
                    text: w.text,
                    path: w.path.clone(),
                    shared: true,
                }));
            }
            day.sort_by_key(|w| w.block);
            for pair in day.windows(2) {
                let [a, b] = pair else { continue };
                // Two `weekdays` blocks overlap on every weekday: say it once.
                let report = !(a.shared && b.shared) || d == 0;
                if b.block.start < a.block.end && report {
                    let day_name = if a.shared && b.shared {
                        "weekdays"
                    } else {
                        key
                    };
                    let at = if b.shared && !a.shared {
                        a.path.clone()
                    } else {
                        b.path.clone()
                    };
                    self.report(Diagnostic::overlapping_blocks(at, day_name, a.text, b.text));
                }
            }
            if let Some(slot) = week.get_mut(d) {
                *slot = day.into_iter().map(|w| w.block).collect();
            }
        }
        week
    }

    /// Reads dates and ranges into sorted, merged, inclusive ranges.
    fn dates(&mut self, list: &[String], path: &str) -> Box<[(Date, Date)]> {
        let mut ranges = Vec::with_capacity(list.len());
        for (i, text) in list.iter().enumerate() {
            let at = format!("{path}[{i}]");
            match parse_dates(text) {
                Ok(r) => ranges.push(r),
                Err(true) => self.report(Diagnostic::inverted_dates(at, text)),
                Err(false) => self.report(Diagnostic::invalid_date(at, text)),
            }
        }
        merge_dates(ranges)
    }

    /// Gives each owner its schedule, with its own out-of-office dates
    /// added; checks owners' time zones.
    pub(super) fn owner_schedules(&mut self, spec: &PolicySpec, owners: &mut [Owner]) {
        for (i, (o, owner)) in spec.owners.iter().zip(owners.iter_mut()).enumerate() {
            let path = format!("owners[{i}]");
            let zone = o
                .timezone
                .as_deref()
                .and_then(|z| self.zone_ref(z, &format!("{path}.timezone")));
            let base = o
                .schedule
                .as_deref()
                .and_then(|id| self.schedule_ref(id, &format!("{path}.schedule")))
                .and_then(|s| self.schedule_at(s));
            let away = self.dates(&o.out_of_office, &format!("{path}.out_of_office"));
            owner.schedule = if away.is_empty() {
                base
            } else {
                // Out of office without a schedule: 24/7 in the owner's zone
                // except those days.
                let mut own = base.map_or_else(
                    || Schedule {
                        id: Name::from(o.id.as_str()),
                        zone: zone.unwrap_or(TimeZone::UTC),
                        week: std::array::from_fn(|_| {
                            Box::from([Block {
                                start: 0,
                                end: DAY_MINUTES,
                            }])
                        }),
                        closed: Box::default(),
                        out_of_office: Box::default(),
                    },
                    |s| (*s).clone(),
                );
                let mut all = own.closed.to_vec();
                all.extend(away.iter().copied());
                own.closed = merge_dates(all);
                own.out_of_office = away;
                Some(Arc::new(own))
            };
        }
    }

    /// A pool's zone, schedule and seat rules.
    pub(super) fn pool_time(
        &mut self,
        i: usize,
        p: &PoolSpec,
        seats: &[Seat],
        owners: &[Owner],
    ) -> PoolTime {
        let path = format!("pools[{i}]");
        let schedule = p
            .schedule
            .as_deref()
            .and_then(|id| self.schedule_ref(id, &format!("{path}.schedule")))
            .and_then(|s| self.schedule_at(s));
        let zone = match p.timezone.as_deref() {
            Some(z) => self.zone_ref(z, &format!("{path}.timezone")),
            None => schedule.as_ref().map(|s| s.zone.clone()),
        };
        if p.max_open == Some(0) {
            self.report(Diagnostic::zero_capacity(format!("{path}.max_open"), false));
        }
        for (m, member) in p.members.iter().enumerate() {
            if member.max_open == Some(0) {
                self.report(Diagnostic::zero_capacity(
                    format!("{path}.members[{m}].max_open"),
                    true,
                ));
            }
        }
        let seat_rules = seats
            .iter()
            .map(|seat| {
                let own = self
                    .owner_index
                    .get(&*seat.owner)
                    .and_then(|o| owners.get(*o as usize))
                    .and_then(|o| o.schedule.clone());
                let member = p.members.iter().find(|m| *m.owner == *seat.owner);
                SeatRules {
                    schedule: own.or_else(|| schedule.clone()),
                    max_open: member.and_then(|m| m.max_open).or(p.max_open),
                }
            })
            .collect();
        PoolTime {
            seat_rules,
            zone,
            schedule,
        }
    }

    /// `{"within_schedule": id}` / `{"outside_schedule": id}`.
    pub(super) fn schedule_cond(&mut self, id: &str, path: &str, within: bool) -> Cond {
        let key = if within {
            "within_schedule"
        } else {
            "outside_schedule"
        };
        let p = format!("{path}.{key}");
        let pred = match self.schedule_ref(id, &p) {
            Some(s) => Pred::Schedule(s, within),
            None => Pred::Always(false),
        };
        self.leaf(pred, &p, key, "is", id.to_owned())
    }

    /// `{"day_of_week": {"days": [...], "timezone": zone}}`.
    pub(super) fn day_of_week_cond(&mut self, d: &DayOfWeekSpec, path: &str) -> Cond {
        let p = format!("{path}.day_of_week");
        self.non_empty(&d.days, &format!("{p}.days"));
        let zone = d
            .timezone
            .as_deref()
            .and_then(|z| self.zone_ref(z, &format!("{p}.timezone")))
            .unwrap_or(TimeZone::UTC);
        let mask = d.days.iter().fold(0u8, |m, day| m | (1 << day.index()));
        let words = d.days.iter().map(|day| match day.index() {
            0 => "mon",
            1 => "tue",
            2 => "wed",
            3 => "thu",
            4 => "fri",
            5 => "sat",
            _ => "sun",
        });
        let expected = format!(
            "{} in {}",
            render_list(words),
            d.timezone.as_deref().unwrap_or("UTC")
        );
        self.leaf(
            Pred::DayOfWeek(mask, zone),
            &p,
            "day_of_week",
            "in",
            expected,
        )
    }
}

/// Sorts inclusive date ranges and merges those that overlap or touch.
fn merge_dates(mut ranges: Vec<(Date, Date)>) -> Box<[(Date, Date)]> {
    ranges.sort();
    let mut out: Vec<(Date, Date)> = Vec::with_capacity(ranges.len());
    for (from, until) in ranges {
        match out.last_mut() {
            Some(last) if last.1.tomorrow().map_or(true, |next| from <= next) => {
                last.1 = last.1.max(until);
            }
            _ => out.push((from, until)),
        }
    }
    out.into_boxed_slice()
}
