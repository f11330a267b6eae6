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
    #[error(
        "{path} is a symbolic link owned by uid {owner}, not by you (uid {me}) or root: \
         whoever owns it decides where journals and locks are written, so shipdeck will \
         not follow it. Point --state-dir at a real directory, or replace the link"
    )]
    ForeignSymlink { path: PathBuf, owner: u32, me: u32 },
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

    /// Refuses to work under a state dir, `releases/` or release dir that is a
    /// symbolic link owned by another user (see [`check_not_foreign_symlink`]).
    pub fn check(&self, label: Option<&str>) -> Result<(), StateDirError> {
        check_not_foreign_symlink(&self.root)?;
        check_not_foreign_symlink(&self.releases_dir())?;
        if let Some(label) = label {
            check_not_foreign_symlink(&self.release_dir(label))?;
        }
        Ok(())
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

/// Who may read shipdeck's state: the owner alone (dirs 0700, files 0600), or the
/// owner and the group when `SHIPDECK_STATE_SHARED=group` says a team shares the
/// state dir through a group (dirs 0770, files 0660). Never the umask's choice:
/// journals hold who decided what, and lock files say who runs a release.
pub const SHARED_ENV: &str = "SHIPDECK_STATE_SHARED";

/// (directory mode, file mode) for everything shipdeck creates in its state dir.
pub fn state_modes() -> (u32, u32) {
    match std::env::var(SHARED_ENV).as_deref() {
        Ok("group") => (0o770, 0o660),
        _ => (0o700, 0o600),
    }
}

/// Opens a state file (journal, lock, log, notices) for reading and appending or
/// writing, creating it with the state file mode. Never through a symbolic link
/// (`O_NOFOLLOW`): a link planted at `releases/v1/lock` would make shipdeck write
/// into whatever it points at. Returns the file and whether it was created.
pub fn open_state_file(path: &Path, append: bool) -> io::Result<(File, bool)> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let (_, file_mode) = state_modes();
    let mut options = fs::OpenOptions::new();
    options
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    if append {
        options.append(true);
    } else {
        options.write(true);
    }
    let opened = match options.clone().create_new(true).mode(file_mode).open(path) {
        Ok(file) => {
            // The umask may have taken bits away from the mode (or, with a
            // shared group, kept the group out): set it exactly.
            file.set_permissions(fs::Permissions::from_mode(file_mode))?;
            Ok((file, true))
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            options.open(path).map(|file| (file, false))
        }
        Err(e) => Err(e),
    };
    opened.map_err(|e| explain_symlink(path, e))
}

/// Opens a state file for reading only, never through a symbolic link.
pub fn open_state_file_read(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| explain_symlink(path, e))
}

/// `O_NOFOLLOW` on a symlink fails with ELOOP, which reads as "too many levels of
/// symbolic links": say what it really means.
fn explain_symlink(path: &Path, e: io::Error) -> io::Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        return io::Error::new(
            e.kind(),
            format!(
                "{} is a symbolic link; shipdeck opens its state files only directly, never through a link (it could send writes anywhere). Remove the link",
                path.display()
            ),
        );
    }
    e
}

/// Refuses a directory of the state (the state dir, `releases/`, a release dir)
/// that is a symbolic link owned by someone other than this user (or root): whoever
/// owns the link decides where journals and locks are written.
pub fn check_not_foreign_symlink(dir: &Path) -> Result<(), StateDirError> {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return Ok(()); // Not there yet: it will be created as a real directory.
    };
    if !meta.file_type().is_symlink() {
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() == me || meta.uid() == 0 {
        return Ok(());
    }
    Err(StateDirError::ForeignSymlink {
        path: dir.to_path_buf(),
        owner: meta.uid(),
        me,
    })
}

/// fsync a directory, so that entries created or removed in it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `fs::create_dir_all`, but every directory it creates is made durable by syncing
/// its parent. Directories that already exist are left alone (and not synced).
pub fn create_dir_all_durable(dir: &Path) -> io::Result<()> {
    create_dir_all_durable_with(dir, &sync_dir)
}

/// [`create_dir_all_durable`], syncing each parent with `sync` (the journal passes
/// its [`Durability`](super::journal::Durability)).
pub fn create_dir_all_durable_with(
    dir: &Path,
    sync: &dyn Fn(&Path) -> io::Result<()>,
) -> io::Result<()> {
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
    let (dir_mode, _) = state_modes();
    for created in missing.into_iter().rev() {
        let made = {
            use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
            fs::DirBuilder::new()
                .mode(dir_mode)
                .create(created)
                // Exactly the mode, whatever the umask took away or let through.
                .and_then(|()| fs::set_permissions(created, fs::Permissions::from_mode(dir_mode)))
        };
        match made {
            Ok(()) => {}
            // Another process (a second shipdeck starting) may win the race; the
            // directory existing is all we need.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && created.is_dir() => continue,
            Err(e) => return Err(e),
        }
        sync(parent_or_dot(created))?;
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
