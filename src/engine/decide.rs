//! `decide`: every rule of a rollout. Given the state, one input and the time, it
//! returns the events that follow (or a refusal) and the effects those events start.
//! It reads no clock and does no I/O: time is the `now` argument.

use chrono::{DateTime, Utc};

use super::effect::{Effect, effect_of};
use super::event::{Event, EventKind, NoticeKind, PauseCause, RollbackScope, SYSTEM};
use super::input::{Command, EffectResult, Input};
use super::notices::{self, Draft};
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
        Input::Summaries {
            from,
            to,
            customers,
        } => {
            if customers.is_empty() {
                Vec::new()
            } else {
                vec![EventKind::HealthSummarized {
                    from: *from,
                    to: *to,
                    customers: customers.clone(),
                }]
            }
        }
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

/// The maintenance window customer `offset` of wave `wi` must deploy in, if it
/// must deploy in one now: its wave deploys in windows or it is window-only, the
/// release is not in emergency mode, and no operator skipped its wait.
pub fn window_of(
    s: &ReleaseState,
    wi: usize,
    offset: usize,
) -> Option<&crate::domain::MaintenanceWindow> {
    let plan = s.plan.waves.get(wi)?;
    let cp = plan.customers.get(offset)?;
    let c = s.wave_customers(wi).get(offset)?;
    // An emergency skips the tier's windows, never a customer held to its own
    // (`window_only`) unless the operator named it; a skipped wait skips either.
    let windowed = ((plan.in_windows() && !s.emergency)
        || (cp.window_only && !s.windows_overridden.contains(&c.id)))
        && !c.window_skipped;
    if windowed { cp.window.as_ref() } else { None }
}

/// Whether a customer bound to `win` must wait rather than deploy at `now`, and
/// what that wait records. Waiting means waiting for the *next* opening: a window
/// that opened and closed while nobody acted on it is reported as missed and holds
/// the customer until a person confirms (or skips the wait); it is never waited
/// for again.
fn window_wait(
    c: &super::state::CustomerState,
    win: &crate::domain::MaintenanceWindow,
    now: DateTime<Utc>,
) -> Option<Vec<EventKind>> {
    if c.window_missed.is_some() {
        return Some(Vec::new());
    }
    if win.is_open(now) {
        return None;
    }
    let events = match (c.status, c.window_opens_at) {
        (CustomerStatus::Pending, _) => win
            .next_open(now)
            .map(|opens_at| EventKind::CustomerWaitingForWindow {
                customer: c.id.clone(),
                opens_at,
            })
            .into_iter()
            .collect(),
        (CustomerStatus::WaitingWindow, Some(opened)) if opened <= now => {
            vec![EventKind::CustomerWindowMissed {
                customer: c.id.clone(),
                missed: opened,
                next: win.next_open(now),
            }]
        }
        _ => Vec::new(),
    };
    Some(events)
}

