//! End-to-end tests of the terminal plumbing (`shipdeck::tui::terminal`) in a real
//! terminal (tmux), and of the tmux harness itself.
//!
//! The program under test is this test binary: re-run with
//! `SHIPDECK_TERMINAL_HELPER=<mode>`, its `terminal_helper_child` test enters a
//! `TerminalSession`, draws "HELPER READY", and then leaves the way `<mode>` says
//! (normal exit, panic, signal). The parent checks in tmux that the terminal was
//! raw and on the alternate screen while it ran, and fully restored afterwards:
//! cooked mode, primary screen, cursor shown, bracketed paste off. Without the env
//! var the helper test returns at once.

use crate::support;

use std::time::Duration;

use futures_util::StreamExt;
use shipdeck::tui::input::terminal_events;
use shipdeck::tui::terminal::{ShutdownSignal, TerminalSession, shutdown_signals};

use crossterm::event::{Event, KeyCode};
use ratatui::text::Text;
use support::tmux::{TIMEOUT, TmuxSession, shell_quote, tmux_or_skip};

const HELPER_ENV: &str = "SHIPDECK_TERMINAL_HELPER";

/// The helper program. Runs only in the child (see the module doc): it is ignored, so
/// an ordinary `cargo test` never counts it as a passing test; the parent runs it with
/// `--ignored`.
#[test]
#[ignore = "helper program, run by the terminal tests in a tmux pane"]
fn terminal_helper_child() {
    let Ok(mode) = std::env::var(HELPER_ENV) else {
        panic!("{HELPER_ENV} is not set: this is a helper, run by the terminal tests");
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(helper(&mode));
}

/// `q` exits normally, `p` panics, a signal exits with 128+n; pastes are counted.
async fn helper(mode: &str) {
    // Signals first, so none can arrive unhandled while the terminal is raw.
    let mut signals = shutdown_signals().expect("signal handlers");
    let mut session = TerminalSession::enter().expect("enter terminal");
    let mut events = terminal_events();
    let pid = std::process::id();
    let mut pastes: Vec<String> = Vec::new();
    let mut keys = 0;
    let mut status = format!("HELPER READY pid={pid} mode={mode}");
    loop {
        session
            .draw(|frame| frame.render_widget(Text::raw(status.as_str()), frame.area()))
            .expect("draw");
        tokio::select! {
            signal = signals.recv() => {
                drop(session);
                println!("HELPER GOT {signal}");
                std::process::exit(signal.exit_code());
            }
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => {
                    keys += 1;
                    match key.code {
                        KeyCode::Char('q') => break,
                        KeyCode::Char('p') => panic!("deliberate helper panic"),
                        _ => {}
                    }
                }
                Some(Ok(Event::Paste(text))) => {
                    pastes.push(text);
                    status = format!("HELPER PASTES {}", pastes.len());
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => panic!("terminal input failed: {err}"),
                None => break,
            },
        }
    }
    drop(session);
    // Keys other than the final `q`: a paste must not arrive as keys.
    println!("HELPER DONE keys={} pastes={pastes:?}", keys - 1);
}

/// Starts the helper in `mode` in a probed tmux session and waits for its first frame.
fn start_helper(name: &str, mode: &str) -> (TmuxSession, String) {
    let exe = std::env::current_exe().expect("test executable");
    let command = format!(
        "{} tui_terminal::terminal_helper_child --exact --ignored --nocapture --test-threads=1",
        shell_quote(&exe.display().to_string())
    );
    // A short panic report: the test reads it back from the screen.
    let env = [(HELPER_ENV, mode), ("RUST_BACKTRACE", "0")];
    let tmux = TmuxSession::start_probed(name, 80, 24, &command, &env).expect("start tmux");
    let screen = tmux
        .wait_for_text("HELPER READY", TIMEOUT)
        .unwrap_or_else(|screen| panic!("helper never drew; last screen:\n{screen}"));
    (tmux, screen)
}

/// While the helper runs: raw mode, alternate screen, hidden cursor.
fn assert_in_cockpit_mode(tmux: &TmuxSession) {
    assert!(tmux.alternate_on().unwrap(), "not on the alternate screen");
    assert!(!tmux.cursor_visible().unwrap(), "cursor not hidden");
    let stty = tmux.pane_stty().unwrap();
    let flags: Vec<&str> = stty.split_whitespace().collect();
    assert!(
        flags.contains(&"-icanon") && flags.contains(&"-echo"),
        "not raw:\n{stty}"
    );
}

fn helper_pid(screen: &str) -> i32 {
    screen
        .split_whitespace()
        .find_map(|word| word.strip_prefix("pid="))
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid on screen:\n{screen}"))
}

#[test]
fn normal_exit_restores_the_terminal() {
    if !tmux_or_skip("normal_exit_restores_the_terminal") {
        return;
    }
    let (tmux, _) = start_helper("normal-exit", "exit");
    assert_in_cockpit_mode(&tmux);
    tmux.send_keys(&["q"]).unwrap();
    let report = tmux.wait_for_exit(TIMEOUT).unwrap();
    report.assert_restored();
    assert_eq!(report.status, 0, "{}", report.screen);
    assert!(report.screen.contains("HELPER DONE"), "{}", report.screen);
}

#[test]
fn panic_restores_the_terminal_before_the_report_prints() {
    if !tmux_or_skip("panic_restores_the_terminal_before_the_report_prints") {
        return;
    }
    let (tmux, _) = start_helper("panic", "panic");
    assert_in_cockpit_mode(&tmux);
    tmux.send_keys(&["p"]).unwrap();
    let report = tmux.wait_for_exit(TIMEOUT).unwrap();
    report.assert_restored();
    // libtest's status for a failed test; what matters is the report is on the
    // primary screen, readable after exit.
    assert_eq!(report.status, 101, "{}", report.screen);
    assert!(
        report.screen.contains("deliberate helper panic"),
        "{}",
        report.screen
    );
}

fn signal_restores(name: &str, signal: libc::c_int, expected: ShutdownSignal) {
    if !tmux_or_skip(name) {
        return;
    }
    let (tmux, screen) = start_helper(name, "signal");
    assert_in_cockpit_mode(&tmux);
    // SAFETY: kill(2) with a pid read from the helper's own screen.
    let rc = unsafe { libc::kill(helper_pid(&screen), signal) };
    assert_eq!(rc, 0, "kill failed");
    let report = tmux.wait_for_exit(TIMEOUT).unwrap();
    report.assert_restored();
    assert_eq!(report.status, expected.exit_code(), "{}", report.screen);
    assert!(
        report.screen.contains(&format!("HELPER GOT {expected}")),
        "{}",
        report.screen
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    signal_restores("sigterm", libc::SIGTERM, ShutdownSignal::Terminate);
}

#[test]
fn sighup_restores_the_terminal() {
    signal_restores("sighup", libc::SIGHUP, ShutdownSignal::Hangup);
}

#[test]
fn sigint_restores_the_terminal() {
    signal_restores("sigint", libc::SIGINT, ShutdownSignal::Interrupt);
}

#[test]
fn a_paste_arrives_as_one_event_not_as_keys() {
    if !tmux_or_skip("a_paste_arrives_as_one_event_not_as_keys") {
        return;
    }
    let (tmux, _) = start_helper("paste", "exit");
    // `q` and newlines inside the paste must not quit or act: they are text.
    tmux.paste("rollback: p95 up 40%\nq to quit? no").unwrap();
    tmux.wait_for_text("HELPER PASTES 1", TIMEOUT)
        .unwrap_or_else(|screen| panic!("paste not received as one event:\n{screen}"));
    tmux.send_keys(&["q"]).unwrap();
    let report = tmux.wait_for_exit(TIMEOUT).unwrap();
    report.assert_restored();
    // Terminals send a pasted newline as CR; the cockpit's reason field should
    // normalise it.
    assert!(
        report
            .screen
            .contains(r#"HELPER DONE keys=0 pastes=["rollback: p95 up 40%\rq to quit? no"]"#),
        "{}",
        report.screen
    );
}

// ---- the harness itself, with plain `sh` commands ----

#[test]
fn harness_waits_for_output_and_reports_a_timeout_with_the_last_screen() {
    if !tmux_or_skip("harness_waits_for_output") {
        return;
    }
    let tmux = TmuxSession::start("harness-wait", 40, 10, "echo hello; exec cat", &[]).unwrap();
    let screen = tmux.wait_for_text("hello", TIMEOUT).unwrap();
    assert_eq!(screen.lines().next(), Some("hello"));
    tmux.send_text("typed text").unwrap();
    tmux.send_keys(&["Enter"]).unwrap();
    // `cat` echoes the line back: once by the terminal's echo, once by cat.
    tmux.wait_for(|s| s.matches("typed text").count() == 2, TIMEOUT)
        .unwrap();
    let err = tmux
        .wait_for_text("never printed", Duration::from_millis(200))
        .unwrap_err();
    assert!(
        err.contains("hello"),
        "timeout should carry the last screen: {err}"
    );
}

#[test]
fn harness_sees_the_requested_size() {
    if !tmux_or_skip("harness_sees_the_requested_size") {
        return;
    }
    let tmux = TmuxSession::start("harness-size", 83, 27, "stty size; exec cat", &[]).unwrap();
    tmux.wait_for_text("27 83", TIMEOUT).unwrap();
    tmux.resize(60, 20).unwrap();
    assert_eq!(
        tmux.display("#{pane_width}x#{pane_height}").unwrap(),
        "60x20"
    );
}

#[test]
fn harness_passes_environment_to_the_command() {
    if !tmux_or_skip("harness_passes_environment_to_the_command") {
        return;
    }
    let tmux = TmuxSession::start(
        "harness-env",
        40,
        10,
        "echo \"color=[$NO_COLOR]\"; exec cat",
        &[("NO_COLOR", "1")],
    )
    .unwrap();
    tmux.wait_for_text("color=[1]", TIMEOUT).unwrap();
}

#[test]
fn exit_probe_passes_for_a_program_that_leaves_the_terminal_alone() {
    if !tmux_or_skip("exit_probe_passes") {
        return;
    }
    let tmux = TmuxSession::start_probed("probe-ok", 80, 24, "echo plain; exit 3", &[]).unwrap();
    let report = tmux.wait_for_exit(TIMEOUT).unwrap();
    report.assert_restored();
    assert_eq!(report.status, 3);
}

#[test]
fn exit_probe_catches_a_program_that_leaves_the_terminal_broken() {
    if !tmux_or_skip("exit_probe_catches_a_broken_terminal") {
        return;
    }
    // Everything a careless TUI leaves behind: alternate screen, hidden cursor,
    // bracketed paste, raw mode.
    let breaker = r"printf '\033[?1049h\033[?25l\033[?2004h'; stty raw -echo";
    let tmux = TmuxSession::start_probed("probe-broken", 80, 24, breaker, &[]).unwrap();
    let problems = tmux.wait_for_exit(TIMEOUT).unwrap().problems().join("\n");
    for expected in [
        "`icanon` is off",
        "`echo` is off",
        "`opost` is off",
        "alternate screen",
        "cursor still hidden",
        "pasted line never arrived",
    ] {
        assert!(
            problems.contains(expected),
            "missing {expected:?} in:\n{problems}"
        );
    }
}

#[test]
fn exit_probe_catches_bracketed_paste_left_on() {
    if !tmux_or_skip("exit_probe_catches_bracketed_paste_left_on") {
        return;
    }
    let tmux =
        TmuxSession::start_probed("probe-paste", 80, 24, r"printf '\033[?2004h'", &[]).unwrap();
    let report = tmux.wait_for_exit(TIMEOUT).unwrap();
    assert_eq!(
        report.problems(),
        [r#"bracketed paste still on: a paste arrived as "\u{1b}[200~shipdeck-paste-probe\n""#]
    );
}
