//! `shipdeck demo`, end to end, as a person drives it: the real binary in a tmux
//! pane of 120×40, keys sent with `send-keys`, the screen read with `capture-pane`,
//! and the journal read from the state directory afterwards.
//!
//! The walk: pause (banner and decision-log line), resume with a reason, skip the
//! waits with reasons so the rollout reaches the enterprise wave in seconds, sign
//! its approval gate (both of its signatures) when the cockpit says it needs them
//! (the wave then starts), roll one customer back with a reason, and quit through
//! the confirmation. The terminal must be restored, and the reasons typed must be
//! in the journal file.
//! A second test ends the cockpit with SIGTERM and checks the same restoration.
//!
//! The demo runs at 600× (a bug-fix rollout in well under a minute) with the
//! `flaky` scenario: its faults all happen in the first release quarter-hour,
//! before any customer wave deploys, so no health trigger interferes with the
//! walk (the default scenario rolls TechStart back at a moment of its choosing).
//! Every wait polls the screen with a bound; nothing sleeps a fixed time.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::tmux::{TIMEOUT, TmuxSession, shell_quote, tmux_or_skip};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;
const SPEED: &str = "600";
/// Bound for waits on the rollout itself (release time passing, deploys, soaks):
/// a few seconds normally, generous for a loaded machine.
const ROLLOUT: Duration = Duration::from_secs(40);

/// Starts `shipdeck demo` in a probed tmux pane, with its state in `state`.
fn start_demo(name: &str, state: &Path) -> TmuxSession {
    let command = format!(
        "{} demo --state-dir {} --speed {SPEED} --scenario flaky",
        shell_quote(env!("CARGO_BIN_EXE_shipdeck")),
        shell_quote(&state.display().to_string()),
    );
    let tmux = TmuxSession::start_probed(name, WIDTH, HEIGHT, &command, &[("NO_COLOR", "1")])
        .expect("start tmux");
    tmux.wait_for(
        |s| s.contains("ROLLING OUT") && s.contains("Decision log"),
        TIMEOUT,
    )
    .unwrap_or_else(|screen| panic!("the cockpit never drew its first frame:\n{screen}"));
    tmux
}

/// The timeline row of a wave: it starts in column 1 (column 0 holds the
/// selection mark), unlike the Health pane's wave rows.
fn wave_row<'a>(screen: &'a str, tier: &str) -> &'a str {
    screen
        .lines()
        .find(|l| {
            l.get(1..)
                .is_some_and(|rest| rest.starts_with(&format!("{tier} ")))
        })
        .unwrap_or("")
}

/// Decision-log lines: they start with a clock time, `HH:MM:SS `.
fn log_lines(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| {
            let b = l.as_bytes();
            b.len() > 9 && b[2] == b':' && b[5] == b':' && b[8] == b' '
        })
        .collect()
}

fn has_log_line(screen: &str, parts: &[&str]) -> bool {
    log_lines(screen)
        .iter()
        .any(|l| parts.iter().all(|p| l.contains(p)))
}

fn wait(tmux: &TmuxSession, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
    tmux.wait_for(done, timeout)
        .unwrap_or_else(|screen| panic!("waiting for {what}; last screen:\n{screen}"))
}

fn send(tmux: &TmuxSession, keys: &[&str]) {
    tmux.send_keys(keys).expect("send-keys");
}

/// Types `text` into the focused field, then waits until the dialog shows it
/// (keys are read asynchronously; the next key must not overtake them).
fn type_reason(tmux: &TmuxSession, text: &str) {
    tmux.send_text(text).expect("send text");
    wait(tmux, &format!("the typed text {text:?}"), TIMEOUT, |s| {
        s.contains(&format!("{text}_"))
    });
}

