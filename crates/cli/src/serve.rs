//! `rampart serve`: opens the state, loads it into memory, follows the change feed,
//! rotates KMS keys on their schedule and serves the AWS APIs until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use rampart_services::{ControlPlane, Settings};

use crate::state_location::StateLocation;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
    #[command(flatten)]
    state: StateLocation,
    /// Emulator convenience: unknown access keys act as the root user of --account-id,
    /// and POST /_rampart/reset empties the state. Off by default.
    #[arg(long)]
    dev: bool,
    /// The account --dev maps unknown access keys to.
    #[arg(long, default_value = "000000000000")]
    account_id: String,
    /// The regions rampart serves: requests signed for any other are refused
    /// (SignatureDoesNotMatch), and KMS keys live in the region they were created in.
    /// Repeat it or separate regions with commas; the first is the one rampart reports
    /// itself in.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "us-east-1",
        required = false
    )]
    region: Vec<String>,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let (store, master_key) = args.state.open().await?;
    let plane = ControlPlane::open(
        store,
        master_key,
        Settings {
            dev: args.dev,
            default_account_id: args.account_id.clone(),
            regions: args.region,
        },
    )
    .await
    .context("loading the state")?;
    rampart_services::bootstrap::ensure_dev_account(&plane)
        .await
        .context("creating the --dev account")?;
    plane.spawn_follower();
    rampart_services::kms::rotation::spawn_sweeper(&plane);
    if args.dev {
        tracing::warn!(
            account = %args.account_id,
            "--dev: unknown access keys act as this account's root user; POST /_rampart/reset empties the state"
        );
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(
        address = %listener.local_addr()?,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "rampart is serving"
    );
    rampart_server::serve(listener, plane.clone(), shutdown_signal()).await?;
    plane
        .audit()
        .flush()
        .await
        .context("flushing the audit trail")?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or(()),
        };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}
