//! The AWS-managed policies rampart ships (`arn:aws:iam::aws:policy/...`), with the
//! documents AWS publishes for them, compiled once. Where AWS's document lists many
//! services (ReadOnlyAccess), rampart keeps the statements for the services it
//! implements.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use rampart_policy::{CompiledPolicy, PolicyType};

/// One AWS-managed policy: name, description, document.
struct AwsPolicy {
    name: &'static str,
    description: &'static str,
    document: &'static str,
}

/// Every AWS-managed policy rampart knows (all under the path `/`).
const POLICIES: &[AwsPolicy] = &[
    AwsPolicy {
        name: "AdministratorAccess",
        description: "Provides full access to AWS services and resources.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "PowerUserAccess",
        description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["account:GetAccountInformation","account:GetPrimaryEmail","account:ListRegions","iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "ReadOnlyAccess",
        description: "Provides read-only access to AWS services and resources.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadOnlyActions","Effect":"Allow","Action":["artifact:Get*","artifact:List*","cloudtrail:Describe*","cloudtrail:Get*","cloudtrail:List*","cloudtrail:LookupEvents","guardduty:Describe*","guardduty:Get*","guardduty:List*","iam:Generate*","iam:Get*","iam:List*","iam:Simulate*","inspector2:BatchGet*","inspector2:Describe*","inspector2:Get*","inspector2:List*","inspector2:Search*","kms:Describe*","kms:Get*","kms:List*","organizations:Describe*","organizations:List*","shield:Describe*","shield:Get*","shield:List*","sts:GetAccessKeyInfo","sts:GetCallerIdentity","sts:GetSessionToken","wafv2:Check*","wafv2:Describe*","wafv2:Get*","wafv2:List*"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "IAMFullAccess",
        description: "Provides full access to IAM via the AWS Management Console.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "IAMReadOnlyAccess",
        description: "Provides read only access to IAM via the AWS Management Console.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "IAMUserChangePassword",
        description: "Provides the ability for an IAM user to change their own password.",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ChangePassword"],"Resource":["arn:aws:iam::*:user/${aws:username}"]},{"Effect":"Allow","Action":["iam:GetAccountPasswordPolicy"],"Resource":"*"}]}"#,
    },
    AwsPolicy {
        name: "AWSKeyManagementServicePowerUser",
        description: "Provides access to AWS Key Management Service (KMS).",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:CreateAlias","kms:CreateKey","kms:DeleteAlias","kms:Describe*","kms:GenerateRandom","kms:Get*","kms:List*","kms:TagResource","kms:UntagResource","iam:ListGroups","iam:ListRoles","iam:ListUsers"],"Resource":"*"}]}"#,
    },
];

/// The ARN prefix of AWS-managed policies.
const ARN_PREFIX: &str = "arn:aws:iam::aws:policy/";

/// The creation date rampart reports for AWS-managed policies (2015-02-06, when AWS
/// published the first of them), in seconds since the epoch.
pub const CREATED: i64 = 1_423_180_800;

static COMPILED: LazyLock<HashMap<String, (Arc<CompiledPolicy>, &'static AwsPolicy)>> =
    LazyLock::new(|| {
        POLICIES
            .iter()
            .map(|p| {
                let arn = format!("{ARN_PREFIX}{}", p.name);
                let policy = CompiledPolicy::parse(p.document, PolicyType::Identity, arn.as_str())
                    .unwrap_or_else(|e| {
                        panic!("AWS-managed policy {} does not parse: {e}", p.name)
                    });
                (arn, (Arc::new(policy), p))
            })
            .collect()
    });

/// The compiled AWS-managed policy with this ARN.
pub fn policy(arn: &str) -> Option<Arc<CompiledPolicy>> {
    COMPILED.get(arn).map(|(p, _)| p.clone())
}

/// The document of the AWS-managed policy with this ARN.
pub fn document(arn: &str) -> Option<&'static str> {
    COMPILED.get(arn).map(|(_, p)| p.document)
}

/// The description of the AWS-managed policy with this ARN.
pub fn description(arn: &str) -> Option<&'static str> {
    COMPILED.get(arn).map(|(_, p)| p.description)
}

/// The ARNs of every AWS-managed policy.
pub fn arns() -> impl Iterator<Item = &'static str> {
    COMPILED.keys().map(String::as_str)
}

/// A stable policy id (`ANPA…`) for an AWS-managed policy, the same in every account
/// and every run, derived from its ARN.
pub fn policy_id(arn: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let digest = crate::ids::sha256_hex(arn.as_bytes());
    let tail: String = digest
        .bytes()
        .take(17)
        .map(|b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect();
    format!("ANPA{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_shipped_document_compiles() {
        for p in super::POLICIES {
            let arn = format!("arn:aws:iam::aws:policy/{}", p.name);
            assert!(super::policy(&arn).is_some());
            assert_eq!(super::policy_id(&arn), super::policy_id(&arn));
            assert_eq!(super::policy_id(&arn).len(), 21);
        }
        assert!(super::policy("arn:aws:iam::aws:policy/NoSuchPolicy").is_none());
    }
}
