//! Documented behaviour that had no test, each through the real binary (issue 17):
//! `deploy --dry-run`, the headless prompts without `--yes`, Ctrl-C (SIGINT) during
//! a headless deploy, `status` and a refused command while another process runs the
//! release, the offline commands (`tick`, `skip-wait`, `confirm`, `report-issue`,
//! `abort`), the trigger actions `rollback_all` and `pause_only`,
//! `lock_after_rollback: false`, a trigger after the rollback window closed, the
//! probe reasons "killed by signal N" and "permission denied", `fleet`, `cockpit`
//! and the seed aliases.
//!
//! Failing health is a `command` check in a copied configuration; waits on a real
//! process are bounded polls of its journal; nothing sleeps a fixed time.

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use chrono::{TimeDelta, Timelike, Utc};
use shipdeck::domain::ReleaseType;
use shipdeck::engine::triggers::TriggerKind;
use shipdeck::engine::{Event, EventKind, PauseCause, ReleasePlan, RollbackScope, Selection};

use crate::hardening_cli::{played, write_journal};
use crate::support::process::{hint, paste, run_bounded, shipdeck_command};

/// How long a real process may take to reach what a test waits for.
const PATIENCE: Duration = Duration::from_secs(60);

fn shipdeck(state: &Path, args: &[&str]) -> Output {
    shipdeck_command(state, args)
        .stdin(Stdio::null())
        .output()
        .expect("run shipdeck")
}

use crate::support::process::text;

fn journal_of(state: &Path) -> Vec<Event> {
    match shipdeck::runtime::journal::read_all::<Event>(
        &state.join("releases/v1.0.1/journal.jsonl"),
    ) {
        Ok(r) => r.into_events().collect(),
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => panic!("the journal does not read: {e}"),
    }
}

/// Polls the journal (bounded) until `pred` holds of it.
fn wait_for_journal(state: &Path, what: &str, pred: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let mut events = Vec::new();
    let seen = crate::support::deploy::eventually_blocking(PATIENCE, || {
        events = journal_of(state);
        pred(&events)
    });
    assert!(seen, "gave up waiting for {what}");
    events
}

/// The built-in configuration copied to `dir/config`, with `edit` applied to each
/// file's JSON (by file name).
fn config(dir: &Path, edit: impl Fn(&str, &mut serde_json::Value)) -> PathBuf {
    let cfg = dir.join("config");
    std::fs::create_dir_all(&cfg).unwrap();
    for (name, body) in shipdeck::config::builtin_files() {
        let mut doc: serde_json::Value = serde_json::from_str(body).unwrap();
        edit(name, &mut doc);
        std::fs::write(cfg.join(name), serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    }
    cfg
}

fn customer<'a>(doc: &'a mut serde_json::Value, id: &str) -> &'a mut serde_json::Value {
    doc["customers"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no customer {id}"))
}

/// TechStart's health is `sh -c SCRIPT`; the security policy monitors for
/// `monitoring`, and `policy` edits it further.
fn techstart_checked_by(
    dir: &Path,
    script: &str,
    monitoring: &str,
    policy: impl Fn(&mut serde_json::Value),
) -> PathBuf {
    config(dir, |name, doc| match name {
        "customers.json" => {
            customer(doc, "techstart")["health"] = serde_json::json!({
                "kind": "command", "program": "sh", "args": ["-c", script]
            });
        }
        "policies.json" => {
            let security = &mut doc["policies"]["security"];
            security["monitoring"]["period"] = monitoring.into();
            policy(security);
        }
        _ => {}
    })
}

/// A security release of TechStart (and the demo wave) run headless to its end at
/// 1000×, with `cfg`.
fn deploy_with(state: &Path, cfg: &Path) -> Output {
    let cfg = cfg.to_str().unwrap();
    shipdeck(
        state,
        &[
            "--config",
            cfg,
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            "techstart",
            "--speed",
            "1000",
            "--yes",
        ],
    )
}

