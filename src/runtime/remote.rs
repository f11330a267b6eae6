//! The remote link: a [`ReleaseLink`] to a release that another process runs,
//! through that process's socket. Faces (the cockpit, commands) hold it exactly as
//! they hold the in-process one.
//!
//! A bridge task reads the socket and feeds the same channels the driver feeds:
//! it builds the state from the journal on disk, folds each `committed` event with
//! the engine's own `apply` (so every terminal shows the same state), publishes
//! snapshots (coalesced: one per burst of frames, not one per event), forwards
//! commands with an id, and resolves each one's verdict when it comes back.
//!
//! Sequence numbers keep it exact: an event beyond the next expected one, or a
//! clock frame saying the journal is ahead, means frames were skipped (this client
//! was slow and the server moved on), and the bridge reads the missing events from
//! the journal, which always holds every event a frame announced.
//!
//! When the server says goodbye because the release moves to a background runner,
//! the bridge reconnects to the new process (same socket path) and carries on from
//! the journal; any other goodbye, or the connection dropping, ends the link, and
//! [`Session::ended`] says why.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_util::bytes::Bytes;
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

use super::clock::Clock;
use super::journal::FORMAT_VERSION;
use super::link::{Committed, ReleaseLink, Request, Session, Snapshot};
use super::server::codec;
use crate::engine::{Event, Rejected, ReleaseState};
use crate::protocol::{
    self, ByeReason, ClientMsg, Farewell, Hello, MAX_CLIENT_FRAME, MAX_SERVER_FRAME, Outcome,
    ServerMsg, Welcome,
};

/// How long a handshake may take before the server counts as not answering.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the bridge looks for the next process after a handover.
pub const FOLLOW_TIMEOUT: Duration = Duration::from_secs(30);
const FOLLOW_RETRY: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// Nothing listens on the socket (no file, or a file nobody accepts on).
    #[error("nothing answers on {path}: {source}")]
    NotServing { path: PathBuf, source: io::Error },
    /// The server said no: identity, a newer protocol, a bad frame.
    #[error("{0}")]
    Refused(Farewell),
    #[error("the server at {path} did not answer: {reason}")]
    NoAnswer { path: PathBuf, reason: String },
    #[error("cannot read the release's journal: {0}")]
    Journal(String),
}

impl AttachError {
    /// Nobody serves the release (as opposed to a server that refused).
    pub fn is_not_serving(&self) -> bool {
        matches!(self, AttachError::NotServing { .. })
    }
}

/// How to attach.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    pub socket: PathBuf,
    pub hello: Hello,
    /// The journal to build state from; `None` uses the path the server names.
    pub journal: Option<PathBuf>,
}

/// A release attached to: the link faces use, what the server said, and the task
/// that bridges the socket.
pub struct Attached {
    link: ReleaseLink,
    pub welcome: Welcome,
    /// Events read from the journal when attaching.
    pub replayed: usize,
    task: JoinHandle<()>,
    leave: Option<oneshot::Sender<()>>,
    catch_ups: Arc<AtomicU64>,
}

impl Attached {
    pub fn link(&self) -> &ReleaseLink {
        &self.link
    }

    /// How many times the bridge read missed events from the journal (it fell
    /// behind, or followed the release to a new process).
    pub fn catch_ups(&self) -> u64 {
        self.catch_ups.load(Ordering::Relaxed)
    }

