//! Issue 11 ("Hardening"), driven through the real binary: what a hostile run of
//! shipdeck found, each proven fixed where it matters, on real processes and files.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Output};

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use shipdeck::engine::testkit::Drill;
use shipdeck::engine::{self, Command, Event, EventKind, ReleasePlan, ReleaseState, Selection};
use shipdeck::runtime::journal::JournalWriter;
use shipdeck::runtime::state_dir::StateDir;

fn shipdeck(state: &Path, args: &[&str]) -> Output {
    crate::support::process::shipdeck_command(state, args)
        .output()
        .expect("run shipdeck")
}

use crate::support::process::text;

/// The built-in configuration written to `dir`, with `edit` applied to
/// deployment-policies.json.
fn config_dir(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let cfg = dir.join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    for (name, body) in shipdeck::config::builtin_files() {
        std::fs::write(cfg.join(name), body).unwrap();
    }
    let path = cfg.join("deployment-policies.json");
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut doc);
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    cfg
}

/// Plays a release on the engine's test kit from `start` until `until`, its
/// gating items ticked first (on alice's word), every deploy taking 5 minutes with a
/// healthy first check a second after it, checks 30 seconds; returns its events: a
/// journal as an earlier run of shipdeck would have left it.
pub(crate) fn played(plan: ReleasePlan, start: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Event> {
    let mut d = Drill::new(plan, "alice", start).unwrap();
    d.answers.deploy_takes = Some(TimeDelta::minutes(5));
    d.answers.check_takes = TimeDelta::seconds(30);
    for key in d.state.unticked_gating_all() {
        d.cmd("alice", Command::tick(&key, true)).unwrap();
    }
    d.run_until(until);
    d.log
}

pub(crate) fn write_journal(state: &Path, label: &str, events: &[Event]) {
    let path = StateDir::at(state).journal_path(label);
    let (mut journal, _) = JournalWriter::<Event>::open(&path).unwrap();
    journal.append_batch(events).unwrap();
}

#[test]
fn a_window_that_passed_while_shipdeck_was_not_running_can_be_confirmed_or_skipped() {
    // Given TechStart may deploy only in a one-minute daily window, and an earlier
    // run (two days ago) left it waiting for the window at start + 1h
    let dir = tempfile::tempdir().unwrap();
    let start = (Utc::now() - TimeDelta::days(2))
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    let opens = start + TimeDelta::hours(1);
    let cfg_dir = config_dir(dir.path(), |doc| {
        doc["overrides"]["techstart"] = serde_json::json!({
            "window_only": true,
            "maintenance_window": {
                "timezone": "UTC",
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "start": opens.format("%H:%M").to_string(),
                "duration": "1m"
            }
        });
    });
    let cfg = shipdeck::config::load_dir(&cfg_dir).expect("config loads");
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().unwrap(),
        shipdeck::domain::ReleaseType::Security,
        Selection::Customers(vec!["techstart".into()]),
        false,
    )
    .unwrap();
    let events = played(plan, start, opens - TimeDelta::minutes(1));
    assert!(events.iter().any(|e| matches!(
        &e.event,
        EventKind::CustomerWaitingForWindow { customer, opens_at }
            if customer.as_str() == "techstart" && *opens_at == opens
    )));
    write_journal(dir.path(), "v1.0.1", &events);
    let state = dir.path();
    let cfg_arg = cfg_dir.to_str().unwrap();
    let deploy = [
        "--config",
        cfg_arg,
        "deploy",
        "--version",
        "v1.0.1",
        "--type",
        "security",
        "--customers",
        "techstart",
    ];

    // When deploy runs again today, long after the window closed
    let o = shipdeck(state, &deploy);
    // Then the window is reported missed, and deploy says what a person can do
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("came and went"), "{out}");
    assert!(out.contains("confirm --version v1.0.1`"), "{out}");
    assert!(out.contains("skip-wait --version v1.0.1 --wave"), "{out}");
    assert!(!out.contains("nothing can move without a person"), "{out}");
    let o = shipdeck(state, &["status", "--version", "v1.0.1"]);
    assert!(text(&o).contains("window missed"), "{}", text(&o));

    // When the operator skips the window wait with a reason (offline)
    let o = shipdeck(
        state,
        &[
            "skip-wait",
            "--version",
            "v1.0.1",
            "--wave",
            "startup",
            "--reason",
            "customer agreed to deploy today",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("skipped the maintenance window of techstart"),
        "{}",
        text(&o)
    );
    // Then deploy carries the release to its end
    let mut fast = deploy.to_vec();
    fast.extend(["--speed", "1000000"]);
    let o = shipdeck(state, &fast);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("deploying v1.0.1 to techstart"),
        "{}",
        text(&o)
    );
}

