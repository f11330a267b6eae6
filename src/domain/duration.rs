//! Durations written the way people write them in policies: `15m`, `2h`, `1h 30m`,
//! `72h`, `0s`. Stored as whole seconds; a negative or unparsable value is refused.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct HumanDuration {
    secs: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a duration like 15m, 2h or 1h30m: {reason}")]
pub struct DurationParseError {
    pub input: String,
    pub reason: String,
}

impl HumanDuration {
    pub const ZERO: HumanDuration = HumanDuration { secs: 0 };

    pub const fn from_secs(secs: u64) -> Self {
        HumanDuration { secs }
    }
    pub const fn from_mins(mins: u64) -> Self {
        HumanDuration { secs: mins * 60 }
    }
    pub const fn from_hours(hours: u64) -> Self {
        HumanDuration { secs: hours * 3600 }
    }
    pub const fn as_secs(self) -> u64 {
        self.secs
    }
    pub fn is_zero(self) -> bool {
        self.secs == 0
    }
    /// The same span as a chrono delta, for arithmetic on instants.
    pub fn to_delta(self) -> chrono::TimeDelta {
        chrono::TimeDelta::try_seconds(i64::try_from(self.secs).unwrap_or(i64::MAX))
            .unwrap_or(chrono::TimeDelta::MAX)
    }

    /// `at + self`, saturating at the latest instant chrono can hold instead of
    /// panicking: a duration from a journal written with other bounds must not
    /// crash the loop that owns the release.
    pub fn after(self, at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        at.checked_add_signed(self.to_delta())
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
    }
}

/// The longest duration a configuration may give: a year. Anything longer is a
/// typo (`15M` for fifteen minutes once meant fifteen months), and instants computed
/// from it (`now + period`) stay far inside what the calendar types can hold.
pub const MAX_DURATION: HumanDuration = HumanDuration::from_secs(365 * 86_400);

/// The units a duration may use, in seconds. Lowercase only: `M` could mean months
/// or minutes, so it is refused rather than guessed.
const UNITS: [(&str, u64); 4] = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)];

impl FromStr for HumanDuration {
    type Err = DurationParseError;
    /// `0s`, `45s`, `15m`, `2h`, `1h30m`, `1h 30m`, `3d`: whole numbers, each with
    /// one of the units s, m, h, d, at most [`MAX_DURATION`] in all.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let err = |reason: String| DurationParseError {
            input: s.to_string(),
            reason,
        };
        if t.starts_with('-') {
            return Err(err("durations cannot be negative".into()));
        }
        if t.is_empty() {
            return Err(err("empty".into()));
        }
        let mut secs: u64 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                return Err(err(format!(
                    "expected a number at `{}` (units: s, m, h, d)",
                    crate::domain::escape(rest)
                )));
            }
            let (number, after) = rest.split_at(digits);
            let unit_len =
                after.len() - after.trim_start_matches(|c: char| c.is_alphabetic()).len();
            let (unit, after) = after.split_at(unit_len);
            let n: u64 = number
                .parse()
                .map_err(|_| err(format!("{number} is too large")))?;
            let scale = match UNITS.iter().find(|(u, _)| *u == unit) {
                Some((_, scale)) => *scale,
                None => {
                    // `15 minutes`: name the word that stands where the unit should.
                    let word = if unit.is_empty() {
                        let spaced = after.trim_start();
                        let n = spaced.len()
                            - spaced.trim_start_matches(|c: char| c.is_alphabetic()).len();
                        &spaced[..n]
                    } else {
                        unit
                    };
                    return Err(err(unit_problem(number, word)));
                }
            };
            secs = n
                .checked_mul(scale)
                .and_then(|v| secs.checked_add(v))
                .filter(|v| *v <= MAX_DURATION.secs)
                .ok_or_else(|| {
                    err(format!(
                        "longer than the {} days a duration may be",
                        MAX_DURATION.secs / 86_400
                    ))
                })?;
            // Parts may be separated by spaces (`1h 30m`), nothing else.
            rest = after.trim_start();
            if after.len() == rest.len()
                && !rest.is_empty()
                && !rest.starts_with(|c: char| c.is_ascii_digit())
            {
                return Err(err(format!(
                    "unexpected `{}` (units: s, m, h, d)",
                    crate::domain::escape(rest)
                )));
            }
        }
        Ok(HumanDuration { secs })
    }
}

