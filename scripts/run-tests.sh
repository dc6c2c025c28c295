#!/bin/sh
# Run Berth's tests and end with one line: "N passed, N failed, N skipped".
# Usage: run-tests.sh [unit|integration|all]
#  unit:        cmocka tests from the ASan/UBSan build
#  integration: pytest against real berthd processes (ASan build) with real clients
# JUnit XML results land in tests/artifacts/ (not committed).
set -u
cd "$(dirname "$0")/.."
what="${1:-all}"
art=tests/artifacts
rm -rf "$art"
mkdir -p "$art"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0

if [ "$what" = unit ] || [ "$what" = all ]; then
	for t in $(find build-asan/tests/unit -type f -name "test-*" -perm -u+x | sort); do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		echo "== unit: $name"
		# exit code 77: the test skipped itself (its reason is in the log and the xml)
		CMOCKA_MESSAGE_OUTPUT=xml CMOCKA_XML_FILE="$art/unit-$name.xml" "$t" \
			> "$art/unit-$name.log" 2>&1 || [ $? -eq 77 ] || status=1
		if [ ! -s "$art/unit-$name.xml" ]; then
			# the binary crashed before writing results: count it as one failure
			printf '<testsuite name="%s" tests="1" failures="1"><testcase name="%s"><failure message="crashed"/></testcase></testsuite>\n' \
				"$name" "$name" > "$art/unit-$name.xml"
			cat "$art/unit-$name.log"
			status=1
		fi
	done
fi

if [ "$what" = all ]; then
	# the code's formatting is part of the suite (STYLE.md: checked in CI)
	echo "== format (clang-format)"
	if out=$(scripts/check-format.sh 2>&1); then
		echo '<testsuite name="format"><testcase name="clang-format"/></testsuite>' > "$art/format.xml"
	else
		echo "$out"
		printf '<testsuite name="format"><testcase name="clang-format"><failure message="%s"/></testcase></testsuite>\n' \
			"files not formatted (make format)" > "$art/format.xml"
		status=1
	fi
fi

if [ "$what" = integration ] || [ "$what" = all ]; then
	echo "== integration (pytest)"
	# Debian's python3 carries python3-proxmoxer; a pyenv python3 on PATH would not.
	BERTH_BUILD="${BERTH_BUILD:-$(pwd)/build-asan}" /usr/bin/python3 -m pytest \
		-p no:cacheprovider -rs --junitxml="$art/integration.xml" tests/integration || status=1
fi

/usr/bin/python3 scripts/test-summary.py "$art" || status=1
exit $status
