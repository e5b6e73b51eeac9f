#!/usr/bin/env bash
# demo_script: runs the README's first command, deploy/local/demo.sh, as a
# user would (deps, build into build/, stack, migrate, processor, controller,
# sink, simulator) on a 90 s scenario (tests/data/demo_short.json), and
# checks that it prints the summary, exits 0 within the bound and leaves no
# process of its run behind (it once hung after the summary on its own tail
# pipelines). Run from the repository root; the stack must be up
# (tests/stack.sh up) or demo.sh starts it.
set -u
cd "$(dirname "$0")/../.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
LLMOPT_DEMO_SCENARIO=tests/data/demo_short.json timeout 300 bash deploy/local/demo.sh >"$log" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
fail() { echo "demo_script: FAILED: $*"; tail -40 "$log"; exit 1; }
[ "$rc" -eq 124 ] && fail "still running after 300 s (rc 124)"
[ "$rc" -eq 0 ] || fail "exit status $rc"
grep -q "== summary" "$log" || fail "no summary"
grep -Eq "^route .* req +reward" "$log" || fail "no route line in the summary"
run=$(grep -Eo 'demo-[0-9]+' "$log" | tail -1)
[ -n "$run" ] || fail "no run id in the output"
sleep 1
left=$(ps -eo pid=,args= | grep -F "$run" | grep -v grep || true)
[ -z "$left" ] || fail "processes of $run left behind: $left"
echo "demo_script: PASSED in ${took} s ($(grep -E '^route ' "$log" | head -1 | tr -s ' '))"
