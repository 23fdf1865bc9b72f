"""Sends arbitrary bytes to rampart, signed with botocore's own SigV4 signer, so tests
can probe how the protocol layer answers bad input from an authenticated caller."""

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import requests


def send_signed(endpoint, key_id, secret, service, body, headers=None, method="POST", path="/"):
    request = botocore.awsrequest.AWSRequest(
        method=method, url=endpoint + path, data=body, headers=dict(headers or {}))
    credentials = botocore.credentials.Credentials(key_id, secret)
    botocore.auth.SigV4Auth(credentials, service, "us-east-1").add_auth(request)
    prepared = request.prepare()
    return requests.request(prepared.method, prepared.url, headers=dict(prepared.headers),
                            data=prepared.body, timeout=10)
