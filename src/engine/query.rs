//! What the faces and the probe scheduler ask of a release, answered in one place
//! so that no rollout rule is re-derived outside the engine: who is probed and how
//! often, whether monitoring is enhanced, which roles a gate still misses, whose
//! deploy is in flight, and which commands lift what the release awaits.
//!
//! Everything here is a pure function of the plan or the state.

use crate::domain::{HumanDuration, Role, TierName};

use super::awaiting::{Awaited, eligible_signers};
use super::input::Command;
use super::plan::ReleasePlan;
use super::state::{CustomerState, CustomerStatus, Phase, ReleaseState, WaveStatus};

/// Enhanced monitoring: the policy asks for it, or the release is an emergency.
pub fn enhanced_monitoring(plan: &ReleasePlan, emergency: bool) -> bool {
    plan.policy.monitoring.enhanced || emergency
}

/// The probe interval the release's policy asks for now (the enhanced one when
/// monitoring is enhanced).
pub fn probe_interval(state: &ReleaseState) -> HumanDuration {
    let m = &state.plan.policy.monitoring;
    if enhanced_monitoring(&state.plan, state.emergency) {
        m.enhanced_probe_interval
    } else {
        m.probe_interval
    }
}

/// Whether the customer at `index` of `state.customers` is to be probed now:
/// - verifying and healthy customers while the release rolls out or is monitored;
/// - customers still pending (or waiting for their window) without a baseline, in a
///   running wave or the next one to run, so that a baseline exists before their
///   deploy (every waiting wave in emergency mode: they all start after demo).
pub fn wants_probe(state: &ReleaseState, index: usize) -> bool {
    if state.phase.is_final() {
        return false;
    }
    let Some(c) = state.customers.get(index) else {
        return false;
    };
    match c.status {
        CustomerStatus::Verifying | CustomerStatus::Healthy => {
            matches!(state.phase, Phase::Rollout | Phase::Monitoring)
        }
        CustomerStatus::Pending | CustomerStatus::WaitingWindow if c.health.baseline.is_none() => {
            takes_baseline(state, c.wave)
        }
        _ => false,
    }
}

/// Whether wave `wave` takes baseline samples now: it runs, or it is the next to run
/// (in emergency mode every waiting wave is next: they start together after demo).
pub fn takes_baseline(state: &ReleaseState, wave: usize) -> bool {
    match state.waves.get(wave).map(|w| w.status) {
        Some(WaveStatus::Running) => true,
        Some(WaveStatus::Waiting | WaveStatus::HeldOverdue) => {
            state.emergency
                || state
                    .waves
                    .iter()
                    .position(|w| matches!(w.status, WaveStatus::Waiting | WaveStatus::HeldOverdue))
                    == Some(wave)
        }
        _ => false,
    }
}

/// A sample no rule needs to see one by one: `Some(sample)` when `outcome` is a
/// healthy check of a customer that is healthy (its soak done), while the release
/// rolls out or is monitored, whose last journaled check was healthy too, inside
/// every threshold, with its trigger window not armed. Such a sample would change
/// no decision (rules count failures and threshold crossings in a row; a healthy
/// sample in an unarmed window leaves both where they are), so the runtime
/// summarises it instead of journaling it. Everything else — baselines, soaking
/// customers, any sample in an armed window, every change — is journaled exactly.
pub fn steady_sample(
    state: &ReleaseState,
    customer: &crate::domain::CustomerId,
    outcome: &crate::domain::ProbeOutcome,
) -> Option<crate::domain::HealthSample> {
    use crate::domain::ProbeOutcome;
    if !matches!(state.phase, Phase::Rollout | Phase::Monitoring) {
        return None;
    }
    let c = state.customer(customer)?;
    if c.status != CustomerStatus::Healthy {
        return None;
    }
    let ProbeOutcome::Up { sample } = outcome.clone().judged() else {
        return None;
    };
    if !matches!(c.health.last, Some(ProbeOutcome::Up { .. })) {
        return None;
    }
    let policy = &state.plan.policy.triggers;
    let baseline = c.health.baseline.as_ref();
    if !super::triggers::within_limits(policy, baseline, &sample)
        || super::triggers::armed(policy, baseline, &c.health.recent)
    {
        return None;
    }
    Some(sample)
}

