//! Where rampart keeps its state: the data directory (master key, and the SQLite file
//! by default) and, optionally, a PostgreSQL database. Shared by every command that
//! opens the state, so they all find it the same way.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use rampart_store::{MasterKey, Store};

#[derive(clap::Args, Clone)]
pub struct StateLocation {
    /// Directory for the master key and, unless --database-url is given, the SQLite file.
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "./rampart-data")]
    pub data_dir: PathBuf,
    /// Keep the state in PostgreSQL (postgres://...) instead of the embedded SQLite file.
    #[arg(long, env = "RAMPART_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl StateLocation {
    /// Opens (creating on first use) the master key and the store.
    pub async fn open(&self) -> anyhow::Result<(Arc<dyn Store>, MasterKey)> {
        // Owner only: it holds the master key and, by default, the database.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.data_dir)
            .and_then(|()| {
                std::fs::set_permissions(&self.data_dir, std::fs::Permissions::from_mode(0o700))
            })
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let key_path = self.data_dir.join("master.key");
        let master_key = MasterKey::load_or_create(&key_path)
            .with_context(|| format!("opening the master key {}", key_path.display()))?;
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("rampart.db").display()),
        };
        let options = rampart_store::OpenOptions::default().audit_seal(master_key.audit_seal());
        let store = rampart_store::open_with(&url, options)
            .await
            .context("opening the store")?;
        Ok((store, master_key))
    }
}
