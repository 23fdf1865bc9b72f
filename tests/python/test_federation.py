"""Identity federation through the real API: IAM OpenID Connect and SAML providers,
the JWKS registration endpoint, and STS AssumeRoleWithWebIdentity with tokens minted
here (RSA keys from `cryptography`, JWTs from PyJWT), every rejection changing nothing."""

import datetime
import json
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions
import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

ISSUER = "https://idp.example.com/realms/dev"
HOST_PATH = "idp.example.com/realms/dev"
CLIENT_ID = "rampart-app"


def error_of(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["Error"]["Message"]


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_of(private_key, kid, alg="RS256"):
    public = private_key.public_key()
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    else:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


def mint(private_key, kid="k1", alg="RS256", **overrides):
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "user-alice", "aud": CLIENT_ID,
              "iat": now, "exp": now + 600}
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, private_key, algorithm=alg, headers={"kid": kid})


def signed_keys_request(server, key_id, secret, method, arn, body=b""):
    """A SigV4-signed call to rampart's /_rampart/oidc-jwks endpoint, as any SDK can
    make one (botocore's signer here; `curl --aws-sigv4` works too)."""
    url = f"{server.endpoint}/_rampart/oidc-jwks?arn={urllib.parse.quote(arn, safe='')}"
    request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body,
                                             headers={"Content-Type": "application/json"})
    credentials = botocore.credentials.Credentials(key_id, secret)
    botocore.auth.SigV4Auth(credentials, "iam", "us-east-1").add_auth(request)
    return requests.request(method, url, data=body, headers=dict(request.headers), timeout=10)


def register(server, key_id, secret, arn, keys):
    body = json.dumps({"keys": keys}).encode()
    return signed_keys_request(server, key_id, secret, "PUT", arn, body)


TRUST = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": None},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {f"{HOST_PATH}:aud": CLIENT_ID},
            "StringLike": {f"{HOST_PATH}:sub": "user-*"},
        },
    }],
}


@pytest.fixture
def federation(admin):
    """An OIDC provider with a registered RSA key and a role that trusts it for
    subjects `user-*`, allowed iam:ListRoles only."""
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    provider_arn = iam.create_open_id_connect_provider(
        Url=ISSUER, ClientIDList=[CLIENT_ID])["OpenIDConnectProviderArn"]
    key = rsa_key()
    response = register(server, key_id, secret, provider_arn, [jwk_of(key, "k1")])
    assert response.status_code == 200, response.text
    assert response.json()["KeyIds"] == ["k1"]
    trust = json.loads(json.dumps(TRUST))
    trust["Statement"][0]["Principal"]["Federated"] = provider_arn
    role = iam.create_role(RoleName="web-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName="web-role", PolicyName="list-roles", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}))
    sts = server.client("sts", "unused", "unused")
    return {"server": server, "iam": iam, "sts": sts, "key": key, "provider_arn": provider_arn,
            "role_arn": role["Arn"], "admin": (key_id, secret)}


def assume(f, token, **extra):
    return f["sts"].assume_role_with_web_identity(
        RoleArn=f["role_arn"], RoleSessionName="alice-session", WebIdentityToken=token, **extra)


# ---------------------------------------------------------------- OIDC providers

def test_oidc_provider_lifecycle(admin):
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    account = iam.get_user()["User"]["Arn"].split(":")[4]
    created = iam.create_open_id_connect_provider(
        Url="https://token.example.com/", ClientIDList=["a", "b"],
        ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
        Tags=[{"Key": "team", "Value": "ci"}])
    arn = created["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{account}:oidc-provider/token.example.com"
    assert created["Tags"] == [{"Key": "team", "Value": "ci"}]

    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_open_id_connect_provider(Url="https://token.example.com")
    assert error_of(e)[0] == "EntityAlreadyExists"

    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == "token.example.com"
    assert got["ClientIDList"] == ["a", "b"]
    assert got["ThumbprintList"] == ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
    assert isinstance(got["CreateDate"], datetime.datetime)
    assert [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]] == [arn]

    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="c")
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="c")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="a")
    iam.update_open_id_connect_provider_thumbprint(
        OpenIDConnectProviderArn=arn, ThumbprintList=["a" * 40, "b" * 40])
    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["team"])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["b", "c"]
    assert got["ThumbprintList"] == ["a" * 40, "b" * 40]
    assert iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}]

    # A thumbprint that is not hex is refused and changes nothing.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.update_open_id_connect_provider_thumbprint(
            OpenIDConnectProviderArn=arn, ThumbprintList=["z" * 40])
    assert error_of(e)[0] == "InvalidInput"
    assert iam.get_open_id_connect_provider(
        OpenIDConnectProviderArn=arn)["ThumbprintList"] == ["a" * 40, "b" * 40]

    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_open_id_connect_provider(Url="http://insecure.example.com")
    assert error_of(e)[0] == "InvalidInput"
    assert len(iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]) == 1

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error_of(e) == ("NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}")
    # Deleting again is idempotent, as in AWS.
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []


