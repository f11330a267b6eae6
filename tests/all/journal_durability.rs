//! Durability you can see: the journal's syncs go through its `Durability` seam,
//! so these tests count them (one `fdatasync` per batch, after the batch is written;
//! the directory fsynced when the file is created) and make them fail (the writer
//! is poisoned and the failure is an error, never an acknowledgement), on the
//! writer alone and on the real runtime. Also: a last line that is a whole JSON
//! record but has no newline is torn, not a record.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use shipdeck::runtime::journal::{
    self, Accept, DroppedTail, Durability, JournalError, JournalWriter,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Ev {
    n: usize,
}

fn events(from: usize, n: usize) -> Vec<Ev> {
    (from..from + n).map(|n| Ev { n }).collect()
}

/// What was synced, in order: `Data(len)` is an `fdatasync` of a file that was
/// `len` bytes long at the time; `Dir(path)` an fsync of a directory.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sync {
    Data(u64),
    Dir(PathBuf),
}

/// Counts every sync, does the real one, and fails the ones it is told to.
#[derive(Default)]
struct Recorder {
    log: Mutex<Vec<Sync>>,
    fail_data: AtomicBool,
    fail_dir: AtomicBool,
}

impl Recorder {
    fn new() -> Arc<Recorder> {
        Arc::new(Recorder::default())
    }

    fn log(&self) -> Vec<Sync> {
        self.log.lock().unwrap().clone()
    }

    fn data_syncs(&self) -> usize {
        self.log()
            .iter()
            .filter(|s| matches!(s, Sync::Data(_)))
            .count()
    }

    fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(5)
}

impl Durability for Recorder {
    fn sync_data(&self, file: &fs::File) -> io::Result<()> {
        let len = file.metadata()?.len();
        self.log.lock().unwrap().push(Sync::Data(len));
        if self.fail_data.load(Ordering::SeqCst) {
            return Err(eio());
        }
        file.sync_data()
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.log.lock().unwrap().push(Sync::Dir(dir.to_path_buf()));
        if self.fail_dir.load(Ordering::SeqCst) {
            return Err(eio());
        }
        shipdeck::runtime::state_dir::sync_dir(dir)
    }
}

fn open(path: &Path, d: &Arc<Recorder>) -> Result<JournalWriter<Ev>, JournalError> {
    JournalWriter::<Ev>::open_durable(path, Accept::Recorded(&|_| Vec::new()), d.clone())
        .map(|(w, _)| w)
}

fn len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

#[test]
fn one_fdatasync_per_batch_after_its_bytes_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("j.jsonl");
    let d = Recorder::new();
    let mut w = open(&path, &d).unwrap();
    d.clear();

    assert_eq!(w.append_batch(&events(0, 500)).unwrap(), 499);
    assert_eq!(
        d.log(),
        [Sync::Data(len(&path))],
        "one fdatasync for the batch of 500, with the whole batch in the file"
    );
    w.append(&Ev { n: 500 }).unwrap();
    w.append_batch(&events(501, 3)).unwrap();
    assert_eq!(d.data_syncs(), 3, "{:?}", d.log());
    assert_eq!(d.log().last(), Some(&Sync::Data(len(&path))));

    // Refused batches sync nothing.
    assert!(matches!(w.append_batch(&[]), Err(JournalError::EmptyBatch)));
    assert_eq!(d.data_syncs(), 3);
    drop(w);

    // Reading back and reopening a clean journal write nothing, so sync nothing.
    d.clear();
    assert_eq!(journal::read_all::<Ev>(&path).unwrap().records.len(), 504);
    let w = open(&path, &d).unwrap();
    assert_eq!(w.next_seq(), 504);
    assert_eq!(d.log(), [], "a clean reopen syncs nothing");
}

#[test]
fn creating_the_journal_fsyncs_every_directory_it_adds_an_entry_to() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let path = root.join("releases/v1.0.1/journal.jsonl");
    let d = Recorder::new();
    let _w = open(&path, &d).unwrap();
    assert_eq!(
        d.log(),
        [
            // `releases` was created in the root, `v1.0.1` in `releases`, the
            // file in `v1.0.1`: each parent synced once its new entry is there.
            Sync::Dir(root.clone()),
            Sync::Dir(root.join("releases")),
            Sync::Dir(root.join("releases/v1.0.1")),
        ]
    );

    // The directory exists, the file does not: only the file's directory.
    let d = Recorder::new();
    let other = root.join("releases/v1.0.1/other.jsonl");
    let _o = open(&other, &d).unwrap();
    assert_eq!(d.log(), [Sync::Dir(root.join("releases/v1.0.1"))]);
}

