//! Kill a real `shipdeck deploy` with SIGKILL mid-rollout, run it again, and check
//! that the release completes with no customer deployed twice and no event lost.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

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
    assert!(
        crate::support::deploy::eventually_blocking(Duration::from_secs(60), || {
            journal_so_far(dir.path())
                .iter()
                .filter(|e| matches!(e.event, EventKind::DeployStarted { .. }))
                .count()
                >= 3
        }),
        "no deploys started in time"
    );
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

// ---------------------------------------------------------------------------
// Background runners and the cockpit → runner handover, killed without warning.

use crate::support::tmux::{TIMEOUT, TmuxSession, shell_quote, tmux_or_skip};
use shipdeck::engine::ReleaseState;

fn shipdeck(state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    c.arg("--state-dir")
        .arg(state)
        .env("USER", "alice")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    c
}

fn lock_pid(state: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(state.join("releases/v1.0.1/lock")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("pid")?.as_i64().map(|p| p as i32)
}

/// Polls (bounded) until `done` holds for the journal.
fn until(state: &Path, what: &str, bound: Duration, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let mut events = Vec::new();
    let reached = crate::support::deploy::eventually_blocking(bound, || {
        events = journal(state);
        done(&events)
    });
    assert!(reached, "timed out waiting for {what}");
    events
}

/// Polls (bounded) until nobody holds the release's lock: `pid` has died, or the
/// runner has finished.
fn until_unlocked(state: &Path, pid: i32) {
    let released = crate::support::deploy::eventually_blocking(Duration::from_secs(60), || {
        // SAFETY: signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0 && !is_zombie(pid);
        !alive
            && shipdeck::runtime::lock::current_holder(&state.join("releases/v1.0.1/lock"))
                .is_none()
    });
    assert!(released, "pid {pid} still holds the release");
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| s[i + 2..].starts_with('Z')))
        .unwrap_or(false)
}

fn kill9(pid: i32) {
    // SAFETY: kill(2) on a shipdeck process this test started.
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGKILL) },
        0,
        "kill -9 {pid}"
    );
}

fn deploys_started(events: &[Event]) -> HashMap<String, usize> {
    let mut deploys: HashMap<String, usize> = HashMap::new();
    for e in events {
        if let EventKind::DeployStarted { customer, .. } = &e.event {
            *deploys.entry(customer.to_string()).or_default() += 1;
        }
    }
    deploys
}

/// Customers deploying: started, no result yet.
fn in_flight_customers(events: &[Event]) -> Vec<String> {
    let mut open: HashMap<String, i32> = HashMap::new();
    for e in events {
        match &e.event {
            EventKind::DeployStarted { customer, .. } => {
                *open.entry(customer.to_string()).or_default() += 1
            }
            EventKind::DeployFinished { customer, .. } => {
                *open.entry(customer.to_string()).or_default() -= 1
            }
            _ => {}
        }
    }
    open.into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(c, _)| c)
        .collect()
}

/// Some customer is deploying: started, no result yet.
fn deploy_in_flight(events: &[Event]) -> bool {
    let mut open: HashMap<String, i32> = HashMap::new();
    for e in events {
        match &e.event {
            EventKind::DeployStarted { customer, .. } => {
                *open.entry(customer.to_string()).or_default() += 1
            }
            EventKind::DeployFinished { customer, .. } => {
                *open.entry(customer.to_string()).or_default() -= 1
            }
            _ => {}
        }
    }
    open.values().any(|n| *n > 0)
}

