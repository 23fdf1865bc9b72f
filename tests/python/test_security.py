"""Attacks on `rampart serve` in strict mode, each reproduced as a real client would
make it: what an attacker holding a captured signature, a low-privilege key or a
deleted principal's credentials could do, and what rampart answers instead."""

import json
import signal
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
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


def account_of(server, key_id, secret):
    return server.client("sts", key_id, secret).get_caller_identity()["Account"]


def test_renaming_oneself_needs_permission_on_the_new_name(admin):
    server, key_id, secret = admin
    account = account_of(server, key_id, secret)
    own = f"arn:aws:iam::{account}:user/intern"
    intern = user_with_policy(server, key_id, secret, "intern", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:UpdateUser", "Resource": own}]})
    iam = server.client("iam", *intern)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_user(UserName="intern", NewUserName="ops")
    assert error_code(e) == "AccessDenied"
    assert f"on resource: arn:aws:iam::{account}:user/ops" in e.value.response["Error"]["Message"]
    admin_iam = server.client("iam", key_id, secret)
    assert admin_iam.get_user(UserName="intern")["User"]["Arn"] == own
    # Moving to a path is a new ARN too.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_user(UserName="intern", NewPath="/admins/")
    assert error_code(e) == "AccessDenied"


def test_a_trust_may_name_only_principals_that_exist(admin):
    server, key_id, secret = admin
    account = account_of(server, key_id, secret)
    iam = server.client("iam", key_id, secret)
    nobody = f"arn:aws:iam::{account}:user/nobody"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust(nobody))
    assert error_code(e) == "MalformedPolicyDocument"
    assert e.value.response["Error"]["Message"] == f'Invalid principal in policy: "AWS":"{nobody}"'
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust(account))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_assume_role_policy(RoleName="r", PolicyDocument=trust(f"arn:aws:iam::{account}:role/ghost"))
    assert error_code(e) == "MalformedPolicyDocument"
    # The admin exists: naming it is fine.
    iam.update_assume_role_policy(RoleName="r", PolicyDocument=trust(f"arn:aws:iam::{account}:user/admin"))


def delete_user(iam, name):
    for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    for policy in iam.list_user_policies(UserName=name)["PolicyNames"]:
        iam.delete_user_policy(UserName=name, PolicyName=policy)
    iam.delete_user(UserName=name)


ASSUME_ANY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}


def bob_and_a_role_trusting_him(server, key_id, secret):
    """User bob, allowed to assume any role, and role `deploy`, whose trust names bob:
    (bob's key, the role's ARN)."""
    account = account_of(server, key_id, secret)
    bob = user_with_policy(server, key_id, secret, "bob", ASSUME_ANY)
    role = server.client("iam", key_id, secret).create_role(
        RoleName="deploy", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{account}:user/bob"))
    return bob, role["Role"]["Arn"]


def assume_is_denied(server, user, role):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("sts", *user).assume_role(RoleArn=role, RoleSessionName="s1")
    assert error_code(e) == "AccessDenied"


def test_a_recreated_namesake_does_not_inherit_a_deleted_users_trust(admin):
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    _, role = bob_and_a_role_trusting_him(server, key_id, secret)
    bob_id = iam.get_user(UserName="bob")["User"]["UserId"]
    delete_user(iam, "bob")
    # IAM writes the deleted principal's unique id into the trust.
    document = iam.get_role(RoleName="deploy")["Role"]["AssumeRolePolicyDocument"]
    assert document["Statement"][0]["Principal"]["AWS"] == bob_id
    assume_is_denied(server, user_with_policy(server, key_id, secret, "bob", ASSUME_ANY), role)


def test_a_trust_follows_a_renamed_user(admin):
    server, key_id, secret = admin
    account = account_of(server, key_id, secret)
    iam = server.client("iam", key_id, secret)
    bob, role = bob_and_a_role_trusting_him(server, key_id, secret)
    iam.update_user(UserName="bob", NewUserName="robert")
    document = iam.get_role(RoleName="deploy")["Role"]["AssumeRolePolicyDocument"]
    assert document["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{account}:user/robert"
    assumed = server.client("sts", *bob).assume_role(RoleArn=role, RoleSessionName="s1")
    assert assumed["AssumedRoleUser"]["Arn"].endswith(":assumed-role/deploy/s1")
    # A new bob is not robert.
    assume_is_denied(server, user_with_policy(server, key_id, secret, "bob", ASSUME_ANY), role)


def test_a_deleted_roles_sessions_do_not_come_back_with_a_namesake(admin):
    server, key_id, secret = admin
    account = account_of(server, key_id, secret)
    iam = server.client("iam", key_id, secret)
    role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument=trust(account))["Role"]["Arn"]
    credentials = server.client("sts", key_id, secret).assume_role(
        RoleArn=role, RoleSessionName="s1")["Credentials"]
    session = server.client("sts", credentials["AccessKeyId"], credentials["SecretAccessKey"],
                            credentials["SessionToken"])
    assert session.get_caller_identity()["Arn"].endswith(":assumed-role/worker/s1")
    iam.delete_role(RoleName="worker")
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=trust(account))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        session.get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId"


