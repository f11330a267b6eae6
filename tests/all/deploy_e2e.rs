//! Real deploys end to end through the `shipdeck deploy` binary: a failed command
//! deploy rolls the customer back and pauses; a webhook deploy to a loopback fleet
//! polls its status and verifies the live version; kill -9 in the middle of a
//! webhook deploy and of a command deploy, then resume: one `deploy_started`, the
//! same idempotency key (and attempt) sent again; a secret canary never shows in
//! the journal, logs, `status --json`, `log --json`, the output or the screen;
//! `shipdeck logs` prints what a deploy said; the fake kubectl/helm on `PATH` see
//! exactly the argv the recipes promise.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use shipdeck::domain::{Customer, CustomerId};
use shipdeck::engine::{Event, EventKind, PauseCause, ReleaseState};
use shipdeck::runtime::journal::read_all;
use shipdeck::sim::{DeployFault, FleetHandle};

use crate::deploy_config::{config_dir_with, recipes};
use crate::support::deploy::{Answer, ScriptServer, eventually, eventually_blocking};

const CANARY: &str = "CANARY-9b1c-do-not-print";

/// A configuration dir: the defaults with these customers only, no overrides, and
/// a security policy short enough for a drill (soak 30s, monitoring 10m).
fn config(dir: &Path, customers: &[Value]) -> PathBuf {
    let cfg = dir.join("config");
    config_dir_with(&cfg, &[]);
    let mut doc = json!({ "customers": customers });
    std::fs::write(
        cfg.join("customers.json"),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    std::fs::write(
        cfg.join("deployment-policies.json"),
        r#"{"default_maintenance_window": {"timezone": "UTC", "days": ["tue"], "start": "02:00", "duration": "4h"}, "overrides": {}}"#,
    )
    .unwrap();
    let text = std::fs::read_to_string(cfg.join("policies.json")).unwrap();
    doc = serde_json::from_str(&text).unwrap();
    let sec = &mut doc["policies"]["security"];
    sec["soak"] = json!("30s");
    sec["monitoring"]["period"] = json!("10m");
    std::fs::write(
        cfg.join("policies.json"),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    cfg
}

fn customer(id: &str, tier: &str, deploy: Value, health: Value) -> Value {
    json!({
        "id": id,
        "name": format!("Customer {id}"),
        "tier": tier,
        "version": "v1.0.0",
        "health": health,
        "deploy": deploy,
    })
}

/// A startup-tier customer deploying by simulation: a later wave that a pause holds.
fn later_wave() -> Value {
    customer(
        "later-1",
        "startup",
        json!({"kind": "simulated", "duration": "1m"}),
        simulated_health(),
    )
}

fn simulated_health() -> Value {
    json!({"kind": "simulated", "baseline_error_rate": 0.3, "baseline_latency_ms": 100.0})
}

fn shipdeck(state: &Path, cfg: &Path, args: &[&str]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"));
    c.arg("--state-dir")
        .arg(state)
        .arg("--config")
        .arg(cfg)
        .args(args)
        .env_remove("SHIPDECK_CONFIG")
        .env("USER", "alice")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

const DEPLOY: &[&str] = &[
    "deploy",
    "--version",
    "v1.0.1",
    "--type",
    "security",
    "--yes",
    "--speed",
    "600",
];

use crate::support::process::text;

fn journal(state: &Path) -> Vec<Event> {
    read_all::<Event>(&state.join("releases/v1.0.1/journal.jsonl"))
        .map(|r| r.into_events().collect())
        .unwrap_or_default()
}

fn started(events: &[Event], id: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(&e.event, EventKind::DeployStarted { customer, .. } if customer.as_str() == id))
        .count()
}

fn finished(events: &[Event], id: &str) -> Vec<(bool, String)> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            EventKind::DeployFinished {
                customer,
                ok,
                detail,
            } if customer.as_str() == id => Some((*ok, detail.clone())),
            _ => None,
        })
        .collect()
}

