//! A tmux harness for end-to-end tests of full-screen programs.
//!
//! A real terminal is the only place some promises can be checked: that the cockpit
//! draws in the alternate screen, that keys sent by a person reach it, and above all
//! that the terminal is restored when it exits, panics or is signalled. tmux gives
//! tests a scriptable terminal: `send-keys` types, `capture-pane` reads the screen,
//! `display -p '#{alternate_on}'` reports terminal modes.
//!
//! Each [`TmuxSession`] runs its own tmux server on a private socket (`tmux -L`),
//! with a private config (no status line, so the pane is exactly the requested size;
//! panes stay after their program exits, so the final screen can be read), and kills
//! it on drop. Sessions never touch the developer's own tmux.
//!
//! Waiting is by polling the screen for a condition with a bounded timeout
//! ([`TmuxSession::wait_for`]), never by sleeping a fixed time.
//!
//! When tmux is not installed, tests call [`tmux_or_skip`] and return early with a
//! loud "SKIPPED" on stderr; CI sets `SHIPDECK_REQUIRE_TMUX=1` to make that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How often [`TmuxSession::wait_for`] reads the screen.
const POLL: Duration = Duration::from_millis(50);
/// The default bound for waits in tests: generous for a loaded CI machine, and only
/// ever reached when the test is failing.
pub const TIMEOUT: Duration = Duration::from_secs(15);

const EXITED_MARKER: &str = "__SHIPDECK_EXITED__";
const PROBED_MARKER: &str = "__SHIPDECK_PASTE_PROBED__";
const PASTE_PROBE: &str = "shipdeck-paste-probe";
/// The paste probe is a local round trip through tmux; it only takes long when the
/// terminal was left raw and it can never complete.
const PASTE_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether a `tmux` binary can be run.
pub fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// True if tmux is available. Otherwise prints "SKIPPED: tmux not installed" to
/// stderr and returns false (the test should return), or panics when
/// `SHIPDECK_REQUIRE_TMUX=1` (CI, where skipping would hide a missing dependency).
pub fn tmux_or_skip(test: &str) -> bool {
    if tmux_available() {
        return true;
    }
    if std::env::var("SHIPDECK_REQUIRE_TMUX").as_deref() == Ok("1") {
        panic!("{test}: SHIPDECK_REQUIRE_TMUX=1 but tmux is not installed");
    }
    eprintln!("\n**** SKIPPED: tmux not installed ({test}) ****\n");
    false
}

/// Quotes a string for `sh`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A tmux server with one session running one command in one pane.
pub struct TmuxSession {
    socket: String,
    /// The socket's file, removed on drop: tmux leaves it behind after kill-server.
    socket_path: Option<PathBuf>,
    target: String,
    dir: tempfile::TempDir,
    probed: bool,
}

/// The terminal as the program left it, read after it exited (see
/// [`TmuxSession::start_probed`]).
#[derive(Debug, Clone)]
pub struct ExitReport {
    /// The program's exit status as `sh` saw it (128 + n for a signal).
    pub status: i32,
    /// `stty -a` run right after the program exited, on the same terminal.
    pub stty: String,
    /// Whether the pane was still on the alternate screen.
    pub alternate_on: bool,
    /// Whether the cursor was visible.
    pub cursor_visible: bool,
    /// What a bracketed paste of a probe line delivered to the next program: exactly
    /// the line if bracketed paste was turned off, the line after `ESC[200~` if it
    /// was left on, nothing if the line never ended (raw mode).
    pub pasted: String,
    /// What the pane showed after the program exited, with its scrollback and
    /// wrapped lines joined (see [`TmuxSession::capture_history`]).
    pub screen: String,
}

impl ExitReport {
    /// Every way the terminal was not restored, in words; empty when all is well.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let flags: Vec<&str> = self.stty.split_whitespace().collect();
        // A raw terminal has these off; a cooked one (the operator's shell) has them on.
        for flag in ["icanon", "echo", "isig", "icrnl", "opost"] {
            if !flags.contains(&flag) {
                problems.push(format!("stty: `{flag}` is off (terminal left raw)"));
            }
        }
        if self.alternate_on {
            problems.push("still on the alternate screen".into());
        }
        if !self.cursor_visible {
            problems.push("cursor still hidden".into());
        }
        if self.pasted.is_empty() {
            problems.push("a pasted line never arrived (terminal left raw?)".into());
        } else if self.pasted != format!("{PASTE_PROBE}\n") {
            problems.push(format!(
                "bracketed paste still on: a paste arrived as {:?}",
                self.pasted
            ));
        }
        problems
    }

    /// Panics with every problem and the final screen unless the terminal was
    /// fully restored.
    pub fn assert_restored(&self) {
        let problems = self.problems();
        assert!(
            problems.is_empty(),
            "terminal not restored:\n  {}\n--- stty -a ---\n{}\n--- screen ---\n{}",
            problems.join("\n  "),
            self.stty,
            self.screen
        );
    }
}

