"""Every operation of every service rampart serves (IAM and STS over the query
protocol, KMS and Organizations over json), called with input that has the shape the
service model gives it but random content: real ids and wrong ones, enum values and
made-up ones, numbers at and past their limits, blobs that are and are not base64,
members of the wrong type. Whatever comes in, the answer is the service's own error
shape with a request id, never a 500 and never a dropped connection (an operation
rampart does not serve answers 501 NotImplemented, in the same shape).

The inputs are drawn from a seeded generator, so a failure names the operation and the
body that caused it and repeats on every run."""

import base64
import json
import random
import urllib.parse

import botocore.serialize
import botocore.session
import pytest

from signing import send_signed

# Calls per operation: enough to reach past each operation's first validation into its
# handler (the known ids below make that likely), few enough to stay a few seconds.
CALLS_PER_OPERATION = 12
# Deeper than this, a structure member is left empty: the models are recursive.
MAX_DEPTH = 4
# Enum values never drawn: an RSA-4096 key takes 5 s and more to generate in the debug
# build the tests run, and takes the same path as RSA_2048 and RSA_3072, which are drawn.
SLOW_ENUM_VALUES = {"RSA_4096"}


class RandomInput:
    """Values for a botocore shape, drawn from `rng`. Strings are an enum's values most of
    the time where the shape has them, else often one of `known` (ids, ARNs, names that
    exist on the server), so that calls get past "not found" into the handlers; blobs are
    often one of `blobs` (real ciphertexts, signatures), sometimes with a bit flipped."""

    def __init__(self, rng, known, blobs):
        self.rng = rng
        self.known = known
        self.blobs = blobs

    def value(self, shape, depth=0):
        if self.rng.random() < 0.05:
            return self.wrong_type(shape)
        kind = shape.type_name
        if kind == "structure":
            if depth >= MAX_DEPTH:
                return {}
            return {
                name: self.value(member, depth + 1)
                for name, member in shape.members.items()
                if name in shape.required_members or self.rng.random() < 0.5
            }
        if kind == "list":
            return [self.value(shape.member, depth + 1) for _ in range(self.rng.randrange(4))]
        if kind == "map":
            return {self.string(shape.key): self.value(shape.value, depth + 1)
                    for _ in range(self.rng.randrange(4))}
        if kind == "string":
            return self.string(shape)
        if kind in ("integer", "long"):
            return self.rng.choice([0, 1, -1, 7, 100, 1024, 4096, 4097, 2**31, 2**63, -(2**63), 10**30])
        if kind in ("float", "double"):
            return self.rng.choice([0.0, -1.5, 1e308, 3.25])
        if kind == "boolean":
            return self.rng.choice([True, False])
        if kind == "blob":
            return self.blob()
        if kind == "timestamp":
            return self.rng.choice([0, 1.5, -1, 1e20, "2020-01-01T00:00:00Z", "yesterday"])
        return None

    def string(self, shape):
        rng = self.rng
        if shape.enum and rng.random() < 0.7:
            return rng.choice([v for v in shape.enum if v not in SLOW_ENUM_VALUES] or [""])
        roll = rng.random()
        if roll < 0.4:
            return rng.choice(self.known)
        if roll < 0.5:
            return ""
        if roll < 0.6:
            return "x" * rng.choice([1, 129, 257, 2049, 5000, 40000])
        if roll < 0.7:
            return rng.choice(["é\u00ff\u4e2d", "a\u0000b", "\ud7ff", "*", "../..", "%00", " "])
        if roll < 0.8:
            return rng.choice(["alias/", "alias/aws/kms", "arn:aws:kms:us-east-1:000000000000:key/",
                               "arn:aws:kms:us-east-1:123456789012:alias/none", "r-0000", "ou-abcd-12345678",
                               "p-FullAWSAccess", "123456789012", "arn:aws:organizations::1:account/o-x/1"])
        alphabet = "abcdefABCDEF0123456789-_/:.@=+,*"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 80)))

    def blob(self):
        rng = self.rng
        roll = rng.random()
        if roll < 0.3 and self.blobs:
            blob = bytearray(rng.choice(self.blobs))
            if blob and rng.random() < 0.5:
                blob[rng.randrange(len(blob))] ^= 1 << rng.randrange(8)
            return base64.b64encode(bytes(blob)).decode()
        if roll < 0.8:
            raw = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 16, 32, 100, 4096, 4097, 7000])))
            return base64.b64encode(raw).decode()
        return rng.choice(["not base64!", "====", "YQ", "YQ=", "\u00e9"])

    def wrong_type(self, shape):
        candidates = [{"x": 1}, [1, "two"], "text", 12, True, None, 1.5]
        kind = shape.type_name
        return self.rng.choice([c for c in candidates
                                if not (kind == "structure" and isinstance(c, dict))
                                and not (kind == "list" and isinstance(c, list))])


