//! The headless face of shipdeck: clap definitions and one module per subcommand.
//! Every subcommand drives the same engine and runtime as the cockpit.

pub mod args;
pub mod attach;
pub mod cockpit;
pub mod context;
pub mod deploy;
pub mod dry_run;
pub mod error;
pub mod fleet;
pub mod health;
pub mod logging;
pub mod logs;
pub mod notes;
pub mod notify;
pub mod offline;
pub mod plan;
pub mod read;
pub mod report;
pub mod runner;
pub mod serve;
pub mod stopping;
pub mod validate;
pub mod version_check;
pub mod wiring;

use std::io::Write;

pub use error::{
    CliError, CliResult, EXIT_ERROR, EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED,
    EXIT_WAITING,
};

use crate::domain::Role;
use crate::engine::{Command, RollbackScope};
use args::{Cli, Cmd, ConfigCmd, NotifyCmd};
use context::{Context, out};

/// Runs one command line; returns the process exit code.
pub async fn run(cli: Cli, w: &mut dyn Write) -> CliResult {
    if let Some(c) = cli
        .global
        .operator
        .as_deref()
        .and_then(crate::domain::text::first_unsafe)
    {
        return Err(CliError::error(format!(
            "--as `{}` contains the {}; a name is plain text (it is recorded with every decision)",
            crate::domain::escape(cli.global.operator.as_deref().unwrap_or_default()),
            crate::domain::text::describe_char(c)
        )));
    }
    set_lock_role(cli.command.as_ref());
    let ctx = Context { global: cli.global };
    let Some(cmd) = cli.command else {
        return cockpit::run_current(&ctx).await;
    };
    let version_of = |v: &args::VersionArg| v.version.clone();
    match cmd {
        Cmd::Plan(a) => plan::run(&ctx, &a, w),
        Cmd::Validate {
            version,
            release_type,
            from,
        } => validate::run(&ctx, &version, &release_type, from.as_deref(), w),
        Cmd::Deploy(a) => deploy::run(&ctx, &a, None, w).await,
        Cmd::Emergency { deploy: a, reason } => deploy::run(&ctx, &a, Some(&reason), w).await,
        Cmd::Status(v) => read::status(&ctx, v.version.as_deref(), w),
        Cmd::Log { version, verify } => {
            if verify {
                read::verify(&ctx, version.version.as_deref(), w)
            } else {
                read::log(&ctx, version.version.as_deref(), w)
            }
        }
        Cmd::Deployments { customer } => read::deployments(&ctx, customer.as_deref(), w),
        Cmd::Tick { version, items } => {
            attach::command(
                &ctx,
                Some(&version),
                Box::new(move |_| Ok(items.iter().map(|key| Command::tick(key, false)).collect())),
                w,
            )
            .await
        }
        Cmd::Approve {
            version,
            wave,
            role,
        } => {
            attach::command(
                &ctx,
                version.as_deref(),
                Box::new(move |_| {
                    Ok(vec![Command::Approve {
                        wave: wave.as_deref().map(offline::tier),
                        role: role.map(Role::new),
                    }])
                }),
                w,
            )
            .await
        }
        Cmd::Pause { version, reason } => {
            attach::command(
                &ctx,
                version_of(&version).as_deref(),
                Box::new(move |_| {
                    Ok(vec![Command::Pause {
                        reason: reason.reason,
                    }])
                }),
                w,
            )
            .await
        }
        Cmd::Resume { version, reason } => {
            attach::command(
                &ctx,
                version_of(&version).as_deref(),
                Box::new(move |_| {
                    Ok(vec![Command::Resume {
                        reason: reason.reason,
                    }])
                }),
                w,
            )
            .await
        }
        Cmd::SkipWait {
            version,
            wave,
            reason,
        } => {
            attach::command(
                &ctx,
                version_of(&version).as_deref(),
                Box::new(move |_| {
                    Ok(vec![Command::SkipWait {
                        wave: wave.as_deref().map(offline::tier),
                        reason: reason.reason,
                    }])
                }),
                w,
            )
            .await
        }
        Cmd::Rollback {
            version,
            customers,
            reason,
            force,
        } => {
            attach::command(
                &ctx,
                version_of(&version).as_deref(),
                Box::new(move |s| {
                    let scope: RollbackScope = offline::rollback_scope(s, &customers)?;
                    Ok(vec![Command::Rollback {
                        scope,
                        reason: reason.reason,
                        force,
                    }])
                }),
                w,
            )
            .await
        }
        Cmd::Abort { version, reason } => {
            attach::command(
                &ctx,
                version_of(&version).as_deref(),
                Box::new(move |_| {
                    Ok(vec![Command::Abort {
                        reason: reason.reason,
                    }])
                }),
                w,
            )
            .await
        }
        Cmd::ReportIssue {
            version,
            customer,
            reason,
        } => {
            attach::command(
                &ctx,
                version_of(&version).as_deref(),
                Box::new(move |s| {
                    Ok(vec![Command::ReportIssue {
                        customer: offline::customer_id(s, &customer)?,
                        reason: reason.reason,
                    }])
                }),
                w,
            )
            .await
        }
        Cmd::Confirm { version } => {
            attach::command(
                &ctx,
                version_of(&version).as_deref(),
                Box::new(|_| Ok(vec![Command::ConfirmOverdue])),
                w,
            )
            .await
        }
        Cmd::Health { name, customer } => {
            let cfg = ctx.config()?;
            health_cmd(&cfg, name.or(customer).as_deref(), ctx.global.json, w).await
        }
        Cmd::Fleet {
            customers,
            port,
            scenario,
        } => fleet_cmd(customers, port, scenario.as_deref(), w).await,
        Cmd::Demo {
            speed,
            scenario,
            readonly,
        } => cockpit::run_demo(&ctx, speed, &scenario, readonly).await,
        Cmd::Cockpit {
            release,
            speed,
            readonly,
            force_version,
        } => cockpit::run_release(&ctx, &release, speed, readonly, force_version.as_deref()).await,
        Cmd::Attach {
            version,
            readonly,
            take_over,
        } => attach::run(&ctx, version.as_deref(), readonly, take_over).await,
        Cmd::Start(a) => runner::start(&ctx, &a, w).await,
        Cmd::Logs {
            customer,
            version,
            lines,
        } => logs::run(&ctx, &customer, version.as_deref(), lines, w),
        Cmd::Notify(NotifyCmd::Retry { version }) => {
            notify::retry(&ctx, version.version.as_deref(), w).await
        }
        Cmd::Notes {
            version,
            tier,
            format,
        } => {
            let format = if ctx.global.json { "json" } else { &format };
            notes::run(&ctx, &version, tier.as_deref(), format, w)
        }
        Cmd::Changelog { write } => report::changelog(&ctx, write.as_deref(), w),
        Cmd::Report {
            since,
            release_type,
        } => report::report(&ctx, &since, release_type.as_deref(), w),
        Cmd::Digest { since, send } => report::digest(&ctx, &since, send, w).await,
        Cmd::Config(ConfigCmd::Check) => config_check(&ctx, w),
    }
}

