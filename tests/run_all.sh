#!/usr/bin/env bash
# The whole llmopt test suite, from a fresh Debian 12 machine:
#   1. install what is missing (Debian packages, Kafka jars, Python venv)
#   2. build (RelWithDebInfo, -Werror) and run the unit suites and corpus replays
#   3. start (or reuse) the local Kafka broker and Postgres, run the integration tests
#   4. ASan+UBSan build: unit suites and corpus replays again
#   5. valgrind memcheck over the unit suites
#   6. libFuzzer: every decoder harness for LLMOPT_FUZZ_SECONDS (default 6) each,
#      one per core at a time (longer runs are recorded in the benchmark/issue notes)
# Exits non-zero on the first failing stage; prints one line per stage and a
# closing "N passed, N failed" summary of the stages.
#
# Environment: LLMOPT_JOBS (build parallelism, default nproc), LLMOPT_FUZZ_SECONDS,
# LLMOPT_SKIP_STAGES (space-separated stage names to skip, for local iteration only),
# LLMOPT_KEEP_STACK=1 leaves the broker and Postgres running afterwards.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jobs="${LLMOPT_JOBS:-$(nproc)}"
fuzz_s="${LLMOPT_FUZZ_SECONDS:-6}"
skip=" ${LLMOPT_SKIP_STAGES:-} "
logdir="$root/var/test-logs"
mkdir -p "$logdir"
passed=0; failed=0
t0=$(date +%s)

stage() { # stage NAME COMMAND...
    local name="$1"; shift
    if [[ "$skip" == *" $name "* ]]; then echo "== $name: skipped (LLMOPT_SKIP_STAGES)"; return 0; fi
    local s=$(date +%s)
    echo "== $name: start"
    if "$@"; then
        passed=$((passed + 1))
        echo "== $name: ok ($(( $(date +%s) - s )) s)"
    else
        failed=$((failed + 1))
        echo "== $name: FAILED ($(( $(date +%s) - s )) s)"
        finish
    fi
}

finish() {
    [ "${LLMOPT_KEEP_STACK:-0}" = 1 ] || { [ -n "${stack_started:-}" ] && deploy/local/stack.sh stop >/dev/null 2>&1; }
    echo "== total $(( $(date +%s) - t0 )) s"
    echo "$passed passed, $failed failed"
    exit $(( failed > 0 ))
}

configure_build() { # dir extra-cmake-args...
    local dir="$1"; shift
    cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$logdir/$(basename "$dir")-configure.log" 2>&1 \
        || { cat "$logdir/$(basename "$dir")-configure.log"; return 1; }
}

build_all() { configure_build build && ninja -C build -j "$jobs"; }
unit() { ctest --test-dir build -L unit --output-on-failure -j "$jobs"; }
integration() {
    eval "$(tests/stack.sh env)" || return 1
    ctest --test-dir build -L integration --output-on-failure
}
stack_up() { stack_started=1; tests/stack.sh up; }
sanitize() {
    configure_build build-asan -DLLMOPT_SANITIZE=ON -DLLMOPT_BENCH=OFF && ninja -C build-asan -j "$jobs" \
        && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
           ctest --test-dir build-asan -L unit --output-on-failure -j "$jobs"
}
memcheck() {
    configure_build build-valgrind -DLLMOPT_VALGRIND=ON -DLLMOPT_BENCH=OFF && ninja -C build-valgrind -j "$jobs" \
        && ctest --test-dir build-valgrind -L unit --output-on-failure -j "$jobs"
}
fuzz_one() { # fuzz_one TARGET:CORPUS -> runs one harness for $fuzz_s seconds on a copy of its corpus
    local t="${1%%:*}" corpus="$root/${1#*:}" work
    work="$(mktemp -d)"; cp -r "$corpus"/. "$work"/ 2>/dev/null || true
    if build-fuzz/tests/"$t" -max_total_time="$fuzz_s" -rss_limit_mb=2048 -print_final_stats=1 \
           -artifact_prefix="$logdir/$t-" "$work" >"$logdir/$t.log" 2>&1; then
        echo "   $t: $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$logdir/$t.log" | grep -Eo '[0-9]+$') execs in ${fuzz_s}s, no crash"
        rm -rf "$work"; return 0
    fi
    echo "   $t: CRASH, see $logdir/$t.log"; tail -30 "$logdir/$t.log"; rm -rf "$work"; return 1
}
fuzz() {
    CC=clang configure_build build-fuzz -DLLMOPT_FUZZ=ON -DLLMOPT_BENCH=OFF -DCMAKE_C_COMPILER=clang \
        && ninja -C build-fuzz -j "$jobs" fuzzers || return 1
    export -f fuzz_one; export root logdir fuzz_s
    # one harness per core at a time
    grep -v '^$' build-fuzz/fuzzers.txt | xargs -P "$jobs" -I{} bash -c 'fuzz_one "$@"' _ {}
}

stage deps deploy/local/deps.sh
stage build build_all
stage unit unit
stage stack stack_up
stage integration integration
stage sanitize sanitize
stage valgrind memcheck
stage fuzz fuzz
finish
