//! A real HTTP receiver on loopback (axum) that counts deliveries, for notification
//! tests. It answers from a script (a status, `Retry-After`, a stall that never
//! answers) and can reset connections before reading them; a delivery counts when
//! it was answered 2xx, keyed by the `Idempotency-Key` header.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub enum Reply {
    Ok,
    Status(u16, Option<String>),
    /// Never answers (until the client goes away).
    Stall,
}

#[derive(Debug, Clone)]
pub struct Accepted {
    pub key: String,
    pub path: String,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    /// After the script: this (default Ok).
    then: Option<Reply>,
    /// Accept the first N deliveries, then stall every later one (a receiver
    /// that is reached but never answers).
    accept_then_stall: Option<usize>,
    resets: usize,
    requests: usize,
    stalled: usize,
    accepted: Vec<Accepted>,
}

#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub addr: SocketAddr,
}

struct Resetting {
    listener: TcpListener,
    inner: Arc<Mutex<Inner>>,
}

impl axum::serve::Listener for Resetting {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            let Ok((stream, addr)) = self.listener.accept().await else {
                continue;
            };
            let reset = {
                let mut g = self.inner.lock().unwrap();
                if g.resets > 0 {
                    g.resets -= 1;
                    true
                } else {
                    false
                }
            };
            if reset {
                // RST instead of FIN: the client sees "connection reset".
                #[allow(deprecated)]
                let _ = stream.set_linger(Some(std::time::Duration::ZERO));
                drop(stream);
                continue;
            }
            return (stream, addr);
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = {
        let mut g = inner.lock().unwrap();
        g.requests += 1;
        if let Some(n) = g.accept_then_stall {
            if g.accepted.len() >= n {
                Reply::Stall
            } else {
                Reply::Ok
            }
        } else {
            g.script
                .pop_front()
                .or_else(|| g.then.clone())
                .unwrap_or(Reply::Ok)
        }
    };
    match reply {
        Reply::Ok => {
            let key = headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
            inner.lock().unwrap().accepted.push(Accepted {
                key,
                path: uri.path().to_string(),
                body,
            });
            (StatusCode::OK, "ok").into_response()
        }
        Reply::Status(code, retry_after) => {
            let mut resp = (
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "try later\x1b[31m",
            )
                .into_response();
            if let Some(ra) = retry_after {
                resp.headers_mut()
                    .insert("retry-after", ra.parse().expect("header"));
            }
            resp
        }
        Reply::Stall => {
            inner.lock().unwrap().stalled += 1;
            std::future::pending::<()>().await;
            unreachable!()
        }
    }
}

impl Receiver {
    /// Starts on 127.0.0.1 (an ephemeral port) on the current runtime.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let l = Resetting {
            listener,
            inner: inner.clone(),
        };
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        Receiver { inner, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    pub fn then(&self, reply: Reply) {
        self.inner.lock().unwrap().then = Some(reply);
    }

    pub fn reset_next(&self, n: usize) {
        self.inner.lock().unwrap().resets += n;
    }

    pub fn accept_then_stall(&self, n: Option<usize>) {
        self.inner.lock().unwrap().accept_then_stall = n;
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.inner.lock().unwrap().accepted.clone()
    }

    pub fn requests(&self) -> usize {
        self.inner.lock().unwrap().requests
    }

    pub fn stalled(&self) -> usize {
        self.inner.lock().unwrap().stalled
    }
}

/// A loopback port nothing listens on (bound, then released).
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
