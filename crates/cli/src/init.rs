//! `rampart init`: bootstraps an account (see `rampart_services::bootstrap`) straight
//! in the store, so it works whether or not a server is running, and writes the
//! admin's access key to an aws-cli/boto3 profile. The secret is printed only when
//! asked for.

use std::process::ExitCode;

use anyhow::Context;
use rampart_services::{ControlPlane, Settings, bootstrap};

use crate::aws_profile::{Profile, ProfileFiles};
use crate::state_location::StateLocation;

#[derive(clap::Args)]
pub struct InitArgs {
    /// The aws-cli/boto3 profile to write.
    #[arg(long, default_value = "rampart")]
    profile: String,
    #[command(flatten)]
    state: StateLocation,
    /// Where the profile's clients will reach rampart.
    #[arg(long, default_value = "http://127.0.0.1:4566")]
    endpoint_url: String,
    /// The account to create (default: a new random account id, or the only account).
    #[arg(long)]
    account_id: Option<String>,
    /// The profile's region.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Also print the secret access key.
    #[arg(long)]
    show_secret: bool,
    /// Issue the access key to the account's root user instead of the `admin` user
    /// (AWS discourages root access keys; this is for testing what applies to root,
    /// such as an organization's SCPs on a member account).
    #[arg(long)]
    root: bool,
}

pub async fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let (store, master_key) = args.state.open().await?;
    let plane = ControlPlane::open(
        store,
        master_key,
        Settings {
            dev: false,
            default_account_id: String::new(),
            regions: vec![args.region.clone()],
        },
    )
    .await
    .context("loading the state")?;
    let owner = if args.root {
        bootstrap::KeyOwner::Root
    } else {
        bootstrap::KeyOwner::Admin
    };
    let issued = bootstrap::initialize(&plane, args.account_id.as_deref(), owner)
        .await
        .context("creating the account")?;
    let files = ProfileFiles::from_environment()?;
    files.write(&Profile {
        name: &args.profile,
        access_key_id: &issued.access_key_id,
        secret_access_key: &issued.secret_access_key,
        endpoint_url: &args.endpoint_url,
        region: &args.region,
    })?;
    println!("account:       {}", issued.account_id);
    println!("principal:     {}", issued.user_arn);
    println!("access key id: {}", issued.access_key_id);
    if args.show_secret {
        println!("secret key:    {}", issued.secret_access_key.as_str());
    }
    println!(
        "profile:       {} (in {} and {})",
        args.profile,
        files.credentials.display(),
        files.config.display()
    );
    println!(
        "try:           aws --profile {} sts get-caller-identity",
        args.profile
    );
    plane.audit().flush().await?;
    Ok(ExitCode::SUCCESS)
}
