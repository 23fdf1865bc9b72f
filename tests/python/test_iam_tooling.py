"""IAM's least-privilege tooling through boto3 against a real server: the policy
simulator, context keys, the credential report, the account summary, the account
authorization details, and service last accessed details."""

import base64
import csv
import io
import json
import urllib.parse

import botocore.exceptions
import pytest

from conftest import wait_for


def doc(*statements, version="2012-10-17"):
    return json.dumps({"Version": version, "Statement": list(statements)})


def stmt(effect, action, resource="*", **extra):
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def error_of(call, *args, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kwargs)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.fixture
def iam(admin):
    server, key_id, secret = admin
    client = server.client("iam", key_id, secret)
    client.server = server
    client.admin_key = (key_id, secret)
    client.account = client.get_user()["User"]["Arn"].split(":")[4]
    return client


def results(response):
    return {(r["EvalActionName"], r["EvalResourceName"]): r for r in response["EvaluationResults"]}


# --- the simulator ----------------------------------------------------------------

def test_custom_policy_date_condition_as_in_the_aws_cli_example(iam):
    # The aws-cli documentation's simulate-custom-policy example, output included.
    policy = ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
              '"Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}')
    after = iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["dynamodb:CreateBackup"],
        ContextEntries=[{"ContextKeyName": "aws:CurrentTime",
                         "ContextKeyValues": ["2019-04-25T11:00:00Z"], "ContextKeyType": "date"}])
    [r] = after["EvaluationResults"]
    assert r["EvalActionName"] == "dynamodb:CreateBackup"
    assert r["EvalResourceName"] == "*"
    assert r["EvalDecision"] == "allowed"
    assert r["MissingContextValues"] == []
    [m] = r["MatchedStatements"]
    assert m["SourcePolicyId"] == "PolicyInputList.1"
    assert m["StartPosition"] == {"Line": 1, "Column": 38}
    assert m["EndPosition"] == {"Line": 1, "Column": 167}
    assert r["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    assert "EvalDecisionDetails" not in r  # same account, all resources

    before = iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["dynamodb:CreateBackup"],
        ContextEntries=[{"ContextKeyName": "aws:CurrentTime",
                         "ContextKeyValues": ["2014-04-25T11:00:00Z"], "ContextKeyType": "date"}])
    [r] = before["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny"
    assert r["MatchedStatements"] == []

    # Without the key, the statement cannot match and the key is reported missing.
    missing = iam.simulate_custom_policy(PolicyInputList=[policy],
                                         ActionNames=["dynamodb:CreateBackup"])
    [r] = missing["EvaluationResults"]
    assert r["EvalDecision"] == "implicitDeny"
    assert r["MissingContextValues"] == ["aws:CurrentTime"]


def test_explicit_deny_wins_and_is_the_only_matched_statement(iam):
    allow_all = doc(stmt("Allow", "s3:*"))
    deny_delete = json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "KeepReading", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
            {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject",
             "Resource": "arn:aws:s3:::prod/*"},
        ],
    }, indent=2)
    out = iam.simulate_custom_policy(
        PolicyInputList=[allow_all, deny_delete],
        ActionNames=["s3:DeleteObject", "s3:GetObject", "ec2:RunInstances"],
        ResourceArns=["arn:aws:s3:::prod/a", "arn:aws:s3:::dev/a"])
    by = results(out)
    assert len(by) == 6
    denied = by[("s3:DeleteObject", "arn:aws:s3:::prod/a")]
    assert denied["EvalDecision"] == "explicitDeny"
    [m] = denied["MatchedStatements"]
    assert m["SourcePolicyId"] == "PolicyInputList.2"
    # The second statement of the indented document: it starts after the first one's
    # closing brace (line 9) and ends with its own (line 15).
    lines = deny_delete.split("\n")
    assert lines[8].strip() == "},"
    assert m["StartPosition"] == {"Line": 9, "Column": lines[8].index("}") + 2}
    assert m["EndPosition"] == {"Line": 15, "Column": lines[14].index("}") + 2}
    # ResourceArns given: per-resource results, and an empty EvalDecisionDetails.
    [specific] = denied["ResourceSpecificResults"]
    assert specific["EvalResourceName"] == "arn:aws:s3:::prod/a"
    assert specific["EvalResourceDecision"] == "explicitDeny"
    assert denied["EvalDecisionDetails"] == {}

    assert by[("s3:DeleteObject", "arn:aws:s3:::dev/a")]["EvalDecision"] == "allowed"
    assert by[("s3:GetObject", "arn:aws:s3:::prod/a")]["EvalDecision"] == "allowed"
    run = by[("ec2:RunInstances", "arn:aws:s3:::dev/a")]
    assert run["EvalDecision"] == "implicitDeny"
    assert run["MatchedStatements"] == []


