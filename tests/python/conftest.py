"""Fixtures that run real `rampart` processes for the real-client tests.

Every test gets its own data directory, port and aws-cli config files, so tests never
share state. `RAMPART_BIN` names the binary (scripts/test sets it); without it the
fixture builds the debug binary with cargo.
"""

import configparser
import os
import pathlib
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.config
import botocore.exceptions
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def rampart_bin() -> str:
    explicit = os.environ.get("RAMPART_BIN")
    if explicit:
        return explicit
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    subprocess.run(["cargo", "build", "--quiet", "--bin", "rampart"], cwd=REPO, check=True)
    return str(target / "debug" / "rampart")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Rampart:
    """One `rampart serve` process, with helpers to make clients for it."""

    def __init__(self, binary, data_dir, env, extra_args=()):
        self.binary = binary
        self.data_dir = data_dir
        self.env = env
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        log = open(self.data_dir / f"serve-{self.port}.log", "ab")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", str(self.data_dir), *self.extra_args],
            env=self.env, stdout=log, stderr=log,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rampart serve exited: {self.log()}")
            try:
                urllib.request.urlopen(self.endpoint + "/_rampart/health", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"rampart serve did not start: {self.log()}")

    def log(self) -> str:
        return (self.data_dir / f"serve-{self.port}.log").read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=15)

    def client(self, service, key_id, secret, session_token=None, **config):
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=key_id, aws_secret_access_key=secret,
            aws_session_token=session_token,
            config=botocore.config.Config(retries={"max_attempts": 0}, **config),
        )


class Workspace:
    """A data directory and aws config files for one test, and the `rampart` CLI on them."""

    def __init__(self, tmp_path):
        self.binary = rampart_bin()
        self.data_dir = tmp_path / "data"
        self.data_dir.mkdir()
        self.env = dict(os.environ)
        self.env["AWS_CONFIG_FILE"] = str(tmp_path / "aws-config")
        self.env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "aws-credentials")
        self.env.setdefault("RUST_LOG", "info")
        self.servers = []

    def run(self, *args, check=True):
        return subprocess.run([self.binary, *args], env=self.env, capture_output=True,
                              text=True, check=check, timeout=60)

    def init(self, *extra, endpoint="http://127.0.0.1:4566", profile="rampart"):
        """Runs `rampart init` and returns the admin's (key id, secret) from the profile."""
        self.run("init", "--data-dir", str(self.data_dir), "--profile", profile,
                 "--endpoint-url", endpoint, *extra)
        credentials = configparser.ConfigParser()
        credentials.read(self.env["AWS_SHARED_CREDENTIALS_FILE"])
        section = credentials[profile]
        return section["aws_access_key_id"], section["aws_secret_access_key"]

    def serve(self, *extra_args, data_dir=None):
        server = Rampart(self.binary, data_dir or self.data_dir, self.env, extra_args).start()
        self.servers.append(server)
        return server

    def close(self):
        for server in self.servers:
            server.stop(signal.SIGKILL)


@pytest.fixture
def workspace(tmp_path):
    ws = Workspace(tmp_path)
    yield ws
    ws.close()


@pytest.fixture
def admin(workspace):
    """A strict-mode server with an initialized account: (server, admin key id, secret)."""
    key_id, secret = workspace.init()
    server = workspace.serve()
    return server, key_id, secret


def wait_for(predicate, timeout=5.0, interval=0.05):
    """Polls `predicate` until it returns a truthy value or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def race(*calls):
    """Runs the calls at once (released together by a barrier); each one's outcome: None
    if it succeeded, else its error code."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            call()
        except botocore.exceptions.ClientError as e:
            return e.response["Error"]["Code"]

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))