fn count(events: &[Event], pred: impl Fn(&EventKind) -> bool) -> usize {
    events.iter().filter(|e| pred(&e.event)).count()
}

fn spawn_deploy(state: &Path, speed: &str) -> Child {
    shipdeck_command(
        state,
        &[
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            "techstart",
            "--speed",
            speed,
            "--yes",
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn shipdeck deploy")
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill on the pid of a child we spawned and have not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

#[test]
fn deploy_dry_run_prints_the_timeline_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
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
            "--dry-run",
        ],
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.starts_with("dry run: nothing is deployed, nothing is written"),
        "{out}"
    );
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing:\n{out}"))
    };
    assert!(at("validation passed") < at("wave demo started"));
    assert!(at("wave demo completed") < at("wave startup started"));
    assert!(at("wave startup started") < at("deploying v1.0.1 to techstart"));
    assert!(out.contains("[assumed ticked]"), "{out}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the state dir stays empty"
    );
}

/// Without `--yes` and without a terminal, deploy stops at each checklist item it
/// would ask about, printing the `tick` command; that command, pasted, ticks it
/// and the next run goes on to the next question.
#[test]
fn without_yes_deploy_stops_at_each_checklist_question_and_its_tick_hint_answers_it() {
    let dir = tempfile::tempdir().unwrap();
    let deploy = [
        "deploy",
        "--version",
        "v1.0.1",
        "--type",
        "security",
        "--customers",
        "techstart",
        "--speed",
        "1000000",
    ];
    let o = shipdeck(dir.path(), &deploy);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "waiting on a person: {out}");
    assert!(
        out.contains("waiting for checklist item pre-release-security/vuln-confirmed"),
        "{out}"
    );
    assert!(out.contains("or run again with --yes"), "{out}");
    let events = journal_of(dir.path());
    assert_eq!(
        count(&events, |e| matches!(e, EventKind::ItemTicked { .. })),
        0
    );
    assert_eq!(
        count(&events, |e| matches!(e, EventKind::ValidationStarted)),
        0
    );

    // The hint names one item; tick both pre-validation items the same way.
    let tick = hint(&out, " tick ").expect("a tick hint");
    let both = format!("{tick} pre-release-security/fix-complete");
    let t = paste(&both, PATIENCE);
    assert_eq!(t.code, Some(0), "{}", t.text());
    assert!(
        t.text()
            .contains("alice ticked pre-release-security/vuln-confirmed"),
        "{}",
        t.text()
    );

    let o = shipdeck(dir.path(), &deploy);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("validation passed"), "{out}");
    assert!(
        out.contains("waiting for checklist item pre-release-security/no-new-vulns"),
        "the next question: {out}"
    );
    let events = journal_of(dir.path());
    assert_eq!(
        count(
            &events,
            |e| matches!(e, EventKind::ItemTicked { actor, on_word, .. } if actor == "alice" && !on_word)
        ),
        2,
        "ticked by alice, not on anyone's word: {events:#?}"
    );
    assert_eq!(
        count(&events, |e| matches!(e, EventKind::WaveStarted { .. })),
        0
    );
}

