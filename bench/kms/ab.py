#!/usr/bin/env python3
"""A/B of two rampart binaries: the server's CPU time a call and the rate, phase by phase,
the two servers taking turns on one machine.

For a change whose effect is a few percent: on a VM whose host takes its vCPUs away,
one phase of a binary says little and a rate less than its CPU time a call, so each
round runs one closed-loop phase on each server (one store each, fresh), and the script
prints per round the ratio of B's CPU time a call to A's, then the medians and in how
many rounds B used less. A call's CPU time counts all of the server's threads (the audit
writer's drain of the phase included), as `bench/load`'s `cpu_us_per_call` does:

    ab/<a|b>-<round> requests_per_s=<x> cpu_us_per_call=<x> steal_ms=<x>
    ab/round-<n> b_over_a_cpu=<x>
    ab/median a_cpu_us=<x> b_cpu_us=<x> b_over_a=<x> b_less_in=<k>/<rounds>

The operation is one of KMS Encrypt, Decrypt, GenerateDataKey (1 KiB, as
`bench/kms/run.py` sends them), STS GetCallerIdentity or the no-op `health`. Build the
binaries first (e.g. `scripts/build-release` and a copy of its output, once per side;
it builds `loadgen` too, which the script takes from $CARGO_TARGET_DIR/release).

Run: python3 bench/kms/ab.py BINARY_A BINARY_B [--operation Encrypt] [--seconds 4]
     [--rounds 6] [--connections 32] [--env-a K=V ...] [--env-b K=V ...]
"""

import argparse
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "load"))
import run as load  # noqa: E402  (bench/load/run.py: server start-up, loadgen)
import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "kms_run", pathlib.Path(__file__).resolve().parent / "run.py")
kms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kms)  # bench/kms/run.py: the signed KMS requests

OPERATIONS = kms.OPERATIONS + ["GetCallerIdentity", "health"]


def environment(pairs):
    return dict(pair.split("=", 1) for pair in pairs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary_a")
    parser.add_argument("binary_b")
    parser.add_argument("--operation", default="Encrypt", choices=OPERATIONS)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--env-a", nargs="*", default=[], metavar="K=V")
    parser.add_argument("--env-b", nargs="*", default=[], metavar="K=V")
    args = parser.parse_args()

    python = load.bench_python()
    sides = []
    try:
        for name, binary, env in (("a", args.binary_a, args.env_a),
                                  ("b", args.binary_b, args.env_b)):
            sides.append((name, *kms.serve_with_requests(binary, python, f"rampart-ab-{name}-",
                                                         environment(env))))
        cpu = {"a": [], "b": []}
        for round_ in range(1, args.rounds + 1):
            for name, _, server, files in sides:
                figures = load.loadgen_ours(server.pid, files[args.operation], args.seconds,
                                            args.connections)
                cpu[name].append(float(figures["cpu_us_per_call"]))
                print(f"ab/{name}-{round_} requests_per_s={figures['requests_per_s']} "
                      f"cpu_us_per_call={figures['cpu_us_per_call']} "
                      f"steal_ms={figures['steal_ms']}", flush=True)
            print(f"ab/round-{round_} b_over_a_cpu={cpu['b'][-1] / cpu['a'][-1]:.3f}", flush=True)
        a, b = statistics.median(cpu["a"]), statistics.median(cpu["b"])
        less = sum(y < x for x, y in zip(cpu["a"], cpu["b"]))
        print(f"ab/median a_cpu_us={a:.1f} b_cpu_us={b:.1f} b_over_a={b / a:.3f} "
              f"b_less_in={less}/{args.rounds}")
    finally:
        for _, work, server, _ in sides:
            load.stop(work, server)


if __name__ == "__main__":
    main()
