//! `shipdeck report` on journals of drills: the seed's four patch types (security
//! completed with a pause, bug fix rolled back, performance and documentation
//! completed in windows) and a minor release signed by the QA lead, then aborted.
//! The figures are computed here again from the events, by the report's written
//! definitions, and must match the `--json` document.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command as Process;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::Value;
use shipdeck::domain::{NoticeKind, ReleaseType, Role, TierName};
use shipdeck::engine::{Command, Event, EventKind, Phase, ReleaseState, RollbackScope};
use shipdeck::runtime::state_dir::StateDir;

use crate::support::drill::Drill;

fn drills(dir: &StateDir, t0: DateTime<Utc>) -> Vec<(ReleaseState, Vec<Event>)> {
    let mut out = Vec::new();
    // Security: completed, with a 30-minute pause on the way.
    let mut d = Drill::start("v1.0.1", ReleaseType::Security, "alice", t0);
    d.run_until(t0 + TimeDelta::minutes(20));
    d.command(
        "alice",
        Command::Pause {
            reason: "support call".into(),
        },
    );
    d.at(t0 + TimeDelta::minutes(50));
    d.command(
        "alice",
        Command::Resume {
            reason: "call over".into(),
        },
    );
    d.run_until(t0 + TimeDelta::days(10));
    out.push(d.write(dir));
    // Bug fix: rolled back after the startup wave.
    let t1 = t0 + TimeDelta::days(1);
    let mut d = Drill::start("v1.0.2", ReleaseType::BugFix, "alice", t1);
    d.run_until(t1 + TimeDelta::hours(3));
    d.command(
        "alice",
        Command::Rollback {
            scope: RollbackScope::All,
            reason: "checkout returns 500".into(),
            force: false,
        },
    );
    d.run_until(t1 + TimeDelta::hours(4));
    out.push(d.write(dir));
    // Performance and documentation: completed, customers in their windows.
    let t2 = t0 + TimeDelta::days(2);
    let mut d = Drill::start("v1.0.3", ReleaseType::Performance, "alice", t2);
    d.run_until(t2 + TimeDelta::days(12));
    out.push(d.write(dir));
    let t3 = t0 + TimeDelta::days(3);
    let mut d = Drill::start("v1.0.4", ReleaseType::Documentation, "alice", t3);
    d.run_until(t3 + TimeDelta::days(12));
    out.push(d.write(dir));
    // Minor: bob signs the startup gate 30 h in, then it is aborted.
    let t4 = t0 + TimeDelta::days(4);
    let mut d = Drill::start("v1.1.0", ReleaseType::Minor, "alice", t4);
    d.run_until(t4 + TimeDelta::hours(30));
    d.command(
        "bob",
        Command::Approve {
            wave: Some(TierName::new("startup")),
            role: Some(Role::new("qa_lead")),
        },
    );
    d.run_until(t4 + TimeDelta::hours(31));
    d.command(
        "alice",
        Command::Abort {
            reason: "scope changed".into(),
        },
    );
    out.push(d.write(dir));
    out
}

fn nearest_rank(mut v: Vec<i64>, q: f64) -> Option<i64> {
    v.sort_unstable();
    if v.is_empty() {
        return None;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).max(1);
    Some(v[rank - 1])
}

fn pct(n: usize, d: usize) -> f64 {
    100.0 * n as f64 / d as f64
}

fn close(json: &Value, expected: f64) {
    let got = json.as_f64().expect("a number");
    assert!((got - expected).abs() < 1e-9, "{got} != {expected}");
}

