"""Docs that are generated from code stay current."""
import os
import subprocess
import tempfile

from conftest import BUILD

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_api_reference_matches_the_route_table():
    with tempfile.NamedTemporaryFile(suffix=".md") as out:
        subprocess.run([os.path.join(BUILD, "src", "api", "route-check"), "--markdown", out.name],
                       check=True)
        generated = open(out.name).read()
    current = open(os.path.join(REPO, "docs", "api.md")).read()
    assert generated == current, (
        "docs/api.md is stale: run build/src/api/route-check --markdown docs/api.md")
