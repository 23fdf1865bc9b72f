"""Organizations through boto3 against a real server: member accounts are real
accounts, SCPs bind every principal of a member account (its root user included) along
the chain from the root through each OU, the management account is exempt, and
cross-account access is decided on both sides."""

import json
import urllib.request

import botocore.exceptions
import pytest

from conftest import wait_for
from test_iam import error_of

ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def only_services(*services):
    """An SCP that denies everything but the listed services."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "NotAction": [f"{s}:*" for s in services], "Resource": "*"}]})


@pytest.fixture
def org(admin):
    """A management account with an organization and SCPs enabled."""
    server, key_id, secret = admin
    client = server.client("organizations", key_id, secret)
    organization = client.create_organization(FeatureSet="ALL")["Organization"]
    root = client.list_roots()["Roots"][0]
    client.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    client.server = server
    client.admin = (key_id, secret)
    client.root_id = root["Id"]
    client.org_id = organization["Id"]
    client.management = organization["MasterAccountId"]
    return client


def create_account(org, name):
    status = org.create_account(Email=f"{name}@example.com", AccountName=name)[
        "CreateAccountStatus"]
    assert status["State"] == "IN_PROGRESS"
    done = org.describe_create_account_status(CreateAccountRequestId=status["Id"])[
        "CreateAccountStatus"]
    assert done["State"] == "SUCCEEDED"
    return done["AccountId"]


def assume_access_role(org, account_id, service):
    """A client for `service` in `account_id` through OrganizationAccountAccessRole."""
    sts = org.server.client("sts", *org.admin)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
        RoleSessionName="admin")["Credentials"]
    return org.server.client(service, credentials["AccessKeyId"], credentials["SecretAccessKey"],
                             credentials["SessionToken"])


def test_the_seeds_example(org, workspace):
    finance = create_account(org, "finance")
    it = create_account(org, "it")
    hr = create_account(org, "hr")
    legal = create_account(org, "legal")
    ou = org.create_organizational_unit(ParentId=org.root_id, Name="corporate")[
        "OrganizationalUnit"]
    for account in (hr, legal):
        org.move_account(AccountId=account, SourceParentId=org.root_id,
                         DestinationParentId=ou["Id"])
    children = org.list_children(ParentId=ou["Id"], ChildType="ACCOUNT")["Children"]
    assert sorted(c["Id"] for c in children) == sorted([hr, legal])
    policy = org.create_policy(Name="only-iam-and-sts", Description="guardrail",
                               Type="SERVICE_CONTROL_POLICY",
                               Content=only_services("iam", "sts"))["Policy"]["PolicySummary"]
    org.attach_policy(PolicyId=policy["Id"], TargetId=ou["Id"])

    # A principal of a member account under the OU: allowed services work,
    # everything else is denied by the SCP, whatever the IAM policies say.
    hr_iam = assume_access_role(org, hr, "iam")
    assert hr_iam.list_users()["Users"] == []
    hr_trail = assume_access_role(org, hr, "cloudtrail")
    code, message = error_of(hr_trail.lookup_events)
    assert code == "AccessDeniedException"
    assert message.endswith("with an explicit deny in a service control policy")

    # The member account's root user is bound too.
    key_id, secret = workspace.init("--account-id", hr, "--root", profile="hr-root",
                                    endpoint=org.server.endpoint)
    root_trail = org.server.client("cloudtrail", key_id, secret)

    def root_known():
        try:
            return org.server.client("sts", key_id, secret).get_caller_identity()
        except botocore.exceptions.ClientError:
            return None
    identity = wait_for(root_known)
    assert identity and identity["Arn"] == f"arn:aws:iam::{hr}:root"
    assert error_of(root_trail.lookup_events)[0] == "AccessDeniedException"
    assert org.server.client("iam", key_id, secret).list_roles()["Roles"]

    # Accounts outside the OU, and the management account, are not affected.
    assert "Events" in assume_access_role(org, finance, "cloudtrail").lookup_events()
    assert "Events" in assume_access_role(org, it, "cloudtrail").lookup_events()
    org.attach_policy(PolicyId=policy["Id"], TargetId=org.root_id)
    management_trail = org.server.client("cloudtrail", *org.admin)
    assert "Events" in management_trail.lookup_events()
    assert error_of(assume_access_role(org, finance, "cloudtrail").lookup_events)[0] == (
        "AccessDeniedException")

    # Detaching it from the root lifts it there on the next request.
    org.detach_policy(PolicyId=policy["Id"], TargetId=org.root_id)
    assert "Events" in assume_access_role(org, finance, "cloudtrail").lookup_events()


def test_every_level_of_the_chain_must_allow(org):
    member = create_account(org, "deep")
    parent = org.root_id
    for depth in range(1, 6):
        parent = org.create_organizational_unit(ParentId=parent, Name=f"level-{depth}")[
            "OrganizationalUnit"]["Id"]
    code, message = error_of(org.create_organizational_unit, ParentId=parent, Name="level-6")
    assert code == "ConstraintViolationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        org.create_organizational_unit(ParentId=parent, Name="level-6")
    assert e.value.response["Reason"] == "OU_DEPTH_LIMIT_EXCEEDED"
    org.move_account(AccountId=member, SourceParentId=org.root_id, DestinationParentId=parent)
    path = org.describe_organizational_unit(OrganizationalUnitId=parent)[
        "OrganizationalUnit"]["Path"]
    assert path.startswith(f"{org.org_id}/{org.root_id}/") and path.count("/ou-") == 5

    trail = assume_access_role(org, member, "cloudtrail")
    assert "Events" in trail.lookup_events()
    # Replace FullAWSAccess on level 3 with a policy that allows only IAM: CloudTrail
    # is no longer allowed at that level, so it is denied below it.
    level4 = org.list_parents(ChildId=parent)["Parents"][0]["Id"]
    level3 = org.list_parents(ChildId=level4)["Parents"][0]["Id"]
    iam_only = org.create_policy(Name="iam-only", Description="", Type="SERVICE_CONTROL_POLICY",
                                 Content=json.dumps({"Version": "2012-10-17", "Statement": [
                                     {"Effect": "Allow", "Action": ["iam:*", "sts:*"],
                                      "Resource": "*"}]}))["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=iam_only, TargetId=level3)
    org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=level3)
    code, message = error_of(assume_access_role(org, member, "cloudtrail").lookup_events)
    assert code == "AccessDeniedException"
    assert "because no service control policy allows" in message
    assert assume_access_role(org, member, "iam").list_roles()["Roles"]
    # A target keeps at least one SCP.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        org.detach_policy(PolicyId=iam_only, TargetId=level3)
    assert e.value.response["Error"]["Code"] == "ConstraintViolationException"
    assert e.value.response["Reason"] == "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"


def test_cross_account_access_is_decided_on_both_sides(org):
    member = create_account(org, "shared")
    member_iam = assume_access_role(org, member, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{org.management}:root"},
        "Action": "sts:AssumeRole"}]})
    member_iam.create_role(RoleName="reader", AssumeRolePolicyDocument=trust)
    member_iam.attach_role_policy(RoleName="reader",
                                  PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")

    iam = org.server.client("iam", *org.admin)
    iam.create_user(UserName="analyst")
    key = iam.create_access_key(UserName="analyst")["AccessKey"]
    analyst = org.server.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    role_arn = f"arn:aws:iam::{member}:role/reader"
    # The trust policy allows the management account, but the analyst's own policies
    # do not allow sts:AssumeRole: denied.
    assert error_of(analyst.assume_role, RoleArn=role_arn, RoleSessionName="a1")[0] == (
        "AccessDenied")
    iam.put_user_policy(UserName="analyst", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}))
    credentials = analyst.assume_role(RoleArn=role_arn, RoleSessionName="a1")["Credentials"]
    session = org.server.client("sts", credentials["AccessKeyId"],
                                credentials["SecretAccessKey"], credentials["SessionToken"])
    assert session.get_caller_identity()["Account"] == member


def test_principal_org_id_condition(org, workspace):
    member = create_account(org, "trusting")
    member_iam = assume_access_role(org, member, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.org_id}}}]})
    member_iam.create_role(RoleName="org-only", AssumeRolePolicyDocument=trust)
    role_arn = f"arn:aws:iam::{member}:role/org-only"
    assert org.server.client("sts", *org.admin).assume_role(RoleArn=role_arn,
                                                             RoleSessionName="in-org")
    outsider = workspace.init("--account-id", "222233334444", profile="outsider",
                              endpoint=org.server.endpoint)

    def outsider_known():
        try:
            return org.server.client("sts", *outsider).get_caller_identity()
        except botocore.exceptions.ClientError:
            return None
    assert wait_for(outsider_known)
    assert error_of(org.server.client("sts", *outsider).assume_role, RoleArn=role_arn,
                    RoleSessionName="outside")[0] == "AccessDenied"


def test_invitations(org, workspace):
    invited = "333344445555"
    key = workspace.init("--account-id", invited, profile="invited", endpoint=org.server.endpoint)
    wait_for(lambda: _known(org.server, key))
    handshake = org.invite_account_to_organization(
        Target={"Id": invited, "Type": "ACCOUNT"}, Notes="join us")["Handshake"]
    assert handshake["State"] == "OPEN"
    guest = org.server.client("organizations", *key)
    pending = guest.list_handshakes_for_account()["Handshakes"]
    assert [h["Id"] for h in pending] == [handshake["Id"]]
    accepted = guest.accept_handshake(HandshakeId=handshake["Id"])["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    assert error_of(guest.accept_handshake, HandshakeId=handshake["Id"])[0] == (
        "InvalidHandshakeTransitionException")
    accounts = {a["Id"]: a for a in org.list_accounts()["Accounts"]}
    assert accounts[invited]["JoinedMethod"] == "INVITED"
    assert guest.describe_organization()["Organization"]["Id"] == org.org_id
    # A member account cannot administer the organization.
    assert error_of(guest.list_accounts) == (
        "AccessDeniedException", "You don't have permissions to access this resource.")
    guest.leave_organization()
    assert invited not in {a["Id"] for a in org.list_accounts()["Accounts"]}
    assert error_of(guest.describe_organization)[0] == "AWSOrganizationsNotInUseException"


def _known(server, key):
    try:
        return server.client("sts", *key).get_caller_identity()
    except botocore.exceptions.ClientError:
        return None


def test_errors_change_nothing(org):
    root = org.root_id
    assert error_of(org.create_organization)[0] == "AlreadyInOrganizationException"
    ou = org.create_organizational_unit(ParentId=root, Name="eng")["OrganizationalUnit"]
    assert error_of(org.create_organizational_unit, ParentId=root, Name="eng")[0] == (
        "DuplicateOrganizationalUnitException")
    assert error_of(org.create_organizational_unit, ParentId="ou-abcd-12345678",
                    Name="x")[0] == "ParentNotFoundException"
    bad = error_of(org.create_policy, Name="bad", Description="", Type="SERVICE_CONTROL_POLICY",
                   Content='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}')
    assert bad[0] == "MalformedPolicyDocumentException"
    tag_policy = org.create_policy(Name="tags", Description="", Type="TAG_POLICY",
                                   Content='{"tags": {"team": {"tag_key": {"@@assign": "Team"}}}}')[
        "Policy"]["PolicySummary"]["Id"]
    assert error_of(org.attach_policy, PolicyId=tag_policy, TargetId=root)[0] == (
        "PolicyTypeNotEnabledException")
    org.enable_policy_type(RootId=root, PolicyType="TAG_POLICY")
    org.attach_policy(PolicyId=tag_policy, TargetId=root)
    assert error_of(org.attach_policy, PolicyId=tag_policy, TargetId=root)[0] == (
        "DuplicatePolicyAttachmentException")
    assert error_of(org.delete_policy, PolicyId=tag_policy)[0] == "PolicyInUseException"
    effective = org.describe_effective_policy(PolicyType="TAG_POLICY",
                                              TargetId=org.management)["EffectivePolicy"]
    assert json.loads(effective["PolicyContent"])["tags"]["team"]["tag_key"] == {
        "@@assign": "Team"}
    member = create_account(org, "busy")
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=ou["Id"])
    assert error_of(org.delete_organizational_unit, OrganizationalUnitId=ou["Id"])[0] == (
        "OrganizationalUnitNotEmptyException")
    assert error_of(org.move_account, AccountId=member, SourceParentId=ou["Id"],
                    DestinationParentId=ou["Id"])[0] == "DuplicateAccountException"
    assert error_of(org.delete_organization)[0] == "OrganizationNotEmptyException"
    assert error_of(org.describe_account, AccountId="999999999999")[0] == (
        "AccountNotFoundException")
    assert error_of(org.enable_policy_type, RootId=root,
                    PolicyType="SERVICE_CONTROL_POLICY")[0] == "PolicyTypeAlreadyEnabledException"
    # Nothing above changed the tree.
    units = org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    assert [u["Name"] for u in units] == ["eng"]
    scps = org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert [p["Name"] for p in scps] == ["FullAWSAccess"]


def test_not_in_an_organization(admin):
    server, key_id, secret = admin
    client = server.client("organizations", key_id, secret)
    assert error_of(client.describe_organization) == (
        "AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
    assert error_of(client.list_accounts)[0] == "AWSOrganizationsNotInUseException"


def test_resource_control_policies_guard_member_resources(org, workspace):
    """An RCP on a member account binds what anyone may do to its resources: here, no
    principal outside the organization may assume its roles, whatever the trust
    policy says."""
    member = create_account(org, "guarded")
    member_iam = assume_access_role(org, member, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    member_iam.create_role(RoleName="open", AssumeRolePolicyDocument=trust)
    role_arn = f"arn:aws:iam::{member}:role/open"
    outsider = workspace.init("--account-id", "444455556666", profile="rcp-outsider",
                              endpoint=org.server.endpoint)
    assert wait_for(lambda: _known(org.server, outsider))
    outsider_sts = org.server.client("sts", *outsider)
    assert outsider_sts.assume_role(RoleArn=role_arn, RoleSessionName="before")

    org.enable_policy_type(RootId=org.root_id, PolicyType="RESOURCE_CONTROL_POLICY")
    rcp = org.create_policy(Name="org-only", Description="", Type="RESOURCE_CONTROL_POLICY",
                            Content=json.dumps({"Version": "2012-10-17", "Statement": [{
                                "Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole",
                                "Resource": "*", "Condition": {"StringNotEqualsIfExists": {
                                    "aws:PrincipalOrgID": org.org_id}}}]}))[
        "Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=rcp, TargetId=member)
    code, message = error_of(outsider_sts.assume_role, RoleArn=role_arn,
                             RoleSessionName="after")
    assert code == "AccessDenied"
    assert message.endswith("with an explicit deny in a resource control policy")
    # Principals of the organization still may: the management account's admin.
    assert org.server.client("sts", *org.admin).assume_role(RoleArn=role_arn,
                                                             RoleSessionName="inside")
    targets = org.list_targets_for_policy(PolicyId=rcp)["Targets"]
    assert [t["TargetId"] for t in targets] == [member]


def test_concurrent_attachments_and_tags_on_one_target_are_all_kept(org):
    """Terraform attaches an OU's SCPs and tags it in parallel: every one lands, and
    with the client's retries off none fails. (Four SCPs: with FullAWSAccess, the five a
    target may have.)"""
    from concurrent.futures import ThreadPoolExecutor
    ou = org.create_organizational_unit(ParentId=org.root_id, Name="busy")["OrganizationalUnit"]["Id"]
    policies = [org.create_policy(Name=f"scp{i}", Description="", Type="SERVICE_CONTROL_POLICY",
                                  Content=only_services("s3", f"sqs{i}"))["Policy"]["PolicySummary"]["Id"]
                for i in range(4)]

    def change(i):
        if i < len(policies):
            org.attach_policy(PolicyId=policies[i], TargetId=ou)
        org.tag_resource(ResourceId=ou, Tags=[{"Key": f"t{i}", "Value": "v"}])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(change, range(8)))
    attached = org.list_policies_for_target(TargetId=ou, Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert set(policies) <= {p["Id"] for p in attached}
    tags = org.list_tags_for_resource(ResourceId=ou)["Tags"]
    assert sorted(t["Key"] for t in tags) == [f"t{i}" for i in range(8)]


def test_trusted_access_for_aws_services(org):
    assert org.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []
    org.enable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com")
    org.enable_aws_service_access(ServicePrincipal="config.amazonaws.com")
    org.enable_aws_service_access(ServicePrincipal="guardduty.amazonaws.com")  # again: no change
    enabled = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert [e["ServicePrincipal"] for e in enabled] == ["config.amazonaws.com", "guardduty.amazonaws.com"]
    assert all(e["DateEnabled"] for e in enabled)
    page = org.list_aws_service_access_for_organization(MaxResults=1)
    assert len(page["EnabledServicePrincipals"]) == 1 and page["NextToken"]
    org.disable_aws_service_access(ServicePrincipal="config.amazonaws.com")
    org.disable_aws_service_access(ServicePrincipal="config.amazonaws.com")  # again: no change
    enabled = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert [e["ServicePrincipal"] for e in enabled] == ["guardduty.amazonaws.com"]
    # Only the management account manages it.
    member = create_account(org, "trusted")
    member_org = assume_access_role(org, member, "organizations")
    code, _ = error_of(member_org.enable_aws_service_access, ServicePrincipal="config.amazonaws.com")
    assert code == "AccessDeniedException"
    enabled = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert [e["ServicePrincipal"] for e in enabled] == ["guardduty.amazonaws.com"]


def test_the_services_an_account_is_delegated_administrator_for(org):
    member = create_account(org, "delegate")
    code, _ = error_of(org.list_delegated_services_for_account, AccountId=member)
    assert code == "AccountNotRegisteredException"
    for service in ("securityhub.amazonaws.com", "guardduty.amazonaws.com"):
        org.register_delegated_administrator(AccountId=member, ServicePrincipal=service)
    services = org.list_delegated_services_for_account(AccountId=member)["DelegatedServices"]
    assert [s["ServicePrincipal"] for s in services] == ["guardduty.amazonaws.com",
                                                         "securityhub.amazonaws.com"]
    code, _ = error_of(org.list_delegated_services_for_account, AccountId="999999999999")
    assert code == "AccountNotFoundException"


@pytest.mark.parametrize("account_args", [(), ("--account-id", "123456789012")])
def test_dev_mode_accounts_are_real_accounts(workspace, account_args):
    """In --dev, unknown keys act as the root of the default account (or --account-id),
    which is a real account: it creates an organization, OUs, SCPs and accounts, and
    after a reset it can do so again."""
    server = workspace.serve("--dev", *account_args)
    expected = account_args[1] if account_args else "000000000000"
    client = server.client("organizations", "AKIADEVANYKEY0000000", "any-secret")
    for _ in range(2):
        organization = client.create_organization(FeatureSet="ALL")["Organization"]
        assert organization["MasterAccountId"] == expected
        root_id = client.list_roots()["Roots"][0]["Id"]
        ou = client.create_organizational_unit(ParentId=root_id, Name="workloads")[
            "OrganizationalUnit"]
        client.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
        scp = client.create_policy(Name="only-s3", Description="", Type="SERVICE_CONTROL_POLICY",
                                   Content=only_services("s3"))["Policy"]["PolicySummary"]
        client.attach_policy(PolicyId=scp["Id"], TargetId=ou["Id"])
        member = create_account(client, "member")
        client.move_account(AccountId=member, SourceParentId=root_id,
                            DestinationParentId=ou["Id"])
        parents = client.list_parents(ChildId=member)["Parents"]
        assert parents == [{"Id": ou["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
        assert client.describe_account(AccountId=expected)["Account"]["Id"] == expected
        urllib.request.urlopen(urllib.request.Request(
            server.endpoint + "/_rampart/reset", method="POST"), timeout=10).read()
