//! Release types and which part of the version each may move.
//!
//! Patches (`security`, `bug_fix`, `performance`, `documentation`) move PATCH only;
//! `minor` moves MINOR and resets PATCH; `major` moves MAJOR and resets the rest.
//! Emergency is a mode of a release, not a type.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Version;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseType {
    Security,
    BugFix,
    Performance,
    Documentation,
    Minor,
    Major,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BumpError {
    #[error("{to} is not newer than {from}")]
    NotNewer { from: Version, to: Version },
    #[error("a {kind} release from {from} must be {expected}, not {to} ({rule})")]
    WrongBump {
        kind: ReleaseType,
        from: Version,
        to: Version,
        expected: Version,
        rule: &'static str,
    },
    #[error("{to} has a pre-release or build tag; releases are plain MAJOR.MINOR.PATCH")]
    Tagged { to: Version },
}

impl ReleaseType {
    pub const ALL: [ReleaseType; 6] = [
        ReleaseType::Security,
        ReleaseType::BugFix,
        ReleaseType::Performance,
        ReleaseType::Documentation,
        ReleaseType::Minor,
        ReleaseType::Major,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseType::Security => "security",
            ReleaseType::BugFix => "bug_fix",
            ReleaseType::Performance => "performance",
            ReleaseType::Documentation => "documentation",
            ReleaseType::Minor => "minor",
            ReleaseType::Major => "major",
        }
    }

    /// Patches may only move PATCH; they are the types emergency mode applies to.
    pub fn is_patch(self) -> bool {
        !matches!(self, ReleaseType::Minor | ReleaseType::Major)
    }

    fn rule(self) -> &'static str {
        match self {
            ReleaseType::Minor => "MINOR moves by one, PATCH resets to 0",
            ReleaseType::Major => "MAJOR moves by one, MINOR and PATCH reset to 0",
            _ => "patches move PATCH by one only",
        }
    }

    /// The one version this type may produce after `from`.
    pub fn expected_after(self, from: &Version) -> Version {
        match self {
            ReleaseType::Minor => Version::new(from.major(), from.minor() + 1, 0),
            ReleaseType::Major => Version::new(from.major() + 1, 0, 0),
            _ => Version::new(from.major(), from.minor(), from.patch() + 1),
        }
    }

    /// Checks that going from `from` to `to` is the bump this type allows.
    // The error carries three versions for its message; it is built once per check,
    // so boxing it would buy nothing.
    #[allow(clippy::result_large_err)]
    pub fn check_bump(self, from: &Version, to: &Version) -> Result<(), BumpError> {
        if !to.0.pre.is_empty() || !to.0.build.is_empty() {
            return Err(BumpError::Tagged { to: to.clone() });
        }
        if to <= from {
            return Err(BumpError::NotNewer {
                from: from.clone(),
                to: to.clone(),
            });
        }
        let expected = self.expected_after(from);
        if *to != expected {
            return Err(BumpError::WrongBump {
                kind: self,
                from: from.clone(),
                to: to.clone(),
                expected,
                rule: self.rule(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for ReleaseType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown release type `{0}` (expected one of: security, bug_fix, performance, documentation, minor, major)"
)]
pub struct UnknownReleaseType(pub String);

impl FromStr for ReleaseType {
    type Err = UnknownReleaseType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        match norm.as_str() {
            "bugfix" => return Ok(ReleaseType::BugFix),
            "docs" => return Ok(ReleaseType::Documentation),
            _ => {}
        }
        ReleaseType::ALL
            .into_iter()
            .find(|t| t.as_str() == norm)
            .ok_or_else(|| UnknownReleaseType(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    #[test]
    fn patch_types_move_patch_only() {
        for t in [
            ReleaseType::Security,
            ReleaseType::BugFix,
            ReleaseType::Performance,
            ReleaseType::Documentation,
        ] {
            assert_eq!(t.check_bump(&v("v1.0.0"), &v("v1.0.1")), Ok(()), "{t}");
            assert_eq!(t.check_bump(&v("1.1.1"), &v("1.1.2")), Ok(()), "{t}");
            assert!(matches!(
                t.check_bump(&v("v1.0.0"), &v("v1.1.0")),
                Err(BumpError::WrongBump { .. })
            ));
            assert!(matches!(
                t.check_bump(&v("v1.0.0"), &v("v1.0.2")),
                Err(BumpError::WrongBump { .. })
            ));
            assert!(matches!(
                t.check_bump(&v("v1.0.1"), &v("v1.0.1")),
                Err(BumpError::NotNewer { .. })
            ));
        }
    }

    #[test]
    fn minor_moves_minor_and_resets_patch() {
        let t = ReleaseType::Minor;
        assert_eq!(t.check_bump(&v("v1.0.3"), &v("v1.1.0")), Ok(()));
        let err = t.check_bump(&v("v1.0.3"), &v("v1.1.3")).unwrap_err();
        assert!(err.to_string().contains("must be v1.1.0"), "{err}");
        assert!(t.check_bump(&v("v1.0.3"), &v("v1.0.4")).is_err());
    }

    #[test]
    fn major_moves_major_and_resets_rest() {
        let t = ReleaseType::Major;
        assert_eq!(t.check_bump(&v("v1.4.3"), &v("v2.0.0")), Ok(()));
        assert!(t.check_bump(&v("v1.4.3"), &v("v2.4.3")).is_err());
        assert!(t.check_bump(&v("v1.4.3"), &v("v3.0.0")).is_err());
    }

    #[test]
    fn tagged_versions_are_refused() {
        assert!(matches!(
            ReleaseType::Security.check_bump(&v("v1.0.0"), &v("v1.0.1-rc.1")),
            Err(BumpError::Tagged { .. })
        ));
    }

    #[test]
    fn parses_names_and_aliases() {
        assert_eq!("bug_fix".parse::<ReleaseType>(), Ok(ReleaseType::BugFix));
        assert_eq!("bug-fix".parse::<ReleaseType>(), Ok(ReleaseType::BugFix));
        assert_eq!("Security".parse::<ReleaseType>(), Ok(ReleaseType::Security));
        assert!("hotfix".parse::<ReleaseType>().is_err());
    }
}