    /// Says goodbye to the server and ends the bridge.
    pub async fn detach(mut self) {
        if let Some(leave) = self.leave.take() {
            let _ = leave.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.task).await;
        self.task.abort();
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Reader = FramedRead<OwnedReadHalf, LengthDelimitedCodec>;
type Writer = FramedWrite<OwnedWriteHalf, LengthDelimitedCodec>;

/// Connects, says hello, and returns the welcome (or the server's refusal).
pub async fn handshake(
    socket: &Path,
    hello: &Hello,
) -> Result<(Reader, Writer, Welcome), AttachError> {
    let stream = UnixStream::connect(socket)
        .await
        .map_err(|source| AttachError::NotServing {
            path: socket.to_path_buf(),
            source,
        })?;
    let no_answer = |reason: String| AttachError::NoAnswer {
        path: socket.to_path_buf(),
        reason,
    };
    let (rd, wr) = stream.into_split();
    let mut reader = FramedRead::new(rd, codec(MAX_SERVER_FRAME));
    let mut writer = FramedWrite::new(wr, codec(MAX_CLIENT_FRAME));
    let exchange = async {
        writer
            .send(Bytes::from(protocol::encode(&ClientMsg::Hello(
                hello.clone(),
            ))))
            .await
            .map_err(|e| no_answer(format!("cannot send hello: {e}")))?;
        match reader.next().await {
            None => Err(no_answer("it closed the connection".into())),
            Some(Err(e)) => Err(no_answer(format!("unreadable frame: {e}"))),
            Some(Ok(bytes)) => match protocol::decode_server(&bytes) {
                Ok(ServerMsg::Welcome(w)) => Ok(w),
                Ok(ServerMsg::Bye(f)) => Err(AttachError::Refused(f)),
                Ok(_) => Err(no_answer("it did not start with welcome".into())),
                Err(e) => Err(no_answer(e.to_string())),
            },
        }
    };
    let welcome = tokio::time::timeout(HANDSHAKE_TIMEOUT, exchange)
        .await
        .map_err(|_| no_answer(format!("no welcome within {HANDSHAKE_TIMEOUT:?}")))??;
    Ok((reader, writer, welcome))
}

/// The journal as a client follows it: what it has read so far (bytes of whole
/// lines, and the sequence number that comes next), so that catching up reads only
/// what was appended since, never the whole file again.
#[derive(Debug, Clone)]
struct JournalTail {
    path: PathBuf,
    offset: u64,
    next_seq: u64,
}

/// A journal line as a reader needs it (fields it does not know are ignored).
#[derive(serde::Deserialize)]
struct Line {
    v: u32,
    seq: u64,
    event: Event,
}

impl JournalTail {
    fn new(path: PathBuf) -> JournalTail {
        JournalTail {
            path,
            offset: 0,
            next_seq: 0,
        }
    }

    /// Reads the whole lines appended since the last read. A last line without its
    /// newline is being written: it is left for the next read. A line that does not
    /// read, a newer format or a gap in sequence numbers is an error (the journal's
    /// own rules: history is never skipped).
    fn read_new(&mut self) -> Result<Vec<(u64, Event)>, String> {
        use std::io::{BufRead, Seek};
        let err = |what: String| format!("journal {}: {what}", self.path.display());
        let mut file = std::fs::File::open(&self.path).map_err(|e| err(e.to_string()))?;
        file.seek(std::io::SeekFrom::Start(self.offset))
            .map_err(|e| err(e.to_string()))?;
        let mut reader = std::io::BufReader::with_capacity(256 * 1024, file);
        let mut out = Vec::new();
        let mut buf = Vec::with_capacity(512);
        loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| err(e.to_string()))?;
            if n == 0 || buf.last() != Some(&b'\n') {
                break;
            }
            let line: Line = serde_json::from_slice(&buf[..n - 1]).map_err(|e| {
                err(format!(
                    "line of event {} does not read: {e}",
                    self.next_seq
                ))
            })?;
            if line.v > FORMAT_VERSION {
                return Err(err(format!(
                    "written by a newer shipdeck (line format v{}; this build reads up to v{FORMAT_VERSION})",
                    line.v
                )));
            }
            if line.seq != self.next_seq {
                return Err(err(format!(
                    "sequence number {} where {} was expected",
                    line.seq, self.next_seq
                )));
            }
            out.push((line.seq, line.event));
            self.next_seq += 1;
            self.offset += n as u64;
        }
        Ok(out)
    }
}

