//! Organizations through the AWS SDK for Rust against a real `rampart serve`: a member
//! account created in an OU under an SCP, administered through the role CreateAccount
//! puts in it, and bound by the SCP while the management account is not.

mod common;

use aws_sdk_organizations::error::ProvideErrorMetadata;
use aws_sdk_organizations::types::{ChildType, PolicyType};
use common::{credentials, iam, organizations, start, sts};

#[tokio::test(flavor = "multi_thread")]
async fn an_scp_on_an_ou_binds_its_member_accounts_not_the_management_account() {
    let server = start();
    let admin = credentials(&server.admin.0, &server.admin.1, None);
    let org = organizations(&server, admin.clone());
    let management = sts(&server, admin.clone())
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account
        .unwrap();

    let missing = org.describe_organization().send().await.unwrap_err();
    assert_eq!(missing.code(), Some("AWSOrganizationsNotInUseException"));

    let organization = org
        .create_organization()
        .send()
        .await
        .unwrap()
        .organization
        .unwrap();
    let root = org
        .list_roots()
        .send()
        .await
        .unwrap()
        .roots
        .unwrap()
        .remove(0);
    let root_id = root.id.unwrap();
    org.enable_policy_type()
        .root_id(&root_id)
        .policy_type(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    let ou = org
        .create_organizational_unit()
        .parent_id(&root_id)
        .name("sandbox")
        .send()
        .await
        .unwrap()
        .organizational_unit
        .unwrap();
    let ou_id = ou.id.unwrap();
    let status = org
        .create_account()
        .email("sandbox@example.com")
        .account_name("sandbox")
        .send()
        .await
        .unwrap()
        .create_account_status
        .unwrap();
    let done = org
        .describe_create_account_status()
        .create_account_request_id(status.id.unwrap())
        .send()
        .await
        .unwrap()
        .create_account_status
        .unwrap();
    let member = done.account_id.unwrap();
    org.move_account()
        .account_id(&member)
        .source_parent_id(&root_id)
        .destination_parent_id(&ou_id)
        .send()
        .await
        .unwrap();
    let children = org
        .list_children()
        .parent_id(&ou_id)
        .child_type(ChildType::Account)
        .send()
        .await
        .unwrap()
        .children
        .unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].id.as_deref(), Some(member.as_str()));

    let deny_users = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]});
    let policy = org
        .create_policy()
        .name("no-new-users")
        .description("guardrail")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(deny_users.to_string())
        .send()
        .await
        .unwrap()
        .policy
        .unwrap()
        .policy_summary
        .unwrap();
    org.attach_policy()
        .policy_id(policy.id.unwrap())
        .target_id(&ou_id)
        .send()
        .await
        .unwrap();

    // Into the member account through OrganizationAccountAccessRole.
    let session = sts(&server, admin.clone())
        .assume_role()
        .role_arn(format!(
            "arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
        ))
        .role_session_name("sdk-admin")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let member_iam = iam(
        &server,
        credentials(
            &session.access_key_id,
            &session.secret_access_key,
            Some(&session.session_token),
        ),
    );
    assert!(member_iam.list_roles().send().await.unwrap().roles.len() == 1);
    let denied = member_iam
        .create_user()
        .user_name("intruder")
        .send()
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Some("AccessDenied"));
    assert!(
        denied
            .message()
            .unwrap_or_default()
            .ends_with("with an explicit deny in a service control policy")
    );

    // The management account is exempt.
    iam(&server, admin)
        .create_user()
        .user_name("allowed-here")
        .send()
        .await
        .unwrap();
    assert_eq!(
        organization.master_account_id.as_deref(),
        Some(management.as_str())
    );
}