/// Why `unit` after `number` is not accepted, and what to write instead.
fn unit_problem(number: &str, unit: &str) -> String {
    match unit {
        "" => format!("`{number}` has no unit; write {number}s, {number}m, {number}h or {number}d"),
        "M" => format!(
            "`M` is ambiguous (months or minutes?): write {number}m for minutes; months are not a unit here, write days (e.g. 30d)"
        ),
        "mo" | "mon" | "month" | "months" | "y" | "yr" | "year" | "years" | "w" | "week"
        | "weeks" => {
            format!("`{unit}` is not a unit here; write days (e.g. 7d, 30d)")
        }
        u if u.chars().any(|c| c.is_uppercase()) => format!(
            "`{u}`: units are lowercase: s, m, h, d (e.g. {number}{})",
            u.to_lowercase().chars().next().unwrap_or('m')
        ),
        u => {
            let hint = match u {
                "sec" | "secs" | "second" | "seconds" => "s",
                "min" | "mins" | "minute" | "minutes" => "m",
                "hr" | "hrs" | "hour" | "hours" => "h",
                "day" | "days" => "d",
                _ => "",
            };
            if hint.is_empty() {
                format!(
                    "`{}` is not a unit; use s, m, h or d",
                    crate::domain::escape(u)
                )
            } else {
                format!("write {number}{hint}, not `{number} {u}` (units: s, m, h, d)")
            }
        }
    }
}

impl fmt::Display for HumanDuration {
    /// Compact form: `0s`, `45s`, `15m`, `1h`, `1h30m`, `3d`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secs == 0 {
            return f.write_str("0s");
        }
        // Whole weeks read as days (`7d`); anything shorter in hours, as the policies
        // write them (`72h`, `48h`).
        let (days, hours) = if self.secs % 86_400 == 0 && self.secs >= 7 * 86_400 {
            (self.secs / 86_400, 0)
        } else {
            (0, self.secs / 3600)
        };
        let mins = self.secs % 3600 / 60;
        let secs = self.secs % 60;
        for (n, unit) in [(days, "d"), (hours, "h"), (mins, "m"), (secs, "s")] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = HumanDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"15m\", \"2h\" or \"1h30m\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<HumanDuration, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "`{v}` is a bare number; write a duration with its unit, e.g. \"{}s\"",
                    v.unsigned_abs()
                )))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<HumanDuration, E> {
                Err(E::custom(format!(
                    "`{v}` is a bare number; write a duration with its unit, e.g. \"{v}s\""
                )))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_policy_durations() {
        assert_eq!("15m".parse::<HumanDuration>().unwrap().as_secs(), 900);
        assert_eq!("2h".parse::<HumanDuration>().unwrap().as_secs(), 7200);
        assert_eq!("1h 30m".parse::<HumanDuration>().unwrap().as_secs(), 5400);
        assert_eq!("0s".parse::<HumanDuration>().unwrap().as_secs(), 0);
    }

    #[test]
    fn refuses_negative_and_garbage() {
        assert!(
            "-5m"
                .parse::<HumanDuration>()
                .unwrap_err()
                .to_string()
                .contains("negative")
        );
        assert!("soon".parse::<HumanDuration>().is_err());
        assert!("".parse::<HumanDuration>().is_err());
    }

    #[test]
    fn prints_compactly_and_round_trips() {
        for s in ["0s", "15m", "1h", "1h30m", "72h", "48h", "7d", "45s"] {
            let d: HumanDuration = s.parse().unwrap();
            assert_eq!(d.to_string(), s);
        }
    }

    #[test]
    fn ambiguous_and_spelled_out_units_are_refused_and_there_is_a_maximum() {
        let e = |s: &str| s.parse::<HumanDuration>().unwrap_err().to_string();
        assert!(e("15M").contains("ambiguous"), "{}", e("15M"));
        assert!(e("15 minutes").contains("write 15m"), "{}", e("15 minutes"));
        assert!(e("2months").contains("not a unit here"), "{}", e("2months"));
        assert!(e("900").contains("no unit"), "{}", e("900"));
        assert!(e("366d").contains("365 days"), "{}", e("366d"));
        assert!(e("99999999999999999999s").contains("too large"));
        assert!(e("1h30").contains("no unit"), "{}", e("1h30"));
        assert!(e("5m!").contains("unexpected"), "{}", e("5m!"));
        assert_eq!("365d".parse::<HumanDuration>().unwrap(), MAX_DURATION);
        assert_eq!("1h30m".parse::<HumanDuration>().unwrap().as_secs(), 5400);
    }

    #[test]
    fn after_saturates_instead_of_panicking() {
        let late = chrono::DateTime::<chrono::Utc>::MAX_UTC - chrono::TimeDelta::seconds(5);
        assert_eq!(
            HumanDuration::from_hours(1).after(late),
            chrono::DateTime::<chrono::Utc>::MAX_UTC
        );
    }

    #[test]
    fn bare_numbers_are_refused_with_a_hint() {
        let err = serde_json::from_str::<HumanDuration>("900").unwrap_err();
        assert!(err.to_string().contains("\"900s\""), "{err}");
    }
}
