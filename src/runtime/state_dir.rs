//! Where a shipdeck installation keeps its state: journals, locks, logs.
//!
//! ```text
//! <root>/
//!   shipdeck.log            the tracing log (never the terminal the cockpit draws on)
//!   notifications.log       what was (or would have been) sent to people
//!   history.jsonl           one line per finished release, for cross-release reports
//!   releases/
//!     v1.0.1/
//!       journal.jsonl       the release's append-only journal: the truth
//!       lock                who runs this release right now (flock + holder JSON)
//!       deploys/<customer>.log  what each deploy and rollback printed (capped)
//! ```
//!
//! One directory per release keeps everything a release owns together, so that a
//! second shell (`status`, later `attach`) finds it from the version alone, and an
//! old release can be archived or deleted as a unit. The paths are computed here and
//! nowhere else so that the layout can change in one place.
//!
//! The module also holds the two small helpers that make directory creation durable
//! (`create_dir_all_durable`, `sync_dir`): a file whose directory entry was never
//! fsynced can vanish after a power loss even though its own data was synced.

use std::fs::{self, File};
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::domain::version::Version;

/// The name of the journal file inside a release directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";
/// The name of the lock file inside a release directory.
pub const LOCK_FILE: &str = "lock";

/// Why the state directory could not be determined or read.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    #[error(
        "cannot find a data directory for shipdeck on this system (is $HOME set?); \
         pass --state-dir DIR to say where journals, locks and logs should live"
    )]
    NoDataDir,
    #[error("cannot turn state directory {path} into an absolute path: {source}")]
    Absolute { path: PathBuf, source: io::Error },
    #[error("cannot read the releases in {path}: {source}")]
    ReadReleases { path: PathBuf, source: io::Error },
}

/// The root of shipdeck's state, and the layout beneath it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateDir {
    pub root: PathBuf,
}

impl StateDir {
    /// `--state-dir DIR` if given, else the user's data dir (`~/.local/share/shipdeck`
    /// on Linux). Nothing is created here: the journal and the lock create what they
    /// need, durably, when a release actually runs, so `status` on a fresh machine
    /// leaves no trace.
    pub fn resolve(explicit: Option<PathBuf>) -> Result<StateDir, StateDirError> {
        let root = match explicit {
            // Absolute so that log lines and error messages name a path that still
            // means something after the process changes directory.
            Some(dir) => std::path::absolute(&dir)
                .map_err(|source| StateDirError::Absolute { path: dir, source })?,
            None => directories::ProjectDirs::from("", "", "shipdeck")
                .map(|dirs| dirs.data_dir().to_path_buf())
                .ok_or(StateDirError::NoDataDir)?,
        };
        Ok(StateDir { root })
    }

    /// A state dir at exactly this path (tests, embedding).
    pub fn at(root: impl Into<PathBuf>) -> StateDir {
        StateDir { root: root.into() }
    }

    /// `root/releases`, the parent of every release directory.
    pub fn releases_dir(&self) -> PathBuf {
        self.root.join("releases")
    }

    /// `root/releases/<label>/`. The label is a version as printed (`v1.0.1`); it
    /// must be a single path component (see [`is_valid_release_label`]) — callers
    /// build it from a parsed `Version`, never from raw input.
    pub fn release_dir(&self, version_label: &str) -> PathBuf {
        debug_assert!(
            is_valid_release_label(version_label),
            "release label {version_label:?} is not a single path component"
        );
        self.releases_dir().join(version_label)
    }

    pub fn journal_path(&self, version_label: &str) -> PathBuf {
        self.release_dir(version_label).join(JOURNAL_FILE)
    }

    pub fn lock_path(&self, version_label: &str) -> PathBuf {
        self.release_dir(version_label).join(LOCK_FILE)
    }

    /// `root/releases/<label>/deploys/`: one log per customer and release, what its
    /// deploy and rollback commands printed (or the webhook exchanges), capped.
    pub fn deploy_logs_dir(&self, version_label: &str) -> PathBuf {
        self.release_dir(version_label).join("deploys")
    }

    /// The deploy log of `customer` in release `label`.
    pub fn deploy_log_path(&self, version_label: &str, customer: &str) -> PathBuf {
        deploy_log_in(&self.deploy_logs_dir(version_label), customer)
    }

    /// `root/shipdeck.log`.
    pub fn log_path(&self) -> PathBuf {
        self.root.join("shipdeck.log")
    }

    /// `root/notifications.log`.
    pub fn notifications_path(&self) -> PathBuf {
        self.root.join("notifications.log")
    }

    /// `root/history.jsonl`.
    pub fn history_path(&self) -> PathBuf {
        self.root.join("history.jsonl")
    }

