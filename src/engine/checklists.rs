//! Checklist rules beyond ticking: what an item holds, unticking an item ticked
//! by mistake (with a reason, while the phase it gates has not started), and
//! which items may still be ticked once the release has ended (follow-up items
//! that hold nothing, such as the rollback checklist after a rollback).

use super::event::EventKind;
use super::input::Command;
use super::rejected::Rejected;
use super::state::{Phase, ReleaseState, WaveStatus, item_key};
use crate::domain::{Checklist, ChecklistItem, GatedPhase, TierName};

/// The item `item` of list `checklist` (any list when None), as the plan has it.
pub fn find<'a>(
    s: &'a ReleaseState,
    checklist: Option<&str>,
    item: &str,
) -> Option<(&'a Checklist, &'a ChecklistItem)> {
    s.plan
        .checklists
        .iter()
        .filter(|c| checklist.is_none_or(|id| c.id == id))
        .find_map(|c| c.items.iter().find(|i| i.id == item).map(|i| (c, i)))
}

/// The phase an item holds in this release: its `gates`, when its list gates
/// phases now (pre-release and deployment always, hotfix in an emergency).
pub fn holds(s: &ReleaseState, list: &Checklist, item: &ChecklistItem) -> Option<GatedPhase> {
    let gating = s
        .plan
        .gating_checklists(s.emergency)
        .any(|l| l.id == list.id);
    item.gates.filter(|_| gating && !item.is_automatic())
}

/// Whether `phase` has begun: validation once it started, the demo wave once it
/// started, customers once any customer wave started.
pub fn phase_started(s: &ReleaseState, phase: GatedPhase) -> bool {
    let started = |w: &super::state::WaveState| w.started_at.is_some();
    match phase {
        GatedPhase::Validation => s.phase != Phase::Planned,
        GatedPhase::Demo => s.waves.first().is_some_and(started),
        GatedPhase::Customers => s.waves.iter().skip(1).any(started),
    }
}

/// The wave an open item of `phase` holds now, for people to read: the demo wave,
/// or the next customer wave that has not started. None for validation.
pub fn wave_held(s: &ReleaseState, phase: GatedPhase) -> Option<TierName> {
    match phase {
        GatedPhase::Validation => None,
        GatedPhase::Demo => s.waves.first().map(|w| w.tier.clone()),
        GatedPhase::Customers => s
            .waves
            .iter()
            .skip(1)
            .find(|w| matches!(w.status, WaveStatus::Waiting | WaveStatus::HeldOverdue))
            .map(|w| w.tier.clone()),
    }
}

/// Whether `command` may still act once the release has ended: ticking (or
/// unticking) an item that holds no phase, such as the rollback checklist's
/// follow-ups after a rollback. Everything else is refused as final.
pub fn allowed_after_end(s: &ReleaseState, command: &Command) -> bool {
    let (checklist, item) = match command {
        Command::TickItem {
            checklist, item, ..
        }
        | Command::UntickItem {
            checklist, item, ..
        } => (checklist, item),
        _ => return false,
    };
    find(s, checklist.as_deref(), item).is_some_and(|(list, it)| holds(s, list, it).is_none())
}

/// Unticks an item ticked by mistake: a reason is required, and an item that
/// gates a phase may be unticked only while that phase has not started.
pub fn untick(
    s: &ReleaseState,
    actor: &str,
    checklist: Option<&str>,
    item: &str,
    reason: &str,
) -> Result<Vec<EventKind>, Rejected> {
    let (list, it) = find(s, checklist, item).ok_or_else(|| Rejected::UnknownItem(item.into()))?;
    let key = item_key(&list.id, &it.id);
    if it.is_automatic() {
        return Err(Rejected::AutomaticItem(key));
    }
    if !s.ticks.contains_key(&key) {
        return Err(Rejected::NotTicked(key));
    }
    if reason.trim().is_empty() {
        return Err(Rejected::ReasonRequired("unticking an item"));
    }
    if let Some(phase) = holds(s, list, it).filter(|p| phase_started(s, *p)) {
        return Err(Rejected::PhaseStarted {
            item: key,
            phase: phase.as_str(),
        });
    }
    Ok(vec![EventKind::ItemUnticked {
        checklist: list.id.clone(),
        item: it.id.clone(),
        actor: actor.to_string(),
        reason: reason.to_string(),
    }])
}
