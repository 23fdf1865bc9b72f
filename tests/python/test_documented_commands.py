"""Every command that README.md and docs/*.md show, run as a reader would run it.

The ```sh blocks are read from the files themselves, so a command that a document shows
but the binary lacks (or that fails as written) fails here. `rampart` commands (written
`cargo run [--release] -p rampart -- …` or `rampart …`) run against the debug binary
(RAMPART_BIN), in a temporary directory that holds the files they name; aws-cli commands
run with a config of their own pointing at the test server, on a machine with no default
region. The few commands that are not rampart's or aws-cli's (the test and build scripts,
cargo fuzz and bench) are named in SKIPPED with the reason. Inline mentions such as
`rampart audit verify` must be subcommands the binary has.
"""

import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from conftest import REPO, Rampart, free_port, rampart_bin

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# Commands shown in the documents that this test does not run, by prefix, with why.
SKIPPED = {
    "./scripts/test": "runs every test, this one included",
    "./scripts/build-release": "a profile-guided release build (minutes); CI's release job",
    "./scripts/fuzz": "fuzzing for minutes; scripts/test runs it for 15 s a target",
    "cargo bench": "benchmarks, not documentation",
    "cargo test": "the Rust tests, which scripts/test runs",
    "export CARGO_TARGET_DIR": "a build setting",
    "RAMPART_TEST_DATABASE_URL=": "the Rust tests against PostgreSQL, which scripts/test runs",
    "python3 scripts/import-models.py": "rewrites the checked-in service models",
    "curl --aws-sigv4": "needs an OIDC provider and a JWKS; test_federation.py makes that call",
}

RAMPART = re.compile(r"^(?:cargo run (?:--release )?-p rampart --|rampart)(?= )")
DOCUMENTED_PORT = "127.0.0.1:4566"

# The files the documented commands name.
MY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:GetUser",
                   "Resource": "arn:aws:iam::111122223333:user/${aws:username}"}],
}


def sh_blocks(path):
    return re.findall(r"```(?:sh|bash|shell)\n(.*?)```", path.read_text(), re.S)


def commands(block):
    """The block's commands: continuation lines and multi-line quotes joined."""
    out, pending = [], ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending = f"{pending}\n{line}" if pending else line
        if pending.endswith("\\"):  # bash joins the lines
            continue
        try:
            shlex.split(pending, comments=True)
        except ValueError:  # an open quote: the command goes on
            continue
        out.append(pending.strip())
        pending = ""
    assert not pending, f"unterminated command: {pending}"
    return out


def expectation(command):
    """(command without its trailing comment, the error code the comment names or None)."""
    m = re.search(r"\s#\s*([^'\"#]*)$", command)
    if not m:
        return command, None
    note = m.group(1).strip()
    error = note if re.fullmatch(r"[A-Z][A-Za-z]+", note) and note != "allowed" else None
    return command[:m.start()].rstrip(), error


def documented_commands():
    found = []
    for doc in DOCUMENTS:
        for block in sh_blocks(doc):
            found.extend((doc.relative_to(REPO), c) for c in commands(block))
    return found


