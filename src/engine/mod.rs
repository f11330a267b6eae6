//! The rollout engine: a pure state machine.
//!
//! `decide(&state, input, now)` holds every rule and returns events and effects;
//! `ReleaseState::apply` folds one event into state and holds none. Nothing here
//! does I/O, reads a clock or knows about tokio: the runtime feeds inputs with the
//! time and carries out the effects; tests drive it on a manual clock.

pub mod awaiting;
pub mod checklists;
pub mod decide;
pub mod effect;
pub mod emergency;
pub mod event;
pub mod input;
pub mod notices;
pub mod plan;
pub mod query;
pub mod rejected;
pub mod state;
pub mod testkit;
pub mod triggers;

use chrono::{DateTime, Utc};

pub use awaiting::{Awaited, awaited, awaiting, waiting_on_people};
pub use decide::{Decision, Gate, decide, gate};
pub use effect::{Effect, in_flight, is_settled};
pub use event::{Event, EventKind, NoticeKind, PauseCause, RollbackScope};
pub use input::{Command, EffectResult, Input};
pub use notices::{DeliveryStatus, Outbox, undelivered};
pub use plan::{ReleasePlan, Selection, VersionOverride};
pub use rejected::Rejected;
pub use state::{CustomerStatus, Phase, ReleaseState, WaveStatus};

/// Upper bound on follow-up rounds in one step; each round is real progress
/// (a phase, a wave, a customer batch), so this is never reached in practice.
const MAX_ROUNDS: usize = 64;

/// The first event of a release.
pub fn plan_event(plan: ReleasePlan, actor: &str, now: DateTime<Utc>) -> Event {
    Event {
        at: now,
        event: EventKind::ReleasePlanned {
            plan: Box::new(plan),
            actor: actor.to_string(),
        },
    }
}

/// Decides on `input`, applies the events, then lets the engine start whatever
/// became due, until nothing more follows. Returns every event and effect, in order.
/// The runtime journals the events before carrying out the effects.
pub fn step(
    state: &mut ReleaseState,
    input: &Input,
    now: DateTime<Utc>,
) -> Result<Decision, Rejected> {
    let mut all = decide(state, input, now)?;
    for e in &all.events {
        state.apply(e);
    }
    for _ in 0..MAX_ROUNDS {
        let next = decide(state, &Input::Tick, now)?;
        if next.events.is_empty() {
            break;
        }
        for e in &next.events {
            state.apply(e);
        }
        all.events.extend(next.events);
        all.effects.extend(next.effects);
    }
    Ok(all)
}

/// The next instant after `now` (the time of the last decision) at which time alone
/// changes something; the runtime sleeps until then, or until a command or result
/// arrives. None: only people or results can move the release.
pub fn next_deadline(state: &ReleaseState, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    deadline(state, now, true)
}

/// Like [`next_deadline`], without deadlines that only send a notice (a gate's
/// approval timeout): the next instant at which time alone moves the release on.
pub fn next_progress(state: &ReleaseState, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    deadline(state, now, false)
}

fn deadline(state: &ReleaseState, now: DateTime<Utc>, notices: bool) -> Option<DateTime<Utc>> {
    let mut next: Option<DateTime<Utc>> = None;
    let mut consider = |t: Option<DateTime<Utc>>| {
        if let Some(t) = t.filter(|t| *t > now) {
            next = Some(next.map_or(t, |n| n.min(t)));
        }
    };
    match state.phase {
        Phase::Rollout => {
            for (wi, w) in state.waves.iter().enumerate() {
                match w.status {
                    WaveStatus::Waiting if !state.is_paused() && !w.wait_skipped => {
                        // Only a wave held by the clock alone wakes anyone; one held
                        // by people or by the wave before it moves on their events.
                        let g = gate(state, wi, now);
                        if matches!(g, Gate::Time { .. }) {
                            consider(state.due_at(wi));
                        }
                        // The approval timeout only notifies, and only about a
                        // wave whose turn has come (not one waiting behind another).
                        if let (true, Gate::Approval { .. }, Some(timeout), Some(due)) = (
                            notices,
                            &g,
                            state.plan.policy.approvals.timeout,
                            state.due_at(wi),
                        ) {
                            if !w.gate_notice_sent {
                                consider(Some(timeout.after(due)));
                            }
                        }
                    }
                    WaveStatus::Running => {
                        for c in state.wave_customers(wi) {
                            match c.status {
                                CustomerStatus::Verifying => consider(c.soak_until),
                                // A missed window waits for a person, not the clock.
                                CustomerStatus::WaitingWindow
                                    if !state.is_paused() && c.window_missed.is_none() =>
                                {
                                    consider(c.window_opens_at)
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        // A release a trigger holds waits for people, not for the clock.
        Phase::Monitoring if !state.held_by_trigger() => consider(state.monitoring_until),
        _ => {}
    }
    next
}
