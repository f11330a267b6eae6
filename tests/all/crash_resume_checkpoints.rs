//! Kill -9 a real `shipdeck deploy` at seeded random points of a security drill, with
//! checkpoints written every few events (`SHIPDECK_CHECKPOINT_EVENTS`) and steady
//! health summarised hourly, then run it again, each time:
//! - the newest checkpoint is the state a full replay gives at its position, and
//!   opening the release (checkpoint + the journal's tail, as a resume does) gives
//!   the state a full replay of the whole journal gives;
//! - what was journaled before the kill is a prefix of the journal after the next
//!   run (no event missing);
//!
//! and at the end the release completes with no customer deployed twice.
//!
//! No fixed sleeps: every wait polls the journal (or the child's exit) under a
//! generous bound.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use shipdeck::engine::{Event, EventKind, ReleaseState};
use shipdeck::runtime::journal::read_all;
use shipdeck::runtime::state_dir::StateDir;
use shipdeck::runtime::{checkpoint, store};

const LABEL: &str = "v1.0.1";
/// The seed of the kill points (change it to try others; each run prints its points).
const SEED: u64 = 0x5eed_0016;
/// A checkpoint every this many events: several per run.
const CHECKPOINT_EVENTS: &str = "15";
const BOUND: Duration = Duration::from_secs(120);

fn deploy(state: &Path, speed: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    c.arg("--state-dir")
        .arg(state)
        .args([
            "deploy",
            "--version",
            LABEL,
            "--type",
            "security",
            "--customers",
            "startup,standard",
            "--speed",
            speed,
            "--yes",
        ])
        .env("USER", "alice")
        .env(checkpoint::EVERY_EVENTS_ENV, CHECKPOINT_EVENTS)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// The journal's whole lines (a line being written is left out, as a resume drops it).
fn journal(state: &Path) -> Vec<Event> {
    match read_all::<Event>(&state.join("releases").join(LABEL).join("journal.jsonl")) {
        Ok(r) => r.into_events().collect(),
        Err(_) => Vec::new(),
    }
}

fn json(s: &ReleaseState) -> serde_json::Value {
    serde_json::to_value(s).expect("state as JSON")
}

fn count(events: &[Event], kind: fn(&EventKind) -> bool) -> usize {
    events.iter().filter(|e| kind(&e.event)).count()
}

fn is_summary(k: &EventKind) -> bool {
    matches!(k, EventKind::HealthSummarized { .. })
}

fn is_rollout_done(k: &EventKind) -> bool {
    matches!(k, EventKind::RolloutCompleted { .. })
}

/// Summaries journaled after the rollout completed (`None` before it has).
fn monitoring_summaries(events: &[Event]) -> Option<usize> {
    let done = events.iter().position(|e| is_rollout_done(&e.event))?;
    Some(count(&events[done..], is_summary))
}

/// SplitMix64: the kill points are a seeded choice, the same on every run.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// Where a run is killed, counted from what the journal held when it started.
#[derive(Debug, Clone, Copy)]
enum Point {
    /// After this many more events (during the rollout).
    Events(usize),
    /// After this many more hourly health summaries once the rollout has completed
    /// (during monitoring).
    Summaries(usize),
}

fn points(seed: u64) -> Vec<(Point, &'static str)> {
    let mut d = Dice(seed);
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push((Point::Events(5 + d.below(40) as usize), "3000"));
    }
    for _ in 0..3 {
        out.push((Point::Summaries(1 + d.below(4) as usize), "20000"));
    }
    out
}

/// Waits (bounded) until the point is reached, or the child exits on its own.
fn run_until(child: &mut Child, state: &Path, start: &[Event], point: Point) -> bool {
    let mut exited = false;
    let settled = crate::support::deploy::eventually_blocking(BOUND, || {
        if let Ok(Some(_)) = child.try_wait() {
            exited = true;
            return true;
        }
        let now = journal(state);
        match point {
            Point::Events(n) => now.len() >= start.len() + n,
            Point::Summaries(n) => monitoring_summaries(&now)
                .is_some_and(|k| k >= monitoring_summaries(start).unwrap_or(0) + n),
        }
    });
    assert!(settled, "timed out waiting for {point:?}");
    !exited
}