#[test]
fn a_failed_directory_sync_fails_the_open() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Recorder::new();
    d.fail_dir.store(true, Ordering::SeqCst);

    let err = open(&tmp.path().join("j.jsonl"), &d).unwrap_err();
    assert!(
        matches!(&err, JournalError::Io { op: "make durable the directory of", source, .. } if source.raw_os_error() == Some(5)),
        "{err:?}"
    );
    let err = open(&tmp.path().join("new/j.jsonl"), &d).unwrap_err();
    assert!(
        matches!(
            &err,
            JournalError::Io {
                op: "create the directory of",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_failed_sync_poisons_the_writer_and_is_an_error_not_an_acknowledgement() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("j.jsonl");
    let d = Recorder::new();
    let mut w = open(&path, &d).unwrap();
    assert_eq!(w.append_batch(&events(0, 3)).unwrap(), 2);
    let acknowledged = len(&path);

    d.fail_data.store(true, Ordering::SeqCst);
    let err = w.append_batch(&events(3, 2)).unwrap_err();
    assert!(
        matches!(&err, JournalError::Io { op: "sync", source, .. } if source.raw_os_error() == Some(5)),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("cannot sync journal "), "{err}");
    // The writer does not count the batch as written...
    assert_eq!(w.next_seq(), 3);
    assert_eq!(w.position().len, acknowledged);

    // ...and refuses everything after, even once the disk "recovers": after a
    // failed fsync the kernel may have dropped the pages and cleared the error,
    // so a retry that succeeds proves nothing.
    d.fail_data.store(false, Ordering::SeqCst);
    let syncs = d.data_syncs();
    let size = len(&path);
    for _ in 0..2 {
        let err = w.append_batch(&events(3, 1)).unwrap_err();
        assert!(matches!(err, JournalError::Poisoned { .. }), "{err:?}");
    }
    assert_eq!(d.data_syncs(), syncs, "a poisoned writer syncs nothing");
    assert_eq!(len(&path), size, "a poisoned writer writes nothing");
    drop(w);

    // Reopening reads what is really there: every acknowledged event, in order.
    let (w, replay) = JournalWriter::<Ev>::open(&path).unwrap();
    let seen: Vec<Ev> = replay.into_events().collect();
    assert_eq!(seen[..3], events(0, 3)[..]);
    assert_eq!(w.next_seq(), seen.len() as u64);
}

/// A journal whose last line is a complete, correctly chained record of the right
/// sequence number, with only its newline missing. Returns where the journal stood
/// after its first event (a checkpoint's position), the length of the whole lines,
/// and the torn line's length.
fn journal_ending_in_a_whole_record_without_newline(
    path: &Path,
) -> (journal::Position, u64, usize) {
    let (mut w, _) = JournalWriter::<Ev>::open(path).unwrap();
    w.append(&Ev { n: 0 }).unwrap();
    let checkpoint = w.position();
    w.append(&Ev { n: 1 }).unwrap();
    let good = w.position().len;
    w.append(&Ev { n: 99 }).unwrap();
    drop(w);
    let mut bytes = fs::read(path).unwrap();
    assert_eq!(bytes.pop(), Some(b'\n'));
    let last = &bytes[usize::try_from(good).unwrap()..];
    serde_json::from_slice::<serde_json::Value>(last).expect("the last line parses whole");
    let torn = last.len();
    fs::write(path, &bytes).unwrap();
    (checkpoint, good, torn)
}

#[test]
fn a_whole_record_without_its_newline_is_a_torn_write_not_a_record() {
    // The module's rule: a line is complete only with its newline; the append that
    // wrote it returned before its sync, so it was never acknowledged.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("j.jsonl");
    let (_, good, torn) = journal_ending_in_a_whole_record_without_newline(&path);

    let read = journal::read_all::<Ev>(&path).unwrap();
    assert_eq!(read.into_events().collect::<Vec<_>>(), events(0, 2));
    let read = journal::read_all::<Ev>(&path).unwrap();
    assert_eq!(
        read.dropped_tail,
        Some(DroppedTail {
            line: 3,
            bytes: torn
        })
    );
    assert_eq!(len(&path), good + torn as u64, "a reader never cuts");

    let d = Recorder::new();
    let (mut w, replay) =
        JournalWriter::<Ev>::open_durable(&path, Accept::Recorded(&|_| Vec::new()), d.clone())
            .unwrap();
    assert_eq!(replay.records.len(), 2);
    assert_eq!(replay.dropped_tail.map(|t| t.line), Some(3));
    assert_eq!(len(&path), good, "the writer cuts it off");
    assert_eq!(
        d.log(),
        [Sync::Data(good)],
        "and makes the cut durable before appending"
    );
    assert_eq!(w.append(&Ev { n: 2 }).unwrap(), 2, "its seq is reused");
    drop(w);
    let all = journal::read_all::<Ev>(&path).unwrap();
    assert_eq!(all.dropped_tail, None);
    assert_eq!(all.into_events().collect::<Vec<_>>(), events(0, 3));
}

#[test]
fn a_whole_record_without_its_newline_after_a_checkpoint_is_torn_too() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("j.jsonl");
    let (from, good, _) = journal_ending_in_a_whole_record_without_newline(&path);
    let (mut w, tail) =
        JournalWriter::<Ev>::open_after(&path, &from, Accept::Recorded(&|_| Vec::new())).unwrap();
    assert_eq!(tail.dropped_tail.map(|t| t.line), Some(3));
    assert_eq!(tail.into_events().collect::<Vec<_>>(), events(1, 1));
    assert_eq!(len(&path), good, "cut off");
    assert_eq!(w.append(&Ev { n: 2 }).unwrap(), 2);
}

#[test]
fn an_override_reaches_journals_under_its_directory_only_while_its_guard_lives() {
    let tmp = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let d = Recorder::new();
    let guard = journal::use_durability_under(tmp.path(), d.clone());
    // A second override elsewhere must not end this one when it goes.
    drop(journal::use_durability_under(other.path(), Recorder::new()));
    let (mut w, _) = JournalWriter::<Ev>::open(&tmp.path().join("a.jsonl")).unwrap();
    w.append(&Ev { n: 0 }).unwrap();
    assert_eq!(d.data_syncs(), 1, "{:?}", d.log());
    let (mut elsewhere, _) = JournalWriter::<Ev>::open(&other.path().join("a.jsonl")).unwrap();
    elsewhere.append(&Ev { n: 0 }).unwrap();
    assert_eq!(
        d.data_syncs(),
        1,
        "another directory's journal is not overridden"
    );

    drop(guard);
    let (mut after, _) = JournalWriter::<Ev>::open(&tmp.path().join("b.jsonl")).unwrap();
    after.append(&Ev { n: 0 }).unwrap();
    assert_eq!(d.data_syncs(), 1, "the override ended with its guard");
    // A writer opened under the override keeps it.
    w.append(&Ev { n: 1 }).unwrap();
    assert_eq!(d.data_syncs(), 2);
}

mod runtime {
    //! The same promise through the real runtime, which opens its journal itself:
    //! the override for the test's state dir reaches it.

    use super::*;
    use chrono::Utc;
    use shipdeck::config;
    use shipdeck::domain::ReleaseType;
    use shipdeck::engine::{Command, ReleasePlan, Selection};
    use shipdeck::runtime::clock::Clock;
    use shipdeck::runtime::driver::{self, RuntimeError, RuntimeOptions, SendError};
    use shipdeck::runtime::state_dir::StateDir;

    #[tokio::test(start_paused = true)]
    async fn a_command_whose_events_cannot_be_synced_is_refused_and_the_runtime_stops() {
        let cfg = config::load_builtin().expect("built-in config");
        let dir = tempfile::tempdir().expect("tempdir");
        let d = Recorder::new();
        let _guard = journal::use_durability_under(dir.path(), d.clone());
        let state_dir = StateDir::at(dir.path());
        let path = state_dir.journal_path("v1.0.1");
        let plan = ReleasePlan::build(
            &cfg,
            "v1.0.1".parse().expect("version"),
            ReleaseType::Security,
            Selection::All,
            false,
        )
        .expect("plan");
        let opts = RuntimeOptions {
            state_dir,
            clock: Clock::scaled(Utc::now(), 1.0),
            wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
        };
        let handle = driver::open(opts, "v1.0.1", Some(plan), "alice").expect("open");
        assert!(
            d.log()
                .contains(&Sync::Dir(path.parent().unwrap().to_path_buf())),
            "the journal's directory synced when it was created: {:?}",
            d.log()
        );
        let synced = d.data_syncs();
        assert!(synced >= 1, "the release's start was synced");
        let on_disk = journal::read_all::<shipdeck::engine::Event>(&path)
            .unwrap()
            .records
            .len();

        d.fail_data.store(true, Ordering::SeqCst);
        let verdict = handle
            .send(
                "alice",
                Command::Pause {
                    reason: "disk trouble".into(),
                },
            )
            .await;
        assert!(
            matches!(verdict, Err(SendError::Stopped)),
            "the pause was not acknowledged: {verdict:?}"
        );
        assert_eq!(
            d.data_syncs(),
            synced + 1,
            "the pause's events were synced once"
        );
        assert!(
            handle.snapshot().state.pause.is_none(),
            "no view was told of a pause that is not on disk"
        );
        let stopped = handle.stop().await;
        assert!(
            matches!(
                &stopped,
                Err(RuntimeError::Journal(JournalError::Io { op: "sync", .. }))
            ),
            "{:?}",
            stopped.map(|_| ())
        );

        // What a restart sees: every acknowledged event; the refused pause maybe
        // (its bytes were written, their sync failed), never anything after it.
        drop(_guard);
        let after = journal::read_all::<shipdeck::engine::Event>(&path)
            .unwrap()
            .records
            .len();
        assert!(after >= on_disk, "{after} < {on_disk}");
    }
}
