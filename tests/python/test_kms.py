"""KMS end to end with boto3: keys, aliases, envelope encryption, key policies, grants,
rotation, signing, MACs and imported key material against a real `rampart serve`."""

import base64
import hashlib
import json
import time

import botocore.exceptions
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from conftest import race, wait_for  # noqa: F401


def code(e):
    return e.value.response["Error"]["Code"]


@pytest.fixture
def kms(admin):
    server, key_id, secret = admin
    return server.client("kms", key_id, secret)


@pytest.fixture
def env(admin):
    """(server, admin kms, admin iam, account id)."""
    server, key_id, secret = admin
    iam = server.client("iam", key_id, secret)
    account = server.client("sts", key_id, secret).get_caller_identity()["Account"]
    return server, server.client("kms", key_id, secret), iam, account


def user(env, name, policy=None):
    """A new IAM user with an optional inline policy, and its kms client."""
    server, _, iam, _ = env
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("kms", key["AccessKeyId"], key["SecretAccessKey"])


def test_create_describe_list_and_the_default_key_policy(kms):
    meta = kms.create_key(Description="first", Tags=[{"TagKey": "team", "TagValue": "a"}])["KeyMetadata"]
    key_id = meta["KeyId"]
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["Arn"] == f"arn:aws:kms:us-east-1:{meta['AWSAccountId']}:key/{key_id}"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    described = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert described["Description"] == "first"
    assert kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]["KeyId"] == key_id
    assert {"KeyId": key_id, "KeyArn": meta["Arn"]} in kms.list_keys()["Keys"]
    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    statement = policy["Statement"][0]
    assert statement["Sid"] == "Enable IAM User Permissions"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{meta['AWSAccountId']}:root"}
    assert kms.list_key_policies(KeyId=key_id)["PolicyNames"] == ["default"]
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "team", "TagValue": "a"}]