def test_principal_policy_reads_user_group_and_managed_policies(iam):
    iam.create_user(UserName="alejandro")
    iam.put_user_policy(UserName="alejandro", PolicyName="Grant-Access-To-CodeCommit-ListRepo",
                        PolicyDocument=doc(stmt("Allow", "codecommit:ListRepositories")))
    iam.create_group(GroupName="ops")
    iam.add_user_to_group(GroupName="ops", UserName="alejandro")
    managed = iam.create_policy(PolicyName="ec2-describe",
                                PolicyDocument=doc(stmt("Allow", "ec2:Describe*")))["Policy"]
    iam.attach_group_policy(GroupName="ops", PolicyArn=managed["Arn"])
    iam.put_group_policy(GroupName="ops", PolicyName="no-terminate",
                         PolicyDocument=doc(stmt("Deny", "ec2:TerminateInstances")))
    arn = f"arn:aws:iam::{iam.account}:user/alejandro"

    out = iam.simulate_principal_policy(
        PolicySourceArn=arn,
        ActionNames=["codecommit:ListRepositories", "ec2:DescribeInstances",
                     "ec2:TerminateInstances", "iam:CreateUser"])
    by = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert by["codecommit:ListRepositories"]["EvalDecision"] == "allowed"
    [m] = by["codecommit:ListRepositories"]["MatchedStatements"]
    assert m["SourcePolicyType"] == "user"
    assert m["SourcePolicyId"] == "user_alejandro_Grant-Access-To-CodeCommit-ListRepo"
    [m] = by["ec2:DescribeInstances"]["MatchedStatements"]
    assert (m["SourcePolicyId"], m["SourcePolicyType"]) == ("ec2-describe", "user-managed")
    assert by["ec2:TerminateInstances"]["EvalDecision"] == "explicitDeny"
    [m] = by["ec2:TerminateInstances"]["MatchedStatements"]
    assert (m["SourcePolicyId"], m["SourcePolicyType"]) == ("group_ops_no-terminate", "group")
    assert by["iam:CreateUser"]["EvalDecision"] == "implicitDeny"

    # The group alone has only its own policies; PolicyInputList adds to them.
    group = iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{iam.account}:group/ops",
        ActionNames=["codecommit:ListRepositories", "ec2:DescribeInstances"],
        PolicyInputList=[doc(stmt("Allow", "codecommit:List*"))])
    by = {r["EvalActionName"]: r for r in group["EvaluationResults"]}
    assert by["ec2:DescribeInstances"]["EvalDecision"] == "allowed"
    [m] = by["codecommit:ListRepositories"]["MatchedStatements"]
    assert (m["SourcePolicyId"], m["SourcePolicyType"]) == ("PolicyInputList.1", "none")


