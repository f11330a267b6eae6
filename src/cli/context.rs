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

    /// A `shipdeck` command line to print as a hint: the global flags this run was
    /// given that change what a command sees (`--config`, `--state-dir`), then
    /// `args`, so the hint works when pasted into the same shell.
    pub fn command_line(&self, args: &str) -> String {
        self.build_command(self.global.state_dir.as_deref(), args)
    }

    /// [`Context::command_line`] for a release in `dir`: `--state-dir` names `dir`
    /// whenever it is not the default one (a `shipdeck demo`'s temporary dir, or
    /// one found without `--state-dir`), so the hint reaches that release.
    pub fn command_in(&self, dir: &StateDir, args: &str) -> String {
        let default = StateDir::resolve(None).ok();
        let named = self.global.state_dir.is_some() || default.is_none_or(|d| d.root != dir.root);
        self.build_command(named.then_some(dir.root.as_path()), args)
    }

    fn build_command(&self, state_dir: Option<&std::path::Path>, args: &str) -> String {
        let mut line = String::from("shipdeck");
        if let Some(c) = &self.global.config {
            line.push_str(&format!(
                " --config {}",
                shell_word(&c.display().to_string())
            ));
        }
        if let Some(d) = state_dir {
            line.push_str(&format!(
                " --state-dir {}",
                shell_word(&d.display().to_string())
            ));
        }
        if !args.is_empty() {
            line.push(' ');
            line.push_str(args);
        }
        line
    }

    /// `--as`, else the OS user ($USER, $LOGNAME, else the account name of this
    /// process's uid), else "operator".
    pub fn operator(&self) -> String {
        self.global
            .operator
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
            .or_else(|| std::env::var("LOGNAME").ok().filter(|s| !s.is_empty()))
            .or_else(account_name)
            .unwrap_or_else(|| "operator".to_string())
    }
}

/// The account name of this process's uid in the password database (getpwuid),
/// when it has one that is plain text.
fn account_name() -> Option<String> {
    let uid = crate::runtime::endpoint::current_uid();
    let name = crate::runtime::endpoint::user_name(uid);
    // user_name answers with the number when the database has no entry.
    (name != uid.to_string() && crate::domain::text::first_unsafe(&name).is_none()).then_some(name)
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

/// `text` as one shell word: as is when it is plain, else in single quotes.
pub fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}
