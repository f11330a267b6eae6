//! The release link: how a face (the cockpit, `deploy`, a command) talks to the loop
//! that runs a release, without owning it.
//!
//! A link carries three things: snapshots of the state (a `watch`, so a slow reader
//! only ever sees the newest), committed events with their sequence number in the
//! journal (a `broadcast`; a reader that lags re-reads the journal), and commands,
//! each answered with the engine's verdict. [`ReleaseLink::submit`] hands back the
//! verdict as a future of its own, so a face can keep drawing while it waits.
//!
//! Today's implementation is in-process (channels into the driver); a link to a
//! release run by another process bridges a socket into the same channels, so faces
//! never know which they hold.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::clock::Clock;
use crate::engine::{Command, Event, Rejected, ReleaseState};
use crate::protocol::{Farewell, Peer};

/// What views see: the state as of the last decision, and the release time then.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub state: Arc<ReleaseState>,
    pub now: DateTime<Utc>,
    /// Counts decisions, so a view can tell a new snapshot from the last one.
    pub serial: u64,
    /// Events in the journal as of this snapshot: the next event's sequence number.
    pub next_seq: u64,
}

/// An event as it reached the journal: `seq` is its 0-based line in the journal, so
/// a reader that sees a gap knows it missed something and re-reads the journal.
#[derive(Debug, Clone)]
pub struct Committed {
    pub seq: u64,
    pub event: Arc<Event>,
}

/// A command with the channel its verdict goes back on.
pub struct Request {
    pub actor: String,
    pub command: Command,
    pub reply: oneshot::Sender<Result<(), Rejected>>,
    /// Set when the command came through the release's socket: the driver journals
    /// it (peer uid, OS user, client) with the command's events.
    pub origin: Option<Origin>,
}

/// Where a command came from, as the kernel reported the socket's peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub uid: u32,
    pub user: String,
    /// The kind of client (`attach`, `command`).
    pub via: String,
}

/// Who else is here, and (for a link to another process) why that process ended.
/// The server publishes it for its own cockpit; a remote link for the attached one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub peers: Vec<Peer>,
    /// The serving process said goodbye (or vanished): why. Only remote links set it.
    pub ended: Option<Farewell>,
    /// The release is being handed to another process; the link reconnects.
    pub moving: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Rejected(Rejected),
    #[error("the release is no longer running")]
    Stopped,
}

/// A verdict still on its way.
pub type Verdict =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), SendError>> + Send>>;

/// A face's handle on a running release. Cheap to clone.
#[derive(Clone)]
pub struct ReleaseLink {
    pub(super) commands: mpsc::Sender<Request>,
    pub(super) snapshots: watch::Receiver<Snapshot>,
    pub(super) events: broadcast::Sender<Committed>,
    pub(super) clock: Clock,
    pub(super) session: watch::Receiver<Session>,
}

impl ReleaseLink {
    /// A link over these channels: the driver's, or a bridge to a release another
    /// process runs.
    pub fn new(
        commands: mpsc::Sender<Request>,
        snapshots: watch::Receiver<Snapshot>,
        events: broadcast::Sender<Committed>,
        clock: Clock,
    ) -> ReleaseLink {
        // Nobody else is here until a server or a remote link says otherwise.
        let (_, session) = watch::channel(Session::default());
        ReleaseLink {
            commands,
            snapshots,
            events,
            clock,
            session,
        }
    }

    /// The same link, with presence (and, remotely, the end) from `session`.
    pub fn with_session(mut self, session: watch::Receiver<Session>) -> ReleaseLink {
        self.session = session;
        self
    }

    /// Who is here, and whether the serving process ended.
    pub fn session(&self) -> watch::Receiver<Session> {
        self.session.clone()
    }

    /// Sends a command and waits for the engine's verdict.
    pub async fn send(&self, actor: &str, command: Command) -> Result<(), SendError> {
        self.submit(actor, command).await
    }

    /// Sends a command; the verdict arrives on the returned future, which the caller
    /// may poll alongside other work (the cockpit keeps drawing meanwhile).
    pub fn submit(&self, actor: &str, command: Command) -> Verdict {
        self.submit_from(actor, command, None)
    }

    /// [`ReleaseLink::submit`] for a command that came from another process.
    pub fn submit_from(&self, actor: &str, command: Command, origin: Option<Origin>) -> Verdict {
        let commands = self.commands.clone();
        let actor = actor.to_string();
        Box::pin(async move {
            let (reply, rx) = oneshot::channel();
            commands
                .send(Request {
                    actor,
                    command,
                    reply,
                    origin,
                })
                .await
                .map_err(|_| SendError::Stopped)?;
            rx.await
                .map_err(|_| SendError::Stopped)?
                .map_err(SendError::Rejected)
        })
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshots.borrow().clone()
    }

    /// A receiver of every new snapshot.
    pub fn snapshots(&self) -> watch::Receiver<Snapshot> {
        self.snapshots.clone()
    }

    /// Committed events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.events.subscribe()
    }

    /// The release clock (release time, at the release's speed).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
}
