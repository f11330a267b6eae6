//! What every subcommand needs: the configuration, the state dir, the operator.
//! Loaded lazily, so `plan` never needs a state dir and `status` never parses config.

use crate::cli::args::Global;
use crate::cli::error::CliError;
use crate::config::{self, ConfigSource};
use crate::domain::{Configuration, ReleaseType, Version};
use crate::runtime::state_dir::StateDir;

pub struct Context {
    pub global: Global,
}

impl Context {
    pub fn config(&self) -> Result<Configuration, CliError> {
        let source = config::discover(self.global.config.as_deref());
        self.config_from(&source)
    }

    pub fn config_from(&self, source: &ConfigSource) -> Result<Configuration, CliError> {
        config::load(source).map_err(|errors| {
            CliError::error(format!(
                "the configuration ({source}) has {} error{}:\n{errors}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            ))
        })
    }

    pub fn state_dir(&self) -> Result<StateDir, CliError> {
        StateDir::resolve(self.global.state_dir.clone()).map_err(|e| CliError::error(e.to_string()))
    }

    /// `--as`, else the OS user, else "operator".
    pub fn operator(&self) -> String {
        self.global
            .operator
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
            .or_else(|| std::env::var("LOGNAME").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "operator".to_string())
    }
}

pub fn parse_version(s: &str) -> Result<Version, CliError> {
    s.parse::<Version>()
        .map_err(|e| CliError::error(e.to_string()))
}

pub fn parse_type(s: &str) -> Result<ReleaseType, CliError> {
    s.parse::<ReleaseType>()
        .map_err(|e| CliError::error(e.to_string()))
}

/// Writes output, turning a closed pipe (`| head`) into a quiet stop, not a panic.
pub fn out(w: &mut dyn std::io::Write, text: &str) -> Result<(), CliError> {
    w.write_all(text.as_bytes())
        .map_err(|e| CliError::error(format!("cannot write output: {e}")))
}
