//! Loading and validating the configuration: `policies.json`, `customers.json`,
//! `deployment-policies.json`, `checklists.json` and `roster.json`.
//!
//! A bad configuration is refused whole, with every problem found at once, each
//! naming its file, line, column and field (`config/customers.json:41:15:
//! customers[3].tier: unknown tier `gold` ...`). A release must never start on a
//! half-understood config, and a person fixing one should see all problems in one
//! run. A syntax error stops only its own file; the other files are still read and
//! the cross-file rules run on whatever parsed.
//!
//! The defaults from the source documents are compiled in (see [`ConfigFile`]), so
//! `shipdeck` works with no configuration at all; [`source`] decides where to read.

mod collect;
mod error;
pub mod extras;
mod files;
mod parse;
mod position;
pub mod source;
mod validate;

use std::path::Path;

use crate::domain::{Configuration, DeploymentPolicies, Roster};

pub use error::{ConfigError, ConfigErrors};
pub use files::ConfigFile;
pub use source::{ConfigSource, Origin, discover, resolve};

use files::{ChecklistsFile, CustomersFile, Parts, PoliciesFile};
use position::PositionIndex;
use validate::FileInfo;

/// The file name shown in errors about the built-in defaults.
const BUILTIN_PREFIX: &str = "<built-in>/";

/// Loads and validates the configuration from `source`.
pub fn load(source: &ConfigSource) -> Result<Configuration, ConfigErrors> {
    match source {
        ConfigSource::BuiltIn => load_builtin(),
        ConfigSource::Dir { path, .. } => load_dir(path),
    }
}

/// The defaults compiled into the binary.
pub fn load_builtin() -> Result<Configuration, ConfigErrors> {
    let inputs = ConfigFile::ALL.map(|f| Input {
        display: format!("{BUILTIN_PREFIX}{}", f.file_name()),
        text: Some(f.builtin_text().to_string()),
    });
    load_inputs(inputs, Vec::new())
}

/// Reads the five files from `dir`. A directory missing any of them is refused,
/// naming each missing file: a partial directory silently mixed with defaults would
/// make it unclear which settings are in force.
pub fn load_dir(dir: &Path) -> Result<Configuration, ConfigErrors> {
    const HOLDS: &str = "a configuration directory holds policies.json, customers.json, deployment-policies.json, checklists.json and roster.json";
    let shown = dir.display().to_string();
    let refuse = |message: String| ConfigErrors {
        errors: vec![whole_file(&shown, message)],
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(refuse(format!("cannot read: {e}")));
        }
        _ => return Err(refuse(format!("not a directory; {HOLDS}"))),
    }
    // A directory that cannot be read at all is one problem, said once: not one
    // per file, and not about optional files (notifications.json) that may not
    // even be there. (A directory that cannot be listed but whose files can be
    // opened, mode --x, is read as usual.)
    if let Err(e) = std::fs::read_dir(dir)
        && let Err(open) = std::fs::File::open(dir.join(ConfigFile::Policies.file_name()))
        && open.kind() == std::io::ErrorKind::PermissionDenied
    {
        return Err(refuse(format!(
            "cannot read this directory: {e}; {HOLDS}, and shipdeck must be able to read them"
        )));
    }
    let mut early = Vec::new();
    let inputs = ConfigFile::ALL.map(|f| {
        let path = dir.join(f.file_name());
        let display = path.display().to_string();
        let text = match read_config_file(&path, &display) {
            Ok(t) => Some(t),
            Err(ReadError::Missing) => {
                early.push(whole_file(
                    &display,
                    format!(
                        "missing: a configuration directory needs all five files, and this one has no {} (copy it from the repository's config/)",
                        f.file_name()
                    ),
                ));
                None
            }
            Err(ReadError::Refused(e)) => {
                early.push(e);
                None
            }
        };
        Input { display, text }
    });
    let result = load_inputs(inputs, early);
    let tiers = result.as_ref().ok().map(|c| c.tiers.clone());
    let extras = extras::load(dir, tiers.as_deref());
    match result {
        Ok(mut cfg) if extras.errors.is_empty() => {
            cfg.notifications = extras.notifications;
            cfg.templates = extras.templates;
            Ok(cfg)
        }
        Ok(_) => Err(ConfigErrors {
            errors: extras.errors,
        }),
        Err(mut e) => {
            e.errors.extend(extras.errors);
            Err(e)
        }
    }
}

