//! Commands against a release no process is running (`approve`, `pause`, `resume`,
//! `rollback`, `tick`, …): take the lock, decide, append to the journal. Effects
//! (a rollback's deploys) are carried out when the release runs again; a release
//! that a process is running refuses, saying which process.

use chrono::Utc;

use super::context::{Context, out};
use super::error::{CliError, CliResult, EXIT_OK};
use super::read::label_for;
use crate::domain::{CustomerId, TierName};
use crate::engine::{self, Command, Event, Input, Rejected, ReleaseState, RollbackScope};
use crate::runtime::journal::JournalWriter;
use crate::runtime::lock::{LockError, ReleaseLock};

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

pub fn run(
    ctx: &Context,
    version: Option<&str>,
    build: Build<'_>,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let dir = ctx.state_dir()?;
    let label = label_for(&dir, version)?;
    let journal_path = dir.journal_path(&label);
    if !journal_path.exists() {
        return Err(CliError::error(format!(
            "no release {label} in {}",
            dir.root.display()
        )));
    }
    let acquired = ReleaseLock::acquire(&dir.lock_path(&label)).map_err(|e| match e {
        LockError::Held { holder, .. } => CliError::refused(format!(
            "release {label} is being run by {holder}; act in its cockpit there (driving a running release from another terminal comes later)"
        )),
        other => CliError::error(other.to_string()),
    })?;
    let (mut journal, replay) =
        JournalWriter::<Event>::open(&journal_path).map_err(|e| CliError::error(e.to_string()))?;
    let events: Vec<Event> = replay.into_events().collect();
    let mut state = ReleaseState::fold(&events).map_err(|e| CliError::error(e.to_string()))?;
    let now = Utc::now().max(state.last_event_at);
    let mut new_events = Vec::new();
    if let Some(h) = acquired.took_over_from {
        let e = h.taken_over(now);
        state.apply(&e);
        new_events.push(e);
    }
    let actor = ctx.operator();
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
        .map_err(|r| refusal(ctx, &state, &actor, r))?;
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
    for e in &new_events {
        if ctx.global.json {
            text += &format!("{}\n", serde_json::to_string(e).unwrap_or_default());
        } else {
            text += &format!("{}\n", engine::event::describe(e));
        }
    }
    if effects > 0 && !ctx.global.json {
        text += &format!(
            "recorded; {effects} action(s) run when the release runs again: `{}`\n",
            ctx.command_line(&format!(
                "deploy --version {} --type {}",
                state.plan.version, state.plan.release_type
            ))
        );
    }
    out(w, &text)?;
    Ok(EXIT_OK)
}

/// The engine's refusal as the CLI reports it: exit 1, except an approval that
/// names no wave while several gates wait, which is an incomplete command line
/// (exit 2) and lists each gate with the command that signs it.
fn refusal(ctx: &Context, state: &ReleaseState, actor: &str, r: Rejected) -> CliError {
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
                    ctx.command_line(&format!(
                        "approve --version {} --wave {wave} --as {}",
                        state.plan.version,
                        super::context::shell_word(actor)
                    ))
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