/// The built-in configuration written to `dir`, with `edit` applied to the JSON of
/// the file `name`.
fn config_with(dir: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let cfg = config_dir(dir, |_| {});
    let path = cfg.join(name);
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut doc);
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    cfg
}

/// No raw ESC or BEL, and no line that a forged name or reason could start.
fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{what} holds raw control characters: {text:?}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("alice approved")),
        "{what} holds a forged line: {text}"
    );
}

#[test]
fn probe_output_with_terminal_escapes_is_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), "customers.json", |doc| {
        doc["customers"][2]["health"] = serde_json::json!({
            "kind": "command",
            "program": "sh",
            "args": ["-c", "printf '\\033]0;PWNED\\007\\033[2J' >&2; exit 3"]
        });
    });
    let o = shipdeck(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "health",
            "--customer",
            "techstart",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert_clean("health", &out);
    assert!(out.contains("\\x1b]0;PWNED\\x07\\x1b[2J"), "{out}");
}

#[test]
fn names_and_reasons_with_controls_never_forge_lines_in_output_notices_or_logs() {
    // Given a journal written before names were checked, whose plan names TechStart
    // "TechStart\nalice approved enterprise (FORGED)" with an ESC in it
    let dir = tempfile::tempdir().unwrap();
    let cfg = shipdeck::config::load_builtin().unwrap();
    let mut plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().unwrap(),
        shipdeck::domain::ReleaseType::Security,
        Selection::Customers(vec!["techstart".into()]),
        false,
    )
    .unwrap();
    for w in &mut plan.waves {
        for c in &mut w.customers {
            if c.id.as_str() == "techstart" {
                c.name = "Tech\u{1b}]0;PWNED\u{7}Start\nalice approved enterprise (FORGED)".into();
            }
        }
    }
    let start = Utc::now() - TimeDelta::hours(1);
    let mut events = played(plan, start, start);
    events.push(Event {
        at: start,
        event: EventKind::Paused {
            actor: "eve\u{1b}[2J".into(),
            reason: "coffee\nalice approved enterprise (FORGED)".into(),
            cause: shipdeck::engine::PauseCause::Operator,
        },
    });
    write_journal(dir.path(), "v1.0.1", &events);
    // Then log and status print them escaped, on one line each
    for args in [
        &["log", "--version", "v1.0.1"][..],
        &["status", "--version", "v1.0.1"][..],
    ] {
        let o = shipdeck(dir.path(), args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert_clean(args[0], &text(&o));
        assert!(text(&o).contains("coffee\\nalice approved"), "{}", text(&o));
    }
    // And `--as` with a newline is refused before anything is recorded
    let o = shipdeck(
        dir.path(),
        &[
            "--as",
            "bob\nalice approved enterprise (FORGED)",
            "resume",
            "--version",
            "v1.0.1",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_clean("--as refusal", &text(&o));
    // When the release runs to its end (resumed, deployed, notified)
    let o = shipdeck(dir.path(), &["resume", "--version", "v1.0.1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = shipdeck(
        dir.path(),
        &[
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            "techstart",
            "--speed",
            "1000000",
            "--yes",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Then stdout, the notification log and the log file hold no forged line
    assert_clean("deploy output", &text(&o));
    let notices = std::fs::read_to_string(dir.path().join("notifications.log")).unwrap();
    assert!(notices.contains("Tech\\x1b]0;PWNED"), "{notices}");
    assert_clean("notifications.log", &notices);
    let log = std::fs::read_to_string(dir.path().join("shipdeck.log")).unwrap();
    assert!(log.contains("\\nalice approved"), "{log}");
    assert_clean("shipdeck.log", &log);
}

const QUICK_DEPLOY: [&str; 10] = [
    "deploy",
    "--version",
    "v1.0.1",
    "--type",
    "security",
    "--customers",
    "techstart",
    "--speed",
    "1000000",
    "--yes",
];

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn state_files_are_private_whatever_the_umask() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let mut cmd = Process::new(env!("CARGO_BIN_EXE_shipdeck"));
    cmd.arg("--state-dir")
        .arg(&state)
        .args(QUICK_DEPLOY)
        .env_remove("SHIPDECK_CONFIG")
        .env_remove("SHIPDECK_STATE_SHARED")
        .env("USER", "alice")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    // SAFETY: umask is async-signal-safe and touches only the child's mask.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for d in [
        state.clone(),
        state.join("releases"),
        state.join("releases/v1.0.1"),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    for f in [
        state.join("releases/v1.0.1/journal.jsonl"),
        state.join("releases/v1.0.1/lock"),
        state.join("shipdeck.log"),
        state.join("notifications.log"),
    ] {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

#[test]
fn a_symlink_planted_as_a_lock_file_is_refused_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let o = shipdeck(dir.path(), &QUICK_DEPLOY);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let precious = dir.path().join("precious.txt");
    std::fs::write(&precious, "do not touch\n").unwrap();
    let lock = dir.path().join("releases/v1.0.1/lock");
    std::fs::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink(&precious, &lock).unwrap();
    let o = shipdeck(
        dir.path(),
        &["rollback", "--version", "v1.0.1", "--reason", "test"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("symbolic link"), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "do not touch\n"
    );
    // The journal the same way.
    std::fs::remove_file(&lock).unwrap();
    let journal = dir.path().join("releases/v1.0.1/journal.jsonl");
    let moved = dir.path().join("journal.jsonl");
    std::fs::rename(&journal, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &journal).unwrap();
    let before = std::fs::read(&moved).unwrap();
    let o = shipdeck(
        dir.path(),
        &["rollback", "--version", "v1.0.1", "--reason", "test"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("symbolic link"), "{}", text(&o));
    assert_eq!(std::fs::read(&moved).unwrap(), before);
}

#[test]
fn a_state_dir_that_is_someone_elses_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let c = std::ffi::CString::new(link.to_str().unwrap()).unwrap();
    // SAFETY: lchown on a path we created, NUL-terminated.
    if unsafe { libc::lchown(c.as_ptr(), 65534, 65534) } != 0 {
        eprintln!("SKIPPED: cannot give the link to another user (not root)");
        return;
    }
    let o = shipdeck(&link, &QUICK_DEPLOY);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("owned by uid 65534"), "{}", text(&o));
    assert!(
        std::fs::read_dir(&real).unwrap().next().is_none(),
        "nothing written through the link"
    );
}

#[test]
fn a_log_file_that_cannot_be_opened_is_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("shipdeck.log")).unwrap();
    let o = shipdeck(dir.path(), &QUICK_DEPLOY);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.matches("cannot open the log file").count(), 1, "{err}");
    assert!(err.contains("logging is off"), "{err}");
}

#[tokio::test]
async fn opening_a_release_that_does_not_exist_leaves_nothing_behind() {
    use shipdeck::runtime::clock::Clock;
    use shipdeck::runtime::driver::{self, RuntimeError, RuntimeOptions};
    let dir = tempfile::tempdir().unwrap();
    let opened = driver::open(
        RuntimeOptions {
            state_dir: StateDir::at(dir.path()),
            clock: Clock::System,
            wiring: shipdeck::cli::wiring::CliWiring::shared(&[], None),
        },
        "v9.9.9",
        None,
        "alice",
    );
    assert!(matches!(
        opened,
        Err(RuntimeError::Store(
            shipdeck::runtime::store::StoreError::NoSuchRelease(_)
        ))
    ));
    assert!(
        !dir.path().join("releases/v9.9.9").exists(),
        "no directory, lock or journal is left for a release that does not exist"
    );
}

#[test]
fn health_reports_sentinel_figures_as_inconclusive() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), "customers.json", |doc| {
        doc["customers"][2]["health"] = serde_json::json!({
            "kind": "command",
            "program": "sh",
            "args": ["-c", "echo '{\"error_rate\": -50, \"p95\": -1}'"],
            "error_rate_pointer": "/error_rate",
            "latency_pointer": "/p95"
        });
    });
    let o = shipdeck(
        dir.path(),
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--json",
            "health",
            "--customer",
            "techstart",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows[0]["status"], "inconclusive", "{rows}");
    assert!(
        rows[0]["reason"]
            .as_str()
            .unwrap()
            .contains("not a percentage"),
        "{rows}"
    );
}