def test_a_deleted_users_session_does_not_come_back_with_a_namesake(admin):
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    carol = user_with_policy(server, key_id, secret, "carol", ASSUME_ANY)
    credentials = server.client("sts", *carol).get_session_token()["Credentials"]
    session = server.client("sts", credentials["AccessKeyId"], credentials["SecretAccessKey"],
                            credentials["SessionToken"])
    assert session.get_caller_identity()["Arn"].endswith(":user/carol")
    delete_user(iam, "carol")
    user_with_policy(server, key_id, secret, "carol", ASSUME_ANY)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        session.get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId"


def peak_rss_mib(server):
    """The server process's peak resident memory (VmHWM), MiB."""
    status = open(f"/proc/{server.process.pid}/status").read()
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return kib / 1024


def test_the_simulator_evaluates_only_the_page_it_answers(admin):
    # 600 actions x 600 resources is 360,000 results: evaluated at once they took
    # gigabytes; a read-only user may send it.
    server, key_id, secret = admin
    reader = user_with_policy(server, key_id, secret, "reader", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:Simulate*", "Resource": "*"}]})
    iam = server.client("iam", *reader)
    actions = [f"s3:GetObjectVersion{i}" for i in range(600)]
    resources = [f"arn:aws:s3:::bucket/{i}" for i in range(600)]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket/1*"}]})
    before = peak_rss_mib(server)
    first = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=actions, ResourceArns=resources)
    assert len(first["EvaluationResults"]) == 100 and first["IsTruncated"]
    second = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=actions,
                                        ResourceArns=resources, Marker=first["Marker"], MaxItems=1000)
    assert len(second["EvaluationResults"]) == 1000 and second["IsTruncated"]
    # Result i is action i // 600 on resource i % 600.
    for i, result in enumerate(second["EvaluationResults"], start=100):
        assert result["EvalActionName"] == actions[i // 600]
        assert result["EvalResourceName"] == resources[i % 600]
        expected = "allowed" if resources[i % 600].startswith("arn:aws:s3:::bucket/1") else "implicitDeny"
        assert result["EvalDecision"] == expected
    assert peak_rss_mib(server) - before < 100, f"peak RSS grew from {before:.0f} MiB to {peak_rss_mib(server):.0f} MiB"


def client_in(server, service, region, key_id, secret, session_token=None):
    return boto3.client(service, endpoint_url=server.endpoint, region_name=region,
                        aws_access_key_id=key_id, aws_secret_access_key=secret,
                        aws_session_token=session_token,
                        config=botocore.config.Config(retries={"max_attempts": 0}))


def test_a_request_signed_for_a_region_rampart_does_not_serve_is_refused(admin):
    server, key_id, secret = admin
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client_in(server, "sts", "mars-north-9", key_id, secret).get_caller_identity()
    assert error_code(e) == "SignatureDoesNotMatch"
    assert e.value.response["Error"]["Message"].startswith(
        "Credential should be scoped to a valid region, not 'mars-north-9'.")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client_in(server, "kms", "eu-west-1", key_id, secret).list_keys()
    assert error_code(e) == "InvalidSignatureException"


def test_kms_keys_stay_in_their_region(workspace):
    key_id, secret = workspace.init()
    server = workspace.serve("--region", "us-east-1,eu-west-1")
    east = client_in(server, "kms", "us-east-1", key_id, secret)
    west = client_in(server, "kms", "eu-west-1", key_id, secret)
    key = east.create_key()["KeyMetadata"]
    east.create_alias(AliasName="alias/east", TargetKeyId=key["KeyId"])
    for ref in (key["Arn"], key["KeyId"], "alias/east",
                key["Arn"].replace(f"key/{key['KeyId']}", "alias/east")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            west.encrypt(KeyId=ref, Plaintext=b"secret")
        assert error_code(e) == "NotFoundException", ref
    assert east.encrypt(KeyId=key["Arn"], Plaintext=b"secret")["KeyId"] == key["Arn"]
    assert west.create_key()["KeyMetadata"]["Arn"].startswith("arn:aws:kms:eu-west-1:")
    # Both regions are served; a third is not.
    client_in(server, "sts", "eu-west-1", key_id, secret).get_caller_identity()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        client_in(server, "sts", "ap-south-1", key_id, secret).get_caller_identity()
    assert error_code(e) == "SignatureDoesNotMatch"


def test_a_long_term_key_with_a_session_token_is_refused(admin):
    server, key_id, secret = admin
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client("sts", key_id, secret, session_token="stray").get_caller_identity()
    assert error_code(e) == "InvalidClientTokenId"


def test_the_state_is_readable_by_its_owner_only(admin, workspace):
    server, key_id, secret = admin
    server.client("iam", key_id, secret).create_user(UserName="someone")
    modes = {path.name: path.stat().st_mode & 0o777
             for path in [workspace.data_dir, *workspace.data_dir.glob("rampart.db*")]}
    assert modes.pop("data") == 0o700
    assert set(modes) == {"rampart.db", "rampart.db-wal", "rampart.db-shm"}, modes
    assert set(modes.values()) == {0o600}, modes


def test_a_delegated_admin_manages_users_that_have_the_required_boundary(admin):
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))["Policy"]["Arn"]
    delegate = user_with_policy(server, key_id, secret, "delegate", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:PutUserPolicy", "iam:AttachUserPolicy"], "Resource": "*",
         "Condition": {"StringEquals": {"iam:PermissionsBoundary": boundary}}}]})
    iam.create_user(UserName="bounded", PermissionsBoundary=boundary)
    iam.create_user(UserName="unbounded")
    inline = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    managed = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    delegated = server.client("iam", *delegate)
    delegated.put_user_policy(UserName="bounded", PolicyName="s3", PolicyDocument=inline)
    delegated.attach_user_policy(UserName="bounded", PolicyArn=managed)
    for call in (lambda: delegated.put_user_policy(UserName="unbounded", PolicyName="s3", PolicyDocument=inline),
                 lambda: delegated.attach_user_policy(UserName="unbounded", PolicyArn=managed)):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_code(e) == "AccessDenied"
    assert iam.list_user_policies(UserName="bounded")["PolicyNames"] == ["s3"]


def test_every_answered_denial_survives_kill_9(admin, workspace):
    server, key_id, secret = admin
    nobody = server.client("iam", *user_with_policy(server, key_id, secret, "nobody", {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))

    def deny_many(thread):
        for i in range(75):
            with pytest.raises(botocore.exceptions.ClientError) as e:
                nobody.create_user(UserName=f"x{thread}-{i}")
            assert error_code(e) == "AccessDenied"

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(deny_many, range(4)))
    server.stop(signal.SIGKILL)

    restarted = workspace.serve()
    trail = restarted.client("cloudtrail", key_id, secret)
    pages = trail.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])
    denied = [e for page in pages for e in page["Events"]
              if json.loads(e["CloudTrailEvent"]).get("errorCode") == "AccessDenied"]
    assert len(denied) == 300
