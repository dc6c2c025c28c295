#!/usr/bin/python3
"""Sum JUnit XML results (cmocka and pytest) into one line: N passed, N failed, N skipped.

Exit status 1 when anything failed or nothing ran at all."""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

passed = failed = skipped = 0
for path in sorted(Path(sys.argv[1]).glob("*.xml")):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        print(f"{path}: unreadable results ({e})")
        failed += 1
        continue
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            print(f"FAILED {path.stem}: {case.get('classname', '')}::{case.get('name')}")
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed or passed == 0 else 0)
