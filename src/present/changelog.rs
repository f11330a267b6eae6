//! `CHANGELOG.md` in Keep a Changelog form, made from the releases' journaled
//! notes: newest first, sections Added / Changed / Deprecated / Removed / Fixed /
//! Security, breaking changes marked, a rolled-back release marked `[YANKED]`.
//! Releases still rolling out, and aborted ones, are not listed: they were never
//! (or not yet) released.

use crate::domain::{ChangeKind, ReleaseNotes, ReleaseType, Version};
use crate::engine::Phase;

/// One release as the changelog sees it.
#[derive(Debug, Clone)]
pub struct ChangelogEntry {
    pub version: Version,
    pub release_type: ReleaseType,
    pub phase: Phase,
    /// The day it reached customers (or was rolled back), `YYYY-MM-DD`.
    pub date: String,
    pub notes: Option<ReleaseNotes>,
}

const SECTIONS: [&str; 6] = [
    "Added",
    "Changed",
    "Deprecated",
    "Removed",
    "Fixed",
    "Security",
];

pub fn render(entries: &[ChangelogEntry]) -> String {
    let mut listed: Vec<&ChangelogEntry> = entries
        .iter()
        .filter(|e| {
            matches!(
                e.phase,
                Phase::Monitoring | Phase::Completed | Phase::RolledBack
            )
        })
        .collect();
    listed.sort_by(|a, b| b.version.cmp(&a.version));
    let mut out = String::from(
        "# Changelog\n\nAll notable changes to this project are documented in this file.\n\n\
         The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),\n\
         and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n",
    );
    for e in listed {
        let number = e.version.to_string();
        let number = number.strip_prefix('v').unwrap_or(&number);
        out.push_str(&format!("\n## [{number}] - {}", e.date));
        if e.phase == Phase::RolledBack {
            out.push_str(" [YANKED]");
        }
        out.push('\n');
        let notes = e.notes.clone().unwrap_or_default();
        if let Some(name) = &notes.name {
            out.push_str(&format!("\n{name}\n"));
        }
        if !notes.summary.is_empty() {
            out.push_str(&format!("\n{}\n", notes.summary));
        }
        let mut any = false;
        for section in SECTIONS {
            let items: Vec<String> = notes
                .ordered_changes()
                .into_iter()
                .filter(|c| c.kind.changelog_section() == section)
                .map(|c| {
                    let mut line = String::from("- ");
                    if c.breaking {
                        line.push_str("**BREAKING:** ");
                    }
                    if let Some(scope) = &c.scope {
                        line.push_str(&format!("**{scope}:** "));
                    }
                    line.push_str(&c.text);
                    if let Some(commit) = &c.commit {
                        line.push_str(&format!(" ({commit})"));
                    }
                    line
                })
                .collect();
            if items.is_empty() {
                continue;
            }
            any = true;
            out.push_str(&format!("\n### {section}\n\n{}\n", items.join("\n")));
        }
        if !any {
            let section = match e.release_type {
                ReleaseType::Security => ChangeKind::Security,
                ReleaseType::BugFix => ChangeKind::Fix,
                ReleaseType::Minor | ReleaseType::Major => ChangeKind::Feat,
                _ => ChangeKind::Other,
            }
            .changelog_section();
            out.push_str(&format!(
                "\n### {section}\n\n- {} release {} (no notes were recorded).\n",
                e.release_type, e.version
            ));
        }
    }
    out
}
