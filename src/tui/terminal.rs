//! The terminal session: the only code that switches the terminal into (and out of)
//! cockpit mode.
//!
//! The cockpit runs over ssh and inside tmux, where a terminal left in raw mode or on
//! the alternate screen is more than an annoyance: the operator may be mid-release
//! and lose their shell. So every way out of the program restores the terminal:
//!
//! - normal exit: [`TerminalSession`]'s `Drop`;
//! - panic: a panic hook that restores *first*, then runs the previous hook, so the
//!   report prints on a sane terminal;
//! - SIGTERM / SIGHUP / SIGINT: [`ShutdownSignals`], which the event loop `select!`s
//!   on so the program unwinds through the normal exit path.
//!
//! Entering means: raw mode, alternate screen, hidden cursor, bracketed paste (a
//! pasted reason arrives as one `Event::Paste`, not as keys that could trigger
//! actions). No mouse capture: operators select and copy text with the mouse, and
//! tmux users scroll with it.
//!
//! Terminal mode is process-wide, so the "are we in cockpit mode" flag is a process
//! global ([`is_active`]); [`restore`] is idempotent and may run from any thread, any
//! number of times. The escape sequences are written by generic functions
//! ([`write_enter_sequence`], [`write_restore_sequence`]) so tests can assert the
//! exact bytes without a terminal.
//!
//! Frames go through [`FrameWriter`], which buffers a whole frame and writes it with
//! one `write` between `BeginSynchronizedUpdate` and `EndSynchronizedUpdate`: tmux and
//! slow links then never show half a frame, and a frame is one burst of ssh packets.
//! The writer drops (never flushes) bytes queued after a restore, so a frame
//! interrupted by a panic cannot spill onto the primary screen.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};

use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::style::ResetColor;
use crossterm::terminal::{
    BeginSynchronizedUpdate, EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen,
    disable_raw_mode, enable_raw_mode,
};
use crossterm::{execute, queue};
use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Size;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Why the terminal could not be put into (or kept in) cockpit mode.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    /// stdout is a pipe or a file: a full-screen cockpit would write escape codes into it.
    #[error(
        "the cockpit needs an interactive terminal, but stdout is not a terminal \
         (run it in a terminal, or use a headless subcommand)"
    )]
    NotATerminal,
    /// A second session was requested while one is active; terminal modes are
    /// process-wide, so two sessions would restore each other's state.
    #[error("a terminal session is already active in this process")]
    AlreadyActive,
    /// The terminal was restored underneath the session (a panic elsewhere, or an
    /// explicit `restore()`); drawing now would paint over the operator's shell.
    #[error("the terminal has been restored; the cockpit can no longer draw")]
    Restored,
    /// Any I/O failure talking to the terminal.
    #[error("terminal I/O failed: {0}")]
    Io(#[from] io::Error),
}

/// Process-wide: true between a successful enter and the first restore.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The panic hook is chained once per process, not once per session, so repeated
/// sessions (tests, suspend/resume later) do not stack hooks.
static PANIC_HOOK: Once = Once::new();

/// Whether the terminal is currently in cockpit mode.
pub fn is_active() -> bool {
    ACTIVE.load(Ordering::SeqCst)
}

/// Writes the bytes that put the terminal into cockpit mode (raw mode is a termios
/// setting, not bytes, and is handled by [`TerminalSession::enter`]).
pub fn write_enter_sequence(w: &mut impl Write) -> io::Result<()> {
    queue!(w, EnterAlternateScreen, EnableBracketedPaste, Hide)?;
    w.flush()
}

/// Writes the bytes that undo [`write_enter_sequence`] and anything a frame may have
/// left half-done.
///
/// `EndSynchronizedUpdate` comes first because a panic inside `draw` leaves the
/// terminal holding back output until the update ends; `ResetColor` because the panic
/// may have interrupted a styled cell. The cursor is shown after leaving the alternate
/// screen so it is visible on the screen the operator returns to.
pub fn write_restore_sequence(w: &mut impl Write) -> io::Result<()> {
    queue!(
        w,
        EndSynchronizedUpdate,
        ResetColor,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        Show
    )?;
    w.flush()
}

