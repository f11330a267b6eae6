//! The whole validated configuration: what `config/*.json` describe together.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    Checklist, ChecklistKind, Customer, CustomerId, DeploymentPolicies, Notifications, Policy,
    ReleaseType, Roster, Tier, TierName,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    /// Tiers in rollout order.
    pub tiers: Vec<Tier>,
    pub policies: BTreeMap<ReleaseType, Policy>,
    pub customers: Vec<Customer>,
    pub deployment: DeploymentPolicies,
    pub checklists: Vec<Checklist>,
    pub roster: Roster,
    /// `notifications.json` (optional): channels and routes for notices.
    #[serde(default)]
    pub notifications: Notifications,
    /// Templates the configuration directory overrides (`templates/*.j2`), by file
    /// name, checked at load; the built-in ones fill the rest.
    #[serde(default)]
    pub templates: std::collections::BTreeMap<String, String>,
}

impl Configuration {
    pub fn policy(&self, t: ReleaseType) -> Option<&Policy> {
        self.policies.get(&t)
    }

    pub fn tier_index(&self, tier: &TierName) -> Option<usize> {
        self.tiers.iter().position(|t| &t.name == tier)
    }

    pub fn customer(&self, id: &CustomerId) -> Option<&Customer> {
        self.customers.iter().find(|c| &c.id == id)
    }

    /// A customer by id or by name, case-insensitively (`acme-corp`, `ACME Corp`).
    pub fn find_customer(&self, key: &str) -> Option<&Customer> {
        let key = key.trim();
        self.customers
            .iter()
            .find(|c| c.id.as_str().eq_ignore_ascii_case(key) || c.name.eq_ignore_ascii_case(key))
    }

    /// The pre-release checklist for a release type, if config has one.
    pub fn pre_release_checklist(&self, t: ReleaseType) -> Option<&Checklist> {
        self.checklists
            .iter()
            .find(|c| c.kind == ChecklistKind::PreRelease && c.release_types.contains(&t))
    }

    pub fn checklist_of_kind(&self, kind: ChecklistKind) -> Option<&Checklist> {
        self.checklists.iter().find(|c| c.kind == kind)
    }
}