/// Reads what the journal holds beyond `tail` (on the blocking pool).
async fn read_tail(mut tail: JournalTail) -> (JournalTail, Result<Vec<(u64, Event)>, String>) {
    let path = tail.path.clone();
    match tokio::task::spawn_blocking(move || {
        let read = tail.read_new();
        (tail, read)
    })
    .await
    {
        Ok(done) => done,
        Err(e) => (JournalTail::new(path), Err(e.to_string())),
    }
}

/// The release clock as the server reported it.
fn clock_of(welcome: &Welcome) -> Clock {
    if (welcome.speed - 1.0).abs() <= f64::EPSILON {
        Clock::System
    } else {
        Clock::scaled(welcome.now, welcome.speed)
    }
}

/// Attaches to the release served on `opts.socket`.
pub async fn attach(opts: AttachOptions) -> Result<Attached, AttachError> {
    let (reader, writer, welcome) = handshake(&opts.socket, &opts.hello).await?;
    let journal = opts
        .journal
        .clone()
        .unwrap_or_else(|| PathBuf::from(&welcome.journal));
    let (tail, read) = read_tail(JournalTail::new(journal.clone())).await;
    let events: Vec<Event> = read
        .map_err(AttachError::Journal)?
        .into_iter()
        .map(|(_, e)| e)
        .collect();
    let state = ReleaseState::fold(&events)
        .map_err(|e| AttachError::Journal(format!("{}: {e}", journal.display())))?;
    let replayed = events.len();
    drop(events);
    let clock = clock_of(&welcome);
    let now = clock.now().max(welcome.now).max(state.last_event_at);
    let (snap_tx, snap_rx) = watch::channel(Snapshot {
        state: Arc::new(state.clone()),
        now,
        serial: 0,
        next_seq: replayed as u64,
    });
    let (events_tx, _) = broadcast::channel(4096);
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (session_tx, session_rx) = watch::channel(Session {
        peers: vec![welcome.you.clone()],
        ended: None,
        moving: false,
    });
    let (leave_tx, leave_rx) = oneshot::channel();
    let catch_ups = Arc::new(AtomicU64::new(0));
    let bridge = Bridge {
        catch_ups: catch_ups.clone(),
        state,
        expected: replayed as u64,
        tail: Some(tail),
        socket: opts.socket.clone(),
        hello: opts.hello.clone(),
        snapshots: snap_tx,
        events: events_tx.clone(),
        session: session_tx,
        pending: HashMap::new(),
        next_id: 1,
        serial: 0,
        clock: clock.clone(),
        server_now: now,
        dirty: false,
    };
    let task = tokio::spawn(bridge.run(reader, writer, cmd_rx, leave_rx));
    let link = ReleaseLink::new(cmd_tx, snap_rx, events_tx, clock).with_session(session_rx);
    Ok(Attached {
        link,
        welcome,
        replayed,
        task,
        leave: Some(leave_tx),
        catch_ups,
    })
}

struct Bridge {
    state: ReleaseState,
    /// The journal sequence number of the next event to fold.
    expected: u64,
    /// Where reading the journal stopped (taken while a read is in flight).
    tail: Option<JournalTail>,
    socket: PathBuf,
    hello: Hello,
    snapshots: watch::Sender<Snapshot>,
    events: broadcast::Sender<Committed>,
    session: watch::Sender<Session>,
    pending: HashMap<u64, oneshot::Sender<Result<(), Rejected>>>,
    next_id: u64,
    serial: u64,
    clock: Clock,
    /// Release time as the server last said it.
    server_now: DateTime<Utc>,
    /// Events folded since the last snapshot.
    dirty: bool,
    catch_ups: Arc<AtomicU64>,
}

/// How a connection of the bridge ended.
enum End {
    /// The face left (detach, or the link was dropped).
    Left,
    /// The server said goodbye, or the connection dropped (`None`: no goodbye).
    Server(Option<Farewell>),
}

