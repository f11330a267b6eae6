//! The local notification log: one line per notice, appended to a file in the state
//! dir (0600), so that a release without chat channels still leaves a record of
//! what people were told. Used as the `file` channel.

use std::io::Write;
use std::path::PathBuf;

use super::message::Message;

#[derive(Debug, Clone)]
pub struct FileNotifier {
    pub path: PathBuf,
}

impl FileNotifier {
    /// The line written for a message (no newline): time, kind, dedupe key, text.
    pub fn line_of(m: &Message) -> String {
        let mut line = format!(
            "{} {} {} {}",
            m.at.format("%Y-%m-%dT%H:%M:%SZ"),
            m.kind,
            m.dedupe_key,
            super::sanitize(&m.text, 2000),
        );
        if let Some(cmd) = &m.command {
            line.push_str(&format!(" — run: {cmd}"));
        }
        line
    }

    pub fn append(&self, line: &str) -> std::io::Result<()> {
        // Mode 0600, never through a symlink.
        let (mut f, _) = crate::runtime::state_dir::open_state_file(&self.path, true)?;
        f.write_all(format!("{line}\n").as_bytes())
    }
}
