#!/usr/bin/env bash
# Quick-start bring-up for a fresh machine (Debian/Ubuntu, as root). Safe to run again.
#
#   examples/up.sh          # Docker engine, a registry on 127.0.0.1:5000, the quickstart base
#   examples/up.sh python   # also examples/python: a real python3 base image (debootstrap,
#                           # about a minute the first time) and a pip wheelhouse on :8000
#
# The services live in ${DISPATCH_SERVICES_DIR:-/tmp/dispatch-quickstart}, apart from the CI's
# /tmp/dispatch-services, so this never moves a test registry. Stop them with
#   DISPATCH_SERVICES_DIR=/tmp/dispatch-quickstart .ci/services stop   (and .ci/python-base stop)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DISPATCH_SERVICES_DIR="${DISPATCH_SERVICES_DIR:-/tmp/dispatch-quickstart}"
export DISPATCH_REGISTRY_PORT=5000   # examples/*/base-images.yaml name 127.0.0.1:5000
QUICKSTART_BASE=127.0.0.1:5000/dispatch/python3-base:1   # examples/quickstart/base-images.yaml

say() { printf '==> up: %s\n' "$*" >&2; }
case ${1:-} in '' | python) ;; *) echo "usage: $0 [python]" >&2; exit 2 ;; esac

bash "$ROOT/.ci/services" >/dev/null
# shellcheck disable=SC1091
. "$DISPATCH_SERVICES_DIR/env"

# The quickstart base: the busybox test base under the name the quickstart declares. A shell,
# not a Python: enough to plan and to build images without dependencies.
if curl -sf --noproxy '*' --max-time 5 -o /dev/null \
        -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        "http://127.0.0.1:5000/v2/dispatch/python3-base/manifests/1"; then
    say "$QUICKSTART_BASE is in the registry"
else
    docker image inspect "$DISPATCH_TEST_BASE" >/dev/null 2>&1 || docker pull -q "$DISPATCH_TEST_BASE" >/dev/null
    docker tag "$DISPATCH_TEST_BASE" "$QUICKSTART_BASE"
    say "docker push $QUICKSTART_BASE"
    docker push -q "$QUICKSTART_BASE" >/dev/null
fi

if [[ ${1:-} == python ]]; then
    DISPATCH_PIP_PORT=8000 bash "$ROOT/.ci/python-base" >/dev/null
fi

cat <<EOF

Ready: registry 127.0.0.1:5000 (services in $DISPATCH_SERVICES_DIR).
Next:
  cargo run --release -- plan examples/quickstart
  cargo run --release -- apply examples/quickstart --target Image/no-deps
EOF
if [[ ${1:-} == python ]]; then
    cat <<EOF
  cd examples/python && cargo run --release -- apply --auto-approve   # pip installs from :8000
EOF
else
    echo "  $0 python   # then examples/python installs real dependencies (see its README)"
fi
