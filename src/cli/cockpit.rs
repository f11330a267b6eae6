//! `shipdeck demo`, `shipdeck cockpit` and bare `shipdeck`: open a release in the
//! runtime and hand it to the full-screen cockpit.

use super::args::ReleaseArgs;
use super::context::Context;
use super::error::{CliError, CliResult};

pub async fn run_current(ctx: &Context) -> CliResult {
    let _ = ctx;
    Err(CliError::error("the cockpit is not wired yet"))
}

pub async fn run_demo(ctx: &Context, speed: f64, scenario: &str, readonly: bool) -> CliResult {
    let _ = (ctx, speed, scenario, readonly);
    Err(CliError::error("the cockpit is not wired yet"))
}

pub async fn run_release(ctx: &Context, release: &ReleaseArgs, speed: Option<f64>, readonly: bool) -> CliResult {
    let _ = (ctx, release, speed, readonly);
    Err(CliError::error("the cockpit is not wired yet"))
}
