//! The five configuration files: their names, the shape of each file's top level,
//! and the built-in copies compiled into the binary.
//!
//! The domain types describe the *contents*; the wrappers here describe how each
//! file holds them (`{"customers": [...]}`), so that the files can grow siblings
//! (a `$schema`, a version) without touching the domain.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::{Checklist, Customer, DeploymentPolicies, Policy, ReleaseType, Roster, Tier};

/// One of the five files a configuration directory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigFile {
    Policies,
    Customers,
    DeploymentPolicies,
    Checklists,
    Roster,
}

impl ConfigFile {
    /// In the order errors are reported: tiers and policies first, because most
    /// other files refer to them.
    pub const ALL: [ConfigFile; 5] = [
        ConfigFile::Policies,
        ConfigFile::Customers,
        ConfigFile::DeploymentPolicies,
        ConfigFile::Checklists,
        ConfigFile::Roster,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            ConfigFile::Policies => "policies.json",
            ConfigFile::Customers => "customers.json",
            ConfigFile::DeploymentPolicies => "deployment-policies.json",
            ConfigFile::Checklists => "checklists.json",
            ConfigFile::Roster => "roster.json",
        }
    }

    pub fn from_file_name(name: &str) -> Option<ConfigFile> {
        ConfigFile::ALL.into_iter().find(|f| f.file_name() == name)
    }

    /// The copy compiled into the binary: the defaults from the source documents.
    pub fn builtin_text(self) -> &'static str {
        match self {
            ConfigFile::Policies => include_str!("../../config/policies.json"),
            ConfigFile::Customers => include_str!("../../config/customers.json"),
            ConfigFile::DeploymentPolicies => {
                include_str!("../../config/deployment-policies.json")
            }
            ConfigFile::Checklists => include_str!("../../config/checklists.json"),
            ConfigFile::Roster => include_str!("../../config/roster.json"),
        }
    }

    pub(crate) fn slot(self) -> usize {
        match self {
            ConfigFile::Policies => 0,
            ConfigFile::Customers => 1,
            ConfigFile::DeploymentPolicies => 2,
            ConfigFile::Checklists => 3,
            ConfigFile::Roster => 4,
        }
    }
}

impl fmt::Display for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

/// `policies.json`: the tiers in rollout order and one policy per release type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PoliciesFile {
    pub tiers: Vec<Tier>,
    pub policies: BTreeMap<PolicyKey, Policy>,
}

/// A release type written as a map key. serde_path_to_error records a map key
/// only when it is read as a string; `ReleaseType` reads as an enum, which would
/// leave every error inside a policy without its path (`policies.?.soak`). So the
/// key is read as a string and matched here, strictly (no aliases: the file
/// spells types the way it is documented).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub(crate) struct PolicyKey(pub ReleaseType);

impl<'de> Deserialize<'de> for PolicyKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ReleaseType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .map(PolicyKey)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown release type `{s}`, expected one of {}",
                    ReleaseType::ALL
                        .map(|t| format!("`{}`", t.as_str()))
                        .join(", ")
                ))
            })
    }
}

/// `customers.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CustomersFile {
    pub customers: Vec<Customer>,
}

/// `checklists.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChecklistsFile {
    pub checklists: Vec<Checklist>,
}

/// Whatever of the five files deserialized; `None` where a file was missing or
/// broken (its errors are already reported).
#[derive(Debug, Default)]
pub(crate) struct Parts {
    pub policies: Option<PoliciesFile>,
    pub customers: Option<CustomersFile>,
    pub deployment: Option<DeploymentPolicies>,
    pub checklists: Option<ChecklistsFile>,
    pub roster: Option<Roster>,
}