/// Restores the terminal if (and only if) it is in cockpit mode. Idempotent and
/// callable from any thread, including a panic hook.
///
/// It only acts once because leaving the alternate screen when not on it is not a
/// no-op in every terminal (xterm restores a saved cursor position).
///
/// Both steps are attempted even if one fails (e.g. the ssh connection is gone and
/// writing fails with EIO); the first error is returned.
pub fn restore() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    // Raw mode first, as ratatui does: it has the larger side effects (no echo, no
    // line editing) and needs no working output to undo.
    let raw = disable_raw_mode();
    let mut stdout = io::stdout();
    let seq = write_restore_sequence(&mut stdout);
    raw.and(seq)
}

/// Chains a panic hook that restores the terminal and then runs the previous hook.
///
/// Called by [`TerminalSession::enter`]; safe to call more than once. Hooks installed
/// *before* this one (e.g. one that logs panics through tracing) still run, after the
/// restore; install them before entering the terminal.
///
/// Note: a panic in *any* thread restores the terminal, including a tokio task whose
/// panic the runtime would otherwise catch. That is deliberate (the report must be
/// readable); after it, [`TerminalSession::draw`] returns [`TerminalError::Restored`]
/// so the app exits instead of drawing on the primary screen.
pub fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Err(err) = restore() {
                // Nothing better to do: the report below still goes to stderr.
                tracing::error!(%err, "failed to restore the terminal during a panic");
            }
            previous(info);
        }));
    });
}

/// A `Write` that holds a frame's bytes and sends them to stdout in one write.
///
/// While held, `flush` is deferred, so ratatui's own flush at the end of
/// `Terminal::draw` does not split the frame from its `EndSynchronizedUpdate`.
/// Once the terminal is restored, queued bytes are discarded rather than written.
///
/// The state is shared (`Arc<Mutex>`) because the backend owns the writer and
/// ratatui 0.30 only exposes the backend's writer behind an unstable feature; the
/// session keeps a [`FrameWriter::handle`] to the same state. The lock is never held
/// across an `.await` or while calling into ratatui.
#[derive(Debug, Clone, Default)]
pub struct FrameWriter {
    inner: Arc<Mutex<FrameBuffer>>,
}

#[derive(Debug, Default)]
struct FrameBuffer {
    buf: Vec<u8>,
    hold: bool,
}

impl FrameWriter {
    /// Another handle to the same buffer (for the session to hold and send).
    pub fn handle(&self) -> Self {
        self.clone()
    }

    /// Defers flushes until [`release`](Self::release).
    pub fn hold(&self) {
        self.lock().hold = true;
    }

    /// Ends a [`hold`](Self::hold) and sends what was buffered.
    pub fn release(&self) -> io::Result<()> {
        let mut inner = self.lock();
        inner.hold = false;
        inner.send()
    }

    /// The bytes buffered and not yet sent (for tests and diagnostics).
    pub fn pending(&self) -> Vec<u8> {
        self.lock().buf.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FrameBuffer> {
        // A poisoned lock only means a panic mid-frame; the bytes are still bytes and
        // the restore path must not panic again.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl FrameBuffer {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        if !is_active() {
            self.buf.clear();
            return Ok(());
        }
        let mut out = io::stdout().lock();
        let result = out.write_all(&self.buf).and_then(|()| out.flush());
        // Cleared even on error: retrying half a frame would garble the screen, and
        // the next frame repaints the changed cells anyway.
        self.buf.clear();
        result
    }
}

impl Write for FrameWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.lock().buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut inner = self.lock();
        if inner.hold { Ok(()) } else { inner.send() }
    }
}

/// Draws one frame wrapped in a synchronized update.
///
/// Generic over the writer so tests can check the bytes; [`TerminalSession::draw`]
/// is the production caller.
pub fn draw_synchronized<W: Write>(
    terminal: &mut Terminal<CrosstermBackend<W>>,
    render: impl FnOnce(&mut Frame),
) -> io::Result<()> {
    queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    terminal.draw(render)?;
    execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    Ok(())
}

/// The cockpit's hold on the terminal. Create with [`TerminalSession::enter`]; the
/// terminal is restored when it is dropped (or earlier, with [`TerminalSession::restore`]).
pub struct TerminalSession {
    terminal: Terminal<CrosstermBackend<FrameWriter>>,
    /// The same buffer the backend writes into, to hold and send whole frames.
    writer: FrameWriter,
}

