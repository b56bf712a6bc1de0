#!/usr/bin/env bash
# The test command: builds, runs every test project (unit, integration with a real PostgreSQL and real
# silo processes) and ends with the line "tests: N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."

if ! scripts/ensure-postgres.sh >/dev/null; then
  echo "tests: 0 passed, 1 failed"
  exit 1
fi

rm -rf TestResults
if ! dotnet build OrderPlatform.sln -nologo -v q -clp:ErrorsOnly; then
  echo "build failed"
  echo "tests: 0 passed, 1 failed"
  exit 1
fi

dotnet test OrderPlatform.sln --no-build -nologo --logger "trx" --logger "console;verbosity=normal" --results-directory TestResults
status=$?

passed=0
failed=0
for trx in TestResults/*.trx; do
  [[ -f "$trx" ]] || continue
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)"
  p="$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  f="$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done

if [[ $failed -ne 0 ]]; then
  # Name each failed test and the start of its message next to the closing line, where a log's tail shows it.
  echo "failed tests:"
  for trx in TestResults/*.trx; do
    [[ -f "$trx" ]] || continue
    awk '
      /<UnitTestResult / {
        failing = ($0 ~ /outcome="Failed"/)
        if (failing && match($0, /testName="[^"]*"/)) { print "  " substr($0, RSTART + 10, RLENGTH - 11); shown = 0 }
      }
      failing && /<Message>/ { inMessage = 1; sub(/.*<Message>/, "") }
      failing && inMessage {
        line = $0
        ended = sub(/<\/Message>.*/, "", line)
        if (shown < 30) print "      " line
        shown++
        if (ended) inMessage = 0
      }
      /<\/UnitTestResult>/ { failing = 0; inMessage = 0 }
    ' "$trx" | sed -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g'
  done
fi

if [[ $status -ne 0 && $failed -eq 0 ]]; then
  # The runner failed without a failed test (a crashed test host, for example): count it as a failure.
  failed=1
fi

echo "tests: ${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
