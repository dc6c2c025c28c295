#!/bin/sh
# Fail when a C file differs from what clang-format makes of it.
set -eu
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'fuzz/*.[ch]'); do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "not formatted: $f (run: make format)"
		bad=1
	fi
done
exit $bad
