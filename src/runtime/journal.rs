//! The durable journal: an append-only file of JSON lines, one event per line.
//!
//! The journal is the truth (DESIGN.md, principle 3): state is a fold over it, and an
//! effect runs only after the event that asked for it is on disk. So this module
//! makes one promise and is shaped around it: **when [`JournalWriter::append_batch`]
//! returns `Ok`, every event in the batch has been written and `fdatasync`ed.**
//! The runtime hands over everything one decision (or several) produced in one call,
//! which is one `write` and one sync — group commit — because a sync costs about
//! the same for one event as for five hundred.
//!
//! Format (`journal.jsonl`), one object per line:
//!
//! ```text
//! {"v":2,"seq":0,"prev":"0000…0000","event":{...}}
//! {"v":2,"seq":1,"prev":"9f2c…e1a0","event":{...}}
//! ```
//!
//! `v` is the line format version (a newer one is refused, never guessed at), `seq`
//! counts from 0 with no gaps (a gap means lost history and is refused), `prev` is
//! the SHA-256 (hex) of the previous line's bytes (without its newline; 64 zeros on
//! the first line): a hash chain, so a line edited after it was written (every
//! actor rewritten to "mallory") breaks the link of the line after it, and replay
//! refuses the journal with that line number. Version 1 lines (written before the
//! chain existed) have no `prev`; they are accepted and reported as unchained, but
//! once a chained line appears every later line must be chained. The envelope is
//! generic over the event type so that this file knows nothing of the engine's
//! events; their own versioning lives in their serde enums.
//!
//! Crash handling follows from how a crash can damage an append-only file: only the
//! end can be incomplete, and only in ways a whole JSON line with its newline cannot
//! be. So on open, a last line without its newline, or one that is not JSON at all,
//! is a torn write from a batch that was never acknowledged: it is dropped (logged,
//! reported in [`Replay::dropped_tail`]) and cut off so the next append starts on a
//! clean line. Anything else that does not read — a bad line before the end, a
//! complete last line that is JSON but not an event we know, a sequence gap — is
//! [`JournalError::Corrupt`] and stops everything: silently skipping history would
//! make the state a lie.
//!
//! One writer per journal: the runtime holds the release's
//! [`ReleaseLock`](super::lock::ReleaseLock) before it opens one. Readers in other
//! processes use [`read_all`], which never writes.
//!
//! Every sync goes through [`Durability`] (the disk's `fdatasync`/`fsync` in
//! production): a real sync cannot be observed short of a power cut, so this seam is
//! how tests see the promise kept: one `fdatasync` per batch, the directory synced
//! when the file is created, and a failed sync poisoning the writer.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use super::state_dir::{create_dir_all_durable_with, parent_or_dot, sync_dir};

/// The newest line format this build reads and the one it writes (2: chained).
pub const FORMAT_VERSION: u32 = 2;

