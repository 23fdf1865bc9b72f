"""SigV4 authentication through real clients: header and presigned signatures, and
each error AWS gives for a request that does not authenticate."""

import datetime
import urllib.error
import urllib.request
from unittest import mock

import botocore.exceptions
import pytest
import requests


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def test_admin_is_who_init_said(admin, workspace):
    server, key_id, secret = admin
    identity = server.client("sts", key_id, secret).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{identity['Account']}:user/admin"
    assert identity["UserId"].startswith("AIDA") and len(identity["UserId"]) == 21
    assert len(identity["Account"]) == 12


def test_unknown_access_key_is_rejected(admin):
    server, _, secret = admin
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("sts", "AKIAUNKNOWNUNKNOWN00", secret).get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId"
    assert e.value.response["Error"]["Message"] == "The security token included in the request is invalid."
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_wrong_secret_does_not_match(admin):
    server, key_id, secret = admin
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("sts", key_id, secret[:-1] + ("A" if secret[-1] != "A" else "B")).get_caller_identity()
    assert error_code(e) == "SignatureDoesNotMatch"


def test_unsigned_request_is_missing_authentication_token(admin):
    server, _, _ = admin
    response = requests.post(server.endpoint, data={"Action": "GetCallerIdentity", "Version": "2011-06-15"})
    assert response.status_code in (400, 403)
    assert "<Code>MissingAuthenticationToken</Code>" in response.text
    assert "<RequestId>" in response.text


def test_request_signed_outside_the_skew_window_expired(admin):
    # Query services (IAM, STS) answer clock skew as SignatureDoesNotMatch with a
    # "Signature expired" message.
    server, key_id, secret = admin
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
    client = server.client("sts", key_id, secret)
    with mock.patch("botocore.auth.get_current_datetime", return_value=past):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            client.get_caller_identity()
    assert error_code(e) == "SignatureDoesNotMatch"
    assert e.value.response["Error"]["Message"].startswith("Signature expired: ")


def test_expired_presigned_url_is_rejected(admin):
    server, key_id, secret = admin
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=120)
    client = server.client("sts", key_id, secret)
    with mock.patch("botocore.auth.get_current_datetime", return_value=past):
        url = client.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url, timeout=5)
    assert "<Code>RequestExpired</Code>" in e.value.read().decode()


def test_request_signed_within_the_skew_window_passes(admin):
    server, key_id, secret = admin
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=14)
    client = server.client("sts", key_id, secret)
    with mock.patch("botocore.auth.get_current_datetime", return_value=past):
        assert client.get_caller_identity()["Arn"].endswith(":user/admin")


def test_presigned_url_authenticates(admin):
    server, key_id, secret = admin
    url = server.client("sts", key_id, secret).generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    assert "X-Amz-Signature=" in url
    body = urllib.request.urlopen(url, timeout=5).read().decode()
    assert "<GetCallerIdentityResult>" in body and ":user/admin</Arn>" in body


def test_tampered_presigned_url_is_rejected(admin):
    server, key_id, secret = admin
    url = server.client("sts", key_id, secret).generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    tampered = url.replace("X-Amz-Expires=60", "X-Amz-Expires=61")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(tampered, timeout=5)
    assert e.value.code == 403
    assert "SignatureDoesNotMatch" in e.value.read().decode()


def test_dev_mode_maps_unknown_keys_to_the_default_root(workspace):
    server = workspace.serve("--dev", "--account-id", "123456789012")
    identity = server.client("sts", "AKIAANYTHING", "anything").get_caller_identity()
    assert identity == {**identity, "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root",
                        "UserId": "123456789012"}


def test_strict_mode_does_not_serve_reset(admin):
    server, _, _ = admin
    assert requests.post(server.endpoint + "/_rampart/reset").status_code == 404


def test_incomplete_signature(admin):
    server, _, _ = admin
    headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261123/us-east-1/sts/aws4_request",
               "X-Amz-Date": "20261123T000000Z",
               "Content-Type": "application/x-www-form-urlencoded"}
    response = requests.post(server.endpoint, data="Action=GetCallerIdentity&Version=2011-06-15",
                             headers=headers)
    assert response.status_code in (400, 403)
    assert "<Code>IncompleteSignature</Code>" in response.text


def test_dev_mode_reset_empties_the_state(workspace):
    server = workspace.serve("--dev")
    assert "--dev" in server.log()
    iam = server.client("iam", "AKIADEV", "dev")
    iam.create_user(UserName="temporary")
    assert requests.post(server.endpoint + "/_rampart/reset").status_code == 200
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_user(UserName="temporary")
    assert error_code(e) == "NoSuchEntity"
    iam.create_user(UserName="temporary")  # the name is free again