def test_unknown_keys_and_bad_specs(kms):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.describe_key(KeyId="11111111-2222-3333-4444-555555555555")
    assert code(e) == "NotFoundException"
    assert "does not exist" in e.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.describe_key(KeyId="alias/nope")
    assert code(e) == "NotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_key(KeySpec="HMAC_256", KeyUsage="ENCRYPT_DECRYPT")
    assert code(e) == "ValidationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_key(Policy="{not json")
    assert code(e) == "MalformedPolicyDocumentException"
    assert kms.list_keys()["Keys"] == []


def test_encrypt_decrypt_round_trip_with_context(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    context = {"purpose": "test", "tenant": "42"}
    out = kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn", EncryptionContext=context)
    blob = out["CiphertextBlob"]
    assert b"attack at dawn" not in blob
    assert out["KeyId"].endswith(key_id)
    # The ciphertext names its key: KeyId is optional.
    plain = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
    assert plain["Plaintext"] == b"attack at dawn"
    assert plain["KeyId"] == out["KeyId"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=context, KeyId=key_id)["Plaintext"] == b"attack at dawn"
    # Two encryptions of one plaintext differ (random nonce).
    assert kms.encrypt(KeyId=key_id, Plaintext=b"attack at dawn", EncryptionContext=context)["CiphertextBlob"] != blob


def test_tampering_wrong_context_and_wrong_key_fail(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    context = {"a": "1"}
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret", EncryptionContext=context)["CiphertextBlob"]
    for i in range(len(blob)):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kms.decrypt(CiphertextBlob=bytes(tampered), EncryptionContext=context)
        assert code(e) in ("InvalidCiphertextException", "IncorrectKeyException"), i
    for wrong in ({}, {"a": "2"}, {"a": "1", "b": "2"}, {"A": "1"}):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=wrong)
        assert code(e) == "InvalidCiphertextException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=context, KeyId=other)
    assert code(e) == "IncorrectKeyException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.decrypt(CiphertextBlob=b"\x00" * 60)
    assert code(e) == "InvalidCiphertextException"


def test_plaintext_over_4096_bytes_is_rejected(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.encrypt(KeyId=key_id, Plaintext=b"x" * 4096)["CiphertextBlob"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key_id, Plaintext=b"x" * 4097)
    assert code(e) == "ValidationException"


def test_disabled_key_and_pending_deletion(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"p")["CiphertextBlob"]
    kms.disable_key(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    for call in (lambda: kms.encrypt(KeyId=key_id, Plaintext=b"p"),
                 lambda: kms.decrypt(CiphertextBlob=blob)):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert code(e) == "DisabledException"
        assert e.value.response["Error"]["Message"].endswith("is disabled.")
    kms.enable_key(KeyId=key_id)
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"p"

    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=6)
    assert code(e) == "ValidationException"
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    assert out["DeletionDate"].timestamp() > time.time() + 6 * 86400
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.decrypt(CiphertextBlob=blob)
    assert code(e) == "KMSInvalidStateException"
    assert "pending deletion" in e.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.enable_key(KeyId=key_id)
    assert code(e) == "KMSInvalidStateException"
    kms.cancel_key_deletion(KeyId=key_id)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and "DeletionDate" not in meta


def test_aliases_work_wherever_a_key_id_does(kms):
    a = kms.create_key()["KeyMetadata"]
    b = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/app", TargetKeyId=a["KeyId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_alias(AliasName="alias/app", TargetKeyId=b["KeyId"])
    assert code(e) == "AlreadyExistsException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_alias(AliasName="app2", TargetKeyId=b["KeyId"])
    assert code(e) == "InvalidAliasNameException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_alias(AliasName="alias/aws/x", TargetKeyId=b["KeyId"])
    assert code(e) == "InvalidAliasNameException"
    blob = kms.encrypt(KeyId="alias/app", Plaintext=b"via alias")["CiphertextBlob"]
    alias_arn = a["Arn"].replace(f"key/{a['KeyId']}", "alias/app")
    assert kms.describe_key(KeyId=alias_arn)["KeyMetadata"]["KeyId"] == a["KeyId"]
    assert kms.decrypt(CiphertextBlob=blob, KeyId="alias/app")["Plaintext"] == b"via alias"
    aliases = kms.list_aliases()["Aliases"]
    assert [x["AliasName"] for x in aliases] == ["alias/app"]
    assert aliases[0]["TargetKeyId"] == a["KeyId"] and aliases[0]["AliasArn"] == alias_arn
    kms.update_alias(AliasName="alias/app", TargetKeyId=b["KeyId"])
    assert kms.describe_key(KeyId="alias/app")["KeyMetadata"]["KeyId"] == b["KeyId"]
    assert kms.list_aliases(KeyId=a["KeyId"])["Aliases"] == []
    kms.delete_alias(AliasName="alias/app")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId="alias/app", Plaintext=b"x")
    assert code(e) == "NotFoundException"


def test_data_keys_and_random(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    dk = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext={"k": "v"})
    assert len(dk["Plaintext"]) == 32
    assert kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"k": "v"})["Plaintext"] == dk["Plaintext"]
    assert len(kms.generate_data_key(KeyId=key_id, KeySpec="AES_128")["Plaintext"]) == 16
    assert len(kms.generate_data_key(KeyId=key_id, NumberOfBytes=64)["Plaintext"]) == 64
    without = kms.generate_data_key_without_plaintext(KeyId=key_id, KeySpec="AES_256")
    assert "Plaintext" not in without
    assert len(kms.decrypt(CiphertextBlob=without["CiphertextBlob"])["Plaintext"]) == 32
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.generate_data_key(KeyId=key_id)
    assert code(e) == "ValidationException"
    r = kms.generate_random(NumberOfBytes=48)["Plaintext"]
    assert len(r) == 48 and r != kms.generate_random(NumberOfBytes=48)["Plaintext"]


def test_re_encrypt_moves_a_ciphertext_to_another_key(kms):
    a = kms.create_key()["KeyMetadata"]["KeyId"]
    b = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=a, Plaintext=b"move me", EncryptionContext={"x": "1"})["CiphertextBlob"]
    out = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"x": "1"},
                         DestinationKeyId=b, DestinationEncryptionContext={"y": "2"})
    assert out["SourceKeyId"].endswith(a) and out["KeyId"].endswith(b)
    plain = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"y": "2"})
    assert plain["Plaintext"] == b"move me" and plain["KeyId"].endswith(b)


