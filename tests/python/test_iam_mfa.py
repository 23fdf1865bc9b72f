"""MFA, passwords and account settings in IAM, and MFA in STS, through real boto3.

TOTP codes are computed here by hand (RFC 6238: HMAC-SHA-1, 30-second steps, six
digits) from the seed CreateVirtualMFADevice returns, as an authenticator app would."""

import base64
import hashlib
import hmac
import json
import struct
import time

import botocore.exceptions
import pytest

from conftest import race, wait_for

INVALID_CODE = "MultiFactorAuthentication failed with invalid MFA one time pass code. "
UNKNOWN_DEVICE = ("MultiFactorAuthentication failed, unable to validate MFA code.  Please "
                  "verify your MFA serial number is valid and associated with this user.")
VIOLATION = "Password does not conform to the account password policy."


def totp(seed_base32: bytes, step: int) -> str:
    key = base64.b32decode(seed_base32)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    binary = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{binary % 1_000_000:06d}"


def current_step(margin=6) -> int:
    """The current time step, waiting first if fewer than `margin` seconds of it are
    left (so that the server sees the same step the codes were made for)."""
    if 30 - time.time() % 30 < margin:
        time.sleep(30 - time.time() % 30 + 0.2)
    return int(time.time() // 30)


def error_of(call, *args, **kwargs):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kwargs)
    return e.value.response["Error"]


@pytest.fixture
def env(admin):
    """(server, admin iam client, account id, alice's access key). Alice may list users
    only with MFA, and manage nothing."""
    server, key_id, secret = admin
    server.admin_key = (key_id, secret)
    iam = server.client("iam", key_id, secret)
    account = iam.get_user()["User"]["Arn"].split(":")[4]
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="mfa-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
             "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
            {"Effect": "Allow", "Action": "iam:ChangePassword",
             "Resource": f"arn:aws:iam::{account}:user/alice"},
        ]}))
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    return server, iam, account, key


def as_user(server, key, service, session=None):
    if session:
        return server.client(service, session["AccessKeyId"], session["SecretAccessKey"],
                             session["SessionToken"])
    return server.client(service, key["AccessKeyId"], key["SecretAccessKey"])


def new_device(iam, name="alice-phone", **kwargs):
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name, **kwargs)
    return device["VirtualMFADevice"]


def enable(iam, device, user="alice"):
    """Enables `device` with the codes of the two steps before the current one, so
    that the current step's code is still unused afterwards."""
    step = current_step(margin=12)
    seed = device["Base32StringSeed"]
    iam.enable_mfa_device(UserName=user, SerialNumber=device["SerialNumber"],
                          AuthenticationCode1=totp(seed, step - 2),
                          AuthenticationCode2=totp(seed, step - 1))
    return step


def test_a_virtual_device_returns_its_seed_and_qr_code_once(env):
    server, iam, account, _ = env
    device = new_device(iam, "phone", Path="/team/", Tags=[{"Key": "owner", "Value": "a"}])
    assert device["SerialNumber"] == f"arn:aws:iam::{account}:mfa/team/phone"
    seed = device["Base32StringSeed"]
    assert isinstance(seed, bytes) and len(seed) == 64
    assert len(base64.b32decode(seed)) == 40
    png = device["QRCodePNG"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and b"IHDR" in png[:16] and b"IEND" in png

    listed = iam.list_virtual_mfa_devices()["VirtualMFADevices"]
    assert [d["SerialNumber"] for d in listed] == [device["SerialNumber"]]
    assert "Base32StringSeed" not in listed[0] and "QRCodePNG" not in listed[0]
    assert iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"] == []
    assert iam.list_mfa_device_tags(SerialNumber=device["SerialNumber"])["Tags"] == [
        {"Key": "owner", "Value": "a"}]

    # The longest name still makes a QR code, and a serial number the other operations
    # accept; a longer one is refused.
    long = new_device(iam, "x" * 226)
    assert long["QRCodePNG"].startswith(b"\x89PNG")
    iam.delete_virtual_mfa_device(SerialNumber=long["SerialNumber"])
    assert error_of(new_device, iam, "x" * 227)["Code"] == "ValidationError"
    assert error_of(new_device, iam, "x" * 200, Path="/" + "p" * 40 + "/")["Code"] == \
        "ValidationError"

    error = error_of(iam.create_virtual_mfa_device, VirtualMFADeviceName="phone", Path="/team/")
    assert error["Code"] == "EntityAlreadyExists"
    assert error["Message"] == "MFADevice entity at the same path and name already exists."
    assert len(iam.list_virtual_mfa_devices()["VirtualMFADevices"]) == 1

    # The audit trail never carries the seed or the QR code.
    cloudtrail = server.client("cloudtrail", *server.admin_key)
    events = wait_for(lambda: cloudtrail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "CreateVirtualMFADevice"}])["Events"])
    trail = "".join(e["CloudTrailEvent"] for e in events)
    assert base64.b64encode(seed).decode() not in trail and seed.decode() not in trail
    assert base64.b64encode(png).decode()[:40] not in trail
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    elements = [r["responseElements"]["virtualMFADevice"] for r in records
                if "errorCode" not in r]
    assert len(elements) == 2
    for element in elements:
        # Binary payloads are left out of CloudTrail records.
        assert "base32StringSeed" not in element and "qRCodePNG" not in element
    assert device["SerialNumber"] in [e["serialNumber"] for e in elements]