impl std::fmt::Debug for TerminalSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalSession")
            .field("active", &is_active())
            .finish_non_exhaustive()
    }
}

impl TerminalSession {
    /// Enters cockpit mode: raw mode, alternate screen, hidden cursor, bracketed paste.
    ///
    /// Fails without touching the terminal if stdout is not a terminal or a session
    /// is already active. If a step fails half-way, what was done is undone.
    pub fn enter() -> Result<Self, TerminalError> {
        use std::io::IsTerminal;
        if !io::stdout().is_terminal() {
            return Err(TerminalError::NotATerminal);
        }
        install_panic_hook();
        if ACTIVE
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(TerminalError::AlreadyActive);
        }
        match Self::enter_modes() {
            Ok(session) => Ok(session),
            Err(err) => {
                // Best effort: the original error is the one worth reporting.
                let _ = restore();
                Err(err.into())
            }
        }
    }

    fn enter_modes() -> io::Result<Self> {
        enable_raw_mode()?;
        write_enter_sequence(&mut io::stdout())?;
        let writer = FrameWriter::default();
        let mut terminal = Terminal::new(CrosstermBackend::new(writer.handle()))?;
        // The alternate screen is usually blank, but not in every terminal; a clear
        // also makes ratatui's first diff a full repaint.
        terminal.clear()?;
        Ok(Self { terminal, writer })
    }

    /// Draws one frame, atomically from the terminal's point of view.
    ///
    /// Returns [`TerminalError::Restored`] if the terminal was restored underneath
    /// the session (e.g. a panic in another task): the caller should exit.
    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> Result<(), TerminalError> {
        if !is_active() {
            return Err(TerminalError::Restored);
        }
        self.writer.hold();
        let drawn = draw_synchronized(&mut self.terminal, render);
        let sent = self.writer.release();
        drawn?;
        sent?;
        Ok(())
    }

    /// The terminal's current size in cells.
    pub fn size(&self) -> Result<Size, TerminalError> {
        Ok(self.terminal.size()?)
    }

    /// Forgets what is on screen so the next [`draw`](Self::draw) repaints every cell.
    /// For the rare case the screen was disturbed behind ratatui's back (e.g. an
    /// operator's `Ctrl-L`); resizes are handled by ratatui itself.
    pub fn clear(&mut self) -> Result<(), TerminalError> {
        self.terminal.clear()?;
        Ok(())
    }

    /// Restores the terminal now; dropping the session afterwards does nothing more.
    pub fn restore(self) -> Result<(), TerminalError> {
        // Drop runs too, and finds the terminal already restored.
        Ok(restore()?)
    }
}

impl Drop for TerminalSession {
    fn drop(&mut self) {
        if let Err(err) = restore() {
            tracing::error!(%err, "failed to restore the terminal");
        }
    }
}

/// Which signal asked the cockpit to shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownSignal {
    /// SIGTERM: e.g. `kill`, a supervisor stopping the process.
    Terminate,
    /// SIGHUP: the ssh connection or the tmux pane went away.
    Hangup,
    /// SIGINT: `kill -INT`. In raw mode `Ctrl-C` is a key event, not this signal.
    Interrupt,
}

impl ShutdownSignal {
    /// The conventional exit status for dying of this signal (128 + signal number),
    /// so scripts and supervisors see the same status as for an unhandled signal.
    pub fn exit_code(self) -> i32 {
        128 + match self {
            Self::Hangup => libc::SIGHUP,
            Self::Interrupt => libc::SIGINT,
            Self::Terminate => libc::SIGTERM,
        }
    }

    /// The signal's conventional name, for logs and the exit message.
    pub fn name(self) -> &'static str {
        match self {
            Self::Terminate => "SIGTERM",
            Self::Hangup => "SIGHUP",
            Self::Interrupt => "SIGINT",
        }
    }
}

impl std::fmt::Display for ShutdownSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// SIGTERM, SIGHUP and SIGINT as one awaitable source.
///
/// Once installed, these signals no longer kill the process: the event loop must
/// `select!` on [`ShutdownSignals::recv`] and exit through its normal path (which
/// restores the terminal and lets the runtime finish journaling).
#[derive(Debug)]
pub struct ShutdownSignals {
    terminate: Signal,
    hangup: Signal,
    interrupt: Signal,
}

