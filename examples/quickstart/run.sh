#!/usr/bin/env bash
# The quick start, end to end on a fresh machine (as root): bring up what is missing (the Docker
# engine, a registry on 127.0.0.1:5000, a python3 base image, a pip wheelhouse), build dispatch,
# then plan and apply this directory. Safe to run again: the second apply finds nothing to do.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

bash "$ROOT/examples/up.sh"
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
DISPATCH="$ROOT/target/release/dispatch"

cd "$HERE"
"$DISPATCH" plan
"$DISPATCH" apply --auto-approve
"$DISPATCH" get base-image
"$DISPATCH" get image
