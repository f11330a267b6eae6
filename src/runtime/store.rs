//! Opening a release's storage: the one way in, for the loop that runs a release and
//! for the offline commands alike.
//!
//! Order matters:
//! 1. the state and release dirs are checked (no one else's symlink), and a release
//!    that does not exist is refused before anything is created;
//! 2. the lock (one writer per journal);
//! 3. the journal is replayed and its hash chain judged;
//! 4. an accepted tamper and a takeover from a holder that died are journaled before
//!    anything else, so that even a process killed right after leaves their trace;
//! 5. only then does the lock file stop naming the run that died.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::journal::{JournalError, JournalWriter};
use super::lock::{Acquired, LockError, ReleaseLock};
use super::state_dir::{StateDir, create_dir_all_durable};
use crate::engine::{Event, EventKind, ReleaseState, state::FoldError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Lock(Box<LockError>),
    #[error("journal {path}: {source}")]
    Fold { path: PathBuf, source: FoldError },
    #[error(
        "no release {0} in the state dir; start it with `shipdeck deploy --version {0} --type …`"
    )]
    NoSuchRelease(String),
    #[error("cannot create the state dir {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    StateDirRefused(String),
}

impl From<LockError> for StoreError {
    fn from(e: LockError) -> StoreError {
        StoreError::Lock(Box::new(e))
    }
}

/// A release's storage, held: its lock, its journal open for appending, and what the
/// journal said.
pub struct OpenedRelease {
    pub lock: ReleaseLock,
    pub journal: JournalWriter<Event>,
    /// The state as of the checkpoint the open started from, if it used one.
    pub base: Option<ReleaseState>,
    /// The events after `base` (all of them without a checkpoint), including those
    /// this open journaled (`first`).
    pub events: Vec<Event>,
    /// Events that were on disk before this open (checkpointed ones included).
    pub replayed: usize,
    /// The journal's last line was torn by a crash and dropped.
    pub dropped_tail: bool,
    /// What this open journaled before anything else: an accepted tamper, a lock
    /// takeover from a holder that died.
    pub first: Vec<Event>,
    pub journal_path: PathBuf,
}

impl OpenedRelease {
    /// The state the journal describes (`None` for a journal with no event yet).
    pub fn fold(&self) -> Result<Option<ReleaseState>, StoreError> {
        if let Some(base) = &self.base {
            let mut state = base.clone();
            for e in &self.events {
                state.apply(e);
            }
            return Ok(Some(state));
        }
        if self.events.is_empty() {
            return Ok(None);
        }
        ReleaseState::fold(&self.events)
            .map(Some)
            .map_err(|source| StoreError::Fold {
                path: self.journal_path.clone(),
                source,
            })
    }

    /// When the last event on disk happened.
    pub fn last_at(&self) -> Option<DateTime<Utc>> {
        self.events
            .last()
            .map(|e| e.at)
            .or(self.base.as_ref().map(|s| s.last_event_at))
    }
}

/// How to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The release must exist: nothing is created for a label with no journal.
    Existing,
    /// Create its directory and an empty journal when there is none (a new release).
    CreateIfMissing,
}

#[derive(Debug, Clone)]
pub struct OpenOptions<'a> {
    pub mode: OpenMode,
    /// Go on with a journal whose hash chain is broken; the acceptance is journaled
    /// first, naming `actor`.
    pub accept_tampered: bool,
    pub actor: &'a str,
    /// Release time now: stamps what this open journals (never before the last event).
    pub now: DateTime<Utc>,
}

/// Opens a release whose lock was handed to this process (a cockpit passing its
/// release to a background runner): replays the journal, then journals the handover
/// (from the holder the lock file named, to this process) before anything else.
pub fn open_handed_over(
    dir: &StateDir,
    label: &str,
    now: DateTime<Utc>,
    lock: ReleaseLock,
    from: Option<super::lock::Holder>,
    actor: &str,
) -> Result<OpenedRelease, StoreError> {
    let opts = OpenOptions {
        mode: OpenMode::Existing,
        accept_tampered: false,
        actor,
        now,
    };
    let mut opened = open_with(dir, label, &opts, |_| {
        Ok::<_, StoreError>(Acquired {
            lock,
            took_over_from: None,
        })
    })?;
    let at = opened.last_at().map_or(now, |t| t.max(now));
    let here = opened.lock.holder().clone();
    let e = Event {
        at,
        event: EventKind::HandedOver {
            from_pid: from.as_ref().map_or(0, |h| h.pid),
            to_pid: here.pid,
            host: here.host,
            actor: actor.to_string(),
        },
    };
    opened
        .journal
        .append_batch(std::slice::from_ref(&e))
        .map_err(StoreError::from)?;
    opened.events.push(e.clone());
    opened.first.push(e);
    Ok(opened)
}

