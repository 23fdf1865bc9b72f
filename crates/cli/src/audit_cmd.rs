//! `rampart audit verify`: walks the audit trail's digest chain and reports the first
//! event that was changed, removed, moved or cut off the end (the sealed anchored head),
//! or whose resources LookupEvents' index no longer holds as the event lists them.

use std::process::ExitCode;

use crate::state_location::StateLocation;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Check that no audit event was changed, removed, reordered or cut off, and that the
    /// resource index matches the events.
    Verify {
        #[command(flatten)]
        state: StateLocation,
    },
}

pub async fn run(command: AuditCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommand::Verify { state } => {
            let (store, master_key) = state.open().await?;
            let seal = master_key.audit_seal();
            let report = rampart_store::verify_audit_chain(store.as_ref(), Some(&seal)).await?;
            println!("{report}");
            Ok(if report.is_intact() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
