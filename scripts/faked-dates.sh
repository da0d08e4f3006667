#!/usr/bin/env bash
# Runs the whole test suite with the test binaries' wall clock faked (libfaketime), once per date
# below (or per date given as arguments, "YYYY-MM-DD hh:mm:ss" in $TZ), to show that no test
# depends on the real date. cargo and moto keep the real clock; only the test processes see the
# faked one (each starts there and then runs on). Installs libfaketime from Debian if missing.
#
#   scripts/faked-dates.sh                          # the dates below
#   TZ=UTC scripts/faked-dates.sh "2028-02-29 12:00:00"
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
lib=/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
if [[ ! -e $lib ]]; then
  apt-get update -qq && apt-get install -y -qq libfaketime >/dev/null
fi
if (($# == 0)); then
  # The last day of a month, 29 February, and the last minute of a year in Dhaka (UTC+6).
  set -- "UTC|2027-01-31 22:30:00" "UTC|2028-02-29 12:00:00" "Asia/Dhaka|2026-12-31 23:59:00"
fi
make venv >/dev/null
cargo test --workspace --no-run -q 2>/dev/null
mkdir -p "$here/.local"
status=0
for spec in "$@"; do
  tz=${spec%%|*}
  at=${spec#*|}
  [[ $spec == *"|"* ]] || tz=${TZ:-UTC}
  echo "=== faked date: $at ($tz)"
  # A runner wraps every test binary, so cargo itself (and its mtime checks) keep the real clock.
  # (FAKETIME is read only by processes that preload the library.)
  if ! TZ=$tz FAKETIME="@$at" FAKETIME_DONT_RESET=1 CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="env LD_PRELOAD=$lib" \
    scripts/test-summary.sh scripts/with-moto.sh cargo test --workspace --no-fail-fast -q >"$here/.local/faked-$(echo "$at" | tr ' :' '__').log" 2>&1; then
    status=1
  fi
  tail -n 1 "$here/.local/faked-$(echo "$at" | tr ' :' '__').log"
done
exit $status
