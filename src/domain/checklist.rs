//! Checklists from the source documents: pre-release per type, deployment, hotfix,
//! rollback. Items are manual (ticked by a person) or automatic (a command), and an
//! item may gate a phase.

use serde::{Deserialize, Serialize};

use super::{HumanDuration, ReleaseType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecklistKind {
    PreRelease,
    Deployment,
    Hotfix,
    Rollback,
}

/// The phase an item holds until it is ticked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GatedPhase {
    Validation,
    Demo,
    Customers,
}

impl GatedPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            GatedPhase::Validation => "validation",
            GatedPhase::Demo => "demo",
            GatedPhase::Customers => "customers",
        }
    }
}

/// A program and its arguments, run without a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckCommand {
    pub program: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    pub id: String,
    pub text: String,
    /// Present: automatic, run during validation. Absent: ticked by a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckCommand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gates: Option<GatedPhase>,
}

impl ChecklistItem {
    pub fn is_automatic(&self) -> bool {
        self.check.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checklist {
    pub id: String,
    pub title: String,
    pub kind: ChecklistKind,
    /// For pre-release lists: the types they apply to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub release_types: Vec<ReleaseType>,
    pub items: Vec<ChecklistItem>,
}
