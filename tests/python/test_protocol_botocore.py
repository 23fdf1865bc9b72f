"""Differential tests of rampart's protocol layer against botocore, generated from the
service models for every operation, in both directions:

- request: botocore serializes a generated valid input; rampart routes and parses it;
  the canonical value must equal the input;
- response: rampart serializes a generated output; botocore parses it; the result must
  equal the output;
- errors: rampart's serialized errors parse in botocore to the right code and message;
- SigV4: requests signed by botocore verify in rampart (see test_sigv4_* below).

Run: python3 -m pytest tests/python/test_protocol_botocore.py
"""

import base64
import urllib.parse

import botocore.awsrequest
import botocore.compat
import botocore.parsers
import botocore.serialize
import botocore.session
import pytest

from protocol_harness import Harness, canonical, ec2_model, generate, numbers_equal

SERVICES = ["iam", "sts", "organizations", "kms", "cloudtrail", "guardduty"]
ENDPOINT = "https://rampart.example.com"


def _models():
    session = botocore.session.get_session()
    models = {name: session.get_service_model(name) for name in SERVICES}
    models["ec2"] = ec2_model()
    return models


MODELS = _models()
OPERATIONS = [(svc, op) for svc, m in MODELS.items() for op in m.operation_names]


@pytest.fixture(scope="module")
def harness():
    h = Harness()
    yield h
    h.close()


def botocore_request(model, op_model, params):
    """What botocore would put on the wire for `params`."""
    serializer = botocore.serialize.create_serializer(model.metadata["protocol"], include_validation=True)
    req = serializer.serialize_to_request(params, op_model)
    botocore.awsrequest.prepare_request_dict(req, endpoint_url=ENDPOINT)
    prepared = botocore.awsrequest.create_request_object(req).prepare()
    return prepared


def to_harness(service, prepared):
    url = urllib.parse.urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    headers = {k: v if isinstance(v, str) else v.decode() for k, v in prepared.headers.items()}
    # The HTTP client adds Host from the URL; botocore signs it that way.
    headers.setdefault("Host", url.netloc)
    return {
        "direction": "parse",
        "service": service,
        "method": prepared.method,
        "path": url.path or "/",
        "query": url.query,
        "headers": headers,
        "body_b64": base64.b64encode(body).decode(),
    }


@pytest.mark.parametrize("service,operation", OPERATIONS, ids=[f"{s}.{o}" for s, o in OPERATIONS])
def test_request_parses(harness, service, operation):
    model = MODELS[service]
    op_model = model.operation_model(operation)
    shape = op_model.input_shape
    params = generate(shape) if shape is not None else {}
    prepared = botocore_request(model, op_model, params)
    out = harness.call(to_harness(service, prepared))
    assert "error" not in out, out
    assert out["operation"] == operation
    expected = canonical(shape, params) if shape is not None else {}
    assert numbers_equal(out["value"], expected), (out["value"], expected)


def parse_response(model, op_model, resp):
    parser = botocore.parsers.create_parser(model.metadata["protocol"])
    headers = botocore.compat.HTTPHeaders()
    for k, v in resp["headers"].items():
        headers[k] = v
    body = base64.b64decode(resp["body_b64"])
    return parser.parse(
        {"status_code": resp["status"], "headers": headers, "body": body},
        op_model.output_shape,
    )


@pytest.mark.parametrize("service,operation", OPERATIONS, ids=[f"{s}.{o}" for s, o in OPERATIONS])
def test_response_parses_in_botocore(harness, service, operation):
    model = MODELS[service]
    op_model = model.operation_model(operation)
    shape = op_model.output_shape
    output = generate(shape) if shape is not None else {}
    expected = canonical(shape, output) if shape is not None else {}
    resp = harness.call(
        {"direction": "serialize", "service": service, "operation": operation, "output": expected}
    )
    assert resp["status"] < 300, resp
    parsed = parse_response(model, op_model, resp)
    meta = parsed.pop("ResponseMetadata", {})
    assert meta.get("RequestId") == "harness-request-id", meta
    got = canonical(shape, parsed) if shape is not None else parsed
    assert numbers_equal(got, expected), (got, expected)


def _error_cases():
    cases = []
    for svc, model in MODELS.items():
        shapes = model.error_shapes[:4]
        for s in shapes:
            cases.append((svc, s.name))
        cases.append((svc, None))
    return cases


ERRORS = _error_cases()


@pytest.mark.parametrize("service,error", ERRORS, ids=[f"{s}.{e or 'generic'}" for s, e in ERRORS])
def test_error_parses_in_botocore(harness, service, error):
    model = MODELS[service]
    op_model = model.operation_model(model.operation_names[0])
    message = "it went <wrong> & \"badly\""
    if error is None:
        cmd = {"direction": "error", "service": service, "code": "ThrottlingException",
               "message": message, "status": 400, "sender_fault": True}
        want_code = "ThrottlingException"
    else:
        cmd = {"direction": "error", "service": service, "code": error, "message": message,
               "modeled": True}
        shape = model.shape_for(error)
        want_code = shape.metadata.get("error", {}).get("code", error)
    resp = harness.call(cmd)
    assert resp["status"] >= 400
    parsed = parse_response(model, op_model, resp)
    assert parsed["Error"]["Code"] == want_code, parsed
    assert parsed["Error"]["Message"] == message, parsed
    assert parsed["ResponseMetadata"]["RequestId"] == "harness-request-id", parsed


# ---------------------------------------------------------------- SigV4

import time  # noqa: E402

