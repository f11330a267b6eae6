//! `shipdeck start` and commands from any terminal, as a shell uses them: the real
//! binary, a background runner, exit codes and words. Waits poll with a bound.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BOUND: Duration = Duration::from_secs(30);

fn shipdeck(state: &Path, runtime: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .env("USER", "alice")
        .env("XDG_RUNTIME_DIR", runtime)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .expect("run shipdeck")
}

use crate::support::process::text;

fn lock_pid(state: &Path, label: &str) -> Option<i32> {
    let text = std::fs::read_to_string(state.join("releases").join(label).join("lock")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("pid")?.as_i64().map(|p| p as i32)
}

fn until_unlocked(state: &Path, label: &str) {
    let lock = state.join("releases").join(label).join("lock");
    assert!(
        crate::support::deploy::eventually_blocking(BOUND, || {
            shipdeck::runtime::lock::current_holder(&lock).is_none()
        }),
        "the runner still holds {label}"
    );
}

#[test]
fn a_runner_with_a_long_state_dir_serves_from_the_runtime_dir_and_commands_reach_it() {
    let base = tempfile::tempdir().expect("dir");
    let runtime = tempfile::tempdir().expect("runtime dir");
    let state = base.path().join(
        "a-state-dir-whose-path-is-longer-than-any-unix-socket-path-may-be-on-linux-or-macos",
    );
    let _runner = crate::support::RunnerGuard {
        state: state.to_path_buf(),
        label: "v1.0.1",
    };
    // Without --yes the release waits for its checklist: the runner stays up.
    let out = shipdeck(
        &state,
        runtime.path(),
        &[
            "start",
            "--version",
            "v1.0.1",
            "--type",
            "bug_fix",
            "--detach",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("v1.0.1 runs in the background"),
        "{}",
        text(&out)
    );

    // A second start of the same release is refused: it is running.
    let again = shipdeck(
        &state,
        runtime.path(),
        &["start", "--resume", "--version", "v1.0.1"],
    );
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(
        text(&again).contains("already being run by"),
        "{}",
        text(&again)
    );

    // status says where the socket is, and why it is not in the state dir.
    let status = shipdeck(&state, runtime.path(), &["status", "--version", "v1.0.1"]);
    let t = text(&status);
    let socket_line = t.lines().find(|l| l.starts_with("socket: ")).unwrap_or("");
    assert!(
        socket_line.contains(&runtime.path().display().to_string())
            && socket_line.contains("too long for a socket"),
        "{t}"
    );

    // A command from another shell (whose runtime dir differs: the pointer in the
    // state dir says where) goes through the socket, with the engine's verdict.
    let other_runtime = tempfile::tempdir().expect("other");
    let out = shipdeck(
        &state,
        other_runtime.path(),
        &[
            "pause",
            "--version",
            "v1.0.1",
            "--reason",
            "checking the dashboards",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("accepted by a background runner"),
        "{}",
        text(&out)
    );
    let out = shipdeck(
        &state,
        runtime.path(),
        &["pause", "--version", "v1.0.1", "--reason", "again"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("already paused"), "{}", text(&out));
    // A bad argument is an error (2), and nothing reaches the release.
    let out = shipdeck(
        &state,
        runtime.path(),
        &[
            "rollback",
            "--version",
            "v1.0.1",
            "--customers",
            "nobody",
            "--reason",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // SIGTERM stops the runner cleanly; the release keeps its journal.
    let pid = lock_pid(&state, "v1.0.1").expect("runner pid");
    // SAFETY: kill(2) on the runner this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    until_unlocked(&state, "v1.0.1");
    let log = std::fs::read_to_string(state.join("releases/v1.0.1/runner.log")).unwrap_or_default();
    assert!(log.contains("stopping: SIGTERM"), "{log}");
    assert!(log.contains("v1.0.1 bug_fix: planned"), "{log}");
    // With nobody running it, `status` says how to start it again.
    let status = shipdeck(&state, runtime.path(), &["status", "--version", "v1.0.1"]);
    assert!(
        text(&status).contains("start --resume --detach --version v1.0.1"),
        "{}",
        text(&status)
    );
}

#[test]
fn start_says_what_it_needs() {
    let state = tempfile::tempdir().expect("dir");
    let runtime = tempfile::tempdir().expect("runtime");
    let out = shipdeck(
        state.path(),
        runtime.path(),
        &["start", "--version", "v1.0.1"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--version and --type"),
        "{}",
        text(&out)
    );
    let out = shipdeck(
        state.path(),
        runtime.path(),
        &["start", "--resume", "--version", "v9.9.9"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no release v9.9.9"), "{}", text(&out));
    let out = shipdeck(
        state.path(),
        runtime.path(),
        &["start", "--detach", "--foreground", "--resume"],
    );
    assert_eq!(out.status.code(), Some(2), "clap refuses both");
}

/// The repository's configuration, with the bug-fix startup wave behind a QA lead's
/// approval and bob (QA lead) mapped to the OS user running the test.
fn config_with_a_gate(dir: &Path) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let dst = dir.join("config");
    std::fs::create_dir_all(&dst).expect("config dir");
    for entry in std::fs::read_dir(&src).expect("config") {
        let entry = entry.expect("entry");
        if entry.path().extension().is_some_and(|e| e == "json") {
            std::fs::copy(entry.path(), dst.join(entry.file_name())).expect("copy");
        }
    }
    let edit = |file: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let path = dst.join(file);
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        f(&mut v);
        std::fs::write(&path, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    };
    edit("policies.json", &|v| {
        let waves = v["policies"]["bug_fix"]["waves"]
            .as_array_mut()
            .expect("waves");
        for w in waves {
            if w["tier"] == "startup" {
                w["approval"] = serde_json::json!({"mode": "manual", "roles": ["qa_lead"]});
            }
        }
    });
    let me = shipdeck::runtime::endpoint::user_name(shipdeck::runtime::endpoint::current_uid());
    edit("roster.json", &|v| {
        for p in v["people"].as_array_mut().expect("people") {
            if p["name"] == "bob" {
                p["os_users"] = serde_json::json!([me]);
            }
        }
    });
    dst
}

#[test]
fn a_detached_bug_fix_release_is_attached_to_and_approved_from_another_shell() {
    let base = tempfile::tempdir().expect("dir");
    let runtime = tempfile::tempdir().expect("runtime");
    let config = config_with_a_gate(base.path());
    let state = base.path().join("state");
    let _runner = crate::support::RunnerGuard {
        state: state.to_path_buf(),
        label: "v1.0.1",
    };
    let config_arg = config.display().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["--config", config_arg.as_str()];
        all.extend_from_slice(args);
        shipdeck(&state, runtime.path(), &all)
    };
    // At drill speed; the launching shell gets its prompt back at once.
    let out = run(&[
        "start",
        "--version",
        "v1.0.1",
        "--type",
        "bug_fix",
        "--customers",
        "startup",
        "--speed",
        "3000",
        "--yes",
        "--detach",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // It waits for bob's signature, mid-rollout.
    let mut v = serde_json::Value::Null;
    let waiting = crate::support::deploy::eventually_blocking(BOUND, || {
        let status = run(&["status", "--version", "v1.0.1", "--json"]);
        v = serde_json::from_slice(&status.stdout).unwrap_or_default();
        let startup = v["waves"]
            .as_array()
            .and_then(|w| w.iter().find(|w| w["tier"] == "startup").cloned())
            .unwrap_or_default();
        v["phase"] == "rollout" && startup["missing_roles"] == serde_json::json!(["qa_lead"])
    });
    assert!(waiting, "never waited for the approval: {v}");
    assert!(v["running_by"]["pid"].is_number(), "{v}");
    // Later, `attach` sees it mid-rollout (in tmux, when there is one).
    if support_tmux() {
        let cmd = format!(
            "{} --config {} --state-dir {} attach --readonly",
            crate::support::tmux::shell_quote(env!("CARGO_BIN_EXE_shipdeck")),
            crate::support::tmux::shell_quote(&config_arg),
            crate::support::tmux::shell_quote(&state.display().to_string()),
        );
        let tmux = crate::support::tmux::TmuxSession::start_probed(
            "detached-attach",
            120,
            40,
            &cmd,
            &[
                ("NO_COLOR", "1"),
                ("XDG_RUNTIME_DIR", &runtime.path().display().to_string()),
            ],
        )
        .expect("tmux");
        tmux.wait_for(
            |s| s.contains("ROLLING OUT") && s.contains("needs qa_lead approval"),
            crate::support::tmux::TIMEOUT,
        )
        .unwrap_or_else(|s| panic!("attach did not show the release mid-rollout:\n{s}"));
        tmux.send_keys(&["q"]).expect("q");
        let report = tmux
            .wait_for_exit(crate::support::tmux::TIMEOUT)
            .expect("exit");
        report.assert_restored();
        assert_eq!(report.status, 0, "{}", report.screen);
    }
    // bob approves from another shell: it moves on.
    let out = run(&["approve", "--version", "v1.0.1", "--as", "bob"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("bob approved wave startup as qa_lead"),
        "{}",
        text(&out)
    );
    let journal = state.join("releases/v1.0.1/journal.jsonl");
    assert!(
        crate::support::deploy::eventually_blocking(BOUND, || {
            std::fs::read_to_string(&journal)
                .unwrap_or_default()
                .contains(r#""wave_started":{"wave":"startup"}"#)
        }),
        "startup never started after the approval"
    );
    let pid = lock_pid(&state, "v1.0.1").expect("runner");
    // SAFETY: kill(2) on the runner this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    until_unlocked(&state, "v1.0.1");
}

fn support_tmux() -> bool {
    crate::support::tmux::tmux_or_skip("a_detached_bug_fix_release_is_attached_to (attach part)")
}

/// A headless `deploy` has no cockpit to act in: a command from another shell
/// reaches it through its socket, and it reacts as to its own.
#[test]
fn a_pause_from_another_shell_reaches_a_headless_deploy() {
    let state = tempfile::tempdir().expect("dir");
    let runtime = tempfile::tempdir().expect("runtime");
    let deploy = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(state.path())
        .args([
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            "startup,standard",
            "--speed",
            "600",
            "--yes",
        ])
        .env("USER", "alice")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("deploy");
    let journal = state.path().join("releases/v1.0.1/journal.jsonl");
    assert!(
        crate::support::deploy::eventually_blocking(BOUND, || {
            std::fs::read_to_string(&journal)
                .unwrap_or_default()
                .contains("deploy_started")
        }),
        "deploy never started deploying"
    );
    let out = shipdeck(
        state.path(),
        runtime.path(),
        &[
            "pause",
            "--version",
            "v1.0.1",
            "--reason",
            "hold on, support call",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("accepted by `shipdeck deploy`"),
        "{}",
        text(&out)
    );
    let done = deploy.wait_with_output().expect("deploy ends");
    let printed = String::from_utf8_lossy(&done.stdout);
    assert_eq!(done.status.code(), Some(1), "{printed}");
    // Through the socket the name is the kernel's, not $USER: the OS user the
    // peer's uid belongs to (no roster person maps it here).
    let me = shipdeck::runtime::endpoint::user_name(shipdeck::runtime::endpoint::current_uid());
    assert!(
        printed.contains(&format!("{me} paused the release: hold on, support call"))
            && printed.contains("waiting on people"),
        "{printed}"
    );
}

/// `start` holds a new release to the same checks as `deploy`: the version gate
/// refuses in the launching shell (nothing runs), `--force-version` goes ahead on
/// the record, and `--emergency --reason --override-windows` declares exactly
/// that emergency in the runner, with the notes file in the plan.
#[test]
fn start_checks_a_new_release_as_deploy_does() {
    let base = tempfile::tempdir().expect("dir");
    let runtime = tempfile::tempdir().expect("runtime dir");
    let state = base.path().join("state");
    // Customers run v1.0.0, so a bug fix is v1.0.1: v1.0.9 is refused.
    let out = shipdeck(
        &state,
        runtime.path(),
        &["start", "--version", "v1.0.9", "--type", "bug_fix"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("must be v1.0.1"), "{}", text(&out));
    assert!(
        !state
            .join("releases")
            .join("v1.0.9")
            .join("journal.jsonl")
            .exists(),
        "nothing started"
    );

    let notes = base.path().join("notes.md");
    std::fs::write(
        &notes,
        "---\nname: Checkout fix\nsummary: fixes the checkout data loss\n---\n- checkout keeps the basket\n",
    )
    .expect("notes");
    let _runner = crate::support::RunnerGuard {
        state: state.clone(),
        label: "v1.0.9",
    };
    let out = shipdeck(
        &state,
        runtime.path(),
        &[
            "start",
            "--version",
            "v1.0.9",
            "--type",
            "bug_fix",
            "--force-version",
            "customer contract pins v1.0.9",
            "--emergency",
            "--reason",
            "checkout data loss",
            "--override-windows",
            "umbrella-health",
            "--notes",
            notes.to_str().expect("utf-8 path"),
            "--detach",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let dir = shipdeck::runtime::state_dir::StateDir::at(&state);
    let mut declared_release = None;
    assert!(
        crate::support::deploy::eventually_blocking(BOUND, || {
            declared_release = shipdeck::runtime::history::load_release(&dir, "v1.0.9")
                .ok()
                .filter(|(s, _)| s.emergency);
            declared_release.is_some()
        }),
        "no emergency declared"
    );
    let (release, events) = declared_release.expect("declared above");
    let declared = events
        .iter()
        .find_map(|e| match &e.event {
            shipdeck::engine::EventKind::EmergencyDeclared {
                reason,
                windows_overridden,
                ..
            } => Some((reason.clone(), windows_overridden.clone())),
            _ => None,
        })
        .expect("the emergency is journaled");
    assert_eq!(declared.0, "checkout data loss");
    assert_eq!(
        declared.1.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        ["umbrella-health"]
    );
    let forced = release
        .plan
        .version_override
        .as_ref()
        .expect("the override is in the plan");
    assert_eq!(forced.reason, "customer contract pins v1.0.9");
    let plan_notes = serde_json::to_string(&release.plan.notes).expect("json");
    assert!(plan_notes.contains("Checkout fix"), "{plan_notes}");
}

/// The value after `label:` on a line of `start`'s output (`  status:   shipdeck …`).
fn printed(text: &str, label: &str) -> String {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .map(|c| c.trim().to_string())
        .unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"))
}

/// QA, item 1: every command shipdeck prints for pasting names the state dir and
/// config it was given (shell-quoted), so it reaches the same release when pasted
/// into the same shell: `start`'s attach/act/status lines, its "already being run"
/// refusal, and an offline command's "start it in the background".
#[test]
fn printed_commands_name_the_state_dir_and_config_and_work_when_pasted() {
    use crate::support::process::{hint, paste, run_bounded, shipdeck_command};
    let base = tempfile::tempdir().expect("dir");
    // A path with a space: printed unquoted, the pasted command would split it.
    let state = base.path().join("state dir");
    let _runner = crate::support::RunnerGuard {
        state: state.clone(),
        label: "v1.0.1",
    };
    let run = |args: &[&str]| {
        let mut all = vec!["--config", "config"];
        all.extend_from_slice(args);
        run_bounded(shipdeck_command(&state, &all), BOUND)
    };
    let quoted = format!("--state-dir '{}'", state.display());
    let o = run(&[
        "start",
        "--version",
        "v1.0.1",
        "--type",
        "bug_fix",
        "--detach",
    ]);
    assert_eq!(o.code, Some(0), "{}", o.text());
    for label in ["attach:", "act:", "status:"] {
        let line = printed(&o.stdout, label);
        assert!(
            line.contains(&quoted) && line.contains("--config config"),
            "{line}"
        );
    }
    let status = paste(&printed(&o.stdout, "status:"), BOUND);
    assert_eq!(status.code, Some(0), "{}", status.text());
    assert!(status.stdout.contains("running: "), "{}", status.text());

    let again = run(&["start", "--resume", "--version", "v1.0.1"]);
    assert_eq!(again.code, Some(1), "{}", again.text());
    let attach = hint(&again.text(), "attach").expect("an attach hint");
    assert!(attach.contains(&quoted), "{attach}");

    // Nobody runs it: a command is recorded offline, and says how to start it.
    let pid = lock_pid(&state, "v1.0.1").expect("runner pid");
    // SAFETY: kill(2) on the runner this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    until_unlocked(&state, "v1.0.1");
    let o = run(&["pause", "--version", "v1.0.1", "--reason", "lunch"]);
    assert_eq!(o.code, Some(0), "{}", o.text());
    let start = hint(&o.text(), "start --resume").expect("a start hint");
    assert!(start.contains(&quoted), "{start}");
    let started = paste(&start, BOUND);
    assert_eq!(started.code, Some(0), "{start}: {}", started.text());
    assert!(
        started.stdout.contains("v1.0.1 runs in the background"),
        "{}",
        started.text()
    );
}

/// `shipdeck ARGS…` as a plain shell runs it: no `--state-dir`, the default state
/// dir under `data` (empty), the temp dir `tmp`.
fn plain(tmp: &Path, data: &Path, args: &[&str]) -> crate::support::process::Bounded {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    cmd.args(args)
        .env_remove("SHIPDECK_STATE_DIR")
        .env_remove("SHIPDECK_CONFIG")
        .env("TMPDIR", tmp)
        .env("XDG_DATA_HOME", data)
        .env("HOME", data)
        .env("USER", "alice")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    crate::support::process::run_bounded(cmd, BOUND)
}

/// QA, item 2: README's three terminals. The commands that act on a running
/// release find a `shipdeck demo`'s temporary state dir when no `--state-dir` was
/// given and the default one has no such release, as `attach` does; but only a
/// directory of this user that nobody else may enter (mode 0700, not a link).
#[test]
fn commands_from_a_plain_shell_find_a_running_demo_but_only_a_private_one() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tempfile::tempdir().expect("data");
    let demo = tmp.path().join("shipdeck-demo-4242");
    std::fs::create_dir(&demo).expect("demo dir");
    std::fs::set_permissions(&demo, std::fs::Permissions::from_mode(0o700)).expect("0700");
    let _runner = crate::support::RunnerGuard {
        state: demo.clone(),
        label: "v1.0.1",
    };
    // Stands in for the demo: a process that runs a release in that dir.
    let o = plain(
        tmp.path(),
        data.path(),
        &[
            "--state-dir",
            &demo.display().to_string(),
            "start",
            "--version",
            "v1.0.1",
            "--type",
            "bug_fix",
            "--detach",
        ],
    );
    assert_eq!(o.code, Some(0), "{}", o.text());

    let o = plain(tmp.path(), data.path(), &["pause", "--reason", "lunch"]);
    assert_eq!(o.code, Some(0), "{}", o.text());
    assert!(o.stdout.contains("accepted by"), "{}", o.text());
    let o = plain(tmp.path(), data.path(), &["status"]);
    assert_eq!(o.code, Some(0), "{}", o.text());
    assert!(o.stdout.contains("PAUSED by "), "{}", o.text());
    let o = plain(
        tmp.path(),
        data.path(),
        &["resume", "--version", "v1.0.1", "--reason", "back"],
    );
    assert_eq!(o.code, Some(0), "{}", o.text());
    assert!(o.stdout.contains("accepted by"), "{}", o.text());

    // World-readable: not this user's private demo; nor is a link to it.
    std::fs::set_permissions(&demo, std::fs::Permissions::from_mode(0o755)).expect("0755");
    std::os::unix::fs::symlink(&demo, tmp.path().join("shipdeck-demo-link")).expect("link");
    for args in [
        &["status"][..],
        &["pause", "--reason", "x"],
        &["pause", "--version", "v1.0.1", "--reason", "x"],
    ] {
        let o = plain(tmp.path(), data.path(), args);
        assert_eq!(o.code, Some(2), "{args:?}: {}", o.text());
        assert!(!o.text().contains("accepted by"), "{args:?}: {}", o.text());
    }
}
