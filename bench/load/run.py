#!/usr/bin/env python3
"""The load benchmark of issue 3: rampart against moto's server, in the same run.

Starts the release `rampart serve` (the profile-guided build of scripts/build-release;
`--plain` measures `cargo build --release`'s instead), timing its start-up and reading
its idle resident memory, and `moto_server`, signs one STS GetCallerIdentity POST for
each with botocore (valid for SigV4's 15-minute window), replays it with `loadgen` over
keep-alive connections, and prints one line per measurement and the ratio:

    load/<target>/<mode> requests_per_s=<x> p50_us=<x> p99_us=<x> errors=<n> steal_ms=<x> loadgen_cpu_us_per_call=<x> [cpu_us_per_call=<x> drain_s=<x>]
    load/ratio rampart_over_moto=<x>

Phases: rampart closed-loop (its peak); rampart's `/_rampart/health` closed-loop (the
peak of the same HTTP server and load generator doing nothing: no SigV4, no service, no
store); then --rounds rounds of GetCallerIdentity at half its peak and `/_rampart/health`
at half of its own peak, each spread evenly over the connections. The second is the
floor: what a server that does nothing gets at half its peak on this machine, so a
half-peak p99 can be told apart from the machine's own hiccups (on a VM whose host takes
its vCPUs away for milliseconds, or whose scheduler leaves two busy threads on one vCPU
for tens of milliseconds, both show them). Each line also gives the steal time of the
machine's CPUs during that phase (`steal_ms`, from /proc/stat) and the load generator's
own CPU time per call (`loadgen_cpu_us_per_call`: it shares the machine's two vCPUs with
the server, so what it spends the server does not get). Then moto closed-loop at
1, 4 and --connections connections (its best is its peak). Between rampart's phases the
script waits for rampart to go idle (its audit writer drains what the peak queued) and
prints how long that took (drain_s) and the server's CPU time per call over the phase
and its drain (cpu_us_per_call). The last lines:

    load/half-peak p99_us_median=<x> noop_floor_p99_us_median=<x>
    load/ratio rampart_over_moto=<x>

Run: python3 bench/load/run.py [--seconds 10] [--connections 32] [--rounds 3] [--plain | --binary PATH]
(installs moto[server] into .venv-bench on first use).
"""

import argparse
import configparser
import json
import os
import pathlib
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
VENV = REPO / ".venv-bench"


def build(args, prefix):
    """Builds loadgen and the rampart to measure, prints `<prefix>/build=pgo|plain|<path>`,
    and returns the rampart's path: the profile-guided release build (scripts/build-release,
    which builds loadgen too), which is what rampart ships; with `--plain` the one
    `cargo build --release` makes; with `--binary PATH` that binary, built before (only
    loadgen is built then)."""
    if args.binary:
        print(f"{prefix}/build={args.binary}", flush=True)
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "rampart-bench-load"],
                       cwd=REPO, check=True)
        return args.binary
    print(f"{prefix}/build={'plain' if args.plain else 'pgo'}", flush=True)
    if args.plain:
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "rampart", "-p",
                        "rampart-bench-load"], cwd=REPO, check=True)
        return str(TARGET / "release" / "rampart")
    out = subprocess.run([str(REPO / "scripts" / "build-release")], cwd=REPO, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return out.strip().splitlines()[-1]


def init_store(rampart, prefix):
    """`rampart init`s a store in a fresh work directory (named from `prefix`); returns
    the directory, the environment to run rampart in (the aws-cli files `init` writes are
    in the directory) and the access key id and secret `init` made."""
    work = pathlib.Path(tempfile.mkdtemp(prefix=prefix))
    env = dict(os.environ, AWS_CONFIG_FILE=str(work / "config"),
               AWS_SHARED_CREDENTIALS_FILE=str(work / "credentials"), RUST_LOG="warn")
    subprocess.run([rampart, "init", "--data-dir", str(work / "data")], env=env, check=True,
                   capture_output=True)
    creds = configparser.ConfigParser()
    creds.read(work / "credentials")
    return work, env, creds["rampart"]["aws_access_key_id"], creds["rampart"]["aws_secret_access_key"]


def serve(rampart, work, env):
    """Starts `rampart serve` on the store in `work`, on a free port, without waiting for
    it to answer; returns the process and the port."""
    port = free_port()
    server = start_server([rampart, "serve", "--listen", f"127.0.0.1:{port}",
                           "--data-dir", str(work / "data")], env=env)
    return server, port


def add_build_argument(parser):
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--plain", action="store_true",
                       help="measure `cargo build --release`'s rampart instead of the PGO build")
    which.add_argument("--binary", metavar="PATH",
                       help="measure this rampart binary (e.g. scripts/build-release's, kept)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{url}: server exited")
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.005)
    sys.exit(f"{url}: server did not start")