import botocore.auth  # noqa: E402
import botocore.credentials  # noqa: E402

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
CREDS = botocore.credentials.Credentials("AKIDEXAMPLE", SECRET)
SIGNED_OPS = [(svc, MODELS[svc].operation_names[i]) for svc in SERVICES for i in (0, 1, 2)]


def signed_request(service, operation, creds=CREDS, presign=False):
    model = MODELS[service]
    op_model = model.operation_model(operation)
    params = generate(op_model.input_shape) if op_model.input_shape else {}
    serializer = botocore.serialize.create_serializer(model.metadata["protocol"], include_validation=True)
    req = serializer.serialize_to_request(params, op_model)
    botocore.awsrequest.prepare_request_dict(req, endpoint_url=ENDPOINT)
    aws = botocore.awsrequest.create_request_object(req)
    signing_name = model.metadata.get("signingName", model.metadata["endpointPrefix"])
    if presign:
        botocore.auth.SigV4QueryAuth(creds, signing_name, "us-east-1", expires=300).add_auth(aws)
    else:
        botocore.auth.SigV4Auth(creds, signing_name, "us-east-1").add_auth(aws)
    return aws.prepare()


def verify(harness, prepared, secret=SECRET, now=None, mutate=None):
    cmd = to_harness("iam", prepared)
    if mutate:
        mutate(cmd)
    cmd.update({"direction": "verify", "secret": secret, "now": int(now or time.time())})
    return harness.call(cmd)


@pytest.mark.parametrize("service,operation", SIGNED_OPS, ids=[f"{s}.{o}" for s, o in SIGNED_OPS])
def test_sigv4_botocore_signatures_verify(harness, service, operation):
    prepared = signed_request(service, operation)
    assert verify(harness, prepared) == {"verified": True, "access_key_id": "AKIDEXAMPLE", "security_token": None}
    # Wrong secret, one changed body byte, one changed signature character.
    assert "SignatureDoesNotMatch" in verify(harness, prepared, secret=SECRET + "x")["auth_error"]

    def flip_body(cmd):
        body = bytearray(base64.b64decode(cmd["body_b64"]) or b" ")
        body[-1] ^= 1
        cmd["body_b64"] = base64.b64encode(bytes(body)).decode()

    assert "SignatureDoesNotMatch" in verify(harness, prepared, mutate=flip_body)["auth_error"]

    def flip_sig(cmd):
        auth = cmd["headers"]["Authorization"]
        last = "0" if auth[-1] != "0" else "1"
        cmd["headers"]["Authorization"] = auth[:-1] + last

    assert "SignatureDoesNotMatch" in verify(harness, prepared, mutate=flip_sig)["auth_error"]
    # 16 minutes later the signature has expired.
    assert "SignatureExpired" in verify(harness, prepared, now=time.time() + 16 * 60)["auth_error"]


def test_sigv4_session_token_and_presigned(harness):
    creds = botocore.credentials.Credentials("ASIAEXAMPLE", SECRET, "session-token/+=")
    out = verify(harness, signed_request("sts", "GetCallerIdentity", creds=creds))
    assert out == {"verified": True, "access_key_id": "ASIAEXAMPLE", "security_token": "session-token/+="}
    pre = signed_request("sts", "GetCallerIdentity", creds=creds, presign=True)
    assert "X-Amz-Signature=" in pre.url
    out = verify(harness, pre)
    assert out["verified"] is True, out
    assert out["security_token"] == "session-token/+="
    assert "RequestExpired" in verify(harness, pre, now=time.time() + 301)["auth_error"]


# ---------------------------------------------------------------- X-Amz-Target prefixes

from signing import send_signed  # noqa: E402

# Per json service: an operation that succeeds for the root of a new --dev server.
JSON_TARGETS = {
    "cloudtrail": ("LookupEvents", "{}"),
    "kms": ("ListKeys", "{}"),
    "organizations": ("CreateOrganization", '{"FeatureSet": "ALL"}'),
}


@pytest.mark.parametrize("service", sorted(JSON_TARGETS))
@pytest.mark.parametrize("form", ["model", "smithy"])
def test_json_services_accept_both_target_prefixes(workspace, service, form):
    """botocore sends the model's targetPrefix; the Smithy SDKs (the AWS SDK for
    JavaScript v3, say) send the service shape's name, its last segment
    (`CloudTrail_20131101` for `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`)."""
    assert set(JSON_TARGETS) == {s for s in SERVICES if MODELS[s].metadata["protocol"] == "json"}
    server = workspace.serve("--dev")
    prefix = MODELS[service].metadata["targetPrefix"]
    if form == "smithy":
        prefix = prefix.rsplit(".", 1)[-1]
    operation, body = JSON_TARGETS[service]
    version = MODELS[service].metadata["jsonVersion"]
    signing = MODELS[service].metadata.get("signingName", MODELS[service].metadata["endpointPrefix"])
    response = send_signed(server.endpoint, "AKIADEVANYKEY0000000", "any-secret", signing, body,
                           {"X-Amz-Target": f"{prefix}.{operation}",
                            "Content-Type": f"application/x-amz-json-{version}"})
    assert "UnknownOperation" not in response.text, response.text
    assert response.status_code == 200, response.text


def test_unknown_json_operation_has_a_message(workspace):
    server = workspace.serve("--dev")
    response = send_signed(server.endpoint, "AKIADEVANYKEY0000000", "any-secret", "cloudtrail", "{}",
                           {"X-Amz-Target": "CloudTrail_20131101.LookUpEverything",
                            "Content-Type": "application/x-amz-json-1.1"})
    assert response.status_code == 400
    error = response.json()
    assert error["__type"].endswith("UnknownOperationException"), error
    assert "LookUpEverything" in error["message"], error