#[test]
fn sigint_pauses_a_headless_deploy_journaled_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    // At 1000× a demo deploy takes 0.3 s and the release (48 h of monitoring) three
    // minutes: Ctrl-C lands with a deploy in flight or just done, never at the end.
    let child = spawn_deploy(dir.path(), "1000");
    wait_for_journal(dir.path(), "a deploy started", |events| {
        count(events, |e| matches!(e, EventKind::DeployStarted { .. })) > 0
    });
    signal(&child, libc::SIGINT);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    let events = journal_of(dir.path());
    let paused = events
        .iter()
        .position(|e| {
            matches!(
                &e.event,
                EventKind::Paused { reason, .. } if reason.contains("interrupted")
            )
        })
        .unwrap_or_else(|| panic!("the stop is journaled as a pause: {events:#?}"));
    // Ctrl-C waits for the deploys in flight: each one started has its result first.
    // Ctrl-C waits for the deploys in flight: the pause is journaled at once, and
    // every deploy started has its result journaled before the process leaves.
    assert!(
        events[paused..]
            .iter()
            .all(|e| !matches!(e.event, EventKind::DeployStarted { .. })),
        "nothing starts after the pause"
    );
    assert_eq!(
        count(&events, |e| matches!(e, EventKind::DeployStarted { .. })),
        count(&events, |e| matches!(e, EventKind::DeployFinished { .. })),
        "a deploy left in flight: {}",
        text(&o)
    );
    let lock = std::fs::read_to_string(dir.path().join("releases/v1.0.1/lock")).unwrap();
    assert!(
        lock.trim().is_empty(),
        "the lock still names a holder: {lock}"
    );
}

