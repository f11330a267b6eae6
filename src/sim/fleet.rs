//! The demo fleet: simulated customers behind a real HTTP server on loopback, each
//! with a health endpoint, a deployed version and injectable faults.
//!
//! It plays the outside world for demos, drills, tests and benchmarks, so that the
//! probes exercise real sockets (timeouts, resets, oversized bodies) rather than mocks.
//! Its state sits behind a `std::sync::Mutex`: it is the *simulated services'* state,
//! not engine state, every access is a short map lookup, and no lock is held across an
//! `.await`.
//!
//! `GET /health/{customer_id}` answers
//! `{"status":"ok","error_rate":0.4,"latency_p95_ms":120.0,"version":"v1.0.1"}`
//! or whatever the customer's active faults make of it (see [`Fault`]).
//! `POST /deploy/{customer_id}` deploys a version to it (see `fleet_deploys`).
//!
//! `GET /metrics` answers every customer's traffic in the Prometheus text format,
//! driven by the same faults (see [`super::metrics`]).

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::{IncomingStream, Listener};
use chrono::{DateTime, Utc};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::fault::{ActiveFault, Fault, FaultId, Reply, SimCustomer};
use super::metrics::{self, Traffic};
use crate::adapters::health::SimulatedHealth;
use crate::domain::{Customer, CustomerId, HealthSample, HealthSource, ProbeOutcome, Version};

/// Where the fleet reads "now" from: the real clock, the demo's scaled clock, or a
/// test's manual clock.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Baseline figures for a customer whose health source is not `simulated`.
const DEFAULT_ERROR_RATE: f64 = 0.5;
const DEFAULT_LATENCY_MS: f64 = 100.0;

/// How much a `Flood` reply sends: far past any probe's body limit.
const FLOOD_CHUNKS: usize = 256;
static FLOOD_CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FleetError {
    #[error("the fleet has no customer `{0}`")]
    UnknownCustomer(CustomerId),
    #[error("fault {kind} is not valid: {reason}")]
    InvalidFault { kind: &'static str, reason: String },
}

/// A running fleet. Cheap to clone; every clone controls the same fleet.
#[derive(Clone)]
pub struct FleetHandle {
    inner: Arc<Inner>,
}

struct Inner {
    addr: SocketAddr,
    clock: Clock,
    state: Mutex<FleetState>,
    shutdown: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
    /// Deploys asked for over `POST /deploy/{id}` (see `fleet_deploys`).
    deploys: Mutex<super::fleet_deploys::FleetDeploys>,
    /// `/metrics`: traffic accrued when scraped (locked after `state`, never before).
    traffic: Mutex<Traffic>,
}

#[derive(Default)]
struct FleetState {
    customers: HashMap<CustomerId, SimCustomer>,
    next_fault: u64,
}

impl std::fmt::Debug for FleetHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetHandle")
            .field("addr", &self.inner.addr)
            .finish_non_exhaustive()
    }
}

/// Starts the fleet for `customers` on `bind` (port 0 picks a free port) and returns
/// once it accepts connections.
pub async fn serve(
    customers: &[Customer],
    bind: SocketAddr,
    clock: Clock,
) -> io::Result<FleetHandle> {
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let now = clock();
    let deploys = super::fleet_deploys::FleetDeploys::new(customers);
    let customers: HashMap<CustomerId, SimCustomer> = customers
        .iter()
        .map(|c| {
            let (baseline_error_rate, baseline_latency_ms) = match c.health {
                HealthSource::Simulated {
                    baseline_error_rate,
                    baseline_latency_ms,
                } => (baseline_error_rate, baseline_latency_ms),
                _ => (DEFAULT_ERROR_RATE, DEFAULT_LATENCY_MS),
            };
            let sim = SimCustomer {
                baseline_error_rate,
                baseline_latency_ms,
                version: c.version.clone(),
                version_since: now,
                faults: Vec::new(),
            };
            (c.id.clone(), sim)
        })
        .collect();
    let (shutdown, _) = watch::channel(false);
    let traffic = Traffic::new(customers.keys(), now);
    let inner = Arc::new(Inner {
        addr,
        clock,
        traffic: Mutex::new(traffic),
        state: Mutex::new(FleetState {
            customers,
            next_fault: 1,
        }),
        shutdown,
        task: Mutex::new(None),
        deploys: Mutex::new(deploys),
    });
    let handle = FleetHandle { inner };

    let app = Router::new()
        .route("/health/{id}", get(health))
        .route(
            "/deploy/{id}",
            axum::routing::post(super::fleet_deploys::post_deploy),
        )
        .route(
            "/deploy/{id}/status/{n}",
            get(super::fleet_deploys::deploy_status),
        )
        .route("/metrics", get(metrics_endpoint))
        .with_state(handle.clone());
    let mut stop = handle.inner.shutdown.subscribe();
    let server = axum::serve(
        FleetListener(listener),
        app.into_make_service_with_connect_info::<ResetSwitch>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    });
    let task = tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::warn!(error = %e, "demo fleet stopped with an error");
        }
    });
    *lock(&handle.inner.task) = Some(task);
    tracing::info!(%addr, "demo fleet listening");
    Ok(handle)
}

