//! The socket server of a running release: whatever process runs a release (the
//! cockpit, `deploy`, `demo`, a background runner) serves it here, and every other
//! face is a client (`shipdeck attach`, `approve` from another shell, …).
//!
//! Shaped after tmux's server and zellij's ipc: one listener, one task per client,
//! length-delimited frames of versioned JSON (see [`crate::protocol`]). The server
//! never owns the release: it holds a [`ReleaseLink`] like any face, forwards
//! commands with the peer's kernel-attested identity, and relays committed events.
//!
//! **A slow client never slows the release.** The driver's broadcast of committed
//! events is a bounded ring that never blocks its sender; a client task that cannot
//! write (its peer stopped reading) falls behind on that ring, skips what it missed
//! (`Lagged`), and goes on with the newest. Its peer sees the gap in sequence
//! numbers and re-reads the journal. What a client holds is bounded by the ring,
//! the frame writer's buffer and the kernel's socket buffer; nothing queues per
//! client without bound.
//!
//! **Access.** The socket is created 0600 (0660 with a configured group) under a
//! temporary name and renamed into place, so it is never reachable with looser
//! modes. Each connection's uid comes from the kernel (`SO_PEERCRED`); `--as NAME`
//! is honoured only when the roster maps that OS user to NAME; a read-only
//! connection has every command refused here, whatever its client does.
//!
//! **Failure.** A garbage, oversized or out-of-order frame closes that connection
//! (with a `bye` saying why, and a log line); a client that vanishes costs its
//! task. When the release's loop ends, every client gets a `bye` with the reason.

use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::FuturesUnordered;
use futures_util::{SinkExt, StreamExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::bytes::Bytes;
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::endpoint::{self, SocketPlace};
use super::link::{Origin, ReleaseLink, SendError, Session};
use crate::engine::rejected::Refusal;
use crate::protocol::{
    self, ByeReason, ClientKind, ClientMsg, Farewell, MAX_CLIENT_FRAME, MAX_SERVER_FRAME, Outcome,
    PROTOCOL_VERSION, Peer, ServerMsg, Serving, ServingKind, Welcome,
};

/// A client must say hello within this (real) time, or its connection is closed.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// How often each client gets the release clock.
pub const CLOCK_EVERY: Duration = Duration::from_secs(1);
/// How long a goodbye may take to write to a client that does not read.
const BYE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long closing waits for client tasks to finish.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The code of the refusal a read-only connection gets for every command.
pub const READ_ONLY_CODE: &str = "read_only";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot place the release's socket: {0}")]
    Place(io::Error),
    #[error("cannot serve the release on {path}: {source}")]
    Bind { path: PathBuf, source: io::Error },
    #[error("socket group `{0}` does not exist")]
    NoSuchGroup(String),
}

/// What the server needs to know besides the link.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub place: SocketPlace,
    pub label: String,
    pub journal: PathBuf,
    pub kind: ServingKind,
    /// The operator of this process: present, and the host of the session.
    pub operator: String,
    /// A group whose members may connect too (socket mode 0660).
    pub group: Option<String>,
}

/// A running server. Dropping it stops nothing: call [`Server::close`].
pub struct Server {
    shared: Arc<Shared>,
    session: watch::Receiver<Session>,
    task: JoinHandle<()>,
    path: PathBuf,
}

impl Server {
    /// Who is here: the host and every attached cockpit.
    pub fn session(&self) -> watch::Receiver<Session> {
        self.session.clone()
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What clients are told when the release's loop ends (else a plain "ended"
    /// or "stopped" from the last state).
    pub fn farewell_on_end(&self, farewell: Farewell) {
        if let Ok(mut f) = self.shared.farewell.lock() {
            *f = Some(farewell);
        }
    }

    /// Says `farewell` to every client, stops listening, removes the socket, and
    /// waits (bounded) for the client tasks.
    pub async fn close(self, farewell: Farewell) {
        self.farewell_on_end(farewell);
        self.shared.closing.cancel();
        let _ = self.task.await;
    }

    /// Waits until the server has stopped on its own (the release's loop ended).
    pub async fn closed(self) {
        let _ = self.task.await;
    }
}

struct Shared {
    link: ReleaseLink,
    label: String,
    journal: String,
    serving: Serving,
    session: watch::Sender<Session>,
    closing: CancellationToken,
    farewell: Mutex<Option<Farewell>>,
    next_id: AtomicU64,
}

impl Shared {
    fn farewell(&self) -> Farewell {
        self.farewell
            .lock()
            .ok()
            .and_then(|f| f.clone())
            .unwrap_or_else(|| ended_farewell(&self.link, &self.label, &self.serving))
    }

