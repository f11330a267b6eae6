//! Release notes from git: the commits between the previous release tag and this
//! one (or `HEAD` when this version is not tagged yet), read by running `git` as a
//! child process (no libgit2), grouped by conventional-commit type.

use std::path::Path;
use std::time::Duration;

use super::process::{self, ProcessSpec};
use crate::domain::notes::parse_commit;
use crate::domain::{ReleaseNotes, Version};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git in {dir}: {why}")]
    Failed { dir: String, why: String },
}

async fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let mut all = vec!["-C".to_string(), dir.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    let spec = ProcessSpec {
        program: "git".into(),
        args: all,
        env: vec![("GIT_TERMINAL_PROMPT".into(), "0".into())],
        stdin: None,
        timeout: Duration::from_secs(30),
        max_output: 4 * 1024 * 1024,
        drain_stdout: true,
        ..ProcessSpec::default()
    };
    let failed = |why: String| GitError::Failed {
        dir: dir.display().to_string(),
        why,
    };
    let done = process::run(&spec)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !done.status.success() {
        let err =
            crate::adapters::notify::sanitize(&String::from_utf8_lossy(&done.stderr.bytes), 300);
        return Err(failed(format!("{}: {err}", done.status_text())));
    }
    Ok(String::from_utf8_lossy(&done.stdout.bytes).into_owned())
}

/// The tags that parse as versions, and the newest one before `version`.
pub fn previous_tag(tags: &str, version: &Version) -> Option<String> {
    tags.lines()
        .map(str::trim)
        .filter_map(|t| t.parse::<Version>().ok().map(|v| (v, t.to_string())))
        .filter(|(v, _)| v < version)
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, t)| t)
}

/// Parses `git log --format=%h%x1f%s%x1f%b%x1e` output.
pub fn parse_log(log: &str) -> Vec<crate::domain::Change> {
    log.split('\x1e')
        .filter_map(|rec| {
            let rec = rec.trim_start_matches('\n');
            let mut parts = rec.splitn(3, '\x1f');
            let hash = parts.next()?.trim();
            let subject = parts.next()?.trim();
            let body = parts.next().unwrap_or("");
            if hash.is_empty() || subject.is_empty() {
                return None;
            }
            let mut c = parse_commit(subject, body);
            c.commit = Some(hash.to_string());
            Some(c)
        })
        .collect()
}

/// The notes git can give for `version`: its commits since the previous tag.
pub async fn notes_from_git(dir: &Path, version: &Version) -> Result<ReleaseNotes, GitError> {
    let tags = git(dir, &["tag", "--list"]).await?;
    let this = version.to_string();
    let target = if tags.lines().any(|t| t.trim() == this) {
        this
    } else {
        "HEAD".to_string()
    };
    let range = match previous_tag(&tags, version) {
        Some(prev) => format!("{prev}..{target}"),
        None => target,
    };
    let log = git(
        dir,
        &["log", "--no-merges", "--format=%h%x1f%s%x1f%b%x1e", &range],
    )
    .await?;
    let mut changes = parse_log(&log);
    // git lists newest first; notes read oldest first within a group.
    changes.reverse();
    Ok(ReleaseNotes {
        changes,
        ..ReleaseNotes::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_tag_is_the_newest_older_version() {
        let tags = "v1.0.0\nv1.0.1\nv1.1.0\nnightly\nv1.0.2\n";
        let v: Version = "v1.0.2".parse().unwrap();
        assert_eq!(previous_tag(tags, &v).as_deref(), Some("v1.0.1"));
        let v: Version = "v1.0.0".parse().unwrap();
        assert_eq!(previous_tag(tags, &v), None);
    }

    #[test]
    fn log_records_become_changes() {
        let log = "abc1234\x1ffix(auth): login loop\x1f\x1e\ndef5678\x1ffeat!: new API\x1fBREAKING CHANGE: x\n\x1e\n";
        let c = parse_log(log);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].commit.as_deref(), Some("abc1234"));
        assert!(c[1].breaking);
    }
}