/// `start --resume --detach` at a speed that gets through monitoring quickly, then
/// the release runs to completion in the background; checks that nothing before
/// was lost and no customer was deployed twice.
fn resume_and_complete(state: &Path, before: &[Event]) -> Vec<Event> {
    let out = shipdeck(state)
        .args([
            "start",
            "--resume",
            "--detach",
            "--version",
            "v1.0.1",
            "--speed",
            "100000",
            "--yes",
        ])
        .output()
        .expect("start --resume --detach");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The launcher has exited; the runner runs on, alone.
    let runner = lock_pid(state).expect("a runner holds the release");
    let after = until(
        state,
        "the resumed release to complete",
        Duration::from_secs(60),
        |e| e.iter().any(|e| matches!(e.event, EventKind::Completed)),
    );
    until_unlocked(state, runner);
    // No event lost: what was journaled before is a prefix of the journal now.
    assert_eq!(&after[..before.len()], before);
    assert!(
        after
            .iter()
            .any(|e| matches!(e.event, EventKind::LockTakenOver { .. })),
        "the takeover of the killed process is journaled"
    );
    let deploys = deploys_started(&after);
    assert!(deploys.len() >= 8, "{deploys:?}");
    for (c, n) in deploys {
        assert_eq!(n, 1, "{c} deployed {n} times");
    }
    after
}

#[test]
fn a_background_runner_killed_mid_rollout_then_resumed_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    let _runner = crate::support::RunnerGuard {
        state: state.to_path_buf(),
        label: "v1.0.1",
    };
    // The launching shell exits at once; the release runs in the background.
    let out = shipdeck(state)
        .args([
            "start",
            "--detach",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            "startup,standard",
            "--speed",
            "3000",
            "--yes",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("runs in the background"));
    let runner = lock_pid(state).expect("the runner holds the lock");
    until(
        state,
        "deploys in the background",
        Duration::from_secs(60),
        |e| deploys_started(e).values().sum::<usize>() >= 3,
    );
    kill9(runner);
    until_unlocked(state, runner);
    // attach says the runner is gone, and how to resume (no prompt: not a tty).
    let out = shipdeck(state)
        .args(["attach", "--version", "v1.0.1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is gone") && err.contains("crashed or killed"),
        "{err}"
    );
    assert!(
        err.contains("start --resume --detach --version v1.0.1") && err.contains("--state-dir"),
        "{err}"
    );
    // With nobody running it, commands are recorded offline, and say so.
    for (cmd, reason) in [
        ("pause", "while the runner is down"),
        ("resume", "runner back"),
    ] {
        let out = shipdeck(state)
            .args([cmd, "--version", "v1.0.1", "--reason", reason])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The first one took the dead runner's lock over (journaled); after it,
        // nobody had run the release.
        let why = if cmd == "pause" {
            "is gone"
        } else {
            "no process runs it"
        };
        assert!(
            text.contains("recorded offline") && text.contains(why),
            "{text}"
        );
        assert!(
            text.contains("start --resume --detach --version v1.0.1"),
            "{text}"
        );
    }
    let before = journal(state);
    assert!(
        !before
            .iter()
            .any(|e| matches!(e.event, EventKind::Completed))
    );
    resume_and_complete(state, &before);
}

/// The cockpit of a security release at 60×: deploys take 5 real seconds.
fn cockpit(name: &str, state: &Path) -> TmuxSession {
    let command = format!(
        "cd {} && USER=alice {} --state-dir {} cockpit --version v1.0.1 --type security --customers startup,standard --speed 60",
        shell_quote(env!("CARGO_MANIFEST_DIR")),
        shell_quote(env!("CARGO_BIN_EXE_shipdeck")),
        shell_quote(&state.display().to_string()),
    );
    let tmux =
        TmuxSession::start_probed(name, 120, 40, &command, &[("NO_COLOR", "1")]).expect("tmux");
    tmux.wait_for(|s| s.contains("Decision log"), TIMEOUT)
        .unwrap_or_else(|s| panic!("no cockpit:\n{s}"));
    // Its gating items ticked and the first wait skipped from another shell: both
    // go through the cockpit's socket.
    let events = journal(state);
    let keys = ReleaseState::fold(&events)
        .expect("state")
        .unticked_gating_all();
    let out = shipdeck(state)
        .args(["tick", "--version", "v1.0.1"])
        .args(&keys)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let _ = shipdeck(state)
        .args([
            "skip-wait",
            "--version",
            "v1.0.1",
            "--wave",
            "startup",
            "--reason",
            "drill",
        ])
        .output()
        .unwrap();
    until(
        state,
        "a deploy in flight in the cockpit",
        Duration::from_secs(60),
        deploy_in_flight,
    );
    tmux
}

