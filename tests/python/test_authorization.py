"""Deny by default, enforced on every call: a new user can do nothing until a policy
allows it, and AccessDenied carries AWS's message. Denied calls are audited too."""

import json

import botocore.exceptions
import pytest

from conftest import wait_for


@pytest.fixture
def carol(admin):
    """A user with no policies and an access key: (server, admin iam client, carol's key).
    The admin's own credentials ride along on the server object as `admin_key`."""
    server, key_id, secret = admin
    server.admin_key = (key_id, secret)
    iam = server.client("iam", key_id, secret)
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    return server, iam, key


def as_carol(server, key, service):
    return server.client(service, key["AccessKeyId"], key["SecretAccessKey"])


def test_a_new_user_is_denied_with_awss_message(carol):
    server, iam, key = carol
    account = iam.get_user()["User"]["Arn"].split(":")[4]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_carol(server, key, "cloudtrail").lookup_events()
    error = e.value.response["Error"]
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] in (400, 403)
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: arn:aws:iam::{account}:user/carol is not authorized to perform: "
        "cloudtrail:LookupEvents on resource: * because no identity-based policy allows "
        "the cloudtrail:LookupEvents action")

    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_carol(server, key, "iam").create_user(UserName="mallory")
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{account}:user/carol is not authorized to perform: "
        f"iam:CreateUser on resource: arn:aws:iam::{account}:user/mallory because no "
        "identity-based policy allows the iam:CreateUser action")
    # the denied call changed nothing
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_user(UserName="mallory")
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"


def test_get_caller_identity_needs_no_permission(carol):
    server, _, key = carol
    assert as_carol(server, key, "sts").get_caller_identity()["Arn"].endswith(":user/carol")


def test_denied_calls_are_audited(carol):
    server, iam, key = carol
    with pytest.raises(botocore.exceptions.ClientError):
        as_carol(server, key, "iam").create_user(UserName="mallory")
    cloudtrail = server.client("cloudtrail", *server.admin_key)

    def denied_event():
        events = cloudtrail.lookup_events(LookupAttributes=[
            {"AttributeKey": "Username", "AttributeValue": "carol"}])["Events"]
        return [json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "CreateUser"]
    records = wait_for(denied_event)
    assert records and records[0]["errorCode"] == "AccessDenied"
    assert records[0]["requestParameters"] == {"userName": "mallory"}


def test_secrets_never_reach_the_audit_trail(admin):
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    iam.create_user(UserName="dave")
    created = iam.create_access_key(UserName="dave")["AccessKey"]
    cloudtrail = server.client("cloudtrail", key_id, secret)
    events = wait_for(lambda: cloudtrail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "CreateAccessKey"}])["Events"])
    record = json.loads(events[0]["CloudTrailEvent"])
    assert created["SecretAccessKey"] not in events[0]["CloudTrailEvent"]
    assert record["responseElements"]["accessKey"]["secretAccessKey"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert record["responseElements"]["accessKey"]["accessKeyId"] == created["AccessKeyId"]
    assert record["readOnly"] is False

