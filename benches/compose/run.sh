#!/usr/bin/env bash
# dispatch vs docker-compose (Debian's 1.29) building the same 20 images from the same
# Dockerfile and the same inputs, on the same Docker engine, each tool as it builds by default:
# dispatch with BuildKit, docker-compose with the engine's classic builder.
#
#   bash benches/compose/run.sh        # about 4-5 minutes on a 2-core machine
#
# Targets (exit 1 if either is missed, 2 if the benchmark itself failed):
#   (a) warm: `dispatch apply` with no changes is >= 20x faster than `docker-compose build`
#       with everything cached;
#   (b) cold: `dispatch apply --parallelism 2` is no slower than `docker-compose build --parallel`.
#
# Design, and why it is fair:
#   * One Dockerfile, one set of inputs. The Dockerfile is dispatch's `[templates]` override for
#     python3 (build args BASE_IMAGE, SYSTEM_PACKAGES_FILE, PACKAGES_FILE). Each compose service
#     gets a context dir holding exactly the files dispatch puts in its build context (Dockerfile,
#     packages.txt, system-packages.txt; mode 0644 and mtime 0 as in dispatch's tar) and the same
#     build args, with the base pinned by digest as dispatch pins it. The script checks this
#     after the cold runs: for every image, both tools' results must hold the same base layers,
#     the same labels and the same files written by the RUN step (read back from a container).
#   * Work per image: COPY both files, then one RUN with a CPU-bound shell loop (a few hundred
#     ms) that writes files. The inputs differ per image, so no image is a cache hit for another;
#     images on the same base share their first (metadata) steps, for both tools alike.
#   * Each tool's default builder. docker-compose 1.29 builds through docker-py, i.e. the
#     engine's classic builder (DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 make sure of that;
#     its BuildKit mode shells out to `docker build`, which needs the buildx plugin, not on
#     this machine). dispatch builds with BuildKit through the engine API (`[build] builder`,
#     default "buildkit"). For information, dispatch is also run with builder = "classic", so
#     the two builders can be told apart from the two tools.
#   * Cold means cold for both: before every cold run (hyperfine --prepare, not timed) every
#     image either tool built in this run (all carry the label dispatch.bench.run=<nonce>,
#     intermediate images included) is removed, `docker builder prune -af` runs (it empties
#     BuildKit's cache too), and dispatch's state is deleted. The two busybox bases stay pulled for both (dispatch still asks the
#     engine to pull them, as part of its cold apply). The nonce, in the label, the image names
#     and the inputs, makes every run of this script start with nothing cached.
#   * Parallelism as the targets state it: dispatch --parallelism 2; compose --parallel, which
#     in 1.29 builds 5 services at a time (limit=5 hard-coded in compose/project.py). For
#     information, the same at equal parallelism: dispatch at 5, and compose at 2
#     (COMPOSE_PARALLEL_LIMIT=2), and dispatch with the classic builder at 2 and at 5;
#     BENCH_EQUAL_RUNS=0 skips these.
#   * Warm: dispatch re-apply (refresh of both bases against the registry and of all 20 built
#     images against the engine, plan, "No changes.") vs `docker-compose build` with every step
#     cached. Not `build --parallel`: warm, its builds end so close together that it fails with
#     "Pool is closed" (below) more often than not (when it did not, it took about 1.9 s).
#   * Every timed command writes its output to a log file (the same cost for both tools); a
#     failing command's log is printed. docker-compose 1.29 --parallel sometimes fails with
#     "Pool is closed" (docker/compose#7179: each build thread closes the docker-py client the
#     others share); such a measurement is repeated (at most 3 times) and the repeats are counted.
#
# Knobs (environment): BENCH_IMAGES (20), BENCH_COLD_RUNS (3), BENCH_EQUAL_RUNS (1),
# BENCH_WARM_RUNS (10), BENCH_LOOP (loop iterations per image, 60000), BENCH_PARALLELISM (2),
# DISPATCH_BIN (else `cargo build --release` and ${CARGO_TARGET_DIR:-target}/release/dispatch;
# copied, so a concurrent build cannot swap it mid-run), BENCH_KEEP=1 keeps the temp dir and
# the images.
#
# Needs: a Docker engine and a registry with the busybox bases (.ci/services, sourced or run
# here), docker-compose, hyperfine and jq (installed with apt-get when missing). The engine
# should be otherwise idle: other builds on it skew the cold figures.
set -euo pipefail
shopt -s inherit_errexit

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMAGES=${BENCH_IMAGES:-20}
COLD_RUNS=${BENCH_COLD_RUNS:-3}
EQUAL_RUNS=${BENCH_EQUAL_RUNS:-1}
WARM_RUNS=${BENCH_WARM_RUNS:-10}
LOOP=${BENCH_LOOP:-60000}
PARALLELISM=${BENCH_PARALLELISM:-2}
COMPOSE_BUILDS_AT_ONCE=5   # docker-compose 1.29 `build --parallel`
WARM_TARGET=20             # (a): the warm speed-up must be at least this
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"

