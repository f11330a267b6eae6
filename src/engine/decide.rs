//! `decide`: every rule of a rollout. Given the state, one input and the time, it
//! returns the events that follow (or a refusal) and the effects those events start.
//! It reads no clock and does no I/O: time is the `now` argument.

use chrono::{DateTime, Utc};

use super::effect::{Effect, effect_of};
use super::event::{Event, EventKind, NoticeKind, PauseCause, RollbackScope, SYSTEM};
use super::input::{Command, EffectResult, Input};
use super::rejected::Rejected;
use super::state::{CheckStatus, CustomerStatus, Phase, ReleaseState, WaveStatus};
use super::triggers::{self, Evidence, TriggerKind};
use crate::domain::{
    Approval, GatedPhase, NotifyTiming, ProbeOutcome, ReleaseType, Role, TierName, TriggerAction,
};

/// The roster role that may take a release over as its captain.
pub const CAPTAIN_ROLE: &str = "release_captain";

/// Events and the effects they start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    pub events: Vec<Event>,
    pub effects: Vec<Effect>,
}

pub fn decide(
    state: &ReleaseState,
    input: &Input,
    now: DateTime<Utc>,
) -> Result<Decision, Rejected> {
    let kinds = match input {
        Input::Tick => advance(state, now),
        Input::Attached => attached(state, now),
        Input::Command { actor, command } => command_events(state, actor, command, now)?,
        Input::Result(result) => result_events(state, result, now),
    };
    let events: Vec<Event> = kinds
        .into_iter()
        .map(|event| Event { at: now, event })
        .collect();
    let effects = events.iter().filter_map(|e| effect_of(state, e)).collect();
    Ok(Decision { events, effects })
}

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

/// Start what is due. Called on every tick and after every other decision, until it
/// returns nothing.
fn advance(s: &ReleaseState, now: DateTime<Utc>) -> Vec<EventKind> {
    let mut out = Vec::new();
    match s.phase {
        Phase::Planned => {
            if s.is_paused() {
                return out;
            }
            let items = s.unticked_gating(GatedPhase::Validation);
            if !items.is_empty() {
                if !s.held_phases.contains(&GatedPhase::Validation) {
                    out.push(EventKind::PhaseHeld {
                        phase: GatedPhase::Validation,
                        items,
                    });
                }
                return out;
            }
            out.push(EventKind::ValidationStarted);
            out.extend(start_checks(s));
        }
        Phase::Validating => {
            let automatic = automatic_items(s);
            if s.is_paused() {
                return out;
            }
            if automatic
                .iter()
                .all(|i| matches!(s.checks.get(i), Some(CheckStatus::Passed(_))))
            {
                out.push(EventKind::ValidationPassed);
                return out;
            }
            let missing = start_checks(s);
            if !missing.is_empty() {
                return missing;
            }
            let running = s.running_checks().next().is_some();
            let failed: Vec<String> = s
                .checks
                .iter()
                .filter(|(_, st)| matches!(st, CheckStatus::Failed(_)))
                .map(|(k, _)| k.clone())
                .collect();
            if !running && !failed.is_empty() {
                let reason = format!("checks failed: {}", failed.join(", "));
                out.push(EventKind::ValidationFailed { failed });
                out.push(EventKind::Paused {
                    actor: SYSTEM.into(),
                    reason,
                    cause: PauseCause::ValidationFailed,
                });
            }
        }
        Phase::Rollout => rollout(s, now, &mut out),
        Phase::Monitoring => {
            if s.monitoring_until.is_some_and(|until| now >= until) {
                out.push(EventKind::Completed);
            }
        }
        Phase::Completed | Phase::RolledBack | Phase::Aborted => {}
    }
    if s.rolling_back_all
        && !s.phase.is_final()
        && !s.customers.iter().any(|c| {
            matches!(
                c.status,
                CustomerStatus::RollingBack | CustomerStatus::Deploying
            )
        })
    {
        out.push(EventKind::RolledBack);
    }
    out
}

