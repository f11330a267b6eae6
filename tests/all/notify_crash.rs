//! Exactly one delivery per dedupe key across a crash: a real `shipdeck deploy`
//! sends notices to a loopback receiver that accepts the first and then never
//! answers; it is killed with SIGKILL while a notice is queued and not sent, and
//! run again against a receiver that answers. Each key reaches the receiver once,
//! and the webhook's secret URL is never printed, journaled or logged.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use shipdeck::engine::{Event, EventKind};
use shipdeck::runtime::journal::read_all;

use crate::support::receiver::Receiver;

const CANARY: &str = "CANARY-d41d8c-hush";

fn config_dir(dir: &Path) {
    for (name, text) in shipdeck::config::builtin_files() {
        std::fs::write(dir.join(name), text).expect("write config");
    }
    std::fs::write(
        dir.join("notifications.json"),
        r#"{
  "channels": {
    "hook": {"kind": "webhook", "url_env": "SHIPDECK_TEST_HOOK"},
    "log": {"kind": "file"}
  },
  "routes": [{"channel": "hook"}, {"channel": "log"}],
  "retry": {"attempts": 3, "first": "1s", "max": "5s"}
}"#,
    )
    .expect("write notifications");
}

fn deploy(config: &Path, state: &Path, speed: &str, url: &str, customers: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    c.arg("--config")
        .arg(config)
        .arg("--state-dir")
        .arg(state)
        .args([
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--customers",
            customers,
            "--speed",
            speed,
            "--yes",
        ])
        .env("USER", "alice")
        .env("SHIPDECK_TEST_HOOK", url)
        .stdin(Stdio::null());
    c
}

fn journal(state: &Path) -> Vec<Event> {
    match read_all::<Event>(&state.join("releases/v1.0.1/journal.jsonl")) {
        Ok(r) => r.into_events().collect(),
        Err(_) => Vec::new(),
    }
}

