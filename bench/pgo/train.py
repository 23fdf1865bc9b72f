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
import importlib.util
import pathlib
import sys

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
    work, server, requests = kms.serve_with_requests(args.rampart, python,
                                                     "rampart-pgo-train-")
    try:
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
