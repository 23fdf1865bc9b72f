"""`rampart init` and the profile it writes, used by aws-cli as a person would."""

import json
import os
import stat
import subprocess

from conftest import wait_for


def aws(workspace, *args, check=True):
    return subprocess.run(["aws", *args], env=workspace.env, capture_output=True, text=True,
                          check=check, timeout=60)


def test_init_then_aws_cli_works_with_the_profile_alone(workspace):
    server = workspace.serve()
    result = workspace.run("init", "--data-dir", str(workspace.data_dir),
                           "--endpoint-url", server.endpoint)
    assert "secret" not in result.stdout.lower().replace("--show-secret", "")
    credentials = open(workspace.env["AWS_SHARED_CREDENTIALS_FILE"]).read()
    secret = [l.split("=", 1)[1].strip() for l in credentials.splitlines()
              if l.startswith("aws_secret_access_key")][0]
    assert secret not in result.stdout and secret not in result.stderr
    assert stat.S_IMODE(os.stat(workspace.env["AWS_SHARED_CREDENTIALS_FILE"]).st_mode) == 0o600

    # The server was already running: it picks the new account up from the store.
    def caller():
        out = aws(workspace, "--profile", "rampart", "sts", "get-caller-identity", "--output", "json",
                  check=False)
        return out.returncode == 0 and json.loads(out.stdout)
    identity = wait_for(caller, timeout=5)
    assert identity and identity["Arn"].endswith(":user/admin"), identity


def test_init_before_serve_and_master_key_is_private(workspace):
    key_id, secret = workspace.init()
    key_file = workspace.data_dir / "master.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    server = workspace.serve()
    assert server.client("sts", key_id, secret).get_caller_identity()["Arn"].endswith(":user/admin")
    # The secret is not stored in clear anywhere in the state.
    for path in workspace.data_dir.iterdir():
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def test_show_secret_prints_it(workspace):
    result = workspace.run("init", "--data-dir", str(workspace.data_dir), "--show-secret")
    credentials = open(workspace.env["AWS_SHARED_CREDENTIALS_FILE"]).read()
    secret = [l.split("=", 1)[1].strip() for l in credentials.splitlines()
              if l.startswith("aws_secret_access_key")][0]
    assert secret in result.stdout


def test_second_init_reuses_the_account(workspace):
    first_key, _ = workspace.init()
    second_key, second_secret = workspace.init()
    assert first_key != second_key
    server = workspace.serve()
    identity = server.client("sts", second_key, second_secret).get_caller_identity()
    assert identity["Arn"].endswith(":user/admin")