/// While a deploy runs the release, `status` from another process reads it (and
/// names the runner); a command goes through the runner's socket, decided and
/// journaled there, as a name the roster maps the OS user to (any other `--as` is
/// refused and journals nothing); once the runner has stopped, a command is decided
/// offline and journaled with who and why.
#[test]
fn status_reads_a_running_release_and_commands_go_through_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    // Through the socket, --as must be a name the roster maps this OS user to.
    let me = shipdeck::runtime::endpoint::user_name(shipdeck::runtime::endpoint::current_uid());
    let cfg = config(state, |name, doc| {
        if name == "roster.json" {
            for p in doc["people"].as_array_mut().unwrap() {
                if p["name"] == "bob" {
                    p["os_users"] = serde_json::json!([me]);
                }
            }
        }
    });
    let cfg = cfg.to_str().unwrap();
    // Monitoring lasts 48 h: 173 s at 1000×, longer than this test.
    let child = shipdeck_command(
        state,
        &[
            "--config",
            cfg,
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            "techstart",
            "--speed",
            "1000",
            "--yes",
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn shipdeck deploy");
    let _runner = crate::support::RunnerGuard {
        state: state.to_path_buf(),
        label: "v1.0.1",
    };
    wait_for_journal(state, "the rollout to finish", |events| {
        count(events, |e| matches!(e, EventKind::RolloutCompleted { .. })) > 0
    });

    let o = shipdeck(state, &["status", "--version", "v1.0.1"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("MONITORING"), "{out}");
    assert!(
        out.contains(&format!("running: pid {} ", child.id())),
        "names the runner: {out}"
    );
    assert!(
        out.contains("(`shipdeck deploy`)"),
        "says what the runner is: {out}"
    );
    let o = shipdeck(state, &["--json", "status", "--version", "v1.0.1"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(doc["phase"], "monitoring", "{doc}");
    assert!(!doc["running_by"].is_null(), "{doc}");

    let issue = |who: &str| {
        shipdeck(
            state,
            &[
                "--config",
                cfg,
                "--as",
                who,
                "report-issue",
                "--version",
                "v1.0.1",
                "--customer",
                "techstart",
                "--reason",
                "checkout fails",
            ],
        )
    };
    let reported = |events: &[Event]| {
        count(events, |e| {
            matches!(
                e,
                EventKind::TriggerFired {
                    trigger: TriggerKind::CustomerReported,
                    ..
                }
            )
        })
    };
    // A name the roster does not map this OS user to is refused by the runner.
    let o = issue("carol");
    let out = text(&o);
    assert_ne!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("os_users"), "says how to map it: {out}");
    assert_eq!(
        reported(&journal_of(state)),
        0,
        "a refused command journals nothing"
    );
    // bob's is decided by the runner and journaled there, with who and why.
    let o = issue("bob");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let events = wait_for_journal(state, "techstart rolled back", |events| {
        events.iter().any(|e| {
            matches!(
                &e.event,
                EventKind::RollbackStarted { customer, .. } if customer.as_str() == "techstart"
            )
        })
    });
    assert!(
        events.iter().any(|e| matches!(
            &e.event,
            EventKind::TriggerFired { customer, trigger: TriggerKind::CustomerReported, evidence }
                if customer.as_str() == "techstart" && evidence.summary.contains("reported by bob: checkout fails")
        )),
        "{events:#?}"
    );
    assert_eq!(
        shipdeck::runtime::lock::current_holder(&state.join("releases/v1.0.1/lock")).map(|h| h.pid),
        Some(child.id()),
        "the runner goes on"
    );

    signal(&child, libc::SIGTERM);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(143), "{}", text(&o));

    // No process runs it now: decided offline, and the command says so.
    let o = shipdeck(
        state,
        &[
            "--as",
            "bob",
            "abort",
            "--version",
            "v1.0.1",
            "--reason",
            "giving up on 1.0.1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("offline"), "{}", text(&o));
    let events = journal_of(state);
    assert_eq!(reported(&events), 1, "reported once");
    assert!(events.iter().any(|e| matches!(
        &e.event,
        EventKind::Aborted { actor, reason } if actor == "bob" && reason == "giving up on 1.0.1"
    )));
    let o = shipdeck(state, &["status", "--version", "v1.0.1"]);
    assert!(text(&o).contains("ABORTED"), "{}", text(&o));
}

/// A release left by an earlier run, started `ago` and played until `left`.
fn left_behind(state: &Path, ago: TimeDelta, left: TimeDelta) {
    let cfg = shipdeck::config::load_builtin().unwrap();
    let start = (Utc::now() - ago)
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap();
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().unwrap(),
        ReleaseType::Security,
        Selection::Customers(vec!["techstart".into()]),
        false,
    )
    .unwrap();
    write_journal(state, "v1.0.1", &played(plan, start, start + left));
}

const RESUME: [&str; 9] = [
    "deploy",
    "--version",
    "v1.0.1",
    "--type",
    "security",
    "--customers",
    "techstart",
    "--speed",
    "1000000",
];

/// The startup wave came due two days ago while nothing ran: deploy will not start
/// it on its own; `confirm` (offline) says go, and the next run starts it.
#[test]
fn a_wave_that_came_due_while_away_waits_for_confirm() {
    let dir = tempfile::tempdir().unwrap();
    // Demo done after 11 minutes; startup due 15 minutes later.
    left_behind(dir.path(), TimeDelta::days(2), TimeDelta::minutes(20));
    let o = shipdeck(dir.path(), &RESUME);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("wave startup came due while shipdeck was not running"),
        "{out}"
    );
    // Both the event's line and deploy's answer name the way out.
    assert!(
        out.contains("waiting for confirmation (`shipdeck confirm`, or `c` in the cockpit)"),
        "{out}"
    );
    assert!(
        out.contains("confirm --version v1.0.1`"),
        "a pasteable confirm: {out}"
    );
    assert_eq!(
        count(
            &journal_of(dir.path()),
            |e| matches!(e, EventKind::WaveStarted { wave } if wave.as_str() == "startup")
        ),
        0
    );

    let o = shipdeck(dir.path(), &["confirm", "--version", "v1.0.1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        count(&journal_of(dir.path()), |e| matches!(
            e,
            EventKind::OverdueConfirmed { .. }
        )),
        1
    );
    let o = shipdeck(dir.path(), &RESUME);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("deploying v1.0.1 to techstart"),
        "{}",
        text(&o)
    );
}

