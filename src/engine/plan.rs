//! The plan of one release: which customers go in which wave, behind which gate,
//! how long after the demo wave. Built once from the configuration and journaled
//! whole in the first event, so a journal never depends on config that changed since.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::{
    Approval, Checklist, ChecklistKind, Configuration, Contact, CustomerId, DeployTarget,
    HealthSource, HumanDuration, MaintenanceWindow, Notifications, Notify, NotifyTiming, Policy,
    ReleaseNotes, ReleaseType, Roster, TierName, Version,
};

/// Which customers a release goes to (`--customers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Selection {
    All,
    /// Every customer of these tiers.
    Tiers(Vec<TierName>),
    /// These customers, by id or name.
    Customers(Vec<String>),
}

impl Selection {
    /// Parses `all`, a tier name, or a comma-separated list of customer names/ids.
    /// Tier names are recognised against the configured tiers.
    pub fn parse(text: &str, cfg: &Configuration) -> Selection {
        let parts: Vec<String> = text
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() || parts.iter().any(|p| p.eq_ignore_ascii_case("all")) {
            return Selection::All;
        }
        let is_tier = |p: &String| {
            cfg.tiers
                .iter()
                .any(|t| t.name.as_str().eq_ignore_ascii_case(p))
        };
        if parts.iter().all(is_tier) {
            return Selection::Tiers(
                parts
                    .iter()
                    .map(|p| TierName::new(p.to_ascii_lowercase()))
                    .collect(),
            );
        }
        Selection::Customers(parts)
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selection::All => f.write_str("all customers"),
            Selection::Tiers(t) => {
                let names: Vec<&str> = t.iter().map(|t| t.as_str()).collect();
                write!(f, "tiers {}", names.join(", "))
            }
            Selection::Customers(c) => write!(f, "{}", c.join(", ")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerPlan {
    pub id: CustomerId,
    pub name: String,
    /// The version to go back to on rollback.
    pub from_version: Version,
    /// The window this customer deploys in, when its wave or its override asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<MaintenanceWindow>,
    /// Deploy only inside `window`, whatever the wave's approval mode says (an
    /// emergency too, unless the operator overrides it by name).
    pub window_only: bool,
    pub notify: Notify,
    /// How a version reaches this customer, as configured when the release was
    /// planned: a config edit later does not change a running release. `None` in
    /// journals written before the plan recorded it (the config's is used then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deploy: Option<DeployTarget>,
    /// Where its health is read, likewise (secrets by variable name only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthSource>,
    /// Why this customer's policy differs (deployment-policies.json), e.g. a
    /// contract's notice or a regulator's change window.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Who to tell, as configured when planned (routes to contacts use them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WavePlan {
    pub tier: TierName,
    /// Earliest start after the demo wave completed.
    pub delay: HumanDuration,
    pub approval: Approval,
    pub customers: Vec<CustomerPlan>,
}

impl WavePlan {
    pub fn manual_roles(&self) -> &[crate::domain::Role] {
        match &self.approval {
            Approval::Manual { roles } => roles,
            _ => &[],
        }
    }
    pub fn in_windows(&self) -> bool {
        matches!(self.approval, Approval::MaintenanceWindow)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleasePlan {
    pub version: Version,
    pub release_type: ReleaseType,
    pub emergency: bool,
    pub selection: Selection,
    pub policy: Policy,
    /// Waves in rollout order; the first is the demo wave.
    pub waves: Vec<WavePlan>,
    /// Pre-release (for the type), deployment, hotfix and rollback lists, as configured.
    pub checklists: Vec<Checklist>,
    pub roster: Roster,
    /// Seeds the simulated world so a drill can be replayed exactly.
    pub seed: u64,
    /// Channels and routes for notices, as configured when planned (secrets by
    /// variable name only). Journals written before it route to the notification log.
    #[serde(default)]
    pub notifications: Notifications,
    /// The release notes given at plan time (`--notes`, `--git`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<ReleaseNotes>,
    /// The version failed the checks `validate` runs, and the starter overrode
    /// them (`--force-version`): what was wrong and why it went ahead anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_override: Option<VersionOverride>,
    /// A drill's release clock: this many seconds of release time per real second.
    /// Recorded so that a drill resumed after a crash runs at the speed it was
    /// started at, not at real speed (where its hours would be real hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drill_speed: Option<f64>,
}

/// A start past the version checks, recorded in the release's first event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionOverride {
    /// Every problem the checks found, as `validate` words them.
    pub problems: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no policy for release type `{0}` in policies.json")]
    NoPolicy(ReleaseType),
    #[error("unknown customer `{0}` (customers are in config/customers.json, by id or name)")]
    UnknownCustomer(String),
    #[error("the selection {0} matches no customer")]
    Empty(String),
    #[error("emergency mode applies to patch types only, not `{0}`")]
    EmergencyNotPatch(ReleaseType),
    #[error("no tiers are configured")]
    NoTiers,
}

impl ReleasePlan {
    /// Builds the plan. The demo wave (the first tier) always runs: it is the smoke test.
    pub fn build(
        cfg: &Configuration,
        version: Version,
        release_type: ReleaseType,
        selection: Selection,
        emergency: bool,
    ) -> Result<ReleasePlan, PlanError> {
        let policy = cfg
            .policy(release_type)
            .ok_or(PlanError::NoPolicy(release_type))?;
        if emergency && !release_type.is_patch() {
            return Err(PlanError::EmergencyNotPatch(release_type));
        }
        let demo_tier = cfg.tiers.first().ok_or(PlanError::NoTiers)?.name.clone();
        let chosen: Vec<&crate::domain::Customer> = match &selection {
            Selection::All => cfg.customers.iter().collect(),
            Selection::Tiers(tiers) => cfg
                .customers
                .iter()
                .filter(|c| tiers.contains(&c.tier) || c.tier == demo_tier)
                .collect(),
            Selection::Customers(keys) => {
                let mut out = Vec::new();
                for key in keys {
                    let c = cfg
                        .find_customer(key)
                        .ok_or_else(|| PlanError::UnknownCustomer(key.clone()))?;
                    if !out.iter().any(|o: &&crate::domain::Customer| o.id == c.id) {
                        out.push(c);
                    }
                }
                for c in cfg.customers.iter().filter(|c| c.tier == demo_tier) {
                    if !out.iter().any(|o| o.id == c.id) {
                        out.push(c);
                    }
                }
                out
            }
        };
        let mut waves = Vec::new();
        for tier in &cfg.tiers {
            let Some(row) = policy.wave_for(&tier.name) else {
                continue;
            };
            let customers: Vec<CustomerPlan> = chosen
                .iter()
                .filter(|c| c.tier == tier.name)
                .map(|c| {
                    let ov = cfg.deployment.overrides.get(&c.id);
                    let window = ov
                        .and_then(|o| o.maintenance_window.clone())
                        .or_else(|| c.maintenance_window.clone())
                        .or_else(|| cfg.deployment.default_maintenance_window.clone());
                    CustomerPlan {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        from_version: c.version.clone(),
                        window,
                        window_only: ov.is_some_and(|o| o.window_only),
                        notify: ov
                            .and_then(|o| o.notify.clone())
                            .unwrap_or_else(|| row.notify.clone()),
                        deploy: Some(c.deploy.clone()),
                        health: Some(c.health.clone()),
                        note: ov.map(|o| o.note.clone()).unwrap_or_default(),
                        contacts: c.contacts.clone(),
                    }
                })
                .collect();
            if customers.is_empty() {
                continue;
            }
            waves.push(WavePlan {
                tier: tier.name.clone(),
                delay: row.delay,
                approval: row.approval.clone(),
                customers,
            });
        }
        if waves.iter().all(|w| w.tier == demo_tier) && !matches!(selection, Selection::All) {
            // Only the demo environments were picked up: the selection named nobody real.
            if !matches!(&selection, Selection::Tiers(t) if t.contains(&demo_tier))
                && !matches!(&selection, Selection::Customers(_))
            {
                return Err(PlanError::Empty(selection.to_string()));
            }
        }
        if waves.is_empty() {
            return Err(PlanError::Empty(selection.to_string()));
        }
        let mut checklists = Vec::new();
        if let Some(pre) = cfg.pre_release_checklist(release_type) {
            checklists.push(pre.clone());
        }
        for kind in [
            ChecklistKind::Deployment,
            ChecklistKind::Hotfix,
            ChecklistKind::Rollback,
        ] {
            if let Some(c) = cfg.checklist_of_kind(kind) {
                checklists.push(c.clone());
            }
        }
        let seed = seed_of(&version, release_type);
        Ok(ReleasePlan {
            version,
            release_type,
            emergency,
            selection,
            policy: policy.clone(),
            waves,
            checklists,
            roster: cfg.roster.clone(),
            seed,
            version_override: None,
            drill_speed: None,
            notifications: cfg.notifications.clone(),
            notes: None,
        })
    }

    /// A planned customer by id.
    pub fn customer(&self, id: &CustomerId) -> Option<&CustomerPlan> {
        self.waves
            .iter()
            .flat_map(|w| w.customers.iter())
            .find(|c| &c.id == id)
    }

    /// The wave (index) a customer is in.
    pub fn wave_of(&self, id: &CustomerId) -> Option<usize> {
        self.waves
            .iter()
            .position(|w| w.customers.iter().any(|c| &c.id == id))
    }

    pub fn customer_count(&self) -> usize {
        self.waves.iter().map(|w| w.customers.len()).sum()
    }

    pub fn pre_release(&self) -> Option<&Checklist> {
        self.checklists
            .iter()
            .find(|c| c.kind == ChecklistKind::PreRelease)
    }

    pub fn checklist(&self, kind: ChecklistKind) -> Option<&Checklist> {
        self.checklists.iter().find(|c| c.kind == kind)
    }

    /// One line that names the release: version, type, emergency, urgency, size.
    pub fn headline(&self) -> String {
        format!(
            "{} {}{} · urgency {} · {} customers in {} waves ({})",
            self.version,
            self.release_type,
            if self.emergency { " EMERGENCY" } else { "" },
            self.policy.urgency.as_str(),
            self.customer_count(),
            self.waves.len(),
            self.selection
        )
    }

    /// The checklists whose items gate phases: pre-release and deployment always,
    /// the hotfix list in emergency mode only, the rollback list never.
    pub fn gating_checklists(&self, emergency: bool) -> impl Iterator<Item = &Checklist> {
        self.checklists.iter().filter(move |list| match list.kind {
            ChecklistKind::PreRelease | ChecklistKind::Deployment => true,
            ChecklistKind::Hotfix => emergency,
            ChecklistKind::Rollback => false,
        })
    }

    /// How long the demo wave takes (its slowest deploy plus the soak), as the
    /// configuration predicts it: later waves count their delays from its end, so
    /// a clock time for them adds this.
    pub fn demo_duration(&self, cfg: &Configuration) -> HumanDuration {
        let slowest = self
            .waves
            .first()
            .map(|w| {
                w.customers
                    .iter()
                    .filter_map(|c| {
                        c.deploy
                            .as_ref()
                            .or_else(|| cfg.customer(&c.id).map(|c| &c.deploy))
                    })
                    .filter_map(DeployTarget::expected_duration)
                    .map(|d| d.as_secs())
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        HumanDuration::from_secs(slowest + self.policy.soak.as_secs())
    }

    /// Delay of a wave after the demo wave, as emergency mode changes it.
    pub fn effective_delay(&self, wave: usize, emergency: bool) -> HumanDuration {
        if emergency {
            HumanDuration::ZERO
        } else {
            self.waves.get(wave).map(|w| w.delay).unwrap_or_default()
        }
    }

    /// True when some customer in the wave is told before its deploy.
    pub fn wave_has_pre_notice(&self, wave: usize) -> bool {
        self.waves.get(wave).is_some_and(|w| {
            w.customers
                .iter()
                .any(|c| c.notify.timing == NotifyTiming::PreDeploy)
        })
    }
}

/// A stable seed from the release's identity (FNV-1a), so drills replay identically.
fn seed_of(version: &Version, t: ReleaseType) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in version.to_string().bytes().chain(t.as_str().bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