def test_an_mfa_protected_action_needs_a_session_made_with_a_totp_code(env):
    server, iam, account, key = env
    alice_iam = as_user(server, key, "iam")
    alice_sts = as_user(server, key, "sts")

    # Long-term keys carry no MFA: the condition fails.
    error = error_of(alice_iam.list_users)
    assert error["Code"] == "AccessDenied"
    assert "iam:ListUsers" in error["Message"]
    # A session made without MFA cannot call IAM at all (AWS's rule).
    plain = alice_sts.get_session_token()["Credentials"]
    error = error_of(as_user(server, key, "iam", plain).list_users)
    assert error["Code"] == "InvalidClientTokenId"

    device = new_device(iam)
    serial = device["SerialNumber"]
    step = enable(iam, device)
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName="alice")["MFADevices"]] \
        == [serial]
    assert iam.list_virtual_mfa_devices(
        AssignmentStatus="Assigned")["VirtualMFADevices"][0]["User"]["UserName"] == "alice"

    # A code of a step enabling already used is refused.
    error = error_of(alice_sts.get_session_token, SerialNumber=serial,
                     TokenCode=totp(device["Base32StringSeed"], step - 1))
    assert (error["Code"], error["Message"]) == ("AccessDenied", INVALID_CODE)

    code = totp(device["Base32StringSeed"], step)
    session = alice_sts.get_session_token(SerialNumber=serial, TokenCode=code)["Credentials"]
    with_mfa = as_user(server, key, "iam", session)
    assert "alice" in [u["UserName"] for u in with_mfa.list_users()["Users"]]
    # Still nothing beyond what the policy allows.
    assert error_of(with_mfa.create_user, UserName="mallory")["Code"] == "AccessDenied"

    # The same code cannot be used twice.
    error = error_of(alice_sts.get_session_token, SerialNumber=serial, TokenCode=code)
    assert (error["Code"], error["Message"]) == ("AccessDenied", INVALID_CODE)
    # Nor a device that is not hers, nor a code without a device.
    other = new_device(iam, "spare")
    error = error_of(alice_sts.get_session_token, SerialNumber=other["SerialNumber"],
                     TokenCode=totp(other["Base32StringSeed"], step))
    assert (error["Code"], error["Message"]) == ("AccessDenied", UNKNOWN_DEVICE)
    error = error_of(alice_sts.get_session_token,
                     SerialNumber=f"arn:aws:iam::{account}:mfa/nothing", TokenCode="123456")
    assert error["Message"] == UNKNOWN_DEVICE

    # The session made with MFA keeps working; one made without still cannot.
    assert with_mfa.list_users()["Users"]
    assert error_of(as_user(server, key, "iam", plain).list_users)["Code"] == \
        "InvalidClientTokenId"