/// Opens with the lock taken by [`ReleaseLock::acquire`].
pub fn open(
    dir: &StateDir,
    label: &str,
    opts: &OpenOptions<'_>,
) -> Result<OpenedRelease, StoreError> {
    open_with(dir, label, opts, |path| {
        ReleaseLock::acquire(path).map_err(StoreError::from)
    })
}

/// Opens with the lock taken by `acquire` (an offline command waits briefly for
/// another command; a runner does not wait).
pub fn open_with<E>(
    dir: &StateDir,
    label: &str,
    opts: &OpenOptions<'_>,
    acquire: impl FnOnce(&Path) -> Result<Acquired, E>,
) -> Result<OpenedRelease, E>
where
    E: From<StoreError>,
{
    dir.check(Some(label))
        .map_err(|e| StoreError::StateDirRefused(e.to_string()))?;
    let journal_path = dir.journal_path(label);
    // Resuming a release that does not exist creates nothing: no directory, no lock.
    if opts.mode == OpenMode::Existing && !journal_path.is_file() {
        return Err(StoreError::NoSuchRelease(label.to_string()).into());
    }
    let release_dir = dir.release_dir(label);
    create_dir_all_durable(&release_dir).map_err(|source| StoreError::StateDir {
        path: release_dir.clone(),
        source,
    })?;
    let Acquired {
        mut lock,
        took_over_from,
    } = acquire(&dir.lock_path(label))?;
    let (base, (mut journal, replay, tampered)) =
        open_journal(dir, label, &journal_path, opts.accept_tampered)?;
    let dropped_tail = replay.dropped_tail.is_some();
    let mut events: Vec<Event> = replay.into_events().collect();
    let replayed = events.len() + base.as_ref().map_or(0, |s| s.events_applied as usize);
    if opts.mode == OpenMode::Existing && events.is_empty() && base.is_none() {
        // The journal was there a moment ago and is empty: an empty journal is no
        // release. It is left as found.
        return Err(StoreError::NoSuchRelease(label.to_string()).into());
    }
    let last_at = events
        .last()
        .map(|e| e.at)
        .or(base.as_ref().map(|s| s.last_event_at));
    let at = last_at.map_or(opts.now, |t| t.max(opts.now));
    let mut first = Vec::new();
    if !tampered.is_empty() {
        first.push(Event {
            at,
            event: EventKind::TamperAccepted {
                lines: tampered,
                actor: opts.actor.to_string(),
            },
        });
    }
    // A takeover of a release with no event yet has nothing to be recorded in.
    if let Some(holder) = took_over_from.filter(|_| last_at.is_some()) {
        first.push(holder.taken_over(at));
    }
    if !first.is_empty() {
        journal.append_batch(&first).map_err(StoreError::from)?;
        events.extend(first.iter().cloned());
    }
    // Only now may the lock file stop naming the run that died.
    lock.announce().map_err(|source| {
        StoreError::from(LockError::Io {
            op: "write",
            path: lock.path().to_path_buf(),
            source,
        })
    })?;
    Ok(OpenedRelease {
        lock,
        journal,
        base,
        events,
        replayed,
        dropped_tail,
        first,
        journal_path,
    })
}

/// The journal, from the newest usable checkpoint when there is one, else whole. A
/// checkpoint that does not read or does not match the journal is set aside with a
/// warning: the journal is the truth, the checkpoint only saves time.
fn open_journal(
    dir: &StateDir,
    label: &str,
    journal_path: &Path,
    accept_tampered: bool,
) -> Result<(Option<ReleaseState>, super::release_journal::Opened), StoreError> {
    let at = super::checkpoint::path(dir, label);
    match super::checkpoint::read(&at) {
        Ok(Some((position, state))) => {
            match super::release_journal::open_after(journal_path, &position, accept_tampered) {
                Ok(opened) => return Ok((Some(state), opened)),
                Err(JournalError::StalePosition { why, .. }) => {
                    tracing::warn!(checkpoint = %at.display(), "checkpoint set aside, replaying the whole journal: {why}");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!("{e}; replaying the whole journal"),
    }
    Ok((
        None,
        super::release_journal::open(journal_path, accept_tampered)?,
    ))
}
