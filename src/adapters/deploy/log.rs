//! The per-deploy log: what a deploy command printed (stdout and stderr, as they
//! came), or the webhook's exchanges, and the verify reads, one file per customer
//! and release (`releases/<label>/deploys/<customer>.log`). Each deploy or rollback
//! appends a section headed by what ran.
//!
//! The file is created 0600 in a 0700 directory: a deploy script may print things
//! only its operators should read. Output is capped per deploy ([`super::LOG_CAP`]):
//! past the cap, bytes are counted, not written, and when the attempt ends the cut
//! is noted and the last lines of each stream are written, because a deploy's
//! verdict is what it says last. A log that cannot be written never fails a
//! deploy; the failure goes to shipdeck's own log.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::runtime::clock::Clock;
use crate::runtime::state_dir::deploy_log_in;

/// Appends to one customer's deploy log. Cheap to clone (one shared file).
#[derive(Clone)]
pub struct DeployLog {
    inner: Arc<Mutex<Inner>>,
    clock: Clock,
}

struct Inner {
    file: Option<File>,
    path: PathBuf,
    cap: u64,
    /// Output bytes written by this deploy so far.
    written: u64,
    /// Output bytes past the cap (counted, not written).
    cut: u64,
}

impl DeployLog {
    /// Opens (creating) `dir/<customer>.log` for appending. On failure the log is
    /// a sink that writes nothing (and says why in shipdeck's log).
    pub fn open(dir: &Path, customer: &str, clock: Clock, cap: u64) -> DeployLog {
        let path = deploy_log_in(dir, customer);
        let file = DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .and_then(|()| {
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(&path)
            });
        let file = match file {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot open the deploy log");
                None
            }
        };
        DeployLog {
            inner: Arc::new(Mutex::new(Inner {
                file,
                path,
                cap,
                written: 0,
                cut: 0,
            })),
            clock,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.lock().path.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A line of shipdeck's own, stamped with the release time.
    pub fn line(&self, text: &str) {
        let stamp = self.clock.now().format("%Y-%m-%d %H:%M:%S");
        let mut inner = self.lock();
        inner.write(format!("[{stamp}] {text}\n").as_bytes());
    }

    /// Output of the program, as it arrives; counted against the cap.
    pub fn output(&self, bytes: &[u8]) {
        let mut inner = self.lock();
        let room = inner.cap.saturating_sub(inner.written);
        let n = bytes.len() as u64;
        let keep = usize::try_from(room.min(n)).unwrap_or(bytes.len());
        if keep > 0 {
            inner.write(&bytes[..keep]);
            inner.written += keep as u64;
        }
        inner.cut += n - keep as u64;
    }

    /// Ends an attempt's output: when some was cut, says how much and writes the
    /// last bytes of each stream (`tails`: name and bytes).
    pub fn end_output(&self, tails: &[(&str, &[u8])]) {
        let cut = {
            let mut inner = self.lock();
            std::mem::take(&mut inner.cut)
        };
        if cut == 0 {
            return;
        }
        self.line(&format!(
            "[output cut: {cut} bytes past the {} KiB this deploy keeps; the last lines follow]",
            self.lock().cap / 1024
        ));
        let mut inner = self.lock();
        for (name, tail) in tails {
            if tail.is_empty() {
                continue;
            }
            // Start at a line boundary where there is one.
            let start = tail
                .iter()
                .position(|b| *b == b'\n')
                .map_or(0, |i| i + 1)
                .min(tail.len());
            inner.write(format!("--- last of {name} ---\n").as_bytes());
            inner.write(&tail[start..]);
            if !tail.ends_with(b"\n") {
                inner.write(b"\n");
            }
        }
    }
}

impl Inner {
    fn write(&mut self, bytes: &[u8]) {
        if let Some(f) = &mut self.file {
            if let Err(e) = f.write_all(bytes) {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot write the deploy log");
                self.file = None;
            }
        }
    }
}

/// External text made safe to print on a terminal or in a reason: control
/// characters (escape sequences, carriage returns, NULs) become visible escapes
/// (`\x1b`), tabs and newlines become spaces. For one-line reasons.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' | '\n' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Like [`printable`], but keeps newlines: for printing a log file's lines.
pub fn printable_lines(text: &str) -> String {
    text.split('\n')
        .map(printable)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The last `n` lines of a deploy log, read from its end (at most 64 KiB of it),
/// escaped for a terminal. `None` when there is no log.
pub fn tail(path: &Path, n: usize) -> Option<Vec<String>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let from = len.saturating_sub(64 * 1024);
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let mut lines: Vec<&str> = text.lines().collect();
    if from > 0 && !lines.is_empty() {
        // The first line read may be cut in the middle.
        lines.remove(0);
    }
    let skip = lines.len().saturating_sub(n);
    Some(lines[skip..].iter().map(|l| printable(l)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("ok\x1b[31mred\r\n"), "ok\\x1b[31mred\\x0d ");
        assert_eq!(printable_lines("a\x07\nb"), "a\\x07\nb");
    }

    #[test]
    fn the_log_is_private_capped_and_keeps_the_end() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("deploys");
        let log = DeployLog::open(&dir, "acme-corp", Clock::System, 10);
        log.line("=== deploy v1.0.2");
        log.output(b"0123456789abcdef");
        log.end_output(&[("stdout", b"x\nlast line\n")]);
        let path = log.path();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("0123456789"), "{text}");
        assert!(!text.contains("abcdef"), "{text}");
        assert!(text.contains("output cut: 6 bytes"), "{text}");
        assert!(text.ends_with("last line\n"), "{text}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(tail(&path, 1).unwrap(), vec!["last line".to_string()]);
    }
}