/// An executable script in `dir`.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_command_deploy_rolls_the_customer_back_and_pauses() {
    let tmp = tempfile::tempdir().unwrap();
    let calls = tmp.path().join("calls.log");
    let deploy = script(
        tmp.path(),
        "deploy.sh",
        &format!(
            r#"echo "$SHIPDECK_ACTION $*" >> {calls}
if [ "$SHIPDECK_ACTION" = rollback ]; then echo "rolled back to $1"; exit 0; fi
echo "Waiting for deployment \"api\" rollout to finish: 1 of 3 updated replicas are available..."
echo 'error: deployment "api" exceeded its progress deadline' >&2
exit 3"#,
            calls = calls.display()
        ),
    );
    let target = json!({"kind": "command", "program": deploy.display().to_string(), "args": ["{version}", "{customer}"], "timeout": "1m"});
    let cfg = config(
        tmp.path(),
        &[
            customer("shop-a", "demo", target, simulated_health()),
            later_wave(),
        ],
    );
    let state = tmp.path().join("state");
    let out = shipdeck(&state, &cfg, DEPLOY).output().await.unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(
            "deploy to shop-a FAILED: exit 3: error: deployment \"api\" exceeded its progress deadline"
        ),
        "{all}"
    );
    let events = journal(&state);
    assert_eq!(
        finished(&events, "shop-a"),
        vec![(
            false,
            "exit 3: error: deployment \"api\" exceeded its progress deadline".to_string()
        )]
    );
    let kinds: Vec<&EventKind> = events.iter().map(|e| &e.event).collect();
    assert!(kinds.iter().any(|k| matches!(k, EventKind::RollbackStarted { customer, to } if customer.as_str() == "shop-a" && to.to_string() == "v1.0.0")));
    assert!(kinds.iter().any(|k| matches!(k, EventKind::RollbackFinished { customer, ok: true, detail } if customer.as_str() == "shop-a" && detail == "rolled back to v1.0.0")));
    assert!(kinds.iter().any(|k| matches!(
        k,
        EventKind::Paused {
            cause: PauseCause::DeployFailed,
            ..
        }
    )));
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "deploy v1.0.1 shop-a\nrollback v1.0.0 shop-a\n"
    );

    // What the deploy printed, from another process.
    let logs = shipdeck(&state, &cfg, &["logs", "shop-a"])
        .output()
        .await
        .unwrap();
    assert_eq!(logs.status.code(), Some(0));
    let printed = String::from_utf8_lossy(&logs.stdout);
    assert!(printed.contains("1 of 3 updated replicas"), "{printed}");
    assert!(
        printed.contains("exceeded its progress deadline"),
        "{printed}"
    );
    assert!(printed.contains("rolled back to v1.0.0"), "{printed}");
    let unknown = shipdeck(&state, &cfg, &["logs", "nobody"])
        .output()
        .await
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown).contains("its customers: shop-a"),
        "{}",
        text(&unknown)
    );
}

/// The loopback fleet as the remote deploy system: `POST /deploy/{id}`, status
/// polling, `/health/{id}` with the live version. Deploys take `delay` of real time.
async fn fleet(ids: &[&str], delay: &str) -> FleetHandle {
    let customers: Vec<Customer> = ids
        .iter()
        .map(|id| {
            serde_json::from_value(customer(
                id,
                "demo",
                json!({"kind": "simulated", "duration": delay}),
                simulated_health(),
            ))
            .unwrap()
        })
        .collect();
    shipdeck::sim::serve(
        &customers,
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        shipdeck::sim::system_clock(),
    )
    .await
    .unwrap()
}

fn fleet_target(fleet: &FleetHandle, deadline: &str) -> Value {
    json!({
        "kind": "webhook",
        "url": fleet.deploy_url_template(),
        "timeout": "5s",
        "retries": 2,
        "backoff": "10s",
        "status": {"field": "/status", "success": ["live"], "failure": ["failed"], "interval": "10s", "deadline": deadline},
        "verify": {"pointer": "/version", "deadline": "10m", "interval": "5s"}
    })
}

