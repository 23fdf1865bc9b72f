"""The audit trail: every call, allowed or denied, becomes a CloudTrail event that
LookupEvents serves, and `rampart audit verify` detects tampering."""

import json
import time
import sqlite3

import botocore.exceptions
import pytest

from conftest import wait_for
from signing import send_signed


def lookup(cloudtrail, **kwargs):
    return cloudtrail.lookup_events(**kwargs)["Events"]


def test_calls_become_cloudtrail_events(admin):
    server, key_id, secret = admin
    sts = server.client("sts", key_id, secret, user_agent_extra="audit-test")
    cloudtrail = server.client("cloudtrail", key_id, secret)
    identity = sts.get_caller_identity()

    events = wait_for(lambda: lookup(cloudtrail, LookupAttributes=[
        {"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}]))
    assert len(events) == 1
    event = events[0]
    assert event["EventSource"] == "sts.amazonaws.com"
    assert event["Username"] == "admin"
    assert event["AccessKeyId"] == key_id
    assert event["ReadOnly"] == "true"
    record = json.loads(event["CloudTrailEvent"])
    assert record["userIdentity"]["arn"] == identity["Arn"]
    assert record["userIdentity"]["type"] == "IAMUser"
    assert record["recipientAccountId"] == identity["Account"]
    assert record["eventName"] == "GetCallerIdentity"
    assert "audit-test" in record["userAgent"]
    assert record["sourceIPAddress"] == "127.0.0.1"
    assert record["eventID"] == event["EventId"]
    for field in ("eventVersion", "eventTime", "awsRegion", "requestID", "readOnly"):
        assert field in record


def test_failed_calls_are_recorded_with_their_error(admin):
    server, key_id, secret = admin
    cloudtrail = server.client("cloudtrail", key_id, secret)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cloudtrail.lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "A"},
            {"AttributeKey": "Username", "AttributeValue": "B"}])
    assert e.value.response["Error"]["Code"] == "InvalidLookupAttributesException"
    events = wait_for(lambda: [
        ev for ev in lookup(cloudtrail, LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "LookupEvents"}])
        if "errorCode" in json.loads(ev["CloudTrailEvent"])])
    record = json.loads(events[0]["CloudTrailEvent"])
    assert record["errorCode"] == "InvalidLookupAttributesException"


def test_lookup_pages_newest_first(admin):
    server, key_id, secret = admin
    sts = server.client("sts", key_id, secret)
    cloudtrail = server.client("cloudtrail", key_id, secret)
    for _ in range(5):
        sts.get_caller_identity()
    attrs = [{"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}]
    assert wait_for(lambda: len(lookup(cloudtrail, LookupAttributes=attrs)) == 5)
    seen, token = [], None
    while True:
        page = cloudtrail.lookup_events(LookupAttributes=attrs, MaxResults=2,
                                        **({"NextToken": token} if token else {}))
        assert len(page["Events"]) <= 2
        seen += page["Events"]
        token = page.get("NextToken")
        if not token:
            break
    assert len(seen) == 5 and len({e["EventId"] for e in seen}) == 5
    times = [e["EventTime"] for e in seen]
    assert times == sorted(times, reverse=True)
    paginated = [e for p in cloudtrail.get_paginator("lookup_events").paginate(
        LookupAttributes=attrs, PaginationConfig={"PageSize": 2}) for e in p["Events"]]
    assert [e["EventId"] for e in paginated] == [e["EventId"] for e in seen]


def test_lookup_rejects_bad_arguments(admin):
    server, key_id, secret = admin
    cloudtrail = server.client("cloudtrail", key_id, secret)
    cases = [
        (dict(NextToken="not-a-token"), "InvalidNextTokenException"),
        (dict(MaxResults=51), "ValidationException"),
        (dict(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "x"}] * 2),
         "InvalidLookupAttributesException"),
    ]
    for kwargs, code in cases:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            cloudtrail.lookup_events(**kwargs)
        assert e.value.response["Error"]["Code"] == code, kwargs
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cloudtrail.lookup_events(StartTime=now, EndTime=now - datetime.timedelta(hours=1))
    assert e.value.response["Error"]["Code"] == "InvalidTimeRangeException"


