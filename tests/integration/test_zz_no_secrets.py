"""Runs last (file order): nothing the binary printed in this session contains a secret or a signature.

Every integration test runs the binary through run_smartvault, which keeps everything it printed. Tests that
hand the binary a secret register it in secrets_registry; here we grep for each, and for the shapes of an
Authorization header and a presigned signature.
"""

import re

import secrets_registry

SIGNATURE_SHAPES = [
    re.compile(r"AWS4-HMAC-SHA256 Credential="),
    re.compile(r"Signature=[0-9a-f]{64}"),
    re.compile(r"X-Amz-Signature=[0-9a-f]{64}"),
    re.compile(r"(?i)x-amz-security-token[:=]\s*\S{16,}"),
]


def test_no_secret_or_signature_in_any_output(smartvault_output):
    assert smartvault_output, "no binary output was recorded: the secret check would prove nothing"
    leaks = []
    for run in smartvault_output:
        text = run["stdout"] + run["stderr"]
        for secret in secrets_registry.SECRETS:
            if secret in text:
                leaks.append((run["test"], "registered secret"))
        for shape in SIGNATURE_SHAPES:
            # `debug sign` exists to print signatures: its own output is exempt.
            if run["args"][:2] != ["debug", "sign"] and shape.search(text):
                leaks.append((run["test"], shape.pattern))
    assert not leaks, leaks
    print(f"checked {len(smartvault_output)} runs for {len(secrets_registry.SECRETS)} registered secrets")
