//! The tick: start what is due. Validation checks, waves whose gate opened,
//! customers within the wave's parallelism (and their windows), soaks that ended,
//! completion, and the notices that go with each.

use chrono::{DateTime, Utc};

use crate::domain::{Approval, GatedPhase, NotifyTiming, TierName};
use crate::engine::event::{EventKind, NoticeKind, PauseCause, SYSTEM};
use crate::engine::notices::Draft;
use crate::engine::state::{CheckStatus, CustomerStatus, Phase, ReleaseState, WaveStatus};
use crate::engine::triggers;

use super::gates::{Gate, approval_needed, gate, gate_timeout_notice};
use super::windows::{window_of, window_wait};
use super::{customer_names, wave_customer_ids};

/// Start what is due. Called on every tick and after every other decision, until it
/// returns nothing.
pub(super) fn advance(s: &ReleaseState, now: DateTime<Utc>) -> Vec<EventKind> {
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
                            // Held by an inconclusive last check, by no check at all
                            // since its deploy, or by a trigger that fired on it
                            // while the release is paused.
                            let held = c.awaits_a_conclusive_check() || s.trigger_holds(c);
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
