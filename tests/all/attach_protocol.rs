//! The attach protocol over a real Unix socket: a release run by the driver and
//! served by `runtime::server`, clients that are the real remote link or raw frames.
//!
//! Real sockets need real time: every wait polls with a bound and the assertions
//! are about order and content, never speed. The release runs on a scaled clock so
//! that release time passes quickly without any test sleeping on the wall clock.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use shipdeck::config;
use shipdeck::domain::ProbeOutcome;
use shipdeck::domain::ReleaseType;
use shipdeck::engine::{Command, EffectResult, Event, EventKind, ReleasePlan, Selection};
use shipdeck::protocol::{
    self, ByeReason, ClientKind, ClientMsg, Hello, MAX_CLIENT_FRAME, MAX_SERVER_FRAME, Outcome,
    PROTOCOL_VERSION, ServerMsg, ServingKind,
};
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::driver::{self, ReleaseHandle, RuntimeOptions, SendError};
use shipdeck::runtime::endpoint;
use shipdeck::runtime::journal;
use shipdeck::runtime::remote::{self, AttachError, AttachOptions};
use shipdeck::runtime::server::{self, Server, ServerOptions};
use shipdeck::runtime::state_dir::StateDir;
use tokio::net::UnixStream;
use tokio_util::bytes::Bytes;
use tokio_util::codec::{FramedRead, FramedWrite};

const LABEL: &str = "v1.0.1";
/// Bound for waits on sockets and the release: only reached when failing.
const BOUND: Duration = Duration::from_secs(20);

fn open(dir: &Path, speed: f64) -> ReleaseHandle {
    let cfg = config::load_builtin().expect("config");
    let plan = ReleasePlan::build(
        &cfg,
        LABEL.parse().expect("v"),
        ReleaseType::BugFix,
        Selection::All,
        false,
    )
    .expect("plan");
    let opts = RuntimeOptions {
        state_dir: StateDir::at(dir),
        clock: Clock::scaled(Utc::now(), speed),
        wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
    };
    driver::open(opts, LABEL, Some(plan), "alice").expect("open")
}

async fn serve(dir: &Path, handle: &ReleaseHandle) -> Server {
    let sd = StateDir::at(dir);
    server::serve(
        handle.link().clone(),
        ServerOptions {
            place: endpoint::socket_place(&sd, LABEL).expect("place"),
            label: LABEL.into(),
            journal: sd.journal_path(LABEL),
            kind: ServingKind::Cockpit,
            operator: "alice".into(),
            group: None,
        },
    )
    .await
    .expect("serve")
}

fn socket(dir: &Path) -> std::path::PathBuf {
    endpoint::socket_path(&StateDir::at(dir), LABEL).expect("socket path")
}

fn hello(operator: Option<&str>, readonly: bool) -> Hello {
    Hello {
        protocol: PROTOCOL_VERSION,
        operator: operator.map(String::from),
        readonly,
        client: ClientKind::Cockpit,
    }
}

type RawReader =
    FramedRead<tokio::net::unix::OwnedReadHalf, tokio_util::codec::LengthDelimitedCodec>;
type RawWriter =
    FramedWrite<tokio::net::unix::OwnedWriteHalf, tokio_util::codec::LengthDelimitedCodec>;

async fn raw(dir: &Path) -> (RawReader, RawWriter) {
    let stream = UnixStream::connect(socket(dir)).await.expect("connect");
    let (r, w) = stream.into_split();
    (
        FramedRead::new(r, server::codec(MAX_SERVER_FRAME)),
        FramedWrite::new(w, server::codec(MAX_CLIENT_FRAME)),
    )
}

async fn next_msg(r: &mut RawReader) -> Option<ServerMsg> {
    let frame = tokio::time::timeout(BOUND, r.next())
        .await
        .expect("a frame in time")?;
    Some(protocol::decode_server(&frame.expect("frame")).expect("decodes"))
}