/// A poisoned lock only means a panic elsewhere mid-update of simulated figures;
/// the fleet keeps serving what is there.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl FleetHandle {
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// The health URL of `id` (whether or not the fleet knows it).
    pub fn url_for(&self, id: &CustomerId) -> String {
        format!(
            "http://{}/health/{}",
            self.inner.addr,
            encode_segment(id.as_str())
        )
    }

    /// The deploy hook of `id` on this fleet (`POST`).
    pub fn deploy_url_template(&self) -> String {
        format!("http://{}/deploy/{{customer}}", self.inner.addr)
    }

    pub(super) fn deploy_book(&self) -> MutexGuard<'_, super::fleet_deploys::FleetDeploys> {
        lock(&self.inner.deploys)
    }

    /// An `http` health source that reads `id` from this fleet, figures included.
    pub fn http_source(&self, id: &CustomerId) -> HealthSource {
        HealthSource::Http {
            url: self.url_for(id),
            timeout: None,
            headers: Vec::new(),
            error_rate_pointer: Some("/error_rate".into()),
            latency_pointer: Some("/latency_p95_ms".into()),
        }
    }

    /// Where a Prometheus server scrapes the fleet's traffic.
    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.inner.addr)
    }

    /// The `/metrics` exposition now: every customer's traffic brought up to the
    /// fleet's clock, as its current reply (faults included) says it went.
    pub fn metrics_text(&self) -> Result<String, std::fmt::Error> {
        let now = self.now();
        let replies: Vec<(CustomerId, Reply, (f64, f64))> = lock(&self.inner.state)
            .customers
            .iter()
            .map(|(id, c)| {
                let baseline = (c.baseline_error_rate, c.baseline_latency_ms);
                (id.clone(), c.reply(now), baseline)
            })
            .collect();
        let mut traffic = lock(&self.inner.traffic);
        for (id, reply, baseline) in &replies {
            traffic.accrue(id, reply, *baseline, now);
        }
        traffic.encode()
    }

    /// The fleet's customers, sorted.
    pub fn customers(&self) -> Vec<CustomerId> {
        let mut ids: Vec<CustomerId> = lock(&self.inner.state).customers.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The time on the fleet's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.inner.clock)()
    }

    /// Deploys `version` to `id` (what the simulated deployer calls).
    pub fn set_version(&self, id: &CustomerId, version: Version) -> Result<(), FleetError> {
        let now = self.now();
        self.with_customer(id, |c| {
            if c.version != version {
                c.version = version;
                c.version_since = now;
            }
        })
    }

    pub fn version(&self, id: &CustomerId) -> Option<Version> {
        lock(&self.inner.state)
            .customers
            .get(id)
            .map(|c| c.version.clone())
    }

    /// Makes `id` show `fault` from now on.
    pub fn inject(&self, id: &CustomerId, fault: Fault) -> Result<FaultId, FleetError> {
        self.inject_since(id, fault, None, self.now())
    }

    /// Makes `id` show `fault` while `version` is deployed (from now, or from when
    /// that version arrives, whichever is later).
    pub fn inject_when(
        &self,
        id: &CustomerId,
        fault: Fault,
        version: Version,
    ) -> Result<FaultId, FleetError> {
        self.inject_since(id, fault, Some(version), self.now())
    }

    /// Injects a fault that began at `since` (a scenario step's scheduled instant,
    /// which a coarse driver tick may have passed a little while ago).
    pub fn inject_since(
        &self,
        id: &CustomerId,
        fault: Fault,
        when_version: Option<Version>,
        since: DateTime<Utc>,
    ) -> Result<FaultId, FleetError> {
        self.inject_window(id, fault, when_version, since, None)
    }

    /// Makes `id` show `fault` from now until `until` on the fleet's clock, when it
    /// is gone by itself: a blip whose length does not depend on how soon anyone
    /// gets round to removing it.
    pub fn inject_until(
        &self,
        id: &CustomerId,
        fault: Fault,
        until: DateTime<Utc>,
    ) -> Result<FaultId, FleetError> {
        self.inject_window(id, fault, None, self.now(), Some(until))
    }

    fn inject_window(
        &self,
        id: &CustomerId,
        fault: Fault,
        when_version: Option<Version>,
        since: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Result<FaultId, FleetError> {
        fault
            .validate()
            .map_err(|reason| FleetError::InvalidFault {
                kind: fault.kind(),
                reason,
            })?;
        let mut state = lock(&self.inner.state);
        let fault_id = FaultId(state.next_fault);
        let customer = state
            .customers
            .get_mut(id)
            .ok_or_else(|| FleetError::UnknownCustomer(id.clone()))?;
        tracing::info!(customer = %id, fault = fault.kind(), ?when_version, "fault injected");
        customer.faults.push(ActiveFault {
            id: fault_id,
            fault,
            when_version,
            since,
            until,
        });
        state.next_fault += 1;
        Ok(fault_id)
    }

    /// Removes one fault; `false` if it was already gone.
    pub fn remove_fault(&self, id: &CustomerId, fault: FaultId) -> Result<bool, FleetError> {
        self.with_customer(id, |c| {
            let before = c.faults.len();
            c.faults.retain(|f| f.id != fault);
            c.faults.len() != before
        })
    }

    pub fn clear_faults(&self, id: &CustomerId) -> Result<(), FleetError> {
        self.with_customer(id, |c| c.faults.clear())
    }

    /// The faults `id` currently carries.
    pub fn faults(&self, id: &CustomerId) -> Vec<ActiveFault> {
        lock(&self.inner.state)
            .customers
            .get(id)
            .map(|c| c.faults.clone())
            .unwrap_or_default()
    }

    /// What `id`'s endpoint would answer now, without a request.
    pub fn reply_for(&self, id: &CustomerId) -> Option<Reply> {
        let now = self.now();
        lock(&self.inner.state)
            .customers
            .get(id)
            .map(|c| c.reply(now))
    }

    /// Stops accepting, releases hung requests, and waits for the server to finish.
    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        let task = lock(&self.inner.task).take();
        if let Some(task) = task {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "demo fleet task failed");
            }
        }
    }

    fn with_customer<R>(
        &self,
        id: &CustomerId,
        f: impl FnOnce(&mut SimCustomer) -> R,
    ) -> Result<R, FleetError> {
        let mut state = lock(&self.inner.state);
        let customer = state
            .customers
            .get_mut(id)
            .ok_or_else(|| FleetError::UnknownCustomer(id.clone()))?;
        Ok(f(customer))
    }
}

