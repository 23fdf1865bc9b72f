#!/usr/bin/env python3
"""Import the AWS service models rampart speaks from botocore's data folder.

Reads botocore's ``data/<service>/<version>/service-2.json(.gz)`` for each service
rampart implements, strips every ``documentation``/``documentationUrl`` field (and any
examples), and writes compact JSON to ``crates/protocol/models/<service>.json`` plus a
``NOTICE`` with botocore's Apache-2.0 notice, the botocore version and the import date.

Usage:  python3 scripts/import-models.py [--out DIR]
Works with any Python that has botocore importable (pin: botocore==1.43.11, see
tests/python/requirements.txt).
"""

import argparse
import datetime
import gzip
import json
import os
import sys

SERVICES = ["iam", "sts", "organizations", "kms", "cloudtrail", "guardduty"]
# A handful of EC2 operations (lists, nested structures, timestamps, blobs, integers)
# so the ec2 protocol is tested without embedding EC2's 765 operations.
EC2_FIXTURE_OPS = [
    "DescribeRegions",
    "DescribeKeyPairs",
    "ImportKeyPair",
    "CreateTags",
    "DescribeTags",
    "DescribeInstanceStatus",
    "DescribeSecurityGroups",
]
EC2_FIXTURE = os.path.join("crates", "protocol", "tests", "fixtures", "ec2.json")
STRIP = {"documentation", "documentationUrl", "examples", "deprecatedMessage"}


def strip(node, names=False):
    """Drop documentation keys; `names` marks dicts keyed by shape/member/operation
    names, whose keys are data (a member may be called "documentation")."""
    if isinstance(node, dict):
        return {
            k: strip(v, names=k in ("shapes", "members", "operations") and not names)
            for k, v in node.items()
            if names or k not in STRIP
        }
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def ec2_fixture(data_dir):
    _, model = latest_model(data_dir, "ec2")
    ops = {name: model["operations"][name] for name in EC2_FIXTURE_OPS}
    seen, stack = set(), []
    for op in ops.values():
        stack += [op[k]["shape"] for k in ("input", "output") if k in op]
        stack += [e["shape"] for e in op.get("errors", [])]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = model["shapes"][name]
        stack += [m["shape"] for m in shape.get("members", {}).values()]
        stack += [shape[k]["shape"] for k in ("member", "key", "value") if k in shape]
    shapes = {n: s for n, s in model["shapes"].items() if n in seen}
    return strip({"version": model.get("version"), "metadata": model["metadata"], "operations": ops, "shapes": shapes})


def latest_model(data_dir, service):
    versions = sorted(os.listdir(os.path.join(data_dir, service)))
    for version in reversed(versions):
        base = os.path.join(data_dir, service, version, "service-2.json")
        if os.path.exists(base + ".gz"):
            with gzip.open(base + ".gz", "rt", encoding="utf-8") as f:
                return version, json.load(f)
        if os.path.exists(base):
            with open(base, encoding="utf-8") as f:
                return version, json.load(f)
    raise SystemExit(f"no service-2.json for {service} under {data_dir}")


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(repo, "crates", "protocol", "models"))
    args = ap.parse_args()
    try:
        import botocore
    except ImportError:
        sys.exit("botocore is not importable: pip install botocore==1.43.11")
    data_dir = os.path.join(os.path.dirname(botocore.__file__), "data")
    os.makedirs(args.out, exist_ok=True)
    imported = []
    for service in SERVICES:
        version, model = latest_model(data_dir, service)
        model = strip(model)
        path = os.path.join(args.out, f"{service}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(model, f, separators=(",", ":"))
            f.write("\n")
        imported.append((service, version))
        print(f"{service} {version}: {len(model['operations'])} operations -> {path}")
    fixture = os.path.join(repo, EC2_FIXTURE)
    os.makedirs(os.path.dirname(fixture), exist_ok=True)
    with open(fixture, "w", encoding="utf-8") as f:
        json.dump(ec2_fixture(data_dir), f, separators=(",", ":"))
        f.write("\n")
    print(f"ec2 fixture: {len(EC2_FIXTURE_OPS)} operations -> {fixture}")
    today = datetime.date.today().isoformat()
    lines = [
        "The service models in this folder are derived from botocore",
        "(https://github.com/boto/botocore), Copyright Amazon.com, Inc. or its",
        "affiliates. All Rights Reserved. Licensed under the Apache License,",
        "Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0).",
        "",
        "Modifications: documentation strings and examples removed, JSON compacted.",
        f"botocore version: {botocore.__version__}",
        f"imported on: {today} by scripts/import-models.py",
        "",
        "models:",
    ]
    lines += [f"  {s}.json  <- botocore/data/{s}/{v}/service-2.json" for s, v in imported]
    lines += ["", f"The ec2 test fixture ({EC2_FIXTURE}) is a subset of", "botocore/data/ec2/2016-11-15/service-2.json under the same licence."]
    with open(os.path.join(args.out, "NOTICE"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
