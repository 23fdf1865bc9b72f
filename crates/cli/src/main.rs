//! The `rampart` binary: thin glue over the library crates.
//!
//! - `rampart serve`: the AWS APIs on one HTTP listener;
//! - `rampart init`: the first account, its `admin` user and an aws-cli profile;
//! - `rampart audit verify`: checks the audit trail's digest chain;
//! - `rampart policy validate|eval`: the policy engine from the command line.

mod audit_cmd;
mod aws_profile;
mod init;
mod policy_cmd;
mod serve;
mod state_location;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rampart",
    version,
    about = "The AWS security services, self-hosted"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the AWS APIs (IAM, STS, CloudTrail, ...) on one HTTP listener.
    Serve(serve::ServeArgs),
    /// Create the first account with an `admin` user and write an aws-cli profile for it.
    Init(init::InitArgs),
    /// Inspect the audit trail.
    #[command(subcommand)]
    Audit(audit_cmd::AuditCommand),
    /// Validate a policy document or decide a request with the policy engine.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
}

/// See the comment on `mimalloc` in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve(args) => runtime().and_then(|rt| rt.block_on(serve::run(args))),
        Command::Init(args) => runtime().and_then(|rt| rt.block_on(init::run(args))),
        Command::Audit(cmd) => runtime().and_then(|rt| rt.block_on(audit_cmd::run(cmd))),
        Command::Policy(cmd) => policy_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("rampart: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