#[test]
fn a_release_whose_customers_all_rolled_back_does_not_say_all_were_patched() {
    // Given both demo customers' deploys fail (and are rolled back)
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_with(dir.path(), "customers.json", |doc| {
        for i in [0, 1] {
            doc["customers"][i]["deploy"]["failure_rate"] = serde_json::json!(1.0);
        }
    });
    let cfg = cfg.to_str().unwrap();
    let deploy = [
        "--config",
        cfg,
        "deploy",
        "--version",
        "v1.0.1",
        "--type",
        "security",
        "--customers",
        "demo",
        "--speed",
        "1000000",
        "--yes",
    ];
    // When the release runs to its end
    let o = shipdeck(dir.path(), &deploy);
    let out = text(&o);
    assert!(out.contains("rolling back demo-sales"), "{out}");
    // Then nothing claims every customer was patched, and the end says how many were
    assert!(!out.contains("all customers patched"), "{out}");
    assert!(out.contains("0 of 2 customers on v1.0.1"), "{out}");
    assert!(out.contains("2 rolled back"), "{out}");
}

fn journal_of(state: &Path) -> Vec<Event> {
    shipdeck::runtime::journal::read_all::<Event>(&state.join("releases/v1.0.1/journal.jsonl"))
        .map(|r| r.into_events().collect())
        .unwrap_or_default()
}

