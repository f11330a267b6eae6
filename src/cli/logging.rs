//! Logs go to a file in the state dir through tracing, never onto the terminal the
//! cockpit draws on. `SHIPDECK_LOG` sets the filter (default `info`).
//!
//! If the log file cannot be opened, logging is off for the run, journal warnings
//! included; that is said once on stderr (or, while a full-screen view owns the
//! terminal, kept until it is given back: see [`take_warning`]), never silently.

use std::sync::{Mutex, OnceLock};

use crate::runtime::state_dir::{StateDir, create_dir_all_durable, open_state_file};

static INIT: OnceLock<()> = OnceLock::new();
static WARNING: Mutex<Option<String>> = Mutex::new(None);

/// Opens the log file (mode 0600, never through a symlink) and routes tracing to
/// it. On failure, prints why on stderr once.
pub fn init(dir: &StateDir) {
    if init_quiet(dir).is_some()
        && let Some(w) = take_warning()
    {
        eprintln!("shipdeck: {w}");
    }
}

/// As [`init`], but a failure is kept for [`take_warning`] instead of printed:
/// for callers whose terminal is in raw mode, where stderr would land in the
/// middle of the screen.
pub fn init_quiet(dir: &StateDir) -> Option<String> {
    let mut warning = None;
    INIT.get_or_init(|| {
        let path = dir.log_path();
        let opened = dir
            .check(None)
            .map_err(|e| e.to_string())
            .and_then(|()| create_dir_all_durable(&dir.root).map_err(|e| e.to_string()))
            .and_then(|()| open_state_file(&path, true).map_err(|e| e.to_string()));
        let file = match opened {
            Ok((file, _)) => file,
            Err(e) => {
                let w = format!(
                    "cannot open the log file {}: {}; logging is off for this run (journal warnings included)",
                    path.display(),
                    crate::domain::escape(&e)
                );
                if let Ok(mut slot) = WARNING.lock() {
                    *slot = Some(w.clone());
                }
                warning = Some(w);
                return;
            }
        };
        let filter = tracing_subscriber::EnvFilter::try_from_env("SHIPDECK_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(Mutex::new(file))
            .with_ansi(false)
            .try_init();
    });
    warning
}

/// The warning of a log file that could not be opened, once, for printing after a
/// full-screen view gave the terminal back.
pub fn take_warning() -> Option<String> {
    WARNING.lock().ok().and_then(|mut slot| slot.take())
}
