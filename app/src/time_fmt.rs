//! Timestamp display. Times are Unix milliseconds everywhere; they are shown
//! in UTC with a fixed format so that the server-rendered HTML and the
//! hydrated page produce exactly the same text.

use time::OffsetDateTime;

/// Milliseconds since the Unix epoch as `2026-11-24 14:05`.
pub fn format_ms(ms: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => String::from("—"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_minutes() {
        assert_eq!(format_ms(0), "1970-01-01 00:00");
        assert_eq!(format_ms(1_795_961_100_000), "2026-11-29 14:05");
        assert_eq!(format_ms(-1), "1969-12-31 23:59");
    }

    #[test]
    fn out_of_range_is_a_dash() {
        assert_eq!(format_ms(i64::MAX), "—");
    }
}
