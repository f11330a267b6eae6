//! How a version reaches a customer: the deploy targets of `customers.json`.
//!
//! shipdeck orchestrates; the tools a team already has do the deploying. A target is
//! one of three closed kinds:
//!
//! - `command`: a program (no shell, ever) asked to *reach version V*, with
//!   placeholders in its arguments and the same facts in `SHIPDECK_*` variables;
//! - `webhook`: an HTTP POST, optionally followed by polling a status URL until the
//!   remote deploy says it succeeded or failed (Render, GitHub Deployments, …);
//! - `simulated`: the demo's and tests' stand-in.
//!
//! Either real kind may carry a [`Verify`]: a deploy only counts once the customer's
//! live version is the one intended. Everything here is plain data plus the pure
//! rules of one value (templates, descriptions); running a target is the adapters'
//! job. Secrets never sit here: header values and secret URLs are named by their
//! environment variable, and [`DeployTarget::describe`] shows them as `$VAR`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::{HeaderFromEnv, HumanDuration};

/// How a version reaches a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeployTarget {
    /// A simulated deploy that takes `duration` and fails with `failure_rate`
    /// (0.0–1.0), reproducibly from the release's seed.
    Simulated {
        duration: HumanDuration,
        #[serde(default)]
        failure_rate: f64,
    },
    /// Run a program that brings the customer to a version.
    Command(CommandTarget),
    /// POST to a deploy hook, optionally polling its status.
    Webhook(WebhookTarget),
}

/// A program and its arguments (no shell).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandLine {
    pub program: String,
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandTarget {
    pub program: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// Real time one attempt may take; the whole process group is killed after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// Attempts after the first, for the exit codes in `retry_exit_codes`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_exit_codes: Vec<i32>,
    /// Wait before the first retry; doubles for each further one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<HumanDuration>,
    /// What rolls back; by default the same command with the previous version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<CommandLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    /// How long a deploy usually takes (for `plan` and the dry run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_duration: Option<HumanDuration>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookTarget {
    /// The hook's URL; placeholders allowed. Exactly one of `url` and `url_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An environment variable holding the whole URL, for hooks whose URL is the
    /// secret (a Render deploy hook carries its key in the query).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// Query parameters appended to the URL (values take placeholders), e.g.
    /// Render's `imgURL`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderFromEnv>,
    /// The JSON body; strings in it take placeholders. Default: shipdeck's own body
    /// (release, version, previous_version, customer, tier, attempt, idempotency_key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// Real time one request may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<HumanDuration>,
    /// Attempts after the first, on connection errors, 429 and 5xx. Default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<HumanDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusPolling>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<Verify>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_duration: Option<HumanDuration>,
}

/// Following a remote deploy to its end (Spinnaker's "monitored webhook").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPolling {
    /// A template for the status URL: placeholders, and `{/pointer}` read from the
    /// hook's JSON response (`…/deploys/{/deploy/id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A JSON pointer to the status URL in the hook's response (`/statuses_url`).
    /// Without `url` or `url_pointer`, the response's `Location` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_pointer: Option<String>,
    /// Headers for the status requests; default: the hook's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<HeaderFromEnv>>,
    /// A JSON pointer to the status value in each status response (`/status`).
    pub field: String,
    pub success: Vec<String>,
    #[serde(default)]
    pub failure: Vec<String>,
    /// Release time between polls (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<HumanDuration>,
    /// Release time the remote deploy may take (default 30m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<HumanDuration>,
}

/// Reading the live version after a deploy: a deploy is only deployed when the
/// customer runs the version intended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    /// A JSON pointer into the customer's health response (`/version`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// Where to GET for `pointer`; default: the customer's `http` health URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Or a program that prints the live version (its last non-empty line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Release time to wait for the right version (default 2m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<HumanDuration>,
    /// Release time between reads (default 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<HumanDuration>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl DeployTarget {
    /// How long a deploy is expected to take, where the target says.
    pub fn expected_duration(&self) -> Option<HumanDuration> {
        match self {
            DeployTarget::Simulated { duration, .. } => Some(*duration),
            DeployTarget::Command(c) => c.expected_duration,
            DeployTarget::Webhook(w) => w.expected_duration,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            DeployTarget::Simulated { .. } => "simulated",
            DeployTarget::Command(_) => "command",
            DeployTarget::Webhook(_) => "webhook",
        }
    }

    pub fn verify(&self) -> Option<&Verify> {
        match self {
            DeployTarget::Simulated { .. } => None,
            DeployTarget::Command(c) => c.verify.as_ref(),
            DeployTarget::Webhook(w) => w.verify.as_ref(),
        }
    }

    /// One line for `plan`, the dry run and the cockpit: `kubectl set image …`,
    /// `POST https://… (Authorization: $GH_TOKEN)`, `simulated, 5m`. Secrets are
    /// shown by their variable's name, never by value (the value is not here).
    pub fn describe(&self) -> String {
        match self {
            DeployTarget::Simulated { duration, .. } => format!("simulated, {duration}"),
            DeployTarget::Command(c) => {
                let mut s = command_line(&c.program, &c.args);
                if let Some(t) = c.timeout {
                    let _ = write!(s, " (timeout {t})");
                }
                if let Some(v) = &c.verify {
                    let _ = write!(s, "; verify {}", v.describe());
                }
                s
            }
            DeployTarget::Webhook(w) => {
                let mut s = format!("POST {}", w.url_shown());
                if !w.headers.is_empty() {
                    let hs: Vec<String> = w
                        .headers
                        .iter()
                        .map(|h| format!("{}: ${}", h.name, h.env))
                        .collect();
                    let _ = write!(s, " ({})", hs.join(", "));
                }
                if let Some(p) = &w.status {
                    let _ = write!(
                        s,
                        "; polls {} until {}",
                        p.field,
                        p.success
                            .iter()
                            .map(|v| format!("\"{v}\""))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    );
                }
                if let Some(v) = &w.verify {
                    let _ = write!(s, "; verify {}", v.describe());
                }
                s
            }
        }
    }
}