impl TmuxSession {
    /// Starts `command` (run by `/bin/sh -c`) in a `width`×`height` pane with `env`
    /// added to its environment. `name` labels the socket, for debugging leftovers.
    pub fn start(
        name: &str,
        width: u16,
        height: u16,
        command: &str,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|err| format!("tempdir: {err}"))?;
        Self::start_in(dir, name, (width, height), command, env)
    }

    fn start_in(
        dir: tempfile::TempDir,
        name: &str,
        (width, height): (u16, u16),
        command: &str,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let label: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(24)
            .collect();
        let socket = format!(
            "shipdeck-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let config = dir.path().join("tmux.conf");
        std::fs::write(
            &config,
            "set -g status off\n\
             set -g remain-on-exit on\n\
             set -g default-shell /bin/sh\n\
             set -g history-limit 2000\n",
        )
        .map_err(|err| format!("writing {}: {err}", config.display()))?;

        let mut session = Self {
            socket,
            socket_path: None,
            target: "main".into(),
            dir,
            probed: false,
        };
        let mut args: Vec<String> = vec![
            "-f".into(),
            config.display().to_string(),
            "new-session".into(),
            "-d".into(),
            "-s".into(),
            session.target.clone(),
            "-x".into(),
            width.to_string(),
            "-y".into(),
            height.to_string(),
        ];
        for (key, value) in env {
            args.push("-e".into());
            args.push(format!("{key}={value}"));
        }
        args.push(command.into());
        session.tmux(&args)?;
        session.socket_path = session.display("#{socket_path}").ok().map(PathBuf::from);
        Ok(session)
    }

    /// Like [`start`](Self::start), but after `command` exits the pane records how
    /// the terminal was left, for [`wait_for_exit`](Self::wait_for_exit): the exit
    /// status, `stty -a`, and what a bracketed paste delivers to the next program.
    pub fn start_probed(
        name: &str,
        width: u16,
        height: u16,
        command: &str,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|err| format!("tempdir: {err}"))?;
        let probe_dir = dir.path().to_path_buf();
        let q = |file: &str| shell_quote(&probe_dir.join(file).display().to_string());
        let wrapped = format!(
            "({command})\n\
             echo $? > {status}\n\
             stty -a > {stty} 2>&1\n\
             echo {EXITED_MARKER}\n\
             head -n 1 > {paste}\n\
             echo {PROBED_MARKER}\n",
            status = q("status"),
            stty = q("stty"),
            paste = q("paste"),
        );
        let mut session = Self::start_in(dir, name, (width, height), &wrapped, env)?;
        session.probed = true;
        Ok(session)
    }

    fn tmux<S: AsRef<std::ffi::OsStr>>(&self, args: &[S]) -> Result<String, String> {
        let output: Output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            // Inside a developer's tmux, $TMUX would make some commands target it.
            .env_remove("TMUX")
            .output()
            .map_err(|err| format!("running tmux: {err}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!(
                "tmux {:?} failed: {}",
                args.iter()
                    .map(|a| a.as_ref().to_string_lossy().into_owned())
                    .collect::<Vec<_>>(),
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    }

    /// Sends keys as tmux names them: `"q"`, `"Enter"`, `"Escape"`, `"Tab"`,
    /// `"Up"`, `"C-c"`. Each element is one key (or a literal string of keys).
    pub fn send_keys(&self, keys: &[&str]) -> Result<(), String> {
        let mut args = vec!["send-keys", "-t", &self.target];
        args.extend_from_slice(keys);
        self.tmux(&args).map(drop)
    }

    /// Types `text` literally (no key-name lookup: "Enter" is five letters).
    pub fn send_text(&self, text: &str) -> Result<(), String> {
        self.tmux(&["send-keys", "-t", &self.target, "-l", text])
            .map(drop)
    }

    /// Pastes `text` as a terminal would: wrapped in bracketed-paste markers if the
    /// program asked for them, with newlines sent as CR (as real terminals do).
    pub fn paste(&self, text: &str) -> Result<(), String> {
        self.tmux(&["set-buffer", "-b", "shipdeck-test", text])?;
        self.tmux(&[
            "paste-buffer",
            "-p",
            "-d",
            "-b",
            "shipdeck-test",
            "-t",
            &self.target,
        ])
        .map(drop)
    }

    /// Resizes the pane's window (e.g. below 80×24 to see the "too small" screen).
    pub fn resize(&self, width: u16, height: u16) -> Result<(), String> {
        let (w, h) = (width.to_string(), height.to_string());
        self.tmux(&["resize-window", "-t", &self.target, "-x", &w, "-y", &h])
            .map(drop)
    }

    /// The visible screen as text, one line per row, trailing spaces trimmed.
    pub fn capture(&self) -> Result<String, String> {
        self.tmux(&["capture-pane", "-p", "-t", &self.target])
    }

    /// Everything the pane shows and has scrolled off (its history), with lines the
    /// terminal wrapped joined back together: for checking what a program printed
    /// (e.g. a panic report longer than the screen).
    pub fn capture_history(&self) -> Result<String, String> {
        let text = self.tmux(&["capture-pane", "-p", "-J", "-S", "-", "-t", &self.target])?;
        // -J keeps trailing spaces; trim them as `capture` does.
        Ok(text
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// Expands a tmux format (`#{alternate_on}`, `#{cursor_flag}`, `#{pane_dead}`…)
    /// for the pane.
    pub fn display(&self, format: &str) -> Result<String, String> {
        self.tmux(&["display-message", "-p", "-t", &self.target, format])
            .map(|out| out.trim().to_string())
    }

    /// Whether the pane is on the alternate screen right now.
    pub fn alternate_on(&self) -> Result<bool, String> {
        Ok(self.display("#{alternate_on}")? == "1")
    }

    /// Whether the cursor is visible right now.
    pub fn cursor_visible(&self) -> Result<bool, String> {
        Ok(self.display("#{cursor_flag}")? == "1")
    }

    /// `stty -a` of the pane's terminal, read from outside while the program runs
    /// (to see that it *did* enter raw mode).
    pub fn pane_stty(&self) -> Result<String, String> {
        let tty = self.display("#{pane_tty}")?;
        let input = std::fs::File::open(&tty).map_err(|err| format!("opening {tty}: {err}"))?;
        let output = Command::new("stty")
            .arg("-a")
            .stdin(input)
            .output()
            .map_err(|err| format!("running stty: {err}"))?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Polls the screen every ~50 ms until `done(screen)` holds, up to `timeout`.
    /// `Err` carries the last screen, for the failure message.
    pub fn wait_for(
        &self,
        done: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.capture()?;
            if done(&screen) {
                return Ok(screen);
            }
            if Instant::now() >= deadline {
                return Err(screen);
            }
            std::thread::sleep(POLL);
        }
    }

    /// [`wait_for`](Self::wait_for) until the screen contains `text`.
    pub fn wait_for_text(&self, text: &str, timeout: Duration) -> Result<String, String> {
        self.wait_for(|screen| screen.contains(text), timeout)
    }

    /// For a session from [`start_probed`](Self::start_probed): waits until the
    /// program has exited, then reports how it left the terminal.
    pub fn wait_for_exit(&self, timeout: Duration) -> Result<ExitReport, String> {
        if !self.probed {
            return Err("wait_for_exit needs a session from start_probed".into());
        }
        self.wait_for_text(EXITED_MARKER, timeout)
            .map_err(|screen| format!("program did not exit; last screen:\n{screen}"))?;
        // Read the modes before anything else runs on the terminal.
        let alternate_on = self.alternate_on()?;
        let cursor_visible = self.cursor_visible()?;
        let stty = self.read_probe("stty")?;
        let status_text = self.read_probe("status")?;
        let status = status_text
            .trim()
            .parse()
            .map_err(|err| format!("exit status {status_text:?}: {err}"))?;
        // `head -n 1` is now reading the terminal: paste one line into it. On a
        // terminal left raw the line never ends (CR is not turned into NL), so this
        // wait is bounded and its failure is reported as a problem, not an error.
        self.paste(&format!("{PASTE_PROBE}\n"))?;
        let screen = self.capture_history()?;
        let pasted = match self.wait_for_text(PROBED_MARKER, timeout.min(PASTE_PROBE_TIMEOUT)) {
            Ok(_) => self.read_probe("paste")?,
            Err(_) => String::new(),
        };
        Ok(ExitReport {
            status,
            stty,
            alternate_on,
            cursor_visible,
            pasted,
            screen,
        })
    }

    fn read_probe(&self, file: &str) -> Result<String, String> {
        let path: PathBuf = self.dir.path().join(file);
        std::fs::read_to_string(&path).map_err(|err| format!("reading {}: {err}", path.display()))
    }

    /// The directory of this session's private files (config, probes).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server and everything running in it. Also done on drop.
    pub fn kill_server(&self) {
        // Already gone is fine: this runs from Drop too.
        let _ = self.tmux(&["kill-server"]);
    }
}

impl Drop for TmuxSession {
    fn drop(&mut self) {
        self.kill_server();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}