def test_permissions_boundary_limits_and_boundary_input_replaces_it(iam):
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.attach_role_policy(RoleName="worker", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    boundary = iam.create_policy(PolicyName="s3-only",
                                 PolicyDocument=doc(stmt("Allow", "s3:*")))["Policy"]
    iam.put_role_permissions_boundary(RoleName="worker", PermissionsBoundary=boundary["Arn"])
    arn = f"arn:aws:iam::{iam.account}:role/worker"

    out = iam.simulate_principal_policy(PolicySourceArn=arn,
                                        ActionNames=["s3:GetObject", "iam:CreateUser"])
    by = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert by["s3:GetObject"]["EvalDecision"] == "allowed"
    assert by["s3:GetObject"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    sources = {(m["SourcePolicyId"], m["SourcePolicyType"]) for m in by["s3:GetObject"]["MatchedStatements"]}
    assert ("AdministratorAccess", "aws-managed") in sources
    assert by["iam:CreateUser"]["EvalDecision"] == "implicitDeny"
    assert by["iam:CreateUser"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}

    # A boundary given in the call is used instead of the attached one.
    out = iam.simulate_principal_policy(
        PolicySourceArn=arn, ActionNames=["s3:GetObject", "iam:CreateUser"],
        PermissionsBoundaryPolicyInputList=[doc(stmt("Allow", "iam:*"))])
    by = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert by["s3:GetObject"]["EvalDecision"] == "implicitDeny"
    assert by["iam:CreateUser"]["EvalDecision"] == "allowed"


def test_context_keys_of_several_types_and_missing_values(iam):
    policy = doc(
        stmt("Allow", "ec2:StartInstances", Condition={
            "NumericLessThan": {"ec2:ResourceTag/level": "5"},
            "Bool": {"aws:MultiFactorAuthPresent": "true"},
            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
        }),
        stmt("Allow", "s3:ListBucket", Condition={"StringLike": {"s3:prefix": ["home/*"]}}),
    )
    entries = [
        {"ContextKeyName": "ec2:ResourceTag/level", "ContextKeyValues": ["3"], "ContextKeyType": "numeric"},
        {"ContextKeyName": "aws:MultiFactorAuthPresent", "ContextKeyValues": ["true"], "ContextKeyType": "boolean"},
        {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"},
    ]
    out = iam.simulate_custom_policy(PolicyInputList=[policy],
                                     ActionNames=["ec2:StartInstances", "s3:ListBucket"],
                                     ContextEntries=entries)
    by = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert by["ec2:StartInstances"]["EvalDecision"] == "allowed"
    assert by["ec2:StartInstances"]["MissingContextValues"] == []
    # Only the statement that names s3:ListBucket counts for its missing keys.
    assert by["s3:ListBucket"]["EvalDecision"] == "implicitDeny"
    assert by["s3:ListBucket"]["MissingContextValues"] == ["s3:prefix"]

    wrong_ip = [dict(e) for e in entries]
    wrong_ip[2]["ContextKeyValues"] = ["192.168.0.1"]
    out = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["ec2:StartInstances"],
                                     ContextEntries=wrong_ip)
    assert out["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"

    lists = iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["s3:ListBucket"],
        ContextEntries=[{"ContextKeyName": "s3:prefix", "ContextKeyValues": ["tmp/x", "home/me"],
                         "ContextKeyType": "stringList"}])
    assert lists["EvaluationResults"][0]["EvalDecision"] == "allowed"

    code, _ = error_of(iam.simulate_custom_policy, PolicyInputList=[policy],
                       ActionNames=["s3:ListBucket"],
                       ContextEntries=[{"ContextKeyName": "aws:EpochTime",
                                        "ContextKeyValues": ["soon"], "ContextKeyType": "numeric"}])
    assert code == "InvalidInput"


def test_resource_policy_needs_a_caller_and_grants_within_the_account(iam):
    iam.create_user(UserName="reader")
    reader = f"arn:aws:iam::{iam.account}:user/reader"
    bucket_policy = doc({"Effect": "Allow", "Principal": {"AWS": reader},
                         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"})
    out = iam.simulate_custom_policy(
        PolicyInputList=[doc(stmt("Allow", "sqs:*"))], ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::shared/report.csv"], ResourcePolicy=bucket_policy,
        CallerArn=reader)
    [r] = out["EvaluationResults"]
    assert r["EvalDecision"] == "allowed"
    [m] = r["MatchedStatements"]
    assert (m["SourcePolicyId"], m["SourcePolicyType"]) == ("ResourcePolicy", "resource")

    code, _ = error_of(iam.simulate_custom_policy, PolicyInputList=[doc(stmt("Allow", "sqs:*"))],
                       ActionNames=["s3:GetObject"], ResourcePolicy=bucket_policy)
    assert code == "InvalidInput"


def test_simulator_rejects_malformed_policies_and_unknown_principals(iam):
    users_before = iam.list_users()["Users"]
    summary_before = iam.get_account_summary()["SummaryMap"]
    code, message = error_of(iam.simulate_custom_policy, PolicyInputList=["{not json"],
                             ActionNames=["s3:GetObject"])
    assert code == "MalformedPolicyDocument"
    assert message
    code, message = error_of(iam.simulate_principal_policy,
                             PolicySourceArn=f"arn:aws:iam::{iam.account}:user/nobody",
                             ActionNames=["s3:GetObject"])
    assert (code, message) == ("NoSuchEntity", "The user with name nobody cannot be found.")
    code, _ = error_of(iam.simulate_principal_policy,
                       PolicySourceArn=f"arn:aws:iam::{iam.account}:role/ghost",
                       ActionNames=["s3:GetObject"])
    assert code == "NoSuchEntity"
    # A rejected simulation changes nothing.
    assert iam.list_users()["Users"] == users_before
    assert iam.get_account_summary()["SummaryMap"] == summary_before


def test_simulation_results_paginate(iam):
    actions = [f"s3:{a}" for a in ["GetObject", "PutObject", "DeleteObject", "ListBucket", "GetBucketPolicy"]]
    first = iam.simulate_custom_policy(PolicyInputList=[doc(stmt("Allow", "s3:Get*"))],
                                       ActionNames=actions, MaxItems=2)
    assert first["IsTruncated"] is True
    seen = [r["EvalActionName"] for r in first["EvaluationResults"]]
    marker = first["Marker"]
    while marker:
        page = iam.simulate_custom_policy(PolicyInputList=[doc(stmt("Allow", "s3:Get*"))],
                                          ActionNames=actions, MaxItems=2, Marker=marker)
        seen += [r["EvalActionName"] for r in page["EvaluationResults"]]
        marker = page.get("Marker")
    assert seen == actions


# --- context keys -----------------------------------------------------------------

def test_context_keys_for_custom_and_principal_policies(iam):
    policy = ('{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*",'
              '"Resource":"arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",'
              '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2015-08-16T12:00:00Z"}}}}')
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[policy])["ContextKeyNames"]
    assert sorted(keys) == ["aws:CurrentTime", "aws:username"]

    iam.create_user(UserName="keyed")
    iam.put_user_policy(UserName="keyed", PolicyName="p", PolicyDocument=doc(
        stmt("Allow", "s3:ListBucket", Condition={"StringLike": {"s3:prefix": "a/*"}})))
    keys = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{iam.account}:user/keyed",
        PolicyInputList=[policy])["ContextKeyNames"]
    assert sorted(keys) == ["aws:CurrentTime", "aws:username", "s3:prefix"]

    code, _ = error_of(iam.get_context_keys_for_principal_policy,
                       PolicySourceArn=f"arn:aws:iam::{iam.account}:user/ghost")
    assert code == "NoSuchEntity"


# --- the credential report ----------------------------------------------------------

def wait_until_audited(iam, access_key_id):
    """Waits until a call signed with the key is in the audit trail: read-only calls
    are recorded by a group-committing writer, a few milliseconds after they answer
    (AWS's own last-used data lags by much more)."""
    trail = iam.server.client("cloudtrail", *iam.admin_key)
    assert wait_for(lambda: trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "AccessKeyId", "AttributeValue": access_key_id}])["Events"])



