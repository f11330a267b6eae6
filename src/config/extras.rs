//! The optional parts of a configuration directory: `notifications.json` (channels,
//! routes, retries) and `templates/*.j2` (release notes templates that replace the
//! built-in ones).
//!
//! Optional because a configuration without them is complete: notices go to the
//! state dir's notification log and notes use the built-in templates. When present
//! they are checked as strictly as the five files: every problem with its file,
//! line, column and field, and a template that does not parse is refused here, at
//! `config check`, rather than in the middle of a release.

use std::collections::BTreeMap;
use std::path::Path;

use crate::domain::notify::CONTACT_SEPARATOR;
use crate::domain::{Channel, Notifications, Tier};

use super::error::ConfigError;
use super::parse;
use super::position::{PositionIndex, child_index as idx, child_key as key};

pub const NOTIFICATIONS_FILE: &str = "notifications.json";
pub const TEMPLATES_DIR: &str = "templates";

/// What the optional files hold, and what is wrong with them.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    pub notifications: Notifications,
    pub templates: BTreeMap<String, String>,
    pub errors: Vec<ConfigError>,
}

/// Reads `notifications.json` and `templates/` from `dir` when they exist.
/// `tiers`: the configured tiers, when policies.json parsed (routes name them).
pub(crate) fn load(dir: &Path, tiers: Option<&[Tier]>) -> Extras {
    let mut out = Extras::default();
    let path = dir.join(NOTIFICATIONS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let (n, errors) = notifications_from_str(&path.display().to_string(), &text, tiers);
            out.errors.extend(errors);
            if let Some(n) = n {
                out.notifications = n;
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => out.errors.push(whole(
            &path.display().to_string(),
            format!("cannot read: {e}"),
        )),
    }
    let tdir = dir.join(TEMPLATES_DIR);
    if let Ok(entries) = std::fs::read_dir(&tdir) {
        let mut names: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for p in names {
            let Some(name) = p.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
                continue;
            };
            if !name.ends_with(".j2") {
                continue;
            }
            let shown = p.display().to_string();
            match std::fs::read_to_string(&p) {
                Ok(text) => {
                    out.errors.extend(check_template(&shown, &name, &text));
                    out.templates.insert(name, text);
                }
                Err(e) => out.errors.push(whole(&shown, format!("cannot read: {e}"))),
            }
        }
    }
    out
}

/// A template's problems: an unknown name, or its syntax (with the line).
pub(crate) fn check_template(shown: &str, name: &str, text: &str) -> Vec<ConfigError> {
    use crate::present::templates;
    if !templates::KNOWN.contains(&name) {
        return vec![whole(
            shown,
            format!(
                "unknown template `{name}` (known: {})",
                templates::KNOWN.join(", ")
            ),
        )];
    }
    match templates::check(name, text) {
        Ok(()) => Vec::new(),
        Err(e) => vec![ConfigError {
            file: shown.to_string(),
            line: e.line().unwrap_or(0),
            column: 0,
            field: String::new(),
            message: e.message(),
        }],
    }
}

/// Parses and checks a `notifications.json` text (shown in errors as `file`).
pub fn notifications_from_str(
    file: &str,
    text: &str,
    tiers: Option<&[Tier]>,
) -> (Option<Notifications>, Vec<ConfigError>) {
    let index = PositionIndex::new(text);
    let (n, mut errors) = parse::parse::<Notifications>(file, text, &index);
    let Some(n) = n else {
        return (None, errors);
    };
    let mut at = |path: &str, message: String| {
        let pos = index.nearest(path).map(|(_, n)| n.value);
        errors.push(ConfigError {
            file: file.to_string(),
            line: pos.map_or(0, |p| p.line),
            column: pos.map_or(0, |p| p.column),
            field: path.to_string(),
            message,
        });
    };
    for (name, ch) in &n.channels {
        let path = key("channels", name);
        if name.trim().is_empty() || name.contains(CONTACT_SEPARATOR) {
            at(
                &path,
                format!(
                    "a channel name must be non-empty and may not contain `{CONTACT_SEPARATOR}`"
                ),
            );
        }
        match ch {
            Channel::Slack { url_env, .. } => env_name(&mut at, &key(&path, "url_env"), url_env),
            Channel::Webhook {
                url_env, headers, ..
            } => {
                env_name(&mut at, &key(&path, "url_env"), url_env);
                for (i, h) in headers.iter().enumerate() {
                    env_name(
                        &mut at,
                        &key(&idx(&key(&path, "headers"), i), "env"),
                        &h.env,
                    );
                }
            }
            Channel::Command { program, .. } => {
                if program.trim().is_empty() {
                    at(
                        &key(&path, "program"),
                        "a command channel needs a program".into(),
                    );
                }
            }
            Channel::File => {}
        }
    }
    if n.routes.is_empty() {
        at(
            "routes",
            "no routes: no notice would go anywhere (add {\"channel\": \"…\"} to send everything to one channel)".into(),
        );
    }
    for (i, r) in n.routes.iter().enumerate() {
        let path = idx("routes", i);
        match n.channels.get(&r.channel) {
            None => at(
                &key(&path, "channel"),
                format!(
                    "unknown channel `{}` (channels: {})",
                    r.channel,
                    n.channels.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ),
            Some(ch) if r.to_contacts && !matches!(ch, Channel::Slack { .. }) => at(
                &key(&path, "to_contacts"),
                format!(
                    "routes to contacts need a slack channel (contacts name Slack channels); `{}` is a {} channel",
                    r.channel,
                    ch.kind_str()
                ),
            ),
            Some(_) => {}
        }
        if let Some(tiers) = tiers {
            for (j, t) in r.tiers.iter().enumerate() {
                if !tiers.iter().any(|d| &d.name == t) {
                    at(
                        &idx(&key(&path, "tiers"), j),
                        format!(
                            "unknown tier `{t}` (defined tiers: {})",
                            tiers
                                .iter()
                                .map(|t| t.name.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    );
                }
            }
        }
    }
    if n.retry.attempts == 0 {
        at("retry.attempts", "at least one attempt is needed".into());
    }
    parse::drop_shadowed(&mut errors);
    if errors.is_empty() {
        (Some(n), errors)
    } else {
        (None, errors)
    }
}

/// Secrets are named by environment variable, never written in config.
fn env_name(at: &mut impl FnMut(&str, String), path: &str, value: &str) {
    let valid = !value.is_empty()
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if value.contains("://") {
        at(
            path,
            "this names the environment variable that holds the URL, not the URL itself: a webhook URL is a secret, keep it out of config (e.g. \"url_env\": \"SHIPDECK_SLACK_WEBHOOK\")".into(),
        );
    } else if !valid {
        at(
            path,
            format!("`{value}` is not an environment variable name (letters, digits and _)"),
        );
    }
}

fn whole(file: &str, message: String) -> ConfigError {
    ConfigError {
        file: file.to_string(),
        line: 0,
        column: 0,
        field: String::new(),
        message,
    }
}