/// `config check`: a summary, or every error; with `--json` one JSON document
/// either way (`ok`, the source, the counts or the errors with their positions).
fn config_check(ctx: &Context, w: &mut dyn Write) -> CliResult {
    let source = crate::config::discover(ctx.global.config.as_deref());
    if !ctx.global.json {
        let cfg = ctx.config_from(&source)?;
        out(
            w,
            &format!("ok: {} ({source})\n", crate::config::summary(&cfg)),
        )?;
        return Ok(EXIT_OK);
    }
    let doc = match crate::config::load(&source) {
        Ok(cfg) => serde_json::json!({
            "ok": true,
            "source": source.to_string(),
            "tiers": cfg.tiers.len(),
            "customers": cfg.customers.len(),
            "policies": cfg.policies.len(),
            "checklists": cfg.checklists.len(),
            "people": cfg.roster.people.len(),
        }),
        Err(errors) => serde_json::json!({
            "ok": false,
            "source": source.to_string(),
            "errors": errors.iter().map(|e| serde_json::json!({
                "file": e.file,
                "line": e.line,
                "column": e.column,
                "field": e.field,
                "message": e.message,
            })).collect::<Vec<_>>(),
        }),
    };
    let ok = doc["ok"] == serde_json::Value::Bool(true);
    out(
        w,
        &format!(
            "{}\n",
            serde_json::to_string_pretty(&doc).unwrap_or_default()
        ),
    )?;
    if ok {
        Ok(EXIT_OK)
    } else {
        // The document said it all; exit 2 without a second message.
        Err(CliError::error(String::new()))
    }
}

/// What this process writes into a release's lock file: runners (deploy, the
/// cockpit) hold it for the run; offline commands hold it for one decision.
fn set_lock_role(cmd: Option<&Cmd>) {
    use crate::runtime::lock::{HolderKind, set_this_process};
    let (kind, what) = match cmd {
        None | Some(Cmd::Cockpit { .. }) | Some(Cmd::Demo { .. }) => {
            (HolderKind::Runner, "shipdeck cockpit")
        }
        Some(Cmd::Deploy(_)) => (HolderKind::Runner, "shipdeck deploy"),
        Some(Cmd::Emergency { .. }) => (HolderKind::Runner, "shipdeck emergency"),
        Some(Cmd::Tick { .. }) => (HolderKind::Command, "shipdeck tick"),
        Some(Cmd::Approve { .. }) => (HolderKind::Command, "shipdeck approve"),
        Some(Cmd::Pause { .. }) => (HolderKind::Command, "shipdeck pause"),
        Some(Cmd::Resume { .. }) => (HolderKind::Command, "shipdeck resume"),
        Some(Cmd::SkipWait { .. }) => (HolderKind::Command, "shipdeck skip-wait"),
        Some(Cmd::Rollback { .. }) => (HolderKind::Command, "shipdeck rollback"),
        Some(Cmd::Abort { .. }) => (HolderKind::Command, "shipdeck abort"),
        Some(Cmd::ReportIssue { .. }) => (HolderKind::Command, "shipdeck report-issue"),
        Some(Cmd::Confirm { .. }) => (HolderKind::Command, "shipdeck confirm"),
        Some(_) => (HolderKind::Command, "shipdeck"),
    };
    set_this_process(kind, what);
}

async fn health_cmd(
    cfg: &crate::domain::Configuration,
    customer: Option<&str>,
    json: bool,
    w: &mut dyn Write,
) -> CliResult {
    health::run(cfg, customer, json, w).await
}

async fn fleet_cmd(
    customers: usize,
    port: u16,
    scenario: Option<&str>,
    w: &mut dyn Write,
) -> CliResult {
    fleet::run(customers, port, scenario, w).await
}
