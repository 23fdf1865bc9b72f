"""Several `rampart serve` processes on one PostgreSQL behave as one service: a change
made through one is enforced by the other within a second."""

import os
import time
import uuid

import botocore.exceptions
import pytest

from conftest import wait_for

DATABASE_URL = os.environ.get("RAMPART_TEST_DATABASE_URL")


@pytest.fixture
def postgres_url():
    """A fresh schema in the test database, so tests never see each other's state."""
    if not DATABASE_URL:
        pytest.skip("RAMPART_TEST_DATABASE_URL is not set (scripts/test sets it in CI)")
    import psycopg  # noqa: imported here so SQLite-only runs need no driver
    schema = f"rampart_e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    separator = "&" if "?" in DATABASE_URL else "?"
    yield f"{DATABASE_URL}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(f"drop schema {schema} cascade")


def authenticates(server, key_id, secret):
    try:
        server.client("sts", key_id, secret).get_caller_identity()
        return True
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidClientTokenId", e.response
        return False


def test_two_replicas_enforce_each_others_changes(workspace, postgres_url):
    key_id, secret = workspace.init("--database-url", postgres_url)
    a = workspace.serve("--database-url", postgres_url)
    b = workspace.serve("--database-url", postgres_url)
    iam_a = a.client("iam", key_id, secret)

    iam_a.create_user(UserName="carol")
    new_key = iam_a.create_access_key(UserName="carol")["AccessKey"]
    started = time.monotonic()
    assert wait_for(lambda: authenticates(b, new_key["AccessKeyId"], new_key["SecretAccessKey"]), timeout=1.0)
    print(f"replica B accepted the new key after {time.monotonic() - started:.3f}s")

    iam_a.update_access_key(UserName="carol", AccessKeyId=new_key["AccessKeyId"], Status="Inactive")
    assert wait_for(lambda: not authenticates(b, new_key["AccessKeyId"], new_key["SecretAccessKey"]), timeout=1.0)

    # and the other way round
    iam_b = b.client("iam", key_id, secret)
    iam_b.delete_access_key(UserName="carol", AccessKeyId=new_key["AccessKeyId"])
    assert wait_for(lambda: not iam_a.list_access_keys(UserName="carol")["AccessKeyMetadata"], timeout=1.0)


def test_policy_changes_and_sessions_reach_the_other_replica(workspace, postgres_url):
    import json
    key_id, secret = workspace.init("--database-url", postgres_url)
    a = workspace.serve("--database-url", postgres_url)
    b = workspace.serve("--database-url", postgres_url)
    iam_a = a.client("iam", key_id, secret)
    account = iam_a.get_user()["User"]["Arn"].split(":")[4]
    iam_a.create_user(UserName="dana")
    key = iam_a.create_access_key(UserName="dana")["AccessKey"]
    dana_b = b.client("iam", key["AccessKeyId"], key["SecretAccessKey"])

    def can_list():
        try:
            dana_b.list_users()
            return True
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] in ("AccessDenied", "InvalidClientTokenId")
            return False

    assert not can_list()
    allow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:ListUsers", "sts:AssumeRole"], "Resource": "*"}]}
    iam_a.put_user_policy(UserName="dana", PolicyName="p", PolicyDocument=json.dumps(allow))
    assert wait_for(can_list, timeout=1.0)

    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}
    iam_a.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))
    wait_for(lambda: b.client("iam", key_id, secret).list_roles()["Roles"], timeout=1.0)
    credentials = a.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/r", RoleSessionName="s1")["Credentials"]
    session_b = b.client("sts", credentials["AccessKeyId"], credentials["SecretAccessKey"],
                         credentials["SessionToken"])

    def session_works():
        try:
            return session_b.get_caller_identity()["Arn"].endswith(":assumed-role/r/s1")
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "InvalidClientTokenId"
            return False
    assert wait_for(session_works, timeout=1.0)


def test_an_scp_attached_through_one_replica_binds_on_the_other(workspace, postgres_url):
    import json
    key_id, secret = workspace.init("--database-url", postgres_url)
    a = workspace.serve("--database-url", postgres_url)
    b = workspace.serve("--database-url", postgres_url)
    org = a.client("organizations", key_id, secret)
    org.create_organization()
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    status = org.create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"]
    member = org.describe_create_account_status(CreateAccountRequestId=status["Id"])[
        "CreateAccountStatus"]["AccountId"]

    def member_trail_on_b():
        credentials = b.client("sts", key_id, secret).assume_role(
            RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole",
            RoleSessionName="s1")["Credentials"]
        trail = b.client("cloudtrail", credentials["AccessKeyId"],
                         credentials["SecretAccessKey"], credentials["SessionToken"])
        try:
            trail.lookup_events()
            return True
        except botocore.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "AccessDeniedException"
            return False

    assert wait_for(member_trail_on_b, timeout=1.0)
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "cloudtrail:*", "Resource": "*"}]})
    policy = org.create_policy(Name="no-trail", Description="", Type="SERVICE_CONTROL_POLICY",
                               Content=deny)["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy, TargetId=member)
    assert wait_for(lambda: not member_trail_on_b(), timeout=1.0)
