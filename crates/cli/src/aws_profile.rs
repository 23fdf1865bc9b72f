//! Writes an aws-cli/boto3 profile: the access key into the shared credentials file
//! and the endpoint and region into the config file, where aws-cli, boto3 and the
//! AWS SDKs look for them (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, else
//! `~/.aws/`). Other profiles in those files are kept.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ini::Ini;

/// One profile to write.
pub struct Profile<'a> {
    pub name: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub endpoint_url: &'a str,
    pub region: &'a str,
}

/// The two files a profile lives in.
pub struct ProfileFiles {
    pub credentials: PathBuf,
    pub config: PathBuf,
}

impl ProfileFiles {
    /// The files the AWS clients read, honouring their environment variables.
    pub fn from_environment() -> anyhow::Result<ProfileFiles> {
        let aws_dir = || -> anyhow::Result<PathBuf> {
            let home = std::env::var_os("HOME").context("HOME is not set")?;
            Ok(PathBuf::from(home).join(".aws"))
        };
        let credentials = match std::env::var_os("AWS_SHARED_CREDENTIALS_FILE") {
            Some(path) => PathBuf::from(path),
            None => aws_dir()?.join("credentials"),
        };
        let config = match std::env::var_os("AWS_CONFIG_FILE") {
            Some(path) => PathBuf::from(path),
            None => aws_dir()?.join("config"),
        };
        Ok(ProfileFiles {
            credentials,
            config,
        })
    }

    /// Writes `profile` into both files, replacing a profile of the same name.
    pub fn write(&self, profile: &Profile<'_>) -> anyhow::Result<()> {
        update(
            &self.credentials,
            profile.name,
            &[
                ("aws_access_key_id", profile.access_key_id),
                ("aws_secret_access_key", profile.secret_access_key),
            ],
        )?;
        // The config file names every profile but the default one "profile NAME".
        let section = match profile.name {
            "default" => "default".to_owned(),
            name => format!("profile {name}"),
        };
        update(
            &self.config,
            &section,
            &[
                ("endpoint_url", profile.endpoint_url),
                ("region", profile.region),
            ],
        )
    }
}

fn update(path: &Path, section: &str, entries: &[(&str, &str)]) -> anyhow::Result<()> {
    let mut file = if path.exists() {
        Ini::load_from_file(path).with_context(|| format!("reading {}", path.display()))?
    } else {
        Ini::new()
    };
    file.delete(Some(section));
    let mut writer = file.with_section(Some(section));
    for (key, value) in entries {
        writer.set(*key, *value);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    file.write_to_file(path)
        .with_context(|| format!("writing {}", path.display()))?;
    // The credentials file holds a secret: only its owner may read it.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_profile_and_keeps_other_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let files = ProfileFiles {
            credentials: dir.path().join("credentials"),
            config: dir.path().join("config"),
        };
        std::fs::write(&files.credentials, "[other]\naws_access_key_id = KEEP\n").unwrap();
        let profile = Profile {
            name: "rampart",
            access_key_id: "AKIAFIRST",
            secret_access_key: "s1",
            endpoint_url: "http://127.0.0.1:4566",
            region: "us-east-1",
        };
        files.write(&profile).unwrap();
        files
            .write(&Profile {
                access_key_id: "AKIASECOND",
                ..profile
            })
            .unwrap();

        let credentials = Ini::load_from_file(&files.credentials).unwrap();
        assert_eq!(
            credentials.get_from(Some("other"), "aws_access_key_id"),
            Some("KEEP")
        );
        assert_eq!(
            credentials.get_from(Some("rampart"), "aws_access_key_id"),
            Some("AKIASECOND")
        );
        let config = Ini::load_from_file(&files.config).unwrap();
        assert_eq!(
            config.get_from(Some("profile rampart"), "endpoint_url"),
            Some("http://127.0.0.1:4566")
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&files.credentials).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
}