def test_rotation_keeps_old_ciphertexts_decryptable(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    old = kms.encrypt(KeyId=key_id, Plaintext=b"before")["CiphertextBlob"]
    first_material = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.rotate_key_on_demand(KeyId=key_id)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["CurrentKeyMaterialId"] != first_material
    new = kms.encrypt(KeyId=key_id, Plaintext=b"after")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before"
    assert kms.decrypt(CiphertextBlob=new)["Plaintext"] == b"after"
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert len(rotations) == 1 and rotations[0]["RotationType"] == "ON_DEMAND"
    assert rotations[0]["KeyMaterialId"] == meta["CurrentKeyMaterialId"]
    kms.disable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    signing = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.rotate_key_on_demand(KeyId=signing)
    assert code(e) == "UnsupportedOperationException"


def test_tags(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}])
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "3"}])
    kms.untag_resource(KeyId=key_id, TagKeys=["b"])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "a", "TagValue": "3"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)])
    assert code(e) == "LimitExceededException"
    assert len(kms.list_resource_tags(KeyId=key_id)["Tags"]) == 1


def test_iam_policy_allows_through_the_default_key_policy(env):
    _, kms, _, account = env
    key = kms.create_key()["KeyMetadata"]
    bob = user(env, "bob", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": key["Arn"]}]})
    blob = bob.encrypt(KeyId=key["KeyId"], Plaintext=b"bob's")["CiphertextBlob"]
    assert bob.decrypt(CiphertextBlob=blob)["Plaintext"] == b"bob's"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bob.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")
    assert code(e) == "AccessDeniedException"
    assert e.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{account}:user/bob is not authorized to perform: "
        f"kms:GenerateDataKey on resource: {key['Arn']} because no identity-based policy "
        "allows the kms:GenerateDataKey action")
    other = kms.create_key()["KeyMetadata"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bob.encrypt(KeyId=other["KeyId"], Plaintext=b"x")
    assert code(e) == "AccessDeniedException"


def test_a_key_policy_without_the_account_shuts_iam_out(env):
    _, kms, iam, account = env
    everything = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}
    dave = user(env, "dave", everything)
    key = kms.create_key()["KeyMetadata"]
    admin_arn = iam.get_user()["User"]["Arn"]
    only_admin = {"Version": "2012-10-17", "Statement": [
        {"Sid": "admin", "Effect": "Allow", "Principal": {"AWS": admin_arn},
         "Action": "kms:*", "Resource": "*"}]}
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(only_admin),
                       BypassPolicyLockoutSafetyCheck=True)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        dave.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert code(e) == "AccessDeniedException"
    assert e.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{account}:user/dave is not authorized to perform: "
        f"kms:Encrypt on resource: {key['Arn']} because no resource-based policy allows "
        "the kms:Encrypt action")
    assert kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    # An explicit deny for one user in the key policy wins over its IAM policy.
    deny_dave = {"Version": "2012-10-17", "Statement": [
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "nodave", "Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{account}:user/dave"},
         "Action": "kms:Decrypt", "Resource": "*"}]}
    kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=json.dumps(deny_dave))
    blob = dave.encrypt(KeyId=key["KeyId"], Plaintext=b"y")["CiphertextBlob"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        dave.decrypt(CiphertextBlob=blob)
    assert code(e) == "AccessDeniedException"
    assert "explicit deny in a resource-based policy" in e.value.response["Error"]["Message"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"y"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy='{"Statement": 3}')
    assert code(e) == "MalformedPolicyDocumentException"
    assert json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]) == deny_dave


def test_encryption_context_condition_keys(env):
    _, kms, _, _ = env
    key = kms.create_key()["KeyMetadata"]
    erin = user(env, "erin", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": key["Arn"],
         "Condition": {"StringEquals": {"kms:EncryptionContext:tenant": "erin"}}}]})
    assert erin.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"tenant": "erin"})
    for context in ({"tenant": "frank"}, {}):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            erin.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext=context)
        assert code(e) == "AccessDeniedException"