/// In-process answers for `simulated` sources: the same faults, no socket.
impl SimulatedHealth for FleetHandle {
    fn check(&self, customer: &CustomerId, timeout: Duration) -> Option<ProbeOutcome> {
        let down = |reason: String| Some(ProbeOutcome::Down { reason });
        match self.reply_for(customer)? {
            Reply::Health {
                up: true,
                error_rate,
                latency_p95_ms,
                ..
            } => Some(ProbeOutcome::Up {
                sample: HealthSample {
                    error_rate: Some(error_rate),
                    latency_p95_ms: Some(latency_p95_ms),
                },
            }),
            Reply::Health { up: false, .. } => down("HTTP 503 Service Unavailable".into()),
            Reply::ServerError => down("HTTP 500 Internal Server Error".into()),
            Reply::NoData => Some(ProbeOutcome::Inconclusive {
                reason: "no data: body has nothing at /error_rate or /latency_p95_ms".into(),
            }),
            Reply::Garbage => down("body is not JSON: expected value at line 1 column 1".into()),
            Reply::Flood => down("body exceeds 64 KiB".into()),
            Reply::Hang => down(format!(
                "timed out after {}",
                crate::adapters::health::fmt_duration(timeout)
            )),
            Reply::Reset => down("connection reset by peer".into()),
        }
    }
}

