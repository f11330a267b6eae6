//! Shared pieces of the deploy tests: a request, a context on a temp dir, a
//! scriptable loopback HTTP server that records what it was sent, and bounded
//! polling (never a fixed sleep).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use shipdeck::adapters::deploy::DeployContext;
use shipdeck::domain::{CustomerId, TierName, Version};
use shipdeck::engine::EffectResult;
use shipdeck::runtime::clock::Clock;
use shipdeck::runtime::effects::{DeployControl, DeployRequest};

pub fn request() -> DeployRequest {
    DeployRequest {
        release: "v1.0.2".into(),
        seed: 7,
        customer: CustomerId::new("acme-corp"),
        customer_name: "ACME Corp".into(),
        tier: TierName::new("enterprise"),
        version: Version::new(1, 0, 2),
        previous_version: Version::new(1, 0, 1),
        rollback: false,
        attempt: 1,
        idempotency_key: "shipdeck-test-key-0001".into(),
        operator: "alice".into(),
        control: DeployControl::none(),
    }
}

/// A request whose retries are reported on a channel, and whose detach token the
/// test holds.
pub fn watched_request() -> (
    DeployRequest,
    mpsc::UnboundedReceiver<EffectResult>,
    CancellationToken,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let detach = CancellationToken::new();
    let mut r = request();
    r.control = DeployControl::new(tx, r.customer.clone(), detach.clone());
    (r, rx, detach)
}

pub fn context(dir: &Path) -> DeployContext {
    DeployContext::new(Clock::System, dir.join("deploys")).expect("http client")
}

/// Every retry a deployer reported, as (attempt, reason).
pub fn retries(rx: &mut mpsc::UnboundedReceiver<EffectResult>) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    while let Ok(r) = rx.try_recv() {
        if let EffectResult::DeployRetrying {
            attempt, reason, ..
        } = r
        {
            out.push((attempt, reason));
        }
    }
    out
}

/// Polls `check` until it holds, for at most `limit` (real processes and sockets
/// need real time; the wait is bounded and the test asserts order, not speed).
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    check()
}

/// The same, for blocking tests.
pub fn eventually_blocking(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// What the scripted server answers to one request.
#[derive(Debug, Clone)]
pub enum Answer {
    Json(u16, &'static str),
    /// Status, headers, body.
    With(u16, Vec<(&'static str, String)>, String),
    /// Never answers (until the server is dropped).
    Hang,
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Seen {
    pub fn key(&self) -> Option<&str> {
        self.headers.get("idempotency-key").map(String::as_str)
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

#[derive(Default)]
struct Script {
    /// "POST /deploy" → answers in order; the last one repeats.
    answers: HashMap<String, VecDeque<Answer>>,
    seen: Vec<Seen>,
}

/// A loopback HTTP server that answers from a script and records every request.
#[derive(Clone)]
pub struct ScriptServer {
    script: Arc<Mutex<Script>>,
    pub addr: SocketAddr,
    stop: CancellationToken,
}

impl ScriptServer {
    pub async fn start() -> ScriptServer {
        let script = Arc::new(Mutex::new(Script::default()));
        let stop = CancellationToken::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = ScriptServer {
            script,
            addr,
            stop: stop.clone(),
        };
        let app = Router::new().fallback(answer).with_state(server.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Scripts `method path` to answer these, in order (the last repeats).
    pub fn on(&self, method: &str, path: &str, answers: Vec<Answer>) {
        self.script
            .lock()
            .unwrap()
            .answers
            .insert(format!("{method} {path}"), answers.into());
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.script.lock().unwrap().seen.clone()
    }

    pub fn seen_on(&self, method: &str, path: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == method && s.path == path)
            .collect()
    }
}

async fn answer(
    State(server): State<ScriptServer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let next = {
        let mut s = server.script.lock().unwrap();
        s.seen.push(Seen {
            method: method.to_string(),
            path: path.clone(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect(),
            body: String::from_utf8_lossy(&body).into(),
            at: Instant::now(),
        });
        let queue = s.answers.get_mut(&format!("{method} {path}"));
        match queue {
            Some(q) if q.len() > 1 => q.pop_front(),
            Some(q) => q.front().cloned(),
            None => None,
        }
    };
    match next {
        None => (StatusCode::NOT_FOUND, "no such route in the script").into_response(),
        Some(Answer::Json(code, body)) => (
            StatusCode::from_u16(code).unwrap(),
            [("content-type", "application/json")],
            body,
        )
            .into_response(),
        Some(Answer::With(code, hs, body)) => {
            let mut r = (StatusCode::from_u16(code).unwrap(), body).into_response();
            for (k, v) in hs {
                r.headers_mut().insert(k, v.parse().unwrap());
            }
            r
        }
        Some(Answer::Hang) => {
            server.stop.cancelled().await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// A listener that resets every connection (RST) as soon as a request arrives.
pub async fn resetting_listener() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut stream = stream;
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = socket2_zero_linger(&stream);
                drop(stream);
            });
        }
    });
    addr
}

#[allow(deprecated)]
fn socket2_zero_linger(stream: &tokio::net::TcpStream) -> std::io::Result<()> {
    stream.set_linger(Some(Duration::ZERO))
}

/// A listener that answers every connection with bytes that are not HTTP.
pub async fn garbage_listener() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut stream = stream;
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"SSH-2.0-OpenSSH_9.6\r\n\x1b[31mgarbage\r\n\r\n")
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

/// A listener that answers each connection with the next of `replies` (raw bytes,
/// the last repeating) and closes it.
pub async fn raw_listener(replies: Vec<Vec<u8>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut n = 0usize;
        while let Ok((stream, _)) = listener.accept().await {
            let reply = replies[n.min(replies.len() - 1)].clone();
            n += 1;
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(&reply).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}