def test_grants_allow_the_grantee_until_retired(env):
    server, kms, iam, account = env
    key = kms.create_key()["KeyMetadata"]
    gina = user(env, "gina")
    gina_arn = f"arn:aws:iam::{account}:user/gina"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        gina.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert code(e) == "AccessDeniedException"
    grant = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=gina_arn,
                             RetiringPrincipal=gina_arn, Operations=["Encrypt", "Decrypt"],
                             Constraints={"EncryptionContextSubset": {"app": "g"}}, Name="g")
    blob = gina.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"app": "g", "more": "1"},
                        GrantTokens=[grant["GrantToken"]])["CiphertextBlob"]
    assert gina.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "g", "more": "1"})["Plaintext"] == b"x"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        gina.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"app": "other"})
    assert code(e) == "AccessDeniedException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        gina.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256", EncryptionContext={"app": "g"})
    assert code(e) == "AccessDeniedException"
    grants = kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert len(grants) == 1 and grants[0]["GrantId"] == grant["GrantId"]
    assert grants[0]["Operations"] == ["Encrypt", "Decrypt"] and grants[0]["Name"] == "g"
    assert grants[0]["Constraints"] == {"EncryptionContextSubset": {"app": "g"}}
    assert [g["GrantId"] for g in kms.list_retirable_grants(RetiringPrincipal=gina_arn)["Grants"]] == [grant["GrantId"]]
    gina.retire_grant(GrantToken=grant["GrantToken"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        gina.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"app": "g"})
    assert code(e) == "AccessDeniedException"
    second = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=gina_arn, Operations=["Encrypt"])
    assert gina.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=second["GrantId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        gina.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert code(e) == "AccessDeniedException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.revoke_grant(KeyId=key["KeyId"], GrantId=second["GrantId"])
    assert code(e) == "InvalidGrantIdException"


@pytest.mark.parametrize("spec,algorithm,curve,hash_", [
    ("ECC_NIST_P256", "ECDSA_SHA_256", ec.SECP256R1, hashes.SHA256),
    ("ECC_NIST_P384", "ECDSA_SHA_384", ec.SECP384R1, hashes.SHA384),
    ("ECC_NIST_P521", "ECDSA_SHA_512", ec.SECP521R1, hashes.SHA512),
    ("ECC_SECG_P256K1", "ECDSA_SHA_256", ec.SECP256K1, hashes.SHA256),
])
def test_ecdsa_signatures_verify_with_cryptography(kms, spec, algorithm, curve, hash_):
    key_id = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    public = kms.get_public_key(KeyId=key_id)
    assert public["SigningAlgorithms"] == [algorithm] and public["KeySpec"] == spec
    loaded = serialization.load_der_public_key(public["PublicKey"])
    assert isinstance(loaded.curve, curve)
    signature = kms.sign(KeyId=key_id, Message=b"hello", SigningAlgorithm=algorithm)["Signature"]
    loaded.verify(signature, b"hello", ec.ECDSA(hash_()))
    assert kms.verify(KeyId=key_id, Message=b"hello", Signature=signature,
                      SigningAlgorithm=algorithm)["SignatureValid"] is True
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.verify(KeyId=key_id, Message=b"hellO", Signature=signature, SigningAlgorithm=algorithm)
    assert code(e) == "KMSInvalidSignatureException"
    digest = hashlib.new(hash_.name, b"digested").digest()
    signature = kms.sign(KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm=algorithm)["Signature"]
    loaded.verify(signature, b"digested", ec.ECDSA(hash_()))
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.sign(KeyId=key_id, Message=digest[:-1], MessageType="DIGEST", SigningAlgorithm=algorithm)
    assert code(e) == "ValidationException"


def test_rsa_sign_verify_and_encrypt(kms):
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    loaded = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    assert loaded.key_size == 2048
    pss = kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    loaded.verify(pss, b"m", padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    pkcs = kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_512")["Signature"]
    loaded.verify(pkcs, b"m", padding.PKCS1v15(), hashes.SHA512())
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    assert code(e) == "InvalidKeyUsageException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key_id, Plaintext=b"m")
    assert code(e) == "InvalidKeyUsageException"

    enc = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=enc)["PublicKey"])
    ciphertext = public.encrypt(b"to kms", padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                        algorithm=hashes.SHA256(), label=None))
    assert kms.decrypt(KeyId=enc, CiphertextBlob=ciphertext,
                       EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"to kms"
    blob = kms.encrypt(KeyId=enc, Plaintext=b"p", EncryptionAlgorithm="RSAES_OAEP_SHA_1")["CiphertextBlob"]
    assert kms.decrypt(KeyId=enc, CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_1")["Plaintext"] == b"p"


def test_hmac_keys(kms):
    import hmac as py_hmac
    key_id = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
    mac = kms.generate_mac(KeyId=key_id, Message=b"msg", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert len(mac) == 32
    assert kms.verify_mac(KeyId=key_id, Message=b"msg", Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"] is True
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.verify_mac(KeyId=key_id, Message=b"msh", Mac=mac, MacAlgorithm="HMAC_SHA_256")
    assert code(e) == "KMSInvalidMacException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.generate_mac(KeyId=key_id, Message=b"msg", MacAlgorithm="HMAC_SHA_512")
    assert code(e) == "InvalidKeyUsageException"
    assert py_hmac.new(b"wrong", b"msg", "sha256").digest() != mac


def test_data_key_pairs(kms):
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    pair = kms.generate_data_key_pair(KeyId=key_id, KeyPairSpec="ECC_NIST_P256")
    private = serialization.load_der_private_key(pair["PrivateKeyPlaintext"], password=None)
    public = serialization.load_der_public_key(pair["PublicKey"])
    assert private.public_key().public_numbers() == public.public_numbers()
    assert kms.decrypt(CiphertextBlob=pair["PrivateKeyCiphertextBlob"])["Plaintext"] == pair["PrivateKeyPlaintext"]
    without = kms.generate_data_key_pair_without_plaintext(KeyId=key_id, KeyPairSpec="RSA_2048")
    assert "PrivateKeyPlaintext" not in without
    assert serialization.load_der_public_key(without["PublicKey"]).key_size == 2048


def test_imported_key_material(kms):
    meta = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]
    key_id = meta["KeyId"]
    assert meta["KeyState"] == "PendingImport"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert code(e) == "KMSInvalidStateException"
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapping = serialization.load_der_public_key(params["PublicKey"])
    material = bytes(range(32))
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.import_key_material(KeyId=key_id, ImportToken=b"bogus", EncryptedKeyMaterial=wrapping.encrypt(material, oaep),
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code(e) == "InvalidImportTokenException"
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                            EncryptedKeyMaterial=wrapping.encrypt(material, oaep),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"imported")["CiphertextBlob"]
    kms.delete_imported_key_material(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.decrypt(CiphertextBlob=blob)
    assert code(e) == "KMSInvalidStateException"
    # Only the same material may come back; then old ciphertexts decrypt again.
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapping = serialization.load_der_public_key(params["PublicKey"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=wrapping.encrypt(bytes(32), oaep),
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert code(e) == "IncorrectKeyMaterialException"
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                            EncryptedKeyMaterial=wrapping.encrypt(material, oaep),
                            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"


def test_key_material_never_appears_in_the_audit_trail(admin, kms):
    server, key_id, secret = admin
    kms_key = kms.create_key()["KeyMetadata"]["KeyId"]
    dk = kms.generate_data_key(KeyId=kms_key, KeySpec="AES_256")
    trail = server.client("cloudtrail", key_id, secret)
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GenerateDataKey"}])["Events"]
    text = json.dumps([e["CloudTrailEvent"] for e in events])
    assert base64.b64encode(dk["Plaintext"]).decode() not in text


def test_trail_names_the_key_and_decrypts_algorithm(admin, kms):
    """As AWS's KMS events do: a key operation lists its key (found here by its ARN as
    the ResourceName), and Decrypt records its encryption algorithm even when the
    request left it out. Calls without a key (CreateKey, ListKeys) list none."""
    server, key_id, secret = admin
    meta = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"x",
                       EncryptionContext={"purpose": "trail"})["CiphertextBlob"]
    kms.decrypt(CiphertextBlob=blob, EncryptionContext={"purpose": "trail"})
    trail = server.client("cloudtrail", key_id, secret)
    events = trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "ResourceName", "AttributeValue": meta["Arn"]}])["Events"]
    assert sorted(e["EventName"] for e in events) == ["Decrypt", "Encrypt"]
    for e in events:
        assert e["Resources"] == [{"ResourceType": "AWS::KMS::Key", "ResourceName": meta["Arn"]}]
        record = json.loads(e["CloudTrailEvent"])
        assert record["resources"] == [{"ARN": meta["Arn"], "accountId": meta["AWSAccountId"],
                                        "type": "AWS::KMS::Key"}]
    decrypt = next(json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "Decrypt")
    assert decrypt["requestParameters"] == {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                                            "encryptionContext": {"purpose": "trail"}}
    create = trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "CreateKey"}])["Events"][0]
    assert create["Resources"] == []
    assert json.loads(create["CloudTrailEvent"])["resources"] == []


