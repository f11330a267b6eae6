//! Every process that runs a release serves it: the one place the CLI starts a
//! release's socket server (cockpit, `deploy`, `demo`, the background runner),
//! and the words its clients hear when it stops.

use super::context::Context;
use crate::protocol::{ByeReason, Farewell, ServingKind};
use crate::runtime::driver::ReleaseHandle;
use crate::runtime::endpoint;
use crate::runtime::server::{self, Server, ServerOptions};
use crate::runtime::state_dir::StateDir;

/// Serves the release behind `handle`. A socket that cannot be bound is logged
/// and reported (`None`): the release still runs here, and other terminals are
/// told it does not answer rather than left guessing.
pub async fn start(
    ctx: &Context,
    handle: &ReleaseHandle,
    kind: ServingKind,
    operator: &str,
) -> Option<Server> {
    let place = match endpoint::socket_place(&handle.state_dir, &handle.label) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("the release is not served: {e}");
            eprintln!(
                "shipdeck: warning: {} is not served on a socket ({e}); other terminals cannot attach",
                handle.label
            );
            return None;
        }
    };
    let opts = ServerOptions {
        place,
        label: handle.label.clone(),
        journal: handle.state_dir.journal_path(&handle.label),
        kind,
        operator: operator.to_string(),
        group: ctx.global.socket_group.clone(),
    };
    match server::serve(handle.link().clone(), opts).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!("the release is not served: {e}");
            eprintln!(
                "shipdeck: warning: {e}; other terminals cannot attach to {}",
                handle.label
            );
            None
        }
    }
}

/// What attached terminals hear when this process stops running the release
/// while it is not over.
pub fn stopped(ctx: &Context, dir: &StateDir, label: &str, who: &str, why: &str) -> Farewell {
    Farewell {
        reason: ByeReason::Stopped,
        message: format!(
            "{who} {why}; {label} is stopped until someone runs it again (`{}`)",
            ctx.command_in(dir, &format!("start --resume --detach --version {label}"))
        ),
    }
}

/// What attached terminals hear when the release moves to a background runner.
pub fn handed_off(label: &str, who: &str) -> Farewell {
    Farewell {
        reason: ByeReason::HandedOff,
        message: format!("{who} handed {label} to a background runner"),
    }
}