def test_assume_role_with_mfa_satisfies_a_trust_policy_that_requires_it(env):
    server, iam, account, key = env
    iam.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
    role_arn = iam.create_role(RoleName="admin-with-mfa", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                       "Action": "sts:AssumeRole",
                       "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName="admin-with-mfa", PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
                       "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}}]}))
    sts = as_user(server, key, "sts")
    error = error_of(sts.assume_role, RoleArn=role_arn, RoleSessionName="s1")
    assert error["Code"] == "AccessDenied"
    assert "sts:AssumeRole" in error["Message"]

    device = new_device(iam)
    step = enable(iam, device)
    seed, serial = device["Base32StringSeed"], device["SerialNumber"]
    error = error_of(sts.assume_role, RoleArn=role_arn, RoleSessionName="s1",
                     SerialNumber=serial, TokenCode=totp(seed, step + 5))
    assert (error["Code"], error["Message"]) == ("AccessDenied", INVALID_CODE)

    code = totp(seed, step)
    session = sts.assume_role(RoleArn=role_arn, RoleSessionName="s1", SerialNumber=serial,
                              TokenCode=code)["Credentials"]
    role_iam = as_user(server, key, "iam", session)
    assert role_iam.list_users()["Users"]
    # The code is used up.
    error = error_of(sts.assume_role, RoleArn=role_arn, RoleSessionName="s2",
                     SerialNumber=serial, TokenCode=code)
    assert error["Message"] == INVALID_CODE


def test_enabling_with_wrong_codes_is_refused_and_changes_nothing(env):
    server, iam, account, _ = env
    device = new_device(iam)
    serial, seed = device["SerialNumber"], device["Base32StringSeed"]
    step = current_step(margin=10)
    for first, second in [("000000", "111111"),
                          (totp(seed, step), totp(seed, step - 1)),  # out of order
                          (totp(seed, step - 1), totp(seed, step - 1)),
                          (totp(seed, step - 6), totp(seed, step - 5))]:  # too old
        error = error_of(iam.enable_mfa_device, UserName="alice", SerialNumber=serial,
                         AuthenticationCode1=first, AuthenticationCode2=second)
        assert error["Code"] == "InvalidAuthenticationCode"
        assert error["Message"] == "Authentication code for device is not valid."
    assert iam.list_mfa_devices(UserName="alice")["MFADevices"] == []
    assert iam.list_virtual_mfa_devices(
        AssignmentStatus="Unassigned")["VirtualMFADevices"][0]["SerialNumber"] == serial

    error = error_of(iam.enable_mfa_device, UserName="alice",
                     SerialNumber=f"arn:aws:iam::{account}:mfa/missing",
                     AuthenticationCode1="123456", AuthenticationCode2="654321")
    assert error["Code"] == "NoSuchEntity"

    enable(iam, device)
    enabled = iam.list_mfa_devices(UserName="alice")["MFADevices"]
    assert [d["UserName"] for d in enabled] == ["alice"]
    assert iam.get_mfa_device(SerialNumber=serial)["UserName"] == "alice"
    iam.create_user(UserName="bob")
    error = error_of(iam.enable_mfa_device, UserName="bob", SerialNumber=serial,
                     AuthenticationCode1="123456", AuthenticationCode2="654321")
    assert (error["Code"], error["Message"]) == ("EntityAlreadyExists",
                                                 "MFA Device is already in use.")

    # An enabled device cannot be deleted, nor can its user.
    error = error_of(iam.delete_virtual_mfa_device, SerialNumber=serial)
    assert (error["Code"], error["Message"]) == (
        "DeleteConflict", "MFA VirtualDevice in use. Must deactivate first.")
    for policy in iam.list_user_policies(UserName="alice")["PolicyNames"]:
        iam.delete_user_policy(UserName="alice", PolicyName=policy)
    for k in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="alice", AccessKeyId=k["AccessKeyId"])
    error = error_of(iam.delete_user, UserName="alice")
    assert (error["Code"], error["Message"]) == (
        "DeleteConflict", "Cannot delete entity, must delete MFA device first.")
    assert iam.get_user(UserName="alice")["User"]["UserName"] == "alice"

    error = error_of(iam.deactivate_mfa_device, UserName="bob", SerialNumber=serial)
    assert (error["Code"], error["Message"]) == ("NoSuchEntity", "MFA Device invalid for user.")
    iam.deactivate_mfa_device(UserName="alice", SerialNumber=serial)
    assert iam.list_mfa_devices(UserName="alice")["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    error = error_of(iam.delete_virtual_mfa_device, SerialNumber=serial)
    assert error["Code"] == "NoSuchEntity"
    assert error["Message"] == f"VirtualMFADevice with serial number {serial} does not exist."
    iam.delete_user(UserName="alice")


def test_resync_finds_a_drifted_device(env):
    server, iam, _, key = env
    device = new_device(iam)
    serial, seed = device["SerialNumber"], device["Base32StringSeed"]
    enable(iam, device)
    # The device's clock now runs four steps (two minutes) ahead.
    step = current_step(margin=12)
    error = error_of(as_user(server, key, "sts").get_session_token, SerialNumber=serial,
                     TokenCode=totp(seed, step + 4))
    assert error["Message"] == INVALID_CODE
    error = error_of(iam.resync_mfa_device, UserName="alice", SerialNumber=serial,
                     AuthenticationCode1="000000", AuthenticationCode2="000001")
    assert error["Code"] == "InvalidAuthenticationCode"
    iam.resync_mfa_device(UserName="alice", SerialNumber=serial,
                          AuthenticationCode1=totp(seed, step + 3),
                          AuthenticationCode2=totp(seed, step + 4))
    session = as_user(server, key, "sts").get_session_token(
        SerialNumber=serial, TokenCode=totp(seed, step + 5))
    assert session["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_password_policy_is_enforced_on_login_profiles(env):
    server, iam, account, _ = env
    error = error_of(iam.get_account_password_policy)
    assert (error["Code"], error["Message"]) == (
        "NoSuchEntity", f"The Password Policy with domain name {account} cannot be found.")

    # Without a policy, AWS's default applies: 8 characters, three kinds of character.
    for bad in ["Sh0rt!", "alllowercase1"]:
        error = error_of(iam.create_login_profile, UserName="alice", Password=bad)
        assert (error["Code"], error["Message"]) == ("PasswordPolicyViolation", VIOLATION)
    assert error_of(iam.get_login_profile, UserName="alice")["Code"] == "NoSuchEntity"

    iam.update_account_password_policy(
        MinimumPasswordLength=12, RequireSymbols=True, RequireNumbers=True,
        RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True, MaxPasswordAge=90, PasswordReusePrevention=3)
    policy = iam.get_account_password_policy()["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 12 and policy["RequireSymbols"] is True
    assert policy["MaxPasswordAge"] == 90 and policy["ExpirePasswords"] is True
    assert policy["PasswordReusePrevention"] == 3

    for bad in ["Short-1a", "no-upper-case-1", "NO-LOWER-CASE-1", "No-Numbers-Here",
                "NoSymbols12345"]:
        error = error_of(iam.create_login_profile, UserName="alice", Password=bad)
        assert (error["Code"], error["Message"]) == ("PasswordPolicyViolation", VIOLATION), bad
    assert error_of(iam.get_login_profile, UserName="alice")["Code"] == "NoSuchEntity"

    profile = iam.create_login_profile(UserName="alice", Password="Correct-Horse-9",
                                       PasswordResetRequired=True)["LoginProfile"]
    assert profile["UserName"] == "alice" and profile["PasswordResetRequired"] is True
    assert "Password" not in profile
    got = iam.get_login_profile(UserName="alice")["LoginProfile"]
    assert got["PasswordResetRequired"] is True
    error = error_of(iam.create_login_profile, UserName="alice", Password="Correct-Horse-9")
    assert error["Code"] == "EntityAlreadyExists"

    error = error_of(iam.update_login_profile, UserName="alice", Password="weak")
    assert error["Code"] == "PasswordPolicyViolation"
    iam.update_login_profile(UserName="alice", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="alice")["LoginProfile"]["PasswordResetRequired"] \
        is False

    # A user with a login profile cannot be deleted.
    for policy_name in iam.list_user_policies(UserName="alice")["PolicyNames"]:
        iam.delete_user_policy(UserName="alice", PolicyName=policy_name)
    for k in iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="alice", AccessKeyId=k["AccessKeyId"])
    error = error_of(iam.delete_user, UserName="alice")
    assert (error["Code"], error["Message"]) == (
        "DeleteConflict", "Cannot delete entity, must delete login profile first.")
    iam.delete_login_profile(UserName="alice")
    error = error_of(iam.get_login_profile, UserName="alice")
    assert (error["Code"], error["Message"]) == (
        "NoSuchEntity", "Login Profile for User alice cannot be found.")
    iam.delete_user(UserName="alice")

    iam.delete_account_password_policy()
    assert error_of(iam.get_account_password_policy)["Code"] == "NoSuchEntity"
    assert error_of(iam.delete_account_password_policy)["Code"] == "NoSuchEntity"

    # Passwords never reach the audit trail.
    cloudtrail = server.client("cloudtrail", *server.admin_key)
    events = wait_for(lambda: cloudtrail.lookup_events(LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "CreateLoginProfile"}])["Events"])
    trail = "".join(e["CloudTrailEvent"] for e in events)
    assert "Correct-Horse-9" not in trail and "Sh0rt!" not in trail
    assert "HIDDEN_DUE_TO_SECURITY_REASONS" in trail


