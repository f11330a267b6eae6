//! Deploys on the demo fleet: `POST /deploy/{customer}` starts one, the customer
//! runs the new version after its configured deploy time (fleet clock, so release
//! time in the demo), and `GET /deploy/{customer}/status/{n}` says where it stands —
//! the shape of a Render deploy hook, so the demo drives the real `webhook`
//! deployer, with status polling and verify, against a real socket.
//!
//! A repeated idempotency key is the same deploy, not a new one (what a resumed
//! shipdeck sends after a crash). Failures can be scripted per customer
//! ([`DeployFault`]): the hook answering an HTTP error a number of times, the
//! deploy ending `failed`, or ending `live` on the wrong version (which verify
//! catches).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};

use super::fleet::{FleetError, FleetHandle};
use crate::domain::{Customer, CustomerId, Version};

/// How long a fleet deploy takes when the customer's target says nothing.
pub const DEFAULT_DEPLOY_TIME: Duration = Duration::from_secs(30);

/// A scripted deploy failure for one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployFault {
    /// The hook answers this HTTP status for the next `times` requests.
    Http { status: u16, times: u32 },
    /// Deploys end with status `failed` (the version does not change).
    Fails,
    /// Deploys end `live` but the customer keeps its old version.
    WrongVersion,
}

/// One deploy the fleet was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetDeploy {
    pub number: u64,
    pub customer: CustomerId,
    pub version: Version,
    pub idempotency_key: String,
    pub ready_at: DateTime<Utc>,
    /// How many POSTs carried this deploy's key.
    pub requests: u32,
    pub state: DeployState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployState {
    Deploying,
    Live,
    Failed,
}

impl DeployState {
    fn as_str(self) -> &'static str {
        match self {
            DeployState::Deploying => "deploying",
            DeployState::Live => "live",
            DeployState::Failed => "failed",
        }
    }
}

/// The fleet's deploy book.
#[derive(Debug, Default)]
pub struct FleetDeploys {
    delays: HashMap<CustomerId, Duration>,
    faults: HashMap<CustomerId, DeployFault>,
    deploys: Vec<FleetDeploy>,
    /// Every POST, as (customer, idempotency key, attempt in the body).
    posts: Vec<(CustomerId, String, Option<u64>)>,
}

impl FleetDeploys {
    pub fn new(customers: &[Customer]) -> FleetDeploys {
        FleetDeploys {
            delays: customers
                .iter()
                .map(|c| {
                    let d = c
                        .deploy
                        .expected_duration()
                        .map_or(DEFAULT_DEPLOY_TIME, |d| Duration::from_secs(d.as_secs()));
                    (c.id.clone(), d)
                })
                .collect(),
            ..FleetDeploys::default()
        }
    }
}

impl FleetHandle {
    /// Scripts how `id`'s next deploys fail (`None` clears it).
    pub fn script_deploys(&self, id: &CustomerId, fault: Option<DeployFault>) {
        let mut d = self.deploy_book();
        match fault {
            Some(f) => d.faults.insert(id.clone(), f),
            None => d.faults.remove(id),
        };
    }

    /// The deploys `id` was asked for.
    pub fn deploys(&self, id: &CustomerId) -> Vec<FleetDeploy> {
        self.settle_deploys(id);
        self.deploy_book()
            .deploys
            .iter()
            .filter(|d| &d.customer == id)
            .cloned()
            .collect()
    }

    /// The idempotency keys of every POST for `id`, in order (repeats included).
    pub fn deploy_keys(&self, id: &CustomerId) -> Vec<String> {
        self.deploy_posts(id).into_iter().map(|(k, _)| k).collect()
    }

    /// Every POST for `id`, in order: its idempotency key and the `attempt` its
    /// body gave.
    pub fn deploy_posts(&self, id: &CustomerId) -> Vec<(String, Option<u64>)> {
        self.deploy_book()
            .posts
            .iter()
            .filter(|(c, _, _)| c == id)
            .map(|(_, k, a)| (k.clone(), *a))
            .collect()
    }

