//! The cost of an organization's guardrails: one authorization decision for a user of
//! a member account five OUs deep, with five SCPs at every level (root, each OU, the
//! account), against the same request from the same kind of user in an account that
//! is in no organization.
//!
//! Prints `startup open_ms=<x>`, then `authorize/org levels=7 scps_per_level=5 org_ns=<median> no_org_ns=<median>
//! ratio=<org/no_org>`.
//!
//! Run: `cargo bench -p rampart-services --bench org_guardrails`.

mod common;

use rampart_services::authorize;
use rampart_services::call::Call;
use rampart_services::caller::Caller;
use rampart_services::records::{
    self, Account, Membership, OrgPolicy, Organization, OrganizationalUnit, Permissions, User,
};
use rampart_store::{Expect, Mutation};

const MANAGEMENT: &str = "111111111111";
const MEMBER: &str = "222222222222";
const STANDALONE: &str = "333333333333";
const ORG: &str = "o-benchmark0";
const ROOT: &str = "r-root";
const DEPTH: usize = 5;
const PER_LEVEL: usize = 5;

fn put<T: serde::Serialize>(kind: &str, id: &str, value: &T) -> Mutation {
    Mutation::Put {
        kind: kind.to_owned(),
        id: id.to_owned(),
        value: serde_json::to_value(value).unwrap(),
        expect: Expect::Any,
    }
}

/// The SCPs of one level: the AWS-managed FullAWSAccess, three that deny other
/// services, and one whose deny of IAM hangs on a condition the request does not meet
/// (so its condition runs).
fn level_policies(level: usize, out: &mut Vec<Mutation>) -> Vec<String> {
    let mut ids = vec!["p-FullAWSAccess".to_owned()];
    for i in 0..PER_LEVEL - 1 {
        let id = format!("p-l{level}n{i}");
        let content = if i == PER_LEVEL - 2 {
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/quarantined":"true"}}}]}"#.to_owned()
        } else {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":["svc{level}x{i}:*","ec2:RunInstances"],"Resource":"*"}}]}}"#
            )
        };
        let policy = OrgPolicy {
            id: id.clone(),
            organization_id: ORG.to_owned(),
            name: id.clone(),
            description: String::new(),
            policy_type: "SERVICE_CONTROL_POLICY".to_owned(),
            content,
            tags: Vec::new(),
        };
        out.push(put(records::ORG_POLICY, &id, &policy));
        ids.push(id);
    }
    ids
}

fn user(account: &str) -> User {
    let document = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::{account}:user/dev"}}]}}"#
    );
    User {
        account_id: account.to_owned(),
        user_name: "dev".to_owned(),
        user_id: format!("AIDA{account}DEVXX"),
        path: "/".to_owned(),
        created: 0,
        permissions: Permissions {
            inline_policies: [("self".to_owned(), document)].into_iter().collect(),
            ..Permissions::default()
        },
        groups: Vec::new(),
        permissions_boundary: None,
        tags: Vec::new(),
    }
}

fn records() -> Vec<Mutation> {
    let mut out = Vec::new();
    let mut parent = ROOT.to_owned();
    for level in 1..=DEPTH {
        let id = format!("ou-root-level{level:03}");
        let ou = OrganizationalUnit {
            id: id.clone(),
            organization_id: ORG.to_owned(),
            parent_id: parent.clone(),
            name: format!("level-{level}"),
            created: 0,
            policies: level_policies(level, &mut out),
            tags: Vec::new(),
        };
        out.push(put(records::ORG_UNIT, &id, &ou));
        parent = id;
    }
    let org = Organization {
        id: ORG.to_owned(),
        management_account_id: MANAGEMENT.to_owned(),
        feature_set: "ALL".to_owned(),
        root_id: ROOT.to_owned(),
        created: 0,
        enabled_policy_types: vec!["SERVICE_CONTROL_POLICY".to_owned()],
        root_policies: level_policies(0, &mut out),
        root_tags: Vec::new(),
        delegated_administrators: Vec::new(),
        service_access: Vec::new(),
    };
    out.push(put(records::ORGANIZATION, ORG, &org));
    let membership = |parent: &str, policies: Vec<String>| Membership {
        organization_id: ORG.to_owned(),
        parent_id: parent.to_owned(),
        joined_method: "CREATED".to_owned(),
        joined: 0,
        state: "ACTIVE".to_owned(),
        policies,
        tags: Vec::new(),
    };
    let account_policies = level_policies(DEPTH + 1, &mut out);
    for (id, membership) in [
        (
            MANAGEMENT,
            Some(membership(ROOT, vec!["p-FullAWSAccess".to_owned()])),
        ),
        (MEMBER, Some(membership(&parent, account_policies))),
        (STANDALONE, None),
    ] {
        let account = Account {
            account_id: id.to_owned(),
            name: id.to_owned(),
            created: 0,
            email: None,
            membership,
        };
        out.push(put(records::ACCOUNT, id, &account));
    }
    for account in [MEMBER, STANDALONE] {
        out.push(put(
            records::IAM_USER,
            &records::entity_id(account, "dev"),
            &user(account),
        ));
    }
    out
}

/// Median nanoseconds of one `iam:GetUser` decision for the user `dev` of `account`.
fn decide_ns(plane: &rampart_services::ControlPlane, account: &str) -> f64 {
    let user = plane.view().user(account, "dev").unwrap().clone();
    let caller = Caller::user(&user, None, None);
    let call = Call {
        plane,
        caller: &caller,
        region: "us-east-1",
        source_ip: "127.0.0.1",
        user_agent: "bench",
        now: chrono::Utc::now(),
    };
    let input = serde_json::json!({ "UserName": "dev" });
    authorize::authorize(&call, "iam", "GetUser", &input).expect("allowed by every level");
    let denied = serde_json::json!({ "UserName": "someone-else" });
    assert!(authorize::authorize(&call, "iam", "GetUser", &denied).is_err());
    common::median_ns(|| authorize::authorize(&call, "iam", "GetUser", &input))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let state = common::State::build(&runtime, MANAGEMENT, records());
    println!("startup open_ms={:.1}", state.open_ms);
    let plane = &state.plane;
    let guardrails = plane
        .view()
        .org
        .guardrails(MEMBER)
        .expect("the member is in the org");
    assert_eq!(guardrails.scps.len(), DEPTH + 2);
    assert!(plane.view().org.guardrails(STANDALONE).is_none());
    // Warm both paths before timing either.
    decide_ns(plane, STANDALONE);
    let org_ns = decide_ns(plane, MEMBER);
    let no_org_ns = decide_ns(plane, STANDALONE);
    println!(
        "authorize/org levels={} scps_per_level={PER_LEVEL} org_ns={org_ns:.0} no_org_ns={no_org_ns:.0} ratio={:.2}",
        DEPTH + 2,
        org_ns / no_org_ns
    );
}
