//! The local notification log: one line per notice, appended to a file in the state
//! dir (0600), so that a release without chat channels still leaves a record of
//! what people were told.

use std::io::Write;
use std::path::PathBuf;

use crate::runtime::effects::{BoxFuture, Notice, Notifier};

#[derive(Debug, Clone)]
pub struct FileNotifier {
    pub path: PathBuf,
}

impl FileNotifier {
    /// The line written for `notice` (no newline). One line per notice, whatever a
    /// name or reason holds: control characters are escaped, so a name with a
    /// newline cannot forge a line.
    pub fn line(notice: &Notice) -> String {
        format!(
            "{} {:?} {} {}",
            notice.at.format("%Y-%m-%dT%H:%M:%SZ"),
            notice.kind,
            crate::domain::escape(
                notice
                    .customer
                    .as_ref()
                    .map(|c| c.as_str())
                    .or(notice.wave.as_ref().map(|w| w.as_str()))
                    .unwrap_or("all")
            ),
            crate::domain::escape(&notice.message),
        )
    }

    fn append(&self, line: &str) -> std::io::Result<()> {
        // Mode 0600, never through a symlink.
        let (mut f, _) = crate::runtime::state_dir::open_state_file(&self.path, true)?;
        f.write_all(format!("{line}\n").as_bytes())
    }
}

impl Notifier for FileNotifier {
    fn notify(&self, notice: Notice) -> BoxFuture<()> {
        let this = self.clone();
        Box::pin(async move {
            let line = FileNotifier::line(&notice);
            tracing::info!(target: "shipdeck::notify", "{line}");
            // A small append; not worth a blocking-pool hop.
            if let Err(e) = this.append(&line) {
                tracing::warn!("cannot write notification to {}: {e}", this.path.display());
            }
        })
    }
}
