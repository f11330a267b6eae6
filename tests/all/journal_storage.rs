//! Journal storage, release lock: real files in a temp dir, real flocks, a real
//! child process for the stale-holder case.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shipdeck::runtime::journal::{self, DroppedTail, JournalError, JournalWriter, Record};
use shipdeck::runtime::lock::{self, Holder, LockError, ReleaseLock};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Ev {
    WaveStarted { wave: String },
    Approved { by: String, wave: String },
    Note { text: String },
}

fn events(n: usize) -> Vec<Ev> {
    (0..n)
        .map(|i| match i % 3 {
            0 => Ev::WaveStarted {
                wave: format!("wave-{i}"),
            },
            1 => Ev::Approved {
                by: "alice".into(),
                wave: format!("wave-{i}"),
            },
            _ => Ev::Note {
                // Newlines and quotes inside an event must not break the line format.
                text: format!("line one\nline \"two\" {i}"),
            },
        })
        .collect()
}

fn journal_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("releases/v1.0.1/journal.jsonl")
}

fn line(seq: u64, text: &str) -> String {
    format!("{{\"v\":1,\"seq\":{seq},\"event\":{{\"kind\":\"note\",\"text\":\"{text}\"}}}}\n")
}

fn write_lines(path: &Path, lines: &[String]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, lines.concat()).unwrap();
}

/// Every line of the file is a whole, valid envelope with contiguous seqs.
fn assert_file_is_clean(path: &Path) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "file does not end on a whole line");
    for (i, l) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(l)
            .unwrap_or_else(|e| panic!("line {} is not JSON ({e}): {l:?}", i + 1));
        assert!(v["v"] == 1 || v["v"] == 2, "line {}: {l}", i + 1);
        assert_eq!(v["seq"], i as u64);
    }
}

mod journal_tests {
    use super::*;

    #[test]
    fn append_then_reopen_gives_the_same_records_and_seqs() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let evs = events(5);

        let (mut writer, replay) = JournalWriter::<Ev>::open(&path).unwrap();
        assert!(replay.records.is_empty());
        assert_eq!(replay.dropped_tail, None);
        assert_eq!(writer.append_batch(&evs[..3]).unwrap(), 2);
        assert_eq!(writer.append(&evs[3]).unwrap(), 3);
        assert_eq!(writer.next_seq(), 4);
        drop(writer);

