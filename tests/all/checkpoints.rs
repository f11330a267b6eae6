//! Checkpoints: resume from the newest checkpoint plus the journal's tail gives the
//! same state as a full replay; a stale, corrupt or mismatched checkpoint falls back
//! to the full replay.

use chrono::{DateTime, TimeDelta, Utc};
use shipdeck::config;
use shipdeck::domain::ReleaseType;
use shipdeck::engine::testkit::Drill;
use shipdeck::engine::{Event, ReleasePlan, ReleaseState, Selection};
use shipdeck::runtime::journal::JournalWriter;
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::runtime::{checkpoint, store};

fn t0() -> DateTime<Utc> {
    "2026-11-16T10:00:00Z".parse().expect("t0")
}

/// A bug-fix release played for two days: its log.
fn played() -> Vec<Event> {
    let cfg = config::load_builtin().expect("config");
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.3".parse().expect("v"),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .expect("plan");
    let mut d = Drill::new(plan, "alice", t0()).expect("drill");
    d.tick_gating_items("alice");
    d.advance(TimeDelta::days(2));
    assert!(d.log.len() > 40, "a long enough log: {}", d.log.len());
    d.log
}

fn json(s: &ReleaseState) -> serde_json::Value {
    serde_json::to_value(s).expect("json")
}

fn open(dir: &StateDir) -> store::OpenedRelease {
    store::open(
        dir,
        "v1.0.3",
        &store::OpenOptions {
            mode: store::OpenMode::Existing,
            accept_tampered: false,
            actor: "alice",
            now: t0(),
        },
    )
    .expect("open")
}

/// Writes `log` with a checkpoint after `split` events; returns the state dir.
fn journal_with_checkpoint(
    tmp: &std::path::Path,
    log: &[Event],
    split: usize,
) -> (StateDir, ReleaseState) {
    let dir = StateDir::at(tmp);
    let (mut w, _) = JournalWriter::<Event>::open(&dir.journal_path("v1.0.3")).expect("journal");
    w.append_batch(&log[..split]).expect("append");
    let at_split = ReleaseState::fold(&log[..split]).expect("fold");
    checkpoint::write(&checkpoint::path(&dir, "v1.0.3"), &w.position(), &at_split)
        .expect("checkpoint");
    w.append_batch(&log[split..]).expect("append");
    (dir, ReleaseState::fold(log).expect("fold"))
}

#[test]
fn checkpoint_plus_tail_equals_a_full_replay_at_every_split() {
    let log = played();
    let step = (log.len() / 12).max(1);
    for split in (1..log.len()).step_by(step) {
        let tmp = tempfile::tempdir().expect("dir");
        let (dir, full) = journal_with_checkpoint(tmp.path(), &log, split);
        let opened = open(&dir);
        assert!(opened.base.is_some(), "split {split}: checkpoint not used");
        assert_eq!(
            opened.events.len(),
            log.len() - split,
            "only the tail is read"
        );
        assert_eq!(opened.replayed, log.len());
        let resumed = opened.fold().expect("fold").expect("state");
        assert_eq!(json(&resumed), json(&full), "split {split}");
    }
}

#[test]
fn a_checkpoint_that_does_not_match_the_journal_is_set_aside() {
    let log = played();
    let split = log.len() / 2;

    // Corrupt checkpoint file: full replay.
    let tmp = tempfile::tempdir().expect("dir");
    let (dir, full) = journal_with_checkpoint(tmp.path(), &log, split);
    std::fs::write(checkpoint::path(&dir, "v1.0.3"), b"{\"v\":1,\"position\":").expect("write");
    let opened = open(&dir);
    assert!(opened.base.is_none());
    assert_eq!(opened.events.len(), log.len());
    assert_eq!(json(&opened.fold().expect("f").expect("s")), json(&full));
    drop(opened);

    // A checkpoint whose line hash does not match the journal (taken of another
    // journal, or the journal was rewritten since): full replay.
    let tmp2 = tempfile::tempdir().expect("dir");
    let (dir2, full2) = journal_with_checkpoint(tmp2.path(), &log, split);
    let at = checkpoint::path(&dir2, "v1.0.3");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&at).expect("read")).expect("json");
    doc["position"]["head"] = serde_json::Value::String("ab".repeat(32));
    std::fs::write(&at, serde_json::to_vec(&doc).expect("json")).expect("write");
    let opened = open(&dir2);
    assert!(opened.base.is_none(), "a head that does not match is stale");
    assert_eq!(json(&opened.fold().expect("f").expect("s")), json(&full2));
    drop(opened);

    // The journal cut short behind the checkpoint's back: full replay of what is left.
    let tmp4 = tempfile::tempdir().expect("dir");
    let (dir4, _) = journal_with_checkpoint(tmp4.path(), &log, split);
    let journal = dir4.journal_path("v1.0.3");
    let bytes = std::fs::read(&journal).expect("read");
    let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
    let keep: Vec<u8> = lines[..split / 2].concat();
    std::fs::write(&journal, keep).expect("cut");
    let opened = open(&dir4);
    assert!(
        opened.base.is_none(),
        "the checkpoint is ahead of the journal"
    );
    assert_eq!(opened.events.len(), split / 2);
}
