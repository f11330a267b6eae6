//! The runtime loop: one task owns a release's engine state. Commands arrive on a
//! channel, effect results on another, time by sleeping until the engine's next
//! deadline. Every decision is journaled (fsync) before its effects start; views
//! get read-only snapshots on a `watch` channel and events on a broadcast.
//!
//! Why one file (~780 lines): the loop that owns the state keeps one promise (journal,
//! then effects; snapshots only of journaled state), and its batching, deadlines and
//! stop paths are read together to check it. Opening a release, checkpoints and health
//! summaries already live in `store`, `checkpoint` and `summaries`.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;

use tokio::sync::oneshot;

use super::clock::Clock;
use super::effects::{Executor, PortContext, Wiring};
use super::journal::{JournalError, JournalWriter};
pub use super::link::{Committed, Origin, ReleaseLink, Request, SendError, Snapshot};
use super::lock::{Holder, ReleaseLock};
use super::state_dir::StateDir;
use super::store::{self, OpenMode, StoreError};
use crate::engine::{
    self, Effect, EffectResult, Event, EventKind, Input, Rejected, ReleasePlan, ReleaseState,
};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("release {label} in the state dir is {found}, not {asked}; use a new version number")]
    PlanMismatch {
        label: String,
        found: String,
        asked: String,
    },
    #[error("the journal writer stopped unexpectedly")]
    WriterGone,
    #[error("the release's loop stopped (it ended, or was stopped) before it could be handed over")]
    Ended,
}

/// How the loop gets its lock: it takes it, or it is handed one that another
/// process (a cockpit handing over to a background runner) holds and lets go of.
pub enum LockSource {
    Acquire,
    HandedOver {
        lock: ReleaseLock,
        /// Who held it before (the lock file's content when it was handed over).
        from: Option<Holder>,
        /// Who handed it over (journaled).
        actor: String,
    },
}

pub struct RuntimeOptions {
    pub state_dir: StateDir,
    pub clock: Clock,
    /// Chooses the adapters behind the effect ports, from the journaled plan.
    pub wiring: Arc<dyn Wiring>,
}

/// A running release, as its owner holds it: the link every face uses, plus what
/// only the owner may do (stop it, feed it observations).
pub struct ReleaseHandle {
    link: ReleaseLink,
    pub shutdown: watch::Sender<bool>,
    /// Fired to leave without waiting for deploys in flight (a second Ctrl-C or
    /// `q` while stopping): they keep running, unjournaled, and a resume re-issues
    /// them. See [`ReleaseHandle::stop`].
    pub detach: CancellationToken,
    /// Where outside observers (the probe scheduler) deliver results.
    pub results: mpsc::UnboundedSender<EffectResult>,
    pub task: tokio::task::JoinHandle<Result<Arc<ReleaseState>, RuntimeError>>,
    /// Events replayed from the journal when the release was opened.
    pub replayed: usize,
    /// Set when the journal's last line was torn by a crash and dropped.
    pub dropped_tail: bool,
    /// Events decided while opening (a takeover, overdue waves, the first steps),
    /// before anyone could subscribe to the link's events.
    pub opened: Vec<Arc<Event>>,
    /// Asks the loop to hand the release over (see [`ReleaseHandle::hand_off`]).
    control: mpsc::Sender<Control>,
    /// The release's label and state dir, for whoever serves it.
    pub label: String,
    pub state_dir: StateDir,
    /// Effects re-issued on opening because their events had no result yet.
    pub reissued: usize,
}

/// What [`ReleaseHandle::hand_off`] hands back: the lock, still held and never let
/// go, for the process that takes the release over; and the state as of then.
pub struct HandOff {
    pub lock: ReleaseLock,
    pub state: Arc<ReleaseState>,
    /// Release time when the loop stopped: the next process continues from it.
    pub now: DateTime<Utc>,
    /// Effects decided while draining and not started here: the next process
    /// starts them (they are in flight in the journal).
    pub held: usize,
}

enum Control {
    HandOff(oneshot::Sender<HandOff>),
}

impl ReleaseHandle {
    /// The link faces use (cheap to clone).
    pub fn link(&self) -> &ReleaseLink {
        &self.link
    }

