//! Business hours: weekly opening times, dated exceptions (holidays and
//! special days) and the calendars that hold them.
//!
//! The same weekly shape serves a user's working hours (which move their
//! availability to Away outside them) and a calendar (which SLA clocks and
//! routing count business time on). The types here are shared with the
//! browser (the settings forms build them); [`clock`] does the arithmetic
//! in the calendar's timezone and [`service`] stores calendars, both on the
//! server only.

#[cfg(feature = "ssr")]
pub mod clock;
pub mod editor;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// A day of the week, Monday first (ISO 8601).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// 0 for Monday .. 6 for Sunday.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn label(self) -> &'static str {
        match self {
            Weekday::Mon => "Monday",
            Weekday::Tue => "Tuesday",
            Weekday::Wed => "Wednesday",
            Weekday::Thu => "Thursday",
            Weekday::Fri => "Friday",
            Weekday::Sat => "Saturday",
            Weekday::Sun => "Sunday",
        }
    }
}

/// Opening time on one day: `start` to `end` as `HH:MM` local time, `end`
/// after `start` (`24:00` for midnight at the end of the day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TimeRange {
    pub start: String,
    pub end: String,
}

/// One weekly opening block, e.g. Monday 09:00–17:00. A day may have
/// several (a lunch break is two blocks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HoursBlock {
    pub day: Weekday,
    pub start: String,
    pub end: String,
}

/// The weekly opening blocks of a schedule.
pub type WeeklyHours = Vec<HoursBlock>;

/// A date whose hours differ from the week's: a holiday (no `hours`) or a
/// special day with its own hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DateException {
    /// `YYYY-MM-DD` in the calendar's timezone.
    pub date: String,
    #[serde(default)]
    pub name: String,
    /// Empty: closed all day.
    #[serde(default)]
    pub hours: Vec<TimeRange>,
}

/// A business-hours calendar. The 24/7 calendar is `always_open`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Calendar {
    pub id: i64,
    pub name: String,
    /// An IANA timezone name, e.g. `Europe/Madrid`.
    pub timezone: String,
    pub always_open: bool,
    pub weekly: WeeklyHours,
    pub exceptions: Vec<DateException>,
}

/// Input for creating or replacing a calendar (super admins only).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CalendarInput {
    pub name: String,
    /// `UTC` when absent.
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub always_open: bool,
    #[serde(default)]
    pub weekly: WeeklyHours,
    #[serde(default)]
    pub exceptions: Vec<DateException>,
}

/// Minutes after local midnight of an `HH:MM` time (`24:00` allowed).
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Checks a weekly schedule: valid times, each block ending after it
/// starts, no two blocks of a day overlapping. `field` names the input in
/// the error.
pub fn validate_weekly(weekly: &[HoursBlock]) -> Result<(), String> {
    let mut per_day: [Vec<(u32, u32)>; 7] = Default::default();
    for b in weekly {
        let range =
            validate_range(&b.start, &b.end).map_err(|m| format!("{}: {m}", b.day.label()))?;
        per_day[b.day.index()].push(range);
    }
    for (i, ranges) in per_day.iter_mut().enumerate() {
        check_overlaps(ranges).map_err(|m| format!("{}: {m}", Weekday::ALL[i].label()))?;
    }
    Ok(())
}

fn validate_range(start: &str, end: &str) -> Result<(u32, u32), String> {
    let s = parse_hhmm(start).filter(|s| *s < 24 * 60);
    let e = parse_hhmm(end);
    match (s, e) {
        (Some(s), Some(e)) if e > s => Ok((s, e)),
        (Some(_), Some(_)) => Err(format!("{end} is not after {start}.")),
        _ => Err(format!("“{start}–{end}” is not a time range (use HH:MM).")),
    }
}

fn check_overlaps(ranges: &mut [(u32, u32)]) -> Result<(), String> {
    ranges.sort_unstable();
    if ranges.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err("two blocks overlap.".into());
    }
    Ok(())
}

/// Checks dated exceptions: real dates, valid ranges, each date once.
pub fn validate_exceptions(exceptions: &[DateException]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for e in exceptions {
        if parse_date(&e.date).is_none() {
            return Err(format!("“{}” is not a date (use YYYY-MM-DD).", e.date));
        }
        if !seen.insert(e.date.trim()) {
            return Err(format!("{} is listed twice.", e.date.trim()));
        }
        let mut ranges = e
            .hours
            .iter()
            .map(|r| validate_range(&r.start, &r.end))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| format!("{}: {m}", e.date))?;
        check_overlaps(&mut ranges).map_err(|m| format!("{}: {m}", e.date))?;
    }
    Ok(())
}

/// (year, month, day) of a `YYYY-MM-DD` date that exists.
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let mut parts = s.trim().splitn(3, '-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    ((1..=days).contains(&d) && (1970..=9999).contains(&y)).then_some((y, m, d))
}

/// Monday to Friday, 09:00–17:00: what a new schedule starts from.
pub fn office_hours() -> WeeklyHours {
    Weekday::ALL[..5]
        .iter()
        .map(|d| HoursBlock {
            day: *d,
            start: "09:00".into(),
            end: "17:00".into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_strictly() {
        assert_eq!(parse_hhmm("09:30"), Some(570));
        assert_eq!(parse_hhmm("9:05"), Some(545));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        for bad in ["24:01", "12:60", "1230", "ab:cd", "", "12:5", "-1:00"] {
            assert_eq!(parse_hhmm(bad), None, "{bad}");
        }
    }

    #[test]
    fn weekly_blocks_must_be_ordered_and_apart() {
        assert!(validate_weekly(&office_hours()).is_ok());
        let block = |day, start: &str, end: &str| HoursBlock {
            day,
            start: start.into(),
            end: end.into(),
        };
        assert!(validate_weekly(&[block(Weekday::Mon, "17:00", "09:00")]).is_err());
        assert!(validate_weekly(&[block(Weekday::Mon, "24:00", "24:00")]).is_err());
        assert!(validate_weekly(&[
            block(Weekday::Mon, "09:00", "13:00"),
            block(Weekday::Mon, "12:00", "17:00")
        ])
        .is_err());
        // Back to back is fine, and so is the same time on another day.
        assert!(validate_weekly(&[
            block(Weekday::Mon, "09:00", "13:00"),
            block(Weekday::Mon, "13:00", "24:00"),
            block(Weekday::Tue, "09:00", "13:00"),
        ])
        .is_ok());
    }

    #[test]
    fn exceptions_need_real_distinct_dates() {
        let holiday = |date: &str| DateException {
            date: date.into(),
            name: "Holiday".into(),
            hours: vec![],
        };
        assert!(validate_exceptions(&[holiday("2026-12-25"), holiday("2028-02-29")]).is_ok());
        assert!(validate_exceptions(&[holiday("2026-02-29")]).is_err());
        assert!(validate_exceptions(&[holiday("2026-13-01")]).is_err());
        assert!(validate_exceptions(&[holiday("2026-12-25"), holiday("2026-12-25")]).is_err());
    }
}
