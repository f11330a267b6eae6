//! Checkpoints: a release's state as of a journal position, so that resuming replays
//! only the journal's tail instead of all of it.
//!
//! A checkpoint is written atomically (a temporary file, fsync, rename over the
//! old one, fsync of the directory): a crash leaves the old checkpoint or the new
//! one, never half of one. It names the position it was taken at (events, bytes,
//! and the hash of the line that ends there); the journal must still end that line
//! there with that hash, or the checkpoint is stale and the journal is replayed
//! whole (with a warning). The journal stays the truth: a checkpoint only saves
//! time, and deleting it is always safe.

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::journal::Position;
use super::state_dir::{StateDir, open_state_file_read, parent_or_dot, sync_dir};
use crate::engine::ReleaseState;

/// This build's checkpoint format.
const FORMAT: u32 = 1;

/// The largest checkpoint read (a 10,000-customer state is a few tens of MB).
const MAX_BYTES: u64 = 1024 * 1024 * 1024;

/// A checkpoint is written when this many events were journaled since the last one…
/// (10,000 events of a 10,000-customer rollout are about 3 MB of journal: a resume
/// after a crash replays at most that much).
pub const EVERY_EVENTS: u64 = 10_000;

/// Sets how many events a checkpoint is written after, instead of [`EVERY_EVENTS`]
/// (drills and tests that want checkpoints often; a value that is not a whole number
/// of at least 1 is ignored).
pub const EVERY_EVENTS_ENV: &str = "SHIPDECK_CHECKPOINT_EVENTS";

/// How many events a checkpoint is written after: [`EVERY_EVENTS_ENV`] if it is set
/// to a whole number of at least 1, else [`EVERY_EVENTS`].
pub fn every_events() -> u64 {
    std::env::var(EVERY_EVENTS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(EVERY_EVENTS)
}

#[derive(Serialize)]
struct Out<'a> {
    v: u32,
    position: &'a Position,
    state: &'a ReleaseState,
}

#[derive(Deserialize)]
struct In {
    v: u32,
    position: Position,
    state: ReleaseState,
}

pub fn path(dir: &StateDir, label: &str) -> PathBuf {
    dir.release_dir(label).join("checkpoint.json")
}

/// The checkpoint next to a release's journal (for a reader that knows only the
/// journal's path, such as an attaching client).
pub fn beside(journal: &Path) -> PathBuf {
    journal.with_file_name("checkpoint.json")
}

/// Writes the checkpoint atomically.
pub fn write(path: &Path, position: &Position, state: &ReleaseState) -> io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    // A leftover from a crash mid-write is simply replaced.
    let _ = std::fs::remove_file(&tmp);
    let (file, _) = super::state_dir::open_state_file(&tmp, false)?;
    // Streamed: at 10,000 customers the text is 13 MB, never held whole in memory.
    let mut out = io::BufWriter::with_capacity(1 << 16, file);
    serde_json::to_writer(
        &mut out,
        &Out {
            v: FORMAT,
            position,
            state,
        },
    )
    .map_err(io::Error::other)?;
    let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    sync_dir(parent_or_dot(path))
}

/// Why a checkpoint was not used.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint {path}: {why}")]
pub struct Unusable {
    pub path: PathBuf,
    pub why: String,
}

/// Reads the checkpoint at `path`: `Ok(None)` when there is none.
pub fn read(path: &Path) -> Result<Option<(Position, ReleaseState)>, Unusable> {
    let unusable = |why: String| Unusable {
        path: path.to_path_buf(),
        why,
    };
    let file = match open_state_file_read(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(unusable(e.to_string())),
    };
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unusable(e.to_string()))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(unusable(
            "larger than any checkpoint this build writes".into(),
        ));
    }
    let read: In = serde_json::from_slice(&bytes).map_err(|e| unusable(e.to_string()))?;
    if read.v != FORMAT {
        return Err(unusable(format!(
            "format {} (this build reads {FORMAT})",
            read.v
        )));
    }
    if read.state.events_applied != read.position.seq {
        return Err(unusable(format!(
            "its state has {} events, its position {}",
            read.state.events_applied, read.position.seq
        )));
    }
    Ok(Some((read.position, read.state.reindexed())))
}
