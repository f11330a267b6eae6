//! Helpers shared by the integration suite's modules. Each uses a subset, hence the
//! `dead_code` allowance.
#![allow(dead_code)]

pub mod deploy;
pub mod drill;
pub mod process;
pub mod prometheus;
pub mod receiver;
pub mod tmux;

/// Kills (SIGKILL) whatever process holds release `label`'s lock in `state` when
/// dropped: a test that fails half-way must not leave a background runner behind.
pub struct RunnerGuard {
    pub state: std::path::PathBuf,
    pub label: &'static str,
}

impl Drop for RunnerGuard {
    fn drop(&mut self) {
        let lock = self.state.join("releases").join(self.label).join("lock");
        if shipdeck::runtime::lock::current_holder(&lock).is_none() {
            return;
        }
        let pid = std::fs::read_to_string(&lock)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("pid").and_then(serde_json::Value::as_i64));
        if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0) {
            // SAFETY: kill(2) on the holder of a release this test created.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}
