//! Effects: what the runtime must do in the world. Each follows from one event, so
//! the journal says which effects were started; those without a result event yet
//! are re-issued on resume (`in_flight`).

use serde::{Deserialize, Serialize};

use super::event::{Event, EventKind, NoticeKind};
use super::state::{CustomerStatus, ReleaseState};
use chrono::{DateTime, Utc};

use crate::domain::{CheckCommand, CustomerId, Role, TierName, Version};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    RunCheck {
        item: String,
        command: CheckCommand,
    },
    Deploy {
        customer: CustomerId,
        version: Version,
    },
    Rollback {
        customer: CustomerId,
        to: Version,
    },
    /// Deliver a queued notice to each of `to` (see `engine::notices`).
    Notify {
        kind: NoticeKind,
        wave: Option<TierName>,
        customer: Option<CustomerId>,
        message: String,
        key: String,
        customers: Vec<CustomerId>,
        eta: Option<DateTime<Utc>>,
        roles: Vec<Role>,
        to: Vec<String>,
    },
}

/// The effect an event starts, given the state it was decided on.
pub fn effect_of(state_before: &ReleaseState, event: &Event) -> Option<Effect> {
    match &event.event {
        EventKind::CheckStarted { item } => {
            state_before
                .check_command(item)
                .map(|command| Effect::RunCheck {
                    item: item.clone(),
                    command: command.clone(),
                })
        }
        EventKind::DeployStarted { customer, version } => Some(Effect::Deploy {
            customer: customer.clone(),
            version: version.clone(),
        }),
        EventKind::RollbackStarted { customer, to } => Some(Effect::Rollback {
            customer: customer.clone(),
            to: to.clone(),
        }),
        EventKind::Notified {
            kind,
            wave,
            customer,
            message,
            key,
            customers,
            eta,
            roles,
            to,
        } if !to.is_empty() => Some(Effect::Notify {
            kind: *kind,
            wave: wave.clone(),
            customer: customer.clone(),
            message: message.clone(),
            key: key.clone(),
            customers: customers.clone(),
            eta: *eta,
            roles: roles.clone(),
            to: to.clone(),
        }),
        EventKind::NoticesRequeued { deliveries, .. } => {
            super::notices::requeued_effect(state_before, deliveries)
        }
        _ => None,
    }
}

/// The release is over and nothing it started is still running: nothing more will
/// happen to it, so the process running it may stop.
pub fn is_settled(state: &ReleaseState) -> bool {
    state.phase.is_final() && in_flight(state).is_empty()
}

/// Effects started but not finished: what a resumed runtime must carry out again.
/// Deployers and rollbacks are asked to reach a version, so repeating is safe.
/// Notices are not here: the release never waits for them (see
/// `notices::undelivered`, which the runtime sends again on its own).
pub fn in_flight(state: &ReleaseState) -> Vec<Effect> {
    let mut out = Vec::new();
    for item in state.running_checks() {
        if let Some(command) = state.check_command(item) {
            out.push(Effect::RunCheck {
                item: item.to_string(),
                command: command.clone(),
            });
        }
    }
    for c in &state.customers {
        match c.status {
            CustomerStatus::Deploying => out.push(Effect::Deploy {
                customer: c.id.clone(),
                version: state.plan.version.clone(),
            }),
            CustomerStatus::RollingBack => out.push(Effect::Rollback {
                customer: c.id.clone(),
                to: c.from_version.clone(),
            }),
            _ => {}
        }
    }
    out
}
