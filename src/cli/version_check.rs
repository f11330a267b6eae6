//! The checks a version must pass before a release of it starts, shared by
//! `validate` (which only reports) and every command that starts a release
//! (`deploy`, `emergency`, `cockpit --version`), which refuses on any problem
//! unless the starter overrides it with `--force-version REASON`, journaled.
//!
//! The version counts from the newest release the state dir has started (a
//! rolled-back or aborted one spent its number), else from the newest version the
//! customers run: as the journals left them, else as the configuration says.

use crate::domain::{Configuration, ReleaseType, Version};
use crate::runtime::history;
use crate::runtime::state_dir::StateDir;

/// What the checks found: problems refuse, notes explain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

/// The version a new release counts from, and where that came from. `cfg` holds
/// the customers' current versions (see [`with_current_versions`]).
pub fn base(cfg: &Configuration, dir: Option<&StateDir>) -> Option<(Version, String)> {
    if let Some(s) = dir.and_then(history::newest_started) {
        let source = format!("the release history: {} {}", s.version, s.phase.as_str());
        return Some((s.version, source));
    }
    cfg.customers
        .iter()
        .map(|c| &c.version)
        .max()
        .map(|v| (v.clone(), format!("the version customers run: {v}")))
}

/// Every check on `version` of type `t`: the bump from `from` (else [`base`]),
/// a version never started, a pre-release checklist and a policy for the type.
pub fn check(
    cfg: &Configuration,
    dir: Option<&StateDir>,
    version: &Version,
    t: ReleaseType,
    from: Option<(Version, String)>,
) -> Findings {
    let mut f = Findings::default();
    match from.or_else(|| base(cfg, dir)) {
        Some((prev, source)) => match t.check_bump(&prev, version) {
            Ok(()) => f.notes.push(format!(
                "{prev} → {version} is a valid {t} bump (previous release from {source})"
            )),
            Err(e) => f.problems.push(format!("{e} (counting from {source})")),
        },
        None => f.notes.push(
            "no previous release known (no --from, no history, no customers): the bump was not checked"
                .into(),
        ),
    }
    if let Some(dir) = dir {
        if let Some(prev) = history::summaries(dir)
            .into_iter()
            .find(|s| &s.version == version)
        {
            f.problems.push(format!(
                "{version} was already started on {} by {} (now {}); use a new version",
                prev.started_at.format("%Y-%m-%d %H:%M UTC"),
                prev.started_by,
                prev.phase.as_str()
            ));
        }
    }
    match cfg.pre_release_checklist(t) {
        Some(c) => f.notes.push(format!(
            "pre-release checklist: {} ({} items)",
            c.title,
            c.items.len()
        )),
        None => f.problems.push(format!(
            "no pre-release checklist for {t} in checklists.json"
        )),
    }
    if cfg.policy(t).is_none() {
        f.problems
            .push(format!("no policy for {t} in policies.json"));
    }
    f
}

/// `cfg` with each customer's version as the journals in `dir` know it: a plan
/// built from it rolls customers back to what they really ran, and `plan` shows it.
pub fn with_current_versions(mut cfg: Configuration, dir: Option<&StateDir>) -> Configuration {
    let Some(dir) = dir else {
        return cfg;
    };
    let current = history::current_versions(dir);
    for c in &mut cfg.customers {
        if let Some(v) = current.get(&c.id) {
            c.version = v.clone();
        }
    }
    cfg
}
