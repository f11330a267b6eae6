//! Where the configuration comes from: `--config DIR`, else `$SHIPDECK_CONFIG`,
//! else `./config`, else the user's config directory, else the defaults compiled
//! into the binary.
//!
//! The decision is a pure function of its inputs ([`resolve`]) so that the order is
//! tested without touching the real environment or file system; [`discover`] feeds
//! it the real ones.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use super::files::ConfigFile;

/// Why a directory was chosen, for messages such as "config/ (from --config)".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Flag,
    Env,
    WorkingDir,
    UserDir,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    Dir { path: PathBuf, origin: Origin },
    BuiltIn,
}

impl ConfigSource {
    /// The directory, when the configuration comes from one.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            ConfigSource::Dir { path, .. } => Some(path),
            ConfigSource::BuiltIn => None,
        }
    }
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigSource::BuiltIn => f.write_str("built-in defaults"),
            ConfigSource::Dir { path, origin } => {
                let shown = path.display().to_string();
                let slash = if shown.ends_with('/') { "" } else { "/" };
                let why = match origin {
                    Origin::Flag => "from --config",
                    Origin::Env => "from $SHIPDECK_CONFIG",
                    Origin::WorkingDir => "found in the working directory",
                    Origin::UserDir => "user config directory",
                };
                write!(f, "{shown}{slash} ({why})")
            }
        }
    }
}

/// The environment name that points at a configuration directory.
pub const ENV_VAR: &str = "SHIPDECK_CONFIG";

/// Picks the source. `explicit` and `env` win outright, even when the directory
/// does not exist (loading then says so: a typo must not fall back silently to
/// other settings). `./config` and the user directory count only when
/// `has_config` says they hold a `policies.json`, because an unrelated `config/`
/// folder in the working directory is common.
pub fn resolve(
    explicit: Option<&Path>,
    env: Option<&OsStr>,
    cwd: &Path,
    user_config_dir: Option<&Path>,
    has_config: impl Fn(&Path) -> bool,
) -> ConfigSource {
    if let Some(p) = explicit {
        return ConfigSource::Dir {
            path: p.to_path_buf(),
            origin: Origin::Flag,
        };
    }
    // An empty variable is how people unset it in scripts (`SHIPDECK_CONFIG=`).
    if let Some(p) = env.filter(|v| !v.is_empty()) {
        return ConfigSource::Dir {
            path: PathBuf::from(p),
            origin: Origin::Env,
        };
    }
    let local = cwd.join("config");
    if has_config(&local) {
        return ConfigSource::Dir {
            path: PathBuf::from("config"),
            origin: Origin::WorkingDir,
        };
    }
    if let Some(dir) = user_config_dir.filter(|d| has_config(d)) {
        return ConfigSource::Dir {
            path: dir.to_path_buf(),
            origin: Origin::UserDir,
        };
    }
    ConfigSource::BuiltIn
}

/// Whether `dir` looks like a configuration directory (it has a `policies.json`).
pub fn looks_like_config_dir(dir: &Path) -> bool {
    dir.join(ConfigFile::Policies.file_name()).is_file()
}

/// The user's configuration directory (`~/.config/shipdeck` on Linux).
pub fn user_config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "shipdeck").map(|d| d.config_dir().to_path_buf())
}

/// [`resolve`] with the real environment, working directory and file system.
pub fn discover(explicit: Option<&Path>) -> ConfigSource {
    let env = std::env::var_os(ENV_VAR);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    resolve(
        explicit,
        env.as_deref(),
        &cwd,
        user_config_dir().as_deref(),
        looks_like_config_dir,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(dirs: &[&str]) -> impl Fn(&Path) -> bool {
        let dirs: Vec<PathBuf> = dirs.iter().map(PathBuf::from).collect();
        move |p: &Path| dirs.iter().any(|d| d == p)
    }

    #[test]
    fn displays_where_it_came_from() {
        let s = ConfigSource::Dir {
            path: "config".into(),
            origin: Origin::Flag,
        };
        assert_eq!(s.to_string(), "config/ (from --config)");
        assert_eq!(ConfigSource::BuiltIn.to_string(), "built-in defaults");
    }

    #[test]
    fn empty_env_counts_as_unset() {
        let s = resolve(None, Some(OsStr::new("")), Path::new("/w"), None, with(&[]));
        assert_eq!(s, ConfigSource::BuiltIn);
    }

    #[test]
    fn explicit_dir_is_taken_even_if_missing() {
        let s = resolve(
            Some(Path::new("/nope")),
            None,
            Path::new("/w"),
            None,
            with(&[]),
        );
        assert_eq!(s.dir(), Some(Path::new("/nope")));
    }
}
