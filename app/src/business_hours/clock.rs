//! Business-time arithmetic in a schedule's own timezone.
//!
//! A [`BusinessClock`] is a calendar (or a user's working hours) compiled
//! for fast questions: is it open at this instant, which instant is N
//! business minutes after this one, how much business time lies between two
//! instants. Every instant is Unix epoch milliseconds, as stored.
//!
//! The work is done day by day in local time: each local date's opening
//! ranges (from its exception if it has one, else from its weekday) are
//! turned into UTC instants through the IANA rules of the timezone. That is
//! what makes daylight-saving days come out right: a 09:00–17:00 day is 8
//! business hours whatever the offset, and the one-hour jump lands between
//! two instants, not inside a count of minutes.

use super::{parse_date, parse_hhmm, Calendar, DateException, HoursBlock};
use chrono::{Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;

/// How far ahead a computation looks for open time before giving up. A
/// schedule with opening hours always finds some within a week plus its
/// exceptions; this only bounds a calendar whose every day is excepted.
const MAX_DAYS: i64 = 3 * 366;

/// A schedule ready for arithmetic.
#[derive(Debug, Clone)]
pub struct BusinessClock {
    tz: Tz,
    always_open: bool,
    /// Per weekday (Monday first): minute ranges after local midnight.
    weekly: [Vec<(u32, u32)>; 7],
    /// Dated exceptions: their ranges replace the weekday's.
    exceptions: HashMap<NaiveDate, Vec<(u32, u32)>>,
}

/// Parses an IANA timezone name ("Europe/Madrid", "UTC").
pub fn parse_timezone(name: &str) -> Option<Tz> {
    name.trim().parse::<Tz>().ok()
}

impl BusinessClock {
    /// Open all the time.
    pub fn always() -> BusinessClock {
        BusinessClock {
            tz: Tz::UTC,
            always_open: true,
            weekly: Default::default(),
            exceptions: HashMap::new(),
        }
    }

    /// A calendar's clock. Stored calendars were validated; anything that
    /// still does not parse is left out rather than failing the caller.
    pub fn for_calendar(calendar: &Calendar) -> BusinessClock {
        if calendar.always_open {
            return BusinessClock::always();
        }
        let mut clock = BusinessClock::weekly(&calendar.timezone, &calendar.weekly);
        clock.exceptions = exceptions(&calendar.exceptions);
        clock
    }

    /// A weekly schedule (a user's working hours) in `timezone`.
    pub fn weekly(timezone: &str, blocks: &[HoursBlock]) -> BusinessClock {
        let mut weekly: [Vec<(u32, u32)>; 7] = Default::default();
        for b in blocks {
            if let (Some(s), Some(e)) = (parse_hhmm(&b.start), parse_hhmm(&b.end)) {
                if e > s {
                    weekly[b.day.index()].push((s, e));
                }
            }
        }
        for day in &mut weekly {
            day.sort_unstable();
        }
        BusinessClock {
            tz: parse_timezone(timezone).unwrap_or(Tz::UTC),
            always_open: false,
            weekly,
            exceptions: HashMap::new(),
        }
    }

    /// The UTC instant of a local date and minute of day. A time that does
    /// not exist (skipped by a daylight-saving jump) moves forward to the
    /// first that does; an ambiguous one (repeated) takes the earlier.
    fn instant(&self, date: NaiveDate, minute: u32) -> i64 {
        let mut local: NaiveDateTime =
            date.and_hms_opt(0, 0, 0).expect("midnight exists") + Duration::minutes(minute.into());
        for _ in 0..=180 {
            match self.tz.from_local_datetime(&local) {
                LocalResult::Single(t) => return t.timestamp_millis(),
                LocalResult::Ambiguous(early, _) => return early.timestamp_millis(),
                LocalResult::None => local += Duration::minutes(1),
            }
        }
        // No timezone skips three hours; fall back to reading it as UTC.
        local.and_utc().timestamp_millis()
    }

    fn local_date(&self, at_ms: i64) -> NaiveDate {
        let utc = Utc
            .timestamp_millis_opt(at_ms)
            .single()
            .unwrap_or_else(|| Utc.timestamp_millis_opt(0).single().expect("epoch"));
        utc.with_timezone(&self.tz).date_naive()
    }

    /// The open ranges of one local date, as UTC millisecond instants.
    fn day_ranges(&self, date: NaiveDate) -> Vec<(i64, i64)> {
        let minutes = self
            .exceptions
            .get(&date)
            .unwrap_or(&self.weekly[date.weekday().num_days_from_monday() as usize]);
        minutes
            .iter()
            .map(|(s, e)| (self.instant(date, *s), self.instant(date, *e)))
            .filter(|(s, e)| e > s)
            .collect()
    }

    /// Is the schedule open at `at_ms`?
    pub fn is_open(&self, at_ms: i64) -> bool {
        if self.always_open {
            return true;
        }
        let date = self.local_date(at_ms);
        self.day_ranges(date)
            .iter()
            .any(|(s, e)| *s <= at_ms && at_ms < *e)
    }

    /// The instant `duration_ms` of open time after `start_ms`. Counting
    /// starts at the next opening when `start_ms` is outside the hours.
    pub fn add(&self, start_ms: i64, duration_ms: i64) -> i64 {
        if self.always_open || duration_ms <= 0 {
            return start_ms + duration_ms.max(0);
        }
        let mut remaining = duration_ms;
        let mut date = self.local_date(start_ms);
        for _ in 0..MAX_DAYS {
            for (s, e) in self.day_ranges(date) {
                if e <= start_ms {
                    continue;
                }
                let from = s.max(start_ms);
                if remaining <= e - from {
                    return from + remaining;
                }
                remaining -= e - from;
            }
            date = date.succ_opt().unwrap_or(date);
        }
        // Never open: the target is out of reach, put it far away.
        start_ms + duration_ms + MAX_DAYS * 86_400_000
    }

    /// Open time between `from_ms` and `to_ms` (0 when `to_ms` is earlier).
    pub fn between(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        if self.always_open {
            return to_ms - from_ms;
        }
        let mut total = 0;
        let mut date = self.local_date(from_ms);
        let last = self.local_date(to_ms);
        while date <= last {
            for (s, e) in self.day_ranges(date) {
                let (a, b) = (s.max(from_ms), e.min(to_ms));
                if b > a {
                    total += b - a;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        total
    }
}

fn exceptions(list: &[DateException]) -> HashMap<NaiveDate, Vec<(u32, u32)>> {
    list.iter()
        .filter_map(|e| {
            let (y, m, d) = parse_date(&e.date)?;
            let date = NaiveDate::from_ymd_opt(y, m, d)?;
            let mut ranges: Vec<(u32, u32)> = e
                .hours
                .iter()
                .filter_map(|r| Some((parse_hhmm(&r.start)?, parse_hhmm(&r.end)?)))
                .filter(|(s, e)| e > s)
                .collect();
            ranges.sort_unstable();
            Some((date, ranges))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::{office_hours, TimeRange, Weekday};
    use super::*;

    const MIN: i64 = 60_000;
    const HOUR: i64 = 60 * MIN;

    /// Epoch ms of a UTC date-time.
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .timestamp_millis()
    }

    fn calendar(tz: &str, exceptions: Vec<DateException>) -> BusinessClock {
        BusinessClock::for_calendar(&Calendar {
            id: 1,
            name: "Office".into(),
            timezone: tz.into(),
            always_open: false,
            weekly: office_hours(),
            exceptions,
        })
    }

    #[test]
    fn always_open_is_plain_arithmetic() {
        let c = BusinessClock::always();
        assert_eq!(c.add(1_000, 5 * MIN), 1_000 + 5 * MIN);
        assert_eq!(c.between(0, 3 * HOUR), 3 * HOUR);
        assert!(c.is_open(0));
    }

    #[test]
    fn counting_skips_nights_and_weekends() {
        let c = calendar("UTC", vec![]);
        // Friday 2026-12-04 16:00 + 2 business hours = Monday 10:00.
        assert_eq!(
            c.add(utc(2026, 12, 4, 16, 0), 2 * HOUR),
            utc(2026, 12, 7, 10, 0)
        );
        // Saturday: counting starts Monday 09:00.
        assert_eq!(
            c.add(utc(2026, 12, 5, 12, 0), 30 * MIN),
            utc(2026, 12, 7, 9, 30)
        );
        // Exactly the end of the day stays on that day.
        assert_eq!(
            c.add(utc(2026, 12, 7, 9, 0), 8 * HOUR),
            utc(2026, 12, 7, 17, 0)
        );
        assert_eq!(
            c.between(utc(2026, 12, 4, 16, 0), utc(2026, 12, 7, 10, 0)),
            2 * HOUR
        );
        assert!(c.is_open(utc(2026, 12, 7, 9, 0)));
        assert!(!c.is_open(utc(2026, 12, 7, 17, 0)));
        assert!(!c.is_open(utc(2026, 12, 5, 12, 0)));
    }

    #[test]
    fn hours_are_local_to_the_calendar_timezone() {
        // 09:00 in Madrid is 08:00 UTC in winter (CET, +1).
        let c = calendar("Europe/Madrid", vec![]);
        assert!(c.is_open(utc(2026, 12, 7, 8, 0)));
        assert!(!c.is_open(utc(2026, 12, 7, 7, 59)));
        // 09:00 in New York is 14:00 UTC in winter (EST, -5): a Monday
        // 15:00 UTC start is 10:00 local, 7 hours left that day.
        let ny = calendar("America/New_York", vec![]);
        assert_eq!(
            ny.add(utc(2026, 12, 7, 15, 0), 7 * HOUR),
            utc(2026, 12, 7, 22, 0)
        );
        assert_eq!(
            ny.add(utc(2026, 12, 7, 15, 0), 8 * HOUR),
            utc(2026, 12, 8, 15, 0)
        );
    }

    #[test]
    fn daylight_saving_changes_keep_business_hours_whole() {
        let c = calendar("Europe/Madrid", vec![]);
        // Friday 2027-03-26 16:00 CET (15:00 UTC) + 2 business hours: one
        // hour that Friday, one on Monday 2027-03-29 which is CEST (+2), so
        // 10:00 local = 08:00 UTC. The weekend's jump is not counted.
        assert_eq!(
            c.add(utc(2027, 3, 26, 15, 0), 2 * HOUR),
            utc(2027, 3, 29, 8, 0)
        );
        // Autumn back: Friday 2027-10-29 16:00 CEST (14:00 UTC) + 2 hours =
        // Monday 2027-11-01 10:00 CET = 09:00 UTC.
        assert_eq!(
            c.add(utc(2027, 10, 29, 14, 0), 2 * HOUR),
            utc(2027, 11, 1, 9, 0)
        );

        // A 24/7-style weekly schedule across the spring jump: the local day
        // of 2027-03-28 has only 23 hours, and the count says so.
        let all_week: Vec<HoursBlock> = Weekday::ALL
            .iter()
            .map(|d| HoursBlock {
                day: *d,
                start: "00:00".into(),
                end: "24:00".into(),
            })
            .collect();
        let w = BusinessClock::weekly("Europe/Madrid", &all_week);
        let (start, end) = (utc(2027, 3, 27, 23, 0), utc(2027, 3, 28, 22, 0));
        assert_eq!(w.between(start, end), 23 * HOUR);
        assert_eq!(w.add(start, 23 * HOUR), end);

        // A block starting inside the skipped hour (02:30 does not exist on
        // 2027-03-28 in Madrid) opens at 03:00 local = 01:00 UTC.
        let night = BusinessClock::weekly(
            "Europe/Madrid",
            &[HoursBlock {
                day: Weekday::Sun,
                start: "02:30".into(),
                end: "04:00".into(),
            }],
        );
        assert!(night.is_open(utc(2027, 3, 28, 1, 0)));
        assert_eq!(
            night.between(utc(2027, 3, 28, 0, 0), utc(2027, 3, 28, 3, 0)),
            HOUR
        );
    }

    #[test]
    fn holidays_and_special_days_replace_the_week() {
        let c = calendar(
            "UTC",
            vec![
                DateException {
                    date: "2026-12-25".into(),
                    name: "Christmas".into(),
                    hours: vec![],
                },
                DateException {
                    date: "2026-12-24".into(),
                    name: "Christmas Eve".into(),
                    hours: vec![TimeRange {
                        start: "09:00".into(),
                        end: "12:00".into(),
                    }],
                },
                DateException {
                    date: "2026-12-26".into(),
                    name: "Saturday sale".into(),
                    hours: vec![TimeRange {
                        start: "10:00".into(),
                        end: "14:00".into(),
                    }],
                },
            ],
        );
        // Thursday 24th 11:00 + 3 h: one hour on the short Eve, nothing on
        // Christmas Friday, two on the special Saturday (10:00 -> 12:00).
        assert_eq!(
            c.add(utc(2026, 12, 24, 11, 0), 3 * HOUR),
            utc(2026, 12, 26, 12, 0)
        );
        assert!(!c.is_open(utc(2026, 12, 25, 10, 0)));
        assert!(c.is_open(utc(2026, 12, 26, 13, 0)));
        assert_eq!(
            c.between(utc(2026, 12, 24, 0, 0), utc(2026, 12, 27, 0, 0)),
            7 * HOUR
        );
    }

    #[test]
    fn a_calendar_with_no_hours_never_comes_due() {
        let c = BusinessClock::weekly("UTC", &[]);
        let due = c.add(0, HOUR);
        assert!(due > 365 * 24 * HOUR);
        assert_eq!(c.between(0, 10 * 24 * HOUR), 0);
    }

    #[test]
    fn timezones_are_checked() {
        assert!(parse_timezone("Europe/Madrid").is_some());
        assert!(parse_timezone("UTC").is_some());
        assert!(parse_timezone("Mars/Olympus").is_none());
    }
}
