//! The tokio shell around the pure engine: the clock, the journal and lock, the
//! effect executor, and the loop that owns a release's state.

pub mod checkpoint;
pub mod clock;
pub mod driver;
pub mod effects;
pub mod endpoint;
pub mod history;
pub mod journal;
pub mod link;
pub mod lock;
pub mod probe_scheduler;
pub mod release_journal;
pub mod remote;
pub mod server;
pub mod state_dir;
pub mod store;
pub mod summaries;