/// Loads from texts in memory, as (file name, text) pairs. The name's last
/// component picks the file (`customers.json` or `config/customers.json`) and is
/// shown in errors as given. For tests and for tools that hold config elsewhere.
pub fn load_from_strs(files: &[(&str, &str)]) -> Result<Configuration, ConfigErrors> {
    let mut early = Vec::new();
    let mut inputs = ConfigFile::ALL.map(|f| Input {
        display: f.file_name().to_string(),
        text: None,
    });
    for (name, text) in files {
        let base = Path::new(name)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(name);
        match ConfigFile::from_file_name(base) {
            Some(f) => {
                inputs[f.slot()] = Input {
                    display: (*name).to_string(),
                    text: Some((*text).to_string()),
                }
            }
            None => early.push(whole_file(
                name,
                format!(
                    "not a configuration file name (expected one of {})",
                    ConfigFile::ALL.map(|f| f.file_name()).join(", ")
                ),
            )),
        }
    }
    for input in &inputs {
        if input.text.is_none() {
            early.push(whole_file(&input.display, "missing".into()));
        }
    }
    load_inputs(inputs, early)
}

/// The five built-in files as (file name, text), for tests and for writing a
/// starting configuration to disk.
pub fn builtin_files() -> [(&'static str, &'static str); 5] {
    ConfigFile::ALL.map(|f| (f.file_name(), f.builtin_text()))
}

/// One line for status bars and `--help` footers:
/// "4 tiers, 14 customers, 6 policies, 7 checklists, 7 people".
pub fn summary(cfg: &Configuration) -> String {
    fn n(count: usize, one: &str, many: &str) -> String {
        format!("{count} {}", if count == 1 { one } else { many })
    }
    [
        n(cfg.tiers.len(), "tier", "tiers"),
        n(cfg.customers.len(), "customer", "customers"),
        n(cfg.policies.len(), "policy", "policies"),
        n(cfg.checklists.len(), "checklist", "checklists"),
        n(cfg.roster.people.len(), "person", "people"),
    ]
    .join(", ")
}

/// The largest configuration file read. Real ones are a few KiB; this bounds what a
/// wrong path (a log file, a disk image) can cost before it is refused.
pub const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;

enum ReadError {
    Missing,
    Refused(ConfigError),
}

/// Reads one configuration file: a regular file (never a FIFO, a device or a
/// directory, which could block or never end), at most [`MAX_CONFIG_BYTES`], in
/// UTF-8 (a bad byte is reported at its line and column).
fn read_config_file(path: &Path, display: &str) -> Result<String, ReadError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let refused = |message: String| ReadError::Refused(whole_file(display, message));
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ReadError::Missing),
        Err(e) => return Err(refused(format!("cannot read: {e}"))),
    };
    let meta = file
        .metadata()
        .map_err(|e| refused(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        let kind = {
            use std::os::unix::fs::FileTypeExt;
            let t = meta.file_type();
            if t.is_fifo() {
                "a FIFO"
            } else if t.is_char_device() || t.is_block_device() {
                "a device"
            } else if t.is_dir() {
                "a directory"
            } else if t.is_socket() {
                "a socket"
            } else {
                "not a regular file"
            }
        };
        return Err(refused(format!(
            "is {kind}; configuration is read only from regular files"
        )));
    }
    let too_big = || {
        refused(format!(
            "is larger than {} MiB; a configuration file is a few KiB (is this the right file?)",
            MAX_CONFIG_BYTES / (1024 * 1024)
        ))
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| refused(format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        ReadError::Refused(ConfigError {
            file: display.to_string(),
            line,
            column,
            field: String::new(),
            message: format!(
                "not UTF-8: byte 0x{:02x} is not valid here; save the file as UTF-8",
                bytes.get(at).copied().unwrap_or(0)
            ),
        })
    })
}