impl WebhookTarget {
    /// The URL as it may be shown: the template, or `$VAR` for a secret one, with
    /// the configured query names.
    pub fn url_shown(&self) -> String {
        let mut s = match (&self.url, &self.url_env) {
            (Some(u), _) => u.clone(),
            (None, Some(env)) => format!("${env}"),
            (None, None) => "(no url)".to_string(),
        };
        if !self.query.is_empty() {
            let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if self.url_env.is_some() {
                s.push_str(" with ");
            } else {
                s.push(if s.contains('?') { '&' } else { '?' });
            }
            s.push_str(&q.join("&"));
        }
        s
    }
}

impl Verify {
    pub fn describe(&self) -> String {
        match (&self.pointer, &self.program) {
            (Some(p), _) => format!("live version at {p}"),
            (None, Some(program)) => {
                format!("live version from `{}`", command_line(program, &self.args))
            }
            (None, None) => "live version".to_string(),
        }
    }
}

/// `kubectl set image deploy/api "api=acme/api:{version}"`: a command line as a
/// person reads it (arguments with spaces or quotes are quoted).
pub fn command_line(program: &str, args: &[String]) -> String {
    let quote = |a: &str| {
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
            format!("\"{}\"", a.replace('"', "\\\""))
        } else {
            a.to_string()
        }
    };
    std::iter::once(quote(program))
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The placeholders a deploy template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "version",
    "version_number",
    "previous_version",
    "customer",
    "customer_name",
    "tier",
    "release",
    "attempt",
    "idempotency_key",
    "operator",
];

/// Checks a template: every `{name}` is a known placeholder (or, with
/// `pointers`, a JSON pointer `{/a/b}`), braces are balanced, `{{` and `}}` are
/// literal braces. The error says what to write instead.
pub fn check_template(template: &str, pointers: bool) -> Result<(), String> {
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        let (c, after) = (&rest[i..i + 1], &rest[i + 1..]);
        if let Some(stripped) = after.strip_prefix(c) {
            rest = stripped;
            continue;
        }
        if c == "}" {
            return Err("a lone `}`; write `}}` for a literal brace".to_string());
        }
        let Some(end) = after.find('}') else {
            return Err("an unclosed `{`; write `{{` for a literal brace".to_string());
        };
        let name = &after[..end];
        let known = PLACEHOLDERS.contains(&name) || (pointers && name.starts_with('/'));
        if !known {
            return Err(format!(
                "unknown placeholder `{{{name}}}` (known: {}{})",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if pointers {
                    ", or a JSON pointer into the hook's response like {/id}"
                } else {
                    ""
                }
            ));
        }
        rest = &after[end + 1..];
    }
    Ok(())
}

/// Fills a template checked by [`check_template`]; `lookup` answers a placeholder
/// (or pointer). An unanswered one is left as written.
pub fn render_template(template: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let (c, after) = (&rest[i..i + 1], &rest[i + 1..]);
        if let Some(stripped) = after.strip_prefix(c) {
            out.push_str(c);
            rest = stripped;
            continue;
        }
        match (c, after.find('}')) {
            ("{", Some(end)) => {
                let name = &after[..end];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(c);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Whether `name` can name an environment variable (`GH_TOKEN`).
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_check_and_render() {
        assert!(check_template("api=acme/api:{version}", false).is_ok());
        assert!(check_template("{{literal}} {tier}", false).is_ok());
        let e = check_template("{verison}", false).unwrap_err();
        assert!(e.contains("unknown placeholder `{verison}`"), "{e}");
        assert!(check_template("{/deploy/id}", false).is_err());
        assert!(check_template("{/deploy/id}", true).is_ok());
        assert!(
            check_template("{version", false)
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(check_template("a}b", false).unwrap_err().contains("lone"));
        let lookup = |n: &str| match n {
            "version" => Some("v1.0.2".to_string()),
            "/id" => Some("dep-1".to_string()),
            _ => None,
        };
        assert_eq!(
            render_template("img:{version} {{x}} {/id} {tier}", &lookup),
            "img:v1.0.2 {x} dep-1 {tier}"
        );
    }

    #[test]
    fn descriptions_show_secrets_by_name() {
        let t: DeployTarget = serde_json::from_str(
            r#"{"kind":"webhook","url_env":"RENDER_HOOK","query":{"imgURL":"docker.io/acme/api:{version}"},
                "headers":[{"name":"Authorization","env":"TOKEN"}],
                "status":{"field":"/status","success":["live"],"failure":["build_failed"]}}"#,
        )
        .unwrap();
        assert_eq!(
            t.describe(),
            "POST $RENDER_HOOK with imgURL=docker.io/acme/api:{version} (Authorization: $TOKEN); polls /status until \"live\""
        );
        let c: DeployTarget = serde_json::from_str(
            r#"{"kind":"command","program":"kubectl","args":["set","image","deploy/api","api=acme/api:{version}"],"timeout":"10m"}"#,
        )
        .unwrap();
        assert_eq!(
            c.describe(),
            "kubectl set image deploy/api api=acme/api:{version} (timeout 10m)"
        );
        assert!(is_env_name("GH_TOKEN") && !is_env_name("1X") && !is_env_name("A-B"));
    }
}