def test_concurrent_writes_of_one_key_all_land(kms):
    """Writes of one key race (each reads the key, then commits only if nobody wrote it
    in between); the loser runs again on the newer key instead of failing, so with the
    client's retries off every call succeeds and no tag is lost."""
    from concurrent.futures import ThreadPoolExecutor
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]

    def tag(worker):
        for i in range(5):
            kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": f"w{worker}-{i}", "TagValue": "v"}])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(tag, range(8)))
    tags = kms.list_resource_tags(KeyId=key_id, Limit=50)["Tags"]
    assert sorted(t["TagKey"] for t in tags) == sorted(f"w{w}-{i}" for w in range(8) for i in range(5))


def test_an_alias_deleted_while_it_is_updated_stays_deleted(kms):
    """UpdateAlias reads the alias and writes it back: a DeleteAlias that lands in
    between wins (the update runs again and finds no alias) instead of being undone."""
    first = kms.create_key()["KeyMetadata"]["KeyId"]
    second = kms.create_key()["KeyMetadata"]["KeyId"]
    for i in range(40):
        name = f"alias/race-{i}"
        kms.create_alias(AliasName=name, TargetKeyId=first)
        update, delete = race(lambda: kms.update_alias(AliasName=name, TargetKeyId=second),
                              lambda: kms.delete_alias(AliasName=name))
        assert delete is None and update in (None, "NotFoundException")
        names = [a["AliasName"] for a in kms.list_aliases(Limit=100)["Aliases"]]
        assert name not in names, f"round {i}: the deleted alias came back"


