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
        chrono::TimeDelta::seconds(i64::try_from(self.secs).unwrap_or(i64::MAX / 1000))
    }
}

impl FromStr for HumanDuration {
    type Err = DurationParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let err = |reason: &str| DurationParseError {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        if t.starts_with('-') {
            return Err(err("durations cannot be negative"));
        }
        if t.is_empty() {
            return Err(err("empty"));
        }
        let d = humantime::parse_duration(t).map_err(|e| err(&e.to_string()))?;
        Ok(HumanDuration { secs: d.as_secs() })
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
    fn bare_numbers_are_refused_with_a_hint() {
        let err = serde_json::from_str::<HumanDuration>("900").unwrap_err();
        assert!(err.to_string().contains("\"900s\""), "{err}");
    }
}