def start_server(args, **kwargs):
    """Starts a server under test in a session of its own, as a service runs (and as a
    program started from another terminal does). With the kernel's autogroup scheduling
    (on by default) each session is scheduled as one group; a server that shared the
    load generator's session would instead compete with it thread by thread, which is
    not how a server meets its clients (the half-peak p99 was 2.37-2.39 ms that way,
    1.4-1.5 ms in a session of its own)."""
    return subprocess.Popen(args, start_new_session=True, **kwargs)


def bench_python():
    """A Python with botocore and moto[server], in .venv-bench."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "moto[server]", "boto3"], check=True)
    return str(python)


SIGN = r"""
import json, sys
import botocore.auth, botocore.awsrequest, botocore.credentials
url, key, secret, out = sys.argv[1:5]
body = "Action=GetCallerIdentity&Version=2011-06-15"
headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
request = botocore.awsrequest.AWSRequest(method="POST", url=url, data=body, headers=headers)
botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "sts", "us-east-1").add_auth(request)
host = url.split("//", 1)[1].rstrip("/")
headers = [(k, v) for k, v in request.headers.items()] + [("Host", host)]
json.dump({"method": "POST", "url": url, "headers": headers, "body": body}, open(out, "w"))
"""


def sign(python, url, key, secret, path):
    subprocess.run([python, "-c", SIGN, url, key, secret, str(path)], check=True)


def steal_ms():
    """Milliseconds the hypervisor has kept this machine's CPUs from running it, so far
    (the steal column of /proc/stat, summed over the CPUs)."""
    fields = open("/proc/stat").readline().split()
    return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK")


def loadgen(request_file, seconds, connections, rate=None):
    """loadgen's figures, with the steal time during the run."""
    args = [str(TARGET / "release" / "loadgen"), str(request_file), "--seconds", str(seconds),
            "--connections", str(connections)]
    if rate:
        args += ["--rate", str(rate)]
    else:
        # Closed loop: the load generator takes only the CPU time the server leaves idle
        # (loadgen's module documentation says why).
        args.append("--idle-priority")
    stolen = steal_ms()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = dict(item.split("=") for item in out.split())
    figures["steal_ms"] = f"{steal_ms() - stolen:.0f}"
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures["loadgen_cpu_us_per_call"] = f"{used * 1e6 / max(int(figures['requests']), 1):.1f}"
    return figures


def loadgen_ours(pid, request_file, seconds, connections, rate=None):
    """loadgen's figures against the rampart server `pid`, plus its CPU time per call
    (user + system, the audit writer's drain of what the phase queued included, which
    it waits for): a figure that follows rampart's code more closely than a rate does
    on a VM whose host takes its vCPUs away (steal is not charged to the process)."""
    before = cpu_ticks(pid)
    figures = loadgen(request_file, seconds, connections, rate)
    figures["drain_s"] = f"{wait_idle(pid):.1f}"
    calls = max(float(figures["requests_per_s"]) * seconds, 1)
    seconds_used = (cpu_ticks(pid) - before) / os.sysconf("SC_CLK_TCK")
    figures["cpu_us_per_call"] = f"{seconds_used * 1e6 / calls:.1f}"
    return figures


def report(name, figures, prefix="load"):
    keys = ("loadgen_cpu_us_per_call", "cpu_us_per_call", "drain_s")
    extra = "".join(f" {key}={figures[key]}" for key in keys if key in figures)
    print(f"{prefix}/{name} requests_per_s={figures['requests_per_s']} p50_us={figures['p50_us']} "
          f"p99_us={figures['p99_us']} errors={figures['errors']} steal_ms={figures['steal_ms']}{extra}",
          flush=True)


def write_health_request(url, path):
    """A request file for rampart's `/_rampart/health` (unsigned: it answers anyone)."""
    host = url.split("//", 1)[1].rstrip("/")
    json.dump({"method": "GET", "url": url.rstrip("/") + "/_rampart/health",
               "headers": [["Host", host]], "body": ""}, open(path, "w"))


