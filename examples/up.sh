#!/usr/bin/env bash
# Bring up what the examples need on a fresh machine (Debian/Ubuntu, as root); safe to run again:
# the Docker engine if its socket does not answer, a registry on 127.0.0.1:5000, a python3 base
# image (Debian 12 by debootstrap, about a minute the first time, cached after) pushed there as
# 127.0.0.1:5000/base/python3-debian:bookworm, and a pip wheelhouse on 127.0.0.1:8000.
#
# The services live in ${DISPATCH_SERVICES_DIR:-/tmp/dispatch-quickstart}, apart from the tests'
# /tmp/dispatch-services. Stop them with
#   DISPATCH_SERVICES_DIR=/tmp/dispatch-quickstart .ci/python-base stop; ... .ci/services stop
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DISPATCH_SERVICES_DIR="${DISPATCH_SERVICES_DIR:-/tmp/dispatch-quickstart}"
export DISPATCH_REGISTRY_PORT=5000   # examples/*/base-images.yaml name 127.0.0.1:5000
export DISPATCH_PIP_PORT=8000        # examples/*/dispatch.toml name the wheelhouse on :8000
export DISPATCH_SERVICES_ONLY=registry  # none of the tests' registries and images

bash "$ROOT/.ci/python-base" >/dev/null
echo "==> up: registry 127.0.0.1:5000, wheelhouse http://127.0.0.1:8000/ (services in $DISPATCH_SERVICES_DIR)" >&2