/// The startup wave still waits out its 15 minutes: `skip-wait` (offline, with a
/// reason) ends the wait, journaled, and the next run starts the wave at once.
#[test]
fn skip_wait_offline_ends_a_waves_delay_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    // Demo done at 11 minutes, ten minutes ago: startup waits four more.
    left_behind(dir.path(), TimeDelta::minutes(21), TimeDelta::minutes(20));
    let o = shipdeck(
        dir.path(),
        &[
            "skip-wait",
            "--version",
            "v1.0.1",
            "--wave",
            "startup",
            "--reason",
            "the fix is verified on demo",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let events = journal_of(dir.path());
    let skipped = events
        .iter()
        .find_map(|e| match &e.event {
            EventKind::WaitSkipped {
                wave,
                actor,
                reason,
                ..
            } => Some((wave.to_string(), actor.clone(), reason.clone(), e.at)),
            _ => None,
        })
        .expect("the skip is journaled");
    assert_eq!(
        (skipped.0.as_str(), skipped.1.as_str(), skipped.2.as_str()),
        ("startup", "alice", "the fix is verified on demo")
    );
    let o = shipdeck(dir.path(), &RESUME);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let started = journal_of(dir.path())
        .iter()
        .find(|e| matches!(&e.event, EventKind::WaveStarted { wave } if wave.as_str() == "startup"))
        .map(|e| e.at)
        .expect("startup started");
    assert!(
        started - skipped.3 < TimeDelta::minutes(4),
        "started {started}, before its delay would have ended (skipped at {})",
        skipped.3
    );
}

/// Trigger actions other than the default, on a headless deploy where TechStart's
/// checks fail from its deploy on.
#[test]
fn trigger_action_rollback_all_rolls_back_everything_deployed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = techstart_checked_by(dir.path(), "echo broken >&2; exit 3", "10m", |p| {
        p["triggers"]["action"] = "rollback_all".into();
    });
    let o = deploy_with(dir.path(), &cfg);
    assert_eq!(o.status.code(), Some(1), "rolled back: {}", text(&o));
    let events = journal_of(dir.path());
    assert!(
        events.iter().any(|e| matches!(
            &e.event,
            EventKind::RollbackRequested { scope: RollbackScope::All, actor, .. } if actor == "shipdeck"
        )),
        "{events:#?}"
    );
    for c in ["demo-main", "demo-sales", "techstart"] {
        assert_eq!(
            count(
                &events,
                |e| matches!(e, EventKind::RollbackStarted { customer, .. } if customer.as_str() == c)
            ),
            1,
            "{c}"
        );
    }
    assert_eq!(
        count(&events, |e| matches!(e, EventKind::RolledBack)),
        1,
        "the release is rolled back"
    );
}

#[test]
fn trigger_action_pause_only_pauses_and_rolls_nothing_back() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = techstart_checked_by(dir.path(), "echo broken >&2; exit 3", "10m", |p| {
        p["triggers"]["action"] = "pause_only".into();
    });
    let o = deploy_with(dir.path(), &cfg);
    let events = journal_of(dir.path());
    let fired = events
        .iter()
        .position(|e| matches!(&e.event, EventKind::TriggerFired { customer, .. } if customer.as_str() == "techstart"))
        .unwrap_or_else(|| panic!("no trigger: {}", text(&o)));
    // The pause follows the trigger at once (the notice of the trigger aside).
    let next = events[fired + 1..]
        .iter()
        .find(|e| !matches!(e.event, EventKind::Notified { .. }))
        .expect("an event after the trigger");
    assert!(
        matches!(
            &next.event,
            EventKind::Paused { cause: PauseCause::Trigger, actor, reason }
                if actor == "shipdeck" && reason.contains("3 consecutive failed checks")
        ),
        "{next:?}"
    );
    // It stays paused for people to decide: the trigger does not fire again, and
    // the release neither finishes its rollout nor completes.
    assert_eq!(o.status.code(), Some(1), "paused: {}", text(&o));
    assert_eq!(
        count(&events, |e| matches!(e, EventKind::TriggerFired { .. })),
        1,
        "{}",
        text(&o)
    );
    assert_eq!(
        count(&events, |e| matches!(
            e,
            EventKind::RolloutCompleted { .. } | EventKind::Completed
        )),
        0,
        "{}",
        text(&o)
    );
    assert_eq!(
        count(&events, |e| matches!(
            e,
            EventKind::RollbackRequested { .. } | EventKind::RollbackStarted { .. }
        )),
        0,
        "nothing rolled back: {}",
        text(&o)
    );
}