/// After a kill: the checkpoint on disk matches a full replay at its position, and
/// opening the release (as a resume does, on a copy, so this run's journal is not
/// touched) gives the state a full replay gives. Returns whether the open used the
/// checkpoint.
fn check_resume(state: &Path, at: &str) -> bool {
    let events = journal(state);
    let last_at = ReleaseState::fold(&events)
        .expect("full replay")
        .last_event_at;
    let dir = StateDir::at(state);
    let cp = checkpoint::read(&checkpoint::path(&dir, LABEL)).expect("checkpoint reads");
    if let Some((position, cp_state)) = &cp {
        let n = usize::try_from(position.seq).expect("seq");
        assert!(n <= events.len(), "{at}: checkpoint ahead of the journal");
        let replayed = ReleaseState::fold(&events[..n]).expect("replay to the checkpoint");
        assert_eq!(
            json(cp_state),
            json(&replayed),
            "{at}: the checkpoint is not the replayed state at event {n}"
        );
    }

    // A copy of the release, opened as the next run opens it.
    let copy = tempfile::tempdir().expect("copy");
    let from = state.join("releases").join(LABEL);
    let to = copy.path().join("releases").join(LABEL);
    std::fs::create_dir_all(&to).expect("mkdir");
    for name in ["journal.jsonl", "checkpoint.json", "lock"] {
        if from.join(name).exists() {
            std::fs::copy(from.join(name), to.join(name)).expect("copy");
        }
    }
    let copy_dir = StateDir::at(copy.path());
    let opened = store::open(
        &copy_dir,
        LABEL,
        &store::OpenOptions {
            mode: store::OpenMode::Existing,
            accept_tampered: false,
            actor: "alice",
            now: last_at,
        },
    )
    .expect("open the copy");
    let used = opened.base.is_some();
    let resumed = opened.fold().expect("fold").expect("state");
    drop(opened);
    // What the open journaled (the takeover from the killed run) is part of both.
    let after_open = journal(copy.path());
    assert_eq!(
        &after_open[..events.len()],
        &events[..],
        "{at}: open lost events"
    );
    let full_after = ReleaseState::fold(&after_open).expect("full replay");
    assert_eq!(
        json(&resumed),
        json(&full_after),
        "{at}: checkpoint + tail differs from a full replay"
    );
    used
}

#[test]
fn kill_9_at_seeded_points_with_checkpoints_and_summaries_resumes_exactly() {
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path();
    let plan = points(SEED);
    eprintln!("kill points (seed {SEED:#x}): {plan:?}");
    let mut kills_in_rollout = 0;
    let mut kills_in_monitoring = 0;
    let mut from_checkpoint = 0;
    for (i, (point, speed)) in plan.iter().enumerate() {
        let before = journal(state);
        if before
            .iter()
            .any(|e| matches!(e.event, EventKind::Completed))
        {
            break;
        }
        let mut child = deploy(state, speed).spawn().expect("spawn deploy");
        let reached = run_until(&mut child, state, &before, *point);
        if reached {
            child.kill().expect("kill -9"); // SIGKILL
        }
        child.wait().expect("wait");
        let after = journal(state);
        assert!(after.len() >= before.len(), "kill {i}: the journal shrank");
        assert_eq!(
            &after[..before.len()],
            &before[..],
            "kill {i}: an event journaled before went missing"
        );
        if !reached {
            continue;
        }
        if after.iter().any(|e| is_rollout_done(&e.event)) {
            kills_in_monitoring += 1;
        } else {
            kills_in_rollout += 1;
        }
        if check_resume(state, &format!("kill {i} at {point:?}")) {
            from_checkpoint += 1;
        }
    }

    // To the end, fast: the rest of the 48 h of monitoring.
    let before = journal(state);
    let status = deploy(state, "40000").status().expect("final run");
    assert_eq!(status.code(), Some(0), "the release completes");
    let after = journal(state);
    assert_eq!(&after[..before.len()], &before[..], "final run lost events");
    assert!(
        after
            .iter()
            .any(|e| matches!(e.event, EventKind::Completed))
    );
    assert!(
        count(&after, is_summary) >= 3,
        "steady health was summarised"
    );
    assert!(
        kills_in_rollout >= 2 && kills_in_monitoring >= 1,
        "kills in the rollout {kills_in_rollout}, in monitoring {kills_in_monitoring}"
    );
    assert!(
        from_checkpoint >= 2,
        "resumes from a checkpoint: {from_checkpoint}"
    );
    let mut deploys: HashMap<String, usize> = HashMap::new();
    for e in &after {
        if let EventKind::DeployStarted { customer, .. } = &e.event {
            *deploys.entry(customer.to_string()).or_default() += 1;
        }
    }
    assert!(deploys.len() >= 8, "{deploys:?}");
    for (c, n) in deploys {
        assert_eq!(n, 1, "{c} deployed {n} times");
    }
    // The whole journal replays to the state the last run left, and so does the
    // newest checkpoint plus its tail.
    check_resume(state, "the end");
}
