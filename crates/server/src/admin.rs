//! rampart's own endpoints: `GET /_rampart/health`, and in `--dev` mode
//! `POST /_rampart/reset`, which empties the state of every replica.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use rampart_services::ControlPlane;

pub fn routes() -> Router<Arc<ControlPlane>> {
    Router::new()
        .route("/health", get(health))
        .route("/reset", post(reset))
        .route(
            "/oidc-jwks",
            get(crate::oidc_keys::handle).put(crate::oidc_keys::handle),
        )
}

async fn health(State(plane): State<Arc<ControlPlane>>) -> String {
    format!("{{\"status\":\"ok\",\"seq\":{}}}", plane.view().seq)
}

async fn reset(State(plane): State<Arc<ControlPlane>>) -> (StatusCode, &'static str) {
    if !plane.settings().dev {
        return (StatusCode::NOT_FOUND, "reset is only served with --dev\n");
    }
    match plane.reset().await {
        Ok(()) => (StatusCode::OK, "reset\n"),
        Err(error) => {
            tracing::error!(%error, "reset failed");
            (StatusCode::SERVICE_UNAVAILABLE, "reset failed\n")
        }
    }
}
