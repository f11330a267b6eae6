//! The cockpit's event loop: draws snapshots, turns keys into commands, and sends
//! them to the runtime. It decides nothing about the rollout.
//!
//! One task, one `select!`: terminal events, new snapshots, a clock tick (so the
//! countdowns move), shutdown signals and the frame pacer's wake-up. A frame is
//! drawn only when something changed, and at most 15 times a second — no busy loop,
//! so it stays light over a slow ssh link. The loop body is [`run_with`], which
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
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::time::{Instant, MissedTickBehavior};

use super::app::{App, Outgoing};
use super::frame_pacer::{FramePacer, Pace};
use super::input::{self, terminal_events};
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

/// Injects a fault into one customer; says what it did, or why it could not.
pub type FaultInjector = Box<dyn Fn(&CustomerId) -> Result<String, String> + Send + Sync>;

/// Demo-only: a key injects a fault into the selected customer (the lead passes a closure).
pub struct DemoControls {
    pub inject_fault: FaultInjector,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CockpitExit {
    /// The operator quit while the release was still running.
    Quit,
    Signal(ShutdownSignal),
    /// The operator quit after the release ended (or its runtime stopped).
    Finished,
    /// The operator chose to leave the release running in the background.
    Background,
    /// Attached: the process that runs the release ended, for this reason.
    Ended(crate::protocol::Farewell),
}

/// Where frames go: the real terminal (synchronized updates) or a test backend.
pub trait FrameSink {
    fn draw_frame(&mut self, render: &mut dyn FnMut(&mut Frame)) -> Result<(), TerminalError>;
}

impl FrameSink for TerminalSession {
    fn draw_frame(&mut self, render: &mut dyn FnMut(&mut Frame)) -> Result<(), TerminalError> {
        self.draw(|f| render(f))
    }
}

impl FrameSink for Terminal<TestBackend> {
    fn draw_frame(&mut self, render: &mut dyn FnMut(&mut Frame)) -> Result<(), TerminalError> {
        match self.draw(|f| render(f)) {
            Ok(_) => Ok(()),
            Err(never) => match never {},
        }
    }
}

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

async fn run_loop<S, F>(
    link: &ReleaseLink,
    opts: CockpitOptions,
    terminal: &mut impl FrameSink,
    mut events: S,
    signals: F,
    local: Option<FixedOffset>,
) -> Result<CockpitExit, TerminalError>
where
    S: Stream<Item = io::Result<Event>> + Unpin,
    F: Future<Output = ShutdownSignal>,
{
    let theme = opts.theme;
    let mut app = App::new(&opts.operator, opts.readonly, opts.demo.is_some());
    app.local_offset = local;
    app.attached = opts.hosting == Hosting::Attached;
    app.background = opts.hosting == Hosting::HereOrBackground;
    let mut snaps = link.snapshots();
    let mut snap = snaps.borrow_and_update().clone();
    let mut snaps_open = true;
    let mut session = link.session();
    let mut session_open = true;
    let mut moving = false;
    {
        let s = session.borrow_and_update();
        if let Some(f) = &s.ended {
            return Ok(CockpitExit::Ended(f.clone()));
        }
        app.on_presence(s.peers.clone(), snap.now);
    }
    let mut pacer = FramePacer::default();
    let mut ticker = tokio::time::interval(tick_period(link.clock().speed()));
    let mut verdicts = FuturesUnordered::new();
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    tokio::pin!(signals);

    loop {
        if pacer.pace(Instant::now()) == Pace::DrawNow {
            draw(terminal, &mut app, &snap, link, &theme)?;
            pacer.drew(Instant::now());
        }
        let wake = pacer.next_frame_at(Instant::now());
        tokio::select! {
            biased;
            sig = &mut signals => return Ok(CockpitExit::Signal(sig)),
            Some((cmd, result)) = verdicts.next(), if !verdicts.is_empty() => {
                on_verdict(&mut app, &cmd, result, &mut snaps, &mut snap);
                pacer.mark_dirty();
            }
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if input::is_press(&k) => {
                    pacer.mark_dirty();
                    match app.on_key(k, &snap.state, link.clock().now().max(snap.now)) {
                        None => {}
                        Some(Outgoing::Quit) => {
                            return Ok(if app.runtime_stopped || snap.state.phase.is_final() {
                                CockpitExit::Finished
                            } else {
                                CockpitExit::Quit
                            });
                        }
                        Some(Outgoing::Background) => return Ok(CockpitExit::Background),
                        Some(Outgoing::Command(cmd)) => {
                            let verdict = link.submit(&app.operator, cmd.clone());
                            verdicts.push(async move { (cmd, verdict.await) });
                        }
                        Some(Outgoing::InjectFault(id)) => match &opts.demo {
                            Some(demo) => match (demo.inject_fault)(&id) {
                                Ok(text) => app.info(text),
                                Err(text) => app.refuse(text),
                            },
                            None => app.refuse(super::strings::FAULT_DEMO_ONLY),
                        },
                    }
                }
                Some(Ok(Event::Paste(text))) => {
                    app.on_paste(&text);
                    pacer.mark_dirty();
                }
                Some(Ok(Event::Resize(..))) => pacer.mark_dirty(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => {
                    // The input ended (terminal gone, or a script ran out): take the
                    // verdicts still owed, show the last state once, then leave.
                    while let Some((cmd, result)) = verdicts.next().await {
                        on_verdict(&mut app, &cmd, result, &mut snaps, &mut snap);
                    }
                    draw(terminal, &mut app, &snap, link, &theme)?;
                    return Ok(CockpitExit::Quit);
                }
            },
            changed = session.changed(), if session_open => {
                match changed {
                    Ok(()) => {
                        let s = session.borrow_and_update().clone();
                        if let Some(f) = s.ended {
                            // The process that runs the release ended: say why
                            // (the caller prints it on the restored terminal).
                            return Ok(CockpitExit::Ended(f));
                        }
                        app.on_presence(s.peers, link.clock().now().max(snap.now));
                        if s.moving {
                            app.info(super::strings::MOVING);
                        } else if moving {
                            app.info(super::strings::MOVED);
                        }
                        moving = s.moving;
                    }
                    Err(_) => session_open = false,
                }
                pacer.mark_dirty();
            }
            changed = snaps.changed(), if snaps_open => {
                match changed {
                    Ok(()) => {
                        let before = snap.state.captain.clone();
                        snap = snaps.borrow_and_update().clone();
                        app.on_captain(&before, &snap.state.captain);
                    }
                    Err(_) => {
                        // The runtime ended (release final) or failed: keep the
                        // last screen up so the operator sees how it ended.
                        snaps_open = false;
                        app.runtime_stopped = true;
                        app.info(super::strings::RUNTIME_STOPPED);
                    }
                }
                pacer.mark_dirty();
            }
            _ = ticker.tick() => pacer.mark_dirty(),
            _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
        }
    }
}

/// Shows a command's verdict. It comes after the snapshot it produced, so that one is
/// taken first.
fn on_verdict(
    app: &mut App,
    cmd: &Command,
    result: Result<(), SendError>,
    snaps: &mut tokio::sync::watch::Receiver<Snapshot>,
    snap: &mut Snapshot,
) {
    app.on_command_result(cmd, result);
    if snaps.has_changed().unwrap_or(false) {
        *snap = snaps.borrow_and_update().clone();
    }
}

/// Draws one frame of the cockpit (or the too-small screen) and remembers which
/// of the two the operator is looking at.
fn draw(
    terminal: &mut impl FrameSink,
    app: &mut App,
    snap: &Snapshot,
    link: &ReleaseLink,
    theme: &Theme,
) -> Result<(), TerminalError> {
    // Release time now, not at the last decision: countdowns keep moving.
    let now = link.clock().now().max(snap.now);
    let mut small = false;
    terminal.draw_frame(&mut |f: &mut Frame| {
        small = is_too_small(f.area().as_size());
        view::render(f, &snap.state, now, app, theme);
    })?;
    app.too_small = small;
    Ok(())
}
