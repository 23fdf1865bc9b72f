"""STS temporary credentials through boto3 against a real server: a role session has
the role's permissions and gives up the caller's own; session policies, tags, external
ids, durations and role chaining behave as AWS documents them."""

import json

import botocore.exceptions
import pytest

from conftest import wait_for
from test_iam import allow, error_of


@pytest.fixture
def account(admin):
    """(server, admin iam client, account id)."""
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    return server, iam, iam.get_user()["User"]["Arn"].split(":")[4]


def user_with_key(server, iam, name, policy=None):
    iam.create_user(UserName=name)
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def trust(principal, **condition):
    statement = {"Effect": "Allow", "Principal": {"AWS": principal},
                 "Action": ["sts:AssumeRole", "sts:TagSession"]}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def session_client(server, service, credentials):
    return server.client(service, credentials["AccessKeyId"], credentials["SecretAccessKey"],
                         credentials["SessionToken"])


def test_assuming_a_role_gives_up_the_callers_own_permissions(account):
    server, iam, acct = account
    key = user_with_key(server, iam, "kim", allow(["iam:ListUsers", "sts:AssumeRole"]))
    user_arn = f"arn:aws:iam::{acct}:user/kim"
    iam.create_role(RoleName="auditor", AssumeRolePolicyDocument=trust(user_arn))
    iam.put_role_policy(RoleName="auditor", PolicyName="groups", PolicyDocument=allow("iam:ListGroups"))

    kim_sts = server.client("sts", *key)
    kim_iam = server.client("iam", *key)
    assert kim_iam.list_users()["Users"]
    response = kim_sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/auditor",
                                   RoleSessionName="audit-1")
    credentials = response["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert response["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{acct}:assumed-role/auditor/audit-1"

    identity = session_client(server, "sts", credentials).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{acct}:assumed-role/auditor/audit-1"
    assert identity["UserId"].startswith("AROA") and identity["UserId"].endswith(":audit-1")

    role_iam = session_client(server, "iam", credentials)
    assert role_iam.list_groups()["Groups"] == []
    code, message = error_of(role_iam.list_users)
    assert code == "AccessDenied"
    assert message.startswith(
        f"User: arn:aws:sts::{acct}:assumed-role/auditor/audit-1 is not authorized to perform: "
        "iam:ListUsers")
    # The role remembers it was used.
    assert "LastUsedDate" in iam.get_role(RoleName="auditor")["Role"]["RoleLastUsed"]


def test_a_trust_policy_that_does_not_name_the_caller_refuses_it(account):
    server, iam, acct = account
    key = user_with_key(server, iam, "lee", allow("sts:AssumeRole"))
    iam.create_user(UserName="someone-else")
    iam.create_role(RoleName="private",
                    AssumeRolePolicyDocument=trust(f"arn:aws:iam::{acct}:user/someone-else"))
    sts = server.client("sts", *key)
    code, message = error_of(sts.assume_role, RoleArn=f"arn:aws:iam::{acct}:role/private",
                             RoleSessionName="xx")
    assert code == "AccessDenied"
    assert message.startswith(f"User: arn:aws:iam::{acct}:user/lee is not authorized to perform: "
                              f"sts:AssumeRole on resource: arn:aws:iam::{acct}:role/private")
    assert error_of(sts.assume_role, RoleArn=f"arn:aws:iam::{acct}:role/missing",
                    RoleSessionName="xx")[0] == "AccessDenied"


def test_trusting_the_account_needs_the_callers_identity_policy_too(account):
    server, iam, acct = account
    without = server.client("sts", *user_with_key(server, iam, "mo"))
    with_policy = server.client("sts", *user_with_key(server, iam, "ned", allow("sts:AssumeRole")))
    iam.create_role(RoleName="shared", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{acct}:root"))
    arn = f"arn:aws:iam::{acct}:role/shared"
    assert error_of(without.assume_role, RoleArn=arn, RoleSessionName="s1")[0] == "AccessDenied"
    assert with_policy.assume_role(RoleArn=arn, RoleSessionName="s1")["Credentials"]


def test_external_id_condition(account):
    server, iam, acct = account
    sts = server.client("sts", *user_with_key(server, iam, "olga", allow("sts:AssumeRole")))
    iam.create_role(RoleName="vendor", AssumeRolePolicyDocument=trust(
        f"arn:aws:iam::{acct}:root", StringEquals={"sts:ExternalId": "s3cr3t-id"}))
    arn = f"arn:aws:iam::{acct}:role/vendor"
    assert error_of(sts.assume_role, RoleArn=arn, RoleSessionName="s1")[0] == "AccessDenied"
    assert error_of(sts.assume_role, RoleArn=arn, RoleSessionName="s1",
                    ExternalId="wrong-id")[0] == "AccessDenied"
    assert sts.assume_role(RoleArn=arn, RoleSessionName="s1", ExternalId="s3cr3t-id")


def test_session_policies_narrow_the_session(account):
    server, iam, acct = account
    sts = server.client("sts", *user_with_key(server, iam, "pat", allow("sts:AssumeRole")))
    iam.create_role(RoleName="wide", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{acct}:root"))
    iam.attach_role_policy(RoleName="wide", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/wide", RoleSessionName="n1",
                                  Policy=allow("iam:ListRoles"))["Credentials"]
    narrow = session_client(server, "iam", credentials)
    assert narrow.list_roles()["Roles"]
    code, message = error_of(narrow.list_users)
    assert code == "AccessDenied"
    assert "because no session policy allows the iam:ListUsers action" in message
    bad = error_of(sts.assume_role, RoleArn=f"arn:aws:iam::{acct}:role/wide",
                   RoleSessionName="n1", Policy="{not json")
    assert bad[0] == "MalformedPolicyDocument"


def test_session_tags_become_principal_tags(account):
    server, iam, acct = account
    # The trust policy names the account, so the caller's own policy must allow
    # sts:TagSession as well as sts:AssumeRole.
    sts = server.client("sts", *user_with_key(server, iam, "quinn",
                                              allow(["sts:AssumeRole", "sts:TagSession"])))
    iam.create_role(RoleName="tagged", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{acct}:root"))
    iam.put_role_policy(RoleName="tagged", PolicyName="by-tag", PolicyDocument=allow(
        "iam:ListUsers", Condition={"StringEquals": {"aws:PrincipalTag/project": "apollo"}}))
    arn = f"arn:aws:iam::{acct}:role/tagged"
    plain = sts.assume_role(RoleArn=arn, RoleSessionName="plain")["Credentials"]
    assert error_of(session_client(server, "iam", plain).list_users)[0] == "AccessDenied"
    tagged = sts.assume_role(RoleArn=arn, RoleSessionName="tagged",
                             Tags=[{"Key": "project", "Value": "apollo"}])
    assert "PackedPolicySize" in tagged
    assert session_client(server, "iam", tagged["Credentials"]).list_users()["Users"]
    assert error_of(sts.assume_role, RoleArn=arn, RoleSessionName="t1",
                    Tags=[{"Key": "a", "Value": "1"}],
                    TransitiveTagKeys=["b"])[0] == "InvalidParameterValue"


def test_tagging_a_session_needs_sts_tag_session_in_the_trust_policy(account):
    server, iam, acct = account
    sts = server.client("sts", *user_with_key(server, iam, "rae", allow("sts:AssumeRole")))
    only_assume = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
        "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="untaggable", AssumeRolePolicyDocument=only_assume)
    arn = f"arn:aws:iam::{acct}:role/untaggable"
    code, message = error_of(sts.assume_role, RoleArn=arn, RoleSessionName="t1",
                             Tags=[{"Key": "k", "Value": "v"}])
    assert code == "AccessDenied" and "sts:TagSession" in message
    assert sts.assume_role(RoleArn=arn, RoleSessionName="t1")


def test_durations_and_role_chaining(account):
    server, iam, acct = account
    sts = server.client("sts", *user_with_key(server, iam, "sam", allow("sts:AssumeRole")))
    root = f"arn:aws:iam::{acct}:root"
    iam.create_role(RoleName="first", AssumeRolePolicyDocument=trust(root), MaxSessionDuration=7200)
    iam.put_role_policy(RoleName="first", PolicyName="chain", PolicyDocument=allow("sts:AssumeRole"))
    iam.create_role(RoleName="second", AssumeRolePolicyDocument=trust(root),
                    MaxSessionDuration=7200)
    first = f"arn:aws:iam::{acct}:role/first"
    second = f"arn:aws:iam::{acct}:role/second"
    code, message = error_of(sts.assume_role, RoleArn=first, RoleSessionName="s1",
                             DurationSeconds=7201)
    assert code == "ValidationError"
    assert message == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    credentials = sts.assume_role(RoleArn=first, RoleSessionName="s1",
                                  DurationSeconds=7200)["Credentials"]
    chained = session_client(server, "sts", credentials)
    code, message = error_of(chained.assume_role, RoleArn=second, RoleSessionName="c1",
                             DurationSeconds=3601)
    assert code == "ValidationError" and "role chaining" in message
    again = chained.assume_role(RoleArn=second, RoleSessionName="c1")["Credentials"]
    assert session_client(server, "sts", again).get_caller_identity()["Arn"].endswith(
        ":assumed-role/second/c1")


def test_a_session_token_is_required_and_must_match(account):
    server, iam, acct = account
    sts = server.client("sts", *user_with_key(server, iam, "tia", allow("sts:AssumeRole")))
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{acct}:root"))
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{acct}:role/r",
                                  RoleSessionName="s1")["Credentials"]
    no_token = server.client("sts", credentials["AccessKeyId"], credentials["SecretAccessKey"])
    assert error_of(no_token.get_caller_identity)[0] == "InvalidClientTokenId"
    wrong = server.client("sts", credentials["AccessKeyId"], credentials["SecretAccessKey"],
                          credentials["SessionToken"][:-4] + "AAAA")
    assert error_of(wrong.get_caller_identity)[0] == "InvalidClientTokenId"


def test_get_session_token(account):
    server, iam, acct = account
    key = user_with_key(server, iam, "uma", allow(["iam:ListUsers", "sts:AssumeRole"]))
    credentials = server.client("sts", *key).get_session_token(DurationSeconds=900)["Credentials"]
    session_sts = session_client(server, "sts", credentials)
    assert session_sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{acct}:user/uma"
    # Without MFA, GetSessionToken credentials cannot call IAM at all.
    assert error_of(session_client(server, "iam", credentials).list_users)[0] == (
        "InvalidClientTokenId")
    assert error_of(session_sts.get_session_token) == (
        "AccessDenied", "Cannot call GetSessionToken with session credentials")
    assert error_of(server.client("sts", *key).get_session_token,
                    DurationSeconds=129601)[0] == "ValidationError"


def test_get_federation_token(account):
    server, iam, acct = account
    key = user_with_key(server, iam, "val", allow(["cloudtrail:LookupEvents", "iam:ListUsers",
                                                   "sts:GetFederationToken"]))
    sts = server.client("sts", *key)
    narrowed = sts.get_federation_token(Name="contractor",
                                        Policy=allow("cloudtrail:LookupEvents"))
    assert narrowed["FederatedUser"]["Arn"] == f"arn:aws:sts::{acct}:federated-user/contractor"
    identity = session_client(server, "sts", narrowed["Credentials"]).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{acct}:federated-user/contractor"
    assert "Events" in session_client(server, "cloudtrail", narrowed["Credentials"]).lookup_events()
    # Federation tokens cannot call IAM at all, whatever the policies say.
    assert error_of(session_client(server, "iam", narrowed["Credentials"]).list_users)[0] == (
        "InvalidClientTokenId")
    # With no session policy, the federated user can do nothing.
    bare = sts.get_federation_token(Name="nobody")["Credentials"]
    code, message = error_of(session_client(server, "cloudtrail", bare).lookup_events)
    assert code == "AccessDeniedException"
    assert "no session policy allows" in message


def test_get_access_key_info(account):
    server, iam, acct = account
    key = user_with_key(server, iam, "wes", allow("sts:GetAccessKeyInfo"))
    sts = server.client("sts", *key)
    assert sts.get_access_key_info(AccessKeyId=key[0])["Account"] == acct
    assert error_of(sts.get_access_key_info, AccessKeyId="AKIAIOSFODNN7EXAMPLE")[0] == (
        "InvalidParameterValue")


def test_expired_credentials_get_expired_token(workspace):
    """A session past its expiry answers ExpiredToken. The clock cannot be moved, so the
    test moves the session's expiry instead: it edits the stored record while the
    server is stopped, and the restarted server loads it."""
    import sqlite3
    key_id, secret = workspace.init()
    server = workspace.serve()
    iam = server.client("iam", key_id, secret)
    acct = iam.get_user()["User"]["Arn"].split(":")[4]
    iam.create_role(RoleName="brief", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{acct}:root"))
    credentials = server.client("sts", key_id, secret).assume_role(
        RoleArn=f"arn:aws:iam::{acct}:role/brief", RoleSessionName="s1",
        DurationSeconds=900)["Credentials"]
    assert session_client(server, "sts", credentials).get_caller_identity()
    server.stop()

    with sqlite3.connect(workspace.data_dir / "rampart.db") as db:
        (value,) = db.execute("select value from records where kind = 'sts.session' and id = ?",
                              (credentials["AccessKeyId"],)).fetchone()
        session = json.loads(value)
        session["expires"] = session["issued"] - 1
        db.execute("update records set value = ? where kind = 'sts.session' and id = ?",
                   (json.dumps(session), credentials["AccessKeyId"]))

    restarted = workspace.serve()
    code, message = error_of(session_client(restarted, "sts", credentials).get_caller_identity)
    assert (code, message) == ("ExpiredToken",
                               "The security token included in the request is expired")
    # Long-term credentials are unaffected.
    assert restarted.client("sts", key_id, secret).get_caller_identity()


def test_decode_authorization_message_refuses_messages_rampart_did_not_issue(account):
    server, iam, acct = account
    sts = server.client("sts", *user_with_key(server, iam, "yara", allow(
        "sts:DecodeAuthorizationMessage")))
    assert error_of(sts.decode_authorization_message, EncodedMessage="bm90LWEtbWVzc2FnZQ==")[0] == (
        "InvalidAuthorizationMessageException")
    plain = server.client("sts", *user_with_key(server, iam, "zed"))
    assert error_of(plain.decode_authorization_message, EncodedMessage="x")[0] == "AccessDenied"
