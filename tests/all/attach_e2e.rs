//! Pairing, end to end: real binaries in tmux panes, a real socket between them.
//!
//! Pane 1 runs `shipdeck demo`; pane 2 attaches `--as bob` and signs the enterprise
//! gate, which pane 1 shows at once with bob's name; a `--readonly` attach has every
//! action key refused by the server; `shipdeck approve --as carol` from a plain
//! shell is accepted through the socket; pane 1 quits leaving the release to a
//! background runner, pane 2 keeps following it as it advances, pane 1 attaches
//! again; when the runner stops, pane 2 says why and exits. Every pane's terminal
//! is restored (stty sane, normal screen, cursor, no bracketed paste).
//!
//! Every wait polls the screen (or the journal) with a bound; nothing sleeps a
//! fixed time.

use crate::support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use shipdeck::engine::{Event, EventKind};
use shipdeck::runtime::journal::read_all;
use support::tmux::{TIMEOUT, TmuxSession, shell_quote, tmux_or_skip};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
const LABEL: &str = "v1.0.2";
/// Bound for waits on the rollout itself.
const ROLLOUT: Duration = Duration::from_secs(40);

fn bin() -> String {
    shell_quote(env!("CARGO_BIN_EXE_shipdeck"))
}

fn pane(name: &str, state: &Path, args: &str) -> TmuxSession {
    let command = format!(
        "{} --state-dir {} {args}",
        bin(),
        shell_quote(&state.display().to_string())
    );
    TmuxSession::start_probed(name, WIDTH, HEIGHT, &command, &[("NO_COLOR", "1")])
        .expect("start tmux")
}

fn wait(tmux: &TmuxSession, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
    tmux.wait_for(done, timeout)
        .unwrap_or_else(|screen| panic!("waiting for {what}; last screen:\n{screen}"))
}

fn send(tmux: &TmuxSession, keys: &[&str]) {
    tmux.send_keys(keys).expect("send-keys");
}

/// Decision-log lines start with a clock time, `HH:MM:SS `.
fn has_log_line(screen: &str, parts: &[&str]) -> bool {
    screen.lines().any(|l| {
        let b = l.as_bytes();
        b.len() > 9
            && b[2] == b':'
            && b[5] == b':'
            && b[8] == b' '
            && parts.iter().all(|p| l.contains(p))
    })
}

fn header(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

fn wave_row<'a>(screen: &'a str, tier: &str) -> &'a str {
    screen
        .lines()
        .find(|l| {
            l.get(1..)
                .is_some_and(|rest| rest.starts_with(&format!("{tier} ")))
        })
        .unwrap_or("")
}

fn shipdeck(state: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .output()
        .expect("run shipdeck")
}

fn journal(state: &Path) -> Vec<Event> {
    read_all::<Event>(&state.join("releases").join(LABEL).join("journal.jsonl"))
        .map(|r| r.into_events().collect())
        .unwrap_or_default()
}

