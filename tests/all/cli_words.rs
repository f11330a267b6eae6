//! What the CLI says: JSON that is JSON, help for every flag, the README's
//! examples that parse, and unknown names refused rather than answered with
//! nothing (issue 10, item 9).

use std::time::Duration;

use clap::CommandFactory;

use crate::support::process::{run_bounded, shipdeck_command};

const BOUND: Duration = Duration::from_secs(60);

#[test]
fn deploy_dry_run_json_prints_only_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_bounded(
        shipdeck_command(
            dir.path(),
            &[
                "--json",
                "deploy",
                "--version",
                "v1.0.1",
                "--type",
                "security",
                "--dry-run",
            ],
        ),
        BOUND,
    );
    assert_eq!(o.code, Some(0), "{}", o.text());
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines.len() > 10, "{}", o.stdout);
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
        assert!(v.get("at").is_some() && v.get("event").is_some(), "{line}");
    }
}

#[test]
fn config_check_json_is_one_document_ok_or_with_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_bounded(
        shipdeck_command(dir.path(), &["--json", "config", "check"]),
        BOUND,
    );
    assert_eq!(o.code, Some(0), "{}", o.text());
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).expect("JSON");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["customers"], 14);
    let cfg = dir.path().join("cfg");
    std::fs::create_dir(&cfg).unwrap();
    for (name, body) in shipdeck::config::builtin_files() {
        let name = std::path::Path::new(name).file_name().unwrap();
        std::fs::write(cfg.join(name), body).unwrap();
    }
    let customers = std::fs::read_to_string(cfg.join("customers.json")).unwrap();
    std::fs::write(
        cfg.join("customers.json"),
        customers.replacen("\"tier\": \"startup\"", "\"tier\": \"gold\"", 1),
    )
    .unwrap();
    let mut cmd = shipdeck_command(dir.path(), &["--json", "config", "check", "--config"]);
    cmd.arg(&cfg);
    let o = run_bounded(cmd, BOUND);
    assert_eq!(o.code, Some(2), "{}", o.text());
    let doc: serde_json::Value = serde_json::from_str(&o.stdout).expect("JSON on stdout");
    assert_eq!(doc["ok"], false);
    let e = &doc["errors"][0];
    assert!(
        e["file"].as_str().unwrap().ends_with("customers.json"),
        "{doc}"
    );
    assert!(e["line"].as_u64().unwrap() > 0, "{doc}");
    assert!(e["message"].as_str().unwrap().contains("gold"), "{doc}");
    assert!(
        o.stderr.trim().is_empty(),
        "nothing but the document: {}",
        o.stderr
    );
}

/// Every flag and argument of every subcommand says what it is in `--help`.
#[test]
fn every_flag_has_help_text() {
    let mut missing = Vec::new();
    let root = shipdeck::cli::args::Cli::command();
    let mut stack = vec![(String::from("shipdeck"), root)];
    while let Some((path, cmd)) = stack.pop() {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" {
                continue;
            }
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            if help.trim().is_empty() {
                missing.push(format!("{path} --{id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            stack.push((format!("{path} {}", sub.get_name()), sub.clone()));
        }
    }
    assert!(missing.is_empty(), "flags without help: {missing:#?}");
    // And as a person reads it.
    let dir = tempfile::tempdir().unwrap();
    let o = run_bounded(shipdeck_command(dir.path(), &["approve", "--help"]), BOUND);
    for flag in ["--version <VERSION>", "--wave <WAVE>", "--role <ROLE>"] {
        let line = o
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{flag} in {}", o.stdout));
        assert!(
            line.trim_start().len() > flag.len() + 4,
            "{flag} has no text: {line:?}"
        );
    }
}

/// The README writes `shipdeck health techstart`.
#[test]
fn health_takes_the_customer_as_the_readme_writes_it() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_bounded(
        shipdeck_command(dir.path(), &["health", "techstart"]),
        BOUND,
    );
    assert!(matches!(o.code, Some(0 | 1)), "{}", o.text());
    assert!(o.stdout.contains("TechStart"), "{}", o.stdout);
    assert!(
        !o.stdout.contains("ACME"),
        "one customer only: {}",
        o.stdout
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(readme.contains("shipdeck health techstart"));
}

#[test]
fn deployments_of_an_unknown_customer_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_bounded(
        shipdeck_command(dir.path(), &["deployments", "--customer", "nobody"]),
        BOUND,
    );
    assert_eq!(o.code, Some(2), "{}", o.text());
    assert!(
        o.stderr.contains("unknown customer `nobody`"),
        "{}",
        o.stderr
    );
    assert!(
        o.stderr.contains("techstart"),
        "lists the known ids: {}",
        o.stderr
    );
    let o = run_bounded(
        shipdeck_command(dir.path(), &["deployments", "--customer", "TechStart"]),
        BOUND,
    );
    assert_eq!(
        o.code,
        Some(0),
        "a known customer with no deployments yet: {}",
        o.text()
    );
}
