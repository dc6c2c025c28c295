"""The berth command (pvesh-like): get|create|set|delete PATH [--key value ...] with text or
JSON output, task list|status|log [--follow], usage, --help everywhere, non-zero exit on
errors with '<status> <message>' as the first stderr line."""
import json
import os
import subprocess

import pytest

from conftest import BERTH, NODE, UPID_RE


def first_stderr_line(r):
    return r.stderr.splitlines()[0] if r.stderr else ""


# ---- generic verbs ----

def test_get_prints_a_table_by_default_and_json_on_request(shared_berth):
    b = shared_berth
    text = b.cli("get", "/version", check=True).stdout
    assert "8.4.0" in text and "version" in text
    data = b.cli_json("get", "/version")
    assert data == b.admin().data("GET", "/version")


def test_json_pretty_output_parses_to_the_same_data(shared_berth):
    b = shared_berth
    r = b.cli("get", "/access/domains", "--output-format", "json-pretty", check=True)
    assert "\n  " in r.stdout
    assert json.loads(r.stdout) == b.cli_json("get", "/access/domains")


def test_path_without_leading_slash_and_localhost_node(shared_berth):
    data = shared_berth.cli_json("get", "nodes/localhost/status")
    assert data["memory"]["total"] > 0


def test_cli_runs_as_root_pam_without_credentials(shared_berth):
    b = shared_berth
    upid = b.cli_json("create", f"/nodes/{NODE}/berth/probe-task")
    assert UPID_RE.match(upid).group(8) == "root@pam"
    b.wait_task(upid)


def test_create_set_get_delete_a_user(shared_berth):
    b = shared_berth
    b.cli("create", "/access/users", "--userid", "cli1@pve", "--comment", "made by cli",
          check=True)
    assert b.cli_json("get", "/access/users/cli1@pve")["comment"] == "made by cli"
    b.cli("set", "/access/users/cli1@pve", "--comment=changed", check=True)
    assert b.admin().data("GET", "/access/users/cli1@pve")["comment"] == "changed"
    b.cli("delete", "/access/users/cli1@pve", check=True)
    assert b.admin().get("/access/users/cli1@pve").status == 500


def test_repeated_key_passes_a_list(shared_berth):
    b = shared_berth
    for u in ("rep1@pve", "rep2@pve"):
        b.add_user(u)
    b.cli("set", "/access/acl", "--path", "/vms/777", "--roles", "PVEVMUser",
          "--users", "rep1@pve", "--users", "rep2@pve", check=True)
    got = {a["ugid"] for a in b.cli_json("get", "/access/acl") if a["path"] == "/vms/777"}
    assert got == {"rep1@pve", "rep2@pve"}


def test_cli_get_of_a_list_in_json_matches_the_api(shared_berth):
    b = shared_berth
    assert b.cli_json("get", "/access/roles") == b.admin().data("GET", "/access/roles")


# ---- errors ----

@pytest.mark.parametrize("args,line", [
    (("get", f"/nodes/{NODE}/nonexistent"),
     f"501 Method 'GET /nodes/{NODE}/nonexistent' not implemented"),
    (("get", "/access/users/nobody@pve"), "500 no such user ('nobody@pve')"),
    (("get", "/cluster/nextid", "--vmid", "abc"), "400 Parameter verification failed."),
    (("delete", "/version"), "501 Method 'DELETE /version' not implemented"),
    (("get", "/nodes/othernode/status"),
     "500 hostname lookup 'othernode' failed - no such node in this cluster"),
])
def test_api_errors_exit_non_zero_with_status_and_message_first_on_stderr(shared_berth, args,
                                                                          line):
    r = shared_berth.cli(*args)
    assert r.returncode != 0
    assert first_stderr_line(r) == line
    assert r.stdout == ""


def test_parameter_errors_name_each_parameter_on_stderr(shared_berth):
    r = shared_berth.cli("get", "/cluster/nextid", "--vmid", "abc")
    assert r.returncode != 0
    assert "vmid: type check ('integer') failed - got 'abc'" in r.stderr


def test_api_errors_in_json_mode_also_exit_non_zero(shared_berth):
    r = shared_berth.cli("get", "/access/users/nobody@pve", "--output-format", "json")
    assert r.returncode != 0
    assert first_stderr_line(r) == "500 no such user ('nobody@pve')"


def test_unknown_command_exits_2_with_usage(shared_berth):
    r = shared_berth.cli("frobnicate")
    assert r.returncode == 2
    assert "unknown command" in r.stderr
    assert "Usage:" in r.stderr


