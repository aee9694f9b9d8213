#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is needed, builds
# with warnings as errors, and runs every test twice, plain and under
# AddressSanitizer + UndefinedBehaviorSanitizer. Exits non-zero on any
# failure, including a sanitizer report that a test runner let pass.
#
# Environment: SLUICE_TEST_SUITES="unit fuzz" limits the run to those suites.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
deploy/install-deps.sh

suites=()
for s in ${SLUICE_TEST_SUITES:-}; do suites+=(--suite "$s"); done

passed=0
failed=0
run_suite() { # build-dir label meson-options...
  local dir=$1 label=$2 log rc=0
  shift 2
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "$@" > /dev/null
  else
    meson setup "$dir" "$@" > /dev/null
  fi
  ninja -C "$dir"
  echo "== $label"
  meson test -C "$dir" --print-errorlogs --timeout-multiplier 3 ${suites[@]+"${suites[@]}"} || rc=$?
  log=$dir/meson-logs/testlog.txt
  # Criterion counts a LeakSanitizer report as a pass: read the logs.
  if grep -qE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$log"; then
    echo "$label: sanitizer reports in $log:" >&2
    grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:" "$log" | head -20 >&2
    rc=1
  fi
  # Count the Criterion tests each executable reports, not the executables.
  local ok fail
  ok=$(sed -n 's/.*Synthesis: Tested: [0-9]* | Passing: \([0-9]*\).*/\1/p' "$log" | paste -sd+ | sed 's/^$/0/' )
  fail=$(sed -n 's/.*| Failing: \([0-9]*\) | Crashing: \([0-9]*\).*/\1+\2/p' "$log" | paste -sd+ | sed 's/^$/0/')
  ok=$((ok))
  fail=$((fail))
  passed=$((passed + ok))
  failed=$((failed + fail))
  # A failure no Criterion summary counted (a sanitizer report, a crash, a
  # fuzz target) still fails the run.
  [ "$rc" -eq 0 ] || [ "$fail" -ne 0 ] || failed=$((failed + 1))
}

run_suite build-test "plain build" -Dtests=enabled --werror --buildtype=debugoptimized
run_suite build-asan "AddressSanitizer + UndefinedBehaviorSanitizer" -Dtests=enabled --werror \
  --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
