//! Release notes as data (the OctoAcme template's fields: name, date, summary,
//! notable changes, migration steps, known issues), and the two pure parsers that
//! fill them: a notes file (Markdown with a small front matter) and conventional
//! commit subjects (`feat(api)!: …`).
//!
//! Notes are journaled with the plan, so what a signer approved and what customers
//! were told is part of the release's record. Rendering (templates) is elsewhere.

use serde::{Deserialize, Serialize};

/// What a change is, in conventional-commit words. Ordered as notes list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Security,
    Feat,
    Fix,
    Perf,
    Deprecate,
    Remove,
    Docs,
    Other,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Security => "security",
            ChangeKind::Feat => "feat",
            ChangeKind::Fix => "fix",
            ChangeKind::Perf => "perf",
            ChangeKind::Deprecate => "deprecate",
            ChangeKind::Remove => "remove",
            ChangeKind::Docs => "docs",
            ChangeKind::Other => "other",
        }
    }

    /// A heading for people.
    pub fn heading(self) -> &'static str {
        match self {
            ChangeKind::Security => "Security",
            ChangeKind::Feat => "Features",
            ChangeKind::Fix => "Fixes",
            ChangeKind::Perf => "Performance",
            ChangeKind::Deprecate => "Deprecations",
            ChangeKind::Remove => "Removals",
            ChangeKind::Docs => "Documentation",
            ChangeKind::Other => "Other changes",
        }
    }

    /// The Keep a Changelog section a change belongs in.
    pub fn changelog_section(self) -> &'static str {
        match self {
            ChangeKind::Feat => "Added",
            ChangeKind::Fix => "Fixed",
            ChangeKind::Security => "Security",
            ChangeKind::Deprecate => "Deprecated",
            ChangeKind::Remove => "Removed",
            ChangeKind::Perf | ChangeKind::Docs | ChangeKind::Other => "Changed",
        }
    }

    /// The kind a conventional-commit type means (`feature`, `bugfix` too).
    pub fn from_type(t: &str) -> ChangeKind {
        match t.to_ascii_lowercase().as_str() {
            "feat" | "feature" | "add" | "added" => ChangeKind::Feat,
            "fix" | "bugfix" | "fixed" => ChangeKind::Fix,
            "perf" | "performance" => ChangeKind::Perf,
            "docs" | "doc" => ChangeKind::Docs,
            "security" | "sec" => ChangeKind::Security,
            "deprecate" | "deprecated" => ChangeKind::Deprecate,
            "remove" | "removed" => ChangeKind::Remove,
            _ => ChangeKind::Other,
        }
    }
}

/// One notable change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub text: String,
    /// A breaking change (`feat!:` or a `BREAKING CHANGE:` footer): listed first.
    #[serde(default)]
    pub breaking: bool,
    /// The commit it came from, abbreviated, when read from git.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The OctoAcme release notes fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReleaseNotes {
    /// Release name (the number is the release's version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Date as given (`2026-11-21`); else the date the release starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub changes: Vec<Change>,
    #[serde(default)]
    pub migration: Vec<String>,
    #[serde(default)]
    pub known_issues: Vec<String>,
}

impl ReleaseNotes {
    /// Changes in the order notes list them: breaking first, then by kind
    /// (security, features, fixes, performance, …), keeping the given order within.
    pub fn ordered_changes(&self) -> Vec<&Change> {
        let mut out: Vec<&Change> = self.changes.iter().collect();
        out.sort_by_key(|c| (!c.breaking, c.kind));
        out
    }

    /// Merges `other` (e.g. commits from git) into these notes: fields left empty
    /// here are taken from it; changes are appended unless the same text is there.
    pub fn merge(&mut self, other: ReleaseNotes) {
        if self.name.is_none() {
            self.name = other.name;
        }
        if self.date.is_none() {
            self.date = other.date;
        }
        if self.summary.is_empty() {
            self.summary = other.summary;
        }
        for c in other.changes {
            if !self.changes.iter().any(|h| h.text == c.text) {
                self.changes.push(c);
            }
        }
        self.migration.extend(other.migration);
        self.known_issues.extend(other.known_issues);
    }