        let (mut writer, replay) = JournalWriter::<Ev>::open(&path).unwrap();
        let expected: Vec<Record<Ev>> = evs[..4]
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, event)| Record {
                seq: i as u64,
                event,
            })
            .collect();
        assert_eq!(replay.records, expected);
        assert_eq!(replay.dropped_tail, None);
        assert_eq!(writer.append_batch(&evs[4..]).unwrap(), 4);
        drop(writer);

        let all = journal::read_all::<Ev>(&path).unwrap();
        assert_eq!(all.into_events().collect::<Vec<_>>(), evs);
        assert_file_is_clean(&path);
    }

    #[test]
    fn the_line_format_is_version_seq_event() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let (mut writer, _) = JournalWriter::<Ev>::open(&path).unwrap();
        writer
            .append(&Ev::Approved {
                by: "alice".into(),
                wave: "startup".into(),
            })
            .unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!(
                "{{\"v\":2,\"seq\":0,\"prev\":\"{}\",\"event\":{{\"kind\":\"approved\",\"by\":\"alice\",\"wave\":\"startup\"}}}}\n",
                "0".repeat(64)
            )
        );
    }

    #[test]
    fn a_reader_sees_what_an_open_writer_has_appended() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let (mut writer, _) = JournalWriter::<Ev>::open(&path).unwrap();
        writer.append_batch(&events(3)).unwrap();
        assert_eq!(journal::read_all::<Ev>(&path).unwrap().records.len(), 3);
        writer.append_batch(&events(2)).unwrap();
        assert_eq!(journal::read_all::<Ev>(&path).unwrap().records.len(), 5);
    }

    #[test]
    fn a_torn_tail_without_newline_is_dropped_reported_and_cut() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let (mut writer, _) = JournalWriter::<Ev>::open(&path).unwrap();
        writer.append_batch(&events(2)).unwrap();
        drop(writer);
        let good_len = fs::metadata(&path).unwrap().len();
        let torn = "{\"v\":1,\"seq\":2,\"event\":{\"kind\":\"no";
        fs::write(
            &path,
            [fs::read(&path).unwrap(), torn.as_bytes().to_vec()].concat(),
        )
        .unwrap();

        let (mut writer, replay) = JournalWriter::<Ev>::open(&path).unwrap();
        assert_eq!(replay.records.len(), 2);
        assert_eq!(
            replay.dropped_tail,
            Some(DroppedTail {
                line: 3,
                bytes: torn.len()
            })
        );
        assert_eq!(fs::metadata(&path).unwrap().len(), good_len, "tail not cut");

        assert_eq!(writer.append(&events(1)[0]).unwrap(), 2);
        drop(writer);
        assert_file_is_clean(&path);
        let (_, replay) = JournalWriter::<Ev>::open(&path).unwrap();
        assert_eq!(replay.records.len(), 3);
        assert_eq!(replay.dropped_tail, None);
    }

    #[test]
    fn an_unparsable_last_line_with_newline_is_dropped_too() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let mut lines = vec![line(0, "a"), line(1, "b")];
        lines.push("{\"v\":1,\"seq\":2,\"ev\0\0\0\0\n".to_string());
        write_lines(&path, &lines);

        let (mut writer, replay) = JournalWriter::<Ev>::open(&path).unwrap();
        assert_eq!(replay.records.len(), 2);
        assert_eq!(replay.dropped_tail.map(|t| t.line), Some(3));
        writer.append(&events(1)[0]).unwrap();
        drop(writer);
        assert_file_is_clean(&path);
    }

    #[test]
    fn a_corrupt_middle_line_is_fatal_names_the_line_and_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        write_lines(
            &path,
            &[
                line(0, "a"),
                line(1, "b"),
                "not json at all\n".to_string(),
                line(3, "d"),
            ],
        );
        let before = fs::read(&path).unwrap();

        let err = JournalWriter::<Ev>::open(&path).unwrap_err();
        match &err {
            JournalError::Corrupt { line, path: p, .. } => {
                assert_eq!(*line, 3);
                assert_eq!(p, &path);
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("line 3") && msg.contains("journal.jsonl"),
            "{msg}"
        );
        assert!(matches!(
            journal::read_all::<Ev>(&path),
            Err(JournalError::Corrupt { line: 3, .. })
        ));
        assert_eq!(
            fs::read(&path).unwrap(),
            before,
            "a corrupt journal was modified"
        );
    }

    #[test]
    fn a_whole_last_line_that_is_json_but_not_an_event_is_not_cut_away() {
        // Not what a torn write looks like: an unknown event kind, say from a
        // different build. Cutting it would destroy history.
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        write_lines(
            &path,
            &[
                line(0, "a"),
                "{\"v\":1,\"seq\":1,\"event\":{\"kind\":\"from_the_future\"}}\n".to_string(),
            ],
        );
        let before = fs::read(&path).unwrap();
        assert!(matches!(
            JournalWriter::<Ev>::open(&path),
            Err(JournalError::Corrupt { line: 2, .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_line_from_a_newer_format_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        write_lines(
            &path,
            &[
                line(0, "a"),
                "{\"v\":3,\"seq\":1,\"event\":{\"kind\":\"note\",\"text\":\"b\"}}\n".to_string(),
            ],
        );
        let before = fs::read(&path).unwrap();
        let err = JournalWriter::<Ev>::open(&path).unwrap_err();
        assert!(
            matches!(
                err,
                JournalError::NewerVersion {
                    line: 2,
                    found: 3,
                    supported: 2,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("written by a newer shipdeck"),
            "{err}"
        );
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_sequence_gap_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        write_lines(&path, &[line(0, "a"), line(1, "b"), line(3, "d")]);
        let err = JournalWriter::<Ev>::open(&path).unwrap_err();
        match &err {
            JournalError::Corrupt { line, reason, .. } => {
                assert_eq!(*line, 3);
                assert!(
                    reason.contains("sequence number 3 where 2 was expected"),
                    "{reason}"
                );
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[test]
    fn a_repeated_seq_and_a_journal_not_starting_at_zero_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        write_lines(&path, &[line(0, "a"), line(0, "a")]);
        assert!(matches!(
            journal::read_all::<Ev>(&path),
            Err(JournalError::Corrupt { line: 2, .. })
        ));
        write_lines(&path, &[line(1, "a")]);
        assert!(matches!(
            journal::read_all::<Ev>(&path),
            Err(JournalError::Corrupt { line: 1, .. })
        ));
    }

    #[test]
    fn read_all_ignores_a_torn_tail_and_never_truncates() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let mut lines = vec![line(0, "a"), line(1, "b")];
        lines.push("{\"v\":1,\"seq\":2,\"ev".to_string());
        write_lines(&path, &lines);
        let before = fs::read(&path).unwrap();

        let replay = journal::read_all::<Ev>(&path).unwrap();
        assert_eq!(replay.records.len(), 2);
        assert_eq!(
            replay.dropped_tail,
            Some(DroppedTail {
                line: 3,
                bytes: lines[2].len()
            })
        );
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[test]
    fn read_all_of_a_missing_journal_says_not_found() {
        let tmp = tempfile::tempdir().unwrap();
        let err = journal::read_all::<Ev>(&journal_in(&tmp)).unwrap_err();
        assert!(err.is_not_found(), "{err:?}");
    }

    #[test]
    fn an_empty_batch_is_refused_and_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let (mut writer, _) = JournalWriter::<Ev>::open(&path).unwrap();
        assert!(matches!(
            writer.append_batch(&[]),
            Err(JournalError::EmptyBatch)
        ));
        assert_eq!(fs::metadata(&path).unwrap().len(), 0);
        assert_eq!(writer.append(&events(1)[0]).unwrap(), 0);
    }

    /// An event whose serialization fails (a bug in an event type, not I/O).
    #[derive(Debug, Deserialize)]
    struct Unwritable(bool);
    impl Serialize for Unwritable {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if self.0 {
                s.serialize_bool(true)
            } else {
                Err(serde::ser::Error::custom("this event cannot be written"))
            }
        }
    }

    #[test]
    fn a_batch_with_an_unserializable_event_writes_nothing_and_the_writer_goes_on() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let (mut writer, _) = JournalWriter::<Unwritable>::open(&path).unwrap();
        writer.append(&Unwritable(true)).unwrap();
        let len = fs::metadata(&path).unwrap().len();
        let err = writer
            .append_batch(&[Unwritable(true), Unwritable(false)])
            .unwrap_err();
        assert!(
            matches!(err, JournalError::Serialize { seq: 2, .. }),
            "{err:?}"
        );
        assert_eq!(fs::metadata(&path).unwrap().len(), len);
        assert_eq!(writer.append(&Unwritable(true)).unwrap(), 1);
    }
}

mod chain_tests {
    use super::*;
    use shipdeck::runtime::journal::Accept;

    fn approvals(n: usize) -> Vec<Ev> {
        (0..n)
            .map(|i| Ev::Approved {
                by: "alice".into(),
                wave: format!("w{i}"),
            })
            .collect()
    }

    #[test]
    fn each_line_links_to_the_one_before() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let (mut writer, _) = JournalWriter::<Ev>::open(&path).unwrap();
        writer.append_batch(&approvals(2)).unwrap();
        writer.append(&approvals(1)[0]).unwrap();
        drop(writer);
        let text = fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let expected = if i == 0 {
                "0".repeat(64)
            } else {
                let d = ring::digest::digest(&ring::digest::SHA256, lines[i - 1].as_bytes());
                d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
            };
            assert_eq!(v["prev"], expected.as_str(), "line {}", i + 1);
        }
        let replay = journal::read_all::<Ev>(&path).unwrap();
        assert_eq!(replay.chain.chained, 3);
        assert_eq!(replay.chain.unchained, 0);
        assert!(replay.chain.breaks.is_empty());
    }

    #[test]
    fn a_rewritten_actor_breaks_the_chain_at_the_next_line_and_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let (mut writer, _) = JournalWriter::<Ev>::open(&path).unwrap();
        writer.append_batch(&approvals(4)).unwrap();
        drop(writer);
        // Every actor rewritten to "mallory", as the hostile run did.
        let text = fs::read_to_string(&path)
            .unwrap()
            .replace("alice", "mallory");
        fs::write(&path, &text).unwrap();
        for err in [
            JournalWriter::<Ev>::open(&path).map(|_| ()).unwrap_err(),
            journal::read_all::<Ev>(&path).map(|_| ()).unwrap_err(),
        ] {
            match &err {
                JournalError::Tampered { line, .. } => assert_eq!(*line, 2),
                other => panic!("expected Tampered, got {other:?}"),
            }
            let msg = err.to_string();
            assert!(
                msg.contains("line 2") && msg.contains("--accept-tampered"),
                "{msg}"
            );
        }
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            text,
            "refused, not repaired"
        );
        // Accepted on request, with every break listed.
        let replay = journal::read_all_with::<Ev>(&path, Accept::All).unwrap();
        let lines: Vec<usize> = replay.chain.breaks.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 3, 4]);
        // A journal whose own events accept those lines opens.
        let accept_all = |_: &Ev| vec![2, 3, 4];
        assert!(JournalWriter::<Ev>::open_with(&path, Accept::Recorded(&accept_all)).is_ok());
        let accept_some = |_: &Ev| vec![2];
        assert!(matches!(
            JournalWriter::<Ev>::open_with(&path, Accept::Recorded(&accept_some)),
            Err(JournalError::Tampered { line: 3, .. })
        ));
    }

    #[test]
    fn an_old_unchained_journal_is_accepted_and_continues_chained() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        write_lines(&path, &[line(0, "a"), line(1, "b")]);
        let (mut writer, replay) = JournalWriter::<Ev>::open(&path).unwrap();
        assert_eq!(replay.chain.unchained, 2);
        assert_eq!(replay.chain.chained, 0);
        writer.append_batch(&approvals(2)).unwrap();
        drop(writer);
        let replay = journal::read_all::<Ev>(&path).unwrap();
        assert_eq!((replay.chain.unchained, replay.chain.chained), (2, 2));
        assert!(replay.chain.breaks.is_empty());
        // An unchained line after chained ones is a removed link.
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str(&line(4, "c"));
        fs::write(&path, text).unwrap();
        assert!(matches!(
            journal::read_all::<Ev>(&path),
            Err(JournalError::Tampered { line: 5, .. })
        ));
    }
}

