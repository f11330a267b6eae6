//! What a release awaits from people, now: the gates only a person can lift
//! (signatures, checklist items, overdue waves, a pause), and whether nothing but
//! a person can move the release on.
//!
//! The faces ask this instead of inferring it from "no deadline ahead": a gate
//! that waits on a person must be announced the moment it blocks, whatever other
//! deadlines exist (a later wave's approval-timeout notice, a customer's window
//! days away). Those deadlines wake the runtime; they do not move the release.
//!
//! [`awaited`] never comes back empty for a release that is not final, so that no
//! face ever prints "nothing can move without a person" without naming the action
//! that would move it (a resume, a confirmation, a signature, a tick, a skipped
//! window, or, when nothing else applies, a rollback or an abort).

use chrono::{DateTime, Utc};

use super::decide::{Gate, gate};
use super::effect::in_flight;
use super::event::PauseCause;
use super::state::{CustomerStatus, Phase, ReleaseState, WaveStatus};
use crate::domain::{CustomerId, GatedPhase, Role, TierName};

/// One thing the release waits for a person to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Awaited {
    /// Manual checklist items (`list/item`) hold `phase`; `wave` is the first wave
    /// they hold (None for validation).
    Items {
        phase: GatedPhase,
        wave: Option<TierName>,
        items: Vec<String>,
    },
    /// A wave whose turn has come waits for these signatures.
    Approval { wave: TierName, missing: Vec<Role> },
    /// Waves that came due while no process ran the release: a person confirms.
    Overdue { waves: Vec<TierName> },
    /// A customer whose maintenance window opened and closed without a deploy:
    /// confirm (it then waits for `next`) or skip its window wait with a reason.
    MissedWindow {
        customer: CustomerId,
        wave: TierName,
        missed: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    },
    /// The release is paused; resuming is a person's call.
    Paused {
        actor: String,
        reason: String,
        cause: PauseCause,
    },
    /// Nothing is scheduled and nothing above applies: only a rollback or an abort
    /// can end the release.
    Decide,
}

impl Awaited {
    /// A resume after a pause the system made needs a reason.
    pub fn reason_required(&self) -> bool {
        matches!(self, Awaited::Paused { cause, .. } if *cause != PauseCause::Operator)
    }
}

/// Everything the release waits on people for at `now`, in the order a person
/// would act: validation's items, then each wave's gate, overdue waves, a pause.
pub fn awaiting(state: &ReleaseState, now: DateTime<Utc>) -> Vec<Awaited> {
    let mut out = Vec::new();
    if state.phase.is_final() {
        return out;
    }
    if state.phase == Phase::Planned {
        let items = state.unticked_gating(GatedPhase::Validation);
        if !items.is_empty() {
            out.push(Awaited::Items {
                phase: GatedPhase::Validation,
                wave: None,
                items,
            });
        }
    }
    if state.phase == Phase::Rollout {
        for (wi, w) in state.waves.iter().enumerate() {
            match gate(state, wi, now) {
                Gate::Approval { missing } => out.push(Awaited::Approval {
                    wave: w.tier.clone(),
                    missing,
                }),
                Gate::Items(items) => {
                    let phase = if wi == 0 {
                        GatedPhase::Demo
                    } else {
                        GatedPhase::Customers
                    };
                    // In emergency mode every waiting wave waits on the same items.
                    let seen = out
                        .iter()
                        .any(|a| matches!(a, Awaited::Items { phase: p, .. } if *p == phase));
                    if !seen {
                        out.push(Awaited::Items {
                            phase,
                            wave: Some(w.tier.clone()),
                            items,
                        });
                    }
                }
                _ => {}
            }
        }
        let overdue: Vec<TierName> = state
            .waves
            .iter()
            .filter(|w| w.status == WaveStatus::HeldOverdue)
            .map(|w| w.tier.clone())
            .collect();
        if !overdue.is_empty() {
            out.push(Awaited::Overdue { waves: overdue });
        }
        for c in &state.customers {
            if let Some(missed) = c.window_missed {
                out.push(Awaited::MissedWindow {
                    customer: c.id.clone(),
                    wave: state.waves[c.wave].tier.clone(),
                    missed,
                    next: c.window_opens_at,
                });
            }
        }
    }
    if let Some(p) = &state.pause {
        out.push(Awaited::Paused {
            actor: p.actor.clone(),
            reason: p.reason.clone(),
            cause: p.cause,
        });
    }
    out
}

/// [`awaiting`], or — when the release is not final and waits on nothing a person
/// could give — [`Awaited::Decide`]: never empty before the end.
pub fn awaited(state: &ReleaseState, now: DateTime<Utc>) -> Vec<Awaited> {
    let mut out = awaiting(state, now);
    if out.is_empty() && !state.phase.is_final() {
        out.push(Awaited::Decide);
    }
    out
}

/// Whether a person-gate (signatures, items, overdue waves) holds a wave or a phase.
pub fn held_by_a_gate(state: &ReleaseState, now: DateTime<Utc>) -> bool {
    awaiting(state, now)
        .iter()
        .any(|a| !matches!(a, Awaited::Paused { .. }))
}

/// Whether the release can only move on when a person acts: not finished, nothing
/// in flight, and either nothing left that time alone would do, or a person-gate
/// holding it while all that is left are customers waiting for their maintenance
/// windows and notices (those carry on when the release runs again).
pub fn waiting_on_people(state: &ReleaseState, now: DateTime<Utc>) -> bool {
    if state.phase.is_final()
        || !in_flight(state).is_empty()
        || (state.phase == Phase::Validating && state.running_checks().next().is_some())
    {
        return false;
    }
    // A customer whose soak is over waits for a health check (none finished since
    // its deploy, or the last said "no data"): the world moves it on, not a person.
    if !state.is_paused() && state.customers.iter().any(|c| awaits_a_check(c, now)) {
        return false;
    }
    if super::next_progress(state, now).is_none() {
        return true;
    }
    let soaking = state
        .customers
        .iter()
        .any(|c| c.status == CustomerStatus::Verifying);
    !soaking && state.phase == Phase::Rollout && held_by_a_gate(state, now)
}

/// Whether `c` has soaked and waits only for a conclusive health check.
fn awaits_a_check(c: &super::state::CustomerState, now: DateTime<Utc>) -> bool {
    c.status == CustomerStatus::Verifying
        && c.soak_until.is_some_and(|t| t <= now)
        && c.awaits_a_conclusive_check()
}

/// Who may sign `role` of `wave`'s gate now, by the policy's rules (the starter
/// only when the policy allows it; nobody twice on one gate unless allowed), in
/// roster order. Empty when the wave is unknown or nobody may.
pub fn eligible_signers(state: &ReleaseState, wave: &TierName, role: &Role) -> Vec<String> {
    let Some(w) = state.waves.iter().find(|w| &w.tier == wave) else {
        return Vec::new();
    };
    let rules = &state.plan.policy.approvals;
    state
        .plan
        .roster
        .people
        .iter()
        .filter(|p| p.roles.contains(role))
        .filter(|p| rules.starter_may_approve || p.name != state.started_by)
        .filter(|p| rules.one_person_many_roles || !w.approvals.iter().any(|(_, by)| by == &p.name))
        .map(|p| p.name.clone())
        .collect()
}
