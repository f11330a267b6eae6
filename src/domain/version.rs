//! Release versions: semver underneath, printed with the leading `v` the source
//! documents use (`v1.0.1`), accepted with or without it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A semantic version such as `v1.0.1`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub semver::Version);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a version like v1.0.1: {reason}")]
pub struct VersionParseError {
    pub input: String,
    pub reason: String,
}

impl Version {
    pub fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version(semver::Version::new(major, minor, patch))
    }
    pub fn major(&self) -> u64 {
        self.0.major
    }
    pub fn minor(&self) -> u64 {
        self.0.minor
    }
    pub fn patch(&self) -> u64 {
        self.0.patch
    }
    /// The next patch version: what a start form pre-fills after this release.
    pub fn next_patch(&self) -> Version {
        Version::new(self.major(), self.minor(), self.patch() + 1)
    }
}

impl FromStr for Version {
    type Err = VersionParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let bare = trimmed
            .strip_prefix('v')
            .or_else(|| trimmed.strip_prefix('V'))
            .unwrap_or(trimmed);
        semver::Version::parse(bare)
            .map(Version)
            .map_err(|e| VersionParseError {
                input: s.to_string(),
                reason: e.to_string(),
            })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_with_and_without_v_and_prints_with_v() {
        let a: Version = "v1.0.1".parse().unwrap();
        let b: Version = "1.0.1".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "v1.0.1");
    }

    #[test]
    fn refuses_garbage_with_reason() {
        let err = "v1.x".parse::<Version>().unwrap_err();
        assert!(err.to_string().contains("v1.x"), "{err}");
        assert!("".parse::<Version>().is_err());
        assert!("1.0".parse::<Version>().is_err());
    }

    #[test]
    fn orders_semantically() {
        let a: Version = "v1.0.10".parse().unwrap();
        let b: Version = "v1.0.9".parse().unwrap();
        assert!(a > b);
    }
}