    pub fn is_empty(&self) -> bool {
        self.summary.is_empty()
            && self.changes.is_empty()
            && self.migration.is_empty()
            && self.known_issues.is_empty()
    }
}

/// Why a notes file was refused: its line (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct NotesError {
    pub line: usize,
    pub message: String,
}

/// Parses a conventional commit subject (and body, for a `BREAKING CHANGE:`
/// footer). Subjects that do not follow the convention are `other` changes.
pub fn parse_commit(subject: &str, body: &str) -> Change {
    let subject = subject.trim();
    let footer_breaking = body
        .lines()
        .any(|l| l.starts_with("BREAKING CHANGE:") || l.starts_with("BREAKING-CHANGE:"));
    let other = || Change {
        kind: ChangeKind::Other,
        scope: None,
        text: subject.to_string(),
        breaking: footer_breaking,
        commit: None,
    };
    let Some((head, text)) = subject.split_once(':') else {
        return other();
    };
    let text = text.trim();
    let (head, bang) = match head.strip_suffix('!') {
        Some(h) => (h, true),
        None => (head, false),
    };
    let (ty, scope) = match head.split_once('(') {
        Some((ty, rest)) => match rest.strip_suffix(')') {
            Some(scope) => (ty, Some(scope.trim().to_string())),
            None => return other(),
        },
        None => (head, None),
    };
    if ty.is_empty() || text.is_empty() || !ty.chars().all(|c| c.is_ascii_alphabetic()) {
        return other();
    }
    Change {
        kind: ChangeKind::from_type(ty),
        scope: scope.filter(|s| !s.is_empty()),
        text: text.to_string(),
        breaking: bang || footer_breaking,
        commit: None,
    }
}

/// Parses a notes file: an optional front matter between `---` lines (`name:`,
/// `date:`, `summary:`), then Markdown whose `##` sections are read by title —
/// *Summary*, *Notable changes* (or *Changes*), *Migration steps*, *Known issues*.
/// List items of the changes section may use conventional prefixes (`fix: …`).
/// Text before the first section is the summary, when the front matter has none.
pub fn parse_notes_file(text: &str) -> Result<ReleaseNotes, NotesError> {
    let mut notes = ReleaseNotes::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    if lines.first().map(|l| l.trim_end()) == Some("---") {
        i = 1;
        loop {
            let Some(line) = lines.get(i) else {
                return Err(NotesError {
                    line: 1,
                    message:
                        "the front matter opened with `---` is never closed by another `---` line"
                            .into(),
                });
            };
            if line.trim_end() == "---" {
                i += 1;
                break;
            }
            if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
                let Some((key, value)) = line.split_once(':') else {
                    return Err(NotesError {
                        line: i + 1,
                        message: format!(
                            "front matter lines are `key: value`, not `{}`",
                            line.trim()
                        ),
                    });
                };
                let value = unquote(value.trim()).to_string();
                match key.trim() {
                    "name" | "title" => notes.name = Some(value).filter(|v| !v.is_empty()),
                    "date" => notes.date = Some(value).filter(|v| !v.is_empty()),
                    "summary" => notes.summary = value,
                    other => {
                        return Err(NotesError {
                            line: i + 1,
                            message: format!(
                                "unknown front matter key `{other}` (known: name, date, summary)"
                            ),
                        });
                    }
                }
            }
            i += 1;
        }
    }
    #[derive(PartialEq)]
    enum Section {
        Preamble,
        Summary,
        Changes,
        Migration,
        Known,
        Ignored,
    }
    let mut section = Section::Preamble;
    let mut preamble: Vec<&str> = Vec::new();
    let mut summary: Vec<&str> = Vec::new();
    for line in &lines[i..] {
        let trimmed = line.trim();
        if let Some(title) = trimmed.strip_prefix("## ") {
            let t = title.trim().to_ascii_lowercase();
            section = if t.starts_with("summary") {
                Section::Summary
            } else if t.contains("change") {
                Section::Changes
            } else if t.starts_with("migration") {
                Section::Migration
            } else if t.starts_with("known issue") {
                Section::Known
            } else {
                Section::Ignored
            };
            continue;
        }
        if let Some(title) = trimmed.strip_prefix("# ") {
            if notes.name.is_none() {
                notes.name = Some(title.trim().to_string());
            }
            continue;
        }
        let item = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
            .map(str::trim);
        match section {
            Section::Preamble => preamble.push(trimmed),
            Section::Summary => summary.push(trimmed),
            Section::Changes => {
                if let Some(item) = item {
                    notes.changes.push(parse_commit(item, ""));
                } else if !trimmed.is_empty() {
                    if let Some(last) = notes.changes.last_mut() {
                        last.text.push(' ');
                        last.text.push_str(trimmed);
                    }
                }
            }
            Section::Migration | Section::Known => {
                let list = if section == Section::Migration {
                    &mut notes.migration
                } else {
                    &mut notes.known_issues
                };
                if let Some(item) = item {
                    if !is_none_word(item) {
                        list.push(item.to_string());
                    }
                } else if !trimmed.is_empty() && !is_none_word(trimmed) {
                    match list.last_mut() {
                        Some(last) => {
                            last.push(' ');
                            last.push_str(trimmed);
                        }
                        None => list.push(trimmed.to_string()),
                    }
                }
            }
            Section::Ignored => {}
        }
    }
    if notes.summary.is_empty() {
        let from = if summary.is_empty() {
            preamble
        } else {
            summary
        };
        notes.summary = paragraph(&from);
    }
    Ok(notes)
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn is_none_word(s: &str) -> bool {
    matches!(
        s.trim().trim_end_matches('.').to_ascii_lowercase().as_str(),
        "none" | "n/a" | "-"
    )
}