/// The pid the lock file names (the process that runs the release).
fn holder_pid(state: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(state.join("releases").join(LABEL).join("lock")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("pid")?.as_i64().map(|p| p as i32)
}

#[test]
fn two_people_pair_on_the_demo_and_it_outlives_its_first_terminal() {
    if !tmux_or_skip("two_people_pair_on_the_demo_and_it_outlives_its_first_terminal") {
        return;
    }
    let dir = tempfile::tempdir().expect("state dir");
    let state = dir.path();
    let _runner = crate::support::RunnerGuard {
        state: state.to_path_buf(),
        label: "v1.0.2",
    };
    let alice = pane("pair-alice", state, "demo --speed 600 --scenario flaky");
    wait(&alice, "the demo's first frame", TIMEOUT, |s| {
        s.contains("ROLLING OUT") && s.contains("Decision log")
    });
    let demo_pid = holder_pid(state).expect("the demo holds the lock");

    // bob attaches: both headers say who is here, and alice's log says he joined.
    let bob = pane("pair-bob", state, "attach --as bob");
    wait(&bob, "bob's cockpit", TIMEOUT, |s| {
        header(s).contains("alice (captain) · bob") && s.contains("Decision log")
    });
    wait(&alice, "bob in alice's header and log", TIMEOUT, |s| {
        header(s).contains("alice (captain) · bob") && has_log_line(s, &["bob joined"])
    });

    // bob signs the enterprise gate (ahead of time: it is the next pending gate);
    // alice's pane shows it within a second, with his name.
    // `a` asks first ("Sign this gate?", focus on the buttons); `y` signs.
    send(&bob, &["a"]);
    wait(&bob, "the sign dialog", TIMEOUT, |s| {
        s.contains(" Sign a gate ") && s.contains("wave enterprise as release_captain")
    });
    send(&bob, &["y"]);
    wait(&bob, "bob's approval accepted", TIMEOUT, |s| {
        has_log_line(s, &["bob approved wave enterprise as release_captain"])
    });
    let seen = Instant::now();
    wait(
        &alice,
        "bob's approval in alice's pane",
        Duration::from_secs(1),
        |s| has_log_line(s, &["bob approved wave enterprise as release_captain"]),
    );
    eprintln!(
        "bob's approval reached alice's pane {:?} after his",
        seen.elapsed()
    );

    // carol watches: every action key is refused, by the server.
    let before = journal(state).len();
    let carol = pane("pair-carol", state, "attach --readonly --as carol");
    wait(&alice, "carol watching", TIMEOUT, |s| {
        header(s).contains("carol watching") && has_log_line(s, &["carol joined (watching)"])
    });
    for key in ["p", "a", "c"] {
        send(&carol, &[key]);
        // A key that asks first (the sign dialog) is answered yes: the client
        // lets a watcher ask, and the server is what says no.
        let screen = wait(&carol, &format!("{key} acted or asked"), TIMEOUT, |s| {
            s.contains("refused: this session is read-only") || s.contains("[ Cancel ]")
        });
        if !screen.contains("refused: this session is read-only") {
            send(&carol, &["y"]);
        }
        wait(
            &carol,
            &format!("the server's refusal of {key}"),
            TIMEOUT,
            |s| s.contains("refused: this session is read-only"),
        );
        // Esc clears the message, so the next refusal is a new one.
        send(&carol, &["Escape"]);
        wait(&carol, "the message cleared", TIMEOUT, |s| {
            !s.contains("refused: this session is read-only")
        });
    }
    let acted = journal(state)[before..]
        .iter()
        .filter(|e| e.decision().is_some_and(|d| d.actor == "carol"))
        .count();
    assert_eq!(acted, 0, "a read-only session changed the release");
    send(&carol, &["q"]);
    let report = carol.wait_for_exit(TIMEOUT).expect("carol exits");
    report.assert_restored();
    assert_eq!(report.status, 0, "{}", report.screen);

    // carol, from a plain shell: the second signature goes through the socket.
    let out = shipdeck(state, &["approve", "--as", "carol"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("carol approved wave enterprise as product_owner"),
        "{stdout}"
    );
    assert!(stdout.contains("accepted by `shipdeck demo`"), "{stdout}");
    let events = journal(state);
    let i = events
        .iter()
        .position(
            |e| matches!(&e.event, EventKind::ApprovalSigned { actor, .. } if actor == "carol"),
        )
        .expect("carol's approval journaled");
    assert!(
        matches!(&events[i - 1].event, EventKind::ActedFrom { actor, uid, via, .. }
            if actor == "carol" && *uid == unsafe { libc::getuid() } && via == "command"),
        "the kernel's uid comes with it: {:?}",
        events[i - 1]
    );
    // A refusal is exit 1 with the engine's reason.
    let again = shipdeck(state, &["approve", "--as", "carol"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no wave is waiting for an approval"));

    // alice leaves it running in the background.
    send(&alice, &["q"]);
    wait(&alice, "the quit question", TIMEOUT, |s| {
        s.contains("Quit the cockpit") && s.contains("b  leave it running")
    });
    send(&alice, &["b"]);
    let report = alice.wait_for_exit(ROLLOUT).expect("alice's cockpit exits");
    report.assert_restored();
    assert_eq!(report.status, 0, "{}", report.screen);
    assert!(
        report.screen.contains("runs in the background now"),
        "{}",
        report.screen
    );
    let runner = holder_pid(state).expect("a runner holds the lock");
    assert_ne!(runner, demo_pid);
    assert!(
        journal(state).iter().any(
            |e| matches!(e.event, EventKind::HandedOver { to_pid, .. } if to_pid as i32 == runner)
        ),
        "the handover is journaled"
    );

    // bob follows the release to the runner, and sees it advance: a command from
    // a plain shell reaches the runner, and startup deploys.
    wait(&bob, "bob still attached", TIMEOUT, |s| {
        header(s).contains("alice (captain) · bob")
    });
    let out = shipdeck(
        state,
        &[
            "skip-wait",
            "--wave",
            "startup",
            "--reason",
            "e2e after handover",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("a background runner"));
    wait(&bob, "startup advancing in bob's pane", ROLLOUT, |s| {
        has_log_line(
            s,
            &["skipped the wait of wave startup", "e2e after handover"],
        ) && (wave_row(s, "startup").contains("deploying")
            || wave_row(s, "startup").contains("done"))
    });

    // alice comes back.
    let alice_again = pane("pair-alice-again", state, "attach --as alice");
    wait(&alice_again, "alice attached again", TIMEOUT, |s| {
        header(s).contains("alice (captain)") && header(s).contains("bob")
    });
    send(&alice_again, &["q"]);
    let report = alice_again.wait_for_exit(TIMEOUT).expect("exit");
    report.assert_restored();
    assert_eq!(report.status, 0, "{}", report.screen);

    // The runner stops (SIGTERM, as systemd would): bob's cockpit says why, exits,
    // and gives the terminal back.
    // SAFETY: kill(2) on the runner this test started (through the demo).
    assert_eq!(unsafe { libc::kill(runner, libc::SIGTERM) }, 0);
    let report = bob.wait_for_exit(TIMEOUT).expect("bob's cockpit exits");
    report.assert_restored();
    assert!(
        report.screen.contains("got SIGTERM") && report.screen.contains("start --resume"),
        "{}",
        report.screen
    );
    assert!(
        crate::support::deploy::eventually_blocking(TIMEOUT, || holder_pid(state).is_none()),
        "the runner did not let go of the lock"
    );
}
