//! Notices against a real loopback HTTP receiver that counts deliveries: one
//! message per wave and kind however many customers, retries on 429 / 500 / a reset
//! connection (honouring `Retry-After`), a receiver that is down for the whole
//! release never delays a wave, and secrets never show in answers.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use shipdeck::adapters::notify::{EnvLookup, Outbox, Renderer};
use shipdeck::cli::wiring::CliWiring;
use shipdeck::config;
use shipdeck::domain::{Configuration, Customer, CustomerId, ReleaseType, TierName};
use shipdeck::engine::testkit::Drill;
use shipdeck::engine::{
    Command, Effect, Event, EventKind, Input, NoticeKind, Phase, ReleasePlan, ReleaseState,
    Selection,
};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, RuntimeOptions};
use shipdeck::runtime::effects::{
    BoxFuture, CheckRunner, EffectPorts, Notice, Outcome, PortContext, Wiring,
};
use shipdeck::runtime::journal;
use shipdeck::runtime::state_dir::StateDir;

use crate::support::receiver::{Receiver, Reply, dead_port};

const CANARY: &str = "CANARY-7f3a9c-s3cr3t";

fn t0() -> DateTime<Utc> {
    "2026-11-16T10:00:00Z".parse().expect("time")
}

fn notifications(cfg: &mut Configuration, json: &str) {
    let (n, errors) =
        config::extras::notifications_from_str("notifications.json", json, Some(&cfg.tiers));
    assert!(errors.is_empty(), "{errors:?}");
    cfg.notifications = n.expect("notifications");
}

fn env(vars: &[(&str, String)]) -> EnvLookup {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    Arc::new(move |name: &str| map.get(name).cloned())
}

/// Plays a release on the engine's test kit with a manual clock, every deploy
/// (with its first check after it, healthy), check and rollback answered at once,
/// every gating item ticked; the clock moves a minute at a time while nothing is
/// answered, until `until`, the end or monitoring. Returns the events and the
/// notices the engine asked to deliver.
fn play(plan: ReleasePlan, until: DateTime<Utc>) -> (ReleaseState, Vec<Event>, Vec<Effect>) {
    let mut d = Drill::new(plan, "alice", t0()).expect("drill");
    d.answers.deploy_takes = Some(TimeDelta::zero());
    d.answers.rollback_takes = TimeDelta::zero();
    d.answers.check_takes = TimeDelta::zero();
    d.answers.checked_after_deploy = Some(TimeDelta::zero());
    let mut batch: Vec<Input> = d
        .state
        .unticked_gating_all()
        .into_iter()
        .map(|k| Input::Command {
            actor: "alice".into(),
            command: Command::tick(&k, true),
        })
        .collect();
    batch.push(Input::Tick);
    while d.now < until && !d.state.phase.is_final() && d.state.phase != Phase::Monitoring {
        for input in batch {
            // A refused input changes nothing; the play goes on.
            let _ = d.input(input);
        }
        // What the world answered to this batch is the next one.
        batch = d.queue.drain(..).map(|(_, r)| Input::Result(r)).collect();
        if batch.is_empty() {
            d.now += TimeDelta::minutes(1);
            batch.push(Input::Tick);
        }
    }
    (d.state, d.log, d.notified)
}

