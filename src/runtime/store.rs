//! Opening a release's storage: the one way in, for the loop that runs a release and
//! for the offline commands alike.
//!
//! Order matters: the lock first (one writer per journal), then the journal is
//! replayed, then a takeover from a holder that died is journaled before anything
//! else, so that even a process killed right after leaves a trace of it.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::journal::{JournalError, JournalWriter};
use super::lock::{Acquired, LockError, ReleaseLock};
use super::state_dir::{StateDir, create_dir_all_durable};
use crate::engine::{Event, ReleaseState, state::FoldError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Lock(#[from] LockError),
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
}

/// A release's storage, held: its lock, its journal open for appending, and what the
/// journal said.
pub struct OpenedRelease {
    pub lock: ReleaseLock,
    pub journal: JournalWriter<Event>,
    /// Every event replayed, takeover included when there was one.
    pub events: Vec<Event>,
    /// Events that were on disk before this open (the takeover is not among them).
    pub replayed: usize,
    /// The journal's last line was torn by a crash and dropped.
    pub dropped_tail: bool,
    /// The takeover event journaled because the last holder died, if it did.
    pub takeover: Option<Event>,
    pub journal_path: PathBuf,
}

impl OpenedRelease {
    /// The state the journal describes (`None` for a journal with no event yet).
    pub fn fold(&self) -> Result<Option<ReleaseState>, StoreError> {
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
}

/// How to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// The release must exist: nothing is created for a label with no journal.
    Existing,
    /// Create its directory and an empty journal when there is none (a new release).
    CreateIfMissing,
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
    let journal_path = dir.journal_path(label);
    if !journal_path.exists() {
        return Err(StoreError::NoSuchRelease(label.to_string()));
    }
    let (mut journal, replay) = JournalWriter::<Event>::open(&journal_path)?;
    let dropped_tail = replay.dropped_tail.is_some();
    let mut events: Vec<Event> = replay.into_events().collect();
    let replayed = events.len();
    let at = events.last().map_or(now, |e| e.at.max(now));
    let here = lock.holder().clone();
    let e = Event {
        at,
        event: crate::engine::EventKind::HandedOver {
            from_pid: from.as_ref().map_or(0, |h| h.pid),
            to_pid: here.pid,
            host: here.host,
            actor: actor.to_string(),
        },
    };
    journal.append_batch(std::slice::from_ref(&e))?;
    events.push(e.clone());
    Ok(OpenedRelease {
        lock,
        journal,
        events,
        replayed,
        dropped_tail,
        takeover: Some(e),
        journal_path,
    })
}

/// Takes the lock, replays the journal and journals a takeover (stamped `now`, or
/// the last event's instant if that is later).
pub fn open(
    dir: &StateDir,
    label: &str,
    mode: OpenMode,
    now: DateTime<Utc>,
) -> Result<OpenedRelease, StoreError> {
    let journal_path = dir.journal_path(label);
    if mode == OpenMode::Existing && !journal_path.exists() {
        return Err(StoreError::NoSuchRelease(label.to_string()));
    }
    let release_dir = dir.release_dir(label);
    create_dir_all_durable(&release_dir).map_err(|source| StoreError::StateDir {
        path: release_dir.clone(),
        source,
    })?;
    let Acquired {
        lock,
        took_over_from,
    } = ReleaseLock::acquire(&dir.lock_path(label))?;
    let (mut journal, replay) = JournalWriter::<Event>::open(&journal_path)?;
    let dropped_tail = replay.dropped_tail.is_some();
    let mut events: Vec<Event> = replay.into_events().collect();
    let replayed = events.len();
    let takeover = match took_over_from {
        // A takeover of a release with no event yet has nothing to be recorded in.
        Some(holder) if !events.is_empty() => {
            let at = events.last().map_or(now, |e| e.at.max(now));
            let e = holder.taken_over(at);
            journal.append_batch(std::slice::from_ref(&e))?;
            events.push(e.clone());
            Some(e)
        }
        _ => None,
    };
    Ok(OpenedRelease {
        lock,
        journal,
        events,
        replayed,
        dropped_tail,
        takeover,
        journal_path,
    })
}
