//! The real binary, end to end: exit codes, output, and the journal it leaves.

use std::path::Path;
use std::process::{Command, Output};

fn shipdeck(state: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .env_remove("SHIPDECK_CONFIG")
        .env("USER", "alice")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run shipdeck")
}

use crate::support::process::text;

#[test]
fn plan_json_is_a_stable_document() {
    let dir = tempfile::tempdir().unwrap();
    let o = shipdeck(
        dir.path(),
        &[
            "--json",
            "plan",
            "--version",
            "v1.0.1",
            "--type",
            "security",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["version"], "v1.0.1");
    assert_eq!(doc["type"], "security");
    let waves = doc["waves"].as_array().unwrap();
    let delays: Vec<u64> = waves
        .iter()
        .map(|w| w["delay_seconds"].as_u64().unwrap())
        .collect();
    assert_eq!(delays, vec![0, 15 * 60, 30 * 60, 3600]);
    assert_eq!(waves[0]["tier"], "demo");
    assert!(
        waves
            .iter()
            .all(|w| w["gate"].is_string() && w["customers"].is_array())
    );
}

#[test]
fn plan_selects_customers_by_group_and_name() {
    let dir = tempfile::tempdir().unwrap();
    let o = shipdeck(
        dir.path(),
        &[
            "--json",
            "plan",
            "--version",
            "v1.0.2",
            "--type",
            "bug_fix",
            "--customers",
            "ACME Corp,TechStart",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<String> = doc["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| {
            w["customers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_string())
        })
        .collect();
    assert!(ids.contains(&"acme-corp".to_string()) && ids.contains(&"techstart".to_string()));
    assert!(!ids.contains(&"globex".to_string()), "{ids:?}");
    assert!(
        ids.iter().any(|i| i.starts_with("demo")),
        "the demo wave always runs first"
    );
    let o = shipdeck(
        dir.path(),
        &[
            "plan",
            "--version",
            "v1.0.2",
            "--type",
            "bug_fix",
            "--customers",
            "startup",
        ],
    );
    let out = text(&o);
    assert!(out.contains("TechStart") && !out.contains("ACME"), "{out}");
    let o = shipdeck(
        dir.path(),
        &[
            "plan",
            "--version",
            "v1.0.2",
            "--type",
            "bug_fix",
            "--customers",
            "Nobody Inc",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown customer `Nobody Inc`"));
}

#[test]
fn bad_input_exits_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let o = shipdeck(
        dir.path(),
        &["plan", "--version", "v1.x", "--type", "security"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("v1.x"), "{}", text(&o));
    let o = shipdeck(
        dir.path(),
        &["plan", "--version", "v1.0.1", "--type", "hotfix"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown release type `hotfix`"));
}

#[test]
fn validate_checks_the_bump_and_reports_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let o = shipdeck(
        dir.path(),
        &[
            "validate",
            "--version",
            "v1.0.2",
            "--type",
            "bug_fix",
            "--from",
            "v1.0.1",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("valid bug_fix bump"));
    let o = shipdeck(
        dir.path(),
        &[
            "validate",
            "--version",
            "v1.1.0",
            "--type",
            "security",
            "--from",
            "v1.0.1",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("must be v1.0.2"), "{}", text(&o));
    let o = shipdeck(
        dir.path(),
        &[
            "validate",
            "--version",
            "v1.1.3",
            "--type",
            "minor",
            "--from",
            "v1.0.3",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("must be v1.1.0"));
    // An alias of the seed's script works too.
    let o = shipdeck(
        dir.path(),
        &[
            "validate-patch",
            "--version",
            "v2.0.0",
            "--type",
            "major",
            "--from",
            "v1.4.2",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn config_check_reports_ok_and_errors_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = shipdeck(dir.path(), &["config", "check"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).starts_with("ok: 4 tiers"), "{}", text(&o));
    let cfg = dir.path().join("cfg");
    std::fs::create_dir(&cfg).unwrap();
    for (name, body) in shipdeck::config::builtin_files() {
        let name = Path::new(name).file_name().unwrap();
        std::fs::write(cfg.join(name), body).unwrap();
    }
    let customers = std::fs::read_to_string(cfg.join("customers.json")).unwrap();
    std::fs::write(
        cfg.join("customers.json"),
        customers.replacen("\"tier\": \"startup\"", "\"tier\": \"gold\"", 1),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .args(["config", "check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let out = text(&o);
    assert!(
        out.contains("customers.json:") && out.contains(".tier") && out.contains("gold"),
        "{out}"
    );
}

/// QA, item 4: `status` on a completed release offers no command to resume it.
#[test]
fn status_of_a_completed_release_offers_no_resume() {
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
            "startup",
            "--speed",
            "50000",
            "--yes",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = shipdeck(dir.path(), &["status", "--version", "v1.0.1"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("COMPLETED"), "{out}");
    assert!(
        out.contains("running: no process (the release is completed; nothing to resume)"),
        "{out}"
    );
    assert!(!out.contains("--resume"), "{out}");
}

/// QA, item 5: with `$USER` and `$LOGNAME` unset, the operator is the account
/// name of the uid (getpwuid), not "operator".
#[test]
fn without_user_or_logname_the_operator_is_the_account_name() {
    let uid = shipdeck::runtime::endpoint::current_uid();
    let name = shipdeck::runtime::endpoint::user_name(uid);
    if name == uid.to_string() {
        eprintln!("skipped: uid {uid} has no entry in the password database");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(dir.path())
        .args([
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            "startup",
            "--speed",
            "50000",
            "--yes",
        ])
        .env_remove("SHIPDECK_CONFIG")
        .env_remove("USER")
        .env_remove("LOGNAME")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run shipdeck");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{name} started v1.0.1 security")),
        "{}",
        text(&o)
    );
}

#[test]
fn headless_drill_completes_and_is_readable_from_another_process() {
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
            "startup",
            "--speed",
            "50000",
            "--yes",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(
        out.contains("wave startup started") && out.contains("release completed"),
        "{out}"
    );
    let o = shipdeck(dir.path(), &["--json", "status", "--version", "v1.0.1"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["phase"], "completed");
    let o = shipdeck(dir.path(), &["log", "--version", "v1.0.1"]);
    assert!(text(&o).contains("on the operator's word"), "{}", text(&o));
    let o = shipdeck(
        dir.path(),
        &["--json", "deployments", "--customer", "TechStart"],
    );
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        rows.as_array().unwrap().len(),
        2,
        "one deploy started and finished"
    );
    // The history now knows v1.0.1: the next validate checks against it.
    let o = shipdeck(
        dir.path(),
        &["validate", "--version", "v1.0.3", "--type", "bug_fix"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("must be v1.0.2"), "{}", text(&o));
}

#[test]
fn a_manual_gate_stops_the_headless_run_until_someone_approves() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "deploy",
        "--version",
        "v1.1.0",
        "--type",
        "minor",
        "--customers",
        "startup",
        "--speed",
        "50000",
        "--yes",
    ];
    let o = shipdeck(dir.path(), &args);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("needs approval by qa_lead"),
        "{}",
        text(&o)
    );
    // The starter may not approve; bob (QA lead) and carol (product owner) may.
    let o = shipdeck(dir.path(), &["approve", "--version", "v1.1.0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("started this release"), "{}", text(&o));
    let o = shipdeck(
        dir.path(),
        &["--as", "bob", "approve", "--version", "v1.1.0"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // The minor policy's startup gate needs the QA lead only: nothing left to sign.
    let o = shipdeck(
        dir.path(),
        &["--as", "carol", "approve", "--version", "v1.1.0"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("no wave is waiting for an approval"),
        "{}",
        text(&o)
    );
    let o = shipdeck(dir.path(), &args);
    assert!(text(&o).contains("wave startup started"), "{}", text(&o));
}

#[test]
fn offline_pause_and_rollback_are_journaled_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "deploy",
        "--version",
        "v1.0.1",
        "--type",
        "security",
        "--customers",
        "startup",
        "--speed",
        "50000",
        "--yes",
    ];
    assert_eq!(shipdeck(dir.path(), &args).status.code(), Some(0));
    let o = shipdeck(
        dir.path(),
        &[
            "rollback",
            "--version",
            "v1.0.1",
            "--customers",
            "TechStart",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "an empty reason is refused");
    assert!(text(&o).contains("reason is required"));
    let o = shipdeck(
        dir.path(),
        &[
            "rollback",
            "--version",
            "v1.0.1",
            "--customers",
            "TechStart",
            "--reason",
            "login errors",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("rolling back techstart"), "{}", text(&o));
    let o = shipdeck(dir.path(), &["log", "--version", "v1.0.1"]);
    assert!(
        text(&o).contains("rollback of customer techstart — login errors"),
        "{}",
        text(&o)
    );
    let o = shipdeck(
        dir.path(),
        &["pause", "--version", "v1.0.1", "--reason", "x"],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "a completed release cannot be paused: {}",
        text(&o)
    );
}

#[test]
fn a_rolled_back_version_is_used_up_and_the_next_one_validates() {
    let dir = tempfile::tempdir().unwrap();
    for v in ["v1.0.1", "v1.0.2"] {
        let args = [
            "deploy",
            "--version",
            v,
            "--type",
            "bug_fix",
            "--customers",
            "startup",
            "--speed",
            "500000",
            "--yes",
        ];
        let o = shipdeck(dir.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{v}: {}", text(&o));
    }
    let o = shipdeck(
        dir.path(),
        &[
            "rollback",
            "--version",
            "v1.0.2",
            "--reason",
            "checkout errors",
            // Monitoring ran the whole 24 h window: it has closed by now.
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Running the release again carries the rollback out.
    let args = [
        "deploy",
        "--version",
        "v1.0.2",
        "--type",
        "bug_fix",
        "--speed",
        "500000",
        "--yes",
    ];
    let o = shipdeck(dir.path(), &args);
    assert!(text(&o).contains("rolled back"), "{}", text(&o));
    let o = shipdeck(
        dir.path(),
        &["validate", "--version", "v1.0.2", "--type", "bug_fix"],
    );
    assert_eq!(o.status.code(), Some(2), "v1.0.2 was used: {}", text(&o));
    assert!(text(&o).contains("already started"), "{}", text(&o));
    let o = shipdeck(
        dir.path(),
        &["validate", "--version", "v1.0.3", "--type", "bug_fix"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "the number after a rolled-back release is the next one: {}",
        text(&o)
    );
    assert!(text(&o).contains("v1.0.2 → v1.0.3"), "{}", text(&o));
}

#[test]
fn emergency_records_who_declared_it_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "emergency",
        "--version",
        "v1.0.1",
        "--type",
        "security",
        "--speed",
        "500000",
        "--yes",
        "--reason",
        "CVE-2026-1234 exploited",
        // Window-bound customers keep their windows in an emergency unless named;
        // named here so the run completes without waiting for Saturday.
        "--override-windows",
        "umbrella-health,contoso-bank",
    ];
    let o = shipdeck(dir.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = shipdeck(dir.path(), &["log", "--version", "v1.0.1", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let log: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).expect("a JSON array");
    let declared: Vec<String> = log
        .iter()
        .map(|entry| entry.to_string())
        .filter(|entry| entry.contains("declared emergency"))
        .collect();
    assert_eq!(declared.len(), 1, "{}", text(&o));
    let line = declared[0].to_string();
    assert!(line.contains("CVE-2026-1234 exploited"), "{line}");
    assert!(line.contains("alice"), "{line}");
}
