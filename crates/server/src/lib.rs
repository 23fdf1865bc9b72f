//! rampart's HTTP front: one listener for every service. Each request goes through
//! the same chain, in [`pipeline`]: authenticate (SigV4) → route and parse (the
//! protocol layer) → authorize (the policy engine) → handle (the service) → audit →
//! serialize. [`admin`] serves rampart's own endpoints under `/_rampart/`.
//!
//! The server holds no business rules: it moves requests between the protocol layer
//! and the services.

mod admin;
mod authenticate;
mod oidc_keys;
mod pipeline;
mod signing_keys;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use rampart_services::ControlPlane;
use tokio::net::TcpListener;

/// Serves every service on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    plane: Arc<ControlPlane>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(plane).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

fn router(plane: Arc<ControlPlane>) -> Router {
    Router::new()
        .nest("/_rampart", admin::routes())
        .fallback(pipeline::handle)
        .with_state(plane)
}
