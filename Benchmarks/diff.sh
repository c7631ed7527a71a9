#!/usr/bin/env bash
# The diff engine alone on 10k, 100k and 1M people × accounts with 1 % churn and thousands of distinct membership
# sets (release build); the change counts are checked against the churn made (a wrong count fails the script).
# Ends with `diff 1M: X.XX s, growth per 10x: Y.Y` (targets: 1M ≤ 1 s, growth ≤ 11).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product diff-bench 2>&1 | tail -1
"$(swift build -c release --show-bin-path)/diff-bench" "$@"
