//! Results of effects: checks, deploys and rollbacks that finished, retries, probe
//! outcomes (baselines and samples), and the triggers those samples fire.

use chrono::{DateTime, Utc};

use crate::domain::{ProbeOutcome, TriggerAction};
use crate::engine::event::{EventKind, NoticeKind, PauseCause, RollbackScope, SYSTEM};
use crate::engine::input::EffectResult;
use crate::engine::notices::{self, Draft};
use crate::engine::state::{CheckStatus, CustomerStatus, Phase, ReleaseState};
use crate::engine::triggers::{self, Evidence, TriggerKind};

use super::rollback::rollback;

pub(super) fn fire_trigger(
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

pub(super) fn result_events(
    s: &ReleaseState,
    result: &EffectResult,
    now: DateTime<Utc>,
) -> Vec<EventKind> {
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
