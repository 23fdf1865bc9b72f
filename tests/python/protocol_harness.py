"""Helpers for test_protocol_botocore.py: the rampart protocol harness process, a
value generator driven by botocore shapes, and normalisation to rampart's canonical
form (blobs base64, timestamps epoch seconds).

The generator respects required members, enums, length and value ranges, and makes
strings that match the shape's pattern by walking the parsed regex (sre_parse).
"""

import base64
import datetime
import json
import os
import pathlib
import re
import subprocess

try:  # Python 3.11+
    import re._parser as sre_parse
    import re._constants as sre_c
except ImportError:  # pragma: no cover
    import sre_parse
    import sre_constants as sre_c

import botocore.model

REPO = pathlib.Path(__file__).resolve().parents[2]
EC2_FIXTURE = REPO / "crates" / "protocol" / "tests" / "fixtures" / "ec2.json"
EPOCH = datetime.datetime(2026, 11, 23, 16, 50, 7, tzinfo=datetime.timezone.utc)


class Harness:
    """`protocol_harness` as a subprocess speaking JSON lines."""

    def __init__(self):
        target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        subprocess.run(
            ["cargo", "build", "--quiet", "-p", "rampart-protocol", "--example", "protocol_harness"],
            cwd=REPO,
            check=True,
        )
        exe = target / "debug" / "examples" / "protocol_harness"
        self.proc = subprocess.Popen(
            [str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )

    def call(self, cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("protocol_harness exited")
        out = json.loads(line)
        if "harness_error" in out:
            raise RuntimeError(out["harness_error"])
        return out

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def ec2_model():
    with open(EC2_FIXTURE, encoding="utf-8") as f:
        return botocore.model.ServiceModel(json.load(f), service_name="ec2")


# ---------------------------------------------------------------- regex generation

PREFERRED = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_./:@=+, "


def _class_char(items):
    negate = any(op == sre_c.NEGATE for op, _ in items)

    def member(ch):
        c = ord(ch)
        for op, av in items:
            if op == sre_c.LITERAL and av == c:
                return True
            if op == sre_c.RANGE and av[0] <= c <= av[1]:
                return True
            if op == sre_c.CATEGORY:
                if av == sre_c.CATEGORY_DIGIT and ch.isdigit():
                    return True
                if av == sre_c.CATEGORY_WORD and (ch.isalnum() or ch == "_"):
                    return True
                if av == sre_c.CATEGORY_SPACE and ch.isspace():
                    return True
                if av == sre_c.CATEGORY_NOT_SPACE and not ch.isspace():
                    return True
                if av == sre_c.CATEGORY_NOT_DIGIT and not ch.isdigit():
                    return True
        return False

    for ch in PREFERRED:
        if member(ch) != negate:
            return ch
    for op, av in items:
        if op == sre_c.LITERAL:
            return chr(av)
        if op == sre_c.RANGE:
            return chr(av[0])
    return "a"


def _gen(parsed, reps):
    out = []
    for op, av in parsed:
        if op == sre_c.LITERAL:
            out.append(chr(av))
        elif op == sre_c.NOT_LITERAL:
            out.append("a" if av != ord("a") else "b")
        elif op == sre_c.ANY:
            out.append("a")
        elif op == sre_c.IN:
            out.append(_class_char(av))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            hi = lo + 1000 if hi == sre_c.MAXREPEAT else hi
            n = max(lo, min(hi, reps))
            out.extend(_gen(sub, reps) for _ in range(n))
        elif op == sre_c.SUBPATTERN:
            out.append(_gen(av[-1], reps))
        elif op == sre_c.BRANCH:
            out.append(_gen(av[1][0], reps))
        elif op == sre_c.CATEGORY:
            out.append("0" if av == sre_c.CATEGORY_DIGIT else "a")
        # AT (anchors), ASSERT and the like produce nothing.
    return "".join(out)


def string_for(shape):
    lo = int(shape.metadata.get("min", 0) or 0)
    hi = shape.metadata.get("max")
    hi = int(hi) if hi is not None else None
    pattern = shape.metadata.get("pattern")

    def ok(s):
        if len(s) < lo or (hi is not None and len(s) > hi):
            return False
        if pattern:
            try:
                return re.fullmatch(pattern, s) is not None
            except re.error:
                return True
        return True

    if pattern:
        try:
            parsed = sre_parse.parse(pattern)
        except re.error:
            parsed = None
        if parsed is not None:
            extra = [lo] + ([hi] if hi is not None and hi < 200 else [])
            for reps in (1, 0, 2, 3, 5, 8, 13, 20, 32, 64, *extra):
                s = _gen(parsed, reps)
                if ok(s):
                    return s
    n = max(lo, 3)
    if hi is not None:
        n = min(n, hi)
    s = ("abcdefghij" * (n // 10 + 1))[:n]
    return s


# ---------------------------------------------------------------- value generation


def generate(shape, depth=0, stack=()):
    """A valid value for `shape`, as botocore's serializers take it."""
    t = shape.type_name
    if t == "structure":
        out = {}
        required = set(shape.required_members)
        for name, member in shape.members.items():
            if member.serialization.get("eventstream") or member.metadata.get("deprecated"):
                if name not in required:
                    continue
            recursive = member.name in stack
            nested = member.type_name in ("structure", "list", "map")
            if name not in required and nested and (depth >= 4 or recursive):
                continue
            out[name] = generate(member, depth + 1, stack + (shape.name,))
        return out
    if t == "list":
        lo = int(shape.metadata.get("min", 0) or 0)
        n = max(lo, 1)
        if shape.metadata.get("max") is not None:
            n = min(n, int(shape.metadata["max"]))
        member = shape.member
        if member.type_name == "string" and member.enum:
            # Distinct enum values where the list allows several.
            return [member.enum[i % len(member.enum)] for i in range(n)]
        return [generate(member, depth + 1, stack) for _ in range(n)]
    if t == "map":
        k = generate(shape.key, depth + 1, stack)
        return {k: generate(shape.value, depth + 1, stack)}
    if t == "string":
        if shape.enum:
            return shape.enum[0]
        if shape.serialization.get("jsonvalue"):
            return '{"a":1}'
        return string_for(shape)
    if t in ("integer", "long"):
        lo = shape.metadata.get("min")
        hi = shape.metadata.get("max")
        v = 7
        if lo is not None:
            v = max(v, int(lo))
        if hi is not None:
            v = min(v, int(hi))
        return v
    if t in ("float", "double"):
        lo = shape.metadata.get("min")
        hi = shape.metadata.get("max")
        v = 1.5
        if lo is not None:
            v = max(v, float(lo))
        if hi is not None:
            v = min(v, float(hi))
        return v
    if t == "boolean":
        return True
    if t == "blob":
        lo = int(shape.metadata.get("min", 0) or 0)
        return b"blob-data" + b"x" * max(0, lo - 9)
    if t == "timestamp":
        return EPOCH
    raise AssertionError(f"unhandled shape type {t}")


def canonical(shape, value):
    """botocore-side value -> rampart's canonical form."""
    t = shape.type_name
    if value is None:
        return None
    if t == "structure":
        return {
            k: canonical(shape.members[k], v)
            for k, v in value.items()
            if k in shape.members and v is not None
        }
    if t == "list":
        return [canonical(shape.member, v) for v in value]
    if t == "map":
        return {k: canonical(shape.value, v) for k, v in value.items()}
    if t == "blob":
        if isinstance(value, str):
            value = value.encode()
        return base64.b64encode(value).decode()
    if t == "timestamp":
        if isinstance(value, datetime.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=datetime.timezone.utc)
            ts = value.timestamp()
            return int(ts) if ts == int(ts) else round(ts, 3)
        return value
    if t in ("float", "double"):
        return float(value)
    if t == "string" and shape.serialization.get("jsonvalue") and not isinstance(value, str):
        return json.dumps(value, separators=(",", ":"))
    return value


def numbers_equal(a, b):
    """Deep equality where numbers compare as floats."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(numbers_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(numbers_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-6
    return a == b