def test_audit_verify_detects_tampering(workspace):
    key_id, secret = workspace.init()
    server = workspace.serve()
    sts = server.client("sts", key_id, secret)
    cloudtrail = server.client("cloudtrail", key_id, secret)
    for _ in range(4):
        sts.get_caller_identity()
    assert wait_for(lambda: len(lookup(cloudtrail)) >= 4)
    server.stop()

    verify = workspace.run("audit", "verify", "--data-dir", str(workspace.data_dir), check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    db = sqlite3.connect(workspace.data_dir / "rampart.db")
    table = next(name for (name,) in db.execute("select name from sqlite_master where type='table'")
                 if "audit" in name)
    columns = [row[1] for row in db.execute(f"pragma table_info({table})")]
    text_column = next(c for c in ("record", "body", "event", "data") if c in columns)
    db.execute(f"update {table} set {text_column} = replace({text_column}, 'GetCallerIdentity', "
               f"'GetCallerIdentitX') where rowid = (select min(rowid) from {table})")
    db.commit()
    db.close()
    verify = workspace.run("audit", "verify", "--data-dir", str(workspace.data_dir), check=False)
    assert verify.returncode != 0, verify.stdout


def test_audit_verify_sees_a_cut_trail_and_an_edited_resource_index(workspace):
    key_id, secret = workspace.init()
    server = workspace.serve()
    kms = server.client("kms", key_id, secret)
    cloudtrail = server.client("cloudtrail", key_id, secret)
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(3):
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert wait_for(lambda: len(lookup(cloudtrail)) >= 4)
    server.stop()

    def verify():
        result = workspace.run("audit", "verify", "--data-dir", str(workspace.data_dir),
                               check=False)
        return result.returncode, result.stdout

    assert verify()[0] == 0
    db = sqlite3.connect(workspace.data_dir / "rampart.db")
    # The second Encrypt: LookupEvents by ResourceName would no longer find it.
    (seq, kind, arn) = db.execute(
        "select seq, resource_type, resource_name from audit_resources where seq = "
        "(select seq from audit_events where event_name = 'Encrypt' order by seq limit 1 offset 1)"
    ).fetchone()
    db.execute("delete from audit_resources where seq = ?", (seq,))
    db.commit()
    code, out = verify()
    assert code == 1 and f"does not match event {seq}'s resources" in out, out
    db.execute("insert into audit_resources values (?, ?, ?)", (seq, kind, arn))
    db.commit()
    assert verify()[0] == 0
    # The newest events cut off: what is left still links, the sealed head does not agree.
    (last,) = db.execute("select max(seq) from audit_events").fetchone()
    db.execute("delete from audit_events where seq = ?", (last,))
    db.execute("delete from audit_resources where seq = ?", (last,))
    db.commit()
    code, out = verify()
    assert code == 1 and f"cut short: event {last} " in out, out
    # Pointing the head at the new end takes the master key, which the database lacks.
    db.execute("update audit_head set seq = ?, digest = (select digest from audit_events "
               "where seq = ?)", (last - 1, last - 1))
    db.commit()
    db.close()
    code, out = verify()
    assert code == 1 and f"anchored head (event {last - 1}) is not sealed" in out, out


def test_lookup_time_range_keeps_fractions_of_a_second(admin):
    """The AWS SDK for JavaScript sends `EndTime: new Date()` as epoch seconds with
    milliseconds: an event of the current second is at or before it, not after."""
    server, key_id, secret = admin
    sts = server.client("sts", key_id, secret)
    while time.time() % 1 > 0.3:  # the call and the bound within one second
        time.sleep(0.05)
    sts.get_caller_identity()
    bound = time.time()

    def lookup_raw(**times):
        body = json.dumps({**times, "LookupAttributes": [
            {"AttributeKey": "EventName", "AttributeValue": "GetCallerIdentity"}]})
        response = send_signed(server.endpoint, key_id, secret, "cloudtrail", body, {
            "X-Amz-Target": "CloudTrail_20131101.LookupEvents",
            "Content-Type": "application/x-amz-json-1.1"})
        assert response.status_code == 200, response.text
        return response.json()["Events"]

    assert wait_for(lambda: lookup_raw(EndTime=bound)), "the event before EndTime is missing"
    assert lookup_raw(StartTime=bound) == []