def test_a_user_changes_its_own_password(env):
    server, iam, _, key = env
    iam.update_account_password_policy(MinimumPasswordLength=10, RequireNumbers=True,
                                       PasswordReusePrevention=2)
    iam.create_login_profile(UserName="alice", Password="first-pass-1",
                             PasswordResetRequired=True)
    alice = as_user(server, key, "iam")

    error = error_of(alice.change_password, OldPassword="wrong-pass-1",
                     NewPassword="second-pass-2")
    assert (error["Code"], error["Message"]) == ("AccessDenied",
                                                 "The old password was incorrect.")
    error = error_of(alice.change_password, OldPassword="first-pass-1", NewPassword="nonumbers")
    assert (error["Code"], error["Message"]) == ("PasswordPolicyViolation", VIOLATION)
    error = error_of(alice.change_password, OldPassword="first-pass-1",
                     NewPassword="first-pass-1")
    assert error["Code"] == "PasswordPolicyViolation"
    assert error["Message"] == ("Policy constraint violation with password reuse prevention "
                                "during password change.")
    # None of that changed anything.
    assert iam.get_login_profile(UserName="alice")["LoginProfile"]["PasswordResetRequired"]

    alice.change_password(OldPassword="first-pass-1", NewPassword="second-pass-2")
    assert not iam.get_login_profile(UserName="alice")["LoginProfile"]["PasswordResetRequired"]
    error = error_of(alice.change_password, OldPassword="first-pass-1",
                     NewPassword="third-pass-3")
    assert error["Message"] == "The old password was incorrect."
    # The password before last is remembered too.
    error = error_of(alice.change_password, OldPassword="second-pass-2",
                     NewPassword="first-pass-1")
    assert error["Code"] == "PasswordPolicyViolation"
    alice.change_password(OldPassword="second-pass-2", NewPassword="third-pass-3")

    # The root user has no IAM password to change.
    # The admin (an IAM user without a console password) has none to change.
    assert iam.get_user()["User"]["UserName"] == "admin"
    error = error_of(iam.change_password, OldPassword="x", NewPassword="y")
    assert error["Code"] == "NoSuchEntity"


