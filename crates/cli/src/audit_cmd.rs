//! `rampart audit verify`: walks the audit trail's digest chain and reports the first
//! event that was changed, removed or moved.

use std::process::ExitCode;

use crate::state_location::StateLocation;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check that no audit event was changed, removed or reordered.
    Verify {
        #[command(flatten)]
        state: StateLocation,
    },
}

pub async fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { state } => {
            let (store, _) = state.open().await?;
            let report = rampart_store::verify_audit_chain(store.as_ref()).await?;
            println!("{report}");
            Ok(if report.is_intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
