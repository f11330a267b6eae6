//! The release history, read from the journals in the state dir: which versions
//! were released, how they ended, and every customer's deploys. The journals are
//! the truth; there is no second record to drift from them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::journal::JournalError;
use super::state_dir::StateDir;
use crate::domain::{CustomerId, ReleaseType, Version};
use crate::engine::{Event, EventKind, Phase, ReleaseState};

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseSummary {
    pub label: String,
    pub version: Version,
    pub release_type: ReleaseType,
    pub phase: Phase,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub customers: usize,
}

impl ReleaseSummary {
    /// Counts as released: customers got it and it was not rolled back or aborted.
    pub fn is_released(&self) -> bool {
        matches!(self.phase, Phase::Monitoring | Phase::Completed)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeployRecord {
    pub at: DateTime<Utc>,
    pub customer: CustomerId,
    pub release: Version,
    pub action: &'static str,
    pub ok: Option<bool>,
    pub detail: String,
}

/// Reads one release's journal (read-only; safe while another process writes it).
pub fn load_release(dir: &StateDir, label: &str) -> Result<(ReleaseState, Vec<Event>), String> {
    load_release_accepting(dir, label, false).map(|(s, e, _)| (s, e))
}

/// [`load_release`], reading a journal with a broken hash chain when
/// `accept_tampered` says so; returns the chain's report too.
pub fn load_release_accepting(
    dir: &StateDir,
    label: &str,
    accept_tampered: bool,
) -> Result<(ReleaseState, Vec<Event>, super::journal::ChainReport), String> {
    let path = dir.journal_path(label);
    let replay =
        super::release_journal::read(&path, accept_tampered).map_err(|e: JournalError| {
            if e.is_not_found() {
                format!("no release {label} in {}", dir.root.display())
            } else {
                e.to_string()
            }
        })?;
    let chain = replay.chain.clone();
    let events: Vec<Event> = replay.into_events().collect();
    let state = ReleaseState::fold(&events).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((state, events, chain))
}

/// A release's state, as a resume reads it: from its newest checkpoint and the
/// journal's tail after it when the checkpoint matches the journal, else from the
/// whole journal. For readers that need the state only (the release history, the
/// versions customers run), so that a long release is not replayed whole by every
/// command that starts.
pub fn load_state(dir: &StateDir, label: &str) -> Result<ReleaseState, String> {
    let path = dir.journal_path(label);
    if let Ok(Some((position, mut state))) =
        super::checkpoint::read(&super::checkpoint::path(dir, label))
    {
        match super::journal::read_after_with(
            &path,
            &position,
            super::journal::Accept::Recorded(&super::release_journal::accepted_lines),
        ) {
            Ok(tail) => {
                for e in tail.into_events() {
                    state.apply(&e);
                }
                return Ok(state);
            }
            Err(e) => tracing::debug!("checkpoint of {label} not used: {e}"),
        }
    }
    load_release(dir, label).map(|(s, _)| s)
}

pub fn summaries(dir: &StateDir) -> Vec<ReleaseSummary> {
    let labels = dir.list_releases().unwrap_or_default();
    let mut out = Vec::new();
    for label in labels {
        match load_state(dir, &label) {
            Ok(s) => out.push(ReleaseSummary {
                label,
                version: s.plan.version.clone(),
                release_type: s.plan.release_type,
                phase: s.phase,
                started_by: s.started_by.clone(),
                started_at: s.started_at,
                ended_at: s.ended_at,
                customers: s.customers.len(),
            }),
            Err(e) => tracing::warn!("skipping release {label}: {e}"),
        }
    }
    out
}

/// The newest version that reached customers and stayed.
pub fn last_released(dir: &StateDir) -> Option<Version> {
    summaries(dir)
        .into_iter()
        .filter(|s| s.is_released())
        .map(|s| s.version)
        .max()
}

/// The newest version ever started, whatever its outcome: the base the next
/// version is counted from. A rolled-back or aborted release used up its number
/// (its journal keeps it), so counting from the last *released* one would suggest
/// a version that can no longer be started.
pub fn newest_started(dir: &StateDir) -> Option<ReleaseSummary> {
    summaries(dir)
        .into_iter()
        .max_by(|a, b| a.version.cmp(&b.version))
}

/// The most recent release that has not ended, else the most recent one.
pub fn current_label(dir: &StateDir) -> Option<String> {
    let all = summaries(dir);
    all.iter()
        .filter(|s| !s.phase.is_final())
        .max_by_key(|s| s.started_at)
        .or_else(|| all.iter().max_by_key(|s| s.started_at))
        .map(|s| s.label.clone())
}

/// The version each customer runs as far as the journals know: what the last
/// release that touched it (deployed to it, or rolled it back) left it on. A
/// customer no release touched is absent: its version is the configuration's.
pub fn current_versions(dir: &StateDir) -> BTreeMap<CustomerId, Version> {
    let mut releases: Vec<ReleaseState> = dir
        .list_releases()
        .unwrap_or_default()
        .iter()
        .filter_map(|label| load_state(dir, label).ok())
        .collect();
    releases.sort_by_key(|s| s.started_at);
    let mut out = BTreeMap::new();
    for s in releases {
        for c in s.customers.iter().filter(|c| c.deploys_started > 0) {
            out.insert(c.id.clone(), c.version.clone());
        }
    }
    out
}

pub fn deploy_records(dir: &StateDir) -> Vec<DeployRecord> {
    let mut out = Vec::new();
    for label in dir.list_releases().unwrap_or_default() {
        let Ok((state, events)) = load_release(dir, &label) else {
            continue;
        };
        let release = state.plan.version.clone();
        for e in events {
            let rec = |customer: &CustomerId, action, ok, detail: String| DeployRecord {
                at: e.at,
                customer: customer.clone(),
                release: release.clone(),
                action,
                ok,
                detail,
            };
            match &e.event {
                EventKind::DeployStarted { customer, version } => {
                    out.push(rec(customer, "deploy started", None, version.to_string()))
                }
                EventKind::DeployFinished {
                    customer,
                    ok,
                    detail,
                } => out.push(rec(customer, "deploy finished", Some(*ok), detail.clone())),
                EventKind::RollbackStarted { customer, to } => {
                    out.push(rec(customer, "rollback started", None, format!("to {to}")))
                }
                EventKind::RollbackFinished {
                    customer,
                    ok,
                    detail,
                } => out.push(rec(
                    customer,
                    "rollback finished",
                    Some(*ok),
                    detail.clone(),
                )),
                _ => {}
            }
        }
    }
    out.sort_by_key(|r| r.at);
    out
}
