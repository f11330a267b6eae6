//! The CLI's error and exit-code contract, as ripgrep's: 0 done, 1 nothing more to
//! do without a person (waiting on a gate, paused, refused), 2 error (bad config,
//! bad input, I/O). Messages print as `shipdeck: ` plus the context chain.

use std::fmt;

pub const EXIT_OK: i32 = 0;
pub const EXIT_WAITING: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
/// Interrupted by Ctrl-C (128 + SIGINT), the release paused and journaled.
pub const EXIT_INTERRUPTED: i32 = 130;

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