fn automatic_items(s: &ReleaseState) -> Vec<String> {
    s.plan
        .pre_release()
        .map(|c| {
            c.items
                .iter()
                .filter(|i| i.is_automatic())
                .map(|i| i.id.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Checks not run yet (or cleared to run again).
fn start_checks(s: &ReleaseState) -> Vec<EventKind> {
    automatic_items(s)
        .into_iter()
        .filter(|i| !s.checks.contains_key(i))
        .map(|item| EventKind::CheckStarted { item })
        .collect()
}

fn rollout(s: &ReleaseState, now: DateTime<Utc>, out: &mut Vec<EventKind>) {
    let policy = &s.plan.policy;
    for (wi, w) in s.waves.iter().enumerate() {
        match w.status {
            WaveStatus::Running => {
                let plan = &s.plan.waves[wi];
                let mut in_flight = 0u32;
                let mut settled = 0usize;
                for (offset, c) in s.wave_customers(wi).iter().enumerate() {
                    match c.status {
                        CustomerStatus::Deploying | CustomerStatus::RollingBack => in_flight += 1,
                        CustomerStatus::Verifying => {
                            let soaked = c.soak_until.is_some_and(|t| now >= t);
                            let held =
                                matches!(c.health.last, Some(ProbeOutcome::Inconclusive { .. }));
                            if soaked && !held {
                                out.push(EventKind::CustomerHealthy {
                                    customer: c.id.clone(),
                                });
                                if plan.customers[offset].notify.timing == NotifyTiming::PostDeploy
                                {
                                    out.push(EventKind::Notified {
                                        kind: NoticeKind::PostDeploy,
                                        wave: None,
                                        customer: Some(c.id.clone()),
                                        message: format!(
                                            "{} is now running {}",
                                            c.name, s.plan.version
                                        ),
                                    });
                                }
                                settled += 1;
                            }
                        }
                        st if st.is_settled() => settled += 1,
                        _ => {}
                    }
                }
                if settled == w.customer_count {
                    out.push(EventKind::WaveCompleted {
                        wave: w.tier.clone(),
                    });
                    if wi == 0 {
                        pre_deploy_notices(s, out);
                    }
                    continue;
                }
                if s.is_paused() {
                    continue;
                }
                let mut capacity = policy.max_parallel.max(1).saturating_sub(in_flight);
                for (offset, c) in s.wave_customers(wi).iter().enumerate() {
                    if capacity == 0 {
                        break;
                    }
                    if !matches!(
                        c.status,
                        CustomerStatus::Pending | CustomerStatus::WaitingWindow
                    ) {
                        continue;
                    }
                    let cp = &plan.customers[offset];
                    let windowed = (plan.in_windows() || cp.window_only) && !s.emergency;
                    if windowed {
                        if let Some(win) = &cp.window {
                            if !win.is_open(now) {
                                if c.status == CustomerStatus::Pending {
                                    if let Some(opens_at) = win.next_open(now) {
                                        out.push(EventKind::CustomerWaitingForWindow {
                                            customer: c.id.clone(),
                                            opens_at,
                                        });
                                    }
                                }
                                continue;
                            }
                        }
                    }
                    if c.health.baseline.is_none() && !c.health.baseline_samples.is_empty() {
                        // Deploying ends the baseline: what was sampled before it is
                        // all there will be, and error-rate and latency triggers need
                        // something to compare with. No sample at all leaves only the
                        // consecutive-failures trigger.
                        out.push(EventKind::BaselineRecorded {
                            customer: c.id.clone(),
                            baseline: triggers::baseline_of(&c.health.baseline_samples),
                        });
                    }
                    out.push(EventKind::DeployStarted {
                        customer: c.id.clone(),
                        version: s.plan.version.clone(),
                    });
                    capacity -= 1;
                }
            }
            WaveStatus::Waiting => {
                // A gate is judged on `s`, which lacks what earlier waves decided in
                // this round (a deploy out of a window makes that wave uncleared): let
                // those apply first. `step` runs the next round at the same `now`.
                if !out.is_empty() {
                    break;
                }
                match gate(s, wi, now) {
                    Gate::Ready => {
                        out.push(EventKind::WaveStarted {
                            wave: w.tier.clone(),
                        });
                        if s.plan.waves[wi].approval == Approval::AutomaticWithNotification {
                            out.push(EventKind::Notified {
                                kind: NoticeKind::WaveStarting,
                                wave: Some(w.tier.clone()),
                                customer: None,
                                message: format!(
                                    "{} is being deployed to the {} tier now",
                                    s.plan.version, w.tier
                                ),
                            });
                        }
                    }
                    Gate::Items(items) => {
                        let phase = if wi == 0 {
                            GatedPhase::Demo
                        } else {
                            GatedPhase::Customers
                        };
                        if !s.held_phases.contains(&phase) {
                            out.push(EventKind::PhaseHeld { phase, items });
                        }
                    }
                    Gate::Approval { missing } => {
                        gate_timeout_notice(s, wi, &missing, now, out);
                    }
                    _ => {}
                }
                // Later waves wait behind this one (or all start together in emergency).
                if !s.emergency || wi == 0 {
                    break;
                }
            }
            WaveStatus::HeldOverdue => {
                if !s.emergency {
                    break;
                }
            }
            WaveStatus::Completed | WaveStatus::Cancelled => {}
        }
    }
    let all_done = s
        .waves
        .iter()
        .all(|w| matches!(w.status, WaveStatus::Completed | WaveStatus::Cancelled));
    if all_done && !s.rolling_back_all && out.is_empty() {
        out.push(EventKind::RolloutCompleted {
            monitoring_until: now + policy.monitoring.period.to_delta(),
            rollback_window_until: now + policy.rollback_window.to_delta(),
        });
    }
}

fn pre_deploy_notices(s: &ReleaseState, out: &mut Vec<EventKind>) {
    for (wi, plan) in s.plan.waves.iter().enumerate().skip(1) {
        let due = s.plan.effective_delay(wi, s.emergency);
        for c in &plan.customers {
            if c.notify.timing == NotifyTiming::PreDeploy {
                out.push(EventKind::Notified {
                    kind: NoticeKind::PreDeploy,
                    wave: None,
                    customer: Some(c.id.clone()),
                    message: format!(
                        "{} ({}) will be deployed to {} no earlier than {} from now",
                        s.plan.version, s.plan.release_type, c.name, due
                    ),
                });
            }
        }
    }
}

fn gate_timeout_notice(
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
    if !w.gate_notice_sent && now >= due + timeout.to_delta() {
        let names: Vec<&str> = missing.iter().map(|r| r.as_str()).collect();
        out.push(EventKind::Notified {
            kind: NoticeKind::GateWaiting,
            wave: Some(w.tier.clone()),
            customer: None,
            message: format!(
                "wave {} has waited {} for approval by {}",
                w.tier,
                timeout,
                names.join(" + ")
            ),
        });
    }
}

/// A process opened the release again: waves that would start now came due while
/// nobody was watching, so they wait for a person.
fn attached(s: &ReleaseState, now: DateTime<Utc>) -> Vec<EventKind> {
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

fn require_reason(reason: &str, what: &'static str) -> Result<(), Rejected> {
    if reason.trim().is_empty() {
        Err(Rejected::ReasonRequired(what))
    } else {
        Ok(())
    }
}

fn wave_by_name(s: &ReleaseState, tier: &TierName) -> Result<usize, Rejected> {
    s.wave_index(tier)
        .ok_or_else(|| Rejected::UnknownWave(tier.clone()))
}

fn command_events(
    s: &ReleaseState,
    actor: &str,
    command: &Command,
    now: DateTime<Utc>,
) -> Result<Vec<EventKind>, Rejected> {
    // A completed release can still be rolled back inside its window; nothing else.
    let rollback_after_completion =
        s.phase == Phase::Completed && matches!(command, Command::Rollback { .. });
    if s.phase.is_final() && !rollback_after_completion {
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
                .contains_key(&super::state::item_key(&list.id, &it.id))
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
                    .ok_or(Rejected::NothingToSkip(TierName::new("(none)")))?,
            };
            let w = &s.waves[wi];
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
                cause: super::event::PauseCause::Operator,
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
        Command::Emergency { reason } => {
            require_reason(reason, "emergency mode")?;
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
            Ok(vec![
                EventKind::EmergencyDeclared {
                    actor: actor.to_string(),
                    reason: reason.clone(),
                    approvals_skipped,
                },
                EventKind::Notified {
                    kind: NoticeKind::Emergency,
                    wave: None,
                    customer: None,
                    message: format!(
                        "emergency {} {}: all tiers right after demo. Reason: {reason}",
                        s.plan.release_type, s.plan.version
                    ),
                },
            ])
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
            };
            Ok(fire_trigger(
                s,
                customer,
                TriggerKind::CustomerReported,
                evidence,
                now,
            ))
        }
        Command::ConfirmOverdue => {
            let waves: Vec<TierName> = s
                .waves
                .iter()
                .filter(|w| w.status == WaveStatus::HeldOverdue)
                .map(|w| w.tier.clone())
                .collect();
            if waves.is_empty() {
                return Err(Rejected::NothingOverdue);
            }
            Ok(vec![EventKind::OverdueConfirmed {
                waves,
                actor: actor.to_string(),
            }])
        }
    }
}

fn approve(
    s: &ReleaseState,
    actor: &str,
    wave: Option<&TierName>,
    role: Option<&Role>,
) -> Result<Vec<EventKind>, Rejected> {
    let wi = match wave {
        Some(t) => wave_by_name(s, t)?,
        None => (0..s.waves.len())
            .find(|&i| s.waves[i].status == WaveStatus::Waiting && !missing_roles(s, i).is_empty())
            .ok_or(Rejected::NoPendingGate)?,
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
    if !rules.one_person_many_roles {
        if let Some((signed, _)) = w.approvals.iter().find(|(_, by)| by == actor) {
            return Err(Rejected::OnePersonOneRole {
                actor: actor.to_string(),
                wave: w.tier.clone(),
                signed: signed.clone(),
            });
        }
    }
    let missing = missing_roles(s, wi);
    let needed = || {
        missing
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    };
    let role = match role {
        Some(r) => {
            if let Some((_, by)) = w.approvals.iter().find(|(signed, _)| signed == r) {
                return Err(Rejected::AlreadySigned {
                    wave: w.tier.clone(),
                    role: r.clone(),
                    by: by.clone(),
                });
            }
            if !missing.contains(r) || !person.roles.contains(r) {
                return Err(Rejected::LacksRole {
                    actor: actor.to_string(),
                    wave: w.tier.clone(),
                    needed: needed(),
                });
            }
            r.clone()
        }
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

fn rollback(
    s: &ReleaseState,
    actor: &str,
    scope: RollbackScope,
    reason: &str,
    force: bool,
    now: DateTime<Utc>,
) -> Result<Vec<EventKind>, Rejected> {
    let targets: Vec<usize> = match &scope {
        RollbackScope::Customer(id) => {
            let i = s
                .customer_index(id)
                .ok_or_else(|| Rejected::UnknownCustomer(id.clone()))?;
            vec![i]
        }
        RollbackScope::Wave(t) => {
            let wi = wave_by_name(s, t)?;
            let w = &s.waves[wi];
            (w.first_customer..w.first_customer + w.customer_count).collect()
        }
        RollbackScope::All => (0..s.customers.len()).collect(),
    };
    let touched: Vec<usize> = targets
        .into_iter()
        .filter(|&i| s.customers[i].status.is_touched())
        .collect();
    if touched.is_empty() {
        return Err(Rejected::NothingToRollBack(scope.to_string()));
    }
    if let Some(closed) = s.rollback_window_until {
        if now > closed && !force {
            return Err(Rejected::RollbackWindowClosed { closed });
        }
    }
    let forced = force && s.rollback_window_until.is_some_and(|c| now > c);
    let mut out = vec![EventKind::RollbackRequested {
        scope: scope.clone(),
        actor: actor.to_string(),
        reason: reason.to_string(),
        forced,
    }];
    for i in touched {
        let c = &s.customers[i];
        out.push(EventKind::RollbackStarted {
            customer: c.id.clone(),
            to: c.from_version.clone(),
        });
    }
    out.push(EventKind::Notified {
        kind: NoticeKind::Rollback,
        wave: None,
        customer: None,
        message: format!("rolling back {scope} from {}: {reason}", s.plan.version),
    });
    if scope != RollbackScope::All {
        out.extend(lock_after_rollback(s, actor, reason));
    }
    Ok(out)
}

fn lock_after_rollback(s: &ReleaseState, actor: &str, reason: &str) -> Option<EventKind> {
    if s.is_paused() || !s.plan.policy.lock_after_rollback || s.phase.is_final() {
        return None;
    }
    if matches!(s.phase, Phase::Monitoring) {
        // Nothing left to start; the lock would only block completion.
        return None;
    }
    Some(EventKind::Paused {
        actor: actor.to_string(),
        reason: format!("after rollback: {reason}"),
        cause: PauseCause::RollbackLock,
    })
}

fn fire_trigger(
    s: &ReleaseState,
    customer: &crate::domain::CustomerId,
    trigger: TriggerKind,
    evidence: Evidence,
    now: DateTime<Utc>,
) -> Vec<EventKind> {
    let summary = evidence.summary.clone();
    let mut out = vec![EventKind::TriggerFired {
        customer: customer.clone(),
        trigger,
        evidence,
    }];
    let window_open = s.rollback_window_until.is_none_or(|closed| now <= closed);
    if !window_open {
        out.push(EventKind::Notified {
            kind: NoticeKind::Rollback,
            wave: None,
            customer: Some(customer.clone()),
            message: format!(
                "{} on {customer} after the rollback window closed; not rolled back automatically: {summary}",
                trigger.describe()
            ),
        });
        return out;
    }
    let reason = format!("{}: {summary}", trigger.describe());
    match s.plan.policy.triggers.action {
        TriggerAction::RollbackCustomerAndPause => {
            if let Ok(events) = rollback(
                s,
                SYSTEM,
                RollbackScope::Customer(customer.clone()),
                &reason,
                false,
                now,
            ) {
                out.extend(events);
            }
        }
        TriggerAction::RollbackAll => {
            if let Ok(events) = rollback(s, SYSTEM, RollbackScope::All, &reason, false, now) {
                out.extend(events);
            }
        }
        TriggerAction::PauseOnly => {
            if !s.is_paused() {
                out.push(EventKind::Paused {
                    actor: SYSTEM.into(),
                    reason,
                    cause: PauseCause::Trigger,
                });
            }
        }
    }
    out
}

fn result_events(s: &ReleaseState, result: &EffectResult, now: DateTime<Utc>) -> Vec<EventKind> {
    match result {
        EffectResult::CheckFinished { item, ok, detail } => {
            if s.checks.get(item) != Some(&CheckStatus::Running) {
                return Vec::new();
            }
            vec![EventKind::CheckFinished {
                item: item.clone(),
                ok: *ok,
                detail: detail.clone(),
            }]
        }
        EffectResult::DeployFinished {
            customer,
            ok,
            detail,
        } => {
            let Some(c) = s.customer(customer) else {
                return Vec::new();
            };
            if c.status != CustomerStatus::Deploying && c.status != CustomerStatus::RollingBack {
                return Vec::new();
            }
            let mut out = vec![EventKind::DeployFinished {
                customer: customer.clone(),
                ok: *ok,
                detail: detail.clone(),
            }];
            if !*ok && c.status == CustomerStatus::Deploying {
                out.push(EventKind::CustomerFailed {
                    customer: customer.clone(),
                    reason: format!("deploy failed: {detail}"),
                });
                // The target may be half-deployed: put it back where it was.
                out.push(EventKind::RollbackStarted {
                    customer: customer.clone(),
                    to: c.from_version.clone(),
                });
                if !s.is_paused() {
                    out.push(EventKind::Paused {
                        actor: SYSTEM.into(),
                        reason: format!("deploy to {} failed: {detail}", c.name),
                        cause: PauseCause::DeployFailed,
                    });
                }
            }
            out
        }
        EffectResult::RollbackFinished {
            customer,
            ok,
            detail,
        } => {
            let Some(c) = s.customer(customer) else {
                return Vec::new();
            };
            if c.status != CustomerStatus::RollingBack {
                return Vec::new();
            }
            let mut out = vec![EventKind::RollbackFinished {
                customer: customer.clone(),
                ok: *ok,
                detail: detail.clone(),
            }];
            if !*ok && !s.is_paused() {
                out.push(EventKind::Paused {
                    actor: SYSTEM.into(),
                    reason: format!("rollback of {} failed: {detail}", c.name),
                    cause: PauseCause::DeployFailed,
                });
            }
            out
        }
        EffectResult::Probed { customer, outcome } => probed(s, customer, outcome, now),
    }
}

fn probed(
    s: &ReleaseState,
    customer: &crate::domain::CustomerId,
    outcome: &ProbeOutcome,
    now: DateTime<Utc>,
) -> Vec<EventKind> {
    let Some(c) = s.customer(customer) else {
        return Vec::new();
    };
    let policy = &s.plan.policy.triggers;
    let watching = s.phase == Phase::Rollout || s.phase == Phase::Monitoring;
    let mut out = Vec::new();
    match c.status {
        CustomerStatus::Pending | CustomerStatus::WaitingWindow if c.health.baseline.is_none() => {
            out.push(EventKind::HealthSampled {
                customer: customer.clone(),
                outcome: outcome.clone(),
            });
            if let ProbeOutcome::Up { sample } = outcome {
                let mut samples = c.health.baseline_samples.clone();
                samples.push(*sample);
                if samples.len() >= policy.baseline_samples.max(1) as usize {
                    out.push(EventKind::BaselineRecorded {
                        customer: customer.clone(),
                        baseline: triggers::baseline_of(&samples),
                    });
                }
            }
        }
        CustomerStatus::Verifying | CustomerStatus::Healthy if watching => {
            out.push(EventKind::HealthSampled {
                customer: customer.clone(),
                outcome: outcome.clone(),
            });
            if matches!(outcome, ProbeOutcome::Inconclusive { .. }) {
                return out;
            }
            let mut recent = c.health.recent.clone();
            recent.push_back(outcome.clone());
            while recent.len() > triggers::history_len(policy) {
                recent.pop_front();
            }
            if let Some((kind, evidence)) =
                triggers::evaluate(policy, c.health.baseline.as_ref(), &recent)
            {
                out.extend(fire_trigger(s, customer, kind, evidence, now));
            }
        }
        _ => {}
    }
    out
}

/// Whether the release type allows emergency mode at all (patch types).
pub fn emergency_allowed(t: ReleaseType) -> bool {
    t.is_patch()
}
