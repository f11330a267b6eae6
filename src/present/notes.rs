//! Release notes as people read them: one release's, or a tier's cumulative notes
//! (tiers lag each other, so a tier still on v1.0.0 is told everything since then),
//! rendered as Markdown or Slack mrkdwn through templates, or as JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use super::templates::{self, TemplateError};
use crate::domain::{Change, ChangeKind, ReleaseNotes, ReleaseType, Version};

/// A release whose notes may be listed: its version, type and notes.
#[derive(Debug, Clone)]
pub struct NotesSource {
    pub version: Version,
    pub release_type: ReleaseType,
    pub emergency: bool,
    /// The date the release started (`2026-11-21`), used when the notes give none.
    pub started: String,
    pub notes: Option<ReleaseNotes>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReleaseInfo {
    pub version: String,
    /// The name if given, else the version.
    pub title: String,
    pub name: Option<String>,
    pub date: String,
    #[serde(rename = "type")]
    pub release_type: String,
    pub emergency: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangeView {
    pub kind: ChangeKind,
    pub scope: Option<String>,
    pub text: String,
    pub breaking: bool,
    pub commit: Option<String>,
    /// The release it shipped in, in cumulative notes.
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Group {
    pub kind: ChangeKind,
    pub heading: String,
    pub changes: Vec<ChangeView>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NotesView {
    pub summary: String,
    pub breaking: Vec<ChangeView>,
    pub groups: Vec<Group>,
    pub migration: Vec<String>,
    pub known_issues: Vec<String>,
}

/// What a notes template gets; also the `--format json` document.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NotesDoc {
    pub release: ReleaseInfo,
    pub notes: NotesView,
    /// Cumulative notes: the version the tier runs, and the releases listed.
    pub since: Option<String>,
    pub versions: Vec<String>,
    pub tier: Option<String>,
}

impl NotesDoc {
    /// One release's own notes.
    pub fn single(release: &NotesSource) -> NotesDoc {
        NotesDoc::cumulative(release, &[], None, None)
    }

    /// The notes of `release` and of the `earlier` releases after `since` (those a
    /// tier running `since` has not had), newest first within each section.
    pub fn cumulative(
        release: &NotesSource,
        earlier: &[NotesSource],
        since: Option<&Version>,
        tier: Option<&str>,
    ) -> NotesDoc {
        let mut included: Vec<&NotesSource> = earlier
            .iter()
            .filter(|e| e.version < release.version && since.is_none_or(|s| e.version > *s))
            .collect();
        included.sort_by(|a, b| b.version.cmp(&a.version));
        let cumulative = !included.is_empty();
        let mut all: Vec<&NotesSource> = vec![release];
        all.extend(included);
        let own = release.notes.clone().unwrap_or_default();
        let mut breaking = Vec::new();
        let mut groups: BTreeMap<ChangeKind, Vec<ChangeView>> = BTreeMap::new();
        let mut migration = Vec::new();
        let mut known_issues = own.known_issues.clone();
        for src in &all {
            let Some(notes) = &src.notes else { continue };
            for c in notes.ordered_changes() {
                let view = change_view(c, cumulative.then(|| src.version.to_string()));
                if c.breaking {
                    breaking.push(view);
                } else {
                    groups.entry(c.kind).or_default().push(view);
                }
            }
            for m in &notes.migration {
                migration.push(if cumulative {
                    format!("{} ({})", m, src.version)
                } else {
                    m.clone()
                });
            }
        }
        if cumulative {
            // Known issues of older releases may be fixed since; only the newest's.
            known_issues = own.known_issues.clone();
        }
        let title = own
            .name
            .clone()
            .unwrap_or_else(|| release.version.to_string());
        NotesDoc {
            release: ReleaseInfo {
                version: release.version.to_string(),
                title: if own.name.is_some() {
                    format!("{title} ({})", release.version)
                } else {
                    title
                },
                name: own.name.clone(),
                date: own.date.clone().unwrap_or_else(|| release.started.clone()),
                release_type: release.release_type.to_string(),
                emergency: release.emergency,
            },
            notes: NotesView {
                summary: own.summary.clone(),
                breaking,
                groups: groups
                    .into_iter()
                    .map(|(kind, changes)| Group {
                        kind,
                        heading: kind.heading().to_string(),
                        changes,
                    })
                    .collect(),
                migration,
                known_issues,
            },
            since: if cumulative {
                since.map(|s| s.to_string())
            } else {
                None
            },
            versions: all.iter().map(|s| s.version.to_string()).collect(),
            tier: tier.map(str::to_string),
        }
    }

    pub fn markdown(&self, overrides: &BTreeMap<String, String>) -> Result<String, TemplateError> {
        templates::render(overrides, templates::RELEASE_NOTES_MD, self)
    }

    pub fn slack(&self, overrides: &BTreeMap<String, String>) -> Result<String, TemplateError> {
        templates::render(overrides, templates::RELEASE_NOTES_SLACK, self)
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn change_view(c: &Change, version: Option<String>) -> ChangeView {
    ChangeView {
        kind: c.kind,
        scope: c.scope.clone(),
        text: c.text.clone(),
        breaking: c.breaking,
        commit: c.commit.clone(),
        version,
    }
}
