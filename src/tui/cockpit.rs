//! The cockpit's event loop: draws snapshots, turns keys into commands, and sends
//! them to the runtime. It decides nothing about the rollout.
//!
//! It runs on the one event loop (`event_loop`): terminal events and signals there;
//! new snapshots, verdicts and a clock tick (so the countdowns move) are this
//! screen's own sources. The testable entry is [`run_with`], which
//! takes the terminal, the event stream and the signals as arguments, so tests drive
//! it with a `TestBackend`, scripted keys and a real `ReleaseHandle` on paused time.

use std::future::Future;
use std::io;
use std::time::Duration;

use chrono::{FixedOffset, Offset};
use crossterm::event::Event;
use futures_util::stream::FuturesUnordered;
use futures_util::{Stream, StreamExt};
use ratatui::Frame;
use tokio::time::MissedTickBehavior;

use super::app::{App, Outgoing};
use super::event_loop::{self, Flow, Screen};
use super::frame_pacer::FramePacer;
use super::input::terminal_events;
use super::terminal::{self, ShutdownSignal, TerminalError, TerminalSession};
use super::theme::Theme;
use super::too_small::is_too_small;
use super::view;
use crate::domain::CustomerId;
use crate::engine::Command;
use crate::runtime::link::{ReleaseLink, SendError, Snapshot};

pub struct CockpitOptions {
    /// Who acts: every command is sent, and journaled, under this name.
    pub operator: String,
    /// Same screen, every action key refused with a note.
    pub readonly: bool,
    pub theme: Theme,
    pub demo: Option<DemoControls>,
    /// The release's deploy logs directory (`releases/<label>/deploys`), for the
    /// `l` overlay; `None` shows no log.
    pub deploy_logs: Option<std::path::PathBuf>,
    /// The process that runs the release, when this cockpit is it: quitting with
    /// deploys in flight stops the runtime and waits for them (a second `q`
    /// detaches). `None` for a cockpit that does not own the release.
    pub stop: Option<StopControls>,
    /// Writes the release report (`R`): the CLI reads the state dir's journals.
    pub report: Option<ReportSource>,
    /// Where the release runs, as this cockpit sees it.
    pub hosting: Hosting,
}

/// Where the release a cockpit shows runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Hosting {
    /// In this process; quitting stops it (today's behaviour).
    #[default]
    Here,
    /// In this process, and quitting may leave it to a background runner.
    HereOrBackground,
    /// In another process (`shipdeck attach`): `q` just leaves, and when that
    /// process ends the cockpit says why and exits.
    Attached,
}

/// How a cockpit that runs the release stops it.
pub struct StopControls {
    /// Ask the runtime to stop (it waits for deploys in flight, journaling them).
    pub begin_stop: Box<dyn Fn() + Send + Sync>,
    /// Stop waiting: deploys in flight keep running, journaled as in flight.
    pub detach: tokio_util::sync::CancellationToken,
}

/// Writes the report text on demand.
pub type ReportSource = Box<dyn Fn() -> String + Send + Sync>;

/// Injects a fault into one customer; says what it did, or why it could not.
pub type FaultInjector = Box<dyn Fn(&CustomerId) -> Result<String, String> + Send + Sync>;

