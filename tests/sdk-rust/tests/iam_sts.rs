//! IAM and STS through the AWS SDK for Rust against a real `rampart serve`: deny by
//! default, a group policy scoped to one user, and a role session that has the role's
//! permissions and not the caller's.

mod common;

use aws_sdk_iam::error::ProvideErrorMetadata;
use common::{credentials, iam, start, sts};

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
    admin
        .create_user()
        .user_name("target")
        .send()
        .await
        .unwrap();
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

    let denied = nina
        .get_user()
        .user_name("target")
        .send()
        .await
        .unwrap_err();
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

    admin
        .create_group()
        .group_name("readers")
        .send()
        .await
        .unwrap();
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

    let missing = admin
        .get_user()
        .user_name("nobody")
        .send()
        .await
        .unwrap_err();
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
    assert!(
        role_iam
            .list_groups()
            .send()
            .await
            .unwrap()
            .groups
            .is_empty()
    );
    // The admin's AdministratorAccess does not come along into the session.
    let denied = role_iam.list_users().send().await.unwrap_err();
    assert_eq!(denied.code(), Some("AccessDenied"));
}
