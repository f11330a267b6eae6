//! The runtime loop: one task owns a release's engine state. Commands arrive on a
//! channel, effect results on another, time by sleeping until the engine's next
//! deadline. Every decision is journaled (fsync) before its effects start; views
//! get read-only snapshots on a `watch` channel and events on a broadcast.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use super::clock::Clock;
use super::effects::{Executor, PortContext, Wiring};
use super::journal::{JournalError, JournalWriter};
use super::lock::{Acquired, LockError, ReleaseLock};
use super::state_dir::StateDir;
use crate::engine::{
    self, Command, Effect, EffectResult, Event, Input, Rejected, ReleasePlan, ReleaseState,
    state::FoldError,
};

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("journal {path}: {source}")]
    Fold { path: PathBuf, source: FoldError },
    #[error(
        "no release {0} in the state dir; start it with `shipdeck deploy --version {0} --type …`"
    )]
    NoSuchRelease(String),
    #[error("release {label} in the state dir is {found}, not {asked}; use a new version number")]
    PlanMismatch {
        label: String,
        found: String,
        asked: String,
    },
    #[error("cannot create the state dir {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What views see: the state as of the last decision, and the release time then.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub state: Arc<ReleaseState>,
    pub now: DateTime<Utc>,
    /// Counts decisions, so a view can tell a new snapshot from the last one.
    pub serial: u64,
}

/// A command with the channel its verdict goes back on.
pub struct Request {
    pub actor: String,
    pub command: Command,
    pub reply: oneshot::Sender<Result<(), Rejected>>,
}

pub struct RuntimeOptions {
    pub state_dir: StateDir,
    pub clock: Clock,
    /// Chooses the adapters behind the effect ports, from the journaled plan.
    pub wiring: Arc<dyn Wiring>,
}

/// A running release: the handles views and the CLI use.
pub struct ReleaseHandle {
    pub commands: mpsc::Sender<Request>,
    pub snapshots: watch::Receiver<Snapshot>,
    pub events: broadcast::Sender<Arc<Event>>,
    pub shutdown: watch::Sender<bool>,
    /// Fired to leave without waiting for deploys in flight (a second Ctrl-C or
    /// `q` while stopping): they keep running, unjournaled, and a resume re-issues
    /// them. See [`ReleaseHandle::stop`].
    pub detach: CancellationToken,
    /// Where outside observers (the probe scheduler) deliver results.
    pub results: mpsc::UnboundedSender<EffectResult>,
    pub clock: Clock,
    pub task: tokio::task::JoinHandle<Result<Arc<ReleaseState>, RuntimeError>>,
    /// Events replayed from the journal when the release was opened.
    pub replayed: usize,
    /// Set when the journal's last line was torn by a crash and dropped.
    pub dropped_tail: bool,
    /// Events decided while opening (a takeover, overdue waves, the first steps),
    /// before anyone could subscribe to `events`.
    pub opened: Vec<Arc<Event>>,
}

impl ReleaseHandle {
    /// Sends a command and waits for the engine's verdict.
    pub async fn send(&self, actor: &str, command: Command) -> Result<(), SendError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Request {
                actor: actor.to_string(),
                command,
                reply,
            })
            .await
            .map_err(|_| SendError::Stopped)?;
        rx.await
            .map_err(|_| SendError::Stopped)?
            .map_err(SendError::Rejected)
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshots.borrow().clone()
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

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}")]
    Rejected(Rejected),
    #[error("the release is no longer running")]
    Stopped,
}

