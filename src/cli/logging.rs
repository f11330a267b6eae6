//! Logs go to a file in the state dir through tracing, never onto the terminal the
//! cockpit draws on. `SHIPDECK_LOG` sets the filter (default `info`).

use std::sync::OnceLock;

use crate::runtime::state_dir::StateDir;

static INIT: OnceLock<()> = OnceLock::new();

pub fn init(dir: &StateDir) {
    INIT.get_or_init(|| {
        let path = dir.log_path();
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let Ok(file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        else {
            return;
        };
        let filter = tracing_subscriber::EnvFilter::try_from_env("SHIPDECK_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .try_init();
    });
}