class Reader:
    """A reader's shell: a temporary directory, aws-cli config files of its own and the
    variables earlier commands assigned."""

    def __init__(self, tmp_path):
        self.binary = rampart_bin()
        self.cwd = tmp_path
        venv_bin = str(pathlib.Path(sys.executable).parent)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("AWS_") and k != "RAMPART_DATA_DIR"}
        self.env.update(
            PATH=f"{venv_bin}:{self.env.get('PATH', '')}",
            AWS_CONFIG_FILE=str(tmp_path / "aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "aws-credentials"),
            RAMPART_BIN=self.binary,
        )
        self.server = None

    def rewrite(self, command):
        command = RAMPART.sub('"$RAMPART_BIN"', command)
        if self.server:
            command = command.replace(DOCUMENTED_PORT, f"127.0.0.1:{self.server.port}")
        return command

    def serve(self, command):
        """`rampart serve` as documented, on a free port, on the documented default data
        dir (./rampart-data), which `init` and `audit verify` then find."""
        args = shlex.split(RAMPART.sub("", command))
        assert args[0] == "serve", command
        data_dir = self.cwd / "rampart-data"
        data_dir.mkdir(exist_ok=True)
        self.server = Rampart(self.binary, data_dir, self.env, args[1:]).start()

    def run(self, command):
        command = self.rewrite(command)
        if re.search(r'"\$RAMPART_BIN" init\b', command) and "--endpoint-url" not in command:
            command += f" --endpoint-url {self.server.endpoint}"
        assignment = re.fullmatch(r"([A-Z_]+)=(\$\(.*\))", command, re.S)
        if assignment:
            name, value = assignment.groups()
            result = self.shell(f'{name}={value}; printf %s "${name}"')
            self.env[name] = result.stdout
            return result
        return self.shell(command)

    def shell(self, script):
        return subprocess.run(["bash", "-c", script], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=120)

    def close(self):
        if self.server:
            self.server.stop()


def test_the_documents_show_commands():
    shown = documented_commands()
    assert any(RAMPART.match(c) for _, c in shown), shown
    assert any(c.startswith("aws ") for _, c in shown), shown


def test_every_documented_command_runs(tmp_path):
    (tmp_path / "my-policy.json").write_text(json.dumps(MY_POLICY))
    request = re.search(r"## REQUEST\.json.*?```json\n(.*?)```",
                        (REPO / "docs/policy.md").read_text(), re.S)
    assert request, "docs/policy.md shows no REQUEST.json example"
    (tmp_path / "request.json").write_text(request.group(1))

    reader = Reader(tmp_path)
    ran, failures = 0, []
    try:
        for doc, shown in documented_commands():
            if any(shown.startswith(prefix) for prefix in SKIPPED):
                continue
            command, error = expectation(shown)
            is_rampart = RAMPART.match(command)
            is_aws = re.match(r"^(?:[A-Z_]+=\$\()?aws ", command)
            if not (is_rampart or is_aws):
                failures.append(f"{doc}: neither rampart nor aws-cli, and not in SKIPPED: {shown}")
                continue
            if is_rampart and shlex.split(RAMPART.sub("", command))[0] == "serve":
                reader.serve(command)
                ran += 1
                continue
            if reader.server is None:
                failures.append(f"{doc}: needs a server, but no `serve` is shown before: {shown}")
                continue
            result = reader.run(command)
            ran += 1
            output = result.stdout + result.stderr
            if error is None and result.returncode != 0:
                failures.append(f"{doc}: exit {result.returncode}: {shown}\n{output}")
            elif error is not None and (result.returncode == 0 or error not in output):
                failures.append(f"{doc}: expected {error}: {shown}\n{output}")
    finally:
        reader.close()
    assert not failures, "\n\n".join(failures)
    assert ran >= 15, ran


def test_inline_rampart_commands_exist():
    """`rampart audit verify`, `rampart policy validate|eval`, … as written in prose."""
    binary = rampart_bin()
    mentioned = set()
    for doc in DOCUMENTS:
        for m in re.finditer(r"`rampart ((?:[a-z][a-z|-]*)(?: [a-z][a-z|-]*)*)", doc.read_text()):
            words = m.group(1).split()
            for i, word in enumerate(words):
                for alternative in word.split("|"):
                    mentioned.add(tuple(words[:i]) + (alternative,))
    assert ("policy", "eval") in mentioned and ("serve",) in mentioned, mentioned
    missing = []
    for path in sorted(mentioned):
        result = subprocess.run([binary, *path, "--help"], capture_output=True, text=True,
                                timeout=30)
        if result.returncode != 0:
            missing.append(f"rampart {' '.join(path)}: {result.stderr.strip()}")
    assert not missing, "\n".join(missing)