#[test]
fn report_figures_match_the_journals() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = StateDir::at(tmp.path());
    let t0 = (Utc::now() - TimeDelta::days(20))
        .duration_trunc(TimeDelta::minutes(1))
        .expect("trunc");
    let releases = drills(&dir, t0);
    let phases: Vec<Phase> = releases.iter().map(|(s, _)| s.phase).collect();
    assert_eq!(
        phases,
        [
            Phase::Completed,
            Phase::RolledBack,
            Phase::Completed,
            Phase::Completed,
            Phase::Aborted
        ]
    );

    // Independently: customer deployments, rollbacks, timings, people.
    let mut deployed = 0;
    let mut succeeded = 0;
    let mut rolled = 0;
    let mut per_tier: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut speed: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut failed_releases = 0;
    let mut recoveries = Vec::new();
    let mut paused = Vec::new();
    let mut qa = Vec::new();
    for (s, events) in &releases {
        let started: BTreeSet<String> = events
            .iter()
            .filter_map(|e| match &e.event {
                EventKind::DeployStarted { customer, .. } => Some(customer.to_string()),
                _ => None,
            })
            .collect();
        let back: BTreeSet<String> = events
            .iter()
            .filter_map(|e| match &e.event {
                EventKind::RollbackStarted { customer, .. } => Some(customer.to_string()),
                _ => None,
            })
            .collect();
        let ok: BTreeSet<String> = events
            .iter()
            .filter_map(|e| match &e.event {
                EventKind::DeployFinished {
                    customer, ok: true, ..
                } => Some(customer.to_string()),
                _ => None,
            })
            .collect();
        deployed += started.len();
        rolled += back.len();
        succeeded += started
            .iter()
            .filter(|c| ok.contains(*c) && !back.contains(*c))
            .count();
        for c in &started {
            let st = s
                .customer(&shipdeck::domain::CustomerId::new(c.clone()))
                .expect("c");
            let tier = s.waves[st.wave].tier.to_string();
            let e = per_tier.entry(tier).or_default();
            e.0 += 1;
            if back.contains(c) {
                e.1 += 1;
            }
        }
        if let Some(done) = events.iter().find_map(|e| match e.event {
            EventKind::RolloutCompleted { .. } => Some(e.at),
            _ => None,
        }) {
            speed
                .entry(s.plan.release_type.to_string())
                .or_default()
                .push((done - s.started_at).num_seconds());
        }
        let first_failure = events.iter().find_map(|e| match e.event {
            EventKind::RollbackRequested { .. }
            | EventKind::TriggerFired { .. }
            | EventKind::DeployFinished { ok: false, .. } => Some(e.at),
            _ => None,
        });
        if let Some(f) = first_failure {
            failed_releases += 1;
            let restored = events
                .iter()
                .filter_map(|e| match e.event {
                    EventKind::RollbackFinished { ok: true, .. } => Some(e.at),
                    _ => None,
                })
                .max()
                .expect("restored");
            recoveries.push((restored - f).num_seconds());
        }
        let mut since = None;
        for e in events {
            match &e.event {
                EventKind::Paused { .. } => since = Some(e.at),
                EventKind::Resumed { .. } => {
                    paused.push((e.at - since.take().expect("paused")).num_seconds())
                }
                _ => {}
            }
        }
        let needed = events.iter().find_map(|e| match &e.event {
            EventKind::Notified {
                kind: NoticeKind::ApprovalNeeded,
                wave: Some(w),
                ..
            } if w.as_str() == "startup" => Some(e.at),
            _ => None,
        });
        for e in events {
            if let EventKind::ApprovalSigned { role, .. } = &e.event {
                assert_eq!(role.as_str(), "qa_lead");
                qa.push((e.at - needed.expect("approval-needed notice")).num_seconds());
            }
        }
    }
    assert_eq!(failed_releases, 1);
    assert_eq!(paused, [30 * 60]);
    assert_eq!(qa.len(), 1);
    assert!(rolled > 0 && deployed > rolled);

    let out = Process::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(tmp.path())
        .args(["report", "--since", "30d", "--json"])
        .output()
        .expect("report");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");

    let rel = &r["releases"];
    assert_eq!(rel["started"], 5);
    assert_eq!(rel["completed"], 3);
    assert_eq!(rel["rolled_back"], 1);
    assert_eq!(rel["aborted"], 1);
    assert_eq!(rel["in_progress"], 0);
    assert_eq!(r["success_rate"]["numerator"], succeeded);
    assert_eq!(r["success_rate"]["denominator"], deployed);
    close(&r["success_rate"]["percent"], pct(succeeded, deployed));
    assert_eq!(r["success_rate"]["met"], pct(succeeded, deployed) > 99.0);
    assert_eq!(r["rollback_rate"]["numerator"], rolled);
    close(&r["rollback_rate"]["percent"], pct(rolled, deployed));
    assert_eq!(
        r["rollback_rate"]["met"], false,
        "a rolled-back release misses < 1 %"
    );

    for x in r["time_to_deploy"].as_array().expect("timing") {
        let t = x["release_type"].as_str().expect("type");
        let samples = speed.remove(t).expect("a type that reached every customer");
        let s = &x["time_to_deploy"];
        assert_eq!(s["count"], samples.len());
        assert_eq!(
            s["median_secs"],
            nearest_rank(samples.clone(), 0.5).expect("m")
        );
        assert_eq!(
            s["p90_secs"],
            nearest_rank(samples.clone(), 0.9).expect("p")
        );
        let target = match t {
            "security" => Some(3600),
            "bug_fix" => Some(12 * 3600),
            _ => None,
        };
        assert_eq!(x["target_secs"], serde_json::json!(target));
        let within = target.map_or(0, |lim| samples.iter().filter(|v| **v < lim).count());
        assert_eq!(x["within_target"], within);
    }
    assert!(speed.is_empty(), "every type listed: {speed:?}");

    let dora = &r["dora"];
    assert_eq!(dora["deployments"], 3);
    let weeks = 30.0 / 7.0;
    close(&dora["deployment_frequency_per_week"], 3.0 / weeks);
    assert_eq!(dora["change_failure_rate"]["numerator"], 1);
    assert_eq!(dora["change_failure_rate"]["denominator"], 5);
    assert_eq!(dora["recovery_time"]["count"], 1);
    assert_eq!(dora["recovery_time"]["median_secs"], recoveries[0]);
    let leads: Vec<i64> = releases
        .iter()
        .filter_map(|(s, ev)| {
            ev.iter().find_map(|e| match e.event {
                EventKind::RolloutCompleted { .. } => Some((e.at - s.started_at).num_seconds()),
                _ => None,
            })
        })
        .collect();
    assert_eq!(
        dora["lead_time"]["median_secs"],
        nearest_rank(leads.clone(), 0.5).expect("m")
    );

    let tiers: BTreeMap<String, (u64, u64)> = r["rollback_by_tier"]
        .as_array()
        .expect("tiers")
        .iter()
        .map(|t| {
            (
                t["tier"].as_str().expect("tier").to_string(),
                (
                    t["rollback_rate"]["denominator"].as_u64().expect("d"),
                    t["rollback_rate"]["numerator"].as_u64().expect("n"),
                ),
            )
        })
        .collect();
    let expected: BTreeMap<String, (u64, u64)> = per_tier
        .into_iter()
        .map(|(k, (n, b))| (k, (n as u64, b as u64)))
        .collect();
    assert_eq!(tiers, expected);
    assert!(
        expected["startup"].1 > 0,
        "the startup wave was rolled back"
    );
    assert_eq!(
        expected.get("enterprise").map(|e| e.1),
        Some(0),
        "waves kept enterprise out of it"
    );

    let people = &r["waiting_on_people"];
    assert_eq!(people["paused"]["total_secs"], 30 * 60);
    assert_eq!(people["approval_latency"]["qa_lead"]["median_secs"], qa[0]);
    assert_eq!(people["people_secs"], 30 * 60 + qa[0]);

    // People read it: bars without colour under NO_COLOR, every section there.
    let text = Process::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(tmp.path())
        .args(["report", "--since", "30d"])
        .env("NO_COLOR", "1")
        .output()
        .expect("report");
    let text = String::from_utf8_lossy(&text.stdout);
    for part in [
        "Success rate",
        "Rollback rate",
        "Time to deploy",
        "DORA's four keys",
        "Rollback rate per tier",
        "Waiting on people",
        "approval by qa_lead",
    ] {
        assert!(text.contains(part), "{part} missing:\n{text}");
    }
    assert!(!text.contains('\x1b'), "plain text under NO_COLOR");
    assert!(!text.contains('█'), "ASCII bars under NO_COLOR");

    // Only security: one release.
    let only = Process::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(tmp.path())
        .args(["report", "--since", "30d", "--type", "security", "--json"])
        .output()
        .expect("report");
    let only: Value = serde_json::from_slice(&only.stdout).expect("json");
    assert_eq!(only["releases"]["started"], 1);

    // The changelog of the same journals: the rolled-back bug fix is yanked.
    let cl = Process::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(tmp.path())
        .arg("changelog")
        .output()
        .expect("changelog");
    let cl = String::from_utf8_lossy(&cl.stdout);
    assert!(
        cl.contains("## [1.0.2] - ") && cl.contains("[YANKED]"),
        "{cl}"
    );
    assert!(!cl.contains("[1.1.0]"), "aborted: never released");

    // Bad input: exit 2 with words.
    let bad = Process::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(tmp.path())
        .args(["report", "--since", "soon"])
        .output()
        .expect("report");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since soon"));
}

