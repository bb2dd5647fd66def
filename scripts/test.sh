#!/usr/bin/env bash
# The whole check: lint, format, types, layering, then the test suite. Prints the wall time at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
start=$(date +%s)
rc=0
step() {
  echo "==> $*"
  "$@" || rc=1
}
step "$BIN/ruff" check .
step "$BIN/ruff" format --check .
step "$BIN/mypy"
step "$BIN/lint-imports"
run_pytest() {
  "$BIN/pytest" "$@"
  local prc=$?
  if [ $prc -eq 5 ]; then echo "pytest collected no tests" >&2; fi
  [ $prc -eq 0 ] || rc=1
}
if [ $# -gt 0 ]; then
  echo "==> pytest $*"
  run_pytest "$@"
else
  echo "==> pytest (all but the engine)"
  run_pytest --ignore=tests/engine
  # The engine must work with no network at all: its suite runs in a network namespace with only loopback.
  if unshare -n true 2>/dev/null; then
    echo "==> pytest tests/engine, under unshare -n (loopback only)"
    unshare -n sh -c 'ip link set lo up && exec "$0" tests/engine' "$BIN/pytest"
    [ $? -eq 0 ] || rc=1
  else
    echo "==> pytest tests/engine (NOT network-isolated: unshare -n needs root or user namespaces here)"
    run_pytest tests/engine
  fi
fi
echo "==> wall time: $(( $(date +%s) - start ))s (lint+types+layering+tests)"
exit $rc
