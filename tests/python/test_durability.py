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


def test_a_commit_that_fails_answers_internal_failure_records_it_and_changes_nothing(workspace):
    """While the store cannot be written (its WAL made immutable, which binds root too),
    a call that changes something answers InternalFailure and changes nothing; its
    CloudTrail event, with that error, lands once the store can be written again, and
    the store takes writes as before."""
    import json
    import subprocess

    from conftest import wait_for
    key_id, secret = workspace.init()
    server = workspace.serve()
    iam = server.client("iam", key_id, secret)
    iam.create_user(UserName="before")
    wal = workspace.data_dir / "rampart.db-wal"
    subprocess.run(["chattr", "+i", str(wal)], check=True)
    try:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            iam.create_user(UserName="blocked")
    finally:
        subprocess.run(["chattr", "-i", str(wal)], check=True)
    assert e.value.response["Error"]["Code"] == "InternalFailure"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    request_id = e.value.response["ResponseMetadata"]["RequestId"]
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        iam.get_user(UserName="blocked")
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"

    trail = server.client("cloudtrail", key_id, secret)

    def failed_event():
        events = trail.lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])["Events"]
        records = [json.loads(e["CloudTrailEvent"]) for e in events]
        return [r for r in records if r["requestID"] == request_id]

    recorded = wait_for(failed_event, timeout=10)
    assert len(recorded) == 1, recorded
    assert recorded[0]["errorCode"] == "InternalFailure"
    assert recorded[0]["requestParameters"] == {"userName": "blocked"}
    iam.create_user(UserName="after")
    assert {u["UserName"] for u in iam.list_users()["Users"]} >= {"before", "after"}
