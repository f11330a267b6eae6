//! The CLI's error and exit-code contract, as ripgrep's: 0 done, 1 nothing more to
//! do without a person (waiting on a gate, paused, refused), 2 error (bad config,
//! bad input, I/O); 129, 130, 143 stopped by SIGHUP, SIGINT, SIGTERM. Messages print as `shipdeck: ` plus the context chain.

use std::fmt;

pub const EXIT_OK: i32 = 0;
pub const EXIT_WAITING: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
/// Stopped by SIGHUP (128 + 1): the terminal or ssh session went away. `deploy`
/// pauses and journals it; the cockpit restores the terminal and leaves the
/// release as it was (nothing advances until it is opened again).
pub const EXIT_HANGUP: i32 = 129;
/// Interrupted by Ctrl-C / SIGINT (128 + 2): `deploy` pauses and journals it; the
/// cockpit leaves the release as it was.
pub const EXIT_INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM (128 + 15): as SIGHUP.
pub const EXIT_TERMINATED: i32 = 143;

#[derive(Debug)]
pub struct CliError {
    pub code: i32,
    pub message: String,
}

impl CliError {
    /// A usage, config or I/O error: exit 2.
    pub fn error(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_ERROR,
            message: message.into(),
        }
    }
    /// The engine refused, or the release waits on people: exit 1.
    pub fn refused(message: impl Into<String>) -> CliError {
        CliError {
            code: EXIT_WAITING,
            message: message.into(),
        }
    }
    pub fn context(self, what: impl fmt::Display) -> CliError {
        CliError {
            code: self.code,
            message: format!("{what}: {}", self.message),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

pub type CliResult = Result<i32, CliError>;

impl From<crate::runtime::store::StoreError> for CliError {
    fn from(e: crate::runtime::store::StoreError) -> CliError {
        CliError::error(e.to_string())
    }
}