def test_credential_report_lifecycle_and_csv(iam):
    code, _ = error_of(iam.get_credential_report)
    assert code == "ReportNotPresent"

    iam.create_user(UserName="csv-user")
    key = iam.create_access_key(UserName="csv-user")["AccessKey"]
    used = iam.server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError):
        used.list_users()  # denied, but the key was used
    wait_until_audited(iam, key["AccessKeyId"])

    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    assert report["GeneratedTime"].year >= 2024
    rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
    header = report["Content"].decode().split("\n")[0].split(",")
    assert header == [
        "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
        "password_last_changed", "password_next_rotation", "mfa_active",
        "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
        "access_key_1_last_used_region", "access_key_1_last_used_service",
        "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
        "access_key_2_last_used_region", "access_key_2_last_used_service",
        "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated"]
    assert rows[0]["user"] == "<root_account>"
    assert rows[0]["arn"] == f"arn:aws:iam::{iam.account}:root"
    user = next(r for r in rows if r["user"] == "csv-user")
    assert user["arn"] == f"arn:aws:iam::{iam.account}:user/csv-user"
    assert user["password_enabled"] == "false"
    assert user["mfa_active"] == "false"
    assert user["access_key_1_active"] == "true"
    assert user["access_key_1_last_rotated"].endswith("+00:00")
    assert user["access_key_1_last_used_service"] == "iam"
    assert user["access_key_1_last_used_region"] == "us-east-1"
    assert user["access_key_2_active"] == "false"
    assert user["access_key_2_last_rotated"] == "N/A"

    # The stored report is a snapshot: a user created after it is not in it.
    iam.create_user(UserName="late")
    again = iam.get_credential_report()
    assert "late" not in again["Content"].decode()


# --- the account summary and authorization details ----------------------------------

def test_account_summary_counts_follow_the_account(iam):
    before = iam.get_account_summary()["SummaryMap"]
    for key in ["Users", "UsersQuota", "Groups", "GroupsQuota", "Roles", "RolesQuota",
                "Policies", "PoliciesQuota", "InstanceProfiles", "ServerCertificates",
                "AccessKeysPerUserQuota", "AttachedPoliciesPerUserQuota", "AccountMFAEnabled",
                "MFADevices", "MFADevicesInUse", "PolicyVersionsInUse"]:
        assert key in before, key
    iam.create_user(UserName="counted")
    iam.create_group(GroupName="counted")
    iam.create_policy(PolicyName="counted", PolicyDocument=doc(stmt("Allow", "s3:GetObject")))
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    assert after["Groups"] == before["Groups"] + 1
    assert after["Policies"] == before["Policies"] + 1
    assert after["PolicyVersionsInUse"] == before["PolicyVersionsInUse"] + 1
    assert after["UsersQuota"] == 5000
    iam.delete_user(UserName="counted")
    assert iam.get_account_summary()["SummaryMap"]["Users"] == before["Users"]