/// The `prev` of a journal's first line.
pub const GENESIS: [u8; 32] = [0; 32];

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Lowercase hex, as `prev` is written.
pub fn hex(hash: &[u8; 32]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(64);
    for b in hash {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// How the journal makes what it wrote durable. [`Disk`] is the only
/// implementation shipdeck runs with; tests put their own in its place to count
/// syncs or make one fail (see the module doc).
pub trait Durability: Send + Sync {
    /// `fdatasync` the journal file: its bytes are on disk when this returns `Ok`.
    fn sync_data(&self, file: &File) -> io::Result<()>;
    /// `fsync` a directory: the names created in it survive a crash.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// The disk's own syncs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Disk;

impl Durability for Disk {
    fn sync_data(&self, file: &File) -> io::Result<()> {
        file.sync_data()
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        sync_dir(dir)
    }
}

/// Journals opened under a directory while a [`DurabilityGuard`] for it lives, and
/// the durability they use instead of [`Disk`]. Empty unless a test put one in:
/// the runtime opens its journal deep inside, where a test cannot pass one down.
type Overrides = Vec<(u64, PathBuf, Arc<dyn Durability>)>;
static OVERRIDES: Mutex<Overrides> = Mutex::new(Vec::new());

/// Until the guard is dropped, every journal opened at a path under `dir` syncs
/// through `durability` instead of the disk. For tests of code that opens a journal
/// itself (the runtime); give each test its own directory.
pub fn use_durability_under(dir: &Path, durability: Arc<dyn Durability>) -> DurabilityGuard {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut overrides = OVERRIDES.lock().unwrap_or_else(|p| p.into_inner());
    overrides.push((id, dir.to_path_buf(), durability));
    DurabilityGuard { id }
}

/// Ends a [`use_durability_under`] when dropped (writers already open keep theirs).
#[derive(Debug)]
#[must_use = "the override ends when the guard is dropped"]
pub struct DurabilityGuard {
    id: u64,
}

impl Drop for DurabilityGuard {
    fn drop(&mut self) {
        let mut overrides = OVERRIDES.lock().unwrap_or_else(|p| p.into_inner());
        overrides.retain(|(id, _, _)| *id != self.id);
    }
}

/// The durability a journal at `path` syncs through: a test's override, else the disk.
fn durability_for(path: &Path) -> Arc<dyn Durability> {
    let overrides = OVERRIDES.lock().unwrap_or_else(|p| p.into_inner());
    overrides
        .iter()
        .rev()
        .find(|(_, dir, _)| path.starts_with(dir))
        .map_or_else(
            || Arc::new(Disk) as Arc<dyn Durability>,
            |(_, _, d)| d.clone(),
        )
}

/// Read buffer for replay: large enough that a million-line journal is read in a
/// few thousand syscalls.
const READ_BUFFER: usize = 256 * 1024;

/// A batch buffer that grew past this (one huge batch) is given back afterwards
/// instead of being kept for the life of the process.
const KEEP_BUFFER: usize = 1024 * 1024;

/// One event as read back, with its place in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<T> {
    pub seq: u64,
    pub event: T,
}

/// A torn last line that was dropped (writer) or ignored (reader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedTail {
    /// 1-based line number of the torn line.
    pub line: usize,
    /// How many bytes it had, newline included if it had one.
    pub bytes: usize,
}

/// Everything a journal held, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay<T> {
    pub records: Vec<Record<T>>,
    pub dropped_tail: Option<DroppedTail>,
    pub chain: ChainReport,
}

/// A line whose chain link does not match the line before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// 1-based line number of the line whose `prev` does not match.
    pub line: usize,
    pub reason: String,
}

/// What the hash chain says about a journal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChainReport {
    /// Lines written before the chain existed (line format 1), all at the start.
    pub unchained: usize,
    /// Lines that carry a link.
    pub chained: usize,
    /// Every link that does not match, in file order.
    pub breaks: Vec<ChainBreak>,
    /// Breaks an event in the journal records as accepted (`--accept-tampered`).
    pub accepted: Vec<usize>,
    /// SHA-256 of the last whole line: what the next line will link to. Kept
    /// somewhere else, it proves the journal up to here (the last line has no line
    /// after it to vouch for it).
    pub head: String,
}

impl ChainReport {
    /// Breaks no event has accepted.
    pub fn unaccepted(&self) -> Vec<&ChainBreak> {
        self.breaks
            .iter()
            .filter(|b| !self.accepted.contains(&b.line))
            .collect()
    }
}

/// Which chain breaks a reader or writer lets through.
pub enum Accept<'a, T> {
    /// Only those that events in the journal itself record as accepted; `accepted`
    /// names the lines an event accepted (none, for most events).
    Recorded(&'a dyn Fn(&T) -> Vec<usize>),
    /// All of them (`--accept-tampered`): the caller must journal that it did.
    All,
}

impl<T> Replay<T> {
    /// The events alone, in journal order: what `fold(apply, …)` wants.
    pub fn into_events(self) -> impl Iterator<Item = T> {
        self.records.into_iter().map(|record| record.event)
    }
}

/// Why the journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot {op} journal {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error(
        "journal {path} is corrupt at line {line}: {reason}. shipdeck will not skip \
         history; restore the file from a backup or repair that line by hand"
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error(
        "journal {path} line {line} was written by a newer shipdeck (line format \
         v{found}; this build reads up to v{supported}); use that version or newer"
    )]
    NewerVersion {
        path: PathBuf,
        line: usize,
        found: u32,
        supported: u32,
    },
    #[error(
        "journal {path} has been changed after it was written: line {line}: {reason}{more}. \
         shipdeck will not build a release on it; restore the file from a backup, or run \
         with --accept-tampered to go on anyway (that decision is journaled)"
    )]
    Tampered {
        path: PathBuf,
        line: usize,
        reason: String,
        more: String,
    },
    #[error("cannot serialize event {seq} for the journal: {source}")]
    Serialize { seq: u64, source: serde_json::Error },
    #[error("an empty batch was passed to the journal: there is nothing to append")]
    EmptyBatch,
    /// An earlier write or sync failed, so what is on disk is unknown. The writer
    /// refuses further appends; reopening replays what is really there.
    #[error(
        "journal {path} refused the append: an earlier write or sync failed, so \
         what is on disk is unknown; reopen the journal to recover"
    )]
    Poisoned { path: PathBuf },
    #[error("journal {path} does not match its checkpoint: {why}")]
    StalePosition { path: PathBuf, why: String },
}