/// Reads frames until a `bye`, which it returns (other frames are skipped).
async fn until_bye(r: &mut RawReader) -> protocol::Farewell {
    loop {
        match next_msg(r).await {
            Some(ServerMsg::Bye(f)) => return f,
            Some(_) => {}
            None => panic!("closed without a bye"),
        }
    }
}

/// After a bye, the server closes: the stream ends.
async fn closed(r: &mut RawReader) {
    loop {
        match tokio::time::timeout(BOUND, r.next())
            .await
            .expect("closed in time")
        {
            None | Some(Err(_)) => return,
            Some(Ok(_)) => {}
        }
    }
}

async fn send(w: &mut RawWriter, msg: &ClientMsg) {
    w.send(Bytes::from(protocol::encode(msg)))
        .await
        .expect("send");
}

fn journal_events(dir: &Path) -> Vec<Event> {
    journal::read_all::<Event>(&StateDir::at(dir).journal_path(LABEL))
        .expect("journal")
        .into_events()
        .collect()
}

/// Polls `done` (yielding to the runtime) until it holds, within [`BOUND`].
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + BOUND;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_is_private_and_a_command_is_journaled_with_the_peer_uid() {
    let dir = tempfile::tempdir().expect("dir");
    let handle = open(dir.path(), 60.0);
    let srv = serve(dir.path(), &handle).await;
    let mode = std::fs::metadata(socket(dir.path()))
        .expect("socket")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "socket mode {mode:o}");

    let (mut r, mut w) = raw(dir.path()).await;
    send(&mut w, &ClientMsg::Hello(hello(None, false))).await;
    let Some(ServerMsg::Welcome(welcome)) = next_msg(&mut r).await else {
        panic!("no welcome")
    };
    assert_eq!(welcome.release, LABEL);
    assert_eq!(welcome.protocol, PROTOCOL_VERSION);
    assert_eq!(welcome.you.uid, endpoint::current_uid());
    assert_eq!(welcome.serving.pid, std::process::id());
    send(
        &mut w,
        &ClientMsg::Command {
            id: 7,
            command: Command::Pause {
                reason: "from another terminal".into(),
            },
        },
    )
    .await;
    let verdict = loop {
        match next_msg(&mut r).await {
            Some(ServerMsg::Verdict { id, outcome }) => break (id, outcome),
            Some(_) => {}
            None => panic!("closed before the verdict"),
        }
    };
    assert_eq!(verdict, (7, Outcome::Accepted));
    let events = journal_events(dir.path());
    let acted = events
        .iter()
        .position(|e| matches!(&e.event, EventKind::ActedFrom { .. }))
        .expect("the origin is journaled");
    match &events[acted].event {
        EventKind::ActedFrom { uid, user, via, .. } => {
            assert_eq!(
                *uid,
                endpoint::current_uid(),
                "the kernel's uid for the peer"
            );
            assert_eq!(*user, endpoint::user_name(endpoint::current_uid()));
            assert_eq!(via, "attach");
        }
        _ => unreachable!(),
    }
    assert!(
        matches!(&events[acted + 1].event, EventKind::Paused { reason, .. } if reason == "from another terminal"),
        "the origin comes right before the action: {:?}",
        events[acted + 1]
    );
    send(&mut w, &ClientMsg::Bye).await;
    srv.close(protocol::Farewell {
        reason: ByeReason::Stopped,
        message: "test over".into(),
    })
    .await;
    assert!(!socket(dir.path()).exists(), "the socket is removed");
    drop(handle.stop().await.expect("stop"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_oversized_and_newer_clients_are_refused_and_the_server_goes_on() {
    let dir = tempfile::tempdir().expect("dir");
    let handle = open(dir.path(), 60.0);
    let srv = serve(dir.path(), &handle).await;

    // Garbage as the first frame.
    let (mut r, mut w) = raw(dir.path()).await;
    w.send(Bytes::from_static(b"\x00\xff{not json"))
        .await
        .expect("send");
    let bye = until_bye(&mut r).await;
    assert_eq!(bye.reason, ByeReason::BadFrame);
    assert!(bye.message.contains("not JSON"), "{}", bye.message);
    closed(&mut r).await;

    // Garbage after a good hello.
    let (mut r, mut w) = raw(dir.path()).await;
    send(&mut w, &ClientMsg::Hello(hello(None, false))).await;
    assert!(matches!(
        next_msg(&mut r).await,
        Some(ServerMsg::Welcome(_))
    ));
    w.send(Bytes::from_static(br#"{"type":"launch"}"#))
        .await
        .expect("send");
    let bye = until_bye(&mut r).await;
    assert_eq!(bye.reason, ByeReason::BadFrame);
    closed(&mut r).await;

    // An oversized frame: a length prefix past the limit, raw on the socket.
    let mut stream = UnixStream::connect(socket(dir.path()))
        .await
        .expect("connect");
    {
        use tokio::io::AsyncWriteExt;
        let mut bytes = (MAX_CLIENT_FRAME as u32 + 1).to_be_bytes().to_vec();
        bytes.extend_from_slice(&[b'x'; 1024]);
        // The server may close as soon as it has read the length: a write that
        // then finds the socket closed is the point, not a failure.
        let _ = stream.write_all(&bytes).await;
    }
    let (rd, _wr) = stream.into_split();
    let mut r = FramedRead::new(rd, server::codec(MAX_SERVER_FRAME));
    let bye = until_bye(&mut r).await;
    assert_eq!(bye.reason, ByeReason::BadFrame);
    assert!(
        bye.message.contains("frame size too big"),
        "{}",
        bye.message
    );

    // A newer protocol: refused, naming both versions.
    let (mut r, mut w) = raw(dir.path()).await;
    w.send(Bytes::from_static(
        br#"{"type":"hello","protocol":99,"something_new":[1,2]}"#,
    ))
    .await
    .expect("send");
    let bye = until_bye(&mut r).await;
    assert_eq!(bye.reason, ByeReason::VersionTooNew);
    assert!(
        bye.message.contains("protocol 99") && bye.message.contains(&PROTOCOL_VERSION.to_string()),
        "{}",
        bye.message
    );

    // Random frames (a fixed seed), first and after a hello: each connection is
    // closed with a reason or refused; nothing panics, the server goes on.
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as u32
    };
    for round in 0..40 {
        let (mut r, mut w) = raw(dir.path()).await;
        if round % 2 == 1 {
            send(&mut w, &ClientMsg::Hello(hello(None, false))).await;
            assert!(matches!(
                next_msg(&mut r).await,
                Some(ServerMsg::Welcome(_))
            ));
        }
        let len = (next() % 300) as usize;
        let payload: Vec<u8> = (0..len).map(|_| (next() % 256) as u8).collect();
        w.send(Bytes::from(payload)).await.expect("send");
        let bye = until_bye(&mut r).await;
        assert_eq!(
            bye.reason,
            ByeReason::BadFrame,
            "round {round}: {}",
            bye.message
        );
    }

    // A client that dies mid-frame costs nothing.
    {
        use tokio::io::AsyncWriteExt;
        let mut s = UnixStream::connect(socket(dir.path()))
            .await
            .expect("connect");
        s.write_all(&[0, 0, 0, 50, b'{']).await.expect("write");
    }

    // And the server still serves: the remote link attaches and acts.
    let attached = remote::attach(AttachOptions {
        socket: socket(dir.path()),
        hello: hello(None, false),
        journal: None,
    })
    .await
    .expect("attach");
    // Text with an escape sequence in it is refused, not journaled.
    let refused = attached
        .link()
        .send(
            "ignored",
            Command::Pause {
                reason: "x\u{1b}[2J".into(),
            },
        )
        .await;
    assert!(
        matches!(&refused, Err(SendError::Rejected(r)) if r.code() == "control_character"),
        "{refused:?}"
    );
    attached
        .link()
        .send(
            "ignored",
            Command::Pause {
                reason: "still here".into(),
            },
        )
        .await
        .expect("accepted");
    attached.detach().await;
    srv.close(protocol::Farewell {
        reason: ByeReason::Stopped,
        message: "test over".into(),
    })
    .await;
    drop(handle.stop().await.expect("stop"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_is_enforced_by_the_server_and_as_needs_the_roster() {
    let dir = tempfile::tempdir().expect("dir");
    let handle = open(dir.path(), 60.0);
    let srv = serve(dir.path(), &handle).await;
    let before = journal_events(dir.path()).len();

    // A read-only client that sends commands anyway (its own UI would not).
    let (mut r, mut w) = raw(dir.path()).await;
    send(&mut w, &ClientMsg::Hello(hello(None, true))).await;
    assert!(matches!(next_msg(&mut r).await, Some(ServerMsg::Welcome(w)) if w.you.readonly));
    for (id, command) in [
        Command::Pause { reason: "x".into() },
        Command::Approve {
            wave: None,
            role: None,
        },
        Command::Abort { reason: "x".into() },
    ]
    .into_iter()
    .enumerate()
    {
        send(
            &mut w,
            &ClientMsg::Command {
                id: id as u64,
                command,
            },
        )
        .await;
        let outcome = loop {
            if let Some(ServerMsg::Verdict { outcome, .. }) = next_msg(&mut r).await {
                break outcome;
            }
        };
        assert!(
            matches!(&outcome, Outcome::Refused(r) if r.code == server::READ_ONLY_CODE),
            "{outcome:?}"
        );
    }
    assert_eq!(
        journal_events(dir.path()).len(),
        before,
        "nothing journaled"
    );

    // The remote link relays the server's refusal as the engine's words.
    let ro = remote::attach(AttachOptions {
        socket: socket(dir.path()),
        hello: hello(None, true),
        journal: None,
    })
    .await
    .expect("attach");
    let refused = ro
        .link()
        .send("ignored", Command::Pause { reason: "x".into() })
        .await;
    assert!(
        matches!(&refused, Err(SendError::Rejected(r)) if r.code() == server::READ_ONLY_CODE && r.to_string().contains("read-only")),
        "{refused:?}"
    );
    ro.detach().await;

    // --as someone the roster does not map to this OS user: refused with the fix.
    let err = remote::attach(AttachOptions {
        socket: socket(dir.path()),
        hello: hello(Some("bob"), false),
        journal: None,
    })
    .await
    .err()
    .expect("refused");
    match err {
        AttachError::Refused(f) => {
            assert_eq!(f.reason, ByeReason::Refused);
            assert!(f.message.contains("--as bob refused"), "{}", f.message);
            assert!(f.message.contains("os_users"), "{}", f.message);
        }
        other => panic!("expected a refusal, got {other}"),
    }
    srv.close(protocol::Farewell {
        reason: ByeReason::Stopped,
        message: "test over".into(),
    })
    .await;
    drop(handle.stop().await.expect("stop"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_serving_loop_ends_attached_clients_are_told_why() {
    let dir = tempfile::tempdir().expect("dir");
    let handle = open(dir.path(), 60.0);
    let srv = serve(dir.path(), &handle).await;
    let attached = remote::attach(AttachOptions {
        socket: socket(dir.path()),
        hello: hello(None, false),
        journal: None,
    })
    .await
    .expect("attach");
    let mut session = attached.link().session();
    let mut snaps = attached.link().snapshots();
    srv.farewell_on_end(protocol::Farewell {
        reason: ByeReason::Stopped,
        message: "alice stopped it in her cockpit".into(),
    });
    drop(handle.stop().await.expect("stop"));
    tokio::time::timeout(BOUND, async {
        loop {
            if session.borrow_and_update().ended.is_some() {
                break;
            }
            session.changed().await.expect("session");
        }
    })
    .await
    .expect("told in time");
    let ended = session.borrow().ended.clone().expect("ended");
    assert_eq!(ended.reason, ByeReason::Stopped);
    assert_eq!(ended.message, "alice stopped it in her cockpit");
    // The link's snapshots end too: the cockpit sees the release is gone.
    tokio::time::timeout(BOUND, async { while snaps.changed().await.is_ok() {} })
        .await
        .expect("snapshots closed");
    srv.closed().await;
    assert!(!socket(dir.path()).exists());
}

/// A client that stops reading while the release moves on: the release is never
/// held up (every command is decided while the client reads nothing), and when
/// the client reads again it catches up from the journal to exactly the live state.
#[test]
fn a_client_that_stops_reading_catches_up_to_the_exact_live_state() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().to_path_buf();
    // The release and its server on one runtime...
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    // 1,000 release seconds a second: 30 s of release time pass in 30 ms.
    let (handle, srv) = server_rt.block_on(async {
        let handle = open(&path, 1000.0);
        let srv = serve(&path, &handle).await;
        (handle, srv)
    });
    let link = handle.link().clone();
    // ...the client on another, whose only thread the test can freeze.
    let (to_client, frozen) = std::sync::mpsc::channel::<()>();
    let (attached_tx, attached_rx) = std::sync::mpsc::channel();
    let client_path = path.clone();
    let client = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let attached = remote::attach(AttachOptions {
                socket: socket(&client_path),
                hello: hello(None, false),
                journal: None,
            })
            .await
            .expect("attach");
            attached_tx
                .send(attached.link().clone())
                .expect("send link");
            // Frozen: this thread blocks, so the bridge reads nothing.
            frozen.recv().expect("unfreeze");
            // Read again, and keep the link alive until the test is done.
            let snaps = attached.link().snapshots();
            tokio::time::timeout(BOUND, async {
                let mut snaps = snaps;
                loop {
                    let done = snaps.borrow_and_update().next_seq;
                    if done >= link_target(&client_path) {
                        break;
                    }
                    if snaps.changed().await.is_err() {
                        break;
                    }
                }
            })
            .await
            .expect("caught up in time");
            let snap = attached.link().snapshot();
            let catch_ups = attached.catch_ups();
            attached.detach().await;
            (snap, catch_ups)
        })
    });
    let client_link = attached_rx.recv_timeout(BOUND).expect("attached");
    let start = client_link.snapshot();
    // While the client reads nothing: 30 s of release time, and 10,000 events
    // (probe results on customers without a baseline each journal a sample).
    server_rt.block_on(async {
        let t0 = link.clock().now();
        let started = Instant::now();
        let from = link.snapshot().next_seq;
        let customers: Vec<_> = link
            .snapshot()
            .state
            .customers
            .iter()
            .map(|c| c.id.clone())
            .collect();
        for i in 0..10_000 {
            handle
                .results
                .send(EffectResult::Probed {
                    customer: customers[i % customers.len()].clone(),
                    outcome: ProbeOutcome::Inconclusive {
                        reason: format!("no traffic {i}"),
                    },
                })
                .expect("result");
        }
        eventually("10,000 events journaled", || {
            link.snapshot().next_seq >= from + 10_000
        })
        .await;
        // A command is decided at once, however far behind the client is.
        link.send(
            "alice",
            Command::Pause {
                reason: "while a client sleeps".into(),
            },
        )
        .await
        .expect("pause");
        eventually("30 s of release time", || {
            link.clock().now() - t0 >= chrono::TimeDelta::seconds(30)
        })
        .await;
        eprintln!(
            "10,000 events and a command while a client read nothing: {:.0?}",
            started.elapsed()
        );
    });
    let live = handle.snapshot();
    std::fs::write(path.join("target_seq"), live.next_seq.to_string()).expect("target");
    to_client.send(()).expect("unfreeze");
    let (seen, catch_ups) = client.join().expect("client");
    assert!(start.next_seq < live.next_seq);
    assert_eq!(seen.next_seq, live.next_seq, "every event, none twice");
    assert_eq!(
        serde_json::to_value(&*seen.state).expect("json"),
        serde_json::to_value(&*live.state).expect("json"),
        "the client's state is exactly the live one"
    );
    assert!(
        catch_ups > 0,
        "the client fell behind and read the gap from the journal"
    );
    server_rt.block_on(async {
        srv.close(protocol::Farewell {
            reason: ByeReason::Stopped,
            message: "test over".into(),
        })
        .await;
        drop(handle.stop().await.expect("stop"));
    });
}

/// Where the live release stood when the client was unfrozen (written by the test).
fn link_target(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("target_seq"))
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX)
}

/// A release whose roster maps this test's OS user to alice (captain), bob (a
/// second captain) and carol (product owner).
fn open_with_roster(dir: &Path) -> ReleaseHandle {
    let mut cfg = config::load_builtin().expect("config");
    let me = endpoint::user_name(endpoint::current_uid());
    for p in &mut cfg.roster.people {
        p.os_users = vec![me.clone()];
        if p.name == "bob" {
            p.roles.push(shipdeck::domain::Role::new("release_captain"));
        }
    }
    let plan = ReleasePlan::build(
        &cfg,
        LABEL.parse().expect("v"),
        ReleaseType::BugFix,
        Selection::All,
        false,
    )
    .expect("plan");
    let opts = RuntimeOptions {
        state_dir: StateDir::at(dir),
        clock: Clock::scaled(Utc::now(), 60.0),
        wiring: shipdeck::cli::wiring::CliWiring::shared(&cfg.customers, None),
    };
    driver::open(opts, LABEL, Some(plan), "alice").expect("open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captain_takes_over_and_everyone_sees_who() {
    let dir = tempfile::tempdir().expect("dir");
    let handle = open_with_roster(dir.path());
    let srv = serve(dir.path(), &handle).await;
    assert_eq!(handle.snapshot().state.captain, "alice");
    let attach = |who: &'static str| {
        let socket = socket(dir.path());
        async move {
            remote::attach(AttachOptions {
                socket,
                hello: hello(Some(who), false),
                journal: None,
            })
            .await
            .expect("attach")
        }
    };
    let carol = attach("carol").await;
    let refused = carol.link().send("carol", Command::TakeOver).await;
    assert!(
        matches!(&refused, Err(SendError::Rejected(r)) if r.code() == "not_captain_role"),
        "{refused:?}"
    );
    let bob = attach("bob").await;
    // Presence: the host, carol and bob, as every client sees it.
    let mut session = carol.link().session();
    tokio::time::timeout(BOUND, async {
        while session.borrow_and_update().peers.len() < 3 {
            session.changed().await.expect("session");
        }
    })
    .await
    .expect("presence in time");
    let names: Vec<String> = session
        .borrow()
        .peers
        .iter()
        .map(|p| p.name.clone())
        .collect();
    assert_eq!(names, ["alice", "carol", "bob"]);
    bob.link()
        .send("bob", Command::TakeOver)
        .await
        .expect("take over");
    assert_eq!(handle.snapshot().state.captain, "bob");
    // carol's cockpit folds the same event: the same captain.
    let mut snaps = carol.link().snapshots();
    tokio::time::timeout(BOUND, async {
        while snaps.borrow_and_update().state.captain != "bob" {
            snaps.changed().await.expect("snapshots");
        }
    })
    .await
    .expect("carol sees the new captain");
    let events = journal_events(dir.path());
    let n = events.len();
    assert!(
        matches!(&events[n - 1].event, EventKind::CaptainChanged { from, to } if from == "alice" && to == "bob"),
        "{:?}",
        events[n - 1]
    );
    assert!(matches!(&events[n - 2].event, EventKind::ActedFrom { actor, .. } if actor == "bob"));
    // bob's cockpit going away shows as a leave.
    bob.detach().await;
    tokio::time::timeout(BOUND, async {
        while session.borrow_and_update().peers.len() != 2 {
            session.changed().await.expect("session");
        }
    })
    .await
    .expect("bob left");
    carol.detach().await;
    srv.close(protocol::Farewell {
        reason: ByeReason::Stopped,
        message: "test over".into(),
    })
    .await;
    drop(handle.stop().await.expect("stop"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_dir_too_long_for_sun_path_serves_from_the_runtime_dir() {
    let base = tempfile::tempdir().expect("dir");
    let long = base.path().join(
        "a-state-dir-whose-path-is-longer-than-any-unix-socket-path-may-be-on-linux-or-macos",
    );
    let sd = StateDir::at(&long);
    assert!(sd.release_dir(LABEL).join("socket").as_os_str().len() > endpoint::SUN_PATH_MAX);
    let handle = open(&long, 60.0);
    let srv = serve(&long, &handle).await;
    let path = socket(&long);
    assert!(!path.starts_with(&long), "{}", path.display());
    assert!(path.as_os_str().len() <= endpoint::SUN_PATH_MAX);
    assert_eq!(
        std::fs::read_to_string(sd.release_dir(LABEL).join(endpoint::SOCKET_POINTER))
            .expect("pointer")
            .trim(),
        path.display().to_string()
    );
    let runtime = path.parent().expect("runtime dir");
    let mode = std::fs::metadata(runtime)
        .expect("dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "the runtime dir is private");
    let attached = remote::attach(AttachOptions {
        socket: path.clone(),
        hello: hello(None, false),
        journal: None,
    })
    .await
    .expect("attach through the runtime dir");
    attached.detach().await;
    srv.close(protocol::Farewell {
        reason: ByeReason::Stopped,
        message: "test over".into(),
    })
    .await;
    assert!(!path.exists());
    assert!(
        !sd.release_dir(LABEL)
            .join(endpoint::SOCKET_POINTER)
            .exists()
    );
    drop(handle.stop().await.expect("stop"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_group_gets_a_0660_socket() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("dir");
    let handle = open(dir.path(), 60.0);
    let sd = StateDir::at(dir.path());
    // SAFETY: getgid has no preconditions.
    let gid = unsafe { libc::getgid() };
    let srv = server::serve(
        handle.link().clone(),
        ServerOptions {
            place: endpoint::socket_place(&sd, LABEL).expect("place"),
            label: LABEL.into(),
            journal: sd.journal_path(LABEL),
            kind: ServingKind::Runner,
            operator: "alice".into(),
            group: Some(gid.to_string()),
        },
    )
    .await
    .expect("serve");
    let meta = std::fs::metadata(socket(dir.path())).expect("socket");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), gid);
    let missing = server::serve(
        handle.link().clone(),
        ServerOptions {
            place: endpoint::SocketPlace {
                path: dir.path().join("other.sock"),
                pointer: None,
            },
            label: LABEL.into(),
            journal: sd.journal_path(LABEL),
            kind: ServingKind::Runner,
            operator: "alice".into(),
            group: Some("no-such-group-shipdeck".into()),
        },
    )
    .await;
    assert!(
        matches!(&missing, Err(server::ServerError::NoSuchGroup(g)) if g == "no-such-group-shipdeck"),
        "{:?}",
        missing.err()
    );
    srv.close(protocol::Farewell {
        reason: ByeReason::Stopped,
        message: "test over".into(),
    })
    .await;
    drop(handle.stop().await.expect("stop"));
}