#[test]
fn lock_after_rollback_false_rolls_back_without_pausing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = techstart_checked_by(dir.path(), "echo broken >&2; exit 3", "10m", |p| {
        p["lock_after_rollback"] = false.into();
    });
    let o = deploy_with(dir.path(), &cfg);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let events = journal_of(dir.path());
    assert_eq!(
        count(
            &events,
            |e| matches!(e, EventKind::RollbackStarted { customer, .. } if customer.as_str() == "techstart")
        ),
        1,
        "{events:#?}"
    );
    assert_eq!(
        count(&events, |e| matches!(e, EventKind::Paused { .. })),
        0,
        "no pause after the rollback: {}",
        text(&o)
    );
    assert_eq!(
        count(&events, |e| matches!(e, EventKind::Completed)),
        1,
        "{}",
        text(&o)
    );
}

/// TechStart's checks start failing only after the rollout finished and its
/// one-second rollback window closed (the test creates the file that breaks them
/// then): the trigger fires and is reported, and nothing is rolled back.
#[test]
fn a_trigger_after_the_rollback_window_closed_is_reported_not_acted_on() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken");
    let script = format!(
        "if [ -e '{}' ]; then echo broken >&2; exit 3; fi",
        broken.display()
    );
    let cfg = techstart_checked_by(dir.path(), &script, "30m", |p| {
        p["rollback_window"] = "1s".into();
    });
    let state = dir.path().join("state");
    let child = shipdeck_command(
        &state,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            "techstart",
            "--speed",
            "1000",
            "--yes",
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for_journal(&state, "the rollout to finish", |events| {
        count(events, |e| matches!(e, EventKind::RolloutCompleted { .. })) > 0
    });
    std::fs::write(&broken, "").unwrap();
    let o = child.wait_with_output().unwrap();
    let out = text(&o);
    let events = journal_of(&state);
    let window_closed = events
        .iter()
        .find_map(|e| match &e.event {
            EventKind::RolloutCompleted {
                rollback_window_until,
                ..
            } => Some(*rollback_window_until),
            _ => None,
        })
        .expect("rollout completed");
    let fired = events
        .iter()
        .find(|e| matches!(&e.event, EventKind::TriggerFired { customer, .. } if customer.as_str() == "techstart"))
        .unwrap_or_else(|| panic!("no trigger: {out}"));
    assert!(fired.at > window_closed, "{} <= {window_closed}", fired.at);
    assert!(
        out.contains("after the rollback window closed; not rolled back automatically"),
        "{out}"
    );
    assert_eq!(
        count(&events, |e| matches!(e, EventKind::RollbackStarted { .. })),
        0,
        "{out}"
    );
    assert_eq!(o.status.code(), Some(0), "{out}");
}