/// The instant a probe of the customer at `index` evaluates at: the release's start
/// (journaled with its plan) while it is probed for its pre-deploy baseline, so that a
/// resumed release reads the same baseline; `None` (now) otherwise. Only sources that
/// can look back (prometheus) honour it.
pub fn baseline_at(state: &ReleaseState, index: usize) -> Option<chrono::DateTime<chrono::Utc>> {
    let c = state.customers.get(index)?;
    let for_baseline = matches!(
        c.status,
        CustomerStatus::Pending | CustomerStatus::WaitingWindow
    ) && c.health.baseline.is_none();
    for_baseline.then_some(state.started_at)
}

/// The indices of every customer to probe now.
pub fn probe_targets(state: &ReleaseState) -> Vec<usize> {
    (0..state.customers.len())
        .filter(|&i| wants_probe(state, i))
        .collect()
}

/// The roles wave `wave`'s gate still needs signed (empty when its gate is not
/// manual or is fully signed).
pub fn missing_roles(state: &ReleaseState, wave: usize) -> Vec<Role> {
    super::decide::missing_roles(state, wave)
}

/// The customers whose deploy or rollback is in flight, in plan order: what a stop
/// waits for (a deploy is never stopped halfway).
pub fn deploys_in_flight(state: &ReleaseState) -> Vec<&CustomerState> {
    state
        .customers
        .iter()
        .filter(|c| {
            matches!(
                c.status,
                CustomerStatus::Deploying | CustomerStatus::RollingBack
            )
        })
        .collect()
}

/// One command that lifts (part of) what a release awaits from a person.
#[derive(Debug, Clone, PartialEq)]
pub struct Lift {
    /// What it lifts, as a person names it: the item (`list/item`), the role of a
    /// wave's gate, or the overdue waves and missed windows confirmed.
    pub what: String,
    /// Who sends it: `None` for whoever acts; for a signature, the first person in
    /// roster order the policy lets sign that role.
    pub actor: Option<String>,
    pub command: Command,
}

/// A wave's gate needs a role nobody in the roster may sign for this release.
#[derive(Debug, Clone, PartialEq)]
pub struct NoSigner {
    pub wave: TierName,
    pub role: Role,
}

impl std::fmt::Display for NoSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "wave {} needs {}, and nobody in the roster may sign it for this release",
            self.wave, self.role
        )
    }
}

/// The commands that lift `awaited`, in the order a person gives them: a tick per
/// gating item (`on_word`: ticked on the operator's word), one confirmation for
/// overdue waves or a missed window, a signature per missing role. Empty for what
/// takes a person's judgement: a pause, and [`Awaited::Decide`].
pub fn lifts(
    state: &ReleaseState,
    awaited: &Awaited,
    on_word: bool,
) -> Result<Vec<Lift>, NoSigner> {
    Ok(match awaited {
        Awaited::Items { items, .. } => items
            .iter()
            .map(|key| Lift {
                what: key.clone(),
                actor: None,
                command: Command::tick(key, on_word),
            })
            .collect(),
        Awaited::Overdue { waves } => vec![Lift {
            what: waves
                .iter()
                .map(|w| w.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            actor: None,
            command: Command::ConfirmOverdue,
        }],
        Awaited::MissedWindow { customer, .. } => vec![Lift {
            what: customer.as_str().to_string(),
            actor: None,
            command: Command::ConfirmOverdue,
        }],
        Awaited::Approval { wave, missing } => {
            // Signed one after the other: whoever signs a role first may not sign
            // another unless the policy allows one person many roles.
            let many = state.plan.policy.approvals.one_person_many_roles;
            let mut out: Vec<Lift> = Vec::new();
            for role in missing {
                let signer = eligible_signers(state, wave, role)
                    .into_iter()
                    .find(|p| many || !out.iter().any(|l| l.actor.as_ref() == Some(p)));
                let Some(signer) = signer else {
                    return Err(NoSigner {
                        wave: wave.clone(),
                        role: role.clone(),
                    });
                };
                out.push(Lift {
                    what: format!("{wave} as {role}"),
                    actor: Some(signer),
                    command: Command::Approve {
                        wave: Some(wave.clone()),
                        role: Some(role.clone()),
                    },
                });
            }
            out
        }
        Awaited::Paused { .. } | Awaited::Decide => Vec::new(),
    })
}