def test_a_grant_revoked_twice_at_once_is_revoked_once(kms, admin):
    """Of two RevokeGrant calls for one grant at once, one revokes it and the other
    gets the error a grant already revoked gets."""
    server, key_id, secret = admin
    arn = server.client("sts", key_id, secret).get_caller_identity()["Arn"]
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    outcomes = []
    for _ in range(40):
        grant = kms.create_grant(KeyId=key, GranteePrincipal=arn, Operations=["Encrypt"])["GrantId"]
        outcomes.append(sorted(race(lambda: kms.revoke_grant(KeyId=key, GrantId=grant),
                                    lambda: kms.revoke_grant(KeyId=key, GrantId=grant)),
                               key=lambda outcome: outcome or ""))
    with pytest.raises(botocore.exceptions.ClientError) as again:
        kms.revoke_grant(KeyId=key, GrantId=grant)
    assert outcomes == [[None, again.value.response["Error"]["Code"]]] * 40
    assert kms.list_grants(KeyId=key)["Grants"] == []


def test_openssl_verifies_a_signature_from_get_public_key(kms, tmp_path):
    import subprocess
    key_id = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    (tmp_path / "pub.der").write_bytes(kms.get_public_key(KeyId=key_id)["PublicKey"])
    (tmp_path / "msg").write_bytes(b"signed by rampart")
    signature = kms.sign(KeyId=key_id, Message=b"signed by rampart", SigningAlgorithm="ECDSA_SHA_384")["Signature"]
    (tmp_path / "sig").write_bytes(signature)
    verify = ["openssl", "dgst", "-sha384", "-verify", str(tmp_path / "pub.der"), "-keyform", "DER",
              "-signature", str(tmp_path / "sig"), str(tmp_path / "msg")]
    ok = subprocess.run(verify, capture_output=True, text=True)
    assert ok.returncode == 0 and "Verified OK" in ok.stdout, ok.stderr
    (tmp_path / "msg").write_bytes(b"signed by rampart!")
    assert subprocess.run(verify, capture_output=True, text=True).returncode != 0


def test_aws_encryption_sdk_round_trip(admin, kms, monkeypatch):
    """The AWS Encryption SDK with a rampart key as its master key: encrypt, decrypt, and
    fail to decrypt once the key is disabled."""
    aws_encryption_sdk = pytest.importorskip("aws_encryption_sdk")
    from aws_encryption_sdk import CommitmentPolicy
    server, key_id, secret = admin
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(key_ids=[arn])
    document = b"a file's contents " * 1000
    ciphertext, header = client.encrypt(source=document, key_provider=provider,
                                        encryption_context={"file": "report.txt"})
    assert document not in ciphertext
    plaintext, decrypted_header = client.decrypt(source=ciphertext, key_provider=provider)
    assert plaintext == document
    assert decrypted_header.encryption_context["file"] == "report.txt"
    kms.disable_key(KeyId=arn)
    with pytest.raises(aws_encryption_sdk.exceptions.AWSEncryptionSDKClientError):
        client.decrypt(source=ciphertext, key_provider=provider)


