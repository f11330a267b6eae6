//! Per-release-type policy (the seed's tables): urgency, per-tier delay after the demo
//! wave, approval mode, notification timing, rollback window, monitoring period and
//! rollback-trigger thresholds; plus per-customer overrides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CustomerId, HumanDuration, MaintenanceWindow, Role, TierName};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Medium,
    High,
    Critical,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Low => "low",
            Urgency::Medium => "medium",
            Urgency::High => "high",
            Urgency::Critical => "critical",
        }
    }
}

/// How a wave's gate opens once its delay has elapsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Approval {
    /// Starts on its own.
    Automatic,
    /// Starts on its own; the tier's contacts are told.
    AutomaticWithNotification,
    /// Starts on its own, each customer only inside its maintenance window.
    MaintenanceWindow,
    /// Waits until a person holding each named role has signed.
    Manual { roles: Vec<Role> },
}

impl Approval {
    pub fn describe(&self) -> String {
        match self {
            Approval::Automatic => "automatic".into(),
            Approval::AutomaticWithNotification => "automatic, with notification".into(),
            Approval::MaintenanceWindow => "in maintenance window".into(),
            Approval::Manual { roles } => {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                format!("approval by {}", names.join(" + "))
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyTiming {
    None,
    /// Before the wave: sent when the demo wave completes.
    PreDeploy,
    /// After each customer is deployed and healthy.
    PostDeploy,
    /// Collected into the weekly summary.
    WeeklySummary,
}

impl NotifyTiming {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyTiming::None => "none",
            NotifyTiming::PreDeploy => "pre-deploy",
            NotifyTiming::PostDeploy => "post-deploy",
            NotifyTiming::WeeklySummary => "weekly summary",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    pub timing: NotifyTiming,
    /// How far ahead a pre-deploy notice is meant to go out (informative: `3d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead: Option<HumanDuration>,
}

/// One tier's row in a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierPolicy {
    pub tier: TierName,
    /// Earliest start after the demo wave completed (0 for the demo wave itself).
    pub delay: HumanDuration,
    pub approval: Approval,
    pub notify: Notify,
}

/// Rules for who may sign a gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRules {
    /// The person who started the release may sign its gates.
    #[serde(default)]
    pub starter_may_approve: bool,
    /// One person may sign several roles of one gate.
    #[serde(default)]
    pub one_person_many_roles: bool,
    /// After this long waiting for signatures, notify (never approve).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// How long probing continues after the last wave completes.
    pub period: HumanDuration,
    /// Enhanced monitoring probes faster (security: 48h enhanced).
    #[serde(default)]
    pub enhanced: bool,
    pub probe_interval: HumanDuration,
    pub enhanced_probe_interval: HumanDuration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriggerAction {
    /// Roll the customer back and pause the release.
    RollbackCustomerAndPause,
    /// Roll back everything deployed so far.
    RollbackAll,
    /// Pause only; people decide.
    PauseOnly,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerPolicy {
    /// Consecutive failed checks that trip a rollback (seed: 3).
    pub consecutive_failures: u32,
    /// Error rate above the baseline by more than this many percentage points (seed: 5).
    pub error_rate_points: f64,
    /// p95 latency above the baseline by more than this percentage (seed: 20).
    pub latency_p95_percent: f64,
    /// Samples a threshold must hold over, so one outlier does not roll back.
    pub window: u32,
    /// Samples taken before a deploy to form the baseline.
    pub baseline_samples: u32,
    pub action: TriggerAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub urgency: Urgency,
    /// Rows in rollout order, the demo tier first.
    pub waves: Vec<TierPolicy>,
    /// How long a customer is watched after its deploy before it counts as healthy.
    pub soak: HumanDuration,
    /// After completion, how long a rollback stays allowed without forcing.
    pub rollback_window: HumanDuration,
    pub monitoring: Monitoring,
    pub triggers: TriggerPolicy,
    #[serde(default)]
    pub approvals: ApprovalRules,
    /// After a rollback the release stays paused until resumed with a reason.
    #[serde(default = "yes")]
    pub lock_after_rollback: bool,
    /// Customers deployed at once within a wave.
    #[serde(default = "default_parallel")]
    pub max_parallel: u32,
}

fn yes() -> bool {
    true
}

fn default_parallel() -> u32 {
    10
}

impl Policy {
    pub fn wave_for(&self, tier: &TierName) -> Option<&TierPolicy> {
        self.waves.iter().find(|w| &w.tier == tier)
    }
}

/// `deployment-policies.json`: the fallback window and per-customer overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DeploymentPolicies {
    /// Used for customers without a window of their own when a wave deploys in windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_maintenance_window: Option<MaintenanceWindow>,
    #[serde(default)]
    pub overrides: BTreeMap<CustomerId, CustomerOverride>,
}

/// What one customer changes of its tier's policy row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CustomerOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
    /// Always deploy this customer inside its maintenance window.
    #[serde(default)]
    pub window_only: bool,
    /// A stricter window than the customer's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_window: Option<MaintenanceWindow>,
    #[serde(default)]
    pub note: String,
}
