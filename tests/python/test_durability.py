"""An acknowledged write survives `kill -9` of the server."""

import signal

import botocore.exceptions
import pytest


def test_acknowledged_writes_survive_kill_9(workspace):
    key_id, secret = workspace.init()
    server = workspace.serve()
    iam = server.client("iam", key_id, secret)
    created = []
    for i in range(20):
        iam.create_user(UserName=f"durable-{i}")
        created.append(iam.create_access_key(UserName=f"durable-{i}")["AccessKey"])
    server.stop(signal.SIGKILL)

    restarted = workspace.serve()
    iam = restarted.client("iam", key_id, secret)
    for i, key in enumerate(created):
        assert iam.get_user(UserName=f"durable-{i}")["User"]["UserName"] == f"durable-{i}"
        identity = restarted.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
        assert identity["Arn"].endswith(f":user/durable-{i}")


def test_rejected_write_changes_nothing(workspace):
    key_id, secret = workspace.init()
    server = workspace.serve()
    iam = server.client("iam", key_id, secret)
    iam.create_user(UserName="once")
    first = iam.get_user(UserName="once")["User"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_user(UserName="once")
    assert e.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert iam.get_user(UserName="once")["User"] == first
    iam.create_access_key(UserName="once")
    iam.create_access_key(UserName="once")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_access_key(UserName="once")
    assert e.value.response["Error"]["Code"] == "LimitExceeded"
    assert len(iam.list_access_keys(UserName="once")["AccessKeyMetadata"]) == 2