    fn join(&self, peer: Peer) {
        tracing::info!(name = %peer.name, uid = peer.uid, readonly = peer.readonly, "joined");
        self.session.send_modify(|s| s.peers.push(peer));
    }

    fn leave(&self, id: u64) {
        self.session.send_modify(|s| {
            if let Some(i) = s.peers.iter().position(|p| p.id == id) {
                let p = s.peers.remove(i);
                tracing::info!(name = %p.name, uid = p.uid, "left");
            }
        });
    }
}

/// What clients hear when the loop ended without its owner saying why.
fn ended_farewell(link: &ReleaseLink, label: &str, serving: &Serving) -> Farewell {
    let state = link.snapshot().state;
    if state.phase.is_final() {
        Farewell {
            reason: ByeReason::Ended,
            message: format!("release {label} {}", state.phase.as_str()),
        }
    } else {
        Farewell {
            reason: ByeReason::Stopped,
            message: format!(
                "{} running {label} stopped (pid {}); resume it with `shipdeck start --resume --detach --version {label}`",
                serving.kind.as_str(),
                serving.pid
            ),
        }
    }
}

/// The frame codec: 4-byte big-endian length, then the payload, at most `max`.
pub fn codec(max: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(max)
        .new_codec()
}

/// Binds the release's socket and serves it until the release's loop ends or
/// [`Server::close`].
pub async fn serve(link: ReleaseLink, opts: ServerOptions) -> Result<Server, ServerError> {
    let gid = match &opts.group {
        Some(g) => Some(group_id(g).ok_or_else(|| ServerError::NoSuchGroup(g.clone()))?),
        None => None,
    };
    let listener = bind(&opts.place, gid)?;
    let path = opts.place.path.clone();
    let bound_ino = std::fs::metadata(&path).map(|m| m.ino()).ok();
    let uid = endpoint::current_uid();
    let host_peer = Peer {
        id: 0,
        name: opts.operator.clone(),
        user: endpoint::user_name(uid),
        uid,
        readonly: false,
        host: true,
    };
    let (session_tx, session_rx) = watch::channel(Session {
        peers: vec![host_peer],
        ended: None,
        moving: false,
    });
    let shared = Arc::new(Shared {
        link,
        label: opts.label.clone(),
        journal: opts.journal.display().to_string(),
        serving: Serving {
            pid: std::process::id(),
            host: super::lock::hostname(),
            kind: opts.kind,
            operator: opts.operator.clone(),
        },
        session: session_tx,
        closing: CancellationToken::new(),
        farewell: Mutex::new(None),
        next_id: AtomicU64::new(1),
    });
    tracing::info!(path = %path.display(), release = %opts.label, "serving the release");
    let task = tokio::spawn(accept_loop(
        listener,
        shared.clone(),
        opts.place.clone(),
        bound_ino,
    ));
    Ok(Server {
        shared,
        session: session_rx,
        task,
        path,
    })
}

async fn accept_loop(
    listener: UnixListener,
    shared: Arc<Shared>,
    place: SocketPlace,
    bound_ino: Option<u64>,
) {
    let tracker = TaskTracker::new();
    let mut snaps = shared.link.snapshots();
    loop {
        tokio::select! {
            biased;
            _ = shared.closing.cancelled() => break,
            changed = snaps.changed() => {
                if changed.is_err() {
                    // The release's loop ended: say goodbye to everyone.
                    shared.closing.cancel();
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    tracker.spawn(async move { connection(stream, shared).await });
                }
                Err(e) => {
                    // Out of descriptors, typically: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a client failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    unlink_if_ours(&place.path, bound_ino);
    if let Some(pointer) = &place.pointer {
        let _ = std::fs::remove_file(pointer);
    }
    tracker.close();
    if tokio::time::timeout(CLOSE_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("some clients did not take their goodbye in time");
    }
    tracing::info!(release = %shared.label, "stopped serving the release");
}

/// Removes the socket file unless another server has bound that name since.
fn unlink_if_ours(path: &Path, ino: Option<u64>) {
    let current = std::fs::symlink_metadata(path).map(|m| m.ino()).ok();
    if current.is_some() && current == ino {
        let _ = std::fs::remove_file(path);
    }
}

/// Binds under a temporary name, sets the mode (and group), then renames into
/// place: the socket is never reachable with looser permissions. A socket left by
/// a process that died is replaced: whoever binds holds the release's lock.
fn bind(place: &SocketPlace, gid: Option<u32>) -> Result<UnixListener, ServerError> {
    let path = &place.path;
    let err = |source: io::Error| ServerError::Bind {
        path: path.clone(),
        source,
    };
    let dir = super::state_dir::parent_or_dot(path);
    super::state_dir::create_dir_all_durable(dir).map_err(err)?;
    let tmp = temp_sibling(path);
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp).map_err(err)?;
    let set_mode = || -> io::Result<()> {
        if let Some(gid) = gid {
            std::os::unix::fs::chown(&tmp, None, Some(gid))?;
        }
        let mode = if gid.is_some() { 0o660 } else { 0o600 };
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = set_mode() {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    if let Some(pointer) = &place.pointer {
        write_pointer(pointer, path).map_err(|source| ServerError::Bind {
            path: pointer.clone(),
            source,
        })?;
    }
    Ok(listener)
}

/// A name in the same directory, no longer than `path`'s, for binding before the
/// rename (so it fits `sun_path` whenever `path` does).
fn temp_sibling(path: &Path) -> PathBuf {
    let name_len = path.file_name().map_or(6, |n| n.len()).max(2);
    let tag = format!("{:x}", std::process::id());
    let mut name = format!(".{tag}");
    while name.len() < name_len {
        name.push('t');
    }
    name.truncate(name_len);
    path.with_file_name(name)
}

fn write_pointer(pointer: &Path, target: &Path) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = pointer.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(format!("{}\n", target.display()).as_bytes())?;
    f.sync_data()?;
    std::fs::rename(&tmp, pointer)
}

/// The gid of group `name`, from the group database.
fn group_id(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return Some(n);
    }
    let cname = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut grp = std::mem::MaybeUninit::<libc::group>::uninit();
    let mut result: *mut libc::group = std::ptr::null_mut();
    // SAFETY: getgrnam_r writes into `grp` and `buf` (of the length given) and sets
    // `result`; we read `grp` only when it reports success.
    let rc = unsafe {
        libc::getgrnam_r(
            cname.as_ptr(),
            grp.as_mut_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: success: `grp` is initialised.
    Some(unsafe { (*result).gr_gid })
}

/// One client's writing end, which gives up when the server closes.
struct Writer {
    frames: FramedWrite<OwnedWriteHalf, LengthDelimitedCodec>,
    closing: CancellationToken,
    /// Bytes written, for the log line when the client leaves.
    sent: u64,
}

impl Writer {
    /// Writes one frame; false when the client is gone or the server closes.
    async fn send(&mut self, payload: Vec<u8>) -> bool {
        if payload.len() > MAX_SERVER_FRAME {
            // Too big for a frame: not sent. The client sees the gap in sequence
            // numbers and reads it from the journal.
            tracing::warn!(bytes = payload.len(), "a frame too big to send was skipped");
            return true;
        }
        let n = payload.len() as u64 + 4;
        tokio::select! {
            biased;
            _ = self.closing.cancelled() => false,
            r = self.frames.send(Bytes::from(payload)) => {
                self.sent += n;
                r.is_ok()
            }
        }
    }

    /// The last frame: bounded, even towards a client that does not read.
    async fn bye(&mut self, farewell: Farewell) {
        let bytes = Bytes::from(protocol::encode(&ServerMsg::Bye(farewell)));
        let _ = tokio::time::timeout(BYE_TIMEOUT, self.frames.send(bytes)).await;
    }
}

async fn connection(stream: UnixStream, shared: Arc<Shared>) {
    let (uid, pid) = match stream.peer_cred() {
        Ok(c) => (c.uid(), c.pid()),
        Err(e) => {
            tracing::warn!(error = %e, "a client's credentials could not be read; closing");
            return;
        }
    };
    let user = endpoint::user_name(uid);
    let (rd, wr) = stream.into_split();
    let mut reader = FramedRead::new(rd, codec(MAX_CLIENT_FRAME));
    let mut writer = Writer {
        frames: FramedWrite::new(wr, codec(MAX_SERVER_FRAME)),
        closing: shared.closing.clone(),
        sent: 0,
    };
    let refuse = |reason, message: String| Farewell { reason, message };
    let hello = tokio::select! {
        _ = shared.closing.cancelled() => {
            writer.bye(shared.farewell()).await;
            return;
        }
        first = tokio::time::timeout(HELLO_TIMEOUT, reader.next()) => first,
    };
    let hello = match hello {
        Err(_) => {
            tracing::info!(uid, "closing a connection that never said hello");
            writer
                .bye(refuse(ByeReason::BadFrame, "no hello in time".into()))
                .await;
            return;
        }
        Ok(None) => return,
        Ok(Some(Err(e))) => {
            tracing::warn!(uid, ?pid, error = %e, "closing a connection: unreadable first frame");
            writer
                .bye(refuse(
                    ByeReason::BadFrame,
                    format!("unreadable frame: {e}"),
                ))
                .await;
            return;
        }
        Ok(Some(Ok(bytes))) => match protocol::decode_client(&bytes) {
            Ok(ClientMsg::Hello(h)) => h,
            Ok(_) => {
                tracing::warn!(uid, "closing a connection whose first frame is not hello");
                writer
                    .bye(refuse(
                        ByeReason::BadFrame,
                        "the first frame must be hello".into(),
                    ))
                    .await;
                return;
            }
            Err(e @ protocol::FrameError::NewerVersion { .. }) => {
                tracing::warn!(uid, error = %e, "refusing a client of a newer protocol");
                writer
                    .bye(refuse(ByeReason::VersionTooNew, e.to_string()))
                    .await;
                return;
            }
            Err(e) => {
                tracing::warn!(uid, error = %e, "closing a connection: bad hello");
                writer.bye(refuse(ByeReason::BadFrame, e.to_string())).await;
                return;
            }
        },
    };
    let roster = shared.link.snapshot().state.plan.roster.clone();
    let name = match endpoint::resolve_operator(&roster, hello.operator.as_deref(), &user, uid) {
        Ok(name) => name,
        Err(message) => {
            tracing::warn!(uid, %user, "refused: {message}");
            writer.bye(refuse(ByeReason::Refused, message)).await;
            return;
        }
    };
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let you = Peer {
        id,
        name: name.clone(),
        user: user.clone(),
        uid,
        readonly: hello.readonly,
        host: false,
    };
    // Subscribe before reading where the journal stands: every event after
    // `next_seq` then reaches this client, as a frame or in the journal it reads.
    let mut events = shared.link.subscribe();
    let snap = shared.link.snapshot();
    let welcome = ServerMsg::Welcome(Welcome {
        protocol: PROTOCOL_VERSION,
        release: shared.label.clone(),
        next_seq: snap.next_seq,
        now: shared.link.clock().now().max(snap.now),
        speed: shared.link.clock().speed(),
        journal: shared.journal.clone(),
        you: you.clone(),
        serving: shared.serving.clone(),
    });
    if !writer.send(protocol::encode(&welcome)).await {
        writer.bye(shared.farewell()).await;
        return;
    }
    let shown = hello.client == ClientKind::Cockpit;
    let via = match hello.client {
        ClientKind::Cockpit => "attach",
        ClientKind::Command => "command",
    };
    if shown {
        shared.join(you.clone());
    }
    let origin = Origin {
        uid,
        user: user.clone(),
        via: via.to_string(),
    };
    let mut session = shared.session.subscribe();
    session.mark_changed();
    let mut clock = tokio::time::interval(CLOCK_EVERY);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    clock.tick().await;
    let mut next_seq = snap.next_seq;
    let mut events_open = true;
    let mut verdicts = FuturesUnordered::new();
    let why = loop {
        tokio::select! {
            biased;
            _ = shared.closing.cancelled() => break None,
            frame = reader.next() => match frame {
                None => break Some("left".to_string()),
                Some(Err(e)) => {
                    tracing::warn!(uid, name = %name, error = %e, "closing a connection: bad frame");
                    writer.bye(refuse(ByeReason::BadFrame, format!("unreadable frame: {e}"))).await;
                    break Some(format!("closed: {e}"));
                }
                Some(Ok(bytes)) => match protocol::decode_client(&bytes) {
                    Ok(ClientMsg::Command { id, command }) => {
                        if hello.readonly {
                            let refusal = Refusal {
                                code: READ_ONLY_CODE.into(),
                                message: "this session is read-only (attached with --readonly): the server refuses every action".into(),
                            };
                            let msg = ServerMsg::Verdict { id, outcome: Outcome::Refused(refusal) };
                            if !writer.send(protocol::encode(&msg)).await {
                                break Some("gone".into());
                            }
                            continue;
                        }
                        if let Some(c) = protocol::control_char_in(&command) {
                            let refusal = Refusal {
                                code: "control_character".into(),
                                message: format!("the command's text holds a control character ({:?}); type it without one", c),
                            };
                            let msg = ServerMsg::Verdict { id, outcome: Outcome::Refused(refusal) };
                            if !writer.send(protocol::encode(&msg)).await {
                                break Some("gone".into());
                            }
                            continue;
                        }
                        tracing::info!(uid, name = %name, ?command, "command through the socket");
                        let verdict = shared.link.submit_from(&name, command, Some(origin.clone()));
                        verdicts.push(async move { (id, verdict.await) });
                    }
                    Ok(ClientMsg::Bye) => break Some("said bye".into()),
                    Ok(ClientMsg::Hello(_)) => {
                        tracing::warn!(uid, name = %name, "closing a connection: hello twice");
                        writer.bye(refuse(ByeReason::BadFrame, "hello may come only once".into())).await;
                        break Some("hello twice".into());
                    }
                    Err(e) => {
                        tracing::warn!(uid, name = %name, error = %e, "closing a connection: bad frame");
                        writer.bye(refuse(ByeReason::BadFrame, e.to_string())).await;
                        break Some(format!("closed: {e}"));
                    }
                }
            },
            // Events before verdicts: the driver announces a decision's events
            // before it answers, so a client always sees them first.
            ev = events.recv(), if events_open => match ev {
                Ok(c) => {
                    if c.seq >= next_seq {
                        next_seq = c.seq + 1;
                        if !writer.send(protocol::encode_committed(c.seq, &c.event)).await {
                            break Some("gone".into());
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    // This client fell behind: it reads the gap from the journal.
                    tracing::debug!(uid, name = %name, skipped = n, "slow client skipped ahead");
                }
                Err(RecvError::Closed) => events_open = false,
            },
            Some((id, result)) = verdicts.next(), if !verdicts.is_empty() => {
                let outcome = match result {
                    Ok(()) => Outcome::Accepted,
                    Err(SendError::Rejected(r)) => Outcome::Refused(Refusal::from(&r)),
                    Err(SendError::Stopped) => Outcome::Refused(Refusal {
                        code: "stopped".into(),
                        message: "the release stopped before deciding".into(),
                    }),
                };
                if !writer.send(protocol::encode(&ServerMsg::Verdict { id, outcome })).await {
                    break Some("gone".into());
                }
            }
            changed = session.changed() => {
                if changed.is_err() {
                    continue;
                }
                let people = session.borrow_and_update().peers.clone();
                if !writer.send(protocol::encode(&ServerMsg::Presence { people })).await {
                    break Some("gone".into());
                }
            }
            _ = clock.tick() => {
                // Where the journal stands, as far as this client can know it: the
                // snapshot's count once every event announced before it has been
                // taken off the ring (else a frame still on its way would look
                // missed), and then only ahead of what was sent if events were
                // skipped (this client lagged), which the client then reads.
                let snap = shared.link.snapshot();
                let now = shared.link.clock().now().max(snap.now);
                let next = if events.is_empty() { snap.next_seq.max(next_seq) } else { next_seq };
                let msg = ServerMsg::Clock { now, next_seq: next };
                if !writer.send(protocol::encode(&msg)).await {
                    break Some("gone".into());
                }
            }
        }
    };
    // Closing (the release's loop ended, or its owner closed the server): say why,
    // even to a client whose last frame was cut short by it.
    if why.is_none() || shared.closing.is_cancelled() {
        writer.bye(shared.farewell()).await;
    }
    if shown {
        shared.leave(id);
    }
    tracing::debug!(uid, name = %name, sent = writer.sent, why = ?why, "connection ended");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_temporary_name_is_never_longer() {
        for p in [
            "/s/releases/v1.0.1/socket",
            "/r/v1.0.1-0123456789abcdef.sock",
            "/x/ab",
        ] {
            let p = Path::new(p);
            let t = temp_sibling(p);
            assert!(t.as_os_str().len() <= p.as_os_str().len(), "{t:?}");
            assert_eq!(t.parent(), p.parent());
            assert_ne!(t, p);
        }
    }
}
