//! A real Prometheus server for tests: Debian's `prometheus` binary run directly
//! (never its system service), on a free loopback port, with a throwaway storage
//! directory and a 1 s scrape of one target. Stopped by pid (SIGKILL) when the guard
//! drops, so a failing test leaves no server behind.
//!
//! When the binary is missing, tests call [`prometheus_or_skip`] and return early with
//! a loud "SKIPPED" written straight to the terminal (not to the test harness's
//! captured output); CI sets `SHIPDECK_REQUIRE_PROMETHEUS=1` to make that a failure.
//! `SHIPDECK_PROMETHEUS` names another binary (a path that does not exist counts as
//! no binary).
//!
//! Waits are bounded polls of the server's own endpoints, never fixed sleeps.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the server may take to become ready: generous for a loaded CI machine,
/// and only ever reached when something is wrong.
pub const READY_WITHIN: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// The binary to run, if there is one.
pub fn prometheus_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SHIPDECK_PROMETHEUS") {
        // Named explicitly: that one or none (a missing path skips, or fails in CI).
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("prometheus"))
        .find(|p| p.is_file())
}

/// The binary, or `None` after a loud SKIPPED (the test should return); panics when
/// `SHIPDECK_REQUIRE_PROMETHEUS=1` (CI, where skipping would hide a missing install).
pub fn prometheus_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(bin) = prometheus_binary() {
        return Some(bin);
    }
    if std::env::var("SHIPDECK_REQUIRE_PROMETHEUS").as_deref() == Ok("1") {
        panic!(
            "{test}: SHIPDECK_REQUIRE_PROMETHEUS=1 but no prometheus binary (apt-get install --no-install-recommends prometheus)"
        );
    }
    // Straight to the terminal: the harness captures eprintln! of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "\n**** SKIPPED: {test}: prometheus not installed (apt-get install --no-install-recommends prometheus; CI sets SHIPDECK_REQUIRE_PROMETHEUS=1) ****\n"
    );
    None
}

/// A running Prometheus; killed by pid on drop.
pub struct PrometheusServer {
    child: Option<Child>,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl PrometheusServer {
    /// Starts `bin` scraping `target` (`host:port`, path `/metrics`) every
    /// `scrape_interval`, and waits until it is ready.
    pub async fn start(bin: &Path, target: SocketAddr, scrape_interval: &str) -> PrometheusServer {
        let mut last_log = String::new();
        // A free port can be taken between finding it and Prometheus binding it:
        // try a few.
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("tempdir");
            let config = format!(
                "global:\n  scrape_interval: {scrape_interval}\n  scrape_timeout: {scrape_interval}\n  evaluation_interval: {scrape_interval}\nscrape_configs:\n  - job_name: fleet\n    static_configs:\n      - targets: ['{target}']\n"
            );
            std::fs::write(dir.path().join("prometheus.yml"), config).expect("config");
            let port = free_port();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
            let child = Command::new(bin)
                .arg(format!(
                    "--config.file={}",
                    dir.path().join("prometheus.yml").display()
                ))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--storage.tsdb.retention.time=1h")
                .arg("--log.level=warn")
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("start prometheus");
            let mut server = PrometheusServer {
                child: Some(child),
                addr,
                dir,
            };
            if server.wait_ready().await {
                return server;
            }
            last_log = server.log();
            server.kill();
        }
        panic!("prometheus did not become ready; its log:\n{last_log}");
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Polls `/-/ready` until 200, the process exits, or [`READY_WITHIN`] passes.
    async fn wait_ready(&mut self) -> bool {
        let started = Instant::now();
        while started.elapsed() < READY_WITHIN {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_exited)) = child.try_wait() {
                    return false;
                }
            }
            if let Some((200, _)) = http_get(self.addr, "/-/ready").await {
                return true;
            }
            tokio::time::sleep(POLL).await;
        }
        false
    }

    /// An instant query through the HTTP API, as JSON (`None` when unreachable).
    pub async fn query(&self, promql: &str) -> Option<serde_json::Value> {
        let path = format!("/api/v1/query?query={}", encode(promql));
        let (status, body) = http_get(self.addr, &path).await?;
        (status == 200).then(|| serde_json::from_str(&body).ok())?
    }

    /// Polls `promql` until `pred` holds on its result array, within `within`.
    pub async fn wait_for(
        &self,
        what: &str,
        promql: &str,
        within: Duration,
        pred: impl Fn(&[serde_json::Value]) -> bool,
    ) {
        let started = Instant::now();
        loop {
            if let Some(v) = self.query(promql).await {
                if let Some(result) = v["data"]["result"].as_array() {
                    if pred(result) {
                        return;
                    }
                }
            }
            assert!(
                started.elapsed() < within,
                "gave up waiting for {what} ({promql}); prometheus log:\n{}",
                self.log()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Kills the server (SIGKILL, by pid) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) with a pid we spawned and have not reaped yet, so it
            // cannot name another process.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGKILL);
            }
            let _ = child.wait();
        }
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A minimal HTTP/1.0 GET over loopback: status and body, `None` when unreachable.
pub async fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status: u16 = text.split(' ').nth(1)?.parse().ok()?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Some((status, body))
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .ok()
        .flatten()
}
