//! Runs the start screen (`start`) on the one event loop and draws it with
//! `view::start`. Kept apart from the model so that the model and its view do not
//! import each other.

use std::future::Future;
use std::io;

use chrono::{DateTime, Utc};
use crossterm::event::Event;
use futures_util::Stream;
use ratatui::Frame;

use super::event_loop::{self, Flow, FrameSink, Screen};
use super::start::{StartExit, StartOutcome, StartScreen};
use super::terminal::{ShutdownSignal, TerminalError};
use super::theme::Theme;
use super::view;

/// How the loop draws: the theme, and the time the plan's clock times count from.
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub theme: Theme,
    /// A fixed time for the plan's clock times (tests); None reads the wall clock.
    pub now: Option<DateTime<Utc>>,
}

/// Runs the start screen until the operator starts a plan, quits, or a signal
/// arrives. Any frame sink, any event stream: the CLI passes its terminal session
/// (which the cockpit then reuses), tests a `TestBackend` and scripted keys. The
/// end of the event stream counts as quitting, after one last frame.
pub async fn run_with<S, F>(
    screen: &mut StartScreen,
    opts: &StartOptions,
    terminal: &mut impl FrameSink,
    events: S,
    signals: F,
) -> Result<StartExit, TerminalError>
where
    S: Stream<Item = io::Result<Event>> + Unpin,
    F: Future<Output = ShutdownSignal>,
{
    let mut looped = StartLoop {
        screen,
        opts,
        drawn: view::start::Drawn::default(),
    };
    event_loop::run(&mut looped, terminal, events, signals).await
}

/// The start screen as the event loop runs it.
struct StartLoop<'a> {
    screen: &'a mut StartScreen,
    opts: &'a StartOptions,
    drawn: view::start::Drawn,
}

impl Screen for StartLoop<'_> {
    type Exit = StartExit;

    async fn on_input(&mut self, event: Event) -> Flow<StartExit> {
        match event {
            Event::Key(k) => match self.screen.on_key(k) {
                None => Flow::REDRAW,
                Some(StartOutcome::Quit) => Flow::Exit(StartExit::Quit),
                Some(StartOutcome::Start(plan)) => Flow::Exit(StartExit::Start(plan)),
            },
            Event::Paste(pasted) => {
                self.screen.on_paste(&pasted);
                Flow::REDRAW
            }
            _ => Flow::QUIET,
        }
    }

    fn render(&mut self, frame: &mut Frame) {
        let now = self.opts.now.unwrap_or_else(Utc::now);
        self.drawn = view::start::render(frame, self.screen, now, &self.opts.theme);
    }

    fn drew(&mut self) {
        self.screen.too_small = self.drawn.too_small;
        self.screen.scroll = self.drawn.scroll;
    }

    async fn on_input_end(&mut self) -> StartExit {
        StartExit::Quit
    }

    fn on_signal(&mut self, signal: ShutdownSignal) -> StartExit {
        StartExit::Signal(signal)
    }
}
