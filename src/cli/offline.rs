//! Commands against a release no process is running (`approve`, `pause`, `resume`,
//! `rollback`, `tick`, …): take the lock, decide, append to the journal. Effects
//! (a rollback's deploys) are carried out when the release runs again. A release
//! that a process is running is reached through its socket instead (`attach.rs`).

use chrono::Utc;

use super::context::{Context, out};
use super::error::{CliError, CliResult, EXIT_OK};
use crate::domain::{CustomerId, TierName};
use crate::engine::{self, Command, Event, Input, Rejected, ReleaseState, RollbackScope};
use std::time::Duration;

use crate::runtime::lock::{Acquired, HolderKind, LockError, ReleaseLock};
use crate::runtime::state_dir::StateDir;
use crate::runtime::store::{self, OpenMode};

/// Resolves `--customers` for a rollback against the release's own customers.
pub fn rollback_scope(state: &ReleaseState, key: &str) -> Result<RollbackScope, CliError> {
    let key = key.trim();
    if key.eq_ignore_ascii_case("all") {
        return Ok(RollbackScope::All);
    }
    if let Some(w) = state
        .waves
        .iter()
        .find(|w| w.tier.as_str().eq_ignore_ascii_case(key))
    {
        return Ok(RollbackScope::Wave(w.tier.clone()));
    }
    state
        .customers
        .iter()
        .find(|c| c.id.as_str().eq_ignore_ascii_case(key) || c.name.eq_ignore_ascii_case(key))
        .map(|c| RollbackScope::Customer(c.id.clone()))
        .ok_or_else(|| {
            CliError::error(format!(
                "`{key}` is neither `all`, a wave of this release, nor one of its customers"
            ))
        })
}

pub fn customer_id(state: &ReleaseState, key: &str) -> Result<CustomerId, CliError> {
    state
        .customers
        .iter()
        .find(|c| c.id.as_str().eq_ignore_ascii_case(key) || c.name.eq_ignore_ascii_case(key))
        .map(|c| c.id.clone())
        .ok_or_else(|| CliError::error(format!("no customer `{key}` in this release")))
}

/// What the command means once the release's state is known.
pub type Build<'a> = Box<dyn FnOnce(&ReleaseState) -> Result<Vec<Command>, CliError> + 'a>;

/// Decides `build`'s commands on release `label` in `dir` with no process running
/// it: journaled under the release's lock, their effects left for its next run.
pub fn run(
    ctx: &Context,
    dir: &StateDir,
    label: &str,
    build: Build<'_>,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let label = label.to_string();
    let actor = ctx.operator();
    let opened = store::open_with(
        dir,
        &label,
        &store::OpenOptions {
            mode: OpenMode::Existing,
            accept_tampered: ctx.global.accept_tampered,
            actor: &actor,
            now: Utc::now(),
        },
        |path| {
            acquire_waiting(path, &label, COMMAND_WAIT, || {
                std::thread::sleep(COMMAND_RETRY)
            })
        },
    )?;
    let mut state = opened
        .fold()
        .map_err(|e| CliError::error(e.to_string()))?
        .ok_or_else(|| CliError::error(format!("release {label} has an empty journal")))?;
    let store::OpenedRelease {
        mut journal,
        first,
        lock: _lock,
        ..
    } = opened;
    let now = Utc::now().max(state.last_event_at);
    let mut new_events: Vec<Event> = Vec::new();
    let mut effects = 0;
    for command in build(&state)? {
        // Decide only: what becomes due follows when the release runs again.
        let d = engine::decide(
            &state,
            &Input::Command {
                actor: actor.clone(),
                command,
            },
            now,
        )
        .map_err(|r| refusal(ctx, dir, &state, &actor, r))?;
        for e in &d.events {
            state.apply(e);
        }
        effects += d.effects.len();
        new_events.extend(d.events);
    }
    if !new_events.is_empty() {
        journal
            .append_batch(&new_events)
            .map_err(|e| CliError::error(e.to_string()))?;
    }
    let mut text = String::new();
    // What the store journaled first (a takeover) comes first, as it happened.
    for e in first.iter().chain(&new_events) {
        if ctx.global.json {
            text += &format!("{}\n", serde_json::to_string(e).unwrap_or_default());
        } else {
            text += &format!("{}\n", engine::event::describe(e));
        }
    }
    if effects > 0 && !ctx.global.json {
        text += &format!(
            "recorded; {effects} action(s) run when the release runs again: `{}`\n",
            ctx.command_in(
                dir,
                &format!(
                    "deploy --version {} --type {}",
                    state.plan.version, state.plan.release_type
                ),
            )
        );
    }
    out(w, &text)?;
    Ok(EXIT_OK)
}

/// How long an offline command waits for another short command that holds the
/// release's lock (it appends one decision and lets go), and how often it looks.
pub const COMMAND_WAIT: Duration = Duration::from_secs(2);
pub const COMMAND_RETRY: Duration = Duration::from_millis(20);

/// Takes the release lock for an offline command. A runner holding it (deploy, a
/// cockpit) is refused at once, saying where to act instead; another short
/// command is waited for, calling `pause` between tries, for at most `budget`.
pub fn acquire_waiting(
    path: &std::path::Path,
    label: &str,
    budget: Duration,
    mut pause: impl FnMut(),
) -> Result<Acquired, CliError> {
    let tries = (budget.as_millis() / COMMAND_RETRY.as_millis().max(1)).max(1);
    let mut waited = 0;
    loop {
        match ReleaseLock::acquire(path) {
            Ok(acquired) => return Ok(acquired),
            Err(LockError::Held { holder, .. }) if holder.kind == HolderKind::Command => {
                if waited >= tries {
                    return Err(CliError::refused(format!(
                        "release {label} is locked by {holder}, a command that has not finished after {}s; try again in a moment",
                        budget.as_secs()
                    )));
                }
                waited += 1;
                pause();
            }
            Err(LockError::Held { holder, .. }) => {
                return Err(CliError::refused(format!(
                    "release {label} is being run by {holder}, which started while this command was deciding; run the command again: it goes through that process's socket"
                )));
            }
            Err(other) => return Err(CliError::error(other.to_string())),
        }
    }
}

/// The engine's refusal as the CLI reports it: exit 1, except an approval that
/// names no wave while several gates wait, which is an incomplete command line
/// (exit 2) and lists each gate with the command that signs it.
fn refusal(
    ctx: &Context,
    dir: &StateDir,
    state: &ReleaseState,
    actor: &str,
    r: Rejected,
) -> CliError {
    match &r {
        Rejected::WhichGate(pending) => {
            let mut text = format!(
                "{} gates wait for signatures; say which one with --wave:",
                pending.len()
            );
            for (wave, roles) in pending {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                text += &format!(
                    "\n  wave {wave} needs {} — `{}`",
                    names.join(" + "),
                    ctx.command_in(
                        dir,
                        &format!(
                            "approve --version {} --wave {wave} --as {}",
                            state.plan.version,
                            super::context::shell_word(actor)
                        ),
                    )
                );
            }
            CliError::error(text)
        }
        _ => CliError::refused(r.to_string()),
    }
}

pub fn tier(s: &str) -> TierName {
    TierName::new(s.trim().to_ascii_lowercase())
}