impl JournalError {
    /// Whether the journal file does not exist (a release that never started).
    pub fn is_not_found(&self) -> bool {
        matches!(self, JournalError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// The envelope as written: borrows the event so a batch is serialized without
/// copying anything.
#[derive(Serialize)]
struct EnvelopeOut<'a, T> {
    v: u32,
    seq: u64,
    prev: &'a str,
    event: &'a T,
}

/// The envelope as read.
#[derive(Deserialize)]
struct EnvelopeIn<T> {
    v: u32,
    seq: u64,
    #[serde(default)]
    prev: Option<String>,
    event: T,
}

/// Just the version, for a line that did not read as an envelope: tells "written
/// by a newer shipdeck" apart from damage.
#[derive(Deserialize)]
struct VersionProbe {
    v: u32,
}

/// The appending end of a journal. Generic over the event type so one writer is
/// bound to one kind of event.
pub struct JournalWriter<T> {
    // Opened with O_APPEND: every write lands at the end, whatever else happened.
    file: File,
    path: PathBuf,
    next_seq: u64,
    /// Bytes of whole lines in the file; where to cut back to if a write fails.
    len: u64,
    /// SHA-256 of the last whole line: the next line's `prev`.
    last_hash: [u8; 32],
    /// Reused between batches so steady-state appends do not allocate.
    buf: Vec<u8>,
    poisoned: bool,
    durability: Arc<dyn Durability>,
    // fn(&T): the writer stores no T, so it is Send/Sync whatever T is.
    _event: PhantomData<fn(&T)>,
}

impl<T: Serialize + DeserializeOwned> JournalWriter<T> {
    /// Open the journal at `path` for appending, creating it (and its directory,
    /// durably) if needed, and return what it already holds. A torn last line is
    /// dropped and cut off; any other damage is an error.
    pub fn open(path: &Path) -> Result<(JournalWriter<T>, Replay<T>), JournalError> {
        Self::open_with(path, Accept::Recorded(&|_| Vec::new()))
    }

    /// [`JournalWriter::open`], letting through the chain breaks `accept` allows.
    pub fn open_with(
        path: &Path,
        accept: Accept<'_, T>,
    ) -> Result<(JournalWriter<T>, Replay<T>), JournalError> {
        Self::open_durable(path, accept, durability_for(path))
    }

    /// [`JournalWriter::open_with`], syncing through `durability` (tests).
    pub fn open_durable(
        path: &Path,
        accept: Accept<'_, T>,
        durability: Arc<dyn Durability>,
    ) -> Result<(JournalWriter<T>, Replay<T>), JournalError> {
        let io_err = |op: &'static str| {
            let path = path.to_path_buf();
            move |source| JournalError::Io { op, path, source }
        };
        let dir = parent_or_dot(path);
        create_dir_all_durable_with(dir, &|d| durability.sync_dir(d))
            .map_err(io_err("create the directory of"))?;
        let (file, created) = open_for_append(path).map_err(io_err("open"))?;
        if created {
            // The file's data is synced on every append, but its name lives in the
            // directory: without this a power cut could lose the whole file.
            durability
                .sync_dir(dir)
                .map_err(io_err("make durable the directory of"))?;
        }

        let scan = scan::<T>(BufReader::with_capacity(READ_BUFFER, &file), path)?;
        let chain = judge_chain(path, &scan, accept)?;
        if let Some(tail) = scan.dropped_tail {
            tracing::warn!(
                path = %path.display(),
                line = tail.line,
                bytes = tail.bytes,
                "dropping a torn last line from the journal (a write interrupted by a crash; \
                 it was never acknowledged)"
            );
            file.set_len(scan.good_len)
                .map_err(io_err("cut the torn last line from"))?;
            // Durable before we append after it, so a second crash cannot resurrect
            // the torn bytes in front of new lines.
            durability
                .sync_data(&file)
                .map_err(io_err("cut the torn last line from"))?;
        }
        let next_seq = scan.records.len() as u64;
        tracing::debug!(path = %path.display(), events = next_seq, "journal opened");
        let writer = JournalWriter {
            file,
            path: path.to_path_buf(),
            next_seq,
            len: scan.good_len,
            last_hash: scan.last_hash,
            buf: Vec::new(),
            poisoned: false,
            durability,
            _event: PhantomData,
        };
        Ok((
            writer,
            Replay {
                records: scan.records,
                dropped_tail: scan.dropped_tail,
                chain,
            },
        ))
    }

    /// [`JournalWriter::open_with`], replaying only the lines after `from` (a
    /// checkpoint's position). The line that ends at `from` must hash to its head,
    /// else [`JournalError::StalePosition`]: the file is not the one the checkpoint
    /// was taken of, and the caller replays it whole. The records returned are the
    /// tail only; their breaks are judged against acceptances in the tail.
    pub fn open_after(
        path: &Path,
        from: &Position,
        accept: Accept<'_, T>,
    ) -> Result<(JournalWriter<T>, Replay<T>), JournalError> {
        use std::io::{Seek, SeekFrom};
        let io_err = |op: &'static str| {
            let path = path.to_path_buf();
            move |source| JournalError::Io { op, path, source }
        };
        let stale = |why: &str| JournalError::StalePosition {
            path: path.to_path_buf(),
            why: why.to_string(),
        };
        if !path.is_file() {
            return Err(stale("the journal is gone"));
        }
        let (mut file, _) = open_for_append(path).map_err(io_err("open"))?;
        let head = parse_hash(&from.head).ok_or_else(|| stale("its head is not a hash"))?;
        let size = file.metadata().map_err(io_err("read"))?.len();
        if size < from.len {
            return Err(stale("the journal is shorter than the checkpoint"));
        }
        if from.seq > 0 {
            let last = line_ending_at(&mut file, from.len).map_err(io_err("read"))?;
            if last.map(|l| sha256(&l)) != Some(head) {
                return Err(stale("the line it ends on is not the one it recorded"));
            }
        }
        file.seek(SeekFrom::Start(from.len))
            .map_err(io_err("read"))?;
        let start = ScanStart {
            seq: from.seq,
            len: from.len,
            hash: head,
        };
        let scan = scan_from::<T>(BufReader::with_capacity(READ_BUFFER, &file), path, start)?;
        let chain = judge_chain(path, &scan, accept)?;
        let durability = durability_for(path);
        if scan.dropped_tail.is_some() {
            file.set_len(scan.good_len)
                .map_err(io_err("cut the torn last line from"))?;
            durability
                .sync_data(&file)
                .map_err(io_err("cut the torn last line from"))?;
        }
        let writer = JournalWriter {
            file,
            path: path.to_path_buf(),
            next_seq: from.seq + scan.records.len() as u64,
            len: scan.good_len,
            last_hash: scan.last_hash,
            buf: Vec::new(),
            poisoned: false,
            durability,
            _event: PhantomData,
        };
        Ok((
            writer,
            Replay {
                records: scan.records,
                dropped_tail: scan.dropped_tail,
                chain,
            },
        ))
    }