/// Lines joined into paragraphs (blank lines separate them), trimmed.
fn paragraph(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut blank = false;
    for l in lines {
        if l.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { " " });
        }
        blank = false;
        out.push_str(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conventional_subjects() {
        let c = parse_commit("feat(api)!: drop v1 tokens", "");
        assert_eq!(c.kind, ChangeKind::Feat);
        assert_eq!(c.scope.as_deref(), Some("api"));
        assert!(c.breaking);
        assert_eq!(c.text, "drop v1 tokens");
        let c = parse_commit("fix: login loop", "BREAKING CHANGE: sessions reset");
        assert_eq!((c.kind, c.breaking), (ChangeKind::Fix, true));
        let c = parse_commit("Merge branch 'x'", "");
        assert_eq!(c.kind, ChangeKind::Other);
        assert_eq!(c.text, "Merge branch 'x'");
        assert_eq!(parse_commit("a b: c", "").kind, ChangeKind::Other);
    }

    #[test]
    fn notes_file_with_front_matter_and_sections() {
        let text = "---\nname: Login fix\ndate: 2026-11-21\n---\nFixes the SSO login loop.\n\n## Notable changes\n- fix(auth): login loop for SSO users\n- security: patch CVE-2026-1234\n  in the token parser\n\n## Migration steps\nNone.\n\n## Known issues\n- Safari 15 shows a blank avatar\n";
        let n = parse_notes_file(text).unwrap();
        assert_eq!(n.name.as_deref(), Some("Login fix"));
        assert_eq!(n.date.as_deref(), Some("2026-11-21"));
        assert_eq!(n.summary, "Fixes the SSO login loop.");
        assert_eq!(n.changes.len(), 2);
        assert_eq!(n.changes[1].text, "patch CVE-2026-1234 in the token parser");
        assert!(n.migration.is_empty());
        assert_eq!(n.known_issues, ["Safari 15 shows a blank avatar"]);
        assert_eq!(n.ordered_changes()[0].kind, ChangeKind::Security);
    }

    #[test]
    fn a_bad_front_matter_names_its_line() {
        let e = parse_notes_file("---\nname: x\nowner: bob\n---\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("unknown front matter key `owner`"));
        let e = parse_notes_file("---\nname: x\n").unwrap_err();
        assert!(e.message.contains("never closed"));
    }
}