fn journal(state: &Path) -> String {
    let path = state.join("releases").join("v1.0.2").join("journal.jsonl");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_person_pauses_resumes_approves_rolls_back_and_quits() {
    if !tmux_or_skip("a_person_pauses_resumes_approves_rolls_back_and_quits") {
        return;
    }
    let started = Instant::now();
    let state = tempfile::tempdir().expect("state dir");
    let tmux = start_demo("demo-walk", state.path());
    assert!(
        tmux.alternate_on().expect("alternate_on"),
        "not on the alternate screen"
    );

    // Pause: one key, at once. The banner and the log say who and why.
    send(&tmux, &["p"]);
    let screen = wait(&tmux, "the PAUSED banner", TIMEOUT, |s| {
        s.contains("= PAUSED by alice at")
            && has_log_line(s, &["alice paused", "paused from the cockpit"])
    });
    assert!(screen.contains("ROLLING OUT · PAUSED"), "{screen}");
    assert!(screen.contains("p resumes"), "{screen}");
    // Signatures a later wave will need show from the start, not only when due.
    assert!(
        wave_row(&screen, "enterprise").contains("needs release_captain + product_owner approval"),
        "{screen}"
    );

    // Resume: p asks why.
    send(&tmux, &["p"]);
    wait(&tmux, "the resume dialog", TIMEOUT, |s| {
        s.contains("Reason (optional): _")
    });
    type_reason(&tmux, "vendor call over e2e-resume");
    send(&tmux, &["Enter"]);
    let screen = wait(&tmux, "the resume in the log", TIMEOUT, |s| {
        has_log_line(s, &["alice resumed", "vendor call over e2e-resume"])
    });
    assert!(!screen.contains("= PAUSED by alice"), "{screen}");

    // Skip the waits of the three customer waves ahead of time, each with a
    // reason: the timeline is focused with demo selected; j selects the next wave.
    for (tier, reason) in [
        ("startup", "e2e-skip-startup"),
        ("standard", "e2e-skip-standard"),
        ("enterprise", "e2e-skip-enterprise"),
    ] {
        send(&tmux, &["j"]);
        wait(&tmux, &format!("{tier} selected"), TIMEOUT, |s| {
            wave_row(s, tier).starts_with('>')
        });
        send(&tmux, &["s"]);
        wait(&tmux, "the skip dialog", TIMEOUT, |s| {
            s.contains(" Skip the wait ")
        });
        type_reason(&tmux, reason);
        send(&tmux, &["Enter"]);
        wait(
            &tmux,
            &format!("the skip of {tier} in the log"),
            TIMEOUT,
            |s| has_log_line(s, &[&format!("skipped the wait of wave {tier}"), reason]),
        );
    }

    // The enterprise gate: the cockpit said all along that it needs the captain's
    // approval; once standard is through, that is all it waits for. Sign it; the
    // wave starts.
    let screen = wait(&tmux, "the enterprise approval gate", ROLLOUT, |s| {
        wave_row(s, "standard").contains("done")
            && wave_row(s, "enterprise").contains("needs release_captain + product_owner approval")
    });
    assert!(
        !wave_row(&screen, "enterprise").contains("after standard"),
        "{screen}"
    );
    // `a` asks first, naming the wave and the role (enterprise is selected).
    send(&tmux, &["a"]);
    wait(&tmux, "the sign dialog", TIMEOUT, |s| {
        s.contains(" Sign a gate ")
            && s.contains("wave enterprise as release_captain (Release captain)")
    });
    send(&tmux, &["y"]);
    wait(&tmux, "the captain's signature", ROLLOUT, |s| {
        has_log_line(s, &["alice approved wave enterprise as release_captain"])
            && wave_row(s, "enterprise").contains("needs product_owner approval")
    });
    // The demo's gate takes two signatures; alice holds both roles there.
    send(&tmux, &["a"]);
    wait(&tmux, "the second sign dialog", TIMEOUT, |s| {
        s.contains(" Sign a gate ") && s.contains("wave enterprise as product_owner")
    });
    send(&tmux, &["y"]);
    let screen = wait(
        &tmux,
        "the approval and the enterprise wave started",
        ROLLOUT,
        |s| {
            has_log_line(s, &["alice approved wave enterprise as product_owner"])
                && (wave_row(s, "enterprise").contains("deploying")
                    || wave_row(s, "enterprise").contains("done"))
        },
    );
    assert!(
        !wave_row(&screen, "enterprise").contains("needs"),
        "{screen}"
    );

    // Roll back one customer: Health pane, first customer (Demo (main)), r; the
    // dialog offers that customer first and starts on the scope.
    send(&tmux, &["Tab", "Tab"]);
    wait(&tmux, "the Health pane focused", TIMEOUT, |s| {
        s.contains("> Health")
    });
    send(&tmux, &["r"]);
    let screen = wait(&tmux, "the rollback dialog", TIMEOUT, |s| {
        s.contains(" Roll back ") && s.contains("> customer Demo (main)")
    });
    assert!(screen.contains(" [ Cancel ]"), "{screen}");
    send(&tmux, &["Tab"]);
    wait(&tmux, "the reason field", TIMEOUT, |s| {
        s.contains("Reason: _")
    });
    type_reason(&tmux, "e2e-rollback checkout 500s");
    // Enter leaves the reason for the buttons, on Cancel; Right moves to Roll back.
    send(&tmux, &["Enter"]);
    wait(&tmux, "Cancel focused", TIMEOUT, |s| {
        s.contains(">[ Cancel ]   [ Roll back ]")
    });
    send(&tmux, &["Right"]);
    wait(&tmux, "Roll back focused", TIMEOUT, |s| {
        s.contains(" [ Cancel ]  >[ Roll back ]")
    });
    send(&tmux, &["Enter"]);
    let screen = wait(&tmux, "the rollback", ROLLOUT, |s| {
        has_log_line(
            s,
            &[
                "alice rollback of customer demo-main",
                "e2e-rollback checkout 500s",
            ],
        ) && (s.contains("ROLLING BACK customer demo-main") || s.contains("reverted"))
    });
    assert!(
        screen.contains("rollback of customer demo-main requested"),
        "{screen}"
    );

    // Quit: q asks (the release is still running); Tab to Quit, Enter.
    send(&tmux, &["q"]);
    wait(&tmux, "the quit question", TIMEOUT, |s| {
        s.contains(">[ Cancel ]   [ Quit ]")
    });
    send(&tmux, &["Tab"]);
    wait(&tmux, "Quit focused", TIMEOUT, |s| {
        s.contains(" [ Cancel ]  >[ Quit ]")
    });
    send(&tmux, &["Enter"]);
    let report = tmux.wait_for_exit(TIMEOUT).expect("exit");
    report.assert_restored();
    assert_eq!(report.status, 0, "{}", report.screen);
    assert!(
        report.screen.contains("v1.0.2 bug_fix:") && report.screen.contains("journal kept"),
        "{}",
        report.screen
    );

    // The journal on disk has every reason typed, and who gave it.
    let journal = journal(state.path());
    for reason in [
        "vendor call over e2e-resume",
        "e2e-skip-startup",
        "e2e-skip-standard",
        "e2e-skip-enterprise",
        "e2e-rollback checkout 500s",
    ] {
        assert!(journal.contains(reason), "{reason:?} not in the journal");
    }
    assert!(journal.contains("paused from the cockpit"));
    assert!(
        journal.contains("\"approval_signed\""),
        "no approval in the journal"
    );
    eprintln!("demo walk took {:.1?}", started.elapsed());
}

/// The pid of the `shipdeck` process under the pane's shell.
fn shipdeck_pid(tmux: &TmuxSession) -> i32 {
    let root: i32 = tmux
        .display("#{pane_pid}")
        .expect("pane_pid")
        .parse()
        .expect("pid");
    // Walk the process tree under the pane (sh, maybe a subshell, shipdeck).
    let parent_and_name = |pid: i32| -> Option<(i32, String)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let name = stat[open + 1..close].to_string();
        let ppid = stat[close + 2..].split_whitespace().nth(1)?.parse().ok()?;
        Some((ppid, name))
    };
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut all: Vec<(i32, i32, String)> = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            if let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
                if let Some((ppid, name)) = parent_and_name(pid) {
                    all.push((pid, ppid, name));
                }
            }
        }
        let mut frontier = vec![root];
        while let Some(p) = frontier.pop() {
            for (pid, ppid, name) in &all {
                if *ppid == p {
                    if name == "shipdeck" {
                        return *pid;
                    }
                    frontier.push(*pid);
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no shipdeck process under pane pid {root}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_restores_the_terminal() {
    if !tmux_or_skip("demo sigterm_restores_the_terminal") {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let tmux = start_demo("demo-sigterm", state.path());
    assert!(tmux.alternate_on().expect("alternate_on"));
    let stty = tmux.pane_stty().expect("stty");
    assert!(
        stty.split_whitespace().any(|f| f == "-icanon"),
        "not raw while running:\n{stty}"
    );
    let pid = shipdeck_pid(&tmux);
    // SAFETY: kill(2) on a child of this test's own tmux pane.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill failed");
    let report = tmux.wait_for_exit(TIMEOUT).expect("exit");
    report.assert_restored();
    assert_eq!(report.status, 128 + libc::SIGTERM, "{}", report.screen);
    // The release is kept: its journal is on disk.
    assert!(journal(state.path()).contains("\"release_planned\""));
}