struct Input {
    display: String,
    /// None: missing or unreadable (already reported).
    text: Option<String>,
}

fn whole_file(file: &str, message: String) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        line: 0,
        column: 0,
        field: String::new(),
        message,
    }
}

fn load_inputs(
    inputs: [Input; 5],
    mut errors: Vec<ConfigError>,
) -> Result<Configuration, ConfigErrors> {
    let mut infos: [FileInfo; 5] = Default::default();
    let mut parts = Parts::default();
    for (f, input) in ConfigFile::ALL.into_iter().zip(inputs) {
        let info = &mut infos[f.slot()];
        info.display = input.display;
        let Some(text) = input.text else { continue };
        info.index = PositionIndex::new(&text);
        // serde keeps the last of two equal keys in a map without a word; a twice-
        // written policy or override is almost always a copy-paste slip.
        for d in info.index.duplicates() {
            errors.push(ConfigError {
                file: info.display.clone(),
                line: d.at.line,
                column: d.at.column,
                field: d.path.clone(),
                message: format!(
                    "duplicate key (first at line {}); only one may be given",
                    d.first.line
                ),
            });
        }
        let has_duplicates = !info.index.duplicates().is_empty();
        let mut parsed = |found: Vec<ConfigError>| {
            // A struct's duplicate field is also a serde error: reported once, above.
            errors.extend(
                found
                    .into_iter()
                    .filter(|e| !(has_duplicates && e.message.starts_with("duplicate field"))),
            );
        };
        let (display, index) = (&info.display, &info.index);
        match f {
            ConfigFile::Policies => {
                let (value, found) = parse::parse::<PoliciesFile>(display, &text, index);
                parsed(found);
                parts.policies = value;
            }
            ConfigFile::Customers => {
                let (value, found) = parse::parse::<CustomersFile>(display, &text, index);
                parsed(found);
                parts.customers = value;
            }
            ConfigFile::DeploymentPolicies => {
                let (value, found) = parse::parse::<DeploymentPolicies>(display, &text, index);
                parsed(found);
                parts.deployment = value;
            }
            ConfigFile::Checklists => {
                let (value, found) = parse::parse::<ChecklistsFile>(display, &text, index);
                parsed(found);
                parts.checklists = value;
            }
            ConfigFile::Roster => {
                let (value, found) = parse::parse::<Roster>(display, &text, index);
                parsed(found);
                parts.roster = value;
            }
        }
    }
    errors.extend(validate::validate(&parts, &infos));

    let Parts {
        policies: Some(policies),
        customers: Some(customers),
        deployment: Some(deployment),
        checklists: Some(checklists),
        roster: Some(roster),
    } = parts
    else {
        return Err(sorted(errors, &infos));
    };
    if !errors.is_empty() {
        return Err(sorted(errors, &infos));
    }
    tracing::debug!(
        customers = customers.customers.len(),
        "configuration loaded and validated"
    );
    Ok(Configuration {
        tiers: policies.tiers,
        policies: policies
            .policies
            .into_iter()
            .map(|(k, v)| (k.0, v))
            .collect(),
        customers: customers.customers,
        deployment,
        checklists: checklists.checklists,
        roster,
        notifications: Default::default(),
        templates: Default::default(),
    })
}

/// File order first (policies before customers ...), then top to bottom: the
/// order a person fixes them in.
fn sorted(mut errors: Vec<ConfigError>, infos: &[FileInfo; 5]) -> ConfigErrors {
    parse::drop_shadowed(&mut errors);
    let rank = |file: &str| {
        infos
            .iter()
            .position(|i| i.display == file)
            .unwrap_or(usize::MAX)
    };
    errors.sort_by_key(|e| (rank(&e.file), e.line, e.column));
    errors.dedup();
    ConfigErrors { errors }
}

#[cfg(test)]
mod tests;