def test_account_aliases(env):
    _, iam, _, _ = env
    assert iam.list_account_aliases()["AccountAliases"] == []
    iam.create_account_alias(AccountAlias="example-corp")
    assert iam.list_account_aliases()["AccountAliases"] == ["example-corp"]
    iam.create_account_alias(AccountAlias="example-corp")
    # An account has one alias: a new one replaces it.
    iam.create_account_alias(AccountAlias="example-two")
    assert iam.list_account_aliases()["AccountAliases"] == ["example-two"]
    error = error_of(iam.delete_account_alias, AccountAlias="example-corp")
    assert error["Code"] == "NoSuchEntity"
    error = error_of(iam.create_account_alias, AccountAlias="Bad--Alias")
    assert error["Code"] == "ValidationError"
    iam.delete_account_alias(AccountAlias="example-two")
    assert iam.list_account_aliases()["AccountAliases"] == []


def test_allow_users_to_change_password_lets_every_user_change_its_own(env):
    server, iam, account, _ = env
    iam.create_user(UserName="bob")
    bob_key = iam.create_access_key(UserName="bob")["AccessKey"]
    iam.create_login_profile(UserName="bob", Password="Bob-pass-123")
    iam.create_login_profile(UserName="alice", Password="Alice-pass-123")
    bob = as_user(server, bob_key, "iam")
    iam.update_account_password_policy(MinimumPasswordLength=8,
                                       AllowUsersToChangePassword=False)
    error = error_of(bob.change_password, OldPassword="Bob-pass-123", NewPassword="Bob-pass-456")
    assert error["Code"] == "AccessDenied" and "iam:ChangePassword" in error["Message"]
    assert error_of(bob.get_account_password_policy)["Code"] == "AccessDenied"

    iam.update_account_password_policy(MinimumPasswordLength=8, AllowUsersToChangePassword=True)
    assert bob.get_account_password_policy()["PasswordPolicy"]["AllowUsersToChangePassword"]
    bob.change_password(OldPassword="Bob-pass-123", NewPassword="Bob-pass-456")
    # Only its own: other users' profiles stay out of reach.
    error = error_of(bob.update_login_profile, UserName="alice", Password="Stolen-pass-1")
    assert error["Code"] == "AccessDenied"
    # An explicit deny still wins.
    iam.put_user_policy(UserName="bob", PolicyName="no", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "iam:ChangePassword", "Resource": "*"}]}))
    error = error_of(bob.change_password, OldPassword="Bob-pass-456", NewPassword="Bob-pass-789")
    assert error["Code"] == "AccessDenied" and "explicit deny" in error["Message"]


