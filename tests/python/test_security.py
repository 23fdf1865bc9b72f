"""Attacks on `rampart serve` in strict mode, each reproduced as a real client would
make it: what an attacker holding a captured signature, a low-privilege key or a
deleted principal's credentials could do, and what rampart answers instead."""

import json
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import pytest
import requests

TRUST_ACCOUNT = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "ACCOUNT"}, "Action": "sts:AssumeRole"}]}


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def trust(principal):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})


class UnsignedPayloadQueryAuth(botocore.auth.SigV4QueryAuth):
    """A presigned URL whose signature covers UNSIGNED-PAYLOAD instead of the body, as
    S3's presigners (and some SDKs') make them."""

    def payload(self, request):
        return "UNSIGNED-PAYLOAD"


class UnsignedPayloadHeaderAuth(botocore.auth.SigV4Auth):
    """A header signature with `x-amz-content-sha256: UNSIGNED-PAYLOAD`."""

    def payload(self, request):
        return "UNSIGNED-PAYLOAD"

    def _modify_request_before_signing(self, request):
        super()._modify_request_before_signing(request)
        request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"


def two_roles(server, key_id, secret):
    """A read-only role and an admin role the caller's account trusts."""
    iam = server.client("iam", key_id, secret)
    account = server.client("sts", key_id, secret).get_caller_identity()["Account"]
    arns = {}
    for name in ("reader", "administrator"):
        arns[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(account))["Role"]["Arn"]
    return arns


def test_a_presigned_url_over_an_unsigned_payload_does_not_let_a_body_override_it(admin):
    server, key_id, secret = admin
    roles = two_roles(server, key_id, secret)
    signed = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": roles["reader"],
              "RoleSessionName": "ro"}
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=server.endpoint + "/?" + urllib.parse.urlencode(signed))
    UnsignedPayloadQueryAuth(botocore.credentials.Credentials(key_id, secret), "sts", "us-east-1",
                             expires=300).add_auth(request)
    url = request.prepare().url
    # The presigned URL itself works: its signature covers every parameter it carries.
    assert requests.post(url, timeout=10).status_code == 200
    replayed = requests.post(url, data={"RoleArn": roles["administrator"], "RoleSessionName": "x"},
                             timeout=10)
    assert replayed.status_code == 403, replayed.text
    assert "<Code>SignatureDoesNotMatch</Code>" in replayed.text
    assert "administrator" not in replayed.text


def test_a_header_signature_over_an_unsigned_payload_does_not_authenticate_the_body(admin):
    server, key_id, secret = admin
    roles = two_roles(server, key_id, secret)
    body = urllib.parse.urlencode({"Action": "AssumeRole", "Version": "2011-06-15",
                                   "RoleArn": roles["reader"], "RoleSessionName": "ro"})
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=server.endpoint + "/", data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    UnsignedPayloadHeaderAuth(botocore.credentials.Credentials(key_id, secret), "sts",
                              "us-east-1").add_auth(request)
    prepared = request.prepare()
    tampered = body.replace(urllib.parse.quote(roles["reader"], safe=""),
                            urllib.parse.quote(roles["administrator"], safe=""))
    assert tampered != body
    response = requests.post(prepared.url, headers=dict(prepared.headers), data=tampered, timeout=10)
    assert response.status_code == 403, response.text
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert "AssumedRoleUser" not in response.text


def user_with_policy(server, key_id, secret, name, policy):
    """A user with one inline policy, and a client signing as that user."""
    iam = server.client("iam", key_id, secret)
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def test_kms_request_tags_reach_a_deny_on_tag_keys(admin):
    server, key_id, secret = admin
    user = user_with_policy(server, key_id, secret, "tagger", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:TagResource", "Resource": "*",
         "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner"]}}}]})
    kms = server.client("kms", *user)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key, Tags=[{"TagKey": "project", "TagValue": "x"}])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.tag_resource(KeyId=key, Tags=[{"TagKey": "owner", "TagValue": "mallory"}])
    assert error_code(e) == "AccessDeniedException"
    assert kms.list_resource_tags(KeyId=key)["Tags"] == [{"TagKey": "project", "TagValue": "x"}]


def test_kms_create_key_with_a_required_request_tag(admin):
    server, key_id, secret = admin
    user = user_with_policy(server, key_id, secret, "creator", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}}}]})
    kms = server.client("kms", *user)
    created = kms.create_key(Tags=[{"TagKey": "team", "TagValue": "blue"}])
    assert created["KeyMetadata"]["KeyId"]
    for tags in ([{"TagKey": "team", "TagValue": "red"}], []):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kms.create_key(Tags=tags)
        assert error_code(e) == "AccessDeniedException"
