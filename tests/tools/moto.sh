#!/usr/bin/env bash
# tests/tools/moto.sh - the AWS emulator for the integration tests: moto 5.1.1 from Debian 13, run on Debian 12's
# python3 (DESIGN.md §8).
#
# Downloads python3-moto (pinned with its SHA-256 in vendor/manifest) through the private apt configuration of
# vendor/aptpriv.sh, unpacks it with `dpkg -x` into $CACHE/moto-VERSION/root, and writes a stand-in for the
# Python module openapi_spec_validator (not packaged in Debian 12) into $CACHE/moto-VERSION/stub: moto's
# CloudFormation imports API Gateway, which imports that module; only API Gateway's OpenAPI import would call it.
#
# Prints the PYTHONPATH to start moto with:
#   PYTHONPATH=$(tests/tools/moto.sh) /usr/bin/python3 -m moto.server -H 127.0.0.1 -p PORT
# The Debian 12 packages moto needs (python3-boto3, python3-flask, ...) are installed by ./build.sh test.
set -euo pipefail
# shellcheck source=vendor/aptpriv.sh
source "$(dirname "$0")/../../vendor/aptpriv.sh"

version=$(manifest_field moto version)
sha=$(manifest_field moto sha256)
dest="$(sv_cache_dir)/moto-$version"

mkdir -p "$(sv_cache_dir)"
exec {lockfd}>"$dest.lock"
flock "$lockfd"
if [[ "$(cat "$dest/.complete" 2>/dev/null)" != "$sha" ]]; then
    deb=$(sv_fetch moto)
    rm -rf "$dest.tmp"
    mkdir -p "$dest.tmp/stub/openapi_spec_validator/validation"
    dpkg -x "$deb" "$dest.tmp/root"
    cat >"$dest.tmp/stub/openapi_spec_validator/__init__.py" <<'PY'
"""Stand-in for openapi-spec-validator, which Debian 12 does not package (written by tests/tools/moto.sh).

moto's CloudFormation imports its API Gateway backend, which imports this module at load time. Only an API
Gateway OpenAPI import would call validate_spec; SmartVault's tests never do, so it accepts every document.
"""


def validate_spec(spec, *args, **kwargs):
    return None


validate = validate_spec
PY
    : >"$dest.tmp/stub/openapi_spec_validator/validation/__init__.py"
    cat >"$dest.tmp/stub/openapi_spec_validator/validation/exceptions.py" <<'PY'
"""Stand-in for openapi_spec_validator.validation.exceptions (see the package's __init__)."""


class OpenAPIValidationError(Exception):
    pass
PY
    echo "$sha" >"$dest.tmp/.complete"
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
    echo "moto.sh: moto $version unpacked into $dest" >&2
fi

echo "$dest/root/usr/lib/python3/dist-packages:$dest/stub"
