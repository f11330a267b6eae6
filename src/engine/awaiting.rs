//! What only a person can do to move a release on, when time alone will not.
//!
//! `waiting_on_people` says *that* the release waits; this says *for what*, so that
//! no face ever has to print "nothing can move without a person" without naming
//! the action that would move it (a resume, a confirmation, a signature, a tick, a
//! skipped window). The faces turn each into their own words and commands.

use chrono::{DateTime, Utc};

use super::decide::{Gate, gate};
use super::event::PauseCause;
use super::state::{Phase, ReleaseState, WaveStatus};
use crate::domain::{CustomerId, GatedPhase, Role, TierName};

/// One action a person can take that would move the release on.
#[derive(Debug, Clone, PartialEq)]
pub enum Awaited {
    /// The release is paused; resuming (with a reason when `reason_required`) lets
    /// it go on.
    Resume {
        by: String,
        reason: String,
        cause: PauseCause,
        reason_required: bool,
    },
    /// Waves that came due while no process ran, waiting for confirmation.
    ConfirmWaves { waves: Vec<TierName> },
    /// A customer whose maintenance window opened and closed without a deploy:
    /// confirm (it then waits for `next`) or skip its window wait with a reason.
    MissedWindow {
        customer: CustomerId,
        wave: TierName,
        missed: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    },
    /// A wave's gate needs these roles to sign.
    Approve { wave: TierName, roles: Vec<Role> },
    /// Manual checklist items that gate what comes next.
    Tick { items: Vec<String> },
    /// Nothing is scheduled and nothing above applies: only a rollback or an abort
    /// can end the release.
    Decide,
}

/// Every person-action that would move the release on at `now`, most pressing
/// first. Empty when the release is final.
pub fn awaited(state: &ReleaseState, now: DateTime<Utc>) -> Vec<Awaited> {
    let mut out = Vec::new();
    if state.phase.is_final() {
        return out;
    }
    if let Some(p) = &state.pause {
        out.push(Awaited::Resume {
            by: p.actor.clone(),
            reason: p.reason.clone(),
            cause: p.cause,
            reason_required: p.cause != PauseCause::Operator,
        });
    }
    if state.phase == Phase::Planned {
        let items = state.unticked_gating(GatedPhase::Validation);
        if !items.is_empty() {
            out.push(Awaited::Tick { items });
        }
    }
    let overdue: Vec<TierName> = state
        .waves
        .iter()
        .filter(|w| w.status == WaveStatus::HeldOverdue)
        .map(|w| w.tier.clone())
        .collect();
    if !overdue.is_empty() {
        out.push(Awaited::ConfirmWaves { waves: overdue });
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
    for i in 0..state.waves.len() {
        match gate(state, i, now) {
            Gate::Approval { missing } => out.push(Awaited::Approve {
                wave: state.waves[i].tier.clone(),
                roles: missing,
            }),
            Gate::Items(items)
                if !out
                    .iter()
                    .any(|a| matches!(a, Awaited::Tick { items: i } if *i == items)) =>
            {
                out.push(Awaited::Tick { items });
            }
            _ => {}
        }
    }
    if out.is_empty() {
        out.push(Awaited::Decide);
    }
    out
}