say() { printf '==> bench: %s\n' "$*" >&2; }
die() { printf '==> bench: ERROR: %s\n' "$*" >&2; exit 2; }
have() { command -v "$1" >/dev/null 2>&1; }

# --- tools and services -----------------------------------------------------------------------
missing=()
have hyperfine || missing+=(hyperfine)
have jq || missing+=(jq)
have docker-compose || missing+=(docker-compose)
if ((${#missing[@]})); then
    say "apt-get install -y ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -qq update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends "${missing[@]}" >/dev/null
fi
if [[ -z ${DISPATCH_TEST_BASE:-} || -z ${DISPATCH_TEST_BASE_2:-} ]]; then
    say "no DISPATCH_TEST_BASE in the environment: running .ci/services"
    eval "$(bash "$ROOT/.ci/services")"
fi
if [[ -z ${DISPATCH_BIN:-} ]]; then
    say "cargo build --release"
    (cd "$ROOT" && cargo build --release --quiet)
    DISPATCH_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/dispatch"
fi
[[ -x $DISPATCH_BIN ]] || die "no dispatch binary at $DISPATCH_BIN"

# --- inputs -----------------------------------------------------------------------------------
NONCE="$(date +%s)$$"
LABEL="dispatch.bench.run=$NONCE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dispatch-bench-compose.XXXXXX")
D="$WORK/dispatch" DC="$WORK/dispatch-classic" C="$WORK/compose" LOGS="$WORK/logs"
mkdir -p "$D" "$DC" "$C" "$LOGS"
cp "$DISPATCH_BIN" "$WORK/dispatch-bin"
DISPATCH_BIN="$WORK/dispatch-bin"

remove_images() { # every image (intermediate ones too) either tool built in this run
    local ids _
    for _ in 1 2 3 4 5 6 7 8; do
        ids=$(docker images -aq --filter "label=$LABEL" | sort -u)
        [[ -z $ids ]] && return 0
        # shellcheck disable=SC2086  # one id a word
        docker rmi -f $ids >/dev/null 2>&1 || true
    done
    [[ -z $(docker images -aq --filter "label=$LABEL") ]]
}
cleanup() {
    local rc=$?
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        say "kept $WORK and the images labelled $LABEL"
    else
        remove_images || say "some images labelled $LABEL could not be removed"
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The bases, pinned by digest as dispatch pins them; pulled once, for both tools.
BASE_1="${DISPATCH_TEST_BASE%:*}@${DISPATCH_TEST_BASE_DIGEST:?}"
BASE_2="${DISPATCH_TEST_BASE_2%:*}@${DISPATCH_TEST_BASE_2_DIGEST:?}"
for base in "$BASE_1" "$BASE_2"; do
    docker pull -q "$base" >/dev/null || die "cannot pull $base"
done

# The one Dockerfile. LABEL comes first so that every intermediate image carries the run's label.
# shellcheck disable=SC2016  # ${...} and $i are for docker build and the shell inside it
printf '%s\n' \
    'ARG BASE_IMAGE' \
    'FROM ${BASE_IMAGE}' \
    "LABEL $LABEL" \
    'ARG SYSTEM_PACKAGES_FILE' \
    'ARG PACKAGES_FILE' \
    'COPY ${SYSTEM_PACKAGES_FILE} ${PACKAGES_FILE} /deps/' \
    "RUN set -e; i=0; while [ \$i -lt $LOOP ]; do i=\$((i+1)); done; \\" \
    '    cd /deps; sha256sum *.txt > SHA256SUMS; wc -l *.txt > COUNTS; echo "$i" > done' \
    >"$D/Dockerfile.template"

{
    echo "parallelism = $PARALLELISM"
    echo '[templates]'
    echo 'python3 = "Dockerfile.template"'
} >"$D/dispatch.toml"
{
    for n in 1 2; do
        var="DISPATCH_TEST_BASE"; [[ $n == 2 ]] && var="DISPATCH_TEST_BASE_2"
        echo '---'
        echo 'kind: BaseImage'
        echo "name: bench-base-$n"
        echo "dockerUrl: ${!var}"
        echo 'language: python3'
    done
} >"$D/base-images.yaml"

compose_yml="$C/docker-compose.yml"
printf '%s\n' 'version: "3.7"' 'services:' >"$compose_yml"
for i in $(seq -w 1 "$IMAGES"); do
    name="bench-$NONCE-$i"
    base=$(( (10#$i % 2) + 1 ))
    pinned=$BASE_1; [[ $base == 2 ]] && pinned=$BASE_2
    manifest="bench-lib-$i==1.$((10#$i)).0"
    package="tool-$i" version="2.$((10#$i))"
    cat >>"$D/images.yaml" <<EOF
---
kind: Image
name: $name
baseImageName: bench-base-$base
runtimeDependencies:
  manifest: |
    $manifest
    run-$NONCE==1
systemDependencies:
  packages:
    - name: $package
      version: "$version"
EOF
    # Exactly what dispatch puts in the context of a template build.
    ctx="$C/ctx/$i"
    mkdir -p "$ctx"
    cp "$D/Dockerfile.template" "$ctx/Dockerfile"
    printf '%s\nrun-%s==1\n' "$manifest" "$NONCE" >"$ctx/packages.txt"
    printf '%s %s\n' "$package" "$version" >"$ctx/system-packages.txt"
    chmod 0644 "$ctx"/*
    touch -d @0 "$ctx"/*
    cat >>"$compose_yml" <<EOF
  s$i:
    image: dispatch-bench/compose-$NONCE-$i:latest
    build:
      context: ./ctx/$i
      args:
        BASE_IMAGE: "$pinned"
        SYSTEM_PACKAGES_FILE: system-packages.txt
        PACKAGES_FILE: packages.txt
EOF
done

# The same declarations, built with the classic builder (for information).
cp "$D/Dockerfile.template" "$D/base-images.yaml" "$D/images.yaml" "$DC/"
{ cat "$D/dispatch.toml"; echo '[build]'; echo 'builder = "classic"'; } >"$DC/dispatch.toml"

dispatch_apply() { # PARALLELISM LOG [DIR]
    echo "cd '${3:-$D}' && '$DISPATCH_BIN' --no-color apply --auto-approve --parallelism $1 . >'$LOGS/$2' 2>&1"
}
compose_build() { # LOG "ENV=VALUE ..." BUILD-ARGS...
    local log=$1 env=$2; shift 2
    echo "cd '$C' && env DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0 $env docker-compose -p dbench$NONCE build $* >'$LOGS/$log' 2>&1"
}
cat >"$WORK/prepare-cold.sh" <<EOF
set -euo pipefail
ids=""
for _ in 1 2 3 4 5 6 7 8; do
    ids=\$(docker images -aq --filter 'label=$LABEL' | sort -u)
    [ -z "\$ids" ] && break
    docker rmi -f \$ids >/dev/null 2>&1 || true
done
[ -z "\$ids" ]
docker builder prune -af >/dev/null 2>&1
rm -rf '$D/.dispatch' '$DC/.dispatch'
EOF

say "$IMAGES images in $WORK (run $NONCE): $("$DISPATCH_BIN" --version), docker-compose $(docker-compose version --short), engine $(docker version -f '{{.Server.Version}}'), $(nproc) cores"
say "dispatch builds with BuildKit, docker-compose with the classic builder (DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0)"
(cd "$D" && "$DISPATCH_BIN" validate . >/dev/null) || die "dispatch rejects the generated declarations"
(cd "$C" && docker-compose -p "dbench$NONCE" config -q) || die "docker-compose rejects the generated docker-compose.yml"

RETRIES=0
measure() { # NAME LABEL COMMAND HYPERFINE-ARGS...: one command, results in $WORK/NAME.json
    local name=$1 label=$2 command=$3 attempt log
    shift 3
    for attempt in 1 2 3 4; do
        if hyperfine --style basic --export-json "$WORK/$name.json" "$@" -n "$label" "$command" >&2; then
            return 0
        fi
        # shellcheck disable=SC2012  # our own plain file names
        log=$(ls -t "$LOGS"/* 2>/dev/null | head -n1)
        if [[ -n $log ]] && grep -q 'Pool is closed' "$log" && ((attempt < 4)); then
            # docker-compose 1.29's --parallel race (docker/compose#7179): each build closes the
            # docker-py client the other build threads share. Not a timing: measure again.
            say "docker-compose failed with 'Pool is closed' (its --parallel race, docker/compose#7179): measuring '$label' again"
            RETRIES=$((RETRIES + 1))
            continue
        fi
        [[ -n $log ]] && { say "last output ($log):"; tail -n 30 "$log" >&2; }
        die "'$label' failed"
    done
}
mean() { jq -r '.results[0].mean' "$WORK/$1.json"; }
stddev() { jq -r '.results[0].stddev // 0' "$WORK/$1.json"; }
COLD=(--runs "$COLD_RUNS" --prepare "bash '$WORK/prepare-cold.sh'")
EQUAL=(--runs "$EQUAL_RUNS" --prepare "bash '$WORK/prepare-cold.sh'")
WARM=(--warmup 1 --runs "$WARM_RUNS")

# --- cold -------------------------------------------------------------------------------------
say "cold: $COLD_RUNS runs each; before every run all of this run's images, the builder cache and dispatch's state are removed"
measure cold-dispatch "cold: dispatch apply --parallelism $PARALLELISM" \
    "$(dispatch_apply "$PARALLELISM" cold-dispatch.log)" "${COLD[@]}"
measure cold-compose "cold: docker-compose build --parallel" \
    "$(compose_build cold-compose.log "" --parallel)" "${COLD[@]}"
if ((EQUAL_RUNS > 0)); then
    say "cold, for information, at equal parallelism: $EQUAL_RUNS run(s) each"
    measure equal-dispatch "cold: dispatch apply --parallelism $COMPOSE_BUILDS_AT_ONCE" \
        "$(dispatch_apply "$COMPOSE_BUILDS_AT_ONCE" equal-dispatch.log)" "${EQUAL[@]}"
    measure classic-dispatch "cold: dispatch, classic builder, --parallelism $PARALLELISM" \
        "$(dispatch_apply "$PARALLELISM" classic-dispatch.log "$DC")" "${EQUAL[@]}"
    measure classic-equal-dispatch "cold: dispatch, classic builder, --parallelism $COMPOSE_BUILDS_AT_ONCE" \
        "$(dispatch_apply "$COMPOSE_BUILDS_AT_ONCE" classic-equal-dispatch.log "$DC")" "${EQUAL[@]}"
    # Last, so that compose's images are there for the comparison below.
    measure equal-compose "cold: docker-compose build --parallel, at most $PARALLELISM" \
        "$(compose_build equal-compose.log "COMPOSE_PARALLEL_LIMIT=$PARALLELISM" --parallel)" "${EQUAL[@]}"
fi

# --- same images? -----------------------------------------------------------------------------
# The builders record their steps differently (BuildKit's history names the files it copied,
# the classic builder a content hash), so what is compared is what the images hold: the base's
# layers, the labels, the layer count, and the files the RUN step wrote (read back from a
# container of each image).
say "checking that dispatch and compose build the same images"
rm -rf "$D/.dispatch"
(cd "$D" && "$DISPATCH_BIN" --no-color apply --auto-approve --quiet --parallelism "$PARALLELISM" . >"$LOGS/warm-setup.log" 2>&1) \
    || { cat "$LOGS/warm-setup.log" >&2; die "dispatch apply (warm setup) failed"; }
describe() { # IMAGE BASE
    local layers
    # Never `docker run` a missing image: the engine would look for it on Docker Hub.
    docker image inspect "$1" >/dev/null 2>&1 || { echo "no image $1"; return; }
    layers=$(docker image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' "$1")
    [[ $layers == "$(docker image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' "$2")"* ]] \
        || echo "not on the base's layers"
    docker image inspect -f 'labels {{json .Config.Labels}} layers {{len .RootFS.Layers}}' "$1"
    docker run --rm --pull never --network none --entrypoint /bin/sh "$1" -c 'cd /deps && for f in *; do echo "== $f"; cat "$f"; done'
}
mismatch=0
for i in $(seq -w 1 "$IMAGES"); do
    ours=$(jq -r --arg a "Image/bench-$NONCE-$i" '.resources[$a].observed.reference // empty' "$D/.dispatch/state.json")
    [[ -n $ours ]] || die "no image reference for Image/bench-$NONCE-$i in dispatch's state"
    theirs="dispatch-bench/compose-$NONCE-$i:latest"
    base=$BASE_1; (( (10#$i % 2) + 1 == 2 )) && base=$BASE_2
    if [[ $(describe "$ours" "$base") != "$(describe "$theirs" "$base")" ]]; then
        say "image $i differs:"
        diff <(describe "$ours" "$base") <(describe "$theirs" "$base") >&2 || true
        mismatch=1
    fi
done
((mismatch == 0)) || die "dispatch and compose did not build the same images: the comparison is not fair"
say "same: all $IMAGES images hold the same base layers, labels and files for both tools"
(cd "$D" && "$DISPATCH_BIN" --no-color plan --detailed-exitcode . >/dev/null) || die "dispatch plan sees changes after apply"

# --- warm -------------------------------------------------------------------------------------
say "warm: $WARM_RUNS runs each (after 1 warm-up), everything built and cached"
measure warm-dispatch "warm: dispatch apply (no changes)" \
    "$(dispatch_apply "$PARALLELISM" warm-dispatch.log)" "${WARM[@]}"
measure warm-compose "warm: docker-compose build" \
    "$(compose_build warm-compose.log "")" "${WARM[@]}"
grep -q 'No changes' "$LOGS/warm-dispatch.log" || { cat "$LOGS/warm-dispatch.log" >&2; die "the warm dispatch apply was not a no-change apply"; }
if grep -q 'Step [0-9]*/[0-9]* : RUN' "$LOGS/warm-compose.log" && ! grep -q 'Using cache' "$LOGS/warm-compose.log"; then
    die "the warm docker-compose build did not use its cache"
fi

# --- figures ----------------------------------------------------------------------------------
row() { # NAME
    printf '| %-52s | %10.3f s | %8.3f s | %4s |\n' "$(jq -r '.results[0].command' "$WORK/$1.json")" \
        "$(mean "$1")" "$(stddev "$1")" "$(jq -r '.results[0].times | length' "$WORK/$1.json")"
}
echo
echo "$IMAGES images, $(nproc) cores, engine $(docker version -f '{{.Server.Version}}'); dispatch: BuildKit unless it says classic; docker-compose: classic builder"
echo
printf '| %-52s | %12s | %10s | %4s |\n' command mean stddev runs
printf '|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..12})" "------"
row cold-dispatch; row cold-compose
if ((EQUAL_RUNS > 0)); then
    row equal-dispatch; row equal-compose; row classic-dispatch; row classic-equal-dispatch
fi
row warm-dispatch; row warm-compose
echo
if ((RETRIES > 0)); then
    echo "docker-compose --parallel failed with 'Pool is closed' $RETRIES time(s); those measurements were repeated"
    echo
fi
cold_d=$(mean cold-dispatch) cold_c=$(mean cold-compose) warm_d=$(mean warm-dispatch) warm_c=$(mean warm-compose)
warm_ratio=$(jq -n "$warm_c / $warm_d")
cold_ratio=$(jq -n "$cold_d / $cold_c")
warm_ok=$(jq -n "if $warm_ratio >= $WARM_TARGET then 1 else 0 end")
cold_ok=$(jq -n "if $cold_ratio <= 1 then 1 else 0 end")
verdict() { if [[ $1 == 1 ]]; then echo met; else echo MISSED; fi; }
printf '(a) warm: docker-compose build / dispatch no-change apply = %.1fx (target >= %dx): %s\n' \
    "$warm_ratio" "$WARM_TARGET" "$(verdict "$warm_ok")"
printf '(b) cold: dispatch apply --parallelism %s / docker-compose build --parallel = %.2f (target <= 1.00): %s\n' \
    "$PARALLELISM" "$cold_ratio" "$(verdict "$cold_ok")"
if ((EQUAL_RUNS > 0)); then
    printf '    for information: at %s builds at once each, dispatch / compose = %.2f; at %s each, %.2f\n' \
        "$COMPOSE_BUILDS_AT_ONCE" "$(jq -n "$(mean equal-dispatch) / $cold_c")" \
        "$PARALLELISM" "$(jq -n "$cold_d / $(mean equal-compose)")"
    printf '    for information: with the classic builder, dispatch / compose = %.2f at %s each, %.2f at %s each\n' \
        "$(jq -n "$(mean classic-equal-dispatch) / $cold_c")" "$COMPOSE_BUILDS_AT_ONCE" \
        "$(jq -n "$(mean classic-dispatch) / $(mean equal-compose)")" "$PARALLELISM"
fi
[[ $warm_ok == 1 && $cold_ok == 1 ]] || exit 1
