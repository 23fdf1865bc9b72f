#!/usr/bin/env python3
"""The training run of rampart's profile-guided release build (scripts/build-release).

Starts the instrumented `rampart serve` given as the argument on a fresh data directory,
has it serve the calls whose paths are hot in use (STS GetCallerIdentity over the query
protocol, KMS Encrypt, Decrypt and GenerateDataKey over json 1.1, each signed with
SigV4 by botocore, and the no-op `/_rampart/health`) for a few seconds each with
bench/load's `loadgen`, and stops it with SIGTERM, on which it writes its profile where
the build told it to.

Run: python3 bench/pgo/train.py PATH-TO-INSTRUMENTED-RAMPART [--seconds 2]
"""

import argparse
import configparser
import importlib.util
import pathlib
import subprocess
import sys
import tempfile

BENCH = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH / "load"))
import run as load  # noqa: E402  (bench/load/run.py: server start-up, signing, loadgen)

# bench/kms/run.py signs its KMS requests; it is a script named like bench/load's.
_spec = importlib.util.spec_from_file_location("kms_bench", BENCH / "kms" / "run.py")
kms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kms)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rampart")
    parser.add_argument("--seconds", type=float, default=2)
    args = parser.parse_args()

    python = load.bench_python()
    work = pathlib.Path(tempfile.mkdtemp(prefix="rampart-pgo-train-"))
    env = dict(load.os.environ, AWS_CONFIG_FILE=str(work / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(work / "credentials"), RUST_LOG="warn")
    subprocess.run([args.rampart, "init", "--data-dir", str(work / "data")], env=env, check=True,
                   capture_output=True)
    creds = configparser.ConfigParser()
    creds.read(work / "credentials")
    key, secret = creds["rampart"]["aws_access_key_id"], creds["rampart"]["aws_secret_access_key"]

    port = load.free_port()
    url = f"http://127.0.0.1:{port}/"
    server = load.start_server([args.rampart, "serve", "--listen", f"127.0.0.1:{port}",
                                "--data-dir", str(work / "data")], env=env)
    try:
        load.wait_healthy(url + "_rampart/health", server)
        requests = kms.prepare(python, url, key, secret, work, "train")
        requests["GetCallerIdentity"] = work / "sts.json"
        load.sign(python, url, key, secret, requests["GetCallerIdentity"])
        requests["health"] = work / "health.json"
        load.write_health_request(url, requests["health"])
        for name, request in requests.items():
            figures = load.loadgen(request, args.seconds, 16)
            print(f"pgo-train/{name} requests={figures['requests']} errors={figures['errors']}",
                  file=sys.stderr, flush=True)
            if int(figures["errors"]):
                sys.exit(f"pgo-train: {name} answered errors")
    finally:
        load.stop(work, server)
    if server.returncode != 0:
        sys.exit(f"pgo-train: rampart exited with {server.returncode}")


if __name__ == "__main__":
    main()
