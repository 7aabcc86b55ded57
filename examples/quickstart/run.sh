#!/usr/bin/env bash
# The quick start, end to end on a fresh machine (as root): bring up what is missing (the Docker
# engine, a registry on 127.0.0.1:5000, a python3 base image, a pip wheelhouse), build dispatch,
# then plan and apply this directory. Safe to run again: the second apply finds nothing to do.
# The first run takes about five minutes on 2 cores, most of it compiling; later runs seconds.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
say() { printf '==> %s\n' "$*" >&2; }

# The services come up while dispatch compiles: one waits on the network, the other on the cores.
say "services: the Docker engine, a registry and a python3 base (about a minute the first time), in the background"
bash "$ROOT/examples/up.sh" &
services=$!
# The dev profile, the one the tests share: `.ci/run` after this reuses every compiled crate.
say "building dispatch (target/debug/dispatch): about three minutes the first time on 2 cores, seconds after"
cargo build --locked --bin dispatch --manifest-path "$ROOT/Cargo.toml"
DISPATCH="$ROOT/target/debug/dispatch"
say "waiting for the services"
wait "$services" || { say "the services did not come up (see above)"; exit 1; }

cd "$HERE"
say "dispatch plan"
"$DISPATCH" plan
say "dispatch apply --auto-approve"
"$DISPATCH" apply --auto-approve
"$DISPATCH" get base-images
"$DISPATCH" get images
say "done. The registry and the wheelhouse keep running for the next run; stop them with examples/down.sh"