#[test]
fn sigterm_and_sighup_stop_a_headless_deploy_paused_and_journaled() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    for (signal, code, name) in [
        (libc::SIGTERM, 143, "SIGTERM"),
        (libc::SIGHUP, 129, "SIGHUP"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        // At real speed: the demo deploy takes five minutes, so the run is mid-way
        // for as long as this test needs.
        let child = Process::new(env!("CARGO_BIN_EXE_shipdeck"))
            .arg("--state-dir")
            .arg(dir.path())
            .args([
                "deploy",
                "--version",
                "v1.0.1",
                "--type",
                "security",
                "--customers",
                "techstart",
                "--yes",
            ])
            .env_remove("SHIPDECK_CONFIG")
            .env("USER", "alice")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !journal_of(dir.path())
            .iter()
            .any(|e| matches!(e.event, EventKind::DeployStarted { .. }))
        {
            assert!(Instant::now() < deadline, "no deploy started in time");
            std::thread::yield_now();
        }
        // SAFETY: kill on the pid of a child we spawned and have not reaped.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(code), "{name}: {}", text(&o));
        assert!(
            journal_of(dir.path()).iter().any(|e| matches!(
                &e.event,
                EventKind::Paused { reason, .. } if reason.contains(name)
            )),
            "{name}: the stop is journaled as a pause"
        );
        // Running the same command again resumes it.
        let o = shipdeck(dir.path(), &QUICK_DEPLOY);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(text(&o).contains("resumed"), "{}", text(&o));
    }
}

