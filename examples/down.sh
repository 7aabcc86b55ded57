#!/usr/bin/env bash
# Stop what examples/up.sh (and so examples/quickstart/run.sh) left running: the registry on
# 127.0.0.1:5000 and the pip wheelhouse on 127.0.0.1:8000. The Docker engine, the images and
# the cached base image stay; examples/up.sh brings the rest back in seconds.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DISPATCH_SERVICES_DIR="${DISPATCH_SERVICES_DIR:-/tmp/dispatch-quickstart}"
bash "$ROOT/.ci/python-base" stop
bash "$ROOT/.ci/services" stop
