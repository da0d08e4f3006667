#!/usr/bin/env bash
# Runs the workspace tests and closes with one line totalling every test binary's result, since
# cargo's own last line belongs to whichever binary ran last (often a doc-test run with 0 tests).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$here/.local"
log="$here/.local/test.log"
"$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "tests: $passed passed, $failed failed"
exit "$status"
