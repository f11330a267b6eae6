//! One engine per release: an exclusive lock on `releases/<v>/lock`.
//!
//! Two processes appending to one journal would interleave two histories, so the
//! process that runs a release holds an exclusive `flock` on the release's lock file
//! for as long as it runs. `flock` is chosen over a pid file alone because the kernel
//! drops it when the holder dies, however it dies: a crashed run never blocks the
//! next one, and there is no "is that pid really ours?" guesswork on the hot path.
//!
//! The file's *content* is the [`Holder`] as JSON (pid, host, since). It is only for
//! people and for the takeover report: the `flock` decides, the content explains.
//! A clean exit empties the file; so a file that still names someone when we get
//! the lock means that run ended without cleaning up (crash, kill -9, power loss),
//! and the new holder reports it in [`Acquired::took_over_from`] for the journal.
//!
//! The file is never deleted: unlinking a flocked file lets two processes lock two
//! different inodes under one name.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state_dir::{create_dir_all_durable, parent_or_dot, sync_dir};

/// Who holds (or last held) a release lock. Stored as JSON in the lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub since: DateTime<Utc>,
    /// A process that runs the release (deploy, the cockpit) or a short command
    /// that appends one decision and lets go (pause, approve, …). Lock files
    /// written before this was recorded read as a runner.
    #[serde(default)]
    pub kind: HolderKind,
    /// What holds it, as a person would type it: `shipdeck deploy`, `shipdeck pause`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub what: String,
}

/// Whether a lock holder runs the release or only records one command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderKind {
    #[default]
    Runner,
    Command,
}

/// What this process is, for the lock files it writes (set once by the CLI).
static THIS_PROCESS: std::sync::OnceLock<(HolderKind, String)> = std::sync::OnceLock::new();

/// Records what this process is (`shipdeck pause` is a command, `shipdeck deploy`
/// a runner), so another process that finds the release locked can say what holds
/// it and whether waiting a moment will do. The first call wins.
pub fn set_this_process(kind: HolderKind, what: &str) {
    let _ = THIS_PROCESS.set((kind, what.to_string()));
}

impl Holder {
    /// The journal's record that this (dead) holder's lock was taken over at `at`.
    pub fn taken_over(self, at: DateTime<Utc>) -> crate::engine::Event {
        crate::engine::Event {
            at,
            event: crate::engine::EventKind::LockTakenOver {
                pid: self.pid,
                host: self.host,
            },
        }
    }

    /// This process, now.
    pub fn current() -> Holder {
        let (kind, what) = THIS_PROCESS
            .get()
            .cloned()
            .unwrap_or((HolderKind::Runner, String::new()));
        Holder {
            pid: std::process::id(),
            host: hostname(),
            since: Utc::now(),
            kind,
            what,
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {} on host {} since {}",
            self.pid,
            crate::domain::escape(&self.host),
            self.since.format("%Y-%m-%d %H:%M:%S UTC")
        )?;
        if !self.what.is_empty() {
            write!(f, " (`{}`)", crate::domain::escape(&self.what))?;
        }
        Ok(())
    }
}

/// Why a release lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "release {release} is being run by {holder}; wait for that run to finish, \
         or stop that process, before starting another"
    )]
    Held { release: String, holder: Holder },
    /// Held, but the holder has not written who it is yet (it is a few instructions
    /// into its start-up) — or someone keeps the file locked without being shipdeck.
    #[error(
        "release {release} is locked by another process that has not said who it is \
         (lock file {path}); try again in a moment"
    )]
    Busy { release: String, path: PathBuf },
    /// The file names a holder on another host. `flock` on a shared filesystem is
    /// only as good as the mount's lock support, and from here we cannot check that
    /// process, so we refuse rather than risk two engines on one release.
    #[error(
        "release {release} was last run by {holder}, and this is host {here}: shipdeck \
         cannot tell from here whether that run is still alive. If it is not, delete \
         {path} and run again"
    )]
    OtherHost {
        release: String,
        holder: Box<Holder>,
        here: String,
        path: PathBuf,
    },
    #[error("cannot {op} lock file {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// A successful [`ReleaseLock::acquire`].
#[derive(Debug)]
pub struct Acquired {
    pub lock: ReleaseLock,
    /// The previous holder, if it ended without releasing (crash, kill -9). The
    /// runtime journals this as a takeover.
    pub took_over_from: Option<Holder>,
}