#[test]
fn a_kill_during_the_cockpit_handover_then_resume_loses_nothing() {
    if !tmux_or_skip("a_kill_during_the_cockpit_handover_then_resume_loses_nothing") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    let _runner = crate::support::RunnerGuard {
        state: state.to_path_buf(),
        label: "v1.0.1",
    };
    let tmux = cockpit("handover-kill", state);
    let cockpit_pid = lock_pid(state).expect("the cockpit holds the lock");
    tmux.send_keys(&["q"]).unwrap();
    tmux.wait_for_text("b  leave it running", TIMEOUT).unwrap();
    tmux.send_keys(&["b"]).unwrap();
    // The cockpit waits for its deploys to report before it lets go: kill it then.
    tmux.wait_for_text("waiting for", TIMEOUT)
        .unwrap_or_else(|s| panic!("no handover:\n{s}"));
    kill9(cockpit_pid);
    until_unlocked(state, cockpit_pid);
    let before = journal(state);
    assert!(
        !before
            .iter()
            .any(|e| matches!(e.event, EventKind::HandedOver { .. })),
        "the kill came before the handover"
    );
    assert!(
        deploy_in_flight(&before),
        "deploys were in flight at the kill"
    );
    resume_and_complete(state, &before);
}

#[test]
fn a_runner_killed_right_after_the_handover_then_resumed_loses_nothing() {
    if !tmux_or_skip("a_runner_killed_right_after_the_handover_then_resumed_loses_nothing") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    let _runner = crate::support::RunnerGuard {
        state: state.to_path_buf(),
        label: "v1.0.1",
    };
    let tmux = cockpit("handover-done", state);
    let cockpit_pid = lock_pid(state).expect("the cockpit holds the lock");
    tmux.send_keys(&["q"]).unwrap();
    tmux.wait_for_text("b  leave it running", TIMEOUT).unwrap();
    tmux.send_keys(&["b"]).unwrap();
    let report = tmux
        .wait_for_exit(Duration::from_secs(60))
        .expect("the cockpit exits");
    report.assert_restored();
    assert_eq!(report.status, 0, "{}", report.screen);
    assert!(
        report.screen.contains("runs in the background now"),
        "{}",
        report.screen
    );
    let runner = lock_pid(state).expect("the runner holds the lock");
    assert_ne!(runner, cockpit_pid);
    let events = journal(state);
    let handed = events
        .iter()
        .position(|e| matches!(e.event, EventKind::HandedOver { .. }))
        .expect("the handover is journaled");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.event, EventKind::LockTakenOver { .. })),
        "a handover is not a takeover: the lock was never free"
    );
    // Each effect was started by one process, once: the effect log says which.
    // Deploys the cockpit started reported before the lock passed; those decided
    // while it was handing over were left for the runner, which started them.
    let log = std::fs::read_to_string(state.join("shipdeck.log")).unwrap_or_default();
    let mut starts: HashMap<String, Vec<String>> = HashMap::new();
    for line in log.lines().filter(|l| l.contains("deploy started")) {
        let field = |k: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .unwrap_or("")
                .to_string()
        };
        starts
            .entry(field("customer="))
            .or_default()
            .push(field("pid="));
    }
    assert!(!starts.is_empty(), "no effect log lines:\n{log}");
    for (c, pids) in &starts {
        assert_eq!(pids.len(), 1, "{c} started by {pids:?}");
    }
    for c in in_flight_customers(&events[..handed]) {
        assert_eq!(
            starts.get(&c).map(|p| p[0].as_str()),
            Some(runner.to_string().as_str()),
            "{c} was in flight at the handover: the runner, not the cockpit, starts it"
        );
    }
    kill9(runner);
    until_unlocked(state, runner);
    let before = journal(state);
    resume_and_complete(state, &before);
}