impl Bridge {
    async fn run(
        mut self,
        mut reader: Reader,
        mut writer: Writer,
        mut commands: mpsc::Receiver<Request>,
        mut leave: oneshot::Receiver<()>,
    ) {
        loop {
            let end = self
                .serve(&mut reader, &mut writer, &mut commands, &mut leave)
                .await;
            let farewell = match end {
                End::Left => {
                    let bye = Bytes::from(protocol::encode(&ClientMsg::Bye));
                    let _ =
                        tokio::time::timeout(Duration::from_millis(500), writer.send(bye)).await;
                    return;
                }
                End::Server(f) => f,
            };
            // Commands in flight lose their verdict with the connection.
            self.pending.clear();
            match farewell {
                Some(f) if f.reason == ByeReason::HandedOff => {
                    self.session.send_modify(|s| s.moving = true);
                    match self.follow().await {
                        Some((r, w)) => {
                            reader = r;
                            writer = w;
                            self.session.send_modify(|s| s.moving = false);
                        }
                        None => {
                            self.end(Farewell {
                                reason: ByeReason::Stopped,
                                message: format!(
                                    "{}; the background runner did not answer within {}s",
                                    f.message,
                                    FOLLOW_TIMEOUT.as_secs()
                                ),
                            });
                            return;
                        }
                    }
                }
                Some(f) => {
                    self.end(f);
                    return;
                }
                None => {
                    self.end(Farewell {
                        reason: ByeReason::Stopped,
                        message: "the process running the release went away without a word (crashed or killed); `shipdeck attach` offers to resume it".into(),
                    });
                    return;
                }
            }
        }
    }

    /// Says why, then drops the channels: faces see the link end.
    fn end(self, farewell: Farewell) {
        tracing::info!(reason = ?farewell.reason, "the serving process ended: {}", farewell.message);
        self.session.send_modify(|s| {
            s.ended = Some(farewell);
            s.moving = false;
        });
    }