    /// Sends a command and waits for the engine's verdict.
    pub async fn send(&self, actor: &str, command: engine::Command) -> Result<(), SendError> {
        self.link.send(actor, command).await
    }

    pub fn snapshot(&self) -> Snapshot {
        self.link.snapshot()
    }

    pub fn snapshots(&self) -> watch::Receiver<Snapshot> {
        self.link.snapshots()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Committed> {
        self.link.subscribe()
    }

    pub fn clock(&self) -> &Clock {
        self.link.clock()
    }

    /// Hands the release over: the loop stops starting effects (what it decides
    /// meanwhile is journaled and left for the next process, which finds it in
    /// flight), waits for the effects it already started to report, then stops and
    /// gives back the lock, still held. Commands keep being decided meanwhile. So no
    /// effect is started by both processes, and the lock is never free.
    pub async fn hand_off(self) -> Result<HandOff, RuntimeError> {
        let (tx, rx) = oneshot::channel();
        let asked = self.control.send(Control::HandOff(tx)).await.is_ok();
        let handed = if asked { rx.await.ok() } else { None };
        let ended = match self.task.await {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        match (handed, ended) {
            (Some(h), _) => Ok(h),
            (None, Err(e)) => Err(e),
            (None, Ok(_)) => Err(RuntimeError::Ended),
        }
    }

    /// Asks the loop to stop: it takes no more commands, starts nothing new,
    /// cancels running checks, and waits for the deploys and rollbacks in flight to
    /// finish, journaling their results (a deploy is never killed halfway). Fire
    /// [`ReleaseHandle::detach`] to stop waiting.
    pub fn begin_stop(&self) {
        let _ = self.shutdown.send(true);
    }

    /// [`ReleaseHandle::begin_stop`], then waits for the loop to end.
    pub async fn stop(self) -> Result<Arc<ReleaseState>, RuntimeError> {
        self.begin_stop();
        match self.task.await {
            Ok(r) => r,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

/// Opens (or starts, when `plan` is given and the journal is empty) a release and
/// spawns its loop.
pub fn open(
    opts: RuntimeOptions,
    label: &str,
    plan: Option<ReleasePlan>,
    actor: &str,
) -> Result<ReleaseHandle, RuntimeError> {
    open_inner(opts, label, plan, actor, false, LockSource::Acquire)
}

/// [`open`], going on with a journal whose hash chain is broken when
/// `accept_tampered` says so; the acceptance is journaled first, naming `actor`.
pub fn open_accepting(
    opts: RuntimeOptions,
    label: &str,
    plan: Option<ReleasePlan>,
    actor: &str,
    accept_tampered: bool,
) -> Result<ReleaseHandle, RuntimeError> {
    open_inner(
        opts,
        label,
        plan,
        actor,
        accept_tampered,
        LockSource::Acquire,
    )
}

/// [`open`], with the lock taken or handed over (see [`LockSource`]). A release
/// handed over keeps its clock: `opts.clock` is used as given.
pub fn open_with(
    opts: RuntimeOptions,
    label: &str,
    plan: Option<ReleasePlan>,
    actor: &str,
    lock: LockSource,
) -> Result<ReleaseHandle, RuntimeError> {
    open_inner(opts, label, plan, actor, false, lock)
}

fn open_inner(
    opts: RuntimeOptions,
    label: &str,
    plan: Option<ReleasePlan>,
    actor: &str,
    accept_tampered: bool,
    lock: LockSource,
) -> Result<ReleaseHandle, RuntimeError> {
    let mode = if plan.is_some() {
        OpenMode::CreateIfMissing
    } else {
        OpenMode::Existing
    };
    let handed_over = matches!(lock, LockSource::HandedOver { .. });
    let opened = match lock {
        LockSource::Acquire => store::open(
            &opts.state_dir,
            label,
            &store::OpenOptions {
                mode,
                accept_tampered,
                actor,
                now: opts.clock.now(),
            },
        )?,
        LockSource::HandedOver { lock, from, actor } => {
            store::open_handed_over(&opts.state_dir, label, opts.clock.now(), lock, from, &actor)?
        }
    };
    let last_at = opened.last_at();
    let folded = opened.fold()?;
    let drill_speed = folded.as_ref().and_then(|s| s.plan.drill_speed);
    let clock = match (&opts.clock, last_at) {
        (c, _) if handed_over => c.clone(),
        // A drill resumed later continues from where its release time stood.
        (Clock::Scaled { speed, .. }, Some(_)) => Clock::with_speed(Some(*speed), last_at),
        // No speed given: a drill resumes at the speed it was started at (at
        // real speed its hours would be real hours)...
        (Clock::System, Some(t)) => match drill_speed {
            Some(speed) => Clock::with_speed(Some(speed), Some(t)),
            // ...and release time never runs backwards: a release whose clock
            // ran ahead of the wall clock goes on from where it stood.
            None if t > chrono::Utc::now() => Clock::scaled(t, 1.0),
            None => Clock::System,
        },
        (c, _) => c.clone(),
    };
    let now = clock.now();
    let replayed = opened.replayed;
    let dropped_tail = opened.dropped_tail;
    let mut pending: Vec<Event> = Vec::new();
    let mut state = match folded {
        Some(state) => {
            if let Some(plan) = &plan {
                if plan.release_type != state.plan.release_type {
                    return Err(RuntimeError::PlanMismatch {
                        label: label.to_string(),
                        found: state.plan.release_type.to_string(),
                        asked: plan.release_type.to_string(),
                    });
                }
            }
            state
        }
        None => {
            let Some(mut plan) = plan else {
                return Err(StoreError::NoSuchRelease(label.to_string()).into());
            };
            if (clock.speed() - 1.0).abs() > f64::EPSILON {
                plan.drill_speed = Some(clock.speed());
            }
            let first = engine::plan_event(plan, actor, now);
            let state = ReleaseState::fold([&first]).map_err(|source| StoreError::Fold {
                path: opened.journal_path.clone(),
                source,
            })?;
            pending.push(first);
            state
        }
    };
    let store::OpenedRelease {
        lock,
        mut journal,
        first: mut already_journaled,
        ..
    } = opened;
    let (results_tx, results_rx) = mpsc::unbounded_channel();
    let ports = opts.wiring.ports(
        &state.plan,
        &PortContext {
            clock: clock.clone(),
            notifications: opts.state_dir.notifications_path(),
            release_dir: opts.state_dir.release_dir(label),
            deploy_logs: opts.state_dir.deploy_logs_dir(label),
        },
    );
    let executor = Executor::new(
        clock.clone(),
        results_tx.clone(),
        ports,
        label,
        state.plan.seed,
        actor,
    );
    let detach = executor.detach_token();
    let mut effects: Vec<Effect> = Vec::new();
    let mut reissued = 0;
    if replayed > 0 {
        // Effects started before the last stop and never answered run again, and
        // so do notice deliveries that were queued and never answered.
        effects.extend(engine::in_flight(&state));
        reissued = effects.len();
        if reissued > 0 {
            tracing::info!(
                release = label,
                effects = reissued,
                "re-issuing effects in flight when the release was last stopped"
            );
        }
        effects.extend(engine::undelivered(&state));
        if let Ok(d) = engine::step(&mut state, &Input::Attached, now) {
            pending.extend(d.events);
            effects.extend(d.effects);
        }
    } else if let Ok(d) = engine::step(&mut state, &Input::Tick, now) {
        pending.extend(d.events);
        effects.extend(d.effects);
    }
    if !pending.is_empty() {
        journal.append_batch(&pending)?;
    }
    let next_seq = journal.next_seq();
    let (events_tx, _) = broadcast::channel(4096);
    already_journaled.extend(pending);
    let opened_events: Vec<Arc<Event>> = already_journaled.into_iter().map(Arc::new).collect();
    for eff in effects {
        executor.spawn(eff, &state);
    }
    let state = Arc::new(state);
    let (snap_tx, snap_rx) = watch::channel(Snapshot {
        state: state.clone(),
        now,
        serial: 0,
        next_seq,
    });
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (control_tx, control_rx) = mpsc::channel(1);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut driver = Driver {
        state: Arc::unwrap_or_clone(state),
        journal: Arc::new(Mutex::new(journal)),
        checkpoints: Checkpoints {
            path: super::checkpoint::path(&opts.state_dir, label),
            // What was replayed counts: a resume from a long tail checkpoints soon.
            last_seq: next_seq.saturating_sub(replayed as u64),
            last_at: tokio::time::Instant::now(),
            writing: None,
            every_events: super::checkpoint::every_events(),
        },
        next_seq,
        summaries: super::summaries::Summaries::new(now),
        clock: clock.clone(),
        executor,
        events: events_tx.clone(),
        snapshots: snap_tx,
        serial: 0,
        last_now: now,
        lock: Some(lock),
        draining: None,
        held: 0,
        steady_shown: tokio::time::Instant::now(),
        steady_unshown: false,
    };
    let task = tokio::spawn(async move {
        driver
            .run(cmd_rx, results_rx, control_rx, shutdown_rx)
            .await
    });
    Ok(ReleaseHandle {
        link: ReleaseLink::new(cmd_tx, snap_rx, events_tx, clock),
        shutdown: shutdown_tx,
        detach,
        results: results_tx,
        task,
        replayed,
        dropped_tail,
        opened: opened_events,
        control: control_tx,
        label: label.to_string(),
        state_dir: opts.state_dir.clone(),
        reissued,
    })
}

/// When the last checkpoint was taken, and the one being written.
struct Checkpoints {
    path: std::path::PathBuf,
    last_seq: u64,
    last_at: tokio::time::Instant,
    /// At most one write at a time, on the blocking pool.
    writing: Option<tokio::task::JoinHandle<()>>,
    /// Events between checkpoints (see [`super::checkpoint::every_events`]).
    every_events: u64,
}

/// A checkpoint is also taken after this long with events since the last one.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

impl Checkpoints {
    /// Writes a checkpoint of `state` at `position` when enough happened since the
    /// last one. The write runs on the blocking pool and is never waited for: a
    /// crash mid-write leaves the previous checkpoint, which only costs replay time.
    fn maybe_write(&mut self, position: super::journal::Position, state: &ReleaseState) {
        let events = position.seq.saturating_sub(self.last_seq);
        let due = events >= self.every_events
            || (events > 0 && self.last_at.elapsed() >= CHECKPOINT_EVERY);
        if !due || self.writing.as_ref().is_some_and(|w| !w.is_finished()) {
            return;
        }
        self.last_at = tokio::time::Instant::now();
        self.writing = Some(self.spawn_write(position, state));
    }

    /// Writes a checkpoint of `state` at `position` on the blocking pool; a failed
    /// write is logged (the journal stays the truth).
    fn spawn_write(
        &mut self,
        position: super::journal::Position,
        state: &ReleaseState,
    ) -> tokio::task::JoinHandle<()> {
        self.last_seq = position.seq;
        let state = state.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = super::checkpoint::write(&path, &position, &state) {
                tracing::warn!(path = %path.display(), "cannot write a checkpoint: {e}");
            }
        })
    }
}

/// How long notices still being delivered may take when the loop stops.
const NOTICE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// At most this many ready results are decided on before their events are
/// journaled together: bounds the latency of commands queued behind a burst.
const RESULT_BATCH: usize = 1024;

/// Decisions taken but not yet journaled: their events and the effects that must
/// wait until those events are on disk.
#[derive(Default)]
struct Batch {
    inputs: usize,
    events: Vec<Event>,
    effects: Vec<Effect>,
    /// Steady samples tallied (not journaled): views still get a new snapshot.
    steady: usize,
}

struct Driver {
    state: ReleaseState,
    /// Appended to on the blocking pool, so an fsync never holds a runtime worker;
    /// the mutex is only ever taken there, one batch at a time.
    journal: Arc<Mutex<JournalWriter<Event>>>,
    /// Sequence number of the next event journaled.
    next_seq: u64,
    checkpoints: Checkpoints,
    /// Steady health tallied for the open period's summary.
    summaries: super::summaries::Summaries,
    clock: Clock,
    executor: Executor,
    events: broadcast::Sender<Committed>,
    snapshots: watch::Sender<Snapshot>,
    serial: u64,
    /// Release time of the last decision: deadlines after it are still ahead.
    last_now: DateTime<Utc>,
    /// Held for as long as the loop runs: one engine per release. Taken out only
    /// to be handed to the next process.
    lock: Option<ReleaseLock>,
    /// Handing over: effects are no longer started, and this gets the lock once
    /// those already started have reported.
    draining: Option<oneshot::Sender<HandOff>>,
    /// Effects decided while draining and left for the next process.
    held: usize,
    /// When a snapshot was last published.
    steady_shown: tokio::time::Instant,
    /// Steady samples were tallied since the last snapshot (see [`STEADY_SHOWN_EVERY`]).
    steady_unshown: bool,
}

/// Steady samples (tallied, nothing journaled, nothing decided) are shown at most
/// this often: a snapshot clones the whole state, and at 10,000 customers probed
/// every 10 s one snapshot per probe result would cost the process most of a core
/// (views redraw about once a second anyway). A decision is always shown at once.
const STEADY_SHOWN_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// While handing over, how often the loop looks whether the effects it started
/// have all reported (notices send no result to wake it).
const DRAIN_POLL: std::time::Duration = std::time::Duration::from_millis(20);

impl Driver {
    async fn run(
        &mut self,
        mut commands: mpsc::Receiver<Request>,
        mut results: mpsc::UnboundedReceiver<EffectResult>,
        mut control: mpsc::Receiver<Control>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<ReleaseState>, RuntimeError> {
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Handing over: done once every effect started here has ended and its
            // result (sent before it ended) has been decided and journaled.
            if self.draining.is_some() && self.executor.in_flight() == 0 && results.is_empty() {
                self.finish_hand_off();
                break;
            }
            if engine::is_settled(&self.state) {
                break;
            }
            let deadline = engine::next_deadline(&self.state, self.last_now);
            let clock = self.clock.clone();
            let sleep = async move {
                match deadline {
                    Some(t) => clock.sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            let draining = self.draining.is_some();
            tokio::select! {
                biased;
                _ = shutdown.changed() => {}
                Some(Control::HandOff(reply)) = control.recv(), if !draining => {
                    tracing::info!(in_flight = self.executor.in_flight(), "handing the release over: no new effects start here");
                    self.draining = Some(reply);
                }
                Some(req) = commands.recv() => {
                    let input = Input::Command { actor: req.actor, command: req.command };
                    let verdict = self.handle_from(&input, req.origin.as_ref()).await?;
                    let _ = req.reply.send(verdict);
                }
                Some(result) = results.recv() => {
                    // Results come in bursts (a probe round over the whole fleet):
                    // decide on all that are ready, then journal them with one fsync
                    // and publish one snapshot, instead of one of each per result.
                    let mut batch = Batch::default();
                    self.take_result(result, &mut batch);
                    // A command waiting is decided before any later result (a
                    // pause must stop the deploys those results would start).
                    while batch.inputs < RESULT_BATCH && commands.is_empty() {
                        let Ok(next) = results.try_recv() else { break };
                        self.take_result(next, &mut batch);
                    }
                    self.close_summaries(&mut batch, false);
                    if batch.events.is_empty() && batch.steady > 0 {
                        self.steady_unshown = true;
                        if self.steady_shown.elapsed() >= STEADY_SHOWN_EVERY {
                            self.publish(self.last_now);
                        }
                    } else {
                        self.commit(batch, false).await?;
                    }
                    // A steady stream of results (probes of a large fleet, faster
                    // than real time) must not hold a deadline back: with `biased`,
                    // the tick below is polled only when no result is ready.
                    if deadline.is_some_and(|d| self.clock.now() >= d) {
                        let _ = self.handle(&Input::Tick).await?;
                    }
                }
                _ = tokio::time::sleep_until(self.steady_shown + STEADY_SHOWN_EVERY), if self.steady_unshown => {
                    self.publish(self.last_now);
                }
                _ = sleep => {
                    let _ = self.handle(&Input::Tick).await?;
                }
                _ = tokio::time::sleep(DRAIN_POLL), if draining => {}
            }
        }
        self.drain(&mut results).await?;
        // The open period's tallies go into the journal before the loop ends.
        let mut batch = Batch::default();
        self.close_summaries(&mut batch, true);
        self.commit(batch, false).await?;
        self.final_checkpoint().await;
        self.executor.shutdown(NOTICE_GRACE).await;
        Ok(Arc::new(self.state.clone()))
    }

    /// Stopping: a checkpoint of the state as the loop leaves it (unless one was
    /// taken there already), so that the next open replays nothing. Handing over
    /// writes none: the next process appends to the journal at once.
    async fn final_checkpoint(&mut self) {
        if self.lock.is_none() {
            return;
        }
        if let Some(w) = self.checkpoints.writing.take() {
            let _ = w.await;
        }
        let position = match self.journal.lock() {
            Ok(j) => j.position(),
            Err(_) => return,
        };
        if position.seq == self.checkpoints.last_seq {
            return;
        }
        let _ = self.checkpoints.spawn_write(position, &self.state).await;
    }

    /// Stopping: waits for the deploys and rollbacks in flight and journals their
    /// results, unless the operator detaches. Nothing new starts: a result is
    /// decided on alone (no follow-up round), and the effects it implies (the
    /// rollback of a failed deploy) stay in flight in the journal for the resume.
    async fn drain(
        &mut self,
        results: &mut mpsc::UnboundedReceiver<EffectResult>,
    ) -> Result<(), RuntimeError> {
        self.executor.stop_checks();
        let detach = self.executor.detach_token();
        let executor = self.executor.clone();
        let settled = executor.deploys_settled();
        tokio::pin!(settled);
        if self.executor.deploys_in_flight() > 0 {
            tracing::info!(
                deploys = self.executor.deploys_in_flight(),
                "stopping: waiting for deploys in flight"
            );
        }
        loop {
            tokio::select! {
                biased;
                _ = detach.cancelled() => return Ok(()),
                Some(r) = results.recv() => self.settle(r).await?,
                _ = &mut settled => break,
            }
        }
        // Results sent by deploys that ended just now.
        while let Ok(r) = results.try_recv() {
            self.settle(r).await?;
        }
        Ok(())
    }

    /// Journals what a deploy's result means while stopping (see [`Driver::drain`]).
    async fn settle(&mut self, result: EffectResult) -> Result<(), RuntimeError> {
        if !matches!(
            result,
            EffectResult::DeployFinished { .. }
                | EffectResult::RollbackFinished { .. }
                | EffectResult::DeployRetrying { .. }
        ) {
            return Ok(());
        }
        let now = self.clock.now().max(self.last_now);
        self.last_now = now;
        let Ok(decision) = engine::decide(&self.state, &Input::Result(result), now) else {
            return Ok(());
        };
        for e in &decision.events {
            self.state.apply(e);
        }
        self.commit(
            Batch {
                inputs: 1,
                events: decision.events,
                effects: Vec::new(),
                steady: 0,
            },
            false,
        )
        .await
    }

    /// Decides, journals, then starts effects. A refusal changes nothing; a journal
    /// failure stops the loop (the in-memory state is ahead of the disk, so it must
    /// not act on it).
    async fn handle(&mut self, input: &Input) -> Result<Result<(), Rejected>, RuntimeError> {
        self.handle_from(input, None).await
    }

    /// [`Driver::handle`] for a command that may have come through the socket: an
    /// accepted one is journaled with where it came from, right before its events.
    async fn handle_from(
        &mut self,
        input: &Input,
        origin: Option<&Origin>,
    ) -> Result<Result<(), Rejected>, RuntimeError> {
        let mut batch = Batch::default();
        let verdict = self.decide(input, &mut batch);
        if let (Ok(()), Some(o), Input::Command { actor, .. }) = (&verdict, origin, input) {
            if !batch.events.is_empty() {
                let vouch = Event {
                    at: self.last_now,
                    event: EventKind::ActedFrom {
                        actor: actor.clone(),
                        uid: o.uid,
                        user: o.user.clone(),
                        via: o.via.clone(),
                    },
                };
                // Folds to nothing but the count: applying it after the command's
                // events leaves the same state as the journal's order does.
                self.state.apply(&vouch);
                batch.events.insert(0, vouch);
            }
        }
        self.commit(batch, matches!(input, Input::Tick)).await?;
        Ok(verdict)
    }

    /// The effects already started have all reported: journal nothing more, give
    /// the lock (still held) and the state to whoever asked for the handover.
    fn finish_hand_off(&mut self) {
        let (Some(reply), Some(lock)) = (self.draining.take(), self.lock.take()) else {
            return;
        };
        tracing::info!(
            held = self.held,
            "handing the release over: loop stopped, lock passed on"
        );
        let handed = HandOff {
            lock,
            state: Arc::new(self.state.clone()),
            now: self.last_now.max(self.clock.now()),
            held: self.held,
        };
        if let Err(back) = reply.send(handed) {
            // Nobody waits for it any more: keep the lock until the loop ends.
            self.lock = Some(back.lock);
        }
    }

    /// Applies `input` to the state and keeps its events and effects in `batch`
    /// until [`Driver::commit`] makes them durable.
    /// A result: a steady health sample is tallied for the period's summary (and
    /// shown), everything else is decided on.
    fn take_result(&mut self, result: EffectResult, batch: &mut Batch) {
        if let EffectResult::Probed { customer, outcome } = &result {
            if let Some(sample) = engine::query::steady_sample(&self.state, customer, outcome) {
                // Time moved for views and the scheduler even though nothing is
                // decided: the snapshot carries release time as of this result —
                // but never past a deadline not yet decided on (a snapshot must not
                // show a wave overdue that the next tick is about to start).
                let now = self.clock.now().max(self.last_now);
                if engine::next_deadline(&self.state, self.last_now).is_none_or(|d| d > now) {
                    self.last_now = now;
                }
                self.summaries.add(customer, &sample);
                self.state.note_steady(customer, sample);
                batch.steady += 1;
                return;
            }
        }
        let _ = self.decide(&Input::Result(result), batch);
    }

    /// Journals the open period's summary when it is due (or now, when `flush`).
    fn close_summaries(&mut self, batch: &mut Batch, flush: bool) {
        let now = self.clock.now().max(self.last_now);
        if !(self.summaries.due(now) || (flush && self.summaries.any())) {
            return;
        }
        let (from, to, customers) = self.summaries.close(now);
        let _ = self.decide(
            &Input::Summaries {
                from,
                to,
                customers,
            },
            batch,
        );
    }

    fn decide(&mut self, input: &Input, batch: &mut Batch) -> Result<(), Rejected> {
        let now = self.clock.now().max(self.last_now);
        self.last_now = now;
        batch.inputs += 1;
        let decision = engine::step(&mut self.state, input, now)?;
        batch.events.extend(decision.events);
        batch.effects.extend(decision.effects);
        Ok(())
    }

    /// Journals the batch's events (one fsync), then announces them, starts their
    /// effects and publishes one snapshot. `ticked`: time moved, so views re-read
    /// the clock even when nothing happened.
    async fn commit(&mut self, batch: Batch, ticked: bool) -> Result<(), RuntimeError> {
        if batch.events.is_empty() {
            if ticked {
                self.publish(self.last_now);
            }
            return Ok(());
        }
        let journal = self.journal.clone();
        let events = batch.events;
        let (events, written) = tokio::task::spawn_blocking(move || {
            let written = match journal.lock() {
                Ok(mut j) => j.append_batch(&events).map(|_| j.position()),
                // A panic mid-append poisons the mutex; the writer's own poisoning
                // rules say the same: nothing may be assumed written.
                Err(_) => Err(JournalError::Poisoned {
                    path: std::path::PathBuf::new(),
                }),
            };
            (events, written)
        })
        .await
        .map_err(|_| RuntimeError::WriterGone)?;
        let position = written?;
        for e in events {
            if e.event.is_loggable() {
                tracing::info!(target: "shipdeck::event", "{}", crate::engine::event::describe(&e));
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            let _ = self.events.send(Committed {
                seq,
                event: Arc::new(e),
            });
        }
        for eff in batch.effects {
            // Handing over: notices go out (nothing re-issues them), the rest is
            // left in flight in the journal for the next process to start.
            if self.draining.is_some() && !matches!(eff, Effect::Notify { .. }) {
                self.held += 1;
                continue;
            }
            self.executor.spawn(eff, &self.state);
        }
        self.publish(self.last_now);
        self.checkpoints.maybe_write(position, &self.state);
        Ok(())
    }

    fn publish(&mut self, now: DateTime<Utc>) {
        self.steady_shown = tokio::time::Instant::now();
        self.steady_unshown = false;
        self.serial += 1;
        self.snapshots.send_replace(Snapshot {
            state: Arc::new(self.state.clone()),
            now,
            serial: self.serial,
            next_seq: self.next_seq,
        });
    }
}