#[test]
fn the_weekly_digest_lists_documentation_releases_and_sends_once() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = StateDir::at(tmp.path().join("state"));
    let t = (Utc::now() - TimeDelta::days(10))
        .duration_trunc(TimeDelta::minutes(1))
        .expect("trunc");
    let mut d = Drill::start("v1.0.4", ReleaseType::Documentation, "alice", t);
    d.run_until(t + TimeDelta::days(9));
    let (s, _) = d.write(&dir);
    assert_eq!(s.phase, Phase::Completed);
    let cfg = tmp.path().join("config");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    for (name, text) in shipdeck::config::builtin_files() {
        std::fs::write(cfg.join(name), text).expect("write");
    }
    let sink = tmp.path().join("digest.json");
    std::fs::write(
        cfg.join("notifications.json"),
        format!(
            r#"{{"channels": {{"docs": {{"kind": "command", "program": "sh", "args": ["-c", "cat >> {}"]}}}},
                "routes": [{{"kinds": ["weekly_summary"], "channel": "docs"}}]}}"#,
            sink.display()
        ),
    )
    .expect("notifications");
    let run = |send: bool| {
        let mut c = Process::new(env!("CARGO_BIN_EXE_shipdeck"));
        c.arg("--config")
            .arg(&cfg)
            .arg("--state-dir")
            .arg(&dir.root)
            .args(["digest", "--since", "14d"]);
        if send {
            c.arg("--send");
        }
        c.output().expect("digest")
    };
    let shown = run(false);
    assert_eq!(shown.status.code(), Some(0));
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.starts_with("Weekly summary "), "{text}");
    assert!(
        text.contains("v1.0.4 documentation — completed (deployed to "),
        "{text}"
    );
    assert!(!sink.exists(), "without --send nothing is sent");
    let sent = run(true);
    assert_eq!(sent.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&sent.stdout).contains("sent digest/"));
    let body: Value =
        serde_json::from_str(&std::fs::read_to_string(&sink).expect("sent")).expect("json");
    assert_eq!(body["kind"], "weekly_summary");
    assert!(body["notes"].as_str().expect("text").contains("v1.0.4"));
    let again = run(true);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already sent digest/"));
    assert_eq!(
        std::fs::read_to_string(&sink)
            .expect("sent")
            .lines()
            .count(),
        1,
        "a week's digest goes out once"
    );
}