def test_imported_material_expires_at_valid_to(kms):
    import datetime
    import time
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    params = kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                           WrappingKeySpec="RSA_2048")
    wrapping = serialization.load_der_public_key(params["PublicKey"])
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    valid_to = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
    kms.import_key_material(KeyId=key_id, ImportToken=params["ImportToken"],
                            EncryptedKeyMaterial=wrapping.encrypt(bytes(range(32)), oaep),
                            ExpirationModel="KEY_MATERIAL_EXPIRES", ValidTo=valid_to)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"short-lived")["CiphertextBlob"]
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    time.sleep(max(0.0, (valid_to - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) + 1.1)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingImport" and meta["Enabled"] is False
    for call in (lambda: kms.decrypt(CiphertextBlob=blob),
                 lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert code(e) == "KMSInvalidStateException"


def test_policy_lockout_safety_check(env):
    server, kms, iam, account = env
    someone_else = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/nobody"},
        "Action": "kms:*", "Resource": "*"}]})
    iam.create_user(UserName="nobody")
    before = len(kms.list_keys()["Keys"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_key(Policy=someone_else)
    assert code(e) == "MalformedPolicyDocumentException"
    assert e.value.response["Error"]["Message"] == (
        "The new key policy will not allow you to update the key policy in the future.")
    assert len(kms.list_keys()["Keys"]) == before

    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=someone_else)
    assert code(e) == "MalformedPolicyDocumentException"
    assert "Enable IAM User Permissions" in kms.get_key_policy(
        KeyId=key_id, PolicyName="default")["Policy"]
    # The caller may lock itself out on purpose.
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=someone_else,
                       BypassPolicyLockoutSafetyCheck=True)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.get_key_policy(KeyId=key_id, PolicyName="default")
    assert code(e) == "AccessDeniedException"


def test_an_account_without_custom_key_stores(kms):
    assert kms.describe_custom_key_stores()["CustomKeyStores"] == []
    store = "cks-1234567890abcdef0"
    calls = [
        lambda: kms.describe_custom_key_stores(CustomKeyStoreId=store),
        lambda: kms.describe_custom_key_stores(CustomKeyStoreName="hsm"),
        lambda: kms.connect_custom_key_store(CustomKeyStoreId=store),
        lambda: kms.disconnect_custom_key_store(CustomKeyStoreId=store),
        lambda: kms.update_custom_key_store(CustomKeyStoreId=store, NewCustomKeyStoreName="n"),
        lambda: kms.delete_custom_key_store(CustomKeyStoreId=store),
    ]
    for call in calls:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert code(e) == "CustomKeyStoreNotFoundException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_custom_key_store(CustomKeyStoreName="hsm", CloudHsmClusterId="cluster-234567abcdef",
                                    TrustAnchorCertificate="cert", KeyStorePassword="password1")
    assert code(e) == "UnsupportedOperationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.describe_custom_key_stores(Marker="never-handed-out")
    assert code(e) == "InvalidMarkerException"
    assert kms.describe_custom_key_stores()["CustomKeyStores"] == []


def test_single_region_keys_are_neither_replicated_nor_made_primary(kms):
    key = kms.create_key()["KeyMetadata"]
    assert key["MultiRegion"] is False
    for call in (lambda k: kms.replicate_key(KeyId=k, ReplicaRegion="us-west-2"),
                 lambda k: kms.update_primary_region(KeyId=k, PrimaryRegion="us-west-2")):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call(key["KeyId"])
        assert code(e) == "UnsupportedOperationException"
        assert key["Arn"] in e.value.response["Error"]["Message"]
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call("11111111-2222-3333-4444-555555555555")
        assert code(e) == "NotFoundException"
    assert len(kms.list_keys()["Keys"]) == 1