fn notice_of(eff: &Effect, to: &str, at: DateTime<Utc>) -> Notice {
    let Effect::Notify {
        kind,
        wave,
        customer,
        message,
        key,
        customers,
        eta,
        roles,
        ..
    } = eff.clone()
    else {
        panic!("not a notice: {eff:?}");
    };
    Notice {
        at,
        key,
        to: to.into(),
        kind,
        wave,
        customer,
        customers,
        message,
        eta,
        roles,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_customer_wave_gives_one_post_deploy_message() {
    let rx = Receiver::start().await;
    let mut cfg = config::load_builtin().expect("config");
    let startup = TierName::new("startup");
    let model: Customer = cfg
        .customers
        .iter()
        .find(|c| c.tier == startup)
        .cloned()
        .expect("a startup customer");
    cfg.customers.retain(|c| c.tier != startup);
    for i in 0..1000 {
        let mut c = model.clone();
        c.id = CustomerId::new(format!("cust-{i:04}"));
        c.name = format!("Customer {i:04}");
        cfg.customers.push(c);
    }
    notifications(
        &mut cfg,
        r#"{"channels": {"ops": {"kind": "slack", "url_env": "OPS_HOOK"}},
            "routes": [{"channel": "ops"}]}"#,
    );
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().expect("v"),
        ReleaseType::Security,
        Selection::Tiers(vec![startup.clone()]),
        false,
    )
    .expect("plan");
    let (state, log, notices) = play(plan.clone(), t0() + TimeDelta::hours(6));
    assert_eq!(state.phase, Phase::Monitoring, "the rollout completed");
    let post: Vec<&Event> = log
        .iter()
        .filter(|e| {
            matches!(
                &e.event,
                EventKind::Notified {
                    kind: NoticeKind::PostDeploy,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(post.len(), 1, "one post-deploy notice for the whole wave");
    let EventKind::Notified {
        key, customers, to, ..
    } = &post[0].event
    else {
        unreachable!()
    };
    assert_eq!(key, "v1.0.1/startup/post_deploy");
    assert_eq!(customers.len(), 1000);
    assert_eq!(to, &["ops".to_string()]);

    let outbox = Outbox::new(
        Renderer::new(plan),
        Clock::scaled(t0(), 1.0),
        "/dev/null".into(),
    )
    .with_env(env(&[("OPS_HOOK", rx.url("/services/T0/B0/x"))]));
    for n in &notices {
        let Effect::Notify { to, .. } = n else {
            continue;
        };
        for dest in to {
            let d = outbox.deliver(&notice_of(n, dest, t0())).await;
            assert!(d.ok, "{d:?}");
        }
    }
    let got = rx.accepted();
    let post_deploys: Vec<_> = got
        .iter()
        .filter(|a| a.key.ends_with("/post_deploy"))
        .collect();
    assert_eq!(post_deploys.len(), 1, "one message, not one per customer");
    assert_eq!(
        got.len(),
        notices.len(),
        "one POST per notice and destination"
    );
    let body = &post_deploys[0].body;
    let blocks = body["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    let header = blocks[0]["text"]["text"].as_str().expect("header");
    assert!(header.chars().count() <= 150);
    assert!(
        body["text"]
            .as_str()
            .expect("text")
            .contains("and 995 more")
    );
    let listed = serde_json::to_string(body).expect("json");
    assert!(listed.contains("Customer 0999") || listed.contains("more customers"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_on_reset_500_and_429_honouring_retry_after_then_delivers_once() {
    let rx = Receiver::start().await;
    rx.reset_next(1);
    rx.script([
        Reply::Status(500, None),
        Reply::Status(429, Some("120".into())),
        Reply::Ok,
    ]);
    let mut cfg = config::load_builtin().expect("config");
    notifications(
        &mut cfg,
        r#"{"channels": {"hook": {"kind": "webhook", "url_env": "HOOK_URL"}},
            "routes": [{"channel": "hook"}],
            "retry": {"attempts": 6, "first": "1s", "max": "1m"}}"#,
    );
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().expect("v"),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .expect("plan");
    // Fast release time: a minute of waiting is milliseconds.
    let clock = Clock::scaled(t0(), 1_000_000.0);
    let url = rx.url(&format!("/hooks/{CANARY}"));
    let outbox = Outbox::new(
        Renderer::new(plan.clone()),
        clock.clone(),
        "/dev/null".into(),
    )
    .with_env(env(&[("HOOK_URL", url)]));
    let notice = Notice {
        at: t0(),
        key: "v1.0.1/release/rollback".into(),
        to: "hook".into(),
        kind: NoticeKind::Rollback,
        wave: None,
        customer: None,
        customers: vec![],
        message: "rolling back everything deployed".into(),
        eta: None,
        roles: vec![],
    };
    let before = clock.now();
    let d = outbox.deliver(&notice).await;
    let waited = clock.now() - before;
    assert!(d.ok, "{d:?}");
    assert_eq!(d.attempts, 4, "reset, 500, 429, then delivered: {d:?}");
    assert_eq!(rx.accepted().len(), 1);
    assert_eq!(rx.accepted()[0].key, "v1.0.1/release/rollback");
    assert_eq!(
        rx.requests(),
        3,
        "the reset connection never reached the handler"
    );
    // 1 s after the reset, 2 s after the 500, then what Retry-After asked.
    assert!(
        waited >= TimeDelta::seconds(1 + 2 + 120),
        "waited only {waited} of release time"
    );

    // A refusal is not retried, and its answer is printable.
    rx.script([Reply::Status(404, None)]);
    let d = outbox.deliver(&notice).await;
    assert!(!d.ok);
    assert_eq!(d.attempts, 1, "{d:?}");
    assert!(d.answer.starts_with("HTTP 404"), "{}", d.answer);
    assert!(!d.answer.contains('\x1b'), "control characters escaped");

    // Attempts run out against a receiver that keeps failing.
    rx.then(Reply::Status(503, None));
    let d = outbox.deliver(&notice).await;
    assert!(!d.ok);
    assert_eq!(d.attempts, 6, "{d:?}");
    assert!(!d.answer.contains(CANARY), "{}", d.answer);

    // Nobody listening: connection errors are retried, and say no secret.
    let down = Outbox::new(Renderer::new(plan), clock, "/dev/null".into()).with_env(env(&[(
        "HOOK_URL",
        format!("http://127.0.0.1:{}/hooks/{CANARY}", dead_port()),
    )]));
    let d = down.deliver(&notice).await;
    assert!(!d.ok);
    assert_eq!(d.attempts, 6);
    assert!(!d.answer.contains(CANARY), "{}", d.answer);
    assert!(!d.answer.contains("127.0.0.1"), "{}", d.answer);
}

struct InstantChecks;

impl CheckRunner for InstantChecks {
    fn run(&self, _command: shipdeck::domain::CheckCommand) -> BoxFuture<Outcome> {
        Box::pin(async { Outcome::ok("exit 0") })
    }
}

/// The CLI's wiring, with checks that pass at once and an outbox whose secrets
/// come from a map.
struct TestWiring {
    cli: Arc<CliWiring>,
    env: EnvLookup,
}

impl Wiring for TestWiring {
    fn ports(&self, plan: &Arc<ReleasePlan>, ctx: &PortContext) -> EffectPorts {
        let mut ports = self.cli.ports(plan, ctx);
        ports.checks = Arc::new(InstantChecks);
        ports.notifier = Arc::new(
            Outbox::new(
                self.cli.renderer(plan),
                ctx.clock.clone(),
                ctx.notifications.clone(),
            )
            .with_env(self.env.clone()),
        );
        ports
    }
}

#[tokio::test(start_paused = true)]
async fn a_receiver_down_for_the_whole_release_never_delays_a_wave() {
    let dir = tempfile::tempdir().expect("dir");
    let mut cfg = config::load_builtin().expect("config");
    notifications(
        &mut cfg,
        r#"{"channels": {"ops": {"kind": "slack", "url_env": "OPS_HOOK"},
                         "pager": {"kind": "webhook", "url_env": "PAGER"}},
            "routes": [{"channel": "ops"}, {"channel": "pager"}]}"#,
    );
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.2".parse().expect("v"),
        ReleaseType::BugFix,
        Selection::All,
        false,
    )
    .expect("plan");
    let dead = format!("http://127.0.0.1:{}/hook/{CANARY}", dead_port());
    let cli = Arc::new(CliWiring::new(&cfg.customers, None));
    let wiring = TestWiring {
        cli: cli.clone(),
        env: env(&[("OPS_HOOK", dead.clone()), ("PAGER", dead)]),
    };
    let handle = driver::open(
        RuntimeOptions {
            state_dir: StateDir::at(dir.path()),
            clock: Clock::scaled(t0(), 1.0),
            wiring: Arc::new(wiring),
        },
        "v1.0.2",
        Some(plan.clone()),
        "alice",
    )
    .expect("open");
    // Customers are declared healthy on a finished check after their soak: the
    // simulated health sources answer them.
    let _probing = cli.start_probing(&handle);
    for key in handle.snapshot().state.unticked_gating_all() {
        handle
            .send("alice", Command::tick(&key, true))
            .await
            .expect("tick");
    }
    let mut snaps = handle.snapshots();
    loop {
        let phase = snaps.borrow().state.phase;
        if phase == Phase::Monitoring || phase.is_final() {
            break;
        }
        snaps.changed().await.expect("running");
    }
    let state = handle.stop().await.expect("stop");
    assert_eq!(state.phase, Phase::Monitoring);
    let events: Vec<Event> = journal::read_all(&StateDir::at(dir.path()).journal_path("v1.0.2"))
        .expect("journal")
        .into_events()
        .collect();
    let anchor = state.anchor.expect("demo completed");
    for (wi, w) in plan.waves.iter().enumerate().skip(1) {
        let started = events
            .iter()
            .find_map(|e| match &e.event {
                EventKind::WaveStarted { wave } if wave == &w.tier => Some(e.at),
                _ => None,
            })
            .expect("wave started");
        let due = anchor + w.delay.to_delta();
        let late = started - due;
        assert!(
            late >= TimeDelta::zero() && late < TimeDelta::seconds(1),
            "wave {} started {late} after it was due",
            w.tier
        );
        let _ = wi;
    }
    let queued = events
        .iter()
        .filter(|e| matches!(e.event, EventKind::Notified { .. }))
        .count();
    assert!(queued >= 4, "notices were queued: {queued}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.event, EventKind::NoticeSent { .. })),
        "nothing reached a receiver that is down"
    );
    assert!(
        state.outbox.failed() + state.outbox.queued() > 0,
        "undelivered notices are visible"
    );
    let text = std::fs::read_to_string(StateDir::at(dir.path()).journal_path("v1.0.2"))
        .expect("journal text");
    assert!(!text.contains(CANARY), "the secret URL is not journaled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_deploy_notices_reach_each_contact_channel_with_local_etas_and_notes() {
    let rx = Receiver::start().await;
    let mut cfg = config::load_builtin().expect("config");
    notifications(
        &mut cfg,
        r#"{"channels": {"cust": {"kind": "slack", "url_env": "CUST_HOOK"},
                         "ops": {"kind": "webhook", "url_env": "OPS_HOOK"}},
            "routes": [{"kinds": ["pre_deploy"], "tiers": ["enterprise"], "channel": "cust", "to_contacts": true},
                       {"channel": "ops"}],
            "link": "https://status.example/releases/{version}"}"#,
    );
    let mut plan = ReleasePlan::build(
        &cfg,
        "v1.0.3".parse().expect("v"),
        ReleaseType::Performance,
        Selection::All,
        false,
    )
    .expect("plan");
    plan.notes = Some(shipdeck::domain::ReleaseNotes {
        summary: "Dashboards render twice as fast.".into(),
        ..Default::default()
    });
    let (_, log, notices) = play(plan.clone(), t0() + TimeDelta::hours(2));
    let ent = notices
        .iter()
        .find(|n| {
            matches!(n, Effect::Notify { kind: NoticeKind::PreDeploy, wave: Some(w), .. } if w.as_str() == "enterprise")
        })
        .expect("an enterprise pre-deploy notice");
    let Effect::Notify { to, eta, .. } = ent else {
        unreachable!()
    };
    assert!(to.contains(&"cust>#acme-releases".to_string()), "{to:?}");
    assert!(to.contains(&"cust>#contoso-change".to_string()), "{to:?}");
    assert!(to.contains(&"ops".to_string()));
    let anchor = log
        .iter()
        .find_map(|e| match &e.event {
            EventKind::WaveCompleted { wave } if wave.as_str() == "demo" => Some(e.at),
            _ => None,
        })
        .expect("demo completed");
    assert_eq!(
        *eta,
        Some(anchor + TimeDelta::hours(24)),
        "the wave's delay"
    );

    let cli = CliWiring::new(&cfg.customers, None);
    let outbox = Outbox::new(
        cli.renderer(&Arc::new(plan.clone())),
        Clock::scaled(t0(), 1.0),
        "/dev/null".into(),
    )
    .with_env(env(&[
        ("CUST_HOOK", rx.url("/slack")),
        ("OPS_HOOK", rx.url("/ops")),
    ]));
    for dest in to {
        let d = outbox.deliver(&notice_of(ent, dest, anchor)).await;
        assert!(d.ok, "{d:?}");
    }
    let got = rx.accepted();
    let acme = got
        .iter()
        .find(|a| a.body["channel"] == "#acme-releases")
        .expect("one message to ACME's channel");
    let text = acme.body.to_string();
    assert!(text.contains("ACME Corp"), "{text}");
    assert!(
        !text.contains("Contoso"),
        "only the channel's own customers: {text}"
    );
    // ACME deploys in its window (Saturdays 02:00, Europe/Berlin): its ETA is the
    // window's next opening after the wave's start, in Berlin time.
    let acme_cfg = cfg
        .customers
        .iter()
        .find(|c| c.name == "ACME Corp")
        .expect("acme");
    let win = acme_cfg.maintenance_window.as_ref().expect("window");
    let local = win
        .next_open(eta.expect("eta"))
        .expect("opens")
        .with_timezone(&win.timezone)
        .format("%a %d %b %H:%M %Z")
        .to_string();
    assert!(text.contains(&local), "{local} in {text}");
    assert!(
        text.contains("Dashboards render twice as fast."),
        "notes go out with it"
    );
    assert!(text.contains("https://status.example/releases/v1.0.3"));
    // The generic JSON names the ETA per customer, with its time zone.
    let ops = got
        .iter()
        .find(|a| a.path == "/ops" && a.key.ends_with("/enterprise/pre_deploy"))
        .expect("ops got it");
    let acme_line = ops.body["customers"]
        .as_array()
        .expect("customers")
        .iter()
        .find(|c| c["name"] == "ACME Corp")
        .expect("acme listed");
    assert_eq!(acme_line["timezone"], "Europe/Berlin");
    assert_eq!(acme_line["eta_local"], local.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_needed_names_the_roles_and_the_command_and_a_command_channel_gets_json() {
    let tmp = tempfile::tempdir().expect("dir");
    let out = tmp.path().join("notice.json");
    let mut cfg = config::load_builtin().expect("config");
    let script = format!(
        r#"{{"channels": {{"hook": {{"kind": "command", "program": "sh", "args": ["-c", "cat > {}"]}}}},
            "routes": [{{"kinds": ["approval_needed"], "channel": "hook"}}]}}"#,
        out.display()
    );
    notifications(&mut cfg, &script);
    let plan = ReleasePlan::build(
        &cfg,
        "v1.1.0".parse().expect("v"),
        ReleaseType::Minor,
        Selection::All,
        false,
    )
    .expect("plan");
    let (_, _, notices) = play(plan.clone(), t0() + TimeDelta::hours(2));
    let asked: Vec<&Effect> = notices
        .iter()
        .filter(|n| {
            matches!(
                n,
                Effect::Notify {
                    kind: NoticeKind::ApprovalNeeded,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(
        asked.len(),
        1,
        "one approval-needed notice for the waiting wave"
    );
    let outbox = Outbox::new(
        Renderer::new(plan),
        Clock::scaled(t0(), 1.0),
        "/dev/null".into(),
    );
    let d = outbox.deliver(&notice_of(asked[0], "hook", t0())).await;
    assert!(d.ok, "{d:?}");
    let body: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("json");
    assert_eq!(body["dedupe_key"], "v1.1.0/startup/approval_needed");
    assert_eq!(
        body["command"],
        "shipdeck approve --version v1.1.0 --wave startup"
    );
    assert_eq!(body["roles"], serde_json::json!(["qa_lead"]));
    assert!(
        body["what_to_do"]
            .as_str()
            .expect("words")
            .contains("qa_lead must sign")
    );
}

/// A notifier whose receiver is down until told otherwise.
struct Switch {
    up: Arc<std::sync::atomic::AtomicBool>,
    delivered: Arc<std::sync::Mutex<Vec<String>>>,
}

impl shipdeck::runtime::effects::Notifier for Switch {
    fn notify(&self, n: Notice) -> BoxFuture<shipdeck::runtime::effects::Delivery> {
        let up = self.up.load(std::sync::atomic::Ordering::SeqCst);
        if up {
            self.delivered.lock().expect("lock").push(n.key.clone());
        }
        Box::pin(async move {
            shipdeck::runtime::effects::Delivery {
                ok: up,
                attempts: 1,
                answer: if up {
                    "HTTP 200".into()
                } else {
                    "HTTP 503".into()
                },
            }
        })
    }
}

struct SwitchWiring {
    cli: Arc<CliWiring>,
    switch: Arc<Switch>,
}

impl Wiring for SwitchWiring {
    fn ports(&self, plan: &Arc<ReleasePlan>, ctx: &PortContext) -> EffectPorts {
        let mut ports = self.cli.ports(plan, ctx);
        ports.checks = Arc::new(InstantChecks);
        ports.notifier = self.switch.clone();
        ports
    }
}

#[tokio::test(start_paused = true)]
async fn the_cockpit_command_resends_failed_notices_through_the_running_release() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = config::load_builtin().expect("config");
    let plan = ReleasePlan::build(
        &cfg,
        "v1.0.1".parse().expect("v"),
        ReleaseType::Security,
        Selection::Tiers(vec![TierName::new("startup")]),
        false,
    )
    .expect("plan");
    let switch = Arc::new(Switch {
        up: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        delivered: Arc::default(),
    });
    let cli = Arc::new(CliWiring::new(&cfg.customers, None));
    let handle = driver::open(
        RuntimeOptions {
            state_dir: StateDir::at(dir.path()),
            clock: Clock::scaled(t0(), 1.0),
            wiring: Arc::new(SwitchWiring {
                cli: cli.clone(),
                switch: switch.clone(),
            }),
        },
        "v1.0.1",
        Some(plan),
        "alice",
    )
    .expect("open");
    let _probing = cli.start_probing(&handle);
    for key in handle.snapshot().state.unticked_gating_all() {
        handle
            .send("alice", Command::tick(&key, true))
            .await
            .expect("tick");
    }
    let mut snaps = handle.snapshots();
    loop {
        let s = snaps.borrow().state.clone();
        if s.phase == Phase::Monitoring && s.outbox.queued() == 0 {
            break;
        }
        snaps.changed().await.expect("running");
    }
    let failed = handle.snapshot().state.outbox.failed();
    assert!(failed >= 2, "post-deploy and completion failed: {failed}");
    switch.up.store(true, std::sync::atomic::Ordering::SeqCst);
    handle
        .send("carol", Command::RetryNotices)
        .await
        .expect("accepted");
    loop {
        let s = snaps.borrow().state.clone();
        if s.outbox.failed() == 0 && s.outbox.queued() == 0 {
            break;
        }
        snaps.changed().await.expect("running");
    }
    assert_eq!(switch.delivered.lock().expect("lock").len(), failed);
    let again = handle.send("carol", Command::RetryNotices).await;
    assert!(again.is_err(), "nothing left to retry");
    let state = handle.stop().await.expect("stop");
    assert!(
        state
            .decisions
            .iter()
            .any(|d| d.actor == "carol" && d.what.contains("failed notice deliveries"))
    );
}