def test_account_authorization_details(iam):
    iam.create_user(UserName="detailed", Tags=[{"Key": "team", "Value": "blue"}])
    inline = doc(stmt("Allow", "s3:GetObject"))
    iam.put_user_policy(UserName="detailed", PolicyName="inline-read", PolicyDocument=inline)
    iam.create_group(GroupName="detail-group")
    iam.add_user_to_group(GroupName="detail-group", UserName="detailed")
    managed = iam.create_policy(PolicyName="detail-managed",
                                PolicyDocument=doc(stmt("Allow", "sqs:*")))["Policy"]
    iam.attach_user_policy(UserName="detailed", PolicyArn=managed["Arn"])
    trust = doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="detail-role", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName="detail-role", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_instance_profile(InstanceProfileName="detail-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="detail-profile", RoleName="detail-role")

    out = iam.get_account_authorization_details()
    user = next(u for u in out["UserDetailList"] if u["UserName"] == "detailed")
    [policy] = user["UserPolicyList"]
    assert policy["PolicyName"] == "inline-read"
    # boto3 decodes the URL-encoded document into a dict.
    document = policy["PolicyDocument"]
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    assert document == json.loads(inline)
    assert user["GroupList"] == ["detail-group"]
    assert user["AttachedManagedPolicies"] == [{"PolicyName": "detail-managed", "PolicyArn": managed["Arn"]}]
    assert user["Tags"] == [{"Key": "team", "Value": "blue"}]
    assert any(g["GroupName"] == "detail-group" for g in out["GroupDetailList"])
    role = next(r for r in out["RoleDetailList"] if r["RoleName"] == "detail-role")
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert [p["InstanceProfileName"] for p in role["InstanceProfileList"]] == ["detail-profile"]
    policies = {p["PolicyName"]: p for p in out["Policies"]}
    assert policies["detail-managed"]["AttachmentCount"] == 1
    assert policies["detail-managed"]["PolicyVersionList"][0]["IsDefaultVersion"] is True
    assert "ReadOnlyAccess" in policies  # AWS-managed and in use
    assert "PowerUserAccess" not in policies  # AWS-managed, not in use

    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert only_roles["UserDetailList"] == [] and only_roles["Policies"] == []
    assert any(r["RoleName"] == "detail-role" for r in only_roles["RoleDetailList"])

    # Pages of two add up to the whole.
    names, marker = [], None
    while True:
        kwargs = {"MaxItems": 2, **({"Marker": marker} if marker else {})}
        page = iam.get_account_authorization_details(**kwargs)
        count = sum(len(page[k]) for k in ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"])
        assert count <= 2
        names += [u["UserName"] for u in page["UserDetailList"]]
        names += [r["RoleName"] for r in page["RoleDetailList"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert "detailed" in names and "detail-role" in names


# --- service last accessed ---------------------------------------------------------

def test_service_last_accessed_details_from_the_audit_trail(iam):
    iam.create_user(UserName="tracked")
    iam.put_user_policy(UserName="tracked", PolicyName="p", PolicyDocument=doc(
        stmt("Allow", ["iam:GetUser", "sts:GetCallerIdentity", "kms:ListKeys"])))
    key = iam.create_access_key(UserName="tracked")["AccessKey"]
    tracked = iam.server.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    tracked.get_user()
    wait_until_audited(iam, key["AccessKeyId"])
    arn = f"arn:aws:iam::{iam.account}:user/tracked"

    job = iam.generate_service_last_accessed_details(Arn=arn)["JobId"]
    out = iam.get_service_last_accessed_details(JobId=job)
    assert out["JobStatus"] == "COMPLETED"
    services = {s["ServiceNamespace"]: s for s in out["ServicesLastAccessed"]}
    assert set(services) == {"iam", "sts", "kms"}
    assert services["iam"]["LastAuthenticatedEntity"] == arn
    assert services["iam"]["TotalAuthenticatedEntities"] == 1
    assert "LastAuthenticated" in services["iam"]
    assert services["kms"]["TotalAuthenticatedEntities"] == 0
    assert "LastAuthenticated" not in services["kms"]

    code, _ = error_of(iam.generate_service_last_accessed_details,
                       Arn=f"arn:aws:iam::{iam.account}:user/nobody")
    assert code == "NoSuchEntity"
    code, _ = error_of(iam.get_service_last_accessed_details,
                       JobId="00000000-0000-0000-0000-000000000000")
    assert code == "NoSuchEntity"