def json_target(model, operation):
    return {
        "Content-Type": f"application/x-amz-json-{model.metadata['jsonVersion']}",
        "X-Amz-Target": f"{model.metadata['targetPrefix']}.{operation}",
    }


def kms_fixtures(client):
    """Strings and blobs that exist on the server: keys of each kind, an alias, a
    ciphertext, a grant."""
    symmetric = client.create_key()["KeyMetadata"]
    signing = client.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    mac = client.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    external = client.create_key(Origin="EXTERNAL")["KeyMetadata"]
    client.create_alias(AliasName="alias/fuzz", TargetKeyId=symmetric["KeyId"])
    blob = client.encrypt(KeyId=symmetric["KeyId"], Plaintext=b"secret",
                          EncryptionContext={"a": "b"})["CiphertextBlob"]
    signature = client.sign(KeyId=signing["KeyId"], Message=b"m",
                            SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    grant = client.create_grant(KeyId=symmetric["KeyId"], Operations=["Encrypt", "Decrypt"],
                                GranteePrincipal=f"arn:aws:iam::{symmetric['AWSAccountId']}:root")
    keys = [symmetric, signing, mac, external]
    known = [k["KeyId"] for k in keys] + [k["Arn"] for k in keys]
    known += ["alias/fuzz", grant["GrantId"], grant["GrantToken"], "SYMMETRIC_DEFAULT", "a", "b"]
    return known, [blob, signature, b"m"]


def organizations_fixtures(client):
    """The organization's root, an OU, a policy and the management account."""
    organization = client.create_organization(FeatureSet="ALL")["Organization"]
    root = client.list_roots()["Roots"][0]
    client.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    ou = client.create_organizational_unit(ParentId=root["Id"], Name="fuzz")["OrganizationalUnit"]
    policy = client.create_policy(
        Name="fuzz", Description="d", Type="SERVICE_CONTROL_POLICY",
        Content=json.dumps({"Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    )["Policy"]["PolicySummary"]
    known = [organization["Id"], organization["Arn"], organization["MasterAccountId"], root["Id"],
             root["Arn"], ou["Id"], ou["Arn"], policy["Id"], policy["Arn"], "SERVICE_CONTROL_POLICY"]
    return known, []


def iam_fixtures(client):
    """A user with an access key, a group, a role, a managed policy, an instance profile."""
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    user = client.create_user(UserName="fuzz-user")["User"]
    key = client.create_access_key(UserName="fuzz-user")["AccessKey"]
    group = client.create_group(GroupName="fuzz-group")["Group"]
    role = client.create_role(RoleName="fuzz-role", AssumeRolePolicyDocument=trust)["Role"]
    policy = client.create_policy(PolicyName="fuzz-policy", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))["Policy"]
    profile = client.create_instance_profile(InstanceProfileName="fuzz-profile")["InstanceProfile"]
    known = ["fuzz-user", user["Arn"], key["AccessKeyId"], "fuzz-group", group["Arn"], "fuzz-role",
             role["Arn"], policy["Arn"], "v1", "fuzz-profile", profile["Arn"], trust,
             "arn:aws:iam::aws:policy/ReadOnlyAccess", user["Arn"].split(":")[4], "/", "/fuzz/"]
    return known, []


def sts_fixtures(client):
    """The role of iam_fixtures, to assume."""
    known, blobs = iam_fixtures(client)
    return known + ["fuzz-session", "123456"], blobs


JSON_FIXTURES = {"kms": kms_fixtures, "organizations": organizations_fixtures}
QUERY_FIXTURES = {"iam": iam_fixtures, "sts": sts_fixtures}


def json_request(model, operation, params):
    """The body and headers of a json 1.0/1.1 call: `params` as they are, wrong types
    included (even at the top)."""
    return json.dumps(params), json_target(model, operation)


QUERY_SERIALIZER = botocore.serialize.create_serializer("query", include_validation=False)


def query_request(model, operation, params):
    """The body and headers of a query-protocol call, as botocore serializes `params`
    (without its validation, so wrong types go out as they render); None when botocore
    cannot render them at all."""
    if not isinstance(params, dict):
        params = {}
    try:
        request = QUERY_SERIALIZER.serialize_to_request(params, model.operation_model(operation))
    except (TypeError, ValueError, AttributeError):
        return None
    return urllib.parse.urlencode(request["body"]), request["headers"]


def json_error_code(r):
    """The error code of a json answer (None for a success), which has a request id."""
    assert r.headers.get("x-amzn-RequestId"), r.headers
    return r.json()["__type"] if r.status_code >= 400 else None


def query_error_code(r):
    """The error code of a query-protocol answer (None for a success), which has a
    request id."""
    assert "<RequestId>" in r.text, r.text
    return r.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if r.status_code >= 400 else None


@pytest.mark.parametrize("service", sorted(JSON_FIXTURES) + sorted(QUERY_FIXTURES))
def test_model_shaped_random_input_never_fails_the_server(admin, service):
    server, key_id, secret = admin
    if service in JSON_FIXTURES:
        fixtures, request, error_code = JSON_FIXTURES[service], json_request, json_error_code
    else:
        fixtures, request, error_code = QUERY_FIXTURES[service], query_request, query_error_code
    known, blobs = fixtures(server.client(service if service != "sts" else "iam", key_id, secret))
    model = botocore.session.get_session().get_service_model(service)
    rng = random.Random(f"{service}-2026-12-03")
    inputs = RandomInput(rng, known, blobs)
    answered, not_implemented = 0, set()
    for operation in model.operation_names:
        shape = model.operation_model(operation).input_shape
        for _ in range(CALLS_PER_OPERATION):
            params = inputs.value(shape) if shape is not None else {}
            made = request(model, operation, params)
            if made is None:
                continue
            body, headers = made
            try:
                r = send_signed(server.endpoint, key_id, secret, model.signing_name, body, headers)
            except OSError as e:  # requests' ConnectionError and Timeout are OSErrors
                raise AssertionError(f"{operation}: no answer to {body[:2000]}") from e
            assert r.status_code < 500 or r.status_code == 501, \
                (operation, body[:2000], r.status_code, r.text)
            code = error_code(r)
            if r.status_code == 501:
                # An operation rampart does not serve says so, in the service's shape.
                assert code == "NotImplemented", (operation, r.text)
                not_implemented.add(operation)
            answered += 1
    # Most calls went out (botocore renders nearly anything without its validation).
    assert answered > 0.9 * len(model.operation_names) * CALLS_PER_OPERATION
    print(f"{service}: {answered} calls; not implemented: {sorted(not_implemented)}")
    # and the server still answers properly afterwards
    assert server.client("sts", key_id, secret).get_caller_identity()["Arn"].endswith(":user/admin")