    /// Append `events` as one group commit: serialize all, one write, one
    /// `fdatasync`. Returns the seq of the last event. When this returns `Ok`, the
    /// events are durable and their effects may run; when it returns an I/O error,
    /// none of them may be assumed written, and the writer is poisoned (reopen it).
    /// An event that cannot be serialized fails the batch before anything is written.
    pub fn append_batch(&mut self, events: &[T]) -> Result<u64, JournalError> {
        if self.poisoned {
            return Err(JournalError::Poisoned {
                path: self.path.clone(),
            });
        }
        if events.is_empty() {
            return Err(JournalError::EmptyBatch);
        }
        self.buf.clear();
        let mut last = self.last_hash;
        for (seq, event) in (self.next_seq..).zip(events) {
            let prev = hex(&last);
            let envelope = EnvelopeOut {
                v: FORMAT_VERSION,
                seq,
                prev: &prev,
                event,
            };
            let start = self.buf.len();
            serde_json::to_writer(&mut self.buf, &envelope)
                .map_err(|source| JournalError::Serialize { seq, source })?;
            last = sha256(&self.buf[start..]);
            // serde_json escapes control characters in strings, so this newline is
            // the only one in the line.
            self.buf.push(b'\n');
        }

        if let Err(source) = self.file.write_all(&self.buf) {
            self.poisoned = true;
            // Take back a partial write so the file still ends on a whole line; if
            // even that fails, the next open drops the torn tail.
            if let Err(e) = self.file.set_len(self.len) {
                tracing::warn!(path = %self.path.display(), error = %e, "could not cut back a failed journal write");
            }
            return Err(JournalError::Io {
                op: "append to",
                path: self.path.clone(),
                source,
            });
        }
        if let Err(source) = self.durability.sync_data(&self.file) {
            // After a failed fsync the kernel may have dropped the dirty pages and
            // cleared the error: retrying would "succeed" without the data. Poison.
            self.poisoned = true;
            return Err(JournalError::Io {
                op: "sync",
                path: self.path.clone(),
                source,
            });
        }

        self.len += self.buf.len() as u64;
        self.next_seq += events.len() as u64;
        self.last_hash = last;
        if self.buf.capacity() > KEEP_BUFFER {
            self.buf = Vec::new();
        }
        Ok(self.next_seq - 1)
    }

