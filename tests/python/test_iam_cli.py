"""IAM and STS through aws-cli, as a person would use them: the profile `rampart init`
writes, then a role profile (`role_arn` + `source_profile`) with which aws-cli itself
calls sts:AssumeRole and signs with the session it gets back."""

import json
import subprocess


def aws(workspace, *args, check=True):
    out = subprocess.run(["aws", "--profile", "rampart", "--output", "json", *args],
                         env=workspace.env, capture_output=True, text=True, timeout=60)
    if check:
        assert out.returncode == 0, out.stderr
    return out


def test_a_role_profile_assumes_the_role_and_loses_the_admins_permissions(workspace):
    server = workspace.serve()
    workspace.init(endpoint=server.endpoint)
    account = json.loads(aws(workspace, "sts", "get-caller-identity").stdout)["Account"]

    aws(workspace, "iam", "create-group", "--group-name", "auditors")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/admin"},
        "Action": "sts:AssumeRole"}]}
    role = json.loads(aws(workspace, "iam", "create-role", "--role-name", "viewer",
                          "--assume-role-policy-document", json.dumps(trust)).stdout)["Role"]
    aws(workspace, "iam", "attach-role-policy", "--role-name", "viewer",
        "--policy-arn", "arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    attached = json.loads(aws(workspace, "iam", "list-attached-role-policies",
                              "--role-name", "viewer").stdout)["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["IAMReadOnlyAccess"]

    with open(workspace.env["AWS_CONFIG_FILE"], "a") as config:
        config.write(f"\n[profile viewer]\nrole_arn = {role['Arn']}\nsource_profile = rampart\n"
                     f"endpoint_url = {server.endpoint}\nregion = us-east-1\n")

    def as_viewer(*args):
        return subprocess.run(["aws", "--profile", "viewer", "--output", "json", *args],
                              env=workspace.env, capture_output=True, text=True, timeout=60)

    identity = json.loads(as_viewer("sts", "get-caller-identity").stdout)
    assert identity["Arn"].startswith(f"arn:aws:sts::{account}:assumed-role/viewer/")
    groups = json.loads(as_viewer("iam", "list-groups").stdout)["Groups"]
    assert [g["GroupName"] for g in groups] == ["auditors"]

    denied = as_viewer("iam", "create-user", "--user-name", "mallory")
    assert denied.returncode != 0
    assert "AccessDenied" in denied.stderr
    assert "is not authorized to perform: iam:CreateUser" in denied.stderr
    missing = aws(workspace, "iam", "get-user", "--user-name", "mallory", check=False)
    assert "NoSuchEntity" in missing.stderr


def test_policy_documents_round_trip_through_the_cli(workspace):
    server = workspace.serve()
    workspace.init(endpoint=server.endpoint)
    document = {"Version": "2012-10-17", "Statement": [{
        "Sid": "ReadLogs", "Effect": "Allow", "Action": ["cloudtrail:LookupEvents"],
        "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}
    arn = json.loads(aws(workspace, "iam", "create-policy", "--policy-name", "logs",
                         "--policy-document", json.dumps(document)).stdout)["Policy"]["Arn"]
    version = json.loads(aws(workspace, "iam", "get-policy-version", "--policy-arn", arn,
                             "--version-id", "v1").stdout)["PolicyVersion"]
    assert version["Document"] == document

    bad = aws(workspace, "iam", "create-policy", "--policy-name", "bad",
              "--policy-document", '{"Statement": []', check=False)
    assert bad.returncode != 0 and "MalformedPolicyDocument" in bad.stderr
    listed = json.loads(aws(workspace, "iam", "list-policies", "--scope", "Local").stdout)
    assert [p["PolicyName"] for p in listed["Policies"]] == ["logs"]