def test_registering_keys_needs_a_signature_and_permission(admin):
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    arn = iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=[CLIENT_ID])[
        "OpenIDConnectProviderArn"]
    keys = [jwk_of(rsa_key(), "k1")]
    url = f"{server.endpoint}/_rampart/oidc-jwks?arn={urllib.parse.quote(arn, safe='')}"

    unsigned = requests.put(url, data=json.dumps({"keys": keys}), timeout=10)
    assert unsigned.status_code == 403
    assert unsigned.json()["Error"]["Code"] == "MissingAuthenticationToken"

    iam.create_user(UserName="carol")
    carol = iam.create_access_key(UserName="carol")["AccessKey"]
    denied = register(server, carol["AccessKeyId"], carol["SecretAccessKey"], arn, keys)
    assert denied.status_code == 403
    assert denied.json()["Error"]["Code"] == "AccessDenied"
    assert "iam:UpdateOpenIDConnectProviderThumbprint" in denied.json()["Error"]["Message"]

    wrong_secret = register(server, key_id, "not-the-secret", arn, keys)
    assert wrong_secret.status_code == 403
    assert wrong_secret.json()["Error"]["Code"] == "SignatureDoesNotMatch"

    symmetric = register(server, key_id, secret, arn, [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}])
    assert symmetric.status_code == 400
    assert symmetric.json()["Error"]["Code"] == "InvalidInput"

    missing = register(server, key_id, secret, arn.replace("idp.example.com", "other.example.com"), keys)
    assert missing.status_code == 404
    assert missing.json()["Error"]["Code"] == "NoSuchEntity"

    # None of the refused calls registered anything.
    read = signed_keys_request(server, key_id, secret, "GET", arn)
    assert read.status_code == 200
    assert read.json() == {"keys": []}

    # Once allowed, carol can register keys; GET returns them.
    iam.put_user_policy(UserName="carol", PolicyName="keys", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "iam:UpdateOpenIDConnectProviderThumbprint",
            "Resource": arn}]}))
    allowed = register(server, carol["AccessKeyId"], carol["SecretAccessKey"], arn, keys)
    assert allowed.status_code == 200, allowed.text
    read = signed_keys_request(server, key_id, secret, "GET", arn)
    assert [k["kid"] for k in read.json()["keys"]] == ["k1"]


# ---------------------------------------------------------------- AssumeRoleWithWebIdentity

