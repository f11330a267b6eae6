//! Operator commands other than signing a gate: ticking and unticking items,
//! taking over, skipping waits, pause and resume, abort, emergency mode, reported
//! issues, retried notices and confirmed overdue waves.

use chrono::{DateTime, Utc};

use crate::domain::{ReleaseType, Role, TierName};
use crate::engine::event::{EventKind, NoticeKind, PauseCause};
use crate::engine::input::Command;
use crate::engine::notices::{self, Draft};
use crate::engine::rejected::Rejected;
use crate::engine::state::{Phase, ReleaseState, WaveStatus};
use crate::engine::triggers::{Evidence, TriggerKind};

use super::gates::{Gate, approve, gate, missing_roles};
use super::results::fire_trigger;
use super::rollback::rollback;
use super::windows::window_waiters;
use super::{require_reason, wave_by_name};

/// The roster role that may take a release over as its captain.
pub const CAPTAIN_ROLE: &str = "release_captain";

pub(super) fn command_events(
    s: &ReleaseState,
    actor: &str,
    command: &Command,
    now: DateTime<Utc>,
) -> Result<Vec<EventKind>, Rejected> {
    // A completed release can still be rolled back inside its window; nothing else.
    let rollback_after_completion =
        s.phase == Phase::Completed && matches!(command, Command::Rollback { .. });
    if let Command::RetryNotices = command {
        return notices::requeue(s, actor);
    }
    // Follow-up items (the rollback checklist after a rollback) stay tickable.
    if s.phase.is_final()
        && !rollback_after_completion
        && !crate::engine::checklists::allowed_after_end(s, command)
    {
        return Err(Rejected::Final(s.phase.as_str()));
    }
    match command {
        Command::TickItem {
            checklist,
            item,
            on_word,
        } => {
            let found = s
                .plan
                .checklists
                .iter()
                .filter(|c| checklist.as_ref().is_none_or(|id| &c.id == id))
                .find_map(|c| c.items.iter().find(|i| &i.id == item).map(|i| (c, i)));
            let (list, it) = found.ok_or_else(|| Rejected::UnknownItem(item.clone()))?;
            if it.is_automatic() {
                return Err(Rejected::AutomaticItem(item.clone()));
            }
            if s.ticks
                .contains_key(&crate::engine::state::item_key(&list.id, &it.id))
            {
                return Err(Rejected::AlreadyTicked(format!("{}/{}", list.id, it.id)));
            }
            Ok(vec![EventKind::ItemTicked {
                checklist: list.id.clone(),
                item: it.id.clone(),
                actor: actor.to_string(),
                on_word: *on_word,
            }])
        }
        Command::UntickItem {
            checklist,
            item,
            reason,
        } => crate::engine::checklists::untick(s, actor, checklist.as_deref(), item, reason),
        Command::Approve { wave, role } => approve(s, actor, wave.as_ref(), role.as_ref()),
        Command::TakeOver => {
            let role = Role::new(CAPTAIN_ROLE);
            if !s.plan.roster.has_role(actor, &role) {
                return Err(Rejected::NotCaptainRole {
                    actor: actor.to_string(),
                    role,
                });
            }
            if s.captain == actor {
                return Err(Rejected::AlreadyCaptain(actor.to_string()));
            }
            Ok(vec![EventKind::CaptainChanged {
                from: s.captain.clone(),
                to: actor.to_string(),
            }])
        }
        Command::SkipWait { wave, reason } => {
            require_reason(reason, "skipping a wait")?;
            let wi = match wave {
                Some(t) => wave_by_name(s, t)?,
                None => (1..s.waves.len())
                    .find(|&i| matches!(gate(s, i, now), Gate::Time { .. }))
                    .or_else(|| {
                        (0..s.waves.len()).find(|&i| {
                            s.waves[i].status == WaveStatus::Running
                                && !window_waiters(s, i).is_empty()
                        })
                    })
                    .ok_or(Rejected::NothingToSkip(TierName::new("(none)")))?,
            };
            let w = &s.waves[wi];
            if w.status == WaveStatus::Running {
                // A started wave's only waits are its customers' maintenance windows.
                let customers = window_waiters(s, wi);
                if customers.is_empty() {
                    return Err(Rejected::WaveStarted(w.tier.clone()));
                }
                return Ok(vec![EventKind::WindowWaitSkipped {
                    wave: w.tier.clone(),
                    customers,
                    actor: actor.to_string(),
                    reason: reason.clone(),
                }]);
            }
            if w.status != WaveStatus::Waiting {
                return Err(Rejected::WaveStarted(w.tier.clone()));
            }
            let no_wait_left = wi == 0 || w.wait_skipped || s.due_at(wi).is_some_and(|d| d <= now);
            if no_wait_left {
                return Err(Rejected::NothingToSkip(w.tier.clone()));
            }
            Ok(vec![EventKind::WaitSkipped {
                wave: w.tier.clone(),
                actor: actor.to_string(),
                reason: reason.clone(),
            }])
        }
        Command::Pause { reason } => {
            if let Some(p) = &s.pause {
                return Err(Rejected::AlreadyPaused {
                    by: p.actor.clone(),
                    reason: p.reason.clone(),
                });
            }
            Ok(vec![EventKind::Paused {
                actor: actor.to_string(),
                reason: reason.clone(),
                cause: crate::engine::event::PauseCause::Operator,
            }])
        }
        Command::Resume { reason } => {
            let p = s.pause.as_ref().ok_or(Rejected::NotPaused)?;
            if p.cause != PauseCause::Operator {
                require_reason(reason, "resuming after a rollback or failure")?;
            }
            Ok(vec![EventKind::Resumed {
                actor: actor.to_string(),
                reason: reason.clone(),
                paused_for_secs: (now - p.since).num_seconds().max(0),
            }])
        }
        Command::Rollback {
            scope,
            reason,
            force,
        } => {
            require_reason(reason, "a rollback")?;
            rollback(s, actor, scope.clone(), reason, *force, now)
        }
        Command::Abort { reason } => {
            require_reason(reason, "aborting a release")?;
            Ok(vec![EventKind::Aborted {
                actor: actor.to_string(),
                reason: reason.clone(),
            }])
        }
        Command::Emergency {
            reason,
            override_windows,
        } => {
            require_reason(reason, "emergency mode")?;
            for id in override_windows {
                let c = s
                    .customer(id)
                    .ok_or_else(|| Rejected::UnknownCustomer(id.clone()))?;
                let bound = s
                    .plan
                    .waves
                    .get(c.wave)
                    .and_then(|w| w.customers.iter().find(|p| &p.id == id))
                    .is_some_and(|p| p.window_only);
                if !bound {
                    return Err(Rejected::NotWindowBound(id.clone()));
                }
            }
            if s.emergency {
                return Err(Rejected::AlreadyEmergency);
            }
            if !s.plan.release_type.is_patch() {
                return Err(Rejected::EmergencyNotPatch);
            }
            if !s
                .waves
                .iter()
                .any(|w| matches!(w.status, WaveStatus::Waiting | WaveStatus::HeldOverdue))
            {
                return Err(Rejected::EmergencyTooLate);
            }
            let approvals_skipped: Vec<TierName> = s
                .waves
                .iter()
                .enumerate()
                .filter(|(i, w)| {
                    w.status == WaveStatus::Waiting && !missing_roles(s, *i).is_empty()
                })
                .map(|(_, w)| w.tier.clone())
                .collect();
            let mut out = vec![EventKind::EmergencyDeclared {
                actor: actor.to_string(),
                reason: reason.clone(),
                approvals_skipped,
                windows_overridden: override_windows.clone(),
            }];
            let notice = Draft::new(
                NoticeKind::Emergency,
                None,
                format!(
                    "emergency {} {}: all tiers right after demo. Reason: {reason}",
                    s.plan.release_type, s.plan.version
                ),
            )
            .customers(s.customers.iter().map(|c| c.id.clone()).collect())
            .queue(s, &out);
            out.push(notice);
            Ok(out)
        }
        Command::ReportIssue { customer, reason } => {
            require_reason(reason, "reporting an issue")?;
            let c = s
                .customer(customer)
                .ok_or_else(|| Rejected::UnknownCustomer(customer.clone()))?;
            if !c.status.is_touched() {
                return Err(Rejected::NotDeployed(customer.clone()));
            }
            let evidence = Evidence {
                summary: format!("reported by {actor}: {reason}"),
                baseline: c.health.baseline,
                samples: Vec::new(),
                source: None,
            };
            Ok(fire_trigger(
                s,
                customer,
                TriggerKind::CustomerReported,
                evidence,
                now,
            ))
        }
        Command::RetryNotices => notices::requeue(s, actor),
        Command::ConfirmOverdue => {
            let waves: Vec<TierName> = s
                .waves
                .iter()
                .filter(|w| w.status == WaveStatus::HeldOverdue)
                .map(|w| w.tier.clone())
                .collect();
            let customers: Vec<crate::domain::CustomerId> = s
                .customers
                .iter()
                .filter(|c| c.window_missed.is_some())
                .map(|c| c.id.clone())
                .collect();
            if waves.is_empty() && customers.is_empty() {
                return Err(Rejected::NothingOverdue);
            }
            Ok(vec![EventKind::OverdueConfirmed {
                waves,
                actor: actor.to_string(),
                customers,
            }])
        }
    }
}

/// Whether the release type allows emergency mode at all (patch types).
pub fn emergency_allowed(t: ReleaseType) -> bool {
    t.is_patch()
}