/// The held lock. Dropping it empties the file and releases the `flock`.
#[derive(Debug)]
pub struct ReleaseLock {
    // The open file *is* the lock: flock belongs to the open file description, and
    // closing it (on drop) is what releases it.
    file: File,
    path: PathBuf,
    holder: Holder,
    /// Whether the file names us yet (see `announce`).
    announced: bool,
    /// Handed to another process that shares the open file description: dropping
    /// closes our descriptor only, and leaves the file naming the new holder.
    handed_over: bool,
}

/// How often `acquire` re-tries a lock whose holder does not name a live process,
/// and how long it waits between tries. A reader (`current_holder`) takes a shared
/// lock for a few microseconds, and a new holder writes its name right after it
/// gets the lock: both are over long before these 100 ms are.
const BUSY_RETRIES: u32 = 20;
const BUSY_RETRY_PAUSE: Duration = Duration::from_millis(5);

impl ReleaseLock {
    /// Take the lock at `path` (creating it and its directory if needed), or say who
    /// has it. Never blocks for long: a held lock is an immediate, explained error.
    pub fn acquire(path: &Path) -> Result<Acquired, LockError> {
        let io_err = |op: &'static str| {
            let path = path.to_path_buf();
            move |source| LockError::Io { op, path, source }
        };
        let release = release_label(path);
        let dir = parent_or_dot(path);
        create_dir_all_durable(dir).map_err(io_err("create the directory of"))?;
        let (mut file, created) = open_lock_file(path).map_err(io_err("open"))?;
        if created {
            sync_dir(dir).map_err(io_err("make durable the directory of"))?;
        }

