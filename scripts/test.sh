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
echo "==> pytest $*"
"$BIN/pytest" "$@"
prc=$?
if [ $prc -eq 5 ]; then echo "pytest collected no tests" >&2; fi
[ $prc -eq 0 ] || rc=1
echo "==> wall time: $(( $(date +%s) - start ))s (lint+types+layering+tests)"
exit $rc