/// Demo-only: a key injects a fault into the selected customer (the lead passes a closure).
pub struct DemoControls {
    pub inject_fault: FaultInjector,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CockpitExit {
    /// The operator quit while the release was still running (after the
    /// deploys in flight finished, or leaving them running on a second `q`).
    Quit,
    Signal(ShutdownSignal),
    /// The operator quit after the release ended (or its runtime stopped).
    Finished,
    /// The operator chose to leave the release running in the background.
    Background,
    /// Attached: the process that runs the release ended, for this reason.
    Ended(crate::protocol::Farewell),
}

pub use super::event_loop::FrameSink;

/// Runs the cockpit on the real terminal until the operator quits or a signal
/// arrives. The runtime keeps running: stopping it is the caller's business.
pub async fn run(link: &ReleaseLink, opts: CockpitOptions) -> Result<CockpitExit, TerminalError> {
    // Signals first: once the terminal is raw, a SIGTERM must still find a handler.
    let mut signals = terminal::shutdown_signals()?;
    let mut session = TerminalSession::enter()?;
    let local = chrono::Local::now().offset().fix();
    let result = run_loop(
        link,
        opts,
        &mut session,
        terminal_events(),
        signals.recv(),
        Some(local),
    )
    .await;
    let restored = session.restore();
    let exit = result?;
    restored?;
    Ok(exit)
}

/// The testable core of [`run`]: any frame sink, any event stream, any signal
/// future. Clock times show in UTC only, so tests are deterministic.
pub async fn run_with<S, F>(
    link: &ReleaseLink,
    opts: CockpitOptions,
    terminal: &mut impl FrameSink,
    events: S,
    signals: F,
) -> Result<CockpitExit, TerminalError>
where
    S: Stream<Item = io::Result<Event>> + Unpin,
    F: Future<Output = ShutdownSignal>,
{
    run_loop(link, opts, terminal, events, signals, None).await
}

/// [`run`] on a session, input and signals the caller already holds (the start
/// screen's), so going from one screen to the cockpit never leaves the alternate
/// screen. Restoring the session stays the caller's business.
pub async fn run_in_session<S, F>(
    link: &ReleaseLink,
    opts: CockpitOptions,
    session: &mut TerminalSession,
    events: S,
    signals: F,
) -> Result<CockpitExit, TerminalError>
where
    S: Stream<Item = io::Result<Event>> + Unpin,
    F: Future<Output = ShutdownSignal>,
{
    let local = chrono::Local::now().offset().fix();
    run_loop(link, opts, session, events, signals, Some(local)).await
}

/// How often the countdowns need a redraw: every release second, but never more
/// than the frame cap and never less than once a real second.
fn tick_period(speed: f64) -> Duration {
    let secs = if speed.is_finite() && speed > 0.0 {
        1.0 / speed
    } else {
        1.0
    };
    Duration::from_secs_f64(secs.clamp(1.0 / f64::from(FramePacer::DEFAULT_MAX_FPS), 1.0))
}

/// The cockpit as the event loop runs it.
struct CockpitScreen<'a> {
    link: &'a ReleaseLink,
    app: App,
    theme: Theme,
    demo: Option<DemoControls>,
    snaps: tokio::sync::watch::Receiver<Snapshot>,
    snap: Snapshot,
    snaps_open: bool,
    ticker: tokio::time::Interval,
    verdicts: FuturesUnordered<
        futures_util::future::BoxFuture<'static, (Command, Result<(), SendError>)>,
    >,
    small: bool,
    deploy_logs: Option<std::path::PathBuf>,
    stop: Option<StopControls>,
    /// Set once the operator quit with deploys in flight: the runtime is stopping
    /// (it waits for them) and the cockpit stays up until it has, or until a
    /// second `q` leaves them running.
    leaving: bool,
    report: Option<ReportSource>,
    /// Who else is here, and whether the process that runs the release ended.
    session: tokio::sync::watch::Receiver<crate::runtime::link::Session>,
    session_open: bool,
    /// The release is moving to another process (a handover under way).
    moving: bool,
}

impl CockpitScreen<'_> {
    /// Shows a command's verdict. It comes after the snapshot it produced, so that
    /// one is taken first.
    fn on_verdict(&mut self, cmd: &Command, result: Result<(), SendError>) {
        self.app.on_command_result(cmd, result);
        if self.snaps.has_changed().unwrap_or(false) {
            self.snap = self.snaps.borrow_and_update().clone();
        }
    }

    fn quit_exit(&self) -> CockpitExit {
        if self.app.runtime_stopped || self.snap.state.phase.is_final() {
            CockpitExit::Finished
        } else {
            CockpitExit::Quit
        }
    }
}

