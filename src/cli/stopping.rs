//! Leaving a running release: the runtime stops taking commands and starting
//! anything, and waits for the deploys and rollbacks in flight to finish, so a
//! deploy is never killed halfway. This says what it waits for; a second Ctrl-C
//! leaves them running (journaled as in flight: running the same command again
//! re-issues them with the same idempotency key).

use std::sync::Arc;

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::broadcast;

use super::context::out;
use super::error::CliError;
use crate::engine::{self, CustomerStatus, Event, ReleaseState};
use crate::runtime::driver::{Committed, ReleaseHandle, RuntimeError};

/// The SIGINT listener a command holds for its whole run, so that no Ctrl-C is
/// lost between two polls.
pub fn interrupts() -> Result<Signal, CliError> {
    signal(SignalKind::interrupt())
        .map_err(|e| CliError::error(format!("cannot listen for Ctrl-C: {e}")))
}

/// What is in flight (`engine::query::deploys_in_flight`), one line per customer:
/// `ACME Corp (deploying v1.0.2)`.
pub fn in_flight(state: &ReleaseState) -> Vec<String> {
    engine::query::deploys_in_flight(state)
        .into_iter()
        .map(|c| match c.status {
            CustomerStatus::RollingBack => format!(
                "{} (rolling back to {}{})",
                c.name,
                c.from_version,
                attempt(c.attempt)
            ),
            _ => format!(
                "{} (deploying {}{})",
                c.name,
                state.plan.version,
                attempt(c.attempt)
            ),
        })
        .collect()
}

fn attempt(n: u32) -> String {
    if n > 1 {
        format!(", attempt {n}")
    } else {
        String::new()
    }
}

/// Stops the release behind `handle`, waiting for deploys in flight and printing
/// their events as they finish (`events`, when given); a Ctrl-C meanwhile leaves
/// them running. `leaving`: the signal (SIGTERM, SIGHUP) that made the caller leave
/// them running already (it cancelled `handle.detach`): nothing is waited for, and
/// that is what it says. With `json`, what it says for people goes to stderr, so
/// stdout stays JSON lines.
// The stop's inputs, one per argument: a struct would only move the list.
#[allow(clippy::too_many_arguments)]
pub async fn stop(
    handle: ReleaseHandle,
    mut events: Option<&mut broadcast::Receiver<Committed>>,
    print: &mut dyn FnMut(&mut dyn std::io::Write, &Event) -> Result<(), CliError>,
    w: &mut dyn std::io::Write,
    json: bool,
    interrupts: &mut Signal,
    leaving: Option<&str>,
) -> Result<Arc<ReleaseState>, RuntimeError> {
    let say = |w: &mut dyn std::io::Write, text: &str| {
        if json {
            eprint!("{text}");
        } else {
            let _ = out(w, text);
        }
    };
    let waiting = in_flight(&handle.snapshot().state);
    let deploys = |n: usize| {
        if n == 1 {
            "1 deploy".to_string()
        } else {
            format!("{n} deploys")
        }
    };
    if let (Some(signal), false) = (leaving, waiting.is_empty()) {
        say(
            w,
            &format!(
                "{signal}: leaving {} in flight running: {}\n  {} journaled as in flight; the next run of this release re-issues {} with the same idempotency key\n",
                deploys(waiting.len()),
                waiting.join(", "),
                if waiting.len() == 1 {
                    "it stays"
                } else {
                    "they stay"
                },
                if waiting.len() == 1 { "it" } else { "them" },
            ),
        );
    } else if !waiting.is_empty() {
        say(
            w,
            &format!(
                "waiting for {} in flight to finish (a deploy is never stopped halfway): {}\n  press Ctrl-C again to leave {} running; {} journaled as in flight and resumed by running the same command again\n",
                deploys(waiting.len()),
                waiting.join(", "),
                if waiting.len() == 1 { "it" } else { "them" },
                if waiting.len() == 1 {
                    "it stays"
                } else {
                    "they stay"
                },
            ),
        );
    }
    let detach = handle.detach.clone();
    let stopping = handle.stop();
    tokio::pin!(stopping);
    // Listened to even when the state shows nothing in flight: a deploy whose
    // customer moved on (rolled back meanwhile) may still be running.
    let mut asked = leaving.is_some();
    loop {
        tokio::select! {
            biased;
            done = &mut stopping => return done,
            _ = interrupts.recv(), if !asked => {
                asked = true;
                detach.cancel();
                say(w, "leaving the deploys in flight running; they stay journaled as in flight\n");
            }
            e = async {
                match events.as_deref_mut() {
                    Some(rx) => rx.recv().await.ok(),
                    None => std::future::pending().await,
                }
            } => {
                match e {
                    Some(e) => { let _ = print(w, &e.event); }
                    None => events = None,
                }
            }
        }
    }
}