fn fleet_health(fleet: &FleetHandle, id: &str) -> Value {
    json!({"kind": "http", "url": fleet.url_for(&CustomerId::new(id)), "timeout": "2s", "error_rate_pointer": "/error_rate", "latency_pointer": "/latency_p95_ms"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_deploys_poll_their_status_verify_the_live_version_and_fail_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = fleet(&["web-a", "web-b"], "1s").await;
    fleet.script_deploys(&CustomerId::new("web-b"), Some(DeployFault::Fails));
    let cfg = config(
        tmp.path(),
        &[
            customer(
                "web-a",
                "demo",
                fleet_target(&fleet, "10h"),
                fleet_health(&fleet, "web-a"),
            ),
            customer(
                "web-b",
                "demo",
                fleet_target(&fleet, "10h"),
                fleet_health(&fleet, "web-b"),
            ),
            later_wave(),
        ],
    );
    let state = tmp.path().join("state");
    let out = shipdeck(&state, &cfg, DEPLOY).output().await.unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let events = journal(&state);
    let a = finished(&events, "web-a");
    assert_eq!(a.len(), 1, "{all}");
    assert!(a[0].0, "{a:?}");
    assert!(
        a[0].1
            .starts_with("status \"live\" at /deploy/web-a/status/")
            && a[0].1.ends_with("; live version v1.0.1"),
        "{a:?}"
    );
    assert_eq!(
        fleet
            .version(&CustomerId::new("web-a"))
            .map(|v| v.to_string()),
        Some("v1.0.1".into())
    );
    let b = finished(&events, "web-b");
    assert_eq!(b.len(), 1);
    assert!(!b[0].0);
    assert!(
        b[0].1
            .starts_with("status \"failed\" at /deploy/web-b/status/"),
        "{b:?}"
    );
    assert!(events.iter().any(|e| matches!(&e.event, EventKind::Paused { cause: PauseCause::DeployFailed, reason, .. } if reason.contains("status \"failed\""))));
    // The failed customer was rolled back through the same hook, to v1.0.0.
    let posts = fleet.deploy_posts(&CustomerId::new("web-b"));
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_ne!(
        posts[0].0, posts[1].0,
        "a rollback is a new deploy, with its own key"
    );
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_webhook_deploy_then_resume_sends_the_same_key_and_attempt() {
    let tmp = tempfile::tempdir().unwrap();
    let fleet = fleet(&["web-a"], "4s").await;
    let id = CustomerId::new("web-a");
    // The first POST fails (retried: attempt 2 is journaled), the second starts it.
    fleet.script_deploys(
        &id,
        Some(DeployFault::Http {
            status: 503,
            times: 1,
        }),
    );
    let cfg = config(
        tmp.path(),
        &[customer(
            "web-a",
            "demo",
            fleet_target(&fleet, "10h"),
            fleet_health(&fleet, "web-a"),
        )],
    );
    let state = tmp.path().join("state");
    let mut child = shipdeck(&state, &cfg, DEPLOY).spawn().unwrap();
    let f = fleet.clone();
    let id2 = id.clone();
    let st = state.clone();
    let ready = tokio::task::spawn_blocking(move || {
        eventually_blocking(Duration::from_secs(60), || {
            f.deploy_posts(&id2).len() >= 2
                && journal(&st)
                    .iter()
                    .any(|e| matches!(e.event, EventKind::DeployRetried { attempt: 2, .. }))
        })
    })
    .await
    .unwrap();
    assert!(ready, "the deploy never reached its second attempt");
    child.start_kill().unwrap(); // SIGKILL
    let _ = child.wait().await;
    let before = journal(&state);
    assert!(finished(&before, "web-a").is_empty(), "killed too late");

    let out = shipdeck(&state, &cfg, DEPLOY).output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = journal(&state);
    assert_eq!(&after[..before.len()], &before[..], "nothing lost");
    assert_eq!(started(&after, "web-a"), 1, "one deploy_started");
    let posts = fleet.deploy_posts(&id);
    assert_eq!(posts.len(), 3, "{posts:?}");
    assert!(posts.iter().all(|(k, _)| k == &posts[0].0), "{posts:?}");
    assert_eq!(
        posts.iter().map(|(_, a)| *a).collect::<Vec<_>>(),
        vec![Some(1), Some(2), Some(2)],
        "the resume re-sent attempt 2"
    );
    let deploys = fleet.deploys(&id);
    assert_eq!(deploys.len(), 1, "the fleet saw one deploy");
    assert_eq!(deploys[0].requests, 2);
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_command_deploy_then_resume_runs_it_again_with_the_same_key() {
    let tmp = tempfile::tempdir().unwrap();
    let calls = tmp.path().join("calls.log");
    let go = tmp.path().join("go");
    let pids = tmp.path().join("pids");
    let deploy = script(
        tmp.path(),
        "reach.sh",
        &format!(
            r#"echo $$ >> {pids}
echo "$SHIPDECK_ATTEMPT $SHIPDECK_IDEMPOTENCY_KEY $1" >> {calls}
while [ ! -f {go} ]; do sleep 0.05; done
echo "now on $1""#,
            pids = pids.display(),
            calls = calls.display(),
            go = go.display()
        ),
    );
    let target = json!({"kind": "command", "program": deploy.display().to_string(), "args": ["{version}"], "timeout": "5m"});
    let cfg = config(
        tmp.path(),
        &[customer("cmd-a", "demo", target, simulated_health())],
    );
    let state = tmp.path().join("state");
    let mut child = shipdeck(&state, &cfg, DEPLOY).spawn().unwrap();
    let c = calls.clone();
    assert!(
        eventually(Duration::from_secs(60), || c.exists()).await,
        "the deploy command never started"
    );
    child.start_kill().unwrap(); // SIGKILL: the command is orphaned, still waiting
    let _ = child.wait().await;
    std::fs::write(&go, "").unwrap();
    let out = shipdeck(&state, &cfg, DEPLOY).output().await.unwrap();
    // The first run's orphan (its own process group) is ours to clean up.
    for pid in std::fs::read_to_string(&pids).unwrap().lines() {
        if let Ok(pid) = pid.trim().parse::<i32>() {
            // SAFETY: kill(2) on a process group this test's binary started.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
    }
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let events = journal(&state);
    assert_eq!(started(&events, "cmd-a"), 1);
    let lines: Vec<String> = std::fs::read_to_string(&calls)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], lines[1], "same attempt, same key, same version");
    assert!(
        lines[0].starts_with("1 shipdeck-") && lines[0].ends_with(" v1.0.1"),
        "{lines:?}"
    );
    assert_eq!(
        finished(&events, "cmd-a"),
        vec![(true, "now on v1.0.1".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_canary_never_shows_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let s = ScriptServer::start().await;
    s.on(
        "POST",
        "/hook/ok",
        vec![Answer::Json(200, r#"{"queued":true}"#)],
    );
    // Fails three times (the deploy), then the rollback goes through.
    s.on(
        "POST",
        "/hook/bad",
        vec![
            Answer::Json(500, "{}"),
            Answer::Json(500, "{}"),
            Answer::Json(500, "{}"),
            Answer::Json(200, "{}"),
        ],
    );
    let hook = |env: &str| {
        json!({
            "kind": "webhook",
            "url_env": env,
            "headers": [{"name": "Authorization", "env": "SD_TOKEN"}],
            "retries": 2,
            "backoff": "10s"
        })
    };
    let cfg = config(
        tmp.path(),
        &[
            customer("sec-ok", "demo", hook("SD_HOOK_OK"), simulated_health()),
            customer("sec-bad", "demo", hook("SD_HOOK_BAD"), simulated_health()),
            later_wave(),
        ],
    );
    let state = tmp.path().join("state");
    let with_secrets = |c: &mut tokio::process::Command| {
        c.env("SD_TOKEN", format!("Bearer {CANARY}"))
            .env("SD_HOOK_OK", format!("{}?key={CANARY}", s.url("/hook/ok")))
            .env(
                "SD_HOOK_BAD",
                format!("{}?key={CANARY}", s.url("/hook/bad")),
            );
    };
    let mut deploy = shipdeck(&state, &cfg, DEPLOY);
    with_secrets(&mut deploy);
    let out = deploy.output().await.unwrap();
    let mut outputs = vec![("deploy output".to_string(), text(&out))];
    assert_eq!(out.status.code(), Some(1), "{}", outputs[0].1);
    // The secrets did reach the server.
    let seen = s.seen_on("POST", "/hook/ok");
    assert_eq!(
        seen[0].headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {CANARY}").as_str())
    );
    let events = journal(&state);
    let bad = finished(&events, "sec-bad");
    assert_eq!(
        bad,
        vec![(
            false,
            "HTTP 500 from $SD_HOOK_BAD (attempt 3 of 3)".to_string()
        )]
    );
    for args in [
        vec!["--json", "status"],
        vec!["--json", "log"],
        vec!["status"],
        vec!["log"],
        vec!["logs", "sec-ok"],
        vec!["logs", "sec-bad"],
        vec!["--json", "deployments"],
    ] {
        let mut c = shipdeck(&state, &cfg, &args);
        with_secrets(&mut c);
        let o = c.output().await.unwrap();
        outputs.push((args.join(" "), text(&o)));
    }
    // Every file in the state dir: journal, deploy logs, shipdeck.log, notices.
    let mut files = Vec::new();
    let mut stack = vec![state.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    assert!(files.iter().any(|f| f.ends_with("deploys/sec-bad.log")));
    assert!(files.iter().any(|f| f.ends_with("journal.jsonl")));
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        outputs.push((
            f.display().to_string(),
            String::from_utf8_lossy(&bytes).into(),
        ));
    }
    // The screen: the cockpit on the journaled state, with the deploy log open.
    outputs.push(("cockpit screen".into(), screen(&state, "sec-bad")));
    for (what, text) in &outputs {
        assert!(
            !text.contains(CANARY),
            "the secret shows in {what}:\n{text}"
        );
    }
    let screen = &outputs.last().unwrap().1;
    assert!(screen.contains("Deploy log"), "{screen}");
    assert!(screen.contains("$SD_HOOK_BAD"), "{screen}");
}

/// The cockpit's frame for the release in `state`, with `customer`'s deploy log open.
fn screen(state: &Path, customer: &str) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use shipdeck::tui::app::{App, DeployLogView};
    use shipdeck::tui::theme::Theme;
    let events = journal(state);
    let s = ReleaseState::fold(&events).unwrap();
    let mut app = App::new("alice", false, false);
    let path = state.join(format!("releases/v1.0.1/deploys/{customer}.log"));
    app.deploy_log = Some(DeployLogView {
        customer: CustomerId::new(customer),
        name: customer.into(),
        lines: shipdeck::adapters::deploy::log::tail(&path, 500),
    });
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).unwrap();
    let now = s.last_event_at;
    terminal
        .draw(|f| shipdeck::tui::view::render(f, &s, now, &app, &Theme::monochrome()))
        .unwrap();
    let buf = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    // Without the overlay too: the health pane and decision log.
    app.deploy_log = None;
    terminal
        .draw(|f| shipdeck::tui::view::render(f, &s, now, &app, &Theme::monochrome()))
        .unwrap();
    let buf = terminal.backend().buffer().clone();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_recipes_give_kubectl_and_helm_exactly_the_promised_argv() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = tmp.path().join("argv.log");
    // Fake tools: record argv (one line, args joined by |, appended in one write
    // since the three customers deploy at once) and answer
    // like the real ones; `get` prints the version the last `set image` set.
    let fake = |name: &str| {
        script(
            &bin,
            name,
            &format!(
                r#"line="{name}"; for a in "$@"; do line="$line|$a"; done; printf '%s\n' "$line" >> {calls}
case "$1" in
  get) cat {bin}/version 2>/dev/null || echo v1.0.0 ;;
  set) echo "$4" | sed 's/.*://' > {bin}/version; echo "deployment.apps/api image updated" ;;
  argo) echo "rollout \"api\" image updated" ;;
  *) echo "Release \"api\" has been upgraded. Happy Helming!" ;;
esac"#,
                calls = calls.display(),
                bin = bin.display()
            ),
        )
    };
    fake("kubectl");
    fake("helm");
    let mut customers = Vec::new();
    for (name, mut c) in recipes() {
        if c["deploy"]["kind"] != "command" {
            continue;
        }
        // Tier demo so the release is one wave; health simulated (no network).
        c["tier"] = json!("demo");
        c["health"] = simulated_health();
        if c["deploy"]["verify"]["pointer"].is_string() {
            c["deploy"]["verify"] = Value::Null;
            c["deploy"].as_object_mut().unwrap().remove("verify");
        }
        customers.push((name, c));
    }
    assert_eq!(customers.len(), 3);
    let cfg = config(
        tmp.path(),
        &customers.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>(),
    );
    let state = tmp.path().join("state");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ids: Vec<&str> = customers
        .iter()
        .map(|(_, c)| c["id"].as_str().unwrap())
        .collect();
    let out = shipdeck(
        &state,
        &cfg,
        &[
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--yes",
            "--speed",
            "600",
            "--customers",
            &ids.join(","),
        ],
    )
    .env("PATH", &path)
    .output()
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The three deploy in parallel: compare each customer's calls, in order.
    let got = std::fs::read_to_string(&calls).unwrap();
    let of = |ns: &str| -> Vec<&str> {
        got.lines()
            .filter(|l| l.split('|').any(|a| a == ns))
            .collect()
    };
    assert_eq!(
        of("acme-argo"),
        [
            "kubectl|argo|rollouts|set|image|api|api=registry.example.com/api:v1.0.1|--namespace|acme-argo",
            "kubectl|argo|rollouts|status|api|--namespace|acme-argo|--timeout|20m",
        ]
    );
    assert_eq!(
        of("acme-helm"),
        [
            "helm|upgrade|--install|api|oci://registry.example.com/charts/api|--namespace|acme-helm|--set|image.tag=v1.0.1|--atomic|--wait|--timeout|10m"
        ]
    );
    assert_eq!(
        of("acme-k8s"),
        [
            "kubectl|set|image|deployment/api|api=registry.example.com/api:v1.0.1|--namespace|acme-k8s",
            "kubectl|rollout|status|deployment/api|--namespace|acme-k8s|--timeout=10m",
            "kubectl|get|deployment|api|--namespace|acme-k8s|-o|jsonpath={.metadata.labels.app\\.kubernetes\\.io/version}",
        ]
    );
    assert_eq!(got.lines().count(), 6, "{got}");
}

/// Collects a child's stdout as it comes.
fn collect(stdout: tokio::process::ChildStdout) -> std::sync::Arc<std::sync::Mutex<String>> {
    use tokio::io::AsyncBufReadExt;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let s = seen.clone();
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        while let Ok(Some(l)) = lines.next_line().await {
            let mut t = s.lock().unwrap();
            t.push_str(&l);
            t.push('\n');
        }
    });
    seen
}