def test_what_a_rename_moves_is_not_brought_back_after_a_racing_delete(env):
    """UpdateUser with a new name moves the user's access keys, login profile and MFA
    devices to it: each move insists on what it read, so a key or profile deleted while
    the rename runs stays deleted."""
    _, iam, _, _ = env
    for i in range(30):
        iam.create_user(UserName=f"before-{i}")
        key = iam.create_access_key(UserName=f"before-{i}")["AccessKey"]["AccessKeyId"]
        iam.create_login_profile(UserName=f"before-{i}", Password="Correct-Horse-9")
        rename, delete_key, delete_profile = race(
            lambda: iam.update_user(UserName=f"before-{i}", NewUserName=f"after-{i}"),
            lambda: iam.delete_access_key(UserName=f"before-{i}", AccessKeyId=key),
            lambda: iam.delete_login_profile(UserName=f"before-{i}"))
        assert rename is None
        # A delete that came after the rename finds no user of the old name; one that
        # came before it succeeded. Either way nothing of the old user's is left.
        name = f"after-{i}"
        if delete_key is None:
            keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
            assert keys == [], f"round {i}: the deleted key came back"
        if delete_profile is None:
            error = error_of(iam.get_login_profile, UserName=name)
            assert error["Code"] == "NoSuchEntity", f"round {i}: the deleted profile came back"


def test_a_device_deleted_while_it_is_enabled_is_not_both(env):
    """EnableMFADevice and DeleteVirtualMFADevice on one device at once: either the
    device is enabled and the delete is refused (in use), or it is deleted and the
    enable finds no device; never both done."""
    _, iam, _, _ = env
    for i in range(20):
        device = new_device(iam, f"racing-{i}")
        step = current_step(margin=12)
        seed = device["Base32StringSeed"]
        enabled, deleted = race(
            lambda: iam.enable_mfa_device(UserName="alice", SerialNumber=device["SerialNumber"],
                                          AuthenticationCode1=totp(seed, step - 2),
                                          AuthenticationCode2=totp(seed, step - 1)),
            lambda: iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"]))
        assert (enabled, deleted) in [(None, "DeleteConflict"), ("NoSuchEntity", None)], i
        if enabled is None:
            iam.deactivate_mfa_device(UserName="alice", SerialNumber=device["SerialNumber"])
            iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])