    /// Ends the deploys of `id` that are due: the version goes live (or not, as
    /// scripted). Called on every read, so the fleet needs no timer.
    pub(super) fn settle_deploys(&self, id: &CustomerId) {
        let now = self.now();
        let mut live = None;
        {
            let mut book = self.deploy_book();
            let fault = book.faults.get(id).cloned();
            for d in book.deploys.iter_mut().filter(|d| &d.customer == id) {
                if d.state == DeployState::Deploying && now >= d.ready_at {
                    d.state = match fault {
                        Some(DeployFault::Fails) => DeployState::Failed,
                        _ => DeployState::Live,
                    };
                    if d.state == DeployState::Live && fault != Some(DeployFault::WrongVersion) {
                        live = Some(d.version.clone());
                    }
                }
            }
        }
        if let Some(v) = live {
            if let Err(e) = self.set_version(id, v) {
                tracing::debug!("fleet deploy: {e}");
            }
        }
    }
}

fn json(code: StatusCode, body: String) -> Response {
    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `POST /deploy/{id}` with a JSON body holding `version` and `idempotency_key`.
pub(super) async fn post_deploy(
    State(fleet): State<FleetHandle>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let id = CustomerId(id);
    if fleet.version(&id).is_none() {
        return json(
            StatusCode::NOT_FOUND,
            format!("{{\"message\":\"{}\"}}", FleetError::UnknownCustomer(id)),
        );
    }
    let doc: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(_) => {
            return json(
                StatusCode::BAD_REQUEST,
                r#"{"message":"the body is not JSON"}"#.into(),
            );
        }
    };
    let Some(version) = doc
        .pointer("/version")
        .and_then(|v| v.as_str())
        .and_then(|v| v.parse::<Version>().ok())
    else {
        return json(
            StatusCode::BAD_REQUEST,
            r#"{"message":"the body has no version like v1.2.3 at /version"}"#.into(),
        );
    };
    let key = doc
        .pointer("/idempotency_key")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let attempt = doc.pointer("/attempt").and_then(|v| v.as_u64());
    let now = fleet.now();
    let mut book = fleet.deploy_book();
    book.posts.push((id.clone(), key.clone(), attempt));
    if let Some(DeployFault::Http { status, times }) = book.faults.get(&id).cloned() {
        if times > 0 {
            if times == 1 {
                book.faults.remove(&id);
            } else {
                book.faults.insert(
                    id.clone(),
                    DeployFault::Http {
                        status,
                        times: times - 1,
                    },
                );
            }
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return json(code, r#"{"message":"scripted deploy failure"}"#.into());
        }
    }
    let existing = book
        .deploys
        .iter_mut()
        .find(|d| d.customer == id && !key.is_empty() && d.idempotency_key == key);
    let number = match existing {
        Some(d) => {
            d.requests += 1;
            d.number
        }
        None => {
            let delay = book.delays.get(&id).copied().unwrap_or(DEFAULT_DEPLOY_TIME);
            let number = book.deploys.len() as u64 + 1;
            book.deploys.push(FleetDeploy {
                number,
                customer: id.clone(),
                version,
                idempotency_key: key,
                ready_at: now + TimeDelta::from_std(delay).unwrap_or_default(),
                requests: 1,
                state: DeployState::Deploying,
            });
            number
        }
    };
    drop(book);
    let location = format!("/deploy/{}/status/{number}", id.as_str());
    (
        StatusCode::ACCEPTED,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::LOCATION, location),
        ],
        format!("{{\"id\":{number},\"status\":\"deploying\"}}"),
    )
        .into_response()
}

/// `GET /deploy/{id}/status/{n}`: `{"status": "deploying" | "live" | "failed"}`.
pub(super) async fn deploy_status(
    State(fleet): State<FleetHandle>,
    Path((id, number)): Path<(String, u64)>,
) -> Response {
    let id = CustomerId(id);
    fleet.settle_deploys(&id);
    let book = fleet.deploy_book();
    match book
        .deploys
        .iter()
        .find(|d| d.customer == id && d.number == number)
    {
        None => json(
            StatusCode::NOT_FOUND,
            r#"{"message":"no such deploy"}"#.into(),
        ),
        Some(d) => json(
            StatusCode::OK,
            serde_json::json!({
                "id": d.number,
                "status": d.state.as_str(),
                "version": d.version.to_string(),
            })
            .to_string(),
        ),
    }
}
