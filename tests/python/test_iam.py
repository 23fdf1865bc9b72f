"""IAM through boto3 against a real server: groups, roles, managed and inline policies,
versions, boundaries, tags and pagination, each enforced on the next request, and
every rejected call leaving the state as it was."""

import json

import botocore.exceptions
import pytest

from conftest import race


def allow(action, resource="*", **extra):
    statement = {"Effect": "Allow", "Action": action, "Resource": resource, **extra}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def error_of(call, *args, **kwargs):
    """The AWS error code and message a call fails with."""
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kwargs)
    return e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]


@pytest.fixture
def iam(admin):
    server, key_id, secret = admin
    client = server.client("iam", key_id, secret)
    client.server = server
    client.account = client.get_user()["User"]["Arn"].split(":")[4]
    return client


def new_user(iam, name, **kwargs):
    """A user with an access key, and an IAM client signed with it."""
    iam.create_user(UserName=name, **kwargs)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return iam.server.client("iam", key["AccessKeyId"], key["SecretAccessKey"]), key


def test_a_group_policy_scoped_to_one_resource_allows_there_and_denies_elsewhere(iam):
    alice, _ = new_user(iam, "alice")
    iam.create_user(UserName="target")
    iam.create_user(UserName="other")
    assert error_of(alice.get_user, UserName="target")[0] == "AccessDenied"

    iam.create_group(GroupName="readers")
    iam.add_user_to_group(GroupName="readers", UserName="alice")
    target_arn = f"arn:aws:iam::{iam.account}:user/target"
    policy = iam.create_policy(PolicyName="read-target",
                               PolicyDocument=allow("iam:GetUser", target_arn))["Policy"]
    iam.attach_group_policy(GroupName="readers", PolicyArn=policy["Arn"])

    assert alice.get_user(UserName="target")["User"]["Arn"] == target_arn
    code, message = error_of(alice.get_user, UserName="other")
    assert code == "AccessDenied"
    assert message == (
        f"User: arn:aws:iam::{iam.account}:user/alice is not authorized to perform: "
        f"iam:GetUser on resource: arn:aws:iam::{iam.account}:user/other because no "
        "identity-based policy allows the iam:GetUser action")

    # Leaving the group takes the permission away on the next request.
    iam.remove_user_from_group(GroupName="readers", UserName="alice")
    assert error_of(alice.get_user, UserName="target")[0] == "AccessDenied"


def test_an_explicit_deny_wins_and_names_its_policy_type(iam):
    bob, _ = new_user(iam, "bob")
    iam.put_user_policy(UserName="bob", PolicyName="all", PolicyDocument=allow("iam:*"))
    assert bob.list_users()["Users"]
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}]})
    iam.put_user_policy(UserName="bob", PolicyName="no-list", PolicyDocument=deny)
    code, message = error_of(bob.list_users)
    assert code == "AccessDenied"
    assert message.endswith("with an explicit deny in an identity-based policy")
    assert bob.list_groups()["Groups"] == []


def test_managed_policy_versions(iam):
    carol, _ = new_user(iam, "carol")
    arn = iam.create_policy(PolicyName="versions", PolicyDocument=allow("iam:ListUsers"))[
        "Policy"]["Arn"]
    iam.attach_user_policy(UserName="carol", PolicyArn=arn)
    assert carol.list_users()
    assert error_of(carol.list_groups)[0] == "AccessDenied"

    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("iam:ListGroups"),
                                   SetAsDefault=True)["PolicyVersion"]
    assert v2["VersionId"] == "v2" and v2["IsDefaultVersion"]
    assert carol.list_groups()["Groups"] == []
    assert error_of(carol.list_users)[0] == "AccessDenied"

    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert carol.list_users()
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    document = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"]
    assert document["Statement"][0]["Action"] == "iam:ListGroups"

    for _ in range(3):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("iam:ListRoles"))
    code, message = error_of(iam.create_policy_version, PolicyArn=arn,
                             PolicyDocument=allow("iam:ListRoles"))
    assert code == "LimitExceeded"
    assert "up to 5 versions" in message
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]

    assert error_of(iam.delete_policy_version, PolicyArn=arn, VersionId="v1")[0] == "DeleteConflict"
    assert error_of(iam.delete_policy, PolicyArn=arn)[0] == "DeleteConflict"
    assert error_of(iam.get_policy_version, PolicyArn=arn, VersionId="v9")[0] == "NoSuchEntity"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v5")
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 4