#[test]
fn a_refused_offline_command_still_journals_a_lock_takeover_first() {
    let dir = tempfile::tempdir().unwrap();
    let o = shipdeck(dir.path(), &QUICK_DEPLOY);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A run that died without cleaning up is still named in the lock file.
    let mut child = Process::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let lock = dir.path().join("releases/v1.0.1/lock");
    let stale = serde_json::json!({
        "pid": dead,
        "host": shipdeck::runtime::lock::hostname(),
        "since": "2026-01-01T00:00:00Z"
    });
    std::fs::write(&lock, stale.to_string()).unwrap();
    let before = journal_of(dir.path()).len();
    // When a command is refused (the release is complete)
    let o = shipdeck(
        dir.path(),
        &["pause", "--version", "v1.0.1", "--reason", "x"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // Then the takeover is in the journal all the same, naming the dead pid
    let after = journal_of(dir.path());
    assert_eq!(after.len(), before + 1);
    assert!(
        matches!(&after[before].event, EventKind::LockTakenOver { pid, .. } if *pid == dead),
        "{:?}",
        after[before]
    );
}

#[test]
fn a_journal_with_every_actor_rewritten_is_refused_unless_accepted_and_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let o = shipdeck(dir.path(), &QUICK_DEPLOY);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = shipdeck(dir.path(), &["log", "--version", "v1.0.1", "--verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("chain: intact"), "{}", text(&o));

    // When every actor is rewritten to "mallory"
    let path = dir.path().join("releases/v1.0.1/journal.jsonl");
    let original = std::fs::read_to_string(&path).unwrap();
    let forged = original.replace("\"alice\"", "\"mallory\"");
    assert_ne!(forged, original);
    std::fs::write(&path, &forged).unwrap();
    // The first line holds the starter; the line after it no longer links to it.
    let first_changed = original
        .lines()
        .zip(forged.lines())
        .position(|(a, b)| a != b)
        .unwrap()
        + 1;
    // Then replay refuses it, naming the line, for readers and writers alike
    for args in [
        &["log", "--version", "v1.0.1"][..],
        &["status", "--version", "v1.0.1"][..],
        &["rollback", "--version", "v1.0.1", "--reason", "x"][..],
    ] {
        let o = shipdeck(dir.path(), args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains(&format!("line {}", first_changed + 1))
                && text(&o).contains("changed after it was written"),
            "{args:?}: {}",
            text(&o)
        );
    }
    let o = shipdeck(dir.path(), &["log", "--version", "v1.0.1", "--verify"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("BROKEN at line {}", first_changed + 1)),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        forged,
        "left as found"
    );

    // When an operator accepts it, that is journaled, and the journal reads again
    let o = shipdeck(
        dir.path(),
        &[
            "--as",
            "bob",
            "--accept-tampered",
            "rollback",
            "--version",
            "v1.0.1",
            "--customers",
            "techstart",
            "--reason",
            "audit: journal restored from a tampered copy",
            // Forced: at drill speed the rollback window may have closed already.
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = shipdeck(dir.path(), &["log", "--version", "v1.0.1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("bob")
            && text(&o).contains("accepted a journal changed after it was written"),
        "{}",
        text(&o)
    );
    let o = shipdeck(dir.path(), &["log", "--version", "v1.0.1", "--verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("chain: broken, accepted"), "{}", text(&o));
}

#[test]
fn a_journal_from_before_the_chain_reads_and_is_marked_unchained() {
    let dir = tempfile::tempdir().unwrap();
    let o = shipdeck(dir.path(), &QUICK_DEPLOY);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let path = dir.path().join("releases/v1.0.1/journal.jsonl");
    // As an older shipdeck wrote it: {"v":1,"seq":N,"event":…}
    let old: String = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let o = v.as_object_mut().unwrap();
            o.remove("prev");
            o.insert("v".into(), 1.into());
            format!(
                "{{\"v\":1,\"seq\":{},\"event\":{}}}\n",
                o["seq"],
                serde_json::to_string(&o["event"]).unwrap()
            )
        })
        .collect();
    std::fs::write(&path, old).unwrap();
    let o = shipdeck(dir.path(), &["log", "--version", "v1.0.1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = shipdeck(dir.path(), &["log", "--version", "v1.0.1", "--verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("chain: none") && text(&o).contains("unchained: lines 1–"),
        "{}",
        text(&o)
    );
}

#[test]
fn speeds_the_clock_cannot_run_at_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for speed in ["1e13", "1e-9", "0", "NaN", "fast"] {
        let mut args = QUICK_DEPLOY.to_vec();
        let at = args.iter().position(|a| *a == "1000000").unwrap();
        args[at] = speed;
        let o = shipdeck(dir.path(), &args);
        assert_eq!(o.status.code(), Some(2), "{speed}: {}", text(&o));
        assert!(text(&o).contains("1000000"), "{speed}: {}", text(&o));
    }
    assert!(
        !dir.path().join("releases").exists(),
        "nothing started on a refused speed"
    );
}

#[test]
fn the_readme_exit_code_contract_names_every_code_the_cli_returns() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let contract = &readme[readme.find("**Exit codes**").unwrap()..];
    let contract = &contract[..contract.find("\n\n").unwrap()];
    use shipdeck::cli::{
        EXIT_ERROR, EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_WAITING,
    };
    for (code, word) in [
        (EXIT_OK, "done"),
        (EXIT_WAITING, "without a"),
        (EXIT_ERROR, "error"),
        (EXIT_HANGUP, "SIGHUP"),
        (EXIT_INTERRUPTED, "SIGINT"),
        (EXIT_TERMINATED, "SIGTERM"),
    ] {
        let at = contract
            .find(&format!("`{code}`"))
            .unwrap_or_else(|| panic!("README's exit codes lack `{code}`:\n{contract}"));
        assert!(
            contract[at..].contains(word),
            "`{code}` is not described as {word}:\n{contract}"
        );
    }
}

/// Defence in depth behind the config check: an override's note that got into a
/// plan with an ESC and a line break is printed escaped, on its own line, in the
/// emergency notice (`emergency --dry-run`, `deploy --emergency`, the cockpit).
#[test]
fn an_emergency_notice_prints_an_override_note_escaped_on_one_line() {
    let mut cfg = shipdeck::config::load_builtin().unwrap();
    let (_, acme) = cfg
        .deployment
        .overrides
        .iter_mut()
        .find(|(id, _)| id.as_str() == "acme-corp")
        .expect("acme-corp's override");
    acme.note = "note\u{1b}[41mRED\r\nFORGED LINE".into();
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().unwrap(),
        shipdeck::domain::ReleaseType::Security,
        Selection::All,
        false,
    )
    .unwrap();
    let now: DateTime<Utc> = "2026-11-16T10:00:00Z".parse().unwrap();
    let state = ReleaseState::fold([&engine::plan_event(plan, "alice", now)]).unwrap();
    let text = shipdeck::cli::deploy::emergency_impact(&state, &[], now);
    let acme_line = text
        .lines()
        .find(|l| l.contains("ACME Corp"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        acme_line.ends_with("— note\\x1b[41mRED\\r\\nFORGED LINE"),
        "{acme_line}"
    );
    assert_clean("emergency notice", &text);
    assert!(!text.lines().any(|l| l.starts_with("FORGED")), "{text}");
}