fn sigint(child: &tokio::process::Child) {
    let pid = child.id().expect("running") as i32;
    // SAFETY: kill(2) on the child this test spawned.
    unsafe { libc::kill(pid, libc::SIGINT) };
}

/// SIGTERM (a supervisor stopping us) leaves a headless deploy and a foreground
/// runner at once: the deploy in flight keeps running and stays journaled as in
/// flight, for the next run to re-issue. Without it, both would wait for a deploy
/// that never ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_leaves_at_once_with_the_deploy_in_flight_journaled() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("pids");
    // Never finishes on its own: only leaving at once ends the process in time.
    let deploy = script(
        tmp.path(),
        "stuck.sh",
        &format!("echo $$ >> {}\nexec sleep 3600", pids.display()),
    );
    let target =
        json!({"kind": "command", "program": deploy.display().to_string(), "args": ["{version}"]});
    let cfg = config(
        tmp.path(),
        &[
            customer("stuck-a", "demo", target, simulated_health()),
            later_wave(),
        ],
    );
    let runner: Vec<&str> = [
        "start",
        "--foreground",
        "--version",
        "v1.0.1",
        "--type",
        "security",
        "--yes",
        "--speed",
        "600",
    ]
    .to_vec();
    for (name, args, code) in [("deploy", DEPLOY.to_vec(), 143), ("runner", runner, 0)] {
        let state = tmp.path().join(name);
        let _ = std::fs::remove_file(&pids);
        let mut child = shipdeck(&state, &cfg, &args).spawn().unwrap();
        let p = pids.clone();
        assert!(
            eventually(Duration::from_secs(60), || p.exists()).await,
            "{name}: the deploy command never started"
        );
        let pid = child.id().expect("running") as i32;
        // SAFETY: kill(2) on the child this test spawned.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap_or_else(|_| panic!("{name}: SIGTERM waited for the deploy"))
            .unwrap();
        assert_eq!(status.code(), Some(code), "{name}");
        let deploy_pid: i32 = std::fs::read_to_string(&pids)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let alive = Path::new(&format!("/proc/{deploy_pid}")).exists();
        // SAFETY: kill(2) on the process group the binary started and left.
        unsafe { libc::kill(-deploy_pid, libc::SIGKILL) };
        assert!(alive, "{name}: the deploy command was killed");
        let events = journal(&state);
        assert_eq!(started(&events, "stuck-a"), 1, "{name}");
        assert!(finished(&events, "stuck-a").is_empty(), "{name}: in flight");
    }
}

