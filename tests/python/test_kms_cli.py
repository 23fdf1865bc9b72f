"""KMS through aws-cli, as a person would use it: a key with an alias, a file encrypted
and decrypted with fileb://, and a disabled key refusing to decrypt."""

import base64
import json
import subprocess


def aws(workspace, *args, check=True):
    out = subprocess.run(["aws", "--profile", "rampart", "--output", "json", *args],
                         env=workspace.env, capture_output=True, timeout=60)
    if check:
        assert out.returncode == 0, out.stderr.decode()
    return out


def test_encrypt_and_decrypt_a_file(workspace, tmp_path):
    server = workspace.serve()
    workspace.init(endpoint=server.endpoint)
    key = json.loads(aws(workspace, "kms", "create-key", "--description", "cli").stdout)[
        "KeyMetadata"]
    aws(workspace, "kms", "create-alias", "--alias-name", "alias/cli-test",
        "--target-key-id", key["KeyId"])
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"the launch codes\n")
    encrypted = json.loads(aws(workspace, "kms", "encrypt", "--key-id", "alias/cli-test",
                               "--plaintext", f"fileb://{secret}",
                               "--encryption-context", "purpose=test").stdout)
    assert encrypted["KeyId"] == key["Arn"]
    blob = tmp_path / "secret.enc"
    blob.write_bytes(base64.b64decode(encrypted["CiphertextBlob"]))
    decrypted = json.loads(aws(workspace, "kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                               "--encryption-context", "purpose=test").stdout)
    assert base64.b64decode(decrypted["Plaintext"]) == b"the launch codes\n"

    wrong = aws(workspace, "kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                "--encryption-context", "purpose=other", check=False)
    assert wrong.returncode != 0 and b"InvalidCiphertextException" in wrong.stderr
    aws(workspace, "kms", "disable-key", "--key-id", key["KeyId"])
    disabled = aws(workspace, "kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                   "--encryption-context", "purpose=test", check=False)
    assert disabled.returncode != 0 and b"DisabledException" in disabled.stderr
    state = json.loads(aws(workspace, "kms", "describe-key", "--key-id", "alias/cli-test").stdout)
    assert state["KeyMetadata"]["KeyState"] == "Disabled"