/// How a health command ended, in the operator's words (README, "Reasons a check
/// fails").
#[test]
fn health_says_killed_by_signal_and_permission_denied() {
    let dir = tempfile::tempdir().unwrap();
    let not_executable = dir.path().join("check-acme");
    std::fs::write(&not_executable, "#!/bin/sh\nexit 0\n").unwrap();
    let path = not_executable.display().to_string();
    let cfg = config(dir.path(), |name, doc| {
        if name == "customers.json" {
            customer(doc, "techstart")["health"] = serde_json::json!({
                "kind": "command", "program": "sh", "args": ["-c", "kill -9 $$"]
            });
            customer(doc, "acme-corp")["health"] = serde_json::json!({
                "kind": "command", "program": path
            });
        }
    });
    let cfg = cfg.to_str().unwrap();
    let o = shipdeck(dir.path(), &["--config", cfg, "health", "techstart"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "down: {out}");
    assert!(out.contains("killed by signal 9"), "{out}");
    let o = shipdeck(dir.path(), &["--config", cfg, "health", "acme-corp"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "down: {out}");
    assert!(
        out.contains(&format!("cannot run `{path}`: permission denied")),
        "{out}"
    );
}

/// `shipdeck fleet` serves simulated customers on loopback until Ctrl-C.
#[test]
fn fleet_serves_health_on_loopback_until_ctrl_c() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let mut child = shipdeck_command(dir.path(), &["fleet", "--customers", "3"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    // "demo fleet: 3 customers at http://127.0.0.1:PORT/health/{id}"
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    assert!(first.contains("3 customers"), "{first}");
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(PATIENCE))
        .expect("read timeout");
    write!(
        stream,
        "GET /health/c-00001 HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("error_rate"), "{reply}");

    signal(&child, libc::SIGINT);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("fleet stopped"), "{}", text(&o));
}

/// Digits become `#`: two runs a second apart print different times.
fn shape(o: &Output) -> String {
    text(o)
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

/// The seed's command names (README, "Commands") do what the commands do.
#[test]
fn seed_aliases_run_their_commands() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path();
    let mut quick = RESUME.to_vec();
    quick.push("--yes");
    let o = run_bounded(shipdeck_command(state, &quick), PATIENCE);
    assert_eq!(o.code, Some(0), "{}", o.text());
    let same = |alias: &[&str], command: &[&str]| {
        let a = shipdeck(state, alias);
        let c = shipdeck(state, command);
        assert_eq!(a.status.code(), c.status.code(), "{alias:?}");
        assert_eq!(shape(&a), shape(&c), "{alias:?} vs {command:?}");
        assert!(!text(&a).trim().is_empty(), "{alias:?} printed nothing");
    };
    same(
        &["plan-patch", "--version", "v1.0.2", "--type", "bug_fix"],
        &["plan", "--version", "v1.0.2", "--type", "bug_fix"],
    );
    same(
        &["validate-patch", "--version", "v1.0.2", "--type", "bug_fix"],
        &["validate", "--version", "v1.0.2", "--type", "bug_fix"],
    );
    same(
        &["check-patch-status", "--version", "v1.0.1"],
        &["status", "--version", "v1.0.1"],
    );
    same(&["list-deployments"], &["deployments"]);
    same(&["check-health", "techstart"], &["health", "techstart"]);
    same(
        &[
            "deploy-patch",
            "--version",
            "v1.0.2",
            "--type",
            "bug_fix",
            "--dry-run",
        ],
        &[
            "deploy",
            "--version",
            "v1.0.2",
            "--type",
            "bug_fix",
            "--dry-run",
        ],
    );
    same(
        &[
            "emergency-patch",
            "--version",
            "v1.0.2",
            "--type",
            "security",
            "--reason",
            "CVE",
            "--dry-run",
        ],
        &[
            "emergency",
            "--version",
            "v1.0.2",
            "--type",
            "security",
            "--reason",
            "CVE",
            "--dry-run",
        ],
    );
    // A rollback changes the release, so the alias is checked by what it did.
    let o = shipdeck(
        state,
        &[
            "rollback-patch",
            "--version",
            "v1.0.1",
            "--customers",
            "techstart",
            "--reason",
            "alias check",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(journal_of(state).iter().any(|e| matches!(
        &e.event,
        EventKind::RollbackRequested { scope: RollbackScope::Customer(c), actor, reason, .. }
            if c.as_str() == "techstart" && actor == "alice" && reason == "alias check"
    )));
}

mod in_a_terminal {
    //! `cockpit` and the headless prompt, where a person meets them: in tmux.

    use super::*;
    use crate::support::tmux::{TIMEOUT, TmuxSession, shell_quote, tmux_or_skip};

    fn start(name: &str, state: &Path, args: &str) -> TmuxSession {
        let command = format!(
            "trap true INT; {} --state-dir {} {args}; echo \"shipdeck exited $?\"",
            shell_quote(env!("CARGO_BIN_EXE_shipdeck")),
            shell_quote(&state.display().to_string())
        );
        TmuxSession::start(
            name,
            120,
            40,
            &command,
            &[("NO_COLOR", "1"), ("USER", "alice")],
        )
        .expect("start tmux")
    }

    fn wait(tmux: &TmuxSession, what: &str, done: impl Fn(&str) -> bool) -> String {
        tmux.wait_for(done, TIMEOUT)
            .unwrap_or_else(|screen| panic!("waiting for {what}; last screen:\n{screen}"))
    }

    /// `shipdeck cockpit` starts a new release, takes keys (p pauses, journaled
    /// with who), and q asks before quitting while it runs.
    #[test]
    fn cockpit_starts_a_release_pauses_on_p_and_quits_on_q_y() {
        if !tmux_or_skip("cockpit_starts_a_release_pauses_on_p_and_quits_on_q_y") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let tmux = start(
            "cockpit",
            dir.path(),
            "cockpit --version v1.0.1 --type security --customers techstart --speed 60",
        );
        wait(&tmux, "the cockpit", |s| {
            s.contains("v1.0.1") && s.contains("Decision log")
        });
        let planned = journal_of(dir.path());
        assert!(
            matches!(&planned[0].event, EventKind::ReleasePlanned { actor, .. } if actor == "alice"),
            "{:?}",
            planned.first()
        );
        tmux.send_keys(&["p"]).expect("p");
        wait(&tmux, "the PAUSED banner", |s| {
            s.contains("PAUSED by alice")
        });
        assert!(journal_of(dir.path()).iter().any(|e| matches!(
            &e.event,
            EventKind::Paused { actor, .. } if actor == "alice"
        )));
        tmux.send_keys(&["q"]).expect("q");
        wait(&tmux, "the quit question", |s| s.contains("[ Quit ]"));
        tmux.send_keys(&["y"]).expect("y");
        let screen = wait(&tmux, "the exit", |s| s.contains("shipdeck exited"));
        assert!(screen.contains("shipdeck exited 0"), "{screen}");
    }

    /// Without `--yes`, in a terminal, deploy asks about each checklist item; `y`
    /// ticks it as checked by the operator (item by item, not "on their word" as
    /// `--yes` does), and the release goes on.
    #[test]
    fn the_headless_prompt_answered_y_ticks_each_item_as_checked() {
        if !tmux_or_skip("the_headless_prompt_answered_y_ticks_each_item_as_checked") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let tmux = start(
            "prompt-y",
            dir.path(),
            "deploy --version v1.0.1 --type security --customers techstart --speed 60",
        );
        let screen = wait(&tmux, "the first question", |s| s.contains("? [y/N]"));
        assert!(screen.contains("vuln-confirmed"), "{screen}");
        tmux.send_keys(&["y", "Enter"]).expect("y");
        wait(&tmux, "the second question", |s| {
            s.contains("fix-complete? [y/N]")
        });
        tmux.send_keys(&["y", "Enter"]).expect("y");
        // Both answered: validation runs, and the demo wave's items are asked next.
        wait(&tmux, "the next question", |s| {
            s.contains("no-new-vulns? [y/N]")
        });
        let ticked: Vec<(String, String, bool)> = journal_of(dir.path())
            .iter()
            .filter_map(|e| match &e.event {
                EventKind::ItemTicked {
                    item,
                    actor,
                    on_word,
                    ..
                } => Some((item.clone(), actor.clone(), *on_word)),
                _ => None,
            })
            .collect();
        assert_eq!(
            ticked,
            [
                ("vuln-confirmed".to_string(), "alice".to_string(), false),
                ("fix-complete".to_string(), "alice".to_string(), false),
            ]
        );
        tmux.send_keys(&["C-c"]).expect("C-c");
        let screen = wait(&tmux, "the exit", |s| s.contains("shipdeck exited"));
        assert!(screen.contains("shipdeck exited 130"), "{screen}");
    }
}