/// QA, item 3: on SIGTERM and SIGHUP a headless deploy leaves at once, and says
/// so: the deploys in flight keep running, journaled as in flight, re-issued by the
/// next run. Not Ctrl-C's "waiting for … press Ctrl-C again", which it does not do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sighup_say_the_deploys_in_flight_are_left_running() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("pids");
    let deploy = script(
        tmp.path(),
        "stuck.sh",
        &format!("echo $$ >> {}\nexec sleep 3600", pids.display()),
    );
    let target =
        json!({"kind": "command", "program": deploy.display().to_string(), "args": ["{version}"]});
    let cfg = config(
        tmp.path(),
        &[
            customer("stuck-a", "demo", target, simulated_health()),
            later_wave(),
        ],
    );
    for (name, signal, code) in [
        ("SIGTERM", libc::SIGTERM, 143),
        ("SIGHUP", libc::SIGHUP, 129),
    ] {
        let state = tmp.path().join(name);
        let _ = std::fs::remove_file(&pids);
        let mut child = shipdeck(&state, &cfg, DEPLOY).spawn().unwrap();
        let seen = collect(child.stdout.take().unwrap());
        let p = pids.clone();
        assert!(
            eventually(Duration::from_secs(60), || p.exists()).await,
            "{name}: the deploy command never started"
        );
        let pid = child.id().expect("running") as i32;
        // SAFETY: kill(2) on the child this test spawned.
        unsafe { libc::kill(pid, signal) };
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .unwrap_or_else(|_| panic!("{name}: waited for the deploy"))
            .unwrap();
        let deploy_pid: Option<i32> = std::fs::read_to_string(&pids)
            .ok()
            .and_then(|t| t.trim().parse().ok());
        if let Some(d) = deploy_pid {
            // SAFETY: kill(2) on the process group the binary started and left.
            unsafe { libc::kill(-d, libc::SIGKILL) };
        }
        assert_eq!(status.code(), Some(code), "{name}");
        // Its last line, once the reader has it: the release as it was left.
        let s = seen.clone();
        eventually(Duration::from_secs(10), || {
            s.lock().unwrap().contains("v1.0.1 security: ")
        })
        .await;
        let text = seen.lock().unwrap().clone();
        assert!(
            text.contains(&format!(
                "{name}: leaving 1 deploy in flight running: Customer stuck-a (deploying v1.0.1)"
            )),
            "{name}: {text}"
        );
        assert!(
            text.contains("journaled as in flight; the next run of this release re-issues it"),
            "{name}: {text}"
        );
        assert!(!text.contains("waiting for"), "{name}: {text}");
        assert!(!text.contains("press Ctrl-C again"), "{name}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_waits_for_the_deploy_in_flight_and_a_second_ctrl_c_leaves_it_running() {
    let tmp = tempfile::tempdir().unwrap();
    let go = tmp.path().join("go");
    let pids = tmp.path().join("pids");
    let deploy = script(
        tmp.path(),
        "slow.sh",
        &format!(
            r#"echo $$ >> {pids}
while [ ! -f {go} ]; do sleep 0.05; done
echo "now on $1""#,
            pids = pids.display(),
            go = go.display()
        ),
    );
    let target =
        json!({"kind": "command", "program": deploy.display().to_string(), "args": ["{version}"]});
    let cfg = config(
        tmp.path(),
        &[
            customer("slow-a", "demo", target, simulated_health()),
            later_wave(),
        ],
    );

    // One Ctrl-C: it pauses, says what it waits for, and waits.
    let state = tmp.path().join("state");
    let mut child = shipdeck(&state, &cfg, DEPLOY).spawn().unwrap();
    let seen = collect(child.stdout.take().unwrap());
    let p = pids.clone();
    assert!(eventually(Duration::from_secs(60), || p.exists()).await);
    sigint(&child);
    let s = seen.clone();
    assert!(
        eventually(Duration::from_secs(30), || s
            .lock()
            .unwrap()
            .contains("waiting for 1 deploy in flight to finish"))
        .await,
        "{}",
        seen.lock().unwrap()
    );
    assert!(
        seen.lock()
            .unwrap()
            .contains("Customer slow-a (deploying v1.0.1)")
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "it left without waiting"
    );
    std::fs::write(&go, "").unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("it ends once the deploy did")
        .unwrap();
    assert_eq!(status.code(), Some(130));
    let events = journal(&state);
    assert_eq!(
        finished(&events, "slow-a"),
        vec![(true, "now on v1.0.1".to_string())],
        "the result was journaled, not left for a resume"
    );
    std::fs::remove_file(&go).unwrap();
    std::fs::remove_file(&pids).unwrap();

    // Two: it leaves the deploy running, journaled as in flight.
    let state = tmp.path().join("state2");
    let mut child = shipdeck(&state, &cfg, DEPLOY).spawn().unwrap();
    let seen = collect(child.stdout.take().unwrap());
    let p = pids.clone();
    assert!(eventually(Duration::from_secs(60), || p.exists()).await);
    sigint(&child);
    let s = seen.clone();
    assert!(
        eventually(Duration::from_secs(30), || s
            .lock()
            .unwrap()
            .contains("waiting for 1 deploy"))
        .await
    );
    sigint(&child);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("it leaves at once")
        .unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        seen.lock()
            .unwrap()
            .contains("leaving the deploys in flight running")
    );
    let pid: i32 = std::fs::read_to_string(&pids)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let alive = Path::new(&format!("/proc/{pid}")).exists();
    // SAFETY: kill(2) on the process group the binary started and left.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    assert!(alive, "the deploy command was killed");
    let events = journal(&state);
    assert_eq!(started(&events, "slow-a"), 1);
    assert!(finished(&events, "slow-a").is_empty(), "still in flight");
}

