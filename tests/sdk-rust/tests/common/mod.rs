//! A real `rampart serve` for the SDK tests, and SDK clients for it.
//!
//! The server binary is `$RAMPART_BIN`, else `$CARGO_TARGET_DIR/debug/rampart` (build it
//! first: `cargo build --bin rampart`).

#![allow(dead_code)] // each test file uses its own part of this

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;

/// A `rampart serve` on a free port, over an account `rampart init` created.
pub struct Server {
    child: Child,
    pub endpoint: String,
    /// The admin's access key id and secret, from `rampart init`.
    pub admin: (String, String),
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    if let Ok(explicit) = std::env::var("RAMPART_BIN") {
        return explicit.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
        PathBuf::from,
    );
    target.join("debug/rampart")
}

/// The value of `key` in the `[rampart]` section of an aws credentials file.
fn profile_value(credentials: &str, key: &str) -> String {
    credentials
        .lines()
        .skip_while(|l| l.trim() != "[rampart]")
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("{key} not in the profile"))
}

pub fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let envs = [
        ("AWS_CONFIG_FILE", dir.path().join("config")),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials"),
        ),
    ];
    let init = Command::new(binary())
        .args(["init", "--data-dir"])
        .arg(&data)
        .envs(envs.clone())
        .output()
        .expect("rampart init runs (build it with `cargo build --bin rampart`)");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let credentials = std::fs::read_to_string(&envs[1].1).unwrap();
    let admin = (
        profile_value(&credentials, "aws_access_key_id"),
        profile_value(&credentials, "aws_secret_access_key"),
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(&data)
        .envs(envs)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "rampart serve did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        admin,
        _dir: dir,
    }
}

pub fn credentials(key: &str, secret: &str, token: Option<&str>) -> Credentials {
    Credentials::new(key, secret, token.map(str::to_owned), None, "rampart-test")
}

pub fn iam(server: &Server, credentials: Credentials) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .endpoint_url(&server.endpoint)
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

pub fn sts(server: &Server, credentials: Credentials) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .endpoint_url(&server.endpoint)
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

pub fn organizations(server: &Server, credentials: Credentials) -> aws_sdk_organizations::Client {
    let config = aws_sdk_organizations::Config::builder()
        .endpoint_url(&server.endpoint)
        .region(aws_sdk_organizations::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .build();
    aws_sdk_organizations::Client::from_conf(config)
}

pub fn kms(server: &Server, credentials: Credentials) -> aws_sdk_kms::Client {
    let config = aws_sdk_kms::Config::builder()
        .endpoint_url(&server.endpoint)
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .build();
    aws_sdk_kms::Client::from_conf(config)
}
