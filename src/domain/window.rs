//! Maintenance windows: weekly slots in a customer's own time zone.
//!
//! Pure calendar arithmetic: given an instant, is the window open, and when does it
//! next open. DST is handled by chrono-tz; a start time that does not exist on a
//! given day (spring forward) is taken at the first valid instant after it.

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::HumanDuration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    /// IANA time zone name, e.g. `Europe/Berlin`.
    #[serde(serialize_with = "ser_tz", deserialize_with = "de_tz")]
    pub timezone: Tz,
    /// Days the window opens on, e.g. `["sat", "sun"]`.
    #[serde(serialize_with = "ser_days", deserialize_with = "de_days")]
    pub days: Vec<Weekday>,
    /// Local opening time, `HH:MM`.
    #[serde(serialize_with = "ser_time", deserialize_with = "de_time")]
    pub start: NaiveTime,
    pub duration: HumanDuration,
}

impl MaintenanceWindow {
    /// The window occurrence containing `at`, or the next one to open after it, as
    /// (open, close). None when the window has no days.
    pub fn current_or_next(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if self.days.is_empty() || self.duration.is_zero() {
            return None;
        }
        let local_today = at.with_timezone(&self.timezone).date_naive();
        // A window may have opened up to `duration` ago: look back far enough.
        let back_days = i64::try_from(self.duration.as_secs() / 86_400 + 1).unwrap_or(8);
        let mut day = local_today - chrono::Days::new(back_days.unsigned_abs());
        for _ in 0..(back_days + 8) {
            if self.days.contains(&day.weekday()) {
                if let Some(open) = self.local_to_utc(day.and_time(self.start)) {
                    let close = self.duration.after(open);
                    if close > at {
                        return Some((open, close));
                    }
                }
            }
            day = day.succ_opt()?;
        }
        None
    }

    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        matches!(self.current_or_next(at), Some((open, _)) if open <= at)
    }

    /// `at` itself when the window is open, else its next opening.
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.current_or_next(at).map(|(open, _)| open.max(at))
    }

    fn local_to_utc(&self, local: chrono::NaiveDateTime) -> Option<DateTime<Utc>> {
        // Skip forward over a DST gap minute by minute (at most a couple of hours).
        for minutes in 0..=180 {
            let candidate = local + chrono::TimeDelta::minutes(minutes);
            if let Some(t) = self.timezone.from_local_datetime(&candidate).earliest() {
                return Some(t.with_timezone(&Utc));
            }
        }
        None
    }

    /// One line for people: `sat,sun 02:00 Europe/Berlin for 4h`.
    pub fn describe(&self) -> String {
        let days: Vec<&str> = self.days.iter().map(|d| day_name(*d)).collect();
        format!(
            "{} {} {} for {}",
            days.join(","),
            self.start.format("%H:%M"),
            self.timezone.name(),
            self.duration
        )
    }
}

fn day_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

fn ser_tz<S: Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

fn de_tz<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<Tz>().map_err(|_| {
        serde::de::Error::custom(format!(
            "unknown time zone `{s}` (use an IANA name such as Europe/Berlin or UTC)"
        ))
    })
}

fn ser_days<S: Serializer>(days: &[Weekday], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(days.iter().map(|d| day_name(*d)))
}

fn de_days<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Weekday>, D::Error> {
    let names = Vec::<String>::deserialize(d)?;
    names
        .iter()
        .map(|n| {
            n.parse::<Weekday>().map_err(|_| {
                serde::de::Error::custom(format!("unknown day `{n}` (use mon, tue, … sun)"))
            })
        })
        .collect()
}

fn ser_time<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.format("%H:%M"))
}

fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
    let s = String::deserialize(d)?;
    NaiveTime::parse_from_str(&s, "%H:%M")
        .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a time like 02:00")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(json: &str) -> MaintenanceWindow {
        serde_json::from_str(json).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn opens_on_its_days_in_its_time_zone() {
        // Saturdays 02:00 in Berlin (UTC+1 in winter) for 4h.
        let w = window(
            r#"{"timezone":"Europe/Berlin","days":["sat"],"start":"02:00","duration":"4h"}"#,
        );
        // 2026-11-20 is a Friday.
        let friday = utc("2026-11-20T12:00:00Z");
        assert!(!w.is_open(friday));
        assert_eq!(w.next_open(friday), Some(utc("2026-11-21T01:00:00Z")));
        assert!(w.is_open(utc("2026-11-21T03:00:00Z")));
        assert!(!w.is_open(utc("2026-11-21T05:00:00Z")));
        assert_eq!(
            w.next_open(utc("2026-11-21T05:00:00Z")),
            Some(utc("2026-11-28T01:00:00Z"))
        );
    }

    #[test]
    fn window_spanning_midnight_is_open_after_midnight() {
        let w = window(r#"{"timezone":"UTC","days":["fri"],"start":"22:00","duration":"4h"}"#);
        assert!(w.is_open(utc("2026-11-21T01:00:00Z"))); // Saturday 01:00
    }

    #[test]
    fn refuses_unknown_zone_and_day() {
        let err = serde_json::from_str::<MaintenanceWindow>(
            r#"{"timezone":"Mars/Olympus","days":["sat"],"start":"02:00","duration":"4h"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"));
        assert!(
            serde_json::from_str::<MaintenanceWindow>(
                r#"{"timezone":"UTC","days":["someday"],"start":"02:00","duration":"4h"}"#
            )
            .is_err()
        );
    }
}