#[tokio::test]
async fn plan_and_the_dry_run_show_each_customers_deploy_target_with_secrets_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config");
    let recipes: Vec<Value> = recipes().into_iter().map(|(_, c)| c).collect();
    config_dir_with(&cfg, &recipes);
    let state = tmp.path().join("state");
    let plan = shipdeck(
        &state,
        &cfg,
        &["plan", "--version", "v1.0.1", "--type", "security"],
    )
    .output()
    .await
    .unwrap();
    let printed = text(&plan);
    assert_eq!(plan.status.code(), Some(0), "{printed}");
    for expected in [
        "deploy: POST $RENDER_DEPLOY_HOOK_ACME with imgURL=docker.io/acme/api:{version}; polls /status until \"live\"; verify live version at /version (~8m)",
        "deploy: POST https://api.github.com/repos/acme/api/deployments (Authorization: $GITHUB_TOKEN_BEARER, X-GitHub-Api-Version: $GITHUB_API_VERSION); polls /0/state until \"success\" (~10m)",
        "deploy: helm upgrade --install api oci://registry.example.com/charts/api --namespace {customer} --set image.tag={version} --atomic --wait --timeout 10m (timeout 12m); verify live version at /version (~5m)",
        "deploy: simulated, 5m",
    ] {
        assert!(printed.contains(expected), "no `{expected}` in:\n{printed}");
    }
    let json = shipdeck(
        &state,
        &cfg,
        &[
            "--json",
            "plan",
            "--version",
            "v1.0.1",
            "--type",
            "security",
        ],
    )
    .output()
    .await
    .unwrap();
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    let render = doc["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["customers"].as_array().unwrap())
        .find(|c| c["id"] == "acme-render")
        .unwrap();
    assert_eq!(render["deploy"]["kind"], "webhook");
    assert_eq!(render["deploy"]["expected_seconds"], 480);
    let dry = shipdeck(
        &state,
        &cfg,
        &[
            "deploy",
            "--version",
            "v1.0.1",
            "--type",
            "security",
            "--dry-run",
        ],
    )
    .output()
    .await
    .unwrap();
    let printed = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "{printed}");
    assert!(
        printed
            .lines()
            .any(|l| l.trim_start().starts_with("ACME (Kubernetes)") && l.contains("deploy: sh -c")),
        "{printed}"
    );
    assert!(printed.contains("$RENDER_DEPLOY_HOOK_ACME"), "{printed}");
    assert!(!state.exists(), "a dry run writes nothing");
}