    /// Append one event (a batch of one).
    pub fn append(&mut self, event: &T) -> Result<u64, JournalError> {
        self.append_batch(std::slice::from_ref(event))
    }
}

// By hand: the derived form would print the last batch's bytes.
impl<T> std::fmt::Debug for JournalWriter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JournalWriter")
            .field("path", &self.path)
            .field("next_seq", &self.next_seq)
            .field("len", &self.len)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

/// Where a journal stands after its last whole line: what a checkpoint records so
/// that a later open can replay only what follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Events before this point (the next line's seq).
    pub seq: u64,
    /// Bytes before this point.
    pub len: u64,
    /// SHA-256 (hex) of the line that ends here: the next line's `prev`.
    pub head: String,
}

impl<T> JournalWriter<T> {
    /// Where the journal stands now.
    pub fn position(&self) -> Position {
        Position {
            seq: self.next_seq,
            len: self.len,
            head: hex(&self.last_hash),
        }
    }

    /// The seq the next appended event will get (= number of events in the journal).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Read a journal without writing to it: for `status`, audit and decision-log
/// readers, possibly while another process appends. A torn last line is ignored
/// (it may be a write in progress) and reported in `dropped_tail`; the file is
/// never changed.
pub fn read_all<T: DeserializeOwned>(path: &Path) -> Result<Replay<T>, JournalError> {
    read_all_with(path, Accept::Recorded(&|_| Vec::new()))
}

/// [`read_all_with`] of the lines after `from` (a checkpoint's position), without
/// writing: the line that ends at `from` must hash to its head, else
/// [`JournalError::StalePosition`] (the caller reads the journal whole). A torn
/// last line is ignored, as [`read_all`] does.
pub fn read_after_with<T: DeserializeOwned>(
    path: &Path,
    from: &Position,
    accept: Accept<'_, T>,
) -> Result<Replay<T>, JournalError> {
    use std::io::{Seek, SeekFrom};
    let io_err = |op: &'static str| {
        let path = path.to_path_buf();
        move |source| JournalError::Io { op, path, source }
    };
    let stale = |why: &str| JournalError::StalePosition {
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    let mut file = super::state_dir::open_state_file_read(path).map_err(io_err("open"))?;
    let head = parse_hash(&from.head).ok_or_else(|| stale("its head is not a hash"))?;
    let size = file.metadata().map_err(io_err("read"))?.len();
    if size < from.len {
        return Err(stale("the journal is shorter than the checkpoint"));
    }
    if from.seq > 0 {
        let last = line_ending_at(&mut file, from.len).map_err(io_err("read"))?;
        if last.map(|l| sha256(&l)) != Some(head) {
            return Err(stale("the line it ends on is not the one it recorded"));
        }
    }
    file.seek(SeekFrom::Start(from.len))
        .map_err(io_err("read"))?;
    let start = ScanStart {
        seq: from.seq,
        len: from.len,
        hash: head,
    };
    let scan = scan_from::<T>(BufReader::with_capacity(READ_BUFFER, &file), path, start)?;
    let chain = judge_chain(path, &scan, accept)?;
    Ok(Replay {
        records: scan.records,
        dropped_tail: scan.dropped_tail,
        chain,
    })
}

/// [`read_all`], letting through the chain breaks `accept` allows.
pub fn read_all_with<T: DeserializeOwned>(
    path: &Path,
    accept: Accept<'_, T>,
) -> Result<Replay<T>, JournalError> {
    let file = super::state_dir::open_state_file_read(path).map_err(|source| JournalError::Io {
        op: "open",
        path: path.to_path_buf(),
        source,
    })?;
    let scan = scan::<T>(BufReader::with_capacity(READ_BUFFER, file), path)?;
    let chain = judge_chain(path, &scan, accept)?;
    if let Some(tail) = scan.dropped_tail {
        tracing::debug!(
            path = %path.display(),
            line = tail.line,
            bytes = tail.bytes,
            "ignoring an incomplete last journal line (being written, or torn)"
        );
    }
    Ok(Replay {
        records: scan.records,
        dropped_tail: scan.dropped_tail,
        chain,
    })
}

/// The chain report of a scan, or the refusal of a journal with a break that
/// `accept` does not let through.
fn judge_chain<T>(
    path: &Path,
    scan: &Scan<T>,
    accept: Accept<'_, T>,
) -> Result<ChainReport, JournalError> {
    let mut chain = scan.chain.clone();
    match accept {
        Accept::All => {}
        Accept::Recorded(accepted) => {
            if !chain.breaks.is_empty() {
                chain.accepted = scan
                    .records
                    .iter()
                    .flat_map(|r| accepted(&r.event))
                    .collect();
            }
            let open = chain.unaccepted();
            if let Some(first) = open.first() {
                return Err(JournalError::Tampered {
                    path: path.to_path_buf(),
                    line: first.line,
                    reason: first.reason.clone(),
                    more: if open.len() > 1 {
                        format!(" ({} broken links in all)", open.len())
                    } else {
                        String::new()
                    },
                });
            }
        }
    }
    Ok(chain)
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Whether the journal at `path` still ends a line at `from` with the hash it
/// records: a reader (an attaching client) may then take a checkpoint at `from`
/// and read only what follows. Read-only; the writer's own check is in
/// [`JournalWriter::open_after`].
pub fn position_holds(path: &Path, from: &Position) -> io::Result<bool> {
    let mut file = File::open(path)?;
    if file.metadata()?.len() < from.len {
        return Ok(false);
    }
    if from.seq == 0 {
        return Ok(from.len == 0);
    }
    let Some(head) = parse_hash(&from.head) else {
        return Ok(false);
    };
    Ok(line_ending_at(&mut file, from.len)?.map(|l| sha256(&l)) == Some(head))
}

/// The bytes of the line that ends (with its newline) at byte `end`, without the
/// newline; `None` when no newline ends there. Reads backwards in chunks, so a
/// checkpoint near the end of a large journal costs a few reads.
fn line_ending_at(file: &mut File, end: u64) -> io::Result<Option<Vec<u8>>> {
    use std::io::{Read, Seek, SeekFrom};
    const CHUNK: u64 = 64 * 1024;
    /// A line longer than this is not a line a checkpoint ends on (a plan of a very
    /// large fleet is the longest, far below it).
    const MAX_LINE: u64 = 256 * 1024 * 1024;
    if end == 0 {
        return Ok(None);
    }
    let mut newline = [0u8; 1];
    file.seek(SeekFrom::Start(end - 1))?;
    file.read_exact(&mut newline)?;
    if newline[0] != b'\n' {
        return Ok(None);
    }
    let content_end = end - 1;
    let mut start = content_end;
    let mut tail: Vec<u8> = Vec::new();
    while start > 0 && content_end - start < MAX_LINE {
        let from = start.saturating_sub(CHUNK);
        let mut chunk = vec![0u8; usize::try_from(start - from).unwrap_or(0)];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        if let Some(i) = chunk.iter().rposition(|b| *b == b'\n') {
            chunk.drain(..=i);
            chunk.extend_from_slice(&tail);
            return Ok(Some(chunk));
        }
        chunk.extend_from_slice(&tail);
        tail = chunk;
        start = from;
    }
    Ok((start == 0).then_some(tail))
}

fn open_for_append(path: &Path) -> io::Result<(File, bool)> {
    // Mode 0600 (or the shared group's), never through a symlink.
    super::state_dir::open_state_file(path, true)
}

struct Scan<T> {
    records: Vec<Record<T>>,
    /// Length of the prefix made of whole, valid lines.
    good_len: u64,
    dropped_tail: Option<DroppedTail>,
    chain: ChainReport,
    /// SHA-256 of the last whole line (GENESIS for an empty journal).
    last_hash: [u8; 32],
}

enum LineError {
    Newer(u32),
    Bad(String),
}

fn parse_line<T: DeserializeOwned>(line: &[u8]) -> Result<EnvelopeIn<T>, LineError> {
    match serde_json::from_slice::<EnvelopeIn<T>>(line) {
        Ok(envelope) if envelope.v > FORMAT_VERSION => Err(LineError::Newer(envelope.v)),
        Ok(envelope) if envelope.v == 0 => Err(LineError::Bad(
            "line format version 0 does not exist".to_string(),
        )),
        Ok(envelope) => Ok(envelope),
        // The event may not read *because* a newer shipdeck wrote it: say so
        // rather than calling the file damaged. Only on the error path, so a
        // healthy replay parses each line once.
        Err(e) => match serde_json::from_slice::<VersionProbe>(line) {
            Ok(probe) if probe.v > FORMAT_VERSION => Err(LineError::Newer(probe.v)),
            _ => Err(LineError::Bad(e.to_string())),
        },
    }
}

/// Where a scan starts: the top of the file, or just after a checkpoint's position.
#[derive(Debug, Clone, Copy)]
struct ScanStart {
    seq: u64,
    len: u64,
    hash: [u8; 32],
}

const TOP: ScanStart = ScanStart {
    seq: 0,
    len: 0,
    hash: GENESIS,
};

/// Read every line, check the envelope and the sequence, and find where the valid
/// prefix ends. Shared by the writer (which then cuts the tail) and readers.
fn scan<T: DeserializeOwned>(reader: impl BufRead, path: &Path) -> Result<Scan<T>, JournalError> {
    scan_from(reader, path, TOP)
}

/// [`scan`] of what follows `start` (the reader is positioned there).
fn scan_from<T: DeserializeOwned>(
    mut reader: impl BufRead,
    path: &Path,
    start: ScanStart,
) -> Result<Scan<T>, JournalError> {
    let mut records = Vec::new();
    let mut chain = ChainReport::default();
    if start.seq > 0 {
        // The lines before were checked when the checkpoint was taken.
        chain.chained = 1;
    }
    let mut last_hash = start.hash;
    let mut good_len: u64 = start.len;
    let mut line_no: usize = usize::try_from(start.seq).unwrap_or(usize::MAX);
    let mut buf = Vec::with_capacity(512);
    let io_err = |source| JournalError::Io {
        op: "read",
        path: path.to_path_buf(),
        source,
    };
    let corrupt = |line, reason| JournalError::Corrupt {
        path: path.to_path_buf(),
        line,
        reason,
    };
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let Some(content) = buf.strip_suffix(b"\n") else {
            // read_until only stops short of a newline at end of file: a last line
            // whose write never finished.
            return Ok(Scan {
                records,
                good_len,
                dropped_tail: Some(DroppedTail {
                    line: line_no,
                    bytes: n,
                }),
                chain: chain.finish(&last_hash),
                last_hash,
            });
        };
        match parse_line::<T>(content) {
            Ok(envelope) => {
                chain.link(line_no, envelope.prev.as_deref(), &last_hash);
                last_hash = sha256(content);
                let expected = start.seq + records.len() as u64;
                if envelope.seq != expected {
                    return Err(corrupt(
                        line_no,
                        format!(
                            "sequence number {} where {expected} was expected \
                             (events are missing or repeated)",
                            envelope.seq
                        ),
                    ));
                }
                records.push(Record {
                    seq: envelope.seq,
                    event: envelope.event,
                });
                good_len += n as u64;
            }
            Err(LineError::Newer(found)) => {
                return Err(JournalError::NewerVersion {
                    path: path.to_path_buf(),
                    line: line_no,
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            Err(LineError::Bad(reason)) => {
                let is_last = reader.fill_buf().map_err(io_err)?.is_empty();
                // A torn write can leave garbage (a cut line, zeroed blocks) but not
                // a whole JSON value: a last line that *is* valid JSON and still not
                // our event is a real mismatch and must not be cut away.
                let is_json = serde_json::from_slice::<IgnoredAny>(content).is_ok();
                if is_last && !is_json {
                    return Ok(Scan {
                        records,
                        good_len,
                        dropped_tail: Some(DroppedTail {
                            line: line_no,
                            bytes: n,
                        }),
                        chain: chain.finish(&last_hash),
                        last_hash,
                    });
                }
                return Err(corrupt(line_no, reason));
            }
        }
    }
    Ok(Scan {
        records,
        good_len,
        dropped_tail: None,
        chain: chain.finish(&last_hash),
        last_hash,
    })
}

impl ChainReport {
    fn finish(mut self, last: &[u8; 32]) -> ChainReport {
        self.head = hex(last);
        self
    }

    /// Checks one whole line's link against the line before it.
    fn link(&mut self, line_no: usize, prev: Option<&str>, before: &[u8; 32]) {
        match prev {
            None if self.chained == 0 => self.unchained += 1,
            None => self.breaks.push(ChainBreak {
                line: line_no,
                reason: "a line without a chain link after chained lines (its link was removed, \
                         or an older shipdeck appended to this journal)"
                    .to_string(),
            }),
            Some(p) => {
                self.chained += 1;
                if p != hex(before) {
                    self.breaks.push(ChainBreak {
                        line: line_no,
                        reason: if line_no > 1 {
                            format!(
                                "its link does not match line {} as it is now (line {} or this line was edited)",
                                line_no - 1,
                                line_no - 1
                            )
                        } else {
                            "the first line's link is not the start of a chain".to_string()
                        },
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Ev {
        n: u32,
    }

    fn scan_bytes(bytes: &[u8]) -> Result<Scan<Ev>, JournalError> {
        scan::<Ev>(bytes, Path::new("j.jsonl"))
    }

    #[test]
    fn envelope_is_written_with_version_seq_and_event_in_that_order() {
        let line = serde_json::to_string(&EnvelopeOut {
            v: FORMAT_VERSION,
            seq: 7,
            prev: "ab",
            event: &Ev { n: 1 },
        })
        .unwrap();
        assert_eq!(line, r#"{"v":2,"seq":7,"prev":"ab","event":{"n":1}}"#);
    }

    #[test]
    fn scan_counts_good_bytes_up_to_the_last_whole_line() {
        let scan = scan_bytes(b"{\"v\":1,\"seq\":0,\"event\":{\"n\":1}}\n{\"v\":1,\"se").unwrap();
        assert_eq!(scan.records.len(), 1);
        assert_eq!(scan.good_len, 32);
        assert_eq!(scan.dropped_tail, Some(DroppedTail { line: 2, bytes: 10 }));
    }

    #[test]
    fn zeroed_last_line_with_newline_is_torn_but_json_of_the_wrong_shape_is_not() {
        let mut zeroed = b"{\"v\":1,\"seq\":0,\"event\":{\"n\":1}}\n".to_vec();
        zeroed.extend_from_slice(&[0, 0, 0, b'\n']);
        let scan = scan_bytes(&zeroed).unwrap();
        assert_eq!(scan.dropped_tail, Some(DroppedTail { line: 2, bytes: 4 }));

        let wrong =
            b"{\"v\":1,\"seq\":0,\"event\":{\"n\":1}}\n{\"v\":1,\"seq\":1,\"event\":{\"m\":2}}\n";
        match scan_bytes(wrong) {
            Err(JournalError::Corrupt { line: 2, .. }) => {}
            other => panic!(
                "expected Corrupt at line 2, got {:?}",
                other.map(|s| s.records)
            ),
        }
    }

    #[test]
    fn newer_version_is_named_even_when_the_event_does_not_read() {
        let bytes = b"{\"v\":3,\"seq\":0,\"event\":{\"brand_new\":true}}\n";
        match scan_bytes(bytes) {
            Err(JournalError::NewerVersion {
                found: 3,
                supported: 2,
                line: 1,
                ..
            }) => {}
            other => panic!("expected NewerVersion, got {:?}", other.map(|s| s.records)),
        }
    }

    #[test]
    fn version_zero_is_corrupt() {
        assert!(matches!(
            scan_bytes(b"{\"v\":0,\"seq\":0,\"event\":{\"n\":1}}\n{\"v\":1,\"seq\":1,\"event\":{\"n\":1}}\n"),
            Err(JournalError::Corrupt { line: 1, .. })
        ));
    }
}