def test_web_identity_token_assumes_the_role_with_its_permissions(federation):
    f = federation
    out = assume(f, mint(f["key"]), DurationSeconds=900)
    account = f["role_arn"].split(":")[4]
    assert out["SubjectFromWebIdentityToken"] == "user-alice"
    assert out["Audience"] == CLIENT_ID
    assert out["Provider"] == ISSUER
    assert out["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{account}:assumed-role/web-role/alice-session")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    lifetime = creds["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=13) < lifetime <= datetime.timedelta(minutes=15)

    server = f["server"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    who = server.client("sts", *session).get_caller_identity()
    assert who["Arn"] == out["AssumedRoleUser"]["Arn"]
    iam_as_role = server.client("iam", *session)
    names = [r["RoleName"] for r in iam_as_role.list_roles()["Roles"]]
    assert "web-role" in names
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam_as_role.create_user(UserName="mallory")
    code, message = error_of(e)
    assert code == "AccessDenied"
    assert message.startswith(f"User: {out['AssumedRoleUser']['Arn']} is not authorized")
    with pytest.raises(botocore.exceptions.ClientError):
        f["iam"].get_user(UserName="mallory")
    assert "RoleLastUsed" in f["iam"].get_role(RoleName="web-role")["Role"]
    assert f["iam"].get_role(RoleName="web-role")["Role"]["RoleLastUsed"].get("LastUsedDate")


def test_session_policy_narrows_a_web_identity_session(federation):
    f = federation
    deny_all = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]})
    out = assume(f, mint(f["key"]), Policy=deny_all)
    assert "PackedPolicySize" in out
    creds = out["Credentials"]
    iam_as_role = f["server"].client("iam", creds["AccessKeyId"], creds["SecretAccessKey"],
                                     creds["SessionToken"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam_as_role.list_roles()
    assert error_of(e)[0] == "AccessDenied"


def test_es256_tokens_verify_too(federation):
    f = federation
    ec_key = ec.generate_private_key(ec.SECP256R1())
    admin_key, admin_secret = f["admin"]
    keys = [jwk_of(f["key"], "k1"), jwk_of(ec_key, "ec1", alg="ES256")]
    assert register(f["server"], admin_key, admin_secret, f["provider_arn"], keys).status_code == 200
    out = assume(f, mint(ec_key, kid="ec1", alg="ES256"))
    assert out["SubjectFromWebIdentityToken"] == "user-alice"


@pytest.mark.parametrize("case", [
    "wrong issuer", "wrong audience", "expired", "not yet valid", "bad signature",
    "unknown kid", "sub not trusted", "unknown role", "not a jwt", "hmac token",
])
def test_rejected_tokens_change_nothing(federation, case):
    f = federation
    key = f["key"]
    extra = {}
    if case == "wrong issuer":
        token = mint(key, iss="https://evil.example.com")
        expect = ("InvalidIdentityToken",
                  "No OpenIDConnect provider found in your account for https://evil.example.com")
    elif case == "wrong audience":
        token = mint(key, aud="someone-else")
        expect = ("InvalidIdentityToken", "Incorrect token audience")
    elif case == "expired":
        token = mint(key, exp=int(time.time()) - 120)
        expect = ("ExpiredTokenException", None)
    elif case == "not yet valid":
        token = mint(key, nbf=int(time.time()) + 3600)
        expect = ("InvalidIdentityToken", None)
    elif case == "bad signature":
        token = mint(rsa_key())  # same kid, another key
        expect = ("InvalidIdentityToken", None)
    elif case == "unknown kid":
        token = mint(key, kid="k2")
        expect = ("InvalidIdentityToken", None)
    elif case == "sub not trusted":
        token = mint(key, sub="robot-1")
        expect = ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
    elif case == "unknown role":
        token = mint(key)
        extra["RoleArn"] = f["role_arn"].replace("web-role", "no-such-role")
        expect = ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
    elif case == "not a jwt":
        token = "definitely.not.ajwt-at-all"
        expect = ("InvalidIdentityToken", None)
    else:
        token = jwt.encode({"iss": ISSUER, "sub": "user-alice", "aud": CLIENT_ID,
                            "exp": int(time.time()) + 600}, "secret", algorithm="HS256",
                           headers={"kid": "k1"})
        expect = ("InvalidIdentityToken", None)

    with pytest.raises(botocore.exceptions.ClientError) as e:
        f["sts"].assume_role_with_web_identity(
            RoleArn=extra.get("RoleArn", f["role_arn"]), RoleSessionName="alice-session",
            WebIdentityToken=token)
    code, message = error_of(e)
    assert code == expect[0], message
    if expect[1] is not None:
        assert message == expect[1]
    # Nothing changed: the role was never used.
    assert "LastUsedDate" not in f["iam"].get_role(RoleName="web-role")["Role"].get("RoleLastUsed", {})


def test_trust_conditions_on_amr_and_deny_statements(federation):
    f = federation
    trust = json.loads(json.dumps(TRUST))
    trust["Statement"][0]["Principal"]["Federated"] = f["provider_arn"]
    trust["Statement"][0]["Condition"]["ForAnyValue:StringEquals"] = {f"{HOST_PATH}:amr": "mfa"}
    trust["Statement"].append({
        "Effect": "Deny", "Principal": {"Federated": f["provider_arn"]},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{HOST_PATH}:sub": "user-banned"}}})
    f["iam"].update_assume_role_policy(RoleName="web-role", PolicyDocument=json.dumps(trust))

    with pytest.raises(botocore.exceptions.ClientError) as e:
        assume(f, mint(f["key"], amr=["pwd"]))
    assert error_of(e)[0] == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        assume(f, mint(f["key"], sub="user-banned", amr=["pwd", "mfa"]))
    assert error_of(e)[0] == "AccessDenied"
    out = assume(f, mint(f["key"], amr=["pwd", "mfa"]))
    assert out["SubjectFromWebIdentityToken"] == "user-alice"


def test_a_provider_of_another_account_is_not_trusted(federation):
    """A token is checked against the role's account's providers only: deleting the
    provider makes its tokens useless."""
    f = federation
    f["iam"].delete_open_id_connect_provider(OpenIDConnectProviderArn=f["provider_arn"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        assume(f, mint(f["key"]))
    assert error_of(e)[0] == "InvalidIdentityToken"


def test_duration_beyond_the_roles_maximum_is_refused(federation):
    f = federation
    with pytest.raises(botocore.exceptions.ClientError) as e:
        assume(f, mint(f["key"]), DurationSeconds=7200)
    assert error_of(e)[0] == "ValidationError"
    assert "LastUsedDate" not in f["iam"].get_role(RoleName="web-role")["Role"].get("RoleLastUsed", {})


# ---------------------------------------------------------------- SAML providers

def self_signed_certificate():
    key = rsa_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    return key, cert


def metadata_for(cert, entity_id="https://idp.example.com/saml", valid_until=None):
    der = cert.public_bytes(serialization.Encoding.DER)
    import base64
    b64 = base64.b64encode(der).decode()
    until = f' validUntil="{valid_until}"' if valid_until else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity_id}"{until}>
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
        <ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data>
      </ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"""


def test_saml_provider_lifecycle(admin):
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    account = iam.get_user()["User"]["Arn"].split(":")[4]
    _, cert = self_signed_certificate()
    metadata = metadata_for(cert, valid_until="2030-01-01T00:00:00Z")
    created = iam.create_saml_provider(SAMLMetadataDocument=metadata, Name="corp-idp",
                                       Tags=[{"Key": "team", "Value": "sec"}])
    arn = created["SAMLProviderArn"]
    assert arn == f"arn:aws:iam::{account}:saml-provider/corp-idp"

    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_saml_provider(SAMLMetadataDocument=metadata, Name="corp-idp")
    assert error_of(e)[0] == "EntityAlreadyExists"

    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == metadata
    assert got["ValidUntil"] == datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
    assert got["Tags"] == [{"Key": "team", "Value": "sec"}]
    assert got["SAMLProviderUUID"]
    listed = iam.list_saml_providers()["SAMLProviderList"]
    assert [p["Arn"] for p in listed] == [arn]

    _, cert2 = self_signed_certificate()
    updated = iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=metadata_for(cert2))
    assert updated["SAMLProviderArn"] == arn
    assert iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"] == metadata_for(cert2)

    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["team"])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]

    iam.delete_saml_provider(SAMLProviderArn=arn)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.get_saml_provider(SAMLProviderArn=arn)
    assert error_of(e)[0] == "NoSuchEntity"


@pytest.mark.parametrize("case", ["not xml", "no idp descriptor", "certificate not x509", "dtd"])
def test_bad_saml_metadata_is_refused_and_changes_nothing(admin, case):
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    _, cert = self_signed_certificate()
    good = metadata_for(cert)
    document = {
        "not xml": "<" + "x" * 1200,
        "no idp descriptor": good.replace("IDPSSODescriptor", "SPSSODescriptor"),
        "certificate not x509": good.replace("<ds:X509Certificate>", "<ds:X509Certificate>AAAA"),
        "dtd": '<!DOCTYPE md [<!ENTITY x "y">]>' + good.split("?>", 1)[1],
    }[case]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_saml_provider(SAMLMetadataDocument=document, Name="corp-idp")
    assert error_of(e) == ("InvalidInput", "Could not parse metadata")
    assert iam.list_saml_providers()["SAMLProviderList"] == []


# ---------------------------------------------------------------- AssumeRoleWithSAML

SAML_SIGNIN = "https://signin.aws.amazon.com/saml"
IDP_ENTITY = "https://idp.example.com/saml"


def saml_response(key, cert, role_arn, provider_arn, *, session_name="alice",
                  name_id="alice@example.com", audience=SAML_SIGNIN, not_on_or_after=None,
                  issuer=IDP_ENTITY, tamper=None, sign="assertion"):
    """A SAML 2.0 Response whose assertion (or the response itself) is signed with
    signxml: enveloped, RSA-SHA256, exclusive c14n, as IdPs sign them."""
    import base64
    import uuid

    from lxml import etree
    from signxml import XMLSigner, methods

    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    until = (not_on_or_after or now + datetime.timedelta(minutes=5)).strftime(fmt)
    assertion_id = "_" + uuid.uuid4().hex
    assertion = etree.fromstring(f"""<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{assertion_id}" Version="2.0" IssueInstant="{now.strftime(fmt)}">
  <saml:Issuer>{issuer}</saml:Issuer>
  <saml:Subject>
    <saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{name_id}</saml:NameID>
    <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
      <saml:SubjectConfirmationData NotOnOrAfter="{until}" Recipient="{SAML_SIGNIN}"/>
    </saml:SubjectConfirmation>
  </saml:Subject>
  <saml:Conditions NotBefore="{(now - datetime.timedelta(minutes=1)).strftime(fmt)}" NotOnOrAfter="{until}">
    <saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>
  </saml:Conditions>
  <saml:AuthnStatement AuthnInstant="{now.strftime(fmt)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>
  <saml:AttributeStatement>
    <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/Role">
      <saml:AttributeValue xsi:type="xs:string">{role_arn},{provider_arn}</saml:AttributeValue>
    </saml:Attribute>
    <saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">
      <saml:AttributeValue xsi:type="xs:string">{session_name}</saml:AttributeValue>
    </saml:Attribute>
  </saml:AttributeStatement>
</saml:Assertion>""")
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    pem_cert = cert.public_bytes(serialization.Encoding.PEM)
    signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256",
                       digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    if sign == "assertion":
        assertion = signer.sign(assertion, key=pem_key, cert=pem_cert, reference_uri=assertion_id)
    response_id = "_" + uuid.uuid4().hex
    response = etree.fromstring(f"""<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{response_id}" Version="2.0" IssueInstant="{now.strftime(fmt)}" Destination="{SAML_SIGNIN}">
  <saml:Issuer>{issuer}</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
</samlp:Response>""")
    response.append(assertion)
    if sign == "response":
        response = signer.sign(response, key=pem_key, cert=pem_cert, reference_uri=response_id)
    xml = etree.tostring(response).decode()
    if tamper:
        xml = tamper(xml)
    return base64.b64encode(xml.encode()).decode()


@pytest.fixture
def saml(admin):
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    key, cert = self_signed_certificate()
    provider_arn = iam.create_saml_provider(
        SAMLMetadataDocument=metadata_for(cert, entity_id=IDP_ENTITY), Name="corp-idp")["SAMLProviderArn"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"saml:aud": SAML_SIGNIN, "saml:iss": IDP_ENTITY},
                      "StringLike": {"saml:sub": "alice*"}}}]}
    role_arn = iam.create_role(RoleName="saml-role",
                               AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="saml-role", PolicyName="list-roles", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}))
    return {"server": server, "iam": iam, "sts": server.client("sts", "unused", "unused"),
            "key": key, "cert": cert, "provider_arn": provider_arn, "role_arn": role_arn}


def assume_saml(s, assertion, **extra):
    return s["sts"].assume_role_with_saml(RoleArn=s["role_arn"], PrincipalArn=s["provider_arn"],
                                          SAMLAssertion=assertion, **extra)


@pytest.mark.parametrize("signed", ["assertion", "response"])
def test_saml_assertion_assumes_the_role(saml, signed):
    s = saml
    out = assume_saml(s, saml_response(s["key"], s["cert"], s["role_arn"], s["provider_arn"],
                                       sign=signed), DurationSeconds=900)
    account = s["role_arn"].split(":")[4]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account}:assumed-role/saml-role/alice"
    assert out["Subject"] == "alice@example.com"
    assert out["SubjectType"] == "persistent"
    assert out["Issuer"] == IDP_ENTITY
    assert out["Audience"] == SAML_SIGNIN
    assert out["NameQualifier"]
    creds = out["Credentials"]
    session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert s["server"].client("sts", *session).get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    iam_as_role = s["server"].client("iam", *session)
    assert "saml-role" in [r["RoleName"] for r in iam_as_role.list_roles()["Roles"]]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam_as_role.create_user(UserName="mallory")
    assert error_of(e)[0] == "AccessDenied"


@pytest.mark.parametrize("case", [
    "tampered", "other key", "expired", "wrong audience", "role not in assertion",
    "sub not trusted", "wrong issuer", "unsigned", "second assertion", "unknown provider",
    "not base64",
])
def test_rejected_saml_assertions_change_nothing(saml, case):
    s = saml
    key, cert, role, provider = s["key"], s["cert"], s["role_arn"], s["provider_arn"]
    principal = provider
    kwargs = {}
    if case == "tampered":
        kwargs["tamper"] = lambda x: x.replace(">alice<", ">alice-admin<")
        expect = ("InvalidIdentityToken", "digest")
    elif case == "other key":
        key, cert = self_signed_certificate()
        expect = ("InvalidIdentityToken", "does not verify")
    elif case == "expired":
        kwargs["not_on_or_after"] = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=1)
        expect = ("ExpiredTokenException", "NotOnOrAfter")
    elif case == "wrong audience":
        kwargs["audience"] = "https://someone-else.example.com"
        expect = ("InvalidIdentityToken", "audience")
    elif case == "role not in assertion":
        role = role.replace("saml-role", "other-role")
        expect = ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
    elif case == "sub not trusted":
        kwargs["name_id"] = "bob@example.com"
        expect = ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML")
    elif case == "wrong issuer":
        kwargs["issuer"] = "https://evil.example.com/saml"
        expect = ("InvalidIdentityToken", "issuer")
    elif case == "unsigned":
        kwargs["sign"] = None
        expect = ("InvalidIdentityToken", "not signed")
    elif case == "second assertion":
        # Signature wrapping: an unsigned assertion beside the signed one.
        def wrap(xml):
            start = xml.index("<saml:Assertion")
            end = xml.index("</saml:Assertion>") + len("</saml:Assertion>")
            evil = xml[start:end].replace('ID="_', 'ID="_evil')
            return xml[:start] + evil + xml[start:]
        kwargs["tamper"] = wrap
        expect = ("InvalidIdentityToken", "exactly one assertion")
    elif case == "unknown provider":
        principal = provider.replace("corp-idp", "nobody")
        expect = ("InvalidIdentityToken", "Specified provider doesn't exist")
    else:
        expect = ("InvalidIdentityToken", "base64")
    assertion = saml_response(key, cert, role, provider, **kwargs)
    if case == "not base64":
        assertion = "@@not base64@@" * 300
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s["sts"].assume_role_with_saml(RoleArn=s["role_arn"], PrincipalArn=principal,
                                       SAMLAssertion=assertion)
    code, message = error_of(e)
    assert code == expect[0], message
    assert expect[1] in message
    assert "LastUsedDate" not in s["iam"].get_role(RoleName="saml-role")["Role"].get("RoleLastUsed", {})


def test_concurrent_key_registrations_all_land_and_are_all_recorded(admin):
    """Registrations of one provider's keys race for its record: each one that loses
    runs again, as API calls do, so every one is answered 200 and recorded, none lost."""
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    cloudtrail = server.client("cloudtrail", key_id, secret)
    arn = iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=[CLIENT_ID])[
        "OpenIDConnectProviderArn"]
    kids = [f"k{n}" for n in range(8)]
    key = rsa_key()
    with ThreadPoolExecutor(len(kids)) as pool:
        answers = list(pool.map(
            lambda kid: register(server, key_id, secret, arn, [jwk_of(key, kid)]), kids))
    assert [a.status_code for a in answers] == [200] * len(kids), [a.text for a in answers]
    # The last to land is what GET returns.
    read = signed_keys_request(server, key_id, secret, "GET", arn)
    assert [k["kid"] for k in read.json()["keys"]][0] in kids

    def recorded():
        pages = cloudtrail.get_paginator("lookup_events").paginate(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "PutOpenIDConnectProviderKeys"}])
        return [json.loads(e["CloudTrailEvent"]) for p in pages for e in p["Events"]]
    deadline = time.time() + 10
    while len(recorded()) < len(kids) and time.time() < deadline:
        time.sleep(0.1)
    events = recorded()
    assert len(events) == len(kids)
    assert all("errorCode" not in e for e in events), events