        let mut attempts = 0;
        loop {
            match try_flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
                Ok(true) => break,
                Ok(false) => {}
                Err(source) => return Err(io_err("lock")(source)),
            }
            // Someone holds it. If the file names a live process, that is the answer.
            // (A holder on another host cannot be checked; the lock being held is
            // reason enough to believe it.)
            if let Some(holder) = read_holder(&mut file)
                && (holder.host != hostname() || pid_is_alive(holder.pid))
            {
                return Err(LockError::Held { release, holder });
            }
            // Otherwise it is a reader's momentary shared lock, or a new holder that
            // has not written its name yet: give it a moment before calling it busy.
            attempts += 1;
            if attempts > BUSY_RETRIES {
                return Err(LockError::Busy {
                    release,
                    path: path.to_path_buf(),
                });
            }
            std::thread::sleep(BUSY_RETRY_PAUSE);
        }

        // We hold the flock. Anything still written in the file is a run that ended
        // without cleaning up.
        let here = hostname();
        let previous = read_holder(&mut file);
        if let Some(prev) = &previous {
            if prev.host != here {
                // Dropping `file` releases the flock we just took.
                return Err(LockError::OtherHost {
                    release,
                    holder: Box::new(prev.clone()),
                    here,
                    path: path.to_path_buf(),
                });
            }
            if pid_is_alive(prev.pid) && prev.pid != std::process::id() {
                // The kernel says nobody holds the lock, so this is not that run:
                // the pid has been reused (typically after a reboot).
                tracing::warn!(
                    path = %path.display(),
                    previous = %prev,
                    "lock file names a live pid that does not hold the lock; \
                     assuming the pid was reused and taking over"
                );
            }
            tracing::warn!(
                path = %path.display(),
                previous = %prev,
                "taking over release lock from a run that ended without releasing it"
            );
        }

        let holder = Holder::current();
        let mut lock = ReleaseLock {
            file,
            path: path.to_path_buf(),
            holder,
            announced: false,
            handed_over: false,
        };
        if previous.is_none() {
            lock.announce().map_err(io_err("write"))?;
        }
        // Else the file keeps naming the run that died until the caller has
        // journaled the takeover and calls `announce`: killed in between, the next
        // run still finds (and journals) the evidence.
        tracing::debug!(path = %path.display(), holder = %lock.holder, "release lock acquired");
        Ok(Acquired {
            lock,
            took_over_from: previous,
        })
    }

    /// Writes this process into the lock file as its holder. Called by `acquire`
    /// when there was nobody to take over from, and by the caller once a takeover
    /// is in the journal.
    pub fn announce(&mut self) -> io::Result<()> {
        if !self.announced {
            write_holder(&mut self.file, &self.holder)?;
            self.announced = true;
        }
        Ok(())
    }

    /// The descriptor that holds the lock, to pass to a process that takes the
    /// release over (it inherits the descriptor, so the lock is never free).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.file.as_raw_fd()
    }

    /// Lets go of our descriptor after another process inherited it (see
    /// [`ReleaseLock::adopt`]): the lock stays held by that process, and the file
    /// keeps naming it.
    pub fn hand_over(mut self) {
        self.handed_over = true;
    }

    /// Takes over the lock on `path` through descriptor `fd`, inherited from the
    /// process that held it (a cockpit handing its release to a background runner).
    /// The descriptor must be open on that very file (checked by device and inode),
    /// and the lock must be ours through it. Returns the lock, now naming this
    /// process, and whoever the file named before.
    pub fn adopt(
        fd: std::os::fd::RawFd,
        path: &Path,
    ) -> Result<(ReleaseLock, Option<Holder>), LockError> {
        use std::os::fd::FromRawFd;
        use std::os::unix::fs::MetadataExt;
        let io_err = |op: &'static str| {
            let path = path.to_path_buf();
            move |source| LockError::Io { op, path, source }
        };
        let release = release_label(path);
        if fd <= 2 {
            return Err(io_err("adopt")(io::Error::other(format!(
                "descriptor {fd} is a standard stream, not a lock"
            ))));
        }
        let on_disk = std::fs::metadata(path).map_err(io_err("adopt"))?;
        // SAFETY: borrowed only to read its metadata, never closed here
        // (ManuallyDrop): whether we own it is decided below.
        let probe = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
        let meta = probe.metadata().map_err(io_err("adopt"))?;
        if meta.dev() != on_disk.dev() || meta.ino() != on_disk.ino() {
            return Err(io_err("adopt")(io::Error::other(format!(
                "descriptor {fd} is not open on the lock file"
            ))));
        }
        // SAFETY: the descriptor was passed to us to own (it was inherited across
        // exec for exactly this), it is open (its metadata read), and it is on the
        // lock file, which this process has not opened otherwise: nothing else in
        // this process owns it.
        let mut file = unsafe { File::from_raw_fd(fd) };
        // Close it on any later exec: only a hand-over passes it on, on purpose.
        // SAFETY: fcntl on a descriptor we now own.
        unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
        match try_flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
            Ok(true) => {}
            Ok(false) => {
                return Err(match read_holder(&mut file) {
                    Some(holder) => LockError::Held { release, holder },
                    None => LockError::Busy {
                        release,
                        path: path.to_path_buf(),
                    },
                });
            }
            Err(source) => return Err(io_err("lock")(source)),
        }
        let previous = read_holder(&mut file);
        let holder = Holder::current();
        write_holder(&mut file, &holder).map_err(io_err("write"))?;
        tracing::info!(path = %path.display(), %holder, "release lock handed over to this process");
        Ok((
            ReleaseLock {
                file,
                path: path.to_path_buf(),
                holder,
                announced: true,
                handed_over: false,
            },
            previous,
        ))
    }

    /// Who we wrote into the lock file.
    pub fn holder(&self) -> &Holder {
        &self.holder
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ReleaseLock {
    fn drop(&mut self) {
        if !self.announced || self.handed_over {
            // A takeover never journaled: leave the dead run's name for the next.
            // Handed over: another process holds the lock through the same open
            // file description and has written its name: leave both alone.
            return;
        }
        // Empty the file while we still hold the flock, so the next holder can tell
        // a clean handover from a crash. Synced so a power cut right after a clean
        // exit is not later reported as a crash. Failure only costs that accuracy.
        let emptied = self.file.set_len(0).and_then(|()| self.file.sync_data());
        if let Err(e) = emptied {
            tracing::warn!(path = %self.path.display(), error = %e, "could not empty lock file on release");
        }
        // Closing the file (dropping it right after this) releases the flock.
    }
}

/// Whether a live process holds the lock at `path`, and who. For readers in other
/// processes (`status`). `None` when nobody holds it, when there is no lock file,
/// and in the microseconds between a holder locking and writing its name.
pub fn current_holder(path: &Path) -> Option<Holder> {
    let mut file = match super::state_dir::open_state_file_read(path) {
        Ok(file) => file,
        Err(e) => {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), error = %e, "cannot open lock file");
            }
            return None;
        }
    };
    // A shared lock conflicts only with the holder's exclusive one; it is released
    // when `file` closes at the end of this function.
    match try_flock(&file, libc::LOCK_SH | libc::LOCK_NB) {
        Ok(true) => None,
        Ok(false) => read_holder(&mut file),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot test lock file");
            None
        }
    }
}