def test_no_daemon_is_an_error_not_a_hang(tmp_path):
    r = subprocess.run([BERTH, "--root", str(tmp_path), "get", "/version"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0
    assert r.stderr.strip()


def test_cli_refuses_non_root_callers(shared_berth):
    """api.sock grants root@pam to uid 0 only (docs/internals.md)."""
    if subprocess.run(["sh", "-c", "command -v setpriv"], capture_output=True).returncode:
        pytest.skip("setpriv is not installed; cannot run the CLI as another user")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        BERTH, "--root", shared_berth.root, "get", "/version"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "8.4.0" not in r.stdout


# ---- tasks ----

def test_text_mode_create_follows_the_task_log_to_its_end(shared_berth):
    r = shared_berth.cli("create", f"/nodes/{NODE}/berth/probe-task", "--seconds", "1",
                         "--warnings", "1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "probe task started: 1 s, 1 warning(s)"
    assert lines[-1] == "TASK WARNINGS: 1"
    assert "progress 1/1" in lines


def test_text_mode_create_of_a_failing_task_exits_non_zero(shared_berth):
    r = shared_berth.cli("create", f"/nodes/{NODE}/berth/probe-task", "--fail", "kaputt")
    assert r.returncode != 0
    assert "TASK ERROR: kaputt" in r.stdout
    assert "kaputt" in r.stderr


def test_json_mode_create_prints_the_upid_and_returns_at_once(shared_berth):
    b = shared_berth
    upid = b.cli_json("create", f"/nodes/{NODE}/berth/probe-task", "--seconds", "30")
    try:
        assert UPID_RE.match(upid)
        assert b.admin().data("GET", f"/nodes/{NODE}/tasks/{upid}/status")["status"] == "running"
    finally:
        b.cli("task", "stop", upid, check=True)
        b.wait_task(upid)


def test_task_status_and_log(shared_berth):
    b = shared_berth
    upid = b.cli_json("create", f"/nodes/{NODE}/berth/probe-task", "--warnings", "2")
    b.wait_task(upid)
    st = b.cli_json("task", "status", upid)
    assert st["status"] == "stopped" and st["exitstatus"] == "WARNINGS: 2"
    out = b.cli("task", "log", upid, check=True).stdout.splitlines()
    assert out[0] == "probe task started: 0 s, 2 warning(s)"
    assert out[-1] == "TASK WARNINGS: 2"
    page = b.cli("task", "log", upid, "--start", "1", "--limit", "2", check=True).stdout
    assert page.splitlines() == out[1:3]


def test_task_list_shows_finished_tasks(shared_berth):
    b = shared_berth
    upid = b.cli_json("create", f"/nodes/{NODE}/berth/probe-task")
    b.wait_task(upid)
    listed = b.cli_json("task", "list", "--limit", "500")
    assert upid in [t["upid"] for t in listed]
    text = b.cli("task", "list", check=True).stdout
    assert "berthprobe" in text


def test_task_log_follow_waits_for_a_running_task(shared_berth):
    b = shared_berth
    upid = b.cli_json("create", f"/nodes/{NODE}/berth/probe-task", "--seconds", "2")
    r = b.cli("task", "log", upid, "--follow", timeout=60)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "probe task started: 2 s, 0 warning(s)"
    assert lines[-1] == "TASK OK"
    assert lines.count("progress 2/2") == 1  # each line printed once


def test_task_log_follow_of_a_failed_task_exits_non_zero(shared_berth):
    b = shared_berth
    upid = b.cli_json("create", f"/nodes/{NODE}/berth/probe-task", "--fail", "bad")
    r = b.cli("task", "log", upid, "--follow", timeout=60)
    assert r.returncode != 0
    assert r.stdout.splitlines()[-1] == "TASK ERROR: bad"


def test_task_stop_ends_a_running_task(shared_berth):
    b = shared_berth
    upid = b.cli_json("create", f"/nodes/{NODE}/berth/probe-task", "--seconds", "60")
    b.cli("task", "stop", upid, check=True)
    assert b.wait_task(upid, timeout=15)["exitstatus"] != "OK"


def test_task_commands_reject_a_malformed_upid(shared_berth):
    r = shared_berth.cli("task", "status", "not-a-upid")
    assert r.returncode != 0
    assert r.stderr.strip()


# ---- usage and help ----

def test_usage_lists_the_methods_of_a_path(shared_berth):
    r = shared_berth.cli("usage", "/access/users", check=True)
    assert "berth get /access/users" in r.stdout
    assert "berth create /access/users" in r.stdout


def test_usage_verbose_describes_parameters(shared_berth):
    r = shared_berth.cli("usage", f"/nodes/{NODE}/config", "--verbose", check=True)
    assert "--startall-onboot-delay" in r.stdout
    assert "(0 - 300)" in r.stdout


def test_usage_of_an_unknown_path_fails(shared_berth):
    r = shared_berth.cli("usage", "/no/such/path")
    assert r.returncode != 0


def test_verb_with_path_and_help_shows_its_parameters(shared_berth):
    r = shared_berth.cli("create", "/access/users", "--help", check=True)
    assert "--userid" in r.stdout
    assert "--password" in r.stdout


@pytest.mark.parametrize("args", [
    ("--help",), ("help",), ("get", "--help"), ("create", "--help"), ("set", "--help"),
    ("delete", "--help"), ("usage", "--help"), ("task", "--help"), ("task", "list", "--help"),
    ("task", "status", "--help"), ("task", "log", "--help"), ("task", "stop", "--help"),
    ("admin", "--help"), ("admin", "create", "--help"), ("get", "/version", "--help"),
], ids=lambda a: " ".join(a))
def test_help_works_everywhere_exits_0_and_prints_usage_to_stdout(shared_berth, args):
    r = shared_berth.cli(*args)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert r.stdout.strip(), r.stderr
    assert "usage" in r.stdout.lower()


def test_version_flag(shared_berth):
    r = shared_berth.cli("--version", check=True)
    assert r.stdout.startswith("berth ")


def test_root_may_come_from_the_environment(shared_berth):
    env = dict(os.environ, BERTH_ROOT=shared_berth.root)
    r = subprocess.run([BERTH, "get", "/version", "--output-format", "json"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"]