    /// The releases that have a journal, oldest version first: labels that parse as
    /// versions in semver order, then any others by name. A release directory
    /// without a journal (created, then the run failed before its first event) is
    /// not a release yet. No state dir at all means no releases, not an error.
    pub fn list_releases(&self) -> Result<Vec<String>, StateDirError> {
        let dir = self.releases_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StateDirError::ReadReleases { path: dir, source }),
        };
        let mut versioned: Vec<(Version, String)> = Vec::new();
        let mut other: Vec<String> = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StateDirError::ReadReleases {
                path: dir.clone(),
                source,
            })?;
            // Names that are not UTF-8 cannot have been written by us.
            let Ok(label) = entry.file_name().into_string() else {
                continue;
            };
            if !is_valid_release_label(&label) || !entry.path().join(JOURNAL_FILE).is_file() {
                continue;
            }
            match label.parse::<Version>() {
                Ok(version) => versioned.push((version, label)),
                Err(_) => other.push(label),
            }
        }
        versioned.sort();
        other.sort();
        Ok(versioned
            .into_iter()
            .map(|(_, label)| label)
            .chain(other)
            .collect())
    }
}

/// A customer's log file in a deploy logs directory. Customer ids are validated
/// (no spaces or commas) but may hold characters a file name should not; those
/// become `_`.
pub fn deploy_log_in(dir: &Path, customer: &str) -> PathBuf {
    let safe: String = customer
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    };
    dir.join(format!("{safe}.log"))
}

/// Whether `label` can name a release directory: one normal path component, so that
/// no label can point outside `root/releases`.
pub fn is_valid_release_label(label: &str) -> bool {
    let mut components = Path::new(label).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    ) && !label.contains(['/', '\\'])
}

/// fsync a directory, so that entries created or removed in it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `fs::create_dir_all`, but every directory it creates is made durable by syncing
/// its parent. Directories that already exist are left alone (and not synced).
pub fn create_dir_all_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    // Walk up to the first ancestor that exists, then create downwards.
    let mut missing = Vec::new();
    let mut current = dir;
    loop {
        if current.as_os_str().is_empty() || current.exists() {
            break;
        }
        missing.push(current);
        match current.parent() {
            Some(parent) => current = parent,
            None => break,
        }
    }
    for created in missing.into_iter().rev() {
        match fs::create_dir(created) {
            Ok(()) => {}
            // Another process (a second shipdeck starting) may win the race; the
            // directory existing is all we need.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && created.is_dir() => continue,
            Err(e) => return Err(e),
        }
        sync_dir(parent_or_dot(created))?;
    }
    Ok(())
}

/// The directory that holds `path`: its parent, or `.` for a bare relative name.
pub(crate) fn parent_or_dot(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_one_directory_per_release() {
        let dir = StateDir::at("/state");
        assert_eq!(
            dir.journal_path("v1.0.1"),
            PathBuf::from("/state/releases/v1.0.1/journal.jsonl")
        );
        assert_eq!(
            dir.lock_path("v1.0.1"),
            PathBuf::from("/state/releases/v1.0.1/lock")
        );
        assert_eq!(dir.log_path(), PathBuf::from("/state/shipdeck.log"));
        assert_eq!(
            dir.notifications_path(),
            PathBuf::from("/state/notifications.log")
        );
        assert_eq!(dir.history_path(), PathBuf::from("/state/history.jsonl"));
    }

    #[test]
    fn explicit_state_dir_wins_and_is_made_absolute() {
        let resolved = StateDir::resolve(Some(PathBuf::from("rel/state"))).unwrap();
        assert!(resolved.root.is_absolute());
        assert!(resolved.root.ends_with("rel/state"));
    }

    #[test]
    fn labels_cannot_escape_the_releases_dir() {
        assert!(is_valid_release_label("v1.0.1"));
        assert!(is_valid_release_label("v2.0.0-rc.1"));
        for bad in ["", ".", "..", "../etc", "a/b", "/abs", "a\\b"] {
            assert!(!is_valid_release_label(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn list_releases_orders_by_version_and_skips_dirs_without_journal() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir::at(tmp.path());
        assert_eq!(dir.list_releases().unwrap(), Vec::<String>::new());
        for label in ["v1.10.0", "v1.2.0", "v1.2.0-rc.1", "scratch", "v0.9.9"] {
            create_dir_all_durable(&dir.release_dir(label)).unwrap();
            fs::write(dir.journal_path(label), b"").unwrap();
        }
        create_dir_all_durable(&dir.release_dir("v9.9.9")).unwrap(); // no journal
        assert_eq!(
            dir.list_releases().unwrap(),
            ["v0.9.9", "v1.2.0-rc.1", "v1.2.0", "v1.10.0", "scratch"]
        );
    }

    #[test]
    fn create_dir_all_durable_creates_nested_and_tolerates_existing() {
        let tmp = tempfile::tempdir().unwrap();
        let nested = tmp.path().join("a/b/c");
        create_dir_all_durable(&nested).unwrap();
        assert!(nested.is_dir());
        create_dir_all_durable(&nested).unwrap();
    }
}