/// Keys routed to `hook`, and how many `NoticeSent` each has for it.
fn hook_deliveries(events: &[Event]) -> (Vec<String>, HashMap<String, usize>) {
    let mut keys = Vec::new();
    let mut sent: HashMap<String, usize> = HashMap::new();
    for e in events {
        match &e.event {
            EventKind::Notified { key, to, .. } if to.iter().any(|t| t == "hook") => {
                keys.push(key.clone())
            }
            EventKind::NoticeSent { key, to, .. } if to == "hook" => {
                *sent.entry(key.clone()).or_default() += 1
            }
            _ => {}
        }
    }
    (keys, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_between_queued_and_sent_then_resume_delivers_each_key_exactly_once() {
    let rx = Receiver::start().await;
    rx.accept_then_stall(Some(1));
    let tmp = tempfile::tempdir().expect("dir");
    let (cfg, state) = (tmp.path().join("config"), tmp.path().join("state"));
    std::fs::create_dir_all(&cfg).expect("mkdir");
    config_dir(&cfg);
    let url = rx.url(&format!("/hooks/{CANARY}"));

    let mut child = deploy(&cfg, &state, "3000", &url, "startup,standard")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Bounded polling: until one notice is sent and another is stuck at the
    // receiver, queued in the journal with no result.
    let deadline = Instant::now() + Duration::from_secs(90);
    let stuck = loop {
        let events = journal(&state);
        let (keys, sent) = hook_deliveries(&events);
        let unsent: Vec<&String> = keys.iter().filter(|k| !sent.contains_key(*k)).collect();
        if !sent.is_empty() && rx.stalled() >= 1 && !unsent.is_empty() {
            break unsent.iter().map(|k| k.to_string()).collect::<Vec<_>>();
        }
        assert!(
            Instant::now() < deadline,
            "no notice got stuck in time: {keys:?} sent {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    child.kill().expect("SIGKILL");
    let killed = child.wait_with_output().expect("wait");
    let before = journal(&state);
    let (_, sent_before) = hook_deliveries(&before);
    assert_eq!(rx.accepted().len(), 1, "one delivery before the crash");

    // The receiver answers now; the release resumes and runs to its end.
    rx.accept_then_stall(None);
    let resumed = deploy(&cfg, &state, "40000", &url, "startup,standard")
        .output()
        .expect("resume");
    assert_eq!(
        resumed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let after = journal(&state);
    assert_eq!(&after[..before.len()], &before[..], "nothing lost");
    let (keys, sent) = hook_deliveries(&after);
    let mut at_receiver: HashMap<String, usize> = HashMap::new();
    for a in rx.accepted() {
        *at_receiver.entry(a.key).or_default() += 1;
    }
    assert!(keys.len() >= 3, "post-deploy x2 and completion: {keys:?}");
    for k in &keys {
        assert_eq!(
            at_receiver.get(k),
            Some(&1),
            "{k} reached the receiver once"
        );
        assert_eq!(sent.get(k), Some(&1), "{k} journaled as sent once");
    }
    for k in &stuck {
        assert!(
            !sent_before.contains_key(k),
            "{k} was queued, not sent, at the kill"
        );
    }
    assert_eq!(at_receiver.values().sum::<usize>(), keys.len());

    // The secret URL is nowhere: output, journal, log, notification log.
    for (what, text) in [
        (
            "killed stdout",
            String::from_utf8_lossy(&killed.stdout).into_owned(),
        ),
        (
            "killed stderr",
            String::from_utf8_lossy(&killed.stderr).into_owned(),
        ),
        (
            "stdout",
            String::from_utf8_lossy(&resumed.stdout).into_owned(),
        ),
        (
            "stderr",
            String::from_utf8_lossy(&resumed.stderr).into_owned(),
        ),
        (
            "journal",
            std::fs::read_to_string(state.join("releases/v1.0.1/journal.jsonl")).expect("j"),
        ),
        (
            "log",
            std::fs::read_to_string(state.join("shipdeck.log")).unwrap_or_default(),
        ),
        (
            "notifications.log",
            std::fs::read_to_string(state.join("notifications.log")).expect("n"),
        ),
    ] {
        assert!(!text.contains(CANARY), "the secret is in the {what}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_show_in_status_and_notify_retry_resends_them_once() {
    let tmp = tempfile::tempdir().expect("dir");
    let (cfg, state) = (tmp.path().join("config"), tmp.path().join("state"));
    std::fs::create_dir_all(&cfg).expect("mkdir");
    config_dir(&cfg);
    let dead = format!(
        "http://127.0.0.1:{}/hooks/{CANARY}",
        crate::support::receiver::dead_port()
    );
    let first = deploy(&cfg, &state, "40000", &dead, "startup")
        .output()
        .expect("deploy");
    assert_eq!(
        first.status.code(),
        Some(0),
        "a receiver that is down does not fail the release: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let text = String::from_utf8_lossy(&first.stdout);
    assert!(
        text.contains("notify retry --version v1.0.1") && text.contains("--state-dir"),
        "{text}"
    );

    let status = |json: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_shipdeck"));
        c.arg("--state-dir").arg(&state).arg("status");
        if json {
            c.arg("--json");
        }
        c.output().expect("status")
    };
    let s = status(true);
    let doc: serde_json::Value = serde_json::from_slice(&s.stdout).expect("json");
    let failed = doc["notices"]["failed"].as_u64().expect("failed");
    assert!(failed >= 2, "post-deploy and completion failed: {doc}");
    let answers = doc["notices"]["failures"].to_string();
    assert!(answers.contains("cannot connect"), "{answers}");
    assert!(!answers.contains(CANARY));
    let s = status(false);
    assert!(
        String::from_utf8_lossy(&s.stdout).contains("FAILED v1.0.1/startup/post_deploy → hook")
    );

    let rx = Receiver::start().await;
    let retry = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--config")
        .arg(&cfg)
        .arg("--state-dir")
        .arg(&state)
        .args(["notify", "retry", "--version", "v1.0.1"])
        .env("USER", "bob")
        .env("SHIPDECK_TEST_HOOK", rx.url(&format!("/hooks/{CANARY}")))
        .output()
        .expect("retry");
    assert_eq!(
        retry.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&retry.stderr)
    );
    assert_eq!(
        rx.accepted().len() as u64,
        failed,
        "each failed delivery once"
    );
    let doc: serde_json::Value = serde_json::from_slice(&status(true).stdout).expect("json");
    assert_eq!(doc["notices"]["failed"], 0);
    // Nothing left: a second retry sends nothing.
    let again = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--config")
        .arg(&cfg)
        .arg("--state-dir")
        .arg(&state)
        .args(["notify", "retry", "--version", "v1.0.1"])
        .env("SHIPDECK_TEST_HOOK", rx.url("/x"))
        .output()
        .expect("retry");
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(rx.accepted().len() as u64, failed);
    let log = Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--state-dir")
        .arg(&state)
        .args(["log", "--version", "v1.0.1"])
        .output()
        .expect("log");
    assert!(String::from_utf8_lossy(&log.stdout).contains("bob"));
}
