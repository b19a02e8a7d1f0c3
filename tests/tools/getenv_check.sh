#!/usr/bin/env bash
# tests/tools/getenv_check.sh - only the configuration reads the process environment (issue: "nothing outside
# src/cfg/ and the credential providers reads the environment").
#
# Fails with one line per offender when a file under src/ outside src/cfg/ and the credential providers
# (src/aws/creds_*.c) calls getenv/secure_getenv/setenv/putenv/unsetenv or names `environ` (main.c alone may
# declare `environ` to hand it to the commands). Usage: tests/tools/getenv_check.sh [SRC_DIR]   (default: src)
set -euo pipefail
src=${1:-src}
hits=$(grep -rnE '\b(secure_)?getenv[[:space:]]*\(|\b(setenv|putenv|unsetenv|clearenv)[[:space:]]*\(|\benviron\b' \
    --include='*.c' --include='*.h' "$src" |
    grep -vE "^$src/cfg/|^$src/aws/creds_[a-z_]+\.c:" |
    grep -vE "^$src/main\.c:[0-9]+:.*\benviron\b" |
    grep -vE ':[0-9]+:[[:space:]]*(/?\*|//)' || true)
if [[ -n "$hits" ]]; then
    echo "getenv: only src/cfg/ and the credential providers read the environment (use struct cfg / cfg_env_get):"
    echo "$hits"
    exit 1
fi
echo "getenv: ok (no environment reads outside src/cfg/ and the credential providers)"
