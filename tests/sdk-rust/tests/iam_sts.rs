//! IAM and STS through the AWS SDK for Rust against a real `rampart serve`: deny by
//! default, a group policy scoped to one user, and a role session that has the role's
//! permissions and not the caller's.
//!
//! The server binary is `$RAMPART_BIN`, else `$CARGO_TARGET_DIR/debug/rampart` (build it
//! first: `cargo build --bin rampart`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_iam::error::ProvideErrorMetadata;

/// A `rampart serve` on a free port, over an account `rampart init` created.
struct Server {
    child: Child,
    endpoint: String,
    admin: (String, String),
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

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let envs = [
        ("AWS_CONFIG_FILE", dir.path().join("config")),
        ("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("credentials")),
    ];
    let init = Command::new(binary())
        .args(["init", "--data-dir"])
        .arg(&data)
        .envs(envs.clone())
        .output()
        .expect("rampart init runs (build it with `cargo build --bin rampart`)");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
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
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
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

fn credentials(key: &str, secret: &str, token: Option<&str>) -> Credentials {
    Credentials::new(key, secret, token.map(str::to_owned), None, "rampart-test")
}

fn iam(server: &Server, credentials: Credentials) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .endpoint_url(&server.endpoint)
        .region(aws_sdk_iam::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

fn sts(server: &Server, credentials: Credentials) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .endpoint_url(&server.endpoint)
        .region(aws_sdk_sts::config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

fn allow(action: &str, resource: &str) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": action, "Resource": resource}]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn deny_by_default_then_a_group_policy_scoped_to_one_user() {
    let server = start();
    let admin = iam(&server, credentials(&server.admin.0, &server.admin.1, None));
    let account = admin.get_user().send().await.unwrap().user.unwrap().arn;
    let account = account.split(':').nth(4).unwrap().to_owned();

    admin.create_user().user_name("nina").send().await.unwrap();
    admin.create_user().user_name("target").send().await.unwrap();
    let key = admin
        .create_access_key()
        .user_name("nina")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let nina = iam(
        &server,
        credentials(&key.access_key_id, &key.secret_access_key, None),
    );

    let denied = nina.get_user().user_name("target").send().await.unwrap_err();
    assert_eq!(denied.code(), Some("AccessDenied"));
    assert_eq!(
        denied.message(),
        Some(
            format!(
                "User: arn:aws:iam::{account}:user/nina is not authorized to perform: iam:GetUser \
                 on resource: arn:aws:iam::{account}:user/target because no identity-based policy \
                 allows the iam:GetUser action"
            )
            .as_str()
        )
    );

    admin.create_group().group_name("readers").send().await.unwrap();
    admin
        .add_user_to_group()
        .group_name("readers")
        .user_name("nina")
        .send()
        .await
        .unwrap();
    let target_arn = format!("arn:aws:iam::{account}:user/target");
    admin
        .put_group_policy()
        .group_name("readers")
        .policy_name("read-target")
        .policy_document(allow("iam:GetUser", &target_arn))
        .send()
        .await
        .unwrap();
    let user = nina.get_user().user_name("target").send().await.unwrap();
    assert_eq!(user.user.unwrap().arn, target_arn);
    let elsewhere = nina.get_user().user_name("admin").send().await.unwrap_err();
    assert_eq!(elsewhere.code(), Some("AccessDenied"));

    let missing = admin.get_user().user_name("nobody").send().await.unwrap_err();
    assert_eq!(missing.code(), Some("NoSuchEntity"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_session_has_the_roles_permissions_not_the_callers() {
    let server = start();
    let admin_credentials = credentials(&server.admin.0, &server.admin.1, None);
    let admin = iam(&server, admin_credentials.clone());
    let account = sts(&server, admin_credentials.clone())
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account
        .unwrap();
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:user/admin")},
        "Action": "sts:AssumeRole"}]});
    let role = admin
        .create_role()
        .role_name("lister")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    admin
        .put_role_policy()
        .role_name("lister")
        .policy_name("groups")
        .policy_document(allow("iam:ListGroups", "*"))
        .send()
        .await
        .unwrap();

    let assumed = sts(&server, admin_credentials)
        .assume_role()
        .role_arn(&role.arn)
        .role_session_name("sdk-session")
        .send()
        .await
        .unwrap();
    let session = assumed.credentials.unwrap();
    assert!(session.access_key_id.starts_with("ASIA"));
    let session = credentials(
        &session.access_key_id,
        &session.secret_access_key,
        Some(&session.session_token),
    );
    let identity = sts(&server, session.clone())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        identity.arn.unwrap(),
        format!("arn:aws:sts::{account}:assumed-role/lister/sdk-session")
    );
    let role_iam = iam(&server, session);
    assert!(role_iam.list_groups().send().await.unwrap().groups.is_empty());
    // The admin's AdministratorAccess does not come along into the session.
    let denied = role_iam.list_users().send().await.unwrap_err();
    assert_eq!(denied.code(), Some("AccessDenied"));
}
