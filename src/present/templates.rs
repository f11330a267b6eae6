//! Templates (minijinja, Jinja syntax) for release notes: the built-in ones in
//! `assets/templates/`, replaced per file by `templates/*.j2` in the configuration
//! directory.
//!
//! Rendering is bounded: each render gets a fuel budget (minijinja's `fuel`), so a
//! user template that loops for ever stops with a clear error instead of hanging a
//! release, and a recursion limit. Output is plain text; nothing is HTML-escaped.

use std::collections::BTreeMap;

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;

pub const RELEASE_NOTES_MD: &str = "release-notes.md.j2";
pub const RELEASE_NOTES_SLACK: &str = "release-notes.slack.j2";

/// Template names a configuration may override.
pub const KNOWN: [&str; 2] = [RELEASE_NOTES_MD, RELEASE_NOTES_SLACK];

/// Instructions one render may run: far more than any sane notes template needs
/// (the default uses a few thousand), far less than a runaway loop.
pub const FUEL: u64 = 200_000;

pub fn builtin(name: &str) -> Option<&'static str> {
    match name {
        RELEASE_NOTES_MD => Some(include_str!("../../assets/templates/release-notes.md.j2")),
        RELEASE_NOTES_SLACK => Some(include_str!(
            "../../assets/templates/release-notes.slack.j2"
        )),
        _ => None,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("{name}:{line}: {detail}")]
    Syntax {
        name: String,
        line: usize,
        detail: String,
    },
    #[error(
        "{name}: the template ran out of fuel ({FUEL} steps) and was stopped: it loops too long (a loop that never ends, or one over far too much)"
    )]
    OutOfFuel { name: String },
    #[error("{name}{}: {detail}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Render {
        name: String,
        line: Option<usize>,
        detail: String,
    },
    #[error("no template `{0}`")]
    Unknown(String),
}

impl TemplateError {
    pub fn line(&self) -> Option<usize> {
        match self {
            TemplateError::Syntax { line, .. } => Some(*line),
            TemplateError::Render { line, .. } => *line,
            _ => None,
        }
    }

    /// The words without the name and line (for errors that print those apart).
    pub fn message(&self) -> String {
        match self {
            TemplateError::Syntax { detail, .. } => format!("template syntax error: {detail}"),
            TemplateError::Render { detail, .. } => format!("template error: {detail}"),
            other => other.to_string(),
        }
    }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(64);
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    if let Ok(syntax) = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env
}

fn convert(name: &str, e: &minijinja::Error) -> TemplateError {
    let detail = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.kind().to_string());
    match e.kind() {
        ErrorKind::OutOfFuel => TemplateError::OutOfFuel {
            name: name.to_string(),
        },
        ErrorKind::SyntaxError | ErrorKind::BadEscape => TemplateError::Syntax {
            name: name.to_string(),
            line: e.line().unwrap_or(0),
            detail,
        },
        _ => TemplateError::Render {
            name: name.to_string(),
            line: e.line(),
            detail,
        },
    }
}

/// Parses `source` (syntax only); the error names the line.
pub fn check(name: &str, source: &str) -> Result<(), TemplateError> {
    let env = environment();
    env.template_from_named_str(name, source)
        .map(|_| ())
        .map_err(|e| convert(name, &e))
}

/// Renders the template `name`: the configuration's copy if it has one, else the
/// built-in one.
pub fn render(
    overrides: &BTreeMap<String, String>,
    name: &str,
    ctx: &impl Serialize,
) -> Result<String, TemplateError> {
    let source = match overrides.get(name) {
        Some(s) => s.as_str(),
        None => builtin(name).ok_or_else(|| TemplateError::Unknown(name.to_string()))?,
    };
    render_source(name, source, ctx)
}

/// Renders a template given as text.
pub fn render_source(
    name: &str,
    source: &str,
    ctx: &impl Serialize,
) -> Result<String, TemplateError> {
    let env = environment();
    let tmpl = env
        .template_from_named_str(name, source)
        .map_err(|e| convert(name, &e))?;
    let out = tmpl
        .render(minijinja::value::Value::from(minijinja::value::Serde(ctx)))
        .map_err(|e| convert(name, &e))?;
    // Blank runs collapse to one blank line; a file ends with one newline.
    let mut text = String::with_capacity(out.len());
    let mut blanks = 0;
    for line in out.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blanks += 1;
            if blanks > 1 {
                continue;
            }
        } else {
            blanks = 0;
        }
        text.push_str(line);
        text.push('\n');
    }
    Ok(text.trim_start_matches('\n').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runaway_loop_is_stopped_by_fuel() {
        let src =
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";
        let err = render_source("loop.j2", src, &()).unwrap_err();
        assert!(matches!(err, TemplateError::OutOfFuel { .. }), "{err}");
        assert!(err.to_string().contains("ran out of fuel"), "{err}");
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let err = check("bad.j2", "line one\n{% for x in %}\n{% endfor %}\n").unwrap_err();
        assert_eq!(err.line(), Some(2), "{err}");
        assert!(err.to_string().starts_with("bad.j2:2:"), "{err}");
    }

    #[test]
    fn the_built_in_templates_parse() {
        for name in KNOWN {
            check(name, builtin(name).unwrap()).unwrap();
        }
    }
}
