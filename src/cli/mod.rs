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
pub mod offline;
pub mod plan;
pub mod read;
pub mod runner;
pub mod serve;
pub mod validate;
pub mod wiring;

use std::io::Write;

pub use error::{CliError, CliResult, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_WAITING};

use crate::domain::Role;
use crate::engine::{Command, RollbackScope};
use args::{Cli, Cmd, ConfigCmd};
use context::{Context, out};

/// Runs one command line; returns the process exit code.
pub async fn run(cli: Cli, w: &mut dyn Write) -> CliResult {
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
        Cmd::Log(v) => read::log(&ctx, v.version.as_deref(), w),
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
        Cmd::Health { customer } => {
            let cfg = ctx.config()?;
            health_cmd(&cfg, customer.as_deref(), ctx.global.json, w).await
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
        } => cockpit::run_release(&ctx, &release, speed, readonly).await,
        Cmd::Attach {
            version,
            readonly,
            take_over,
        } => attach::run(&ctx, version.as_deref(), readonly, take_over).await,
        Cmd::Start(a) => runner::start(&ctx, &a, w).await,
        Cmd::Config(ConfigCmd::Check) => {
            let source = crate::config::discover(ctx.global.config.as_deref());
            let cfg = ctx.config_from(&source)?;
            out(
                w,
                &format!("ok: {} ({source})\n", crate::config::summary(&cfg)),
            )?;
            Ok(EXIT_OK)
        }
    }
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