/// Installs handlers for SIGTERM, SIGHUP and SIGINT. Must be called inside a tokio
/// runtime; call it before entering the terminal so no signal can arrive unhandled
/// while the terminal is raw.
pub fn shutdown_signals() -> io::Result<ShutdownSignals> {
    Ok(ShutdownSignals {
        terminate: signal(SignalKind::terminate())?,
        hangup: signal(SignalKind::hangup())?,
        interrupt: signal(SignalKind::interrupt())?,
    })
}

impl ShutdownSignals {
    /// Waits for the next shutdown signal. Cancel-safe, so it can sit in a `select!`
    /// loop: a signal that arrives while another branch runs is kept for the next call.
    pub async fn recv(&mut self) -> ShutdownSignal {
        // `recv` yields `None` only if the signal driver is gone (runtime shutting
        // down); such a branch is disabled and the others still wait.
        tokio::select! {
            Some(()) = self.terminate.recv() => ShutdownSignal::Terminate,
            Some(()) = self.hangup.recv() => ShutdownSignal::Hangup,
            Some(()) = self.interrupt.recv() => ShutdownSignal::Interrupt,
            else => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::{TerminalOptions, Viewport};

    const ESC: &str = "\x1b";

    #[test]
    fn enter_sequence_is_alternate_screen_paste_and_hidden_cursor_without_mouse() {
        let mut out = Vec::new();
        write_enter_sequence(&mut out).unwrap();
        let expected = format!("{ESC}[?1049h{ESC}[?2004h{ESC}[?25l");
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn restore_sequence_undoes_everything_enter_did() {
        let mut out = Vec::new();
        write_restore_sequence(&mut out).unwrap();
        let expected = format!("{ESC}[?2026l{ESC}[0m{ESC}[?2004l{ESC}[?1049l{ESC}[?25h",);
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn restore_when_not_active_writes_nothing_and_succeeds() {
        // No session in unit tests: restore must be a no-op, as it is when called a
        // second time after a real restore.
        assert!(!is_active());
        restore().unwrap();
        restore().unwrap();
        assert!(!is_active());
    }

    #[test]
    fn frames_are_wrapped_in_one_synchronized_update_and_held_until_released() {
        let writer = FrameWriter::default();
        let backend = CrosstermBackend::new(writer.handle());
        let options = TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 12, 2)),
        };
        let mut terminal = Terminal::with_options(backend, options).unwrap();
        writer.hold();
        draw_synchronized(&mut terminal, |frame| {
            frame.render_widget("hello", frame.area());
        })
        .unwrap();
        // ratatui flushed inside `draw`; the hold kept the whole frame together.
        let bytes = String::from_utf8(writer.pending()).unwrap();
        assert!(bytes.starts_with(&format!("{ESC}[?2026h")), "{bytes:?}");
        assert!(bytes.ends_with(&format!("{ESC}[?2026l")), "{bytes:?}");
        assert!(bytes.contains("hello"), "{bytes:?}");
        assert_eq!(bytes.matches("[?2026h").count(), 1);
        // No session is active in unit tests: releasing discards instead of writing
        // onto the operator's primary screen.
        writer.release().unwrap();
        assert!(writer.pending().is_empty());
    }

    #[test]
    fn exit_codes_follow_the_128_plus_signal_convention() {
        assert_eq!(ShutdownSignal::Hangup.exit_code(), 129);
        assert_eq!(ShutdownSignal::Interrupt.exit_code(), 130);
        assert_eq!(ShutdownSignal::Terminate.exit_code(), 143);
    }

    #[tokio::test]
    async fn shutdown_signals_reports_which_signal_arrived() {
        let mut signals = shutdown_signals().unwrap();
        // The handler is installed by now, so this does not kill the test process.
        // SAFETY: kill(2) on our own pid with a handled signal has no memory effects.
        let rc = unsafe { libc::kill(libc::getpid(), libc::SIGHUP) };
        assert_eq!(rc, 0);
        // A bound, not a sleep: delivery is immediate, the timeout only stops a
        // broken handler from hanging the suite.
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), signals.recv())
            .await
            .expect("SIGHUP was not delivered");
        assert_eq!(got, ShutdownSignal::Hangup);
    }
}