/// Who the lock file names, whether or not they still hold it: for telling a run
/// that ended without cleaning up (crash, kill -9) from one that stopped cleanly,
/// when nobody holds the lock ([`current_holder`] is `None`).
pub fn last_holder(path: &Path) -> Option<Holder> {
    let mut file = File::open(path).ok()?;
    read_holder(&mut file)
}

/// The release a lock file belongs to, for messages: the name of its directory
/// (`releases/v1.0.1/lock` → `v1.0.1`).
fn release_label(path: &Path) -> String {
    path.parent()
        .and_then(Path::file_name)
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Open (or create) the lock file without truncating it: its content may be the
/// previous holder we need to report. Returns whether we created it.
fn open_lock_file(path: &Path) -> io::Result<(File, bool)> {
    // Never through a symlink: a link planted here would receive the holder's
    // details and then be truncated. Mode 0600 (or the shared group's).
    super::state_dir::open_state_file(path, false)
}

/// `flock` without blocking: `Ok(true)` got it, `Ok(false)` someone else has it.
fn try_flock(file: &File, operation: libc::c_int) -> io::Result<bool> {
    loop {
        // SAFETY: flock on a file descriptor we own and keep open; no memory involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
        if rc == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(err),
        }
    }
}

/// The holder named in the file, if it names one we can read.
fn read_holder(file: &mut File) -> Option<Holder> {
    use std::io::Seek;
    let mut content = Vec::new();
    // Read from the start, whatever the cursor: we may read more than once.
    file.seek(io::SeekFrom::Start(0)).ok()?;
    file.read_to_end(&mut content).ok()?;
    if content.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    match serde_json::from_slice(&content) {
        Ok(holder) => Some(holder),
        Err(e) => {
            // A holder that died mid-write, or a file someone edited.
            tracing::warn!(error = %e, "lock file content is not a holder; ignoring it");
            None
        }
    }
}

fn write_holder(file: &mut File, holder: &Holder) -> io::Result<()> {
    use std::io::Seek;
    let mut json = serde_json::to_vec(holder).map_err(io::Error::other)?;
    json.push(b'\n');
    file.set_len(0)?;
    file.seek(io::SeekFrom::Start(0))?;
    file.write_all(&json)?;
    file.sync_data()
}

/// Whether a process with this pid exists on this host. Signal 0 checks without
/// sending anything; EPERM means it exists but belongs to someone else.
fn pid_is_alive(pid: u32) -> bool {
    // pid 0 and values past pid_t would address process groups, not a process.
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 performs only the existence/permission check.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// This machine's host name, as `hostname` prints it.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for buf.len() bytes; gethostname writes at most that.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        tracing::warn!(error = %io::Error::last_os_error(), "gethostname failed");
        return "unknown-host".to_string();
    }
    // POSIX does not promise a terminating NUL on truncation; stop at the buffer end.
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..len]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_pid_is_alive_and_pid_zero_is_not_a_process() {
        assert!(pid_is_alive(std::process::id()));
        assert!(!pid_is_alive(0));
        assert!(!pid_is_alive(u32::MAX));
    }

    #[test]
    fn hostname_is_not_empty() {
        assert!(!hostname().is_empty());
    }

    #[test]
    fn hostname_is_the_kernels() {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(hostname(), kernel.trim());
    }

    #[test]
    fn a_reaped_childs_pid_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!pid_is_alive(pid), "pid {pid} was reaped");
    }

    #[test]
    fn held_message_names_release_pid_host_and_time() {
        let err = LockError::Held {
            release: "v1.0.1".into(),
            holder: Holder {
                pid: 4242,
                host: "ci-7".into(),
                since: "2025-05-01T14:30:05Z".parse().unwrap(),
                kind: HolderKind::Runner,
                what: String::new(),
            },
        };
        let msg = err.to_string();
        assert!(
            msg.starts_with(
                "release v1.0.1 is being run by pid 4242 on host ci-7 since 2025-05-01 14:30:05 UTC;"
            ),
            "{msg}"
        );
    }

    #[test]
    fn release_label_is_the_directory_name() {
        assert_eq!(
            release_label(Path::new("/s/releases/v1.0.1/lock")),
            "v1.0.1"
        );
    }
}
