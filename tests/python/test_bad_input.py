"""Bad input from an authenticated caller gets the error AWS gives, in the protocol's
own shape, with a request id: never a 500, never a dropped connection."""

import json
import random

import pytest

from signing import send_signed

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def json_headers(target):
    return {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}


def test_unknown_query_action(admin):
    server, key_id, secret = admin
    r = send_signed(server.endpoint, key_id, secret, "sts", "Action=NoSuchThing&Version=2011-06-15", FORM)
    assert r.status_code == 400
    assert "<Code>InvalidAction</Code>" in r.text
    assert "<RequestId>" in r.text


@pytest.mark.parametrize("user_name", [b"\xff\xfe", b"%FF%FE"])
def test_invalid_utf8_in_a_member(admin, user_name):
    server, key_id, secret = admin
    r = send_signed(server.endpoint, key_id, secret, "iam",
                    b"Action=GetUser&Version=2010-05-08&UserName=" + user_name, FORM)
    assert 400 <= r.status_code < 500, r.text
    assert "<Error>" in r.text and "<RequestId>" in r.text


def test_oversize_body(admin):
    server, key_id, secret = admin
    r = send_signed(server.endpoint, key_id, secret, "sts", b"Action=GetCallerIdentity&x=" + b"a" * (9 << 20), FORM)
    assert r.status_code == 413


def test_unknown_json_target(admin):
    server, key_id, secret = admin
    target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.NoSuchThing"
    r = send_signed(server.endpoint, key_id, secret, "cloudtrail", "{}", json_headers(target))
    assert r.status_code == 400
    assert r.json()["__type"].endswith("UnknownOperationException")
    assert r.headers.get("x-amzn-RequestId")


def test_malformed_json_body(admin):
    server, key_id, secret = admin
    target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
    r = send_signed(server.endpoint, key_id, secret, "cloudtrail", "{not json", json_headers(target))
    assert r.status_code == 400
    assert r.json()["__type"].endswith("SerializationException")


def test_mistyped_json_member(admin):
    server, key_id, secret = admin
    target = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
    r = send_signed(server.endpoint, key_id, secret, "cloudtrail",
                    json.dumps({"MaxResults": "ten"}), json_headers(target))
    assert r.status_code == 400
    assert r.json()["__type"].split("#")[-1] in ("SerializationException", "ValidationException")


@pytest.mark.parametrize("service,headers", [
    ("sts", FORM),
    ("cloudtrail", json_headers("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents")),
])
def test_random_bodies_never_fail_the_server(admin, service, headers):
    server, key_id, secret = admin
    rng = random.Random(7)
    alphabet = b"=&.%{}[]\":,0123456789abcdefActionVersionMember\xff\x00"
    for _ in range(150):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
        r = send_signed(server.endpoint, key_id, secret, service, body, headers)
        assert r.status_code < 500, (body, r.status_code, r.text)
    # and the server still answers properly afterwards
    assert server.client("sts", key_id, secret).get_caller_identity()["Arn"].endswith(":user/admin")