mod lock_tests {
    use super::*;

    fn lock_in(dir: &tempfile::TempDir) -> PathBuf {
        dir.path().join("releases/v1.0.1/lock")
    }

    #[test]
    fn a_second_acquire_is_refused_naming_us_and_succeeds_after_release() {
        let tmp = tempfile::tempdir().unwrap();
        let path = lock_in(&tmp);
        let first = ReleaseLock::acquire(&path).unwrap();
        assert_eq!(first.took_over_from, None);
        assert_eq!(first.lock.holder().pid, std::process::id());

        let err = ReleaseLock::acquire(&path).unwrap_err();
        let msg = err.to_string();
        match err {
            LockError::Held { release, holder } => {
                assert_eq!(release, "v1.0.1");
                assert_eq!(&holder, first.lock.holder());
            }
            other => panic!("expected Held, got {other:?}"),
        }
        let pid = std::process::id();
        let host = lock::hostname();
        assert!(
            msg.starts_with(&format!(
                "release v1.0.1 is being run by pid {pid} on host {host} since "
            )),
            "{msg}"
        );

        drop(first);
        let again = ReleaseLock::acquire(&path).unwrap();
        // A clean release leaves nothing to take over.
        assert_eq!(again.took_over_from, None);
    }

    #[test]
    fn a_lock_file_naming_a_dead_pid_is_taken_over_and_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let path = lock_in(&tmp);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let stale = Holder {
            pid: dead_pid,
            host: lock::hostname(),
            since: "2025-05-01T14:30:05Z".parse().unwrap(),
            kind: lock::HolderKind::Runner,
            what: "shipdeck deploy".into(),
        };
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, serde_json::to_vec(&stale).unwrap()).unwrap();

        let mut acquired = ReleaseLock::acquire(&path).unwrap();
        assert_eq!(acquired.took_over_from, Some(stale.clone()));
        // Until the takeover is journaled, the file keeps naming the dead run: a
        // process killed now leaves the evidence for the next one.
        let written: Holder = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(written, stale);
        acquired.lock.announce().unwrap();
        let written: Holder = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(&written, acquired.lock.holder());
        assert_eq!(written.pid, std::process::id());
    }

    #[test]
    fn a_takeover_never_announced_leaves_the_dead_run_named() {
        let tmp = tempfile::tempdir().unwrap();
        let path = lock_in(&tmp);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = child.id();
        child.wait().unwrap();
        let stale = Holder {
            pid: dead_pid,
            host: lock::hostname(),
            since: "2025-05-01T14:30:05Z".parse().unwrap(),
            kind: lock::HolderKind::Runner,
            what: String::new(),
        };
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, serde_json::to_vec(&stale).unwrap()).unwrap();
        // A run that takes over and stops before journaling it (here: drops the lock)
        drop(ReleaseLock::acquire(&path).unwrap());
        // leaves the next run the same takeover to journal.
        let again = ReleaseLock::acquire(&path).unwrap();
        assert_eq!(again.took_over_from, Some(stale));
    }

    /// Holds the lock at `path` from another open file, naming `holder`.
    fn squat(path: &Path, holder: &Holder) -> fs::File {
        use std::os::fd::AsRawFd;
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, serde_json::to_vec(holder).unwrap()).unwrap();
        let f = fs::File::open(path).unwrap();
        // A child another test spawns at this moment holds a copy of our fd table
        // between its fork and its exec (O_CLOEXEC closes it only at the exec), and
        // with it the lock a dropped handle just let go of: under load that window
        // is long enough to see. Wait for it to close, within a bound.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            // SAFETY: flock on an fd we own.
            let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the lock at {} stayed held",
                path.display()
            );
            std::thread::yield_now();
        }
        f
    }

    fn live(kind: lock::HolderKind, what: &str) -> Holder {
        Holder {
            pid: std::process::id(),
            host: lock::hostname(),
            since: "2025-05-01T14:30:05Z".parse().unwrap(),
            kind,
            what: what.into(),
        }
    }

    #[test]
    fn an_offline_command_waits_briefly_for_another_command_but_not_for_a_runner() {
        use shipdeck::cli::offline::acquire_waiting;
        use std::time::Duration;
        let tmp = tempfile::tempdir().unwrap();
        let path = lock_in(&tmp);
        // Another short command holds it, and lets go while we wait.
        let mut held = Some(squat(
            &path,
            &live(lock::HolderKind::Command, "shipdeck pause"),
        ));
        let mut pauses = 0;
        let got = acquire_waiting(&path, "v1.0.1", Duration::from_secs(2), || {
            pauses += 1;
            held = None;
        });
        assert!(got.is_ok(), "{:?}", got.err());
        assert_eq!(pauses, 1, "waited once, then got it");
        drop(got);

        // A command that does not let go within the budget is named.
        let _held = squat(&path, &live(lock::HolderKind::Command, "shipdeck approve"));
        let mut pauses = 0;
        let err = acquire_waiting(&path, "v1.0.1", Duration::from_millis(100), || pauses += 1)
            .unwrap_err();
        assert!(pauses >= 1);
        assert!(
            err.message.contains("`shipdeck approve`"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("cockpit"), "{}", err.message);
        drop(_held);

        // A runner is refused at once, saying the command goes through its socket.
        let _held = squat(&path, &live(lock::HolderKind::Runner, "shipdeck cockpit"));
        let mut pauses = 0;
        let err =
            acquire_waiting(&path, "v1.0.1", Duration::from_secs(2), || pauses += 1).unwrap_err();
        assert_eq!(pauses, 0, "no waiting for a runner");
        assert!(
            err.message
                .contains("run the command again: it goes through that process's socket"),
            "{}",
            err.message
        );
        assert!(
            err.message.contains("`shipdeck cockpit`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_stale_holder_from_another_host_is_not_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let path = lock_in(&tmp);
        let foreign = Holder {
            pid: 4242,
            host: format!("{}-elsewhere", lock::hostname()),
            since: "2025-05-01T14:30:05Z".parse().unwrap(),
            kind: lock::HolderKind::Runner,
            what: String::new(),
        };
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let content = serde_json::to_vec(&foreign).unwrap();
        fs::write(&path, &content).unwrap();

        let err = ReleaseLock::acquire(&path).unwrap_err();
        assert!(
            matches!(&err, LockError::OtherHost { holder, .. } if **holder == foreign),
            "{err:?}"
        );
        assert!(err.to_string().contains("delete"), "{err}");
        assert_eq!(fs::read(&path).unwrap(), content);
        assert_eq!(lock::current_holder(&path), None, "refusal kept the flock");
    }

    #[test]
    fn current_holder_reflects_a_live_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let path = lock_in(&tmp);
        assert_eq!(lock::current_holder(&path), None);
        let acquired = ReleaseLock::acquire(&path).unwrap();
        assert_eq!(
            lock::current_holder(&path).as_ref(),
            Some(acquired.lock.holder())
        );
        // Asking does not disturb the holder or block the next acquire.
        assert!(matches!(
            ReleaseLock::acquire(&path),
            Err(LockError::Held { .. })
        ));
        drop(acquired);
        assert_eq!(lock::current_holder(&path), None);
        assert!(ReleaseLock::acquire(&path).is_ok());
    }

    #[test]
    fn a_lock_held_by_someone_who_wrote_nothing_is_busy() {
        use std::os::fd::AsRawFd;
        let tmp = tempfile::tempdir().unwrap();
        let path = lock_in(&tmp);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        let squatter = fs::File::create(&path).unwrap();
        // SAFETY: flock on an fd we own.
        assert_eq!(
            unsafe { libc::flock(squatter.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
            0
        );
        let err = ReleaseLock::acquire(&path).unwrap_err();
        assert!(matches!(err, LockError::Busy { .. }), "{err:?}");
        assert_eq!(lock::current_holder(&path), None);
    }

    #[test]
    fn a_held_lock_naming_a_run_on_another_host_is_that_run_not_busy() {
        // The flock is held and the file names a process on another host: that
        // run is believed (its pid cannot be checked from here, and is not alive
        // here), and named at once rather than reported as a nameless busy lock.
        let tmp = tempfile::tempdir().unwrap();
        let path = lock_in(&tmp);
        let mut gone = std::process::Command::new("true").spawn().unwrap();
        let dead_here = gone.id();
        gone.wait().unwrap();
        let foreign = Holder {
            pid: dead_here,
            host: format!("{}-elsewhere", lock::hostname()),
            since: "2025-05-01T14:30:05Z".parse().unwrap(),
            kind: lock::HolderKind::Runner,
            what: "shipdeck deploy".into(),
        };
        let _held = squat(&path, &foreign);
        let err = ReleaseLock::acquire(&path).unwrap_err();
        assert!(
            matches!(&err, LockError::Held { holder, .. } if *holder == foreign),
            "{err:?}"
        );
    }
}

mod chain_counts {
    //! Found alive by cargo-mutants (issue 17): how many links a refusal counts, and
    //! an unchained line after a checkpoint.

    use super::*;
    use shipdeck::runtime::journal::Accept;

    fn notes(n: usize) -> Vec<Ev> {
        (0..n)
            .map(|i| Ev::Note {
                text: format!("note {i}"),
            })
            .collect()
    }

    /// Rewrites the text of the given 1-based lines of the journal.
    fn edit_lines(path: &Path, which: &[usize]) {
        let text = fs::read_to_string(path).unwrap();
        let lines: Vec<String> = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if which.contains(&(i + 1)) {
                    l.replace("note ", "NOTE ")
                } else {
                    l.to_string()
                }
            })
            .collect();
        fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn a_refusal_counts_the_broken_links_only_when_there_are_several() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let (mut writer, _) = JournalWriter::<Ev>::open(&path).unwrap();
        writer.append_batch(&notes(4)).unwrap();
        drop(writer);
        let clean = fs::read_to_string(&path).unwrap();

        edit_lines(&path, &[1]);
        let one = journal::read_all::<Ev>(&path).unwrap_err().to_string();
        assert!(one.contains("line 2"), "{one}");
        assert!(!one.contains("broken links in all"), "{one}");

        fs::write(&path, &clean).unwrap();
        edit_lines(&path, &[1, 2]);
        let two = journal::read_all::<Ev>(&path).unwrap_err().to_string();
        assert!(two.contains("line 2"), "{two}");
        assert!(two.contains(" (2 broken links in all)"), "{two}");
    }

    #[test]
    fn a_line_without_a_link_after_a_checkpoint_is_a_break_not_an_old_journal() {
        let tmp = tempfile::tempdir().unwrap();
        let path = journal_in(&tmp);
        let (mut writer, _) = JournalWriter::<Ev>::open(&path).unwrap();
        writer.append_batch(&notes(2)).unwrap();
        let checkpoint = writer.position();
        drop(writer);
        // An unchained (format 1) line appended after the chained ones, as an older
        // shipdeck or a hand edit would leave it.
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(line(2, "appended by hand").as_bytes());
        fs::write(&path, bytes).unwrap();

        let whole = journal::read_all::<Ev>(&path).unwrap_err();
        assert!(
            matches!(whole, JournalError::Tampered { line: 3, .. }),
            "{whole:?}"
        );
        let tail =
            JournalWriter::<Ev>::open_after(&path, &checkpoint, Accept::Recorded(&|_| Vec::new()))
                .map(|(_, r)| r.records.len())
                .unwrap_err();
        assert!(
            matches!(tail, JournalError::Tampered { line: 3, .. }),
            "from the checkpoint too: {tail:?}"
        );
    }
}