def test_key_agreement_keys_derive_the_ecdh_secret_the_peer_derives(admin, kms):
    key = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="KEY_AGREEMENT")["KeyMetadata"]
    assert key["KeyUsage"] == "KEY_AGREEMENT"
    assert key["KeyAgreementAlgorithms"] == ["ECDH"]
    public = kms.get_public_key(KeyId=key["KeyId"])
    assert public["KeyAgreementAlgorithms"] == ["ECDH"]
    kms_public = serialization.load_der_public_key(public["PublicKey"])
    peer = ec.generate_private_key(ec.SECP384R1())
    peer_public = peer.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
    derived = kms.derive_shared_secret(KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH",
                                       PublicKey=peer_public)
    assert derived["SharedSecret"] == peer.exchange(ec.ECDH(), kms_public)
    assert derived["KeyId"] == key["Arn"] and derived["KeyOrigin"] == "AWS_KMS"
    server, key_id, secret = admin
    trail = server.client("cloudtrail", key_id, secret)
    events = trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "DeriveSharedSecret"}])["Events"]
    assert len(events) == 1
    assert base64.b64encode(derived["SharedSecret"]).decode() not in events[0]["CloudTrailEvent"]

    # A public key on another curve, a key made for signing, a disabled key.
    other_curve = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.derive_shared_secret(KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=other_curve)
    assert code(e) == "ValidationException"
    signing = kms.create_key(KeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.derive_shared_secret(KeyId=signing["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=peer_public)
    assert code(e) == "InvalidKeyUsageException"
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.derive_shared_secret(KeyId=key["KeyId"], KeyAgreementAlgorithm="ECDH", PublicKey=peer_public)
    assert code(e) == "DisabledException"
    # secp256k1 keys sign only, as in AWS.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.create_key(KeySpec="ECC_SECG_P256K1", KeyUsage="KEY_AGREEMENT")
    assert code(e) == "ValidationException"


def test_key_last_usage_is_the_newest_successful_cryptographic_call(admin, kms):
    server, key_id, secret = admin
    key = kms.create_key()["KeyMetadata"]
    usage = kms.get_key_last_usage(KeyId=key["KeyId"])
    assert usage["KeyLastUsage"] == {}
    assert usage["TrackingStartDate"] == usage["KeyCreationDate"] == key["CreationDate"]

    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext={"a": "b"})["CiphertextBlob"]
    last = lambda: kms.get_key_last_usage(KeyId=key["Arn"])["KeyLastUsage"]
    assert wait_for(lambda: last().get("Operation") == "Encrypt")
    # Calls that are not cryptographic, and cryptographic calls that fail, do not count.
    kms.describe_key(KeyId=key["KeyId"])
    with pytest.raises(botocore.exceptions.ClientError):
        kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "wrong"})
    trail = server.client("cloudtrail", key_id, secret)
    decrypts = lambda: trail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "Decrypt"}])["Events"]
    assert wait_for(lambda: len(decrypts()) == 1)  # the failed one is in the trail
    assert last()["Operation"] == "Encrypt"

    kms.decrypt(CiphertextBlob=blob, EncryptionContext={"a": "b"})
    assert wait_for(lambda: last().get("Operation") == "Decrypt")
    succeeded = [e for e in decrypts() if "errorCode" not in json.loads(e["CloudTrailEvent"])]
    usage = last()
    assert usage["CloudTrailEventId"] == succeeded[0]["EventId"]
    assert usage["KmsRequestId"] == json.loads(succeeded[0]["CloudTrailEvent"])["requestID"]

    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.get_key_last_usage(KeyId="11111111-2222-3333-4444-555555555555")
    assert code(e) == "NotFoundException"


def test_a_plaintext_meant_for_a_nitro_enclave_is_never_returned(kms):
    """rampart cannot check an attestation document: a call that names a Recipient is
    refused rather than answered with the plaintext the caller asked to keep from itself."""
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"for the enclave")["CiphertextBlob"]
    recipient = {"KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256", "AttestationDocument": b"\x84\x44"}
    for call in (lambda: kms.decrypt(CiphertextBlob=blob, Recipient=recipient),
                 lambda: kms.generate_data_key(KeyId=key, KeySpec="AES_256", Recipient=recipient),
                 lambda: kms.generate_random(NumberOfBytes=32, Recipient=recipient)):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert code(e) == "UnsupportedOperationException"
        assert "Plaintext" not in e.value.response