/// Opens (or starts, when `plan` is given and the journal is empty) a release and
/// spawns its loop.
pub fn open(
    opts: RuntimeOptions,
    label: &str,
    plan: Option<ReleasePlan>,
    actor: &str,
) -> Result<ReleaseHandle, RuntimeError> {
    let journal_path = opts.state_dir.journal_path(label);
    let dir = opts.state_dir.release_dir(label);
    std::fs::create_dir_all(&dir).map_err(|source| RuntimeError::StateDir {
        path: dir.clone(),
        source,
    })?;
    let Acquired {
        lock,
        took_over_from,
    } = ReleaseLock::acquire(&opts.state_dir.lock_path(label))?;
    let (mut journal, replay) = JournalWriter::<Event>::open(&journal_path)?;
    let dropped_tail = replay.dropped_tail.is_some();
    let replayed = replay.records.len();
    let events: Vec<Event> = replay.into_events().collect();
    let last_at = events.last().map(|e| e.at);
    let clock = match (&opts.clock, last_at) {
        // A drill resumed later continues from where its release time stood.
        (Clock::Scaled { speed, .. }, Some(_)) => Clock::with_speed(Some(*speed), last_at),
        (c, _) => c.clone(),
    };
    let now = clock.now();
    let mut state = if events.is_empty() {
        let Some(plan) = plan else {
            let _ = std::fs::remove_file(&journal_path);
            return Err(RuntimeError::NoSuchRelease(label.to_string()));
        };
        let first = engine::plan_event(plan, actor, now);
        journal.append_batch(std::slice::from_ref(&first))?;
        ReleaseState::fold([&first]).map_err(|source| RuntimeError::Fold {
            path: journal_path.clone(),
            source,
        })?
    } else {
        let state = ReleaseState::fold(&events).map_err(|source| RuntimeError::Fold {
            path: journal_path.clone(),
            source,
        })?;
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
    };
    let (results_tx, results_rx) = mpsc::unbounded_channel();
    let ports = opts.wiring.ports(
        &state.plan,
        &PortContext {
            clock: clock.clone(),
            notifications: opts.state_dir.notifications_path(),
            release_dir: dir.clone(),
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
    let mut pending: Vec<Event> = Vec::new();
    let mut effects: Vec<Effect> = Vec::new();
    if let Some(h) = took_over_from {
        let e = h.taken_over(now);
        state.apply(&e);
        pending.push(e);
    }
    if replayed > 0 {
        // Effects started before the last stop and never answered run again.
        effects.extend(engine::in_flight(&state));
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
    let (events_tx, _) = broadcast::channel(4096);
    let opened: Vec<Arc<Event>> = pending.into_iter().map(Arc::new).collect();
    for eff in effects {
        executor.spawn(eff, &state);
    }
    let state = Arc::new(state);
    let (snap_tx, snap_rx) = watch::channel(Snapshot {
        state: state.clone(),
        now,
        serial: 0,
    });
    let (cmd_tx, cmd_rx) = mpsc::channel(64);
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let mut driver = Driver {
        state: Arc::unwrap_or_clone(state),
        journal,
        clock: clock.clone(),
        executor,
        events: events_tx.clone(),
        snapshots: snap_tx,
        serial: 0,
        last_now: now,
        _lock: lock,
    };
    let task = tokio::spawn(async move { driver.run(cmd_rx, results_rx, shutdown_rx).await });
    Ok(ReleaseHandle {
        commands: cmd_tx,
        snapshots: snap_rx,
        events: events_tx,
        shutdown: shutdown_tx,
        detach,
        results: results_tx,
        clock,
        task,
        replayed,
        dropped_tail,
        opened,
    })
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
}

struct Driver {
    state: ReleaseState,
    journal: JournalWriter<Event>,
    clock: Clock,
    executor: Executor,
    events: broadcast::Sender<Arc<Event>>,
    snapshots: watch::Sender<Snapshot>,
    serial: u64,
    /// Release time of the last decision: deadlines after it are still ahead.
    last_now: DateTime<Utc>,
    /// Held for as long as the loop runs: one engine per release.
    _lock: ReleaseLock,
}

impl Driver {
    async fn run(
        &mut self,
        mut commands: mpsc::Receiver<Request>,
        mut results: mpsc::UnboundedReceiver<EffectResult>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<Arc<ReleaseState>, RuntimeError> {
        loop {
            if *shutdown.borrow() {
                break;
            }
            if self.state.phase.is_final() && engine::in_flight(&self.state).is_empty() {
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
            tokio::select! {
                biased;
                _ = shutdown.changed() => {}
                Some(req) = commands.recv() => {
                    let input = Input::Command { actor: req.actor, command: req.command };
                    let verdict = self.handle(&input)?;
                    let _ = req.reply.send(verdict);
                }
                Some(result) = results.recv() => {
                    // Results come in bursts (a probe round over the whole fleet):
                    // decide on all that are ready, then journal them with one fsync
                    // and publish one snapshot, instead of one of each per result.
                    let mut batch = Batch::default();
                    let _ = self.decide(&Input::Result(result), &mut batch);
                    // A command waiting is decided before any later result (a
                    // pause must stop the deploys those results would start).
                    while batch.inputs < RESULT_BATCH && commands.is_empty() {
                        let Ok(next) = results.try_recv() else { break };
                        let _ = self.decide(&Input::Result(next), &mut batch);
                    }
                    self.commit(batch, false)?;
                }
                _ = sleep => {
                    let _ = self.handle(&Input::Tick)?;
                }
            }
        }
        self.drain(&mut results).await?;
        self.executor.shutdown(NOTICE_GRACE).await;
        Ok(Arc::new(self.state.clone()))
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
                Some(r) = results.recv() => self.settle(r)?,
                _ = &mut settled => break,
            }
        }
        // Results sent by deploys that ended just now.
        while let Ok(r) = results.try_recv() {
            self.settle(r)?;
        }
        Ok(())
    }

    /// Journals what a deploy's result means while stopping (see [`Driver::drain`]).
    fn settle(&mut self, result: EffectResult) -> Result<(), RuntimeError> {
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
            },
            false,
        )
    }

    /// Decides, journals, then starts effects. A refusal changes nothing; a journal
    /// failure stops the loop (the in-memory state is ahead of the disk, so it must
    /// not act on it).
    fn handle(&mut self, input: &Input) -> Result<Result<(), Rejected>, RuntimeError> {
        let mut batch = Batch::default();
        let verdict = self.decide(input, &mut batch);
        self.commit(batch, matches!(input, Input::Tick))?;
        Ok(verdict)
    }

    /// Applies `input` to the state and keeps its events and effects in `batch`
    /// until [`Driver::commit`] makes them durable.
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
    fn commit(&mut self, batch: Batch, ticked: bool) -> Result<(), RuntimeError> {
        if batch.events.is_empty() {
            if ticked {
                self.publish(self.last_now);
            }
            return Ok(());
        }
        self.journal.append_batch(&batch.events)?;
        for e in batch.events {
            if e.event.is_loggable() {
                tracing::info!(target: "shipdeck::event", "{}", crate::engine::event::describe(&e));
            }
            let _ = self.events.send(Arc::new(e));
        }
        for eff in batch.effects {
            self.executor.spawn(eff, &self.state);
        }
        self.publish(self.last_now);
        Ok(())
    }

    fn publish(&mut self, now: DateTime<Utc>) {
        self.serial += 1;
        self.snapshots.send_replace(Snapshot {
            state: Arc::new(self.state.clone()),
            now,
            serial: self.serial,
        });
    }
}
