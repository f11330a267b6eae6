//! The one event loop every full-screen view runs on (the start screen, the
//! cockpit): terminal input, shutdown signals, the screen's own sources (snapshots,
//! verdicts, a clock tick) and the frame pacer's wake-up, in one `select!`.
//!
//! A frame is drawn only when something changed, and at most `FramePacer`'s cap a
//! second — no busy loop, so the program stays light over a slow ssh link. Screens
//! say what an input means and what their sources bring; the loop owns the order.

use std::future::Future;
use std::io;

use crossterm::event::Event;
use futures_util::{Stream, StreamExt};
use ratatui::Frame;
use tokio::time::Instant;

use super::frame_pacer::{FramePacer, Pace};
use super::input;
use super::terminal::{ShutdownSignal, TerminalError};

/// What a screen says after an input or a wake-up.
#[derive(Debug)]
pub enum Flow<E> {
    /// Keep going; redraw when `dirty`.
    Continue { dirty: bool },
    /// Leave the loop with this.
    Exit(E),
}

impl<E> Flow<E> {
    pub const REDRAW: Flow<E> = Flow::Continue { dirty: true };
    pub const QUIET: Flow<E> = Flow::Continue { dirty: false };
}

/// A full-screen view the loop runs.
pub trait Screen {
    type Exit;

    /// A key press or paste (resizes and key releases are the loop's).
    fn on_input(&mut self, event: Event) -> impl Future<Output = Flow<Self::Exit>>;

    /// Waits for the screen's own sources (snapshots, verdicts, a tick) and takes
    /// what came. Never resolves for a screen without any.
    fn background(&mut self) -> impl Future<Output = Flow<Self::Exit>> {
        std::future::pending()
    }

    /// Draws one frame.
    fn render(&mut self, frame: &mut Frame);

    /// After a frame: what drawing learnt (too small, clamped scroll).
    fn drew(&mut self) {}

    /// The input ended (the terminal went away, or a script ran out): settle what is
    /// owed, then the loop draws once more and leaves with this.
    fn on_input_end(&mut self) -> impl Future<Output = Self::Exit>;

    fn on_signal(&mut self, signal: ShutdownSignal) -> Self::Exit;
}

/// Where frames go: the real terminal (synchronized updates) or a test backend.
pub trait FrameSink {
    fn draw_frame(&mut self, render: &mut dyn FnMut(&mut Frame)) -> Result<(), TerminalError>;
}

impl FrameSink for super::terminal::TerminalSession {
    fn draw_frame(&mut self, render: &mut dyn FnMut(&mut Frame)) -> Result<(), TerminalError> {
        self.draw(|f| render(f))
    }
}

impl FrameSink for ratatui::Terminal<ratatui::backend::TestBackend> {
    fn draw_frame(&mut self, render: &mut dyn FnMut(&mut Frame)) -> Result<(), TerminalError> {
        match self.draw(|f| render(f)) {
            Ok(_) => Ok(()),
            Err(never) => match never {},
        }
    }
}

fn draw<S: Screen>(screen: &mut S, terminal: &mut impl FrameSink) -> Result<(), TerminalError> {
    terminal.draw_frame(&mut |f: &mut Frame| screen.render(f))?;
    screen.drew();
    Ok(())
}

/// Runs `screen` until it exits, a signal arrives, or the input ends.
pub async fn run<S, E, F>(
    screen: &mut S,
    terminal: &mut impl FrameSink,
    mut events: E,
    signals: F,
) -> Result<S::Exit, TerminalError>
where
    S: Screen,
    E: Stream<Item = io::Result<Event>> + Unpin,
    F: Future<Output = ShutdownSignal>,
{
    let mut pacer = FramePacer::default();
    tokio::pin!(signals);
    loop {
        if pacer.pace(Instant::now()) == Pace::DrawNow {
            draw(screen, terminal)?;
            pacer.drew(Instant::now());
        }
        let wake = pacer.next_frame_at(Instant::now());
        let flow = tokio::select! {
            biased;
            sig = &mut signals => return Ok(screen.on_signal(sig)),
            flow = screen.background() => flow,
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if input::is_press(&k) => {
                    pacer.mark_dirty();
                    screen.on_input(Event::Key(k)).await
                }
                Some(Ok(Event::Paste(text))) => {
                    pacer.mark_dirty();
                    screen.on_input(Event::Paste(text)).await
                }
                Some(Ok(Event::Resize(..))) => Flow::REDRAW,
                Some(Ok(_)) => Flow::QUIET,
                Some(Err(e)) => return Err(e.into()),
                None => {
                    let exit = screen.on_input_end().await;
                    draw(screen, terminal)?;
                    return Ok(exit);
                }
            },
            _ = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => Flow::QUIET,
        };
        match flow {
            Flow::Exit(exit) => return Ok(exit),
            Flow::Continue { dirty: true } => pacer.mark_dirty(),
            Flow::Continue { dirty: false } => {}
        }
    }
}
