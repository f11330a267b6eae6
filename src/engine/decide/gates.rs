//! Gates: why a wave that has not started waits (previous wave, validation,
//! signatures, checklist, time, pause), who still has to sign, the approval
//! command itself, and the notices a waiting gate sends.

use chrono::{DateTime, Utc};

use crate::domain::{GatedPhase, Role, TierName};
use crate::engine::event::{EventKind, NoticeKind};
use crate::engine::notices::Draft;
use crate::engine::rejected::Rejected;
use crate::engine::state::{Phase, ReleaseState, WaveStatus};

use super::{wave_by_name, wave_customer_ids};

/// Why a waiting wave has not started, or that it may.
#[derive(Debug, Clone, PartialEq)]
pub enum Gate {
    Ready,
    Paused,
    /// The demo wave has not completed yet (or a previous wave is still running).
    AfterPrevious(TierName),
    NotValidated,
    Time {
        due: DateTime<Utc>,
    },
    Approval {
        missing: Vec<Role>,
    },
    Items(Vec<String>),
    HeldOverdue,
    Done,
}

impl Gate {
    pub fn describe(&self) -> String {
        match self {
            Gate::Ready => "ready".into(),
            Gate::Paused => "paused".into(),
            Gate::AfterPrevious(t) => format!("after {t}"),
            Gate::NotValidated => "after validation".into(),
            Gate::Time { due } => format!("at {}", due.format("%H:%M:%S")),
            Gate::Approval { missing } => {
                let names: Vec<&str> = missing.iter().map(|r| r.as_str()).collect();
                format!("needs {} approval", names.join(" + "))
            }
            Gate::Items(items) => format!("needs checklist: {}", items.join(", ")),
            Gate::HeldOverdue => "overdue: confirm to start".into(),
            Gate::Done => "started".into(),
        }
    }
}

/// The gate of a wave that has not started, checked in the order a person would.
pub fn gate(state: &ReleaseState, wave: usize, now: DateTime<Utc>) -> Gate {
    let Some(w) = state.waves.get(wave) else {
        return Gate::Done;
    };
    match w.status {
        WaveStatus::Waiting => {}
        WaveStatus::HeldOverdue => return Gate::HeldOverdue,
        _ => return Gate::Done,
    }
    if state.phase != Phase::Rollout {
        return Gate::NotValidated;
    }
    if wave > 0 {
        let prev = wave - 1;
        let prev_done = |i: usize| state.wave_cleared(i);
        let blocked_by = if state.emergency {
            (!prev_done(0)).then_some(0)
        } else {
            (!prev_done(prev)).then_some(prev)
        };
        if let Some(b) = blocked_by {
            return Gate::AfterPrevious(state.waves[b].tier.clone());
        }
        // Delays count from the demo wave's completion. A demo wave can be cleared
        // before it completes (a demo customer deferred to its window); until the
        // completion is recorded there is no due time, which must not read as "no
        // delay". A skipped wait skips this too: the operator chose not to wait.
        if state.anchor.is_none() && !w.wait_skipped {
            return Gate::AfterPrevious(state.waves[0].tier.clone());
        }
    }
    let missing = missing_roles(state, wave);
    if !missing.is_empty() && !state.emergency {
        return Gate::Approval { missing };
    }
    let phase = if wave == 0 {
        GatedPhase::Demo
    } else {
        GatedPhase::Customers
    };
    let items = state.unticked_gating(phase);
    if !items.is_empty() {
        return Gate::Items(items);
    }
    if let Some(due) = state.due_at(wave) {
        if now < due && !w.wait_skipped {
            return Gate::Time { due };
        }
    }
    if state.is_paused() {
        return Gate::Paused;
    }
    Gate::Ready
}

/// The roles still to sign `wave`'s gate (empty when it has none, or all signed).
pub fn missing_roles(state: &ReleaseState, wave: usize) -> Vec<Role> {
    let (Some(plan), Some(w)) = (state.plan.waves.get(wave), state.waves.get(wave)) else {
        return Vec::new();
    };
    plan.manual_roles()
        .iter()
        .filter(|r| !w.approvals.iter().any(|(signed, _)| signed == *r))
        .cloned()
        .collect()
}

/// Waves whose gate still waits for signatures (started or not yet due alike:
/// signing ahead is allowed), with the roles missing, in rollout order.
pub fn pending_gates(state: &ReleaseState) -> Vec<(TierName, Vec<Role>)> {
    state
        .waves
        .iter()
        .enumerate()
        .filter(|(_, w)| matches!(w.status, WaveStatus::Waiting | WaveStatus::HeldOverdue))
        .map(|(i, w)| (w.tier.clone(), missing_roles(state, i)))
        .filter(|(_, missing)| !missing.is_empty())
        .collect()
}

