//! `decide`: every rule of a rollout. Given the state, one input and the time, it
//! returns the events that follow (or a refusal) and the effects those events start.
//! It reads no clock and does no I/O: time is the `now` argument.
//!
//! The rules live in one module per concern; `decide` only dispatches the input:
//! - [`rollout`]: the tick (what is due starts), with [`windows`] for maintenance windows;
//! - [`gates`]: why a wave waits, signatures (`approve`), re-attaching;
//! - [`commands`]: the other operator commands, with [`rollback`];
//! - [`results`]: results of effects, health samples and the triggers they fire.

mod commands;
mod gates;
mod results;
mod rollback;
mod rollout;
mod windows;

use chrono::{DateTime, Utc};

use super::effect::{Effect, effect_of};
use super::event::{Event, EventKind};
use super::input::Input;
use super::rejected::Rejected;
use super::state::ReleaseState;
use crate::domain::TierName;

pub use commands::{CAPTAIN_ROLE, emergency_allowed};
pub use gates::{Gate, gate, missing_roles, pending_gates};
pub use windows::{window_of, window_waiters};

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
        Input::Tick => rollout::advance(state, now),
        Input::Attached => gates::attached(state, now),
        Input::Command { actor, command } => commands::command_events(state, actor, command, now)?,
        Input::Result(result) => results::result_events(state, result, now),
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

pub(super) fn require_reason(reason: &str, what: &'static str) -> Result<(), Rejected> {
    if reason.trim().is_empty() {
        Err(Rejected::ReasonRequired(what))
    } else {
        Ok(())
    }
}

pub(super) fn wave_by_name(s: &ReleaseState, tier: &TierName) -> Result<usize, Rejected> {
    s.wave_index(tier)
        .ok_or_else(|| Rejected::UnknownWave(tier.clone()))
}

/// Ids of a wave's customers, in plan order.
pub(super) fn wave_customer_ids(s: &ReleaseState, wave: usize) -> Vec<crate::domain::CustomerId> {
    s.wave_customers(wave)
        .iter()
        .map(|c| c.id.clone())
        .collect()
}

/// Names for a notice's one-line message: all of them up to a handful, then a count.
pub(super) fn customer_names(s: &ReleaseState, ids: &[crate::domain::CustomerId]) -> String {
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
