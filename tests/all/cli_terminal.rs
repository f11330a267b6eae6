//! The headless commands in a real terminal (tmux), where a person meets them: a
//! prompt answered with Ctrl-C, and the line `shipdeck demo` leaves behind. Every
//! wait polls the screen with a bound; nothing sleeps a fixed time.

use shipdeck::runtime::history;
use shipdeck::runtime::state_dir::StateDir;

use crate::support::process::{hint, paste};
use crate::support::tmux::{TIMEOUT, TmuxSession, shell_quote, tmux_or_skip};

fn bin() -> String {
    shell_quote(env!("CARGO_BIN_EXE_shipdeck"))
}

/// Runs `command` in a pane under a shell that survives Ctrl-C (it traps INT, so
/// only the foreground program gets it) and prints the program's exit status.
fn start(name: &str, command: &str) -> TmuxSession {
    let wrapped = format!("trap true INT; {command}; echo \"shipdeck exited $?\"");
    TmuxSession::start(
        name,
        120,
        40,
        &wrapped,
        &[("NO_COLOR", "1"), ("USER", "alice")],
    )
    .expect("start tmux")
}

/// Issue 10, item 9: Ctrl-C at a headless tick prompt exited without pausing and
/// left the lock naming a dead process. It must pause (journaled), release the
/// lock and exit 130, like Ctrl-C anywhere else in a headless run.
#[test]
fn ctrl_c_at_a_tick_prompt_pauses_and_leaves_no_stale_lock() {
    if !tmux_or_skip("ctrl_c_at_a_tick_prompt_pauses_and_leaves_no_stale_lock") {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let command = format!(
        "{} --state-dir {} deploy --version v1.0.1 --type security --customers startup --speed 60",
        bin(),
        shell_quote(&state.path().display().to_string())
    );
    let tmux = start("ctrl-c-prompt", &command);
    tmux.wait_for(|s| s.contains("? [y/N]"), TIMEOUT)
        .unwrap_or_else(|screen| panic!("no prompt:\n{screen}"));
    tmux.send_keys(&["C-c"]).expect("send C-c");
    let screen = tmux
        .wait_for(|s| s.contains("shipdeck exited"), TIMEOUT)
        .unwrap_or_else(|screen| panic!("did not exit:\n{screen}"));
    assert!(screen.contains("shipdeck exited 130"), "{screen}");
    assert!(screen.contains("paused: interrupted (Ctrl-C)"), "{screen}");
    let dir = StateDir::at(state.path());
    let (s, _) = history::load_release(&dir, "v1.0.1").expect("journal");
    let pause = s.pause.expect("paused in the journal");
    assert!(
        pause.reason.starts_with("interrupted (Ctrl-C)"),
        "{pause:?}"
    );
    let lock = std::fs::read_to_string(dir.lock_path("v1.0.1")).unwrap_or_default();
    assert!(
        lock.trim().is_empty(),
        "the lock still names a holder: {lock}"
    );
}

/// Issue 10, item 6: the line `shipdeck demo` prints when it ends must work when
/// pasted: with `--state-dir` when one was given, and no promise about a journal
/// it deleted when it used a temporary one.
#[test]
fn the_demo_exit_line_works_when_pasted() {
    if !tmux_or_skip("the_demo_exit_line_works_when_pasted") {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let command = format!(
        "{} demo --state-dir {} --speed 600 --scenario flaky",
        bin(),
        shell_quote(&state.path().display().to_string())
    );
    let tmux = start("demo-hint", &command);
    tmux.wait_for(
        |s| s.contains("ROLLING OUT") || s.contains("VALIDATING"),
        TIMEOUT,
    )
    .unwrap_or_else(|screen| panic!("no cockpit:\n{screen}"));
    tmux.send_keys(&["q"]).expect("q");
    tmux.wait_for(|s| s.contains(" Quit "), TIMEOUT)
        .unwrap_or_else(|screen| panic!("no quit dialog:\n{screen}"));
    tmux.send_keys(&["y"]).expect("y");
    let screen = tmux
        .wait_for(|s| s.contains("shipdeck exited"), TIMEOUT)
        .unwrap_or_else(|screen| panic!("did not exit:\n{screen}"));
    let joined = tmux.capture_history().unwrap_or(screen);
    let status = hint(&joined, "status").unwrap_or_else(|| panic!("no status hint:\n{joined}"));
    assert!(status.contains("--state-dir"), "{status}");
    let o = paste(&status, std::time::Duration::from_secs(30));
    assert_eq!(o.code, Some(0), "{status}: {}", o.text());
    assert!(o.stdout.contains("v1.0.2 bug_fix"), "{}", o.stdout);

    // Without --state-dir the demo's state is temporary and removed: no hint
    // that would fail, and the line says so.
    let tmp = tempfile::tempdir().expect("tmp");
    let command = format!(
        "TMPDIR={} {} demo --speed 600",
        shell_quote(&tmp.path().display().to_string()),
        bin()
    );
    let tmux = start("demo-temp", &command);
    tmux.wait_for(
        |s| s.contains("ROLLING OUT") || s.contains("VALIDATING"),
        TIMEOUT,
    )
    .unwrap_or_else(|screen| panic!("no cockpit:\n{screen}"));
    tmux.send_keys(&["q"]).expect("q");
    tmux.wait_for(|s| s.contains(" Quit "), TIMEOUT)
        .unwrap_or_else(|screen| panic!("no quit dialog:\n{screen}"));
    tmux.send_keys(&["y"]).expect("y");
    let screen = tmux
        .wait_for(|s| s.contains("shipdeck exited"), TIMEOUT)
        .unwrap_or_else(|screen| panic!("did not exit:\n{screen}"));
    let joined = tmux.capture_history().unwrap_or(screen);
    assert!(!joined.contains("journal kept"), "{joined}");
    assert!(hint(&joined, "status").is_none(), "{joined}");
    assert!(
        joined.contains("--state-dir"),
        "says how to keep it: {joined}"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "the temporary state dir was not removed: {left:?}"
    );
}

/// QA, item 1: quitting the demo with `b` hands it to a background runner and
/// prints how to attach again. The demo's state dir is a temporary one, not the
/// default: the printed command must name it, or it reaches nothing when pasted.
#[test]
fn the_demo_handed_to_the_background_prints_a_command_that_reaches_it() {
    if !tmux_or_skip("the_demo_handed_to_the_background_prints_a_command_that_reaches_it") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let command = format!(
        "TMPDIR={} {} demo --speed 60",
        shell_quote(&tmp.path().display().to_string()),
        bin()
    );
    let tmux = start("demo-background", &command);
    tmux.wait_for(
        |s| s.contains("ROLLING OUT") || s.contains("VALIDATING"),
        TIMEOUT,
    )
    .unwrap_or_else(|screen| panic!("no cockpit:\n{screen}"));
    let demo_dir = std::fs::read_dir(tmp.path())
        .expect("tmp")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("shipdeck-demo-"))
        .expect("the demo's state dir");
    let _runner = crate::support::RunnerGuard {
        state: demo_dir.clone(),
        label: "v1.0.2",
    };
    tmux.send_keys(&["q"]).expect("q");
    tmux.wait_for(|s| s.contains(" Quit "), TIMEOUT)
        .unwrap_or_else(|screen| panic!("no quit dialog:\n{screen}"));
    tmux.send_keys(&["b"]).expect("b");
    let screen = tmux
        .wait_for(|s| s.contains("shipdeck exited"), TIMEOUT)
        .unwrap_or_else(|screen| panic!("did not exit:\n{screen}"));
    let joined = tmux.capture_history().unwrap_or(screen);
    let attach = joined
        .lines()
        .find_map(|l| l.trim().strip_prefix("attach again:"))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no attach line:\n{joined}"));
    assert!(
        attach.contains(&format!("--state-dir {}", demo_dir.display())),
        "{attach}"
    );
    // The same command line, asking for the status: it reaches the demo's release.
    let status = attach.replacen(" attach ", " status ", 1);
    let o = paste(&status, std::time::Duration::from_secs(30));
    assert_eq!(o.code, Some(0), "{status}: {}", o.text());
    assert!(o.stdout.contains("v1.0.2 bug_fix"), "{}", o.stdout);
}

/// QA, item 2: `shipdeck demo` in one terminal, `shipdeck pause` in a plain shell
/// (no `--state-dir`) reaches it; the demo's temporary state dir is private (0700).
#[test]
fn a_plain_shell_reaches_the_demo_and_its_state_dir_is_private() {
    use std::os::unix::fs::PermissionsExt;
    if !tmux_or_skip("a_plain_shell_reaches_the_demo_and_its_state_dir_is_private") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("data");
    let command = format!(
        "TMPDIR={} {} demo --speed 60",
        shell_quote(&tmp.path().display().to_string()),
        bin()
    );
    let tmux = start("demo-plain-shell", &command);
    tmux.wait_for(
        |s| s.contains("ROLLING OUT") || s.contains("VALIDATING"),
        TIMEOUT,
    )
    .unwrap_or_else(|screen| panic!("no cockpit:\n{screen}"));
    let demo_dir = std::fs::read_dir(tmp.path())
        .expect("tmp")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("shipdeck-demo-"))
        .expect("the demo's state dir");
    let mode = std::fs::metadata(&demo_dir)
        .expect("meta")
        .permissions()
        .mode();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    cmd.args(["pause", "--reason", "from another shell"])
        .env_remove("SHIPDECK_STATE_DIR")
        .env("TMPDIR", tmp.path())
        .env("XDG_DATA_HOME", data.path())
        .env("HOME", data.path())
        .env("USER", "alice");
    let o = crate::support::process::run_bounded(cmd, std::time::Duration::from_secs(30));
    tmux.send_keys(&["q"]).expect("q");
    tmux.wait_for(|s| s.contains(" Quit "), TIMEOUT)
        .unwrap_or_else(|screen| panic!("no quit dialog:\n{screen}"));
    tmux.send_keys(&["y"]).expect("y");
    tmux.wait_for(|s| s.contains("shipdeck exited"), TIMEOUT)
        .unwrap_or_else(|screen| panic!("did not exit:\n{screen}"));
    assert_eq!(mode & 0o777, 0o700, "the demo's state dir is {mode:o}");
    assert_eq!(o.code, Some(0), "{}", o.text());
    assert!(
        o.stdout.contains("accepted by `shipdeck demo`"),
        "{}",
        o.text()
    );
}