/// A wave waits for signatures: who must sign, and the command that signs.
pub(super) fn approval_needed(
    s: &ReleaseState,
    wi: usize,
    missing: &[Role],
    now: DateTime<Utc>,
) -> Draft {
    let w = &s.waves[wi];
    let names: Vec<&str> = missing.iter().map(|r| r.as_str()).collect();
    let when = match s.due_at(wi) {
        Some(due) if due > now => format!(" (may start at {} UTC)", due.format("%Y-%m-%d %H:%M")),
        _ => String::new(),
    };
    let mut d = Draft::new(
        NoticeKind::ApprovalNeeded,
        Some(w.tier.clone()),
        format!(
            "wave {} of {} needs approval by {}{when}: shipdeck approve --version {} --wave {}",
            w.tier,
            s.plan.version,
            names.join(" + "),
            s.plan.version,
            w.tier
        ),
    )
    .customers(wave_customer_ids(s, wi))
    .roles(missing.to_vec());
    if let Some(due) = s.due_at(wi) {
        d = d.eta(due);
    }
    d
}

pub(super) fn gate_timeout_notice(
    s: &ReleaseState,
    wi: usize,
    missing: &[Role],
    now: DateTime<Utc>,
    out: &mut Vec<EventKind>,
) {
    let Some(timeout) = s.plan.policy.approvals.timeout else {
        return;
    };
    let w = &s.waves[wi];
    let Some(due) = s.due_at(wi).or(s.anchor) else {
        return;
    };
    if !w.gate_notice_sent && now >= timeout.after(due) {
        let names: Vec<&str> = missing.iter().map(|r| r.as_str()).collect();
        let notice = Draft::new(
            NoticeKind::GateWaiting,
            Some(w.tier.clone()),
            format!(
                "wave {} has waited {} for approval by {}: shipdeck approve --version {} --wave {}",
                w.tier,
                timeout,
                names.join(" + "),
                s.plan.version,
                w.tier
            ),
        )
        .roles(missing.to_vec())
        .queue(s, out);
        out.push(notice);
    }
}

/// A process opened the release again: waves that would start now came due while
/// nobody was watching, so they wait for a person.
pub(super) fn attached(s: &ReleaseState, now: DateTime<Utc>) -> Vec<EventKind> {
    if s.phase != Phase::Rollout {
        return Vec::new();
    }
    (1..s.waves.len())
        .filter(|&wi| {
            gate(s, wi, now) == Gate::Ready && !s.waves[wi].wait_skipped && s.due_at(wi).is_some()
        })
        .map(|wi| EventKind::WaveHeldOverdue {
            wave: s.waves[wi].tier.clone(),
        })
        .collect()
}

pub(super) fn approve(
    s: &ReleaseState,
    actor: &str,
    wave: Option<&TierName>,
    role: Option<&Role>,
) -> Result<Vec<EventKind>, Rejected> {
    let wi = match wave {
        Some(t) => wave_by_name(s, t)?,
        // No wave named: only when exactly one gate waits for signatures, so that
        // nobody signs a gate they did not mean to.
        None => match pending_gates(s).as_slice() {
            [] => return Err(Rejected::NoPendingGate),
            [(t, _)] => wave_by_name(s, t)?,
            several => return Err(Rejected::WhichGate(several.to_vec())),
        },
    };
    let w = &s.waves[wi];
    if !matches!(w.status, WaveStatus::Waiting | WaveStatus::HeldOverdue) {
        return Err(Rejected::WaveStarted(w.tier.clone()));
    }
    let roles = s.plan.waves[wi].manual_roles();
    if roles.is_empty() {
        return Err(Rejected::NoApprovalNeeded(
            w.tier.clone(),
            s.plan.waves[wi].approval.describe(),
        ));
    }
    let rules = &s.plan.policy.approvals;
    let person = s
        .plan
        .roster
        .person(actor)
        .ok_or_else(|| Rejected::UnknownPerson(actor.to_string()))?;
    if actor == s.started_by && !rules.starter_may_approve {
        return Err(Rejected::StarterMayNotApprove {
            actor: actor.to_string(),
        });
    }
    let missing = missing_roles(s, wi);
    let needed = || {
        missing
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    };
    // A named role: first whether the gate needs it and the person holds it, so
    // the refusal names the real obstacle.
    if let Some(r) = role {
        if !roles.contains(r) {
            return Err(Rejected::RoleNotNeeded {
                wave: w.tier.clone(),
                role: r.clone(),
                needed: roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" + "),
            });
        }
        if !person.roles.contains(r) {
            return Err(Rejected::DoesNotHoldRole {
                actor: actor.to_string(),
                role: r.clone(),
                holds: person
                    .roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if let Some((_, by)) = w.approvals.iter().find(|(signed, _)| signed == r) {
            return Err(Rejected::AlreadySigned {
                wave: w.tier.clone(),
                role: r.clone(),
                by: by.clone(),
            });
        }
    }
    if !rules.one_person_many_roles {
        if let Some((signed, _)) = w.approvals.iter().find(|(_, by)| by == actor) {
            return Err(Rejected::OnePersonOneRole {
                actor: actor.to_string(),
                wave: w.tier.clone(),
                signed: signed.clone(),
            });
        }
    }
    let role = match role {
        Some(r) => r.clone(),
        None => missing
            .iter()
            .find(|r| person.roles.contains(r))
            .cloned()
            .ok_or_else(|| Rejected::LacksRole {
                actor: actor.to_string(),
                wave: w.tier.clone(),
                needed: needed(),
            })?,
    };
    Ok(vec![EventKind::ApprovalSigned {
        wave: w.tier.clone(),
        role,
        actor: actor.to_string(),
    }])
}