async fn health(
    State(fleet): State<FleetHandle>,
    Path(id): Path<String>,
    ConnectInfo(reset): ConnectInfo<ResetSwitch>,
) -> Response {
    let id = CustomerId(id);
    fleet.settle_deploys(&id);
    let Some(reply) = fleet.reply_for(&id) else {
        return json(
            StatusCode::NOT_FOUND,
            r#"{"status":"unknown customer"}"#.to_string(),
        );
    };
    match reply {
        Reply::Health {
            up,
            error_rate,
            latency_p95_ms,
            version,
        } => {
            let body = serde_json::json!({
                "status": if up { "ok" } else { "down" },
                "error_rate": error_rate,
                "latency_p95_ms": latency_p95_ms,
                "version": version.to_string(),
            });
            let code = if up {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(code, body.to_string())
        }
        Reply::ServerError => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"status":"error"}"#.to_string(),
        ),
        Reply::NoData => json(StatusCode::OK, "{}".to_string()),
        Reply::Garbage => (
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>502 Bad Gateway (nginx)</body></html>",
        )
            .into_response(),
        Reply::Flood => {
            let chunks = futures_util::stream::iter(
                (0..FLOOD_CHUNKS).map(|_| Ok::<_, Infallible>(Bytes::from_static(&FLOOD_CHUNK))),
            );
            (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(chunks),
            )
                .into_response()
        }
        Reply::Hang => {
            // Never answer, but let go when the fleet shuts down so that graceful
            // shutdown does not wait on a request that was told to hang.
            let mut stop = fleet.inner.shutdown.subscribe();
            let _ = stop.wait_for(|stopped| *stopped).await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Reply::Reset => {
            // The connection aborts with RST when the server next writes to it.
            reset.0.store(true, Ordering::Relaxed);
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn metrics_endpoint(State(fleet): State<FleetHandle>) -> Response {
    // Encoding 10,000 customers' series takes milliseconds: off the async workers.
    let text = tokio::task::spawn_blocking(move || fleet.metrics_text()).await;
    match text {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn json(code: StatusCode, body: String) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Percent-encodes a path segment (customer ids are slugs, but need not be).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// --- Reset support -------------------------------------------------------------
//
// A handler cannot touch its socket, yet the `Reset` fault must abort the connection
// with a TCP RST, as a crashing proxy does. So connections are accepted through a
// listener whose streams carry a switch the handler can flip (handed to it as connect
// info); the next write on a flipped stream sets SO_LINGER to zero and fails, hyper
// drops the stream, and the kernel answers the close with RST.

struct FleetListener(TcpListener);

struct ResettableStream {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

/// The per-connection switch a handler flips to abort its connection.
#[derive(Clone)]
struct ResetSwitch(Arc<AtomicBool>);

impl Listener for FleetListener {
    type Io = ResettableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let io = ResettableStream {
                        stream,
                        reset: Arc::new(AtomicBool::new(false)),
                    };
                    return (io, addr);
                }
                // Out of file descriptors and the like: back off instead of spinning
                // (as axum's own TcpListener impl does).
                Err(e) => {
                    tracing::debug!(error = %e, "demo fleet accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, FleetListener>> for ResetSwitch {
    fn connect_info(stream: IncomingStream<'_, FleetListener>) -> Self {
        ResetSwitch(stream.io().reset.clone())
    }
}

impl ResettableStream {
    fn aborted(&self) -> Option<io::Error> {
        if self.reset.load(Ordering::Relaxed) {
            let _ = self.stream.set_zero_linger();
            Some(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "reset fault",
            ))
        } else {
            None
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(e) = self.aborted() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.aborted() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.aborted() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.aborted() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