/// Customers of wave `wi` still waiting for (or held by) their maintenance window.
pub fn window_waiters(s: &ReleaseState, wi: usize) -> Vec<crate::domain::CustomerId> {
    s.wave_customers(wi)
        .iter()
        .enumerate()
        .filter(|(offset, c)| {
            matches!(
                c.status,
                CustomerStatus::Pending | CustomerStatus::WaitingWindow
            ) && window_of(s, wi, *offset).is_some()
        })
        .map(|(_, c)| c.id.clone())
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
            // A customer a trigger holds waits for people: the release does not
            // complete under them.
            if s.monitoring_until.is_some_and(|until| now >= until) && !s.held_by_trigger() {
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
                // Told after deploy, once per wave: healthy customers whose notify
                // timing is post-deploy (those settled before, and those now).
                let mut told: Vec<crate::domain::CustomerId> = Vec::new();
                let mut deferred = 0usize;
                for (offset, c) in s.wave_customers(wi).iter().enumerate() {
                    let post = plan.customers[offset].notify.timing == NotifyTiming::PostDeploy;
                    match c.status {
                        CustomerStatus::Deploying | CustomerStatus::RollingBack => in_flight += 1,
                        CustomerStatus::Verifying => {
                            let soaked = c.soak_until.is_some_and(|t| now >= t);
                            // Held by an inconclusive last check, or by a trigger
                            // that fired on it while the release is paused.
                            let held =
                                matches!(c.health.last, Some(ProbeOutcome::Inconclusive { .. }))
                                    || s.trigger_holds(c);
                            if soaked && !held {
                                out.push(EventKind::CustomerHealthy {
                                    customer: c.id.clone(),
                                });
                                if post {
                                    told.push(c.id.clone());
                                }
                                settled += 1;
                            }
                        }
                        CustomerStatus::Healthy => {
                            if post {
                                told.push(c.id.clone());
                            }
                            settled += 1;
                        }
                        CustomerStatus::WaitingWindow => deferred += 1,
                        st if st.is_settled() => settled += 1,
                        _ => {}
                    }
                }
                // One post-deploy notice when the wave is cleared (every customer
                // settled, or deferred to its window); customers deployed later in
                // their windows get one more when the wave completes.
                if settled > 0 && settled + deferred == w.customer_count {
                    let before = told_post_deploy(s, &w.tier);
                    told.retain(|c| !before.contains(c));
                    if !told.is_empty() {
                        let names = customer_names(s, &told);
                        let notice = Draft::new(
                            NoticeKind::PostDeploy,
                            Some(w.tier.clone()),
                            format!(
                                "{} ({}) is deployed and healthy on the {} tier: {}",
                                s.plan.version, s.plan.release_type, w.tier, names
                            ),
                        )
                        .customers(told)
                        .queue(s, out);
                        out.push(notice);
                    }
                }
                if settled == w.customer_count {
                    out.push(EventKind::WaveCompleted {
                        wave: w.tier.clone(),
                    });
                    if wi == 0 {
                        pre_deploy_notices(s, now, out);
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
                    if let Some(win) = window_of(s, wi, offset) {
                        if let Some(held) = window_wait(c, win, now) {
                            out.extend(held);
                            continue;
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
                            let notice = Draft::new(
                                NoticeKind::WaveStarting,
                                Some(w.tier.clone()),
                                format!(
                                    "{} is being deployed to the {} tier now",
                                    s.plan.version, w.tier
                                ),
                            )
                            .customers(wave_customer_ids(s, wi))
                            .queue(s, out);
                            out.push(notice);
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
                        if !s.approval_noticed.contains(&w.tier) && !s.emergency {
                            let notice = approval_needed(s, wi, &missing, now);
                            let notice = notice.queue(s, out);
                            out.push(notice);
                        }
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
    if all_done && !s.rolling_back_all && out.is_empty() && !s.held_by_trigger() {
        let monitoring_until = policy.monitoring.period.after(now);
        out.push(EventKind::RolloutCompleted {
            monitoring_until,
            rollback_window_until: policy.rollback_window.after(now),
        });
        let healthy: Vec<crate::domain::CustomerId> = s
            .customers
            .iter()
            .filter(|c| c.status == CustomerStatus::Healthy)
            .map(|c| c.id.clone())
            .collect();
        let message = format!(
            "{} ({}) reached {} of {} customers; monitoring until {}",
            s.plan.version,
            s.plan.release_type,
            healthy.len(),
            s.customers.len(),
            monitoring_until.format("%Y-%m-%d %H:%M UTC")
        );
        let notice = Draft::new(NoticeKind::ReleaseCompleted, None, message).queue(s, out);
        out.push(notice);
    }
}

/// Customers a post-deploy notice of this wave already listed.
fn told_post_deploy(s: &ReleaseState, tier: &TierName) -> Vec<crate::domain::CustomerId> {
    s.outbox
        .notices
        .iter()
        .filter(|n| n.kind == NoticeKind::PostDeploy && n.wave.as_ref() == Some(tier))
        .flat_map(|n| n.customers.iter().cloned())
        .collect()
}

/// Ids of a wave's customers, in plan order.
fn wave_customer_ids(s: &ReleaseState, wave: usize) -> Vec<crate::domain::CustomerId> {
    s.wave_customers(wave)
        .iter()
        .map(|c| c.id.clone())
        .collect()
}

/// Names for a notice's one-line message: all of them up to a handful, then a count.
fn customer_names(s: &ReleaseState, ids: &[crate::domain::CustomerId]) -> String {
    const SHOWN: usize = 5;
    let names: Vec<&str> = ids
        .iter()
        .take(SHOWN)
        .map(|id| s.customer(id).map_or(id.as_str(), |c| c.name.as_str()))
        .collect();
    if ids.len() > SHOWN {
        format!("{} and {} more", names.join(", "), ids.len() - SHOWN)
    } else {
        names.join(", ")
    }
}

/// A wave waits for signatures: who must sign, and the command that signs.
fn approval_needed(s: &ReleaseState, wi: usize, missing: &[Role], now: DateTime<Utc>) -> Draft {
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

/// When the demo wave completes, each later wave with customers told before their
/// deploy gets one notice listing them, with the wave's earliest start (each
/// customer's own, in its window's time zone, is worked out from the plan when the
/// notice is written).
fn pre_deploy_notices(s: &ReleaseState, now: DateTime<Utc>, out: &mut Vec<EventKind>) {
    // The demo wave completes in this round, now: its completion is the anchor.
    let anchor = now;
    for (wi, plan) in s.plan.waves.iter().enumerate().skip(1) {
        let delay = s.plan.effective_delay(wi, s.emergency);
        let told: Vec<crate::domain::CustomerId> = plan
            .customers
            .iter()
            .filter(|c| c.notify.timing == NotifyTiming::PreDeploy)
            .map(|c| c.id.clone())
            .collect();
        if told.is_empty() {
            continue;
        }
        let names = customer_names(s, &told);
        let draft = Draft::new(
            NoticeKind::PreDeploy,
            Some(plan.tier.clone()),
            format!(
                "{} ({}) will be deployed to the {} tier no earlier than {} from now: {}",
                s.plan.version, s.plan.release_type, plan.tier, delay, names
            ),
        )
        .customers(told)
        .eta(anchor + delay.to_delta());
        let notice = draft.queue(s, out);
        out.push(notice);
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
    if let Command::RetryNotices = command {
        return notices::requeue(s, actor);
    }
    // Follow-up items (the rollback checklist after a rollback) stay tickable.
    if s.phase.is_final()
        && !rollback_after_completion
        && !super::checklists::allowed_after_end(s, command)
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
        Command::UntickItem {
            checklist,
            item,
            reason,
        } => super::checklists::untick(s, actor, checklist.as_deref(), item, reason),
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

fn approve(
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
    let mut rolled: Vec<crate::domain::CustomerId> = Vec::new();
    for &i in &touched {
        let c = &s.customers[i];
        out.push(EventKind::RollbackStarted {
            customer: c.id.clone(),
            to: c.from_version.clone(),
        });
        rolled.push(c.id.clone());
    }
    let wave = match &scope {
        RollbackScope::Customer(id) => s.customer(id).map(|c| s.waves[c.wave].tier.clone()),
        RollbackScope::Wave(t) => Some(t.clone()),
        RollbackScope::All => None,
    };
    let notice = Draft::new(
        NoticeKind::Rollback,
        wave,
        format!("rolling back {scope} from {}: {reason}", s.plan.version),
    )
    .customers(rolled)
    .queue(s, &out);
    out.push(notice);
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
    mut evidence: Evidence,
    now: DateTime<Utc>,
) -> Vec<EventKind> {
    if evidence.source.is_none() {
        evidence.source = planned_source_evidence(s, customer, &evidence);
    }
    let summary = evidence.summary.clone();
    let mut out = vec![EventKind::TriggerFired {
        customer: customer.clone(),
        trigger,
        evidence,
    }];
    let wave = s.customer(customer).map(|c| s.waves[c.wave].tier.clone());
    let name = s
        .customer(customer)
        .map_or(customer.as_str(), |c| c.name.as_str());
    let window_open = s.rollback_window_until.is_none_or(|closed| now <= closed);
    let notice = Draft::new(
        NoticeKind::TriggerFired,
        wave,
        if window_open {
            format!("{} on {name}: {summary}", trigger.describe())
        } else {
            format!(
                "{} on {name} after the rollback window closed; not rolled back automatically: {summary}",
                trigger.describe()
            )
        },
    )
    .about(customer.clone())
    .queue(s, &out);
    out.push(notice);
    if !window_open {
        return out;
    }
    // The evidence names the rule with its figures first ("error rate 12.0% >
    // limit 5.4% …"): that is the reason, read whole in banners and logs.
    let reason = summary.clone();
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
        EffectResult::DeployRetrying {
            customer,
            attempt,
            reason,
        } => {
            // Only for the deploy or rollback still in flight, and only forward: a
            // late report of an older attempt changes nothing.
            match s.customer(customer) {
                Some(c)
                    if matches!(
                        c.status,
                        CustomerStatus::Deploying | CustomerStatus::RollingBack
                    ) && *attempt > c.attempt =>
                {
                    vec![EventKind::DeployRetried {
                        customer: customer.clone(),
                        attempt: *attempt,
                        reason: reason.clone(),
                    }]
                }
                _ => Vec::new(),
            }
        }
        EffectResult::Probed { customer, outcome } => probed(s, customer, outcome, now),
        EffectResult::NoticeDelivered { .. } => notices::delivered(s, result),
    }
}

/// The source part of a trigger's evidence, from the customer's health source as
/// planned (journaled): its queries expanded for the customer, the values of the
/// evidence's samples, and the instant baselines are read at (the release's start).
fn planned_source_evidence(
    s: &ReleaseState,
    customer: &crate::domain::CustomerId,
    evidence: &Evidence,
) -> Option<triggers::SourceEvidence> {
    let (tier, planned) = s.plan.waves.iter().find_map(|w| {
        w.customers
            .iter()
            .find(|c| &c.id == customer)
            .map(|c| (w.tier.as_str(), c))
    })?;
    let subject = crate::domain::promql::Subject {
        id: customer.as_str(),
        name: &planned.name,
        tier,
    };
    let baseline_at = evidence.baseline.map(|_| s.started_at);
    triggers::source_evidence(
        planned.health.as_ref()?,
        &subject,
        &evidence.samples,
        baseline_at,
    )
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
    // Figures that are not data (-1, NaN, 150 %) never reach a baseline or a trigger.
    let judged = outcome.clone().judged();
    let outcome = &judged;
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
            // An inconclusive check never counts; a customer a trigger holds has
            // had its say until someone resumes (no trigger fires again on it).
            if matches!(outcome, ProbeOutcome::Inconclusive { .. }) || s.trigger_holds(c) {
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