def cpu_ticks(pid):
    """User + system clock ticks the process has used so far."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_idle(pid, timeout=120):
    """Waits until the process uses under 5% of a CPU over half a second (rampart's
    audit writer draining its queue after a load phase), so that one phase's backlog
    does not weigh on the next; returns the seconds waited."""
    hz = os.sysconf("SC_CLK_TCK")
    started = time.monotonic()
    before = cpu_ticks(pid)
    while time.monotonic() - started < timeout:
        time.sleep(0.5)
        now = cpu_ticks(pid)
        if (now - before) / hz < 0.025:
            break
        before = now
    return time.monotonic() - started


def stop(work, *servers):
    """Stops the servers and removes the run's work directory (a load run leaves a store
    of a gigabyte or more behind, and runs add up)."""
    running = [server for server in servers if server]
    for server in running:
        server.terminate()
    for server in running:
        server.wait(timeout=60)
    shutil.rmtree(work, ignore_errors=True)


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    add_build_argument(parser)
    args = parser.parse_args()

    rampart = build(args, "rampart")
    python = bench_python()
    work, env, key, secret = init_store(rampart, "rampart-bench-")

    started = time.monotonic()
    server, port = serve(rampart, work, env)
    moto = None
    try:
        wait_healthy(f"http://127.0.0.1:{port}/_rampart/health", server)
        startup_ms = (time.monotonic() - started) * 1000
        time.sleep(1)
        print(f"rampart/startup_ms={startup_ms:.0f} rampart/idle_rss_mb={rss_mb(server.pid):.1f}", flush=True)

        moto_port = free_port()
        moto = start_server([str(VENV / "bin" / "moto_server"), "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(f"http://127.0.0.1:{moto_port}/moto-api/", moto)

        sign(python, f"http://127.0.0.1:{port}/", key, secret, work / "rampart.json")
        sign(python, f"http://127.0.0.1:{moto_port}/", "AKIAMOTOBENCH", "secret", work / "moto.json")

        # Read-only calls are audited by a group-committing writer with a bounded queue:
        # the time it takes to go idle (drain_s) is the backlog a phase left behind.
        peak = loadgen_ours(server.pid, work / "rampart.json", args.seconds, args.connections)
        report("rampart/peak", peak)
        print(f"rampart/rss_after_peak_mb={rss_mb(server.pid):.1f}", flush=True)
        # The floor: rampart's `/_rampart/health`, which does nothing, at its own peak
        # and at half of it, beside GetCallerIdentity at half of its peak, round by round.
        write_health_request(f"http://127.0.0.1:{port}/", work / "health.json")
        noop_peak = loadgen_ours(server.pid, work / "health.json", args.seconds, args.connections)
        report("rampart-health/peak", noop_peak)
        half = float(peak["requests_per_s"]) / 2
        noop_half = float(noop_peak["requests_per_s"]) / 2
        p99s, floors = [], []
        for round_ in range(1, args.rounds + 1):
            at_half = loadgen_ours(server.pid, work / "rampart.json", args.seconds, args.connections,
                                   rate=half)
            report(f"rampart/half-peak-{round_}", at_half)
            print(f"rampart/rss_after_load_mb={rss_mb(server.pid):.1f}", flush=True)
            floor = loadgen(work / "health.json", args.seconds, args.connections, rate=noop_half)
            report(f"rampart-health/half-peak-{round_}", floor)
            p99s.append(int(at_half["p99_us"]))
            floors.append(int(floor["p99_us"]))
        print(f"load/half-peak p99_us_median={statistics.median(p99s):.0f} "
              f"noop_floor_p99_us_median={statistics.median(floors):.0f}", flush=True)
        # moto's server is single-threaded behind Python's GIL and closes every
        # connection: more connections only queue (and at 32, SYN retries add seconds
        # to its tail). Its peak is its best over a few connection counts.
        moto_runs = []
        for connections in sorted({1, 4, args.connections}):
            figures = loadgen(work / "moto.json", args.seconds, connections)
            report(f"moto/peak-c{connections}", figures)
            moto_runs.append(figures)
        moto_peak = max(moto_runs, key=lambda f: float(f["requests_per_s"]))
        ratio = float(peak["requests_per_s"]) / max(float(moto_peak["requests_per_s"]), 1e-9)
        print(f"load/ratio rampart_over_moto={ratio:.1f}")
    finally:
        stop(work, server, moto)


if __name__ == "__main__":
    main()
