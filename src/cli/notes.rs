//! Release notes at plan time (`--notes FILE`, `--git DIR`) and `shipdeck notes`:
//! one release's notes, or a tier's cumulative notes, as Markdown, JSON or Slack
//! mrkdwn.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::context::{Context, out, parse_version};
use super::error::{CliError, CliResult, EXIT_OK};
use crate::domain::{ReleaseNotes, TierName, Version};
use crate::engine::{Phase, ReleasePlan, ReleaseState};
use crate::present::notes::{NotesDoc, NotesSource};
use crate::runtime::history;
use crate::runtime::state_dir::StateDir;

/// Reads a notes file (Markdown with a small front matter).
pub fn read_notes_file(path: &Path) -> Result<ReleaseNotes, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::error(format!("cannot read notes file {}: {e}", path.display())))?;
    crate::domain::notes::parse_notes_file(&text)
        .map_err(|e| CliError::error(format!("{}:{}: {}", path.display(), e.line, e.message)))
}

/// The notes a release starts with: the notes file, then what git adds.
pub async fn gather(
    notes: Option<&Path>,
    git: Option<&Path>,
    version: &Version,
) -> Result<Option<ReleaseNotes>, CliError> {
    let mut out: Option<ReleaseNotes> = match notes {
        Some(p) => Some(read_notes_file(p)?),
        None => None,
    };
    if let Some(dir) = git {
        let from_git = crate::adapters::git::notes_from_git(dir, version)
            .await
            .map_err(|e| CliError::error(e.to_string()))?;
        match &mut out {
            Some(n) => n.merge(from_git),
            None => out = Some(from_git),
        }
    }
    Ok(out)
}

/// This release as a notes source.
pub fn source_of(state: &ReleaseState) -> NotesSource {
    NotesSource {
        version: state.plan.version.clone(),
        release_type: state.plan.release_type,
        emergency: state.emergency,
        started: state.started_at.format("%Y-%m-%d").to_string(),
        notes: state.plan.notes.clone(),
    }
}

/// Every other release in the state dir that reached customers and stayed, with
/// its notes: what cumulative notes are made of.
pub fn earlier_sources(dir: &StateDir, except: &Version) -> Vec<NotesSource> {
    let mut out = Vec::new();
    for label in dir.list_releases().unwrap_or_default() {
        // The release asking is left out unread: on a resume it is the long one.
        if label.parse::<Version>().is_ok_and(|v| &v == except) {
            continue;
        }
        // State only: from a checkpoint and its tail, not a replay of every journal.
        let Ok(s) = history::load_state(dir, &label) else {
            continue;
        };
        if &s.plan.version == except || !matches!(s.phase, Phase::Monitoring | Phase::Completed) {
            continue;
        }
        out.push(source_of(&s));
    }
    out
}

/// The version a wave's customers run before this release (the oldest of them).
pub fn tier_runs(plan: &ReleasePlan, wave: usize) -> Option<Version> {
    plan.waves
        .get(wave)?
        .customers
        .iter()
        .map(|c| c.from_version.clone())
        .min()
}

/// Each wave's notes as (Markdown, Slack mrkdwn): everything since the version
/// that tier runs. Waves with no notes to tell get none.
pub fn notes_by_wave(
    plan: &ReleasePlan,
    earlier: &[NotesSource],
    templates: &BTreeMap<String, String>,
) -> HashMap<TierName, (String, String)> {
    let this = NotesSource {
        version: plan.version.clone(),
        release_type: plan.release_type,
        emergency: plan.emergency,
        started: chrono::Utc::now().format("%Y-%m-%d").to_string(),
        notes: plan.notes.clone(),
    };
    let mut out = HashMap::new();
    for (wi, w) in plan.waves.iter().enumerate() {
        let since = tier_runs(plan, wi);
        let doc = NotesDoc::cumulative(&this, earlier, since.as_ref(), Some(w.tier.as_str()));
        let any = plan.notes.as_ref().is_some_and(|n| !n.is_empty()) || doc.versions.len() > 1;
        if !any {
            continue;
        }
        match (doc.markdown(templates), doc.slack(templates)) {
            (Ok(md), Ok(slack)) => {
                out.insert(w.tier.clone(), (md, slack));
            }
            (Err(e), _) | (_, Err(e)) => tracing::warn!("release notes for {}: {e}", w.tier),
        }
    }
    out
}

/// `shipdeck notes --version V [--tier T] [--format md|json|slack]`.
pub fn run(
    ctx: &Context,
    version: &str,
    tier: Option<&str>,
    format: &str,
    w: &mut dyn std::io::Write,
) -> CliResult {
    let dir = ctx.state_dir()?;
    let label = parse_version(version)?.to_string();
    let (state, _) = history::load_release(&dir, &label).map_err(CliError::error)?;
    let templates = ctx.config().map(|c| c.templates).unwrap_or_default();
    let this = source_of(&state);
    let doc = match tier {
        Some(t) => {
            let wi = state
                .waves
                .iter()
                .position(|w| w.tier.as_str().eq_ignore_ascii_case(t))
                .ok_or_else(|| {
                    CliError::error(format!(
                        "no wave `{t}` in {label} (waves: {})",
                        state
                            .waves
                            .iter()
                            .map(|w| w.tier.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            let earlier = earlier_sources(&dir, &state.plan.version);
            let since = tier_runs(&state.plan, wi);
            NotesDoc::cumulative(
                &this,
                &earlier,
                since.as_ref(),
                Some(state.waves[wi].tier.as_str()),
            )
        }
        None => NotesDoc::single(&this),
    };
    let text = match format {
        "md" | "markdown" => doc.markdown(&templates),
        "slack" => doc.slack(&templates),
        "json" => Ok(format!("{}\n", doc.json())),
        other => {
            return Err(CliError::error(format!(
                "unknown format `{other}` (md, json or slack)"
            )));
        }
    }
    .map_err(|e| CliError::error(e.to_string()))?;
    out(w, &crate::present::printable(&text))?;
    Ok(EXIT_OK)
}
