//! What attaching costs, measured over a real Unix socket (prints figures; not a
//! criterion bench, since these are rates over time and one-off latencies):
//!
//! 1. bytes per second sent to one attached viewer while the release is idle
//!    (waiting on people: only the clock frame moves), target under 1 KB/s;
//! 2. bytes per second sent to one attached viewer during a rollout at 10,000
//!    customers (the loopback demo fleet, real HTTP probes, simulated deploys, the
//!    release clock at `ATTACH_SPEED`, default 20×);
//! 3. time from attaching to the first frame on a release whose journal holds
//!    1,000,000 events: the remote link's handshake, journal read and fold (the
//!    cockpit then draws at once), and, when `SHIPDECK_BIN` names a built binary and
//!    tmux is installed, `shipdeck attach` in a tmux pane until its first frame shows.
//!
//!   cargo build --release && SHIPDECK_BIN=target/release/shipdeck cargo bench --bench attach
//!
//! `ATTACH_SECS` (default 20) sets how long each rate is measured.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use futures_util::{SinkExt, StreamExt};
use shipdeck::domain::{CustomerId, HealthSample, ProbeOutcome, ReleaseType};
use shipdeck::engine::{self, Command, Event, EventKind, ReleasePlan, Selection};
use shipdeck::protocol::{
    self, ClientKind, ClientMsg, Hello, MAX_CLIENT_FRAME, MAX_SERVER_FRAME, PROTOCOL_VERSION,
    ServerMsg, ServingKind,
};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, ReleaseHandle, RuntimeOptions};
use shipdeck::runtime::endpoint;
use shipdeck::runtime::journal::JournalWriter;
use shipdeck::runtime::remote::{self, AttachOptions};
use shipdeck::runtime::server::{self, Server, ServerOptions};
use shipdeck::runtime::state_dir::StateDir;
use tokio::net::UnixStream;
use tokio_util::bytes::Bytes;
use tokio_util::codec::{FramedRead, FramedWrite};

const LABEL: &str = "v1.0.1";

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn serve(dir: &Path, handle: &ReleaseHandle) -> Server {
    let sd = StateDir::at(dir);
    server::serve(
        handle.link().clone(),
        ServerOptions {
            place: endpoint::socket_place(&sd, LABEL).expect("place"),
            label: LABEL.into(),
            journal: sd.journal_path(LABEL),
            kind: ServingKind::Runner,
            operator: "alice".into(),
            group: None,
        },
    )
    .await
    .expect("serve")
}

/// Bytes, frames and events one viewer receives in `secs` seconds.
struct Received {
    bytes: u64,
    frames: u64,
    committed: u64,
    clocks: u64,
}