impl Screen for CockpitScreen<'_> {
    type Exit = CockpitExit;

    async fn on_input(&mut self, event: Event) -> Flow<CockpitExit> {
        let key = match event {
            Event::Key(k) => k,
            Event::Paste(text) => {
                self.app.on_paste(&text);
                return Flow::REDRAW;
            }
            _ => return Flow::QUIET,
        };
        let now = self.link.clock().now().max(self.snap.now);
        match self.app.on_key(key, &self.snap.state, now) {
            None => {}
            Some(Outgoing::Quit) if self.leaving => {
                // Again: leave the deploys running, journaled in flight.
                if let Some(stop) = &self.stop {
                    stop.detach.cancel();
                }
                return Flow::Exit(CockpitExit::Quit);
            }
            Some(Outgoing::Quit) => {
                let exit = self.quit_exit();
                let waiting = deploys_in_flight(&self.snap.state);
                match &self.stop {
                    Some(stop) if exit == CockpitExit::Quit && !waiting.is_empty() => {
                        // A deploy is never killed halfway: wait, and say for what.
                        self.leaving = true;
                        (stop.begin_stop)();
                        self.app.runtime_stopped = true;
                        self.app.info(super::strings::waiting_to_leave(&waiting));
                    }
                    _ => return Flow::Exit(exit),
                }
            }
            Some(Outgoing::Background) => return Flow::Exit(CockpitExit::Background),
            Some(Outgoing::Command(cmd)) => {
                let verdict = self.link.submit(&self.app.operator, cmd.clone());
                self.verdicts
                    .push(Box::pin(async move { (cmd, verdict.await) }));
            }
            Some(Outgoing::ShowReport) => match &self.report {
                Some(report) => {
                    self.app.page = Some(super::app::Page::text("Release report", &report()));
                }
                None => self.app.refuse(super::strings::NO_REPORT),
            },
            Some(Outgoing::InjectFault(id)) => match &self.demo {
                Some(demo) => match (demo.inject_fault)(&id) {
                    Ok(text) => self.app.info(text),
                    Err(text) => self.app.refuse(text),
                },
                None => self.app.refuse(super::strings::FAULT_DEMO_ONLY),
            },
        }
        Flow::REDRAW
    }

    async fn background(&mut self) -> Flow<CockpitExit> {
        tokio::select! {
            biased;
            Some((cmd, result)) = self.verdicts.next(), if !self.verdicts.is_empty() => {
                self.on_verdict(&cmd, result);
            }
            changed = self.session.changed(), if self.session_open => match changed {
                Ok(()) => {
                    let s = self.session.borrow_and_update().clone();
                    if let Some(f) = s.ended {
                        // The process that runs the release ended: say why (the
                        // caller prints it on the restored terminal).
                        return Flow::Exit(CockpitExit::Ended(f));
                    }
                    let now = self.link.clock().now().max(self.snap.now);
                    self.app.on_presence(s.peers, now);
                    if s.moving {
                        self.app.info(super::strings::MOVING);
                    } else if self.moving {
                        self.app.info(super::strings::MOVED);
                    }
                    self.moving = s.moving;
                }
                Err(_) => self.session_open = false,
            },
            changed = self.snaps.changed(), if self.snaps_open => match changed {
                Ok(()) => {
                    let before = self.snap.state.captain.clone();
                    self.snap = self.snaps.borrow_and_update().clone();
                    self.app.on_captain(&before, &self.snap.state.captain);
                    if self.leaving {
                        let waiting = deploys_in_flight(&self.snap.state);
                        if !waiting.is_empty() {
                            self.app.info(super::strings::waiting_to_leave(&waiting));
                        }
                    }
                }
                // The deploys we waited for are done and journaled.
                Err(_) if self.leaving => return Flow::Exit(CockpitExit::Quit),
                Err(_) => {
                    // The runtime ended (release final) or failed: keep the last
                    // screen up so the operator sees how it ended.
                    self.snaps_open = false;
                    self.app.runtime_stopped = true;
                    self.app.info(super::strings::RUNTIME_STOPPED);
                }
            },
            // The countdowns move.
            _ = self.ticker.tick() => {}
        }
        Flow::REDRAW
    }

    fn render(&mut self, frame: &mut Frame) {
        // Release time now, not at the last decision: countdowns keep moving.
        let now = self.link.clock().now().max(self.snap.now);
        self.small = is_too_small(frame.area().as_size());
        refresh_deploy_log(&mut self.app, self.deploy_logs.as_deref());
        view::render(frame, &self.snap.state, now, &self.app, &self.theme);
    }

    fn drew(&mut self) {
        self.app.too_small = self.small;
    }

    async fn on_input_end(&mut self) -> CockpitExit {
        // Take the verdicts still owed, so the last frame shows them.
        while let Some((cmd, result)) = self.verdicts.next().await {
            self.on_verdict(&cmd, result);
        }
        CockpitExit::Quit
    }

    fn on_signal(&mut self, signal: ShutdownSignal) -> CockpitExit {
        CockpitExit::Signal(signal)
    }
}

async fn run_loop<S, F>(
    link: &ReleaseLink,
    opts: CockpitOptions,
    terminal: &mut impl FrameSink,
    events: S,
    signals: F,
    local: Option<FixedOffset>,
) -> Result<CockpitExit, TerminalError>
where
    S: Stream<Item = io::Result<Event>> + Unpin,
    F: Future<Output = ShutdownSignal>,
{
    let mut app = App::new(&opts.operator, opts.readonly, opts.demo.is_some());
    app.local_offset = local;
    app.attached = opts.hosting == Hosting::Attached;
    app.background = opts.hosting == Hosting::HereOrBackground;
    let mut snaps = link.snapshots();
    let snap = snaps.borrow_and_update().clone();
    let mut session = link.session();
    {
        let s = session.borrow_and_update();
        if let Some(f) = &s.ended {
            return Ok(CockpitExit::Ended(f.clone()));
        }
        app.on_presence(s.peers.clone(), snap.now);
    }
    let mut ticker = tokio::time::interval(tick_period(link.clock().speed()));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut screen = CockpitScreen {
        link,
        app,
        theme: opts.theme,
        demo: opts.demo,
        snaps,
        snap,
        snaps_open: true,
        ticker,
        verdicts: FuturesUnordered::new(),
        small: false,
        deploy_logs: opts.deploy_logs,
        stop: opts.stop,
        leaving: false,
        report: opts.report,
        session,
        session_open: true,
        moving: false,
    };
    event_loop::run(&mut screen, terminal, events, signals).await
}

/// The customers whose deploy or rollback is in flight (`engine::query`), by name.
fn deploys_in_flight(state: &crate::engine::ReleaseState) -> Vec<String> {
    crate::engine::query::deploys_in_flight(state)
        .into_iter()
        .map(|c| c.name.clone())
        .collect()
}

/// Re-reads the open deploy log overlay's tail (cheap: the last 64 KiB at most).
fn refresh_deploy_log(app: &mut App, dir: Option<&std::path::Path>) {
    let Some(view) = &mut app.deploy_log else {
        return;
    };
    view.lines = dir.and_then(|d| {
        let path = crate::runtime::state_dir::deploy_log_in(d, view.customer.as_str());
        crate::adapters::deploy::log::tail(&path, 500)
    });
}
