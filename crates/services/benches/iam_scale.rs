//! IAM at scale: 10,000 users, 1,000 groups and 100,000 policy attachments in one
//! account of a real SQLite store, against the same operations with ten users.
//!
//! Prints, so that a script can read the figures:
//! `startup users=<n> open_ms=<x> process_rss_mb=<x>` (loading the whole state into
//! the view and compiling every identity's policies; the bench process's resident
//! memory after it, which includes the earlier, smaller state), `authorize users=<n> median_ns=<x>`
//! (one authorization decision, as the server makes it before every call),
//! `list_users users=<n> page=100 median_us=<x>` (one ListUsers page, through the
//! handler), and `ratio authorize_10000_over_10=<x>`.
//!
//! The state is written as records straight into the store (it is the state, not the
//! API, being measured), all in one account: AWS's default quota of 5,000 users per
//! account applies to CreateUser, not to what is stored.
//!
//! Run: `cargo bench -p rampart-services --bench iam_scale`.

use rampart_services::authorize;
use rampart_services::call::Call;
use rampart_services::caller::Caller;
use rampart_services::records::{self, Group, ManagedPolicy, Permissions, PolicyVersion, User};
use rampart_store::{Expect, Mutation};

mod common;

const ACCOUNT: &str = "123456789012";
/// What one scale point holds.
struct Shape {
    users: usize,
    groups: usize,
    policies: usize,
    /// Managed policies attached to each user, and to each group.
    per_user: usize,
    per_group: usize,
    /// Groups each user belongs to.
    memberships: usize,
}

const LARGE: Shape = Shape {
    users: 10_000,
    groups: 1_000,
    policies: 500,
    per_user: 9,
    per_group: 10,
    memberships: 2,
};

const SMALL: Shape = Shape {
    users: 10,
    groups: 2,
    policies: 20,
    per_user: 9,
    per_group: 10,
    memberships: 2,
};

fn policy_arn(i: usize) -> String {
    format!("arn:aws:iam::{ACCOUNT}:policy/p{i:04}")
}

/// The records of a state of `shape`; every policy allows a few actions on users of
/// its own path, so each one is indexed and none matches everything.
fn records(shape: &Shape) -> Vec<Mutation> {
    let put = |kind: &str, id: String, value: serde_json::Value| Mutation::Put {
        kind: kind.to_owned(),
        id,
        value,
        expect: Expect::Any,
    };
    let mut out = Vec::new();
    for i in 0..shape.policies {
        let document = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["iam:GetUser","iam:ListGroupsForUser","iam:Get{i}"],"Resource":"arn:aws:iam::{ACCOUNT}:user/team{i}/*"}}]}}"#
        );
        let policy = ManagedPolicy {
            account_id: ACCOUNT.to_owned(),
            policy_name: format!("p{i:04}"),
            policy_id: format!("ANPA{i:017}"),
            path: "/".to_owned(),
            description: None,
            created: 0,
            updated: 0,
            default_version: "v1".to_owned(),
            next_version: 2,
            versions: vec![PolicyVersion {
                version_id: "v1".to_owned(),
                document,
                created: 0,
            }],
            tags: Vec::new(),
        };
        let id = records::entity_id(ACCOUNT, &policy.policy_name);
        out.push(put(
            records::IAM_POLICY,
            id,
            serde_json::to_value(&policy).unwrap(),
        ));
    }
    for g in 0..shape.groups {
        let group = Group {
            account_id: ACCOUNT.to_owned(),
            group_name: format!("g{g:04}"),
            group_id: format!("AGPA{g:017}"),
            path: "/".to_owned(),
            created: 0,
            permissions: Permissions {
                attached_policies: (0..shape.per_group)
                    .map(|k| policy_arn((g * 7 + k) % shape.policies))
                    .collect(),
                ..Permissions::default()
            },
        };
        let id = records::entity_id(ACCOUNT, &group.group_name);
        out.push(put(
            records::IAM_GROUP,
            id,
            serde_json::to_value(&group).unwrap(),
        ));
    }
    for u in 0..shape.users {
        let user = User {
            account_id: ACCOUNT.to_owned(),
            user_name: format!("u{u:05}"),
            user_id: format!("AIDA{u:017}"),
            path: format!("/team{}/", u % shape.policies),
            created: 0,
            permissions: Permissions {
                // The first is the one for the user's own team (its path).
                attached_policies: std::iter::once(u % shape.policies)
                    .chain((1..shape.per_user).map(|k| (u * 13 + k) % shape.policies))
                    .map(policy_arn)
                    .collect(),
                ..Permissions::default()
            },
            groups: (0..shape.memberships)
                .map(|k| format!("g{:04}", (u + k * 31) % shape.groups))
                .collect(),
            permissions_boundary: None,
            tags: Vec::new(),
        };
        let id = records::entity_id(ACCOUNT, &user.user_name);
        out.push(put(
            records::IAM_USER,
            id,
            serde_json::to_value(&user).unwrap(),
        ));
    }
    out
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Builds the state, reopens it as a server starts, and measures; returns the median
/// authorization time.
fn measure(runtime: &tokio::runtime::Runtime, shape: &Shape) -> f64 {
    let state = common::State::build(runtime, ACCOUNT, records(shape));
    println!(
        "startup users={} open_ms={:.0} process_rss_mb={:.1}",
        shape.users,
        state.open_ms,
        rss_mb()
    );
    let plane = &state.plane;

    // A user asking for itself, allowed by the policy of its team.
    let view = plane.view();
    let user = view.user(ACCOUNT, "u00001").unwrap().clone();
    drop(view);
    let caller = Caller::user(&user, None, None);
    let call = Call {
        plane,
        caller: &caller,
        region: "us-east-1",
        source_ip: "127.0.0.1",
        user_agent: "bench",
        now: chrono::Utc::now(),
    };
    let input = serde_json::json!({ "UserName": "u00001" });
    authorize::authorize(&call, "iam", "GetUser", &input).expect("the bench user is allowed");
    let authorize_ns = common::median_ns(|| authorize::authorize(&call, "iam", "GetUser", &input));
    println!(
        "authorize users={} median_ns={authorize_ns:.0}",
        shape.users
    );

    let list = serde_json::json!({ "MaxItems": 100 });
    let page_ns = common::median_ns(|| {
        runtime
            .block_on(rampart_services::handle(
                "iam",
                "ListUsers",
                &call,
                list.clone(),
            ))
            .unwrap()
    });
    println!(
        "list_users users={} page=100 median_us={:.0}",
        shape.users,
        page_ns / 1000.0
    );
    authorize_ns
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let small = measure(&runtime, &SMALL);
    let large = measure(&runtime, &LARGE);
    println!("ratio authorize_10000_over_10={:.2}", large / small);
}
