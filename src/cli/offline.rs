//! Commands against a release no process is running (`approve`, `pause`, `resume`,
//! `rollback`, `tick`, …): take the lock, decide, append to the journal. Effects
//! (a rollback's deploys) are carried out when the release runs again. A release
//! that a process is running is reached through its socket instead (`attach.rs`).

use chrono::Utc;

use super::context::{Context, out};
use super::error::{CliError, CliResult, EXIT_OK};
use super::read::label_for;
use crate::domain::{CustomerId, TierName};
use crate::engine::{self, Command, Event, Input, ReleaseState, RollbackScope};
use crate::runtime::lock::LockError;
use crate::runtime::store::{self, OpenMode, StoreError};

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
    let opened = store::open(&dir, &label, OpenMode::Existing, Utc::now()).map_err(|e| match e {
        StoreError::Lock(LockError::Held { holder, .. }) => CliError::refused(format!(
            "release {label} is being run by {holder}, which started while this command was deciding; run the command again: it goes through that process's socket"
        )),
        StoreError::NoSuchRelease(_) => {
            CliError::error(format!("no release {label} in {}", dir.root.display()))
        }
        other => CliError::error(other.to_string()),
    })?;
    let mut state = opened
        .fold()
        .map_err(|e| CliError::error(e.to_string()))?
        .ok_or_else(|| CliError::error(format!("release {label} has an empty journal")))?;
    let store::OpenedRelease {
        mut journal,
        takeover,
        lock: _lock,
        ..
    } = opened;
    let now = Utc::now().max(state.last_event_at);
    let mut new_events: Vec<Event> = Vec::new();
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
        .map_err(|r| CliError::refused(r.to_string()))?;
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
    // The takeover (already journaled by the store) comes first, as it happened.
    for e in takeover.iter().chain(&new_events) {
        if ctx.global.json {
            text += &format!("{}\n", serde_json::to_string(e).unwrap_or_default());
        } else {
            text += &format!("{}\n", engine::event::describe(e));
        }
    }
    if effects > 0 && !ctx.global.json {
        text += &format!(
            "recorded; {effects} action(s) run when the release runs again: `shipdeck deploy --version {} --type {}`\n",
            state.plan.version, state.plan.release_type
        );
    }
    out(w, &text)?;
    Ok(EXIT_OK)
}

pub fn tier(s: &str) -> TierName {
    TierName::new(s.trim().to_ascii_lowercase())
}