    /// Finds the process the release was handed to, on the same socket path.
    async fn follow(&mut self) -> Option<(Reader, Writer)> {
        let deadline = tokio::time::Instant::now() + FOLLOW_TIMEOUT;
        loop {
            match handshake(&self.socket, &self.hello).await {
                Ok((r, w, welcome)) => {
                    tracing::info!(
                        pid = welcome.serving.pid,
                        "following the release to its new process"
                    );
                    self.server_now = welcome.now;
                    if welcome.next_seq > self.expected {
                        self.catch_up().await;
                    }
                    return Some((r, w));
                }
                Err(AttachError::Refused(f)) => {
                    tracing::warn!("the new process refused us: {f}");
                    return None;
                }
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(FOLLOW_RETRY).await;
                }
                Err(e) => {
                    tracing::warn!("no new process to follow: {e}");
                    return None;
                }
            }
        }
    }

    async fn serve(
        &mut self,
        reader: &mut Reader,
        writer: &mut Writer,
        commands: &mut mpsc::Receiver<Request>,
        leave: &mut oneshot::Receiver<()>,
    ) -> End {
        loop {
            let dirty = self.dirty;
            tokio::select! {
                biased;
                _ = &mut *leave => return End::Left,
                frame = reader.next() => match frame {
                    None => return End::Server(None),
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "unreadable frame from the server");
                        return End::Server(None);
                    }
                    Some(Ok(bytes)) => match protocol::decode_server(&bytes) {
                        Ok(msg) => {
                            if let Some(end) = self.on_frame(msg).await {
                                self.publish();
                                return end;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "a frame from the server did not read; ignored");
                        }
                    },
                },
                req = commands.recv() => match req {
                    Some(req) => {
                        let id = self.next_id;
                        self.next_id += 1;
                        let msg = ClientMsg::Command { id, command: req.command };
                        if writer.send(Bytes::from(protocol::encode(&msg))).await.is_ok() {
                            self.pending.insert(id, req.reply);
                        }
                        // A failed write drops the reply: the face hears "stopped".
                    }
                    None => return End::Left,
                },
                _ = std::future::ready(()), if dirty => self.publish(),
            }
        }
    }

    /// Folds one frame in. `Some`: the connection ends here.
    async fn on_frame(&mut self, msg: ServerMsg) -> Option<End> {
        match msg {
            ServerMsg::Committed { seq, event } => {
                if seq > self.expected {
                    // Frames were skipped while we were slow: the journal has them.
                    self.catch_up().await;
                }
                if seq == self.expected {
                    self.fold(seq, event);
                }
            }
            ServerMsg::Clock { now, next_seq } => {
                self.server_now = now;
                if next_seq > self.expected {
                    self.catch_up().await;
                }
                self.dirty = true;
            }
            ServerMsg::Verdict { id, outcome } => {
                if let Some(reply) = self.pending.remove(&id) {
                    // The verdict follows the events it produced: show them first.
                    self.publish();
                    let _ = reply.send(match outcome {
                        Outcome::Accepted => Ok(()),
                        Outcome::Refused(r) => Err(Rejected::Relayed(r)),
                    });
                }
            }
            ServerMsg::Presence { people } => {
                self.session.send_modify(|s| s.peers = people);
            }
            ServerMsg::Bye(f) => return Some(End::Server(Some(f))),
            ServerMsg::Welcome(_) => {
                tracing::warn!("a second welcome from the server; ignored");
            }
        }
        None
    }

    fn fold(&mut self, seq: u64, event: Event) {
        self.state.apply(&event);
        self.expected = seq + 1;
        self.dirty = true;
        let _ = self.events.send(Committed {
            seq,
            event: Arc::new(event),
        });
    }

    /// Reads what was appended to the journal since the last read, and folds in
    /// what this client has not folded yet.
    async fn catch_up(&mut self) {
        self.catch_ups.fetch_add(1, Ordering::Relaxed);
        let Some(tail) = self.tail.take() else {
            return;
        };
        let from = self.expected;
        let (tail, read) = read_tail(tail).await;
        self.tail = Some(tail);
        match read {
            Ok(records) => {
                let n = records.len();
                for (seq, event) in records {
                    if seq == self.expected {
                        self.fold(seq, event);
                    }
                }
                tracing::debug!(from, read = n, "caught up from the journal");
            }
            Err(e) => tracing::warn!("cannot catch up from the journal: {e}"),
        }
    }

    fn publish(&mut self) {
        self.dirty = false;
        self.serial += 1;
        let now = self
            .clock
            .now()
            .max(self.server_now)
            .max(self.state.last_event_at);
        self.snapshots.send_replace(Snapshot {
            state: Arc::new(self.state.clone()),
            now,
            serial: self.serial,
            next_seq: self.expected,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn line(seq: u64) -> String {
        let event = Event {
            at: "2026-11-21T10:00:00Z".parse().unwrap(),
            event: crate::engine::EventKind::Completed,
        };
        format!(
            "{{\"v\":1,\"seq\":{seq},\"event\":{}}}\n",
            serde_json::to_string(&event).unwrap()
        )
    }

    #[test]
    fn the_tail_reads_only_what_was_appended_and_leaves_a_line_being_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(format!("{}{}", line(0), line(1)).as_bytes())
            .unwrap();
        let half = line(2);
        f.write_all(&half.as_bytes()[..10]).unwrap();
        let mut tail = JournalTail::new(path.clone());
        let got: Vec<u64> = tail.read_new().unwrap().iter().map(|(s, _)| *s).collect();
        assert_eq!(got, [0, 1]);
        // The rest of line 2 arrives, then line 3: only they are read.
        f.write_all(&half.as_bytes()[10..]).unwrap();
        f.write_all(line(3).as_bytes()).unwrap();
        let got: Vec<u64> = tail.read_new().unwrap().iter().map(|(s, _)| *s).collect();
        assert_eq!(got, [2, 3]);
        assert!(tail.read_new().unwrap().is_empty());
        // A gap is history missing: an error, never skipped.
        f.write_all(line(5).as_bytes()).unwrap();
        let err = tail.read_new().unwrap_err();
        assert!(
            err.contains("sequence number 5 where 4 was expected"),
            "{err}"
        );
    }
}