async fn viewer(dir: &Path, secs: f64) -> Received {
    let sock = endpoint::socket_path(&StateDir::at(dir), LABEL).expect("socket");
    let stream = UnixStream::connect(&sock).await.expect("connect");
    let (r, w) = stream.into_split();
    let mut reader = FramedRead::new(r, server::codec(MAX_SERVER_FRAME));
    let mut writer = FramedWrite::new(w, server::codec(MAX_CLIENT_FRAME));
    let hello = ClientMsg::Hello(Hello {
        protocol: PROTOCOL_VERSION,
        operator: None,
        readonly: true,
        client: ClientKind::Cockpit,
    });
    writer
        .send(Bytes::from(protocol::encode(&hello)))
        .await
        .expect("hello");
    // The welcome is not counted: it is the one-off cost of attaching.
    let _ = reader.next().await;
    let mut got = Received {
        bytes: 0,
        frames: 0,
        committed: 0,
        clocks: 0,
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(secs);
    loop {
        let frame = tokio::select! {
            f = reader.next() => f,
            _ = tokio::time::sleep_until(deadline) => break,
        };
        let Some(Ok(bytes)) = frame else { break };
        got.bytes += bytes.len() as u64 + 4;
        got.frames += 1;
        match protocol::decode_server(&bytes) {
            Ok(ServerMsg::Committed { .. }) => got.committed += 1,
            Ok(ServerMsg::Clock { .. }) => got.clocks += 1,
            _ => {}
        }
    }
    got
}

fn report(what: &str, got: &Received, secs: f64) {
    println!(
        "{what}: {:.0} B/s ({} bytes in {secs:.0} s; {} frames: {} events, {} clock; {:.0} events/s)",
        got.bytes as f64 / secs,
        got.bytes,
        got.frames,
        got.committed,
        got.clocks,
        got.committed as f64 / secs
    );
}

/// A bug-fix release of the built-in configuration, waiting for its checklist:
/// nothing happens but time passing.
async fn idle(secs: f64) {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = shipdeck::config::load_builtin().expect("config");
    let plan = ReleasePlan::build(
        &cfg,
        LABEL.parse().expect("v"),
        ReleaseType::BugFix,
        Selection::All,
        false,
    )
    .expect("plan");
    let handle = driver::open(
        RuntimeOptions {
            state_dir: StateDir::at(dir.path()),
            clock: Clock::System,
            wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
        },
        LABEL,
        Some(plan),
        "alice",
    )
    .expect("open");
    handle
        .send(
            "alice",
            Command::Pause {
                reason: "idle".into(),
            },
        )
        .await
        .expect("pause");
    let srv = serve(dir.path(), &handle).await;
    let got = viewer(dir.path(), secs).await;
    report("idle viewer (release paused)", &got, secs);
    srv.close(protocol::Farewell {
        reason: protocol::ByeReason::Stopped,
        message: "bench over".into(),
    })
    .await;
    drop(handle.stop().await);
}

/// A security release to 10,000 customers of the loopback fleet, probed over HTTP.
async fn rollout(secs: f64) {
    let speed = env_num("ATTACH_SPEED", 20.0);
    let dir = tempfile::tempdir().expect("dir");
    let mut cfg = shipdeck::config::load_builtin().expect("config");
    cfg.customers = shipdeck::sim::synthetic_customers(10_000);
    if let Some(p) = cfg.policies.get_mut(&ReleaseType::Security) {
        p.max_parallel = 1_000;
    }
    let plan = ReleasePlan::build(
        &cfg,
        LABEL.parse().expect("v"),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .expect("plan");
    let clock = Clock::scaled(Utc::now(), speed);
    let fleet = shipdeck::sim::serve(
        &cfg.customers,
        "127.0.0.1:0".parse().expect("addr"),
        shipdeck::sim::fleet_clock(&clock),
    )
    .await
    .expect("fleet");
    let wiring = shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, Some(fleet.clone()));
    let handle = driver::open(
        RuntimeOptions {
            state_dir: StateDir::at(dir.path()),
            clock,
            wiring: wiring.clone(),
        },
        LABEL,
        Some(plan),
        "alice",
    )
    .expect("open");
    for key in handle.snapshot().state.unticked_gating_all() {
        let _ = handle.send("alice", Command::tick(&key, true)).await;
    }
    let probing = wiring.start_probing(&handle);
    let srv = serve(dir.path(), &handle).await;
    let from = handle.snapshot().next_seq;
    let got = viewer(dir.path(), secs).await;
    let journaled = handle.snapshot().next_seq - from;
    let s = handle.snapshot().state;
    let deployed = s
        .customers
        .iter()
        .filter(|c| c.status != engine::CustomerStatus::Pending)
        .count();
    report(
        &format!("viewer during a rollout at 10,000 customers ({speed}x)"),
        &got,
        secs,
    );
    println!(
        "  meanwhile the release journaled {journaled} events ({:.0}/s); {deployed} customers past pending",
        journaled as f64 / secs
    );
    if let Some(p) = probing {
        p.abort();
    }
    srv.close(protocol::Farewell {
        reason: protocol::ByeReason::Stopped,
        message: "bench over".into(),
    })
    .await;
    drop(handle.stop().await);
    fleet.shutdown().await;
}

/// Writes a journal of 1,000,000 events: a plan for 1,000 customers, then health
/// samples, as a long monitoring period produces.
fn million(dir: &Path) {
    let mut cfg = shipdeck::config::load_builtin().expect("config");
    cfg.customers = shipdeck::sim::synthetic_customers(1_000);
    let plan = ReleasePlan::build(
        &cfg,
        LABEL.parse().expect("v"),
        ReleaseType::Security,
        Selection::All,
        false,
    )
    .expect("plan");
    let t0 = Utc::now() - TimeDelta::days(3);
    let path = StateDir::at(dir).journal_path(LABEL);
    let (mut journal, _) = JournalWriter::<Event>::open(&path).expect("journal");
    journal
        .append(&engine::plan_event(plan, "alice", t0))
        .expect("plan");
    let mut at = t0;
    let mut batch = Vec::with_capacity(10_000);
    let mut n = 1;
    while n < 1_000_000 {
        at += TimeDelta::milliseconds(250);
        batch.push(Event {
            at,
            event: EventKind::HealthSampled {
                customer: CustomerId::new(format!("c-{:05}", n % 1_000 + 1)),
                outcome: ProbeOutcome::Up {
                    sample: HealthSample {
                        error_rate: Some(0.4),
                        latency_p95_ms: Some(120.0),
                    },
                },
            },
        });
        n += 1;
        if batch.len() == 10_000 || n == 1_000_000 {
            journal.append_batch(&batch).expect("append");
            batch.clear();
        }
    }
}

async fn first_frame() {
    let dir = tempfile::tempdir().expect("dir");
    let started = Instant::now();
    million(dir.path());
    println!(
        "wrote a 1,000,000-event journal in {:.1} s ({} MB)",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(StateDir::at(dir.path()).journal_path(LABEL))
            .map(|m| m.len() / 1_000_000)
            .unwrap_or(0)
    );
    let cfg = shipdeck::config::load_builtin().expect("config");
    let opened = Instant::now();
    let handle = driver::open(
        RuntimeOptions {
            state_dir: StateDir::at(dir.path()),
            clock: Clock::System,
            wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
        },
        LABEL,
        None,
        "alice",
    )
    .expect("open");
    println!(
        "the serving process opened it (replay) in {:.2} s",
        opened.elapsed().as_secs_f64()
    );
    let srv = serve(dir.path(), &handle).await;
    let sock = endpoint::socket_path(&StateDir::at(dir.path()), LABEL).expect("socket");
    for run in 1..=3 {
        let t = Instant::now();
        let attached = remote::attach(AttachOptions {
            socket: sock.clone(),
            hello: Hello {
                protocol: PROTOCOL_VERSION,
                operator: None,
                readonly: true,
                client: ClientKind::Cockpit,
            },
            journal: None,
        })
        .await
        .expect("attach");
        let took = t.elapsed();
        println!(
            "attach → first frame ready (handshake, read + fold {} events), run {run}: {:.2} s",
            attached.replayed,
            took.as_secs_f64()
        );
        attached.detach().await;
    }
    if let Some(bin) = std::env::var_os("SHIPDECK_BIN") {
        binary_first_frame(Path::new(&bin), dir.path());
    }
    srv.close(protocol::Farewell {
        reason: protocol::ByeReason::Stopped,
        message: "bench over".into(),
    })
    .await;
    drop(handle.stop().await);
}

/// `shipdeck attach` in a tmux pane: from starting it to its first frame on screen.
fn binary_first_frame(bin: &Path, state: &Path) {
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .args(["-L", "shipdeck-attach-bench"])
            .args(args)
            .output()
    };
    let cmd = format!(
        "{} --state-dir {} attach --readonly",
        bin.display(),
        state.display()
    );
    let t = Instant::now();
    if tmux(&[
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-x",
        "120",
        "-y",
        "40",
        "-s",
        "m",
        &cmd,
    ])
    .is_err()
    {
        println!("(tmux not available: binary measurement skipped)");
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", "m"])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if screen.contains("Decision log") {
            println!(
                "`shipdeck attach` → first frame on screen (tmux, polled every 10 ms): {:.2} s",
                t.elapsed().as_secs_f64()
            );
            break;
        }
        if Instant::now() > deadline {
            println!("`shipdeck attach` drew nothing in 60 s:\n{screen}");
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = tmux(&["kill-server"]);
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters like criterion's.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wants = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    let secs = env_num("ATTACH_SECS", 20.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if wants("idle") {
            idle(secs).await;
        }
        if wants("rollout") {
            rollout(secs).await;
        }
        if wants("first_frame") {
            first_frame().await;
        }
    });
}
