//! Kill a real `shipdeck deploy` with SIGKILL mid-rollout, run it again, and check
//! that the release completes with no customer deployed twice and no event lost.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shipdeck::engine::{Event, EventKind};
use shipdeck::runtime::journal::read_all;

fn deploy(state: &Path, speed: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    c.arg("--state-dir")
        .arg(state)
        .args([
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            "startup,standard",
            "--speed",
            speed,
            "--yes",
        ])
        .env("USER", "alice")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// The journal's events. Any read error fails the test: an unreadable journal
/// read as empty would make "nothing lost" hold of nothing.
fn journal(state: &Path) -> Vec<Event> {
    match read_all::<Event>(&state.join("releases/v1.0.1/journal.jsonl")) {
        Ok(r) => r.into_events().collect(),
        Err(e) => panic!("the journal does not read: {e}"),
    }
}

/// [`journal`] while the first run starts: no journal yet is no events.
fn journal_so_far(state: &Path) -> Vec<Event> {
    match read_all::<Event>(&state.join("releases/v1.0.1/journal.jsonl")) {
        Ok(r) => r.into_events().collect(),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => panic!("the journal does not read: {e}"),
    }
}

#[test]
fn sigkill_mid_rollout_then_resume_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = deploy(dir.path(), "3000").spawn().unwrap();
    // Wait (bounded) until some customers are deploying, then kill without warning.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let started = journal_so_far(dir.path())
            .iter()
            .filter(|e| matches!(e.event, EventKind::DeployStarted { .. }))
            .count();
        if started >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "no deploys started in time");
        // Bounded polling of a real process: each look reads the whole journal, so
        // do not spin on a machine other tests share.
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = journal(dir.path());
    assert!(before.len() >= 3, "the first run journaled its deploys");
    assert!(
        !before
            .iter()
            .any(|e| matches!(e.event, EventKind::Completed))
    );

    // Faster now: the 48 h of monitoring need not take a minute.
    let status = deploy(dir.path(), "40000").status().unwrap();
    assert_eq!(status.code(), Some(0));
    let after = journal(dir.path());
    // No event lost: what was journaled before the kill is a prefix of the journal now.
    assert!(after.len() > before.len(), "the second run journaled more");
    assert_eq!(&after[..before.len()], &before[..]);
    assert!(
        after
            .iter()
            .any(|e| matches!(e.event, EventKind::Completed))
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
}