def test_deleting_an_attached_policy_is_refused(iam):
    iam.create_user(UserName="dave")
    arn = iam.create_policy(PolicyName="attached", PolicyDocument=allow("iam:ListUsers"))[
        "Policy"]["Arn"]
    iam.attach_user_policy(UserName="dave", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    code, message = error_of(iam.delete_policy, PolicyArn=arn)
    assert (code, message) == ("DeleteConflict", "Cannot delete a policy attached to entities.")
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == ["dave"]
    assert error_of(iam.delete_user, UserName="dave")[0] == "DeleteConflict"
    iam.detach_user_policy(UserName="dave", PolicyArn=arn)
    assert error_of(iam.detach_user_policy, UserName="dave", PolicyArn=arn)[0] == "NoSuchEntity"
    iam.delete_policy(PolicyArn=arn)
    iam.delete_user(UserName="dave")
    assert error_of(iam.get_policy, PolicyArn=arn)[0] == "NoSuchEntity"


@pytest.mark.parametrize("document,message", [
    ("not json", "Syntax errors in policy."),
    (json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ListUsers", "Resource": "*"}]}),
     "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    (json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "iam:*", "Resource": "*"}]}),
     "Policy document should not specify a principal."),
])
def test_malformed_policies_are_refused_and_create_nothing(iam, document, message):
    iam.create_user(UserName="erin")
    assert error_of(iam.create_policy, PolicyName="bad", PolicyDocument=document) == (
        "MalformedPolicyDocument", message)
    assert error_of(iam.put_user_policy, UserName="erin", PolicyName="bad",
                    PolicyDocument=document) == ("MalformedPolicyDocument", message)
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert iam.list_user_policies(UserName="erin")["PolicyNames"] == []


def test_inline_policies_and_their_size_quota(iam):
    iam.create_user(UserName="frank")
    iam.put_user_policy(UserName="frank", PolicyName="small", PolicyDocument=allow("iam:GetUser"))
    got = iam.get_user_policy(UserName="frank", PolicyName="small")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "iam:GetUser"
    assert iam.list_user_policies(UserName="frank")["PolicyNames"] == ["small"]
    big = allow([f"iam:Get{'X' * 40}{i}" for i in range(50)])
    code, message = error_of(iam.put_user_policy, UserName="frank", PolicyName="big",
                             PolicyDocument=big)
    assert code == "LimitExceeded"
    assert message == "Maximum policy size of 2048 bytes exceeded for user frank"
    assert iam.list_user_policies(UserName="frank")["PolicyNames"] == ["small"]
    assert error_of(iam.get_user_policy, UserName="frank", PolicyName="big") == (
        "NoSuchEntity", "The user policy with name big cannot be found.")
    iam.delete_user_policy(UserName="frank", PolicyName="small")
    assert iam.list_user_policies(UserName="frank")["PolicyNames"] == []


def test_a_permissions_boundary_caps_what_policies_allow(iam):
    grace, _ = new_user(iam, "grace")
    iam.attach_user_policy(UserName="grace", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    assert grace.list_groups()["Groups"] == []
    boundary = iam.create_policy(PolicyName="only-users", PolicyDocument=allow("iam:ListUsers"))[
        "Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName="grace", PermissionsBoundary=boundary)
    assert iam.get_user(UserName="grace")["User"]["PermissionsBoundary"][
        "PermissionsBoundaryArn"] == boundary
    assert grace.list_users()["Users"]
    code, message = error_of(grace.list_groups)
    assert code == "AccessDenied"
    assert "because no permissions boundary allows the iam:ListGroups action" in message
    assert error_of(iam.delete_policy, PolicyArn=boundary)[0] == "DeleteConflict"
    iam.delete_user_permissions_boundary(UserName="grace")
    assert grace.list_groups()["Groups"] == []
    missing = f"arn:aws:iam::{iam.account}:policy/nope"
    assert error_of(iam.put_user_permissions_boundary, UserName="grace",
                    PermissionsBoundary=missing)[0] == "NoSuchEntity"


def test_tags_drive_conditions(iam):
    heidi, _ = new_user(iam, "heidi", Tags=[{"Key": "team", "Value": "blue"}])
    iam.create_user(UserName="blue-1", Tags=[{"Key": "team", "Value": "blue"}])
    iam.create_user(UserName="red-1", Tags=[{"Key": "team", "Value": "red"}])
    same_team = allow("iam:GetUser", Condition={
        "StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}})
    iam.put_user_policy(UserName="heidi", PolicyName="team", PolicyDocument=same_team)
    assert heidi.get_user(UserName="blue-1")["User"]["Tags"] == [{"Key": "team", "Value": "blue"}]
    assert error_of(heidi.get_user, UserName="red-1")[0] == "AccessDenied"

    iam.tag_user(UserName="red-1", Tags=[{"Key": "team", "Value": "blue"}])
    assert heidi.get_user(UserName="red-1")
    assert iam.list_user_tags(UserName="red-1")["Tags"] == [{"Key": "team", "Value": "blue"}]
    iam.untag_user(UserName="red-1", TagKeys=["team"])
    assert iam.list_user_tags(UserName="red-1")["Tags"] == []
    assert error_of(heidi.get_user, UserName="red-1")[0] == "AccessDenied"

    # aws:RequestTag: heidi may create users only if she tags them with her team.
    create = allow("iam:CreateUser", Condition={
        "StringEquals": {"aws:RequestTag/team": "blue"}})
    iam.put_user_policy(UserName="heidi", PolicyName="create", PolicyDocument=create)
    assert error_of(heidi.create_user, UserName="untagged")[0] == "AccessDenied"
    heidi.create_user(UserName="tagged", Tags=[{"Key": "team", "Value": "blue"}])
    assert error_of(iam.get_user, UserName="untagged")[0] == "NoSuchEntity"


def test_pagination_walks_every_user_once(iam):
    names = [f"page-{i:02d}" for i in range(23)]
    for name in names:
        iam.create_user(UserName=name, Path="/paged/")
    first = iam.list_users(PathPrefix="/paged/", MaxItems=10)
    assert first["IsTruncated"] is True and len(first["Users"]) == 10
    seen = []
    for page in iam.get_paginator("list_users").paginate(
            PathPrefix="/paged/", PaginationConfig={"PageSize": 7}):
        seen.extend(u["UserName"] for u in page["Users"])
    assert seen == names
    assert error_of(iam.list_users, Marker="not-a-marker!")[0] == "ValidationError"


def test_groups_lifecycle_and_errors(iam):
    iam.create_group(GroupName="ops", Path="/eng/")
    assert error_of(iam.create_group, GroupName="OPS") == (
        "EntityAlreadyExists", "Group with name OPS already exists.")
    iam.create_user(UserName="ivan")
    iam.add_user_to_group(GroupName="ops", UserName="ivan")
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="ivan")["Groups"]] == ["ops"]
    group = iam.get_group(GroupName="ops")
    assert group["Group"]["Arn"] == f"arn:aws:iam::{iam.account}:group/eng/ops"
    assert [u["UserName"] for u in group["Users"]] == ["ivan"]
    assert error_of(iam.delete_group, GroupName="ops") == (
        "DeleteConflict", "Cannot delete entity, must remove users from group first.")
    assert error_of(iam.add_user_to_group, GroupName="nope", UserName="ivan") == (
        "NoSuchEntity", "The group with name nope cannot be found.")
    iam.update_group(GroupName="ops", NewGroupName="platform")
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="ivan")["Groups"]] == [
        "platform"]
    assert error_of(iam.get_group, GroupName="ops")[0] == "NoSuchEntity"
    iam.remove_user_from_group(GroupName="platform", UserName="ivan")
    iam.delete_group(GroupName="platform")
    assert iam.list_groups()["Groups"] == []


def test_roles_lifecycle_and_errors(iam):
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{iam.account}:root"},
        "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=trust,
                           Description="ships", MaxSessionDuration=7200,
                           Tags=[{"Key": "env", "Value": "prod"}])["Role"]
    assert role["RoleId"].startswith("AROA")
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert error_of(iam.create_role, RoleName="deployer", AssumeRolePolicyDocument=trust)[0] == (
        "EntityAlreadyExists")
    no_principal = allow("sts:AssumeRole")
    assert error_of(iam.create_role, RoleName="broken", AssumeRolePolicyDocument=no_principal)[0] == (
        "MalformedPolicyDocument")
    assert error_of(iam.create_role, RoleName="long", AssumeRolePolicyDocument=trust,
                    MaxSessionDuration=50000)[0] == "ValidationError"
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["deployer"]

    iam.update_role(RoleName="deployer", MaxSessionDuration=3600)
    assert iam.get_role(RoleName="deployer")["Role"]["MaxSessionDuration"] == 3600
    iam.attach_role_policy(RoleName="deployer", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    attached = iam.list_attached_role_policies(RoleName="deployer")["AttachedPolicies"]
    assert attached == [{"PolicyName": "ReadOnlyAccess",
                         "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]
    iam.create_instance_profile(InstanceProfileName="web")
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="deployer")
    assert error_of(iam.add_role_to_instance_profile, InstanceProfileName="web",
                    RoleName="deployer")[0] == "LimitExceeded"
    profiles = iam.list_instance_profiles_for_role(RoleName="deployer")["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in profiles] == ["web"]
    assert error_of(iam.delete_role, RoleName="deployer")[0] == "DeleteConflict"
    iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="deployer")
    iam.delete_instance_profile(InstanceProfileName="web")
    assert error_of(iam.delete_role, RoleName="deployer") == (
        "DeleteConflict", "Cannot delete entity, must detach all policies first.")
    iam.detach_role_policy(RoleName="deployer", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.delete_role(RoleName="deployer")
    assert error_of(iam.get_role, RoleName="deployer") == (
        "NoSuchEntity", "The role with name deployer cannot be found.")


def test_concurrent_changes_to_one_entity_are_all_kept(iam):
    """What Terraform does with its default parallelism: many calls that each read an
    entity, change one part and write it back, at once. None of them is lost (each
    write insists on the version it read, and a loser runs again on the newer one),
    and with the client's retries off none fails."""
    from concurrent.futures import ThreadPoolExecutor
    iam.create_user(UserName="busy")
    iam.create_role(RoleName="busy", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": iam.account}, "Action": "sts:AssumeRole"}]}))

    def change(worker):
        for i in range(4):
            iam.tag_user(UserName="busy", Tags=[{"Key": f"w{worker}-{i}", "Value": "v"}])
            iam.put_role_policy(RoleName="busy", PolicyName=f"p{worker}-{i}",
                                PolicyDocument=allow("s3:GetObject"))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(change, range(8)))
    expected = sorted(f"w{w}-{i}" for w in range(8) for i in range(4))
    tags = iam.list_user_tags(UserName="busy", MaxItems=100)["Tags"]
    assert sorted(t["Key"] for t in tags) == expected
    names = iam.list_role_policies(RoleName="busy", MaxItems=100)["PolicyNames"]
    assert sorted(names) == sorted(f"p{w}-{i}" for w in range(8) for i in range(4))


def test_an_access_key_deleted_while_it_is_updated_stays_deleted(iam):
    """UpdateAccessKey reads the key and writes it back: a DeleteAccessKey that lands in
    between wins (the update runs again and finds no key) instead of the deleted key
    coming back to life."""
    iam.create_user(UserName="rotating")
    for i in range(40):
        key = iam.create_access_key(UserName="rotating")["AccessKey"]["AccessKeyId"]
        update, delete = race(
            lambda: iam.update_access_key(UserName="rotating", AccessKeyId=key, Status="Inactive"),
            lambda: iam.delete_access_key(UserName="rotating", AccessKeyId=key))
        assert delete is None and update in (None, "NoSuchEntity")
        keys = iam.list_access_keys(UserName="rotating")["AccessKeyMetadata"]
        assert keys == [], f"round {i}: the deleted key came back: {keys}"


def test_renaming_a_user_keeps_its_keys_and_groups(iam):
    judy, key = new_user(iam, "judy")
    iam.create_group(GroupName="g")
    iam.add_user_to_group(GroupName="g", UserName="judy")
    iam.attach_group_policy(GroupName="g", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.update_user(UserName="judy", NewUserName="judith", NewPath="/renamed/")
    user = judy.get_user()["User"]
    assert user["Arn"] == f"arn:aws:iam::{iam.account}:user/renamed/judith"
    keys = iam.list_access_keys(UserName="judith")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [key["AccessKeyId"]]
    assert error_of(iam.get_user, UserName="judy")[0] == "NoSuchEntity"


def test_aws_managed_policies_are_listed_with_their_documents(iam):
    policies = {p["PolicyName"]: p for p in iam.list_policies(Scope="AWS")["Policies"]}
    for name in ["AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "IAMFullAccess",
                 "IAMReadOnlyAccess", "IAMUserChangePassword"]:
        assert policies[name]["Arn"] == f"arn:aws:iam::aws:policy/{name}"
    # rampart init attached AdministratorAccess to admin.
    assert policies["AdministratorAccess"]["AttachmentCount"] == 1
    power = iam.get_policy_version(PolicyArn="arn:aws:iam::aws:policy/PowerUserAccess",
                                   VersionId="v1")["PolicyVersion"]["Document"]
    assert power["Statement"][0]["NotAction"] == ["iam:*", "organizations:*", "account:*"]
    assert error_of(iam.delete_policy, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")[0] == (
        "NoSuchEntity")


def test_access_key_last_used_comes_from_the_audit_trail(iam):
    from conftest import wait_for
    kate, key = new_user(iam, "kate")
    never = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert never["UserName"] == "kate"
    assert never["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    assert "LastUsedDate" not in never["AccessKeyLastUsed"]
    iam.server.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()

    def used():
        last = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
        return last if last["ServiceName"] != "N/A" else None
    last = wait_for(used)
    assert last and last["ServiceName"] == "sts" and last["Region"] == "us-east-1"
    assert "LastUsedDate" in last
    assert error_of(iam.get_access_key_last_used, AccessKeyId="AKIAIOSFODNN7EXAMPLE")[0] == (
        "NoSuchEntity")
