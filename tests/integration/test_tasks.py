"""Tasks as Proxmox VE clients see them (proxmox-api.md §2.0): UPIDs exactly as PVE encodes
them, list (archive by default, active/all with RUNNING), status, log paging, stop, and
workers that die. The diagnostic task POST /nodes/{node}/berth/probe-task drives them."""
import os
import signal
import time

import pytest

from conftest import NODE, UPID_RE, wait_for

PW = "user-password"
TASKS = f"/nodes/{NODE}/tasks"


def status(b, upid, s=None):
    return (s or b.admin()).data("GET", f"{TASKS}/{upid}/status")


def log(b, upid, **params):
    r = b.admin().get(f"{TASKS}/{upid}/log", params or None)
    assert r.status == 200, r.status_line
    body = r.json()
    return body["data"], body["total"]


def task_list(b, s=None, **params):
    r = (s or b.admin()).get(TASKS, params or None)
    assert r.status == 200, r.status_line
    body = r.json()
    return body["data"], body["total"]


def upid_pid(upid):
    return int(upid.split(":")[2], 16)


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_running(b, upid):
    """Wait until the worker logged its first line (it is then surely running)."""
    wait_for(lambda: log(b, upid)[1] >= 1, 10, "the task's first log line")


# ---- UPIDs ----

def test_upid_has_pves_format_and_names_the_worker_process(shared_berth):
    b = shared_berth
    before = int(time.time())
    upid = b.probe(seconds=30)
    try:
        m = UPID_RE.match(upid)
        assert m, upid
        node, pid, pstart, starttime, wtype, wid, user = (m.group(1), m.group(3), m.group(4),
                                                          m.group(5), m.group(6), m.group(7),
                                                          m.group(8))
        assert node == NODE
        assert wtype == "berthprobe" and wid == "" and user == "admin@pve"
        assert before - 1 <= int(starttime, 16) <= time.time() + 1
        # pid and pstart are those of the worker process (as PVE's, from /proc/<pid>/stat)
        with open(f"/proc/{int(pid, 16)}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        assert int(fields[19]) == int(pstart, 16)
        st = status(b, upid)
        assert st["pid"] == int(pid, 16) and st["pstart"] == int(pstart, 16)
        assert st["starttime"] == int(starttime, 16)
        assert st["upid"] == upid and st["node"] == NODE and st["type"] == "berthprobe"
        assert st["id"] == "" and st["user"] == "admin@pve"
    finally:
        b.admin().delete(f"{TASKS}/{upid}")
        b.wait_task(upid)


def test_upid_is_accepted_raw_and_percent_encoded_in_paths(shared_berth):
    b = shared_berth
    upid = b.probe()
    b.wait_task(upid)
    enc = upid.replace(":", "%3A").replace("@", "%40")
    r = b.request("GET", f"/api2/json/nodes/{NODE}/tasks/{enc}/status",
                  headers=b.admin().headers("GET"))
    assert r.status == 200
    assert r.json()["data"]["upid"] == upid


def test_task_index_lists_log_and_status(shared_berth):
    b = shared_berth
    upid = b.probe()
    d = b.admin().data("GET", f"{TASKS}/{upid}")
    assert {e["name"] for e in d} >= {"log", "status"}


def test_unknown_and_unparsable_upids_are_parameter_errors(shared_berth):
    s = shared_berth.admin()
    unknown = f"UPID:{NODE}:00001234:00ABCDEF:6B000000:berthprobe::admin@pve:"
    for suffix in ("/status", "/log"):
        r = s.get(f"{TASKS}/{unknown}{suffix}")
        assert r.status == 400
        assert r.json()["errors"] == {"upid": "no such task"}
        r = s.get(f"{TASKS}/not-a-upid{suffix}")
        assert r.status == 400
        assert r.json()["errors"] == {"upid": "unable to parse worker upid"}
    r = s.delete(f"{TASKS}/{unknown}")
    assert r.status == 400


# ---- status and exit status ----

def test_finished_task_is_stopped_with_exitstatus_ok(shared_berth):
    b = shared_berth
    upid = b.probe()
    st = b.wait_task(upid)
    assert st["status"] == "stopped"
    assert st["exitstatus"] == "OK"  # Ansible's success test: exactly "OK"
    lines, total = log(b, upid)
    assert lines[-1] == {"n": total, "t": "TASK OK"}


def test_task_with_warnings_ends_with_warnings_count(shared_berth):
    b = shared_berth
    upid = b.probe(warnings=2)
    assert b.wait_task(upid)["exitstatus"] == "WARNINGS: 2"
    lines, _ = log(b, upid)
    assert lines[-1]["t"] == "TASK WARNINGS: 2"
    assert sum(1 for ln in lines if ln["t"].startswith("WARN")) == 2


def test_failing_task_has_its_message_as_exitstatus(shared_berth):
    b = shared_berth
    upid = b.probe(fail="disk on fire")
    assert b.wait_task(upid)["exitstatus"] == "disk on fire"
    lines, _ = log(b, upid)
    assert lines[-1]["t"] == "TASK ERROR: disk on fire"


def test_running_task_is_running_without_exitstatus(shared_berth):
    b = shared_berth
    upid = b.probe(seconds=30)
    try:
        st = status(b, upid)
        assert st["status"] == "running"
        assert "exitstatus" not in st
    finally:
        b.admin().delete(f"{TASKS}/{upid}")
        b.wait_task(upid)


def test_delete_stops_a_running_task(shared_berth):
    b = shared_berth
    upid = b.probe(seconds=60)
    wait_running(b, upid)
    t0 = time.monotonic()
    assert b.admin().data("DELETE", f"{TASKS}/{upid}") is None
    st = b.wait_task(upid, timeout=15)
    assert time.monotonic() - t0 < 10
    assert st["exitstatus"] not in ("OK", None)
    assert log(b, upid)[0][-1]["t"].startswith("TASK ERROR: ")
    wait_for(lambda: not alive(upid_pid(upid)), 10, "the worker process to go")


def test_stopping_a_finished_task_changes_nothing(shared_berth):
    b = shared_berth
    upid = b.probe()
    b.wait_task(upid)
    assert b.admin().data("DELETE", f"{TASKS}/{upid}") is None
    assert status(b, upid)["exitstatus"] == "OK"


def test_killed_worker_is_reported_stopped_with_an_error(shared_berth):
    b = shared_berth
    upid = b.probe(seconds=60)
    wait_running(b, upid)
    os.kill(upid_pid(upid), signal.SIGKILL)
    st = b.wait_task(upid, timeout=15)
    assert st["exitstatus"] == "worker killed by signal 9"
    assert log(b, upid)[0][-1]["t"] == "TASK ERROR: worker killed by signal 9"
    listed = {t["upid"]: t for t in task_list(b, typefilter="berthprobe", limit=1000)[0]}
    assert listed[upid]["status"] == "worker killed by signal 9"


def test_ansible_style_wait_loop_with_proxmoxer(shared_berth):
    """All Ansible modules poll tasks/{upid}/status until stopped and exitstatus == 'OK'."""
    b = shared_berth
    api = b.api()
    upid = api.nodes(NODE).berth("probe-task").post(seconds=1)

    def ok():
        st = api.nodes(NODE).tasks(upid).status.get()
        return st if st["status"] == "stopped" else None
    st = wait_for(ok, 15, "the task to stop")
    assert st["exitstatus"] == "OK"
    first = api.nodes(NODE).tasks(upid).log.get(limit=1)
    assert first == [{"n": 1, "t": "probe task started: 1 s, 0 warning(s)"}]


# ---- logs ----

def test_log_lines_are_numbered_from_1_with_total(shared_berth):
    b = shared_berth
    upid = b.probe(warnings=5)
    b.wait_task(upid)
    lines, total = log(b, upid)
    assert total == 7  # start line, 5 warnings, final line
    assert [ln["n"] for ln in lines] == list(range(1, 8))
    assert lines[0]["t"] == "probe task started: 0 s, 5 warning(s)"


def test_log_paging_with_start_and_limit(shared_berth):
    b = shared_berth
    upid = b.probe(warnings=5)
    b.wait_task(upid)
    everything, _ = log(b, upid)
    page, total = log(b, upid, start=2, limit=3)
    assert total == 7
    assert page == everything[2:5]
    assert [ln["n"] for ln in page] == [3, 4, 5]
    tail, _ = log(b, upid, start=6, limit=50)
    assert tail == [everything[6]]
    beyond, total = log(b, upid, start=100)
    assert beyond == [] and total == 7


def test_log_defaults_to_50_lines(shared_berth):
    b = shared_berth
    upid = b.probe(warnings=60)
    b.wait_task(upid)
    lines, total = log(b, upid)
    assert total == 62
    assert len(lines) == 50


def test_empty_log_reads_as_no_content(shared_berth):
    b = shared_berth
    upid = b.probe()
    b.wait_task(upid)
    starttime = upid.split(":")[4]
    path = os.path.join(b.root, "tasks", starttime[-1], upid)
    assert os.path.exists(path), path
    open(path, "w").close()  # what a task that never wrote a line leaves behind
    lines, total = log(b, upid)
    assert lines == [{"n": 1, "t": "no content"}]
    assert total == 0


# ---- the task list ----

def test_default_list_shows_only_finished_tasks(berth):
    done = berth.probe()
    berth.wait_task(done)
    running = berth.probe(seconds=60)
    try:
        tasks, total = task_list(berth)
        assert [t["upid"] for t in tasks] == [done]
        assert total == 1
        t = tasks[0]
        assert t["status"] == "OK"  # in the list, status is the exit text
        assert t["endtime"] >= t["starttime"]
        assert set(t) >= {"upid", "node", "pid", "pstart", "starttime", "type", "id", "user",
                          "endtime", "status"}
        active, total = task_list(berth, source="active")
        assert [t["upid"] for t in active] == [running]
        assert total == 1
        assert active[0]["status"] == "RUNNING"
        assert "endtime" not in active[0]
        both, total = task_list(berth, source="all")
        assert {t["upid"] for t in both} == {done, running}
        assert total == 2
    finally:
        berth.admin().delete(f"{TASKS}/{running}")
        berth.wait_task(running)


def test_list_filters_by_status_errors_type_and_user(berth):
    ok = berth.probe()
    warn = berth.probe(warnings=1)
    bad = berth.probe(fail="nope")
    for u in (ok, warn, bad):
        berth.wait_task(u)

    def upids(**params):
        return {t["upid"] for t in task_list(berth, **params)[0]}
    assert upids() == {ok, warn, bad}
    assert upids(errors="1") == {warn, bad}
    assert upids(statusfilter="ok") == {ok}
    assert upids(statusfilter="warning") == {warn}
    assert upids(statusfilter="error") == {bad}
    assert upids(statusfilter="ok,error") == {ok, bad}
    assert upids(typefilter="berthprobe") == {ok, warn, bad}
    assert upids(typefilter="qmstart") == set()
    assert upids(userfilter="admin") == {ok, warn, bad}
    assert upids(userfilter="someone-else") == set()
    assert upids(vmid="100") == set()


def test_list_paging_keeps_the_total(berth):
    upids = []
    for _ in range(5):
        upids.append(berth.probe())
        berth.wait_task(upids[-1])
    tasks, total = task_list(berth, start=1, limit=2)
    assert total == 5
    assert len(tasks) == 2
    everything, _ = task_list(berth)
    assert tasks == everything[1:3]
    # newest first
    assert [t["upid"] for t in everything] == list(reversed(upids))


def test_list_since_and_until_filter_on_start_time(berth):
    upid = berth.probe()
    berth.wait_task(upid)
    start = int(upid.split(":")[4], 16)
    assert [t["upid"] for t in task_list(berth, since=start)[0]] == [upid]
    assert task_list(berth, since=start + 1)[0] == []
    assert task_list(berth, until=start - 1)[0] == []


# ---- who sees which task ----

def test_users_see_only_their_own_tasks_without_sys_audit(berth):
    berth.admin().data("POST", "/access/roles", {"roleid": "Prober", "privs": "Sys.Modify"})
    berth.add_user("p1@pve", password=PW, acl=[(f"/nodes/{NODE}", "Prober")])
    berth.add_user("p2@pve", password=PW, acl=[(f"/nodes/{NODE}", "Prober")])
    s1, s2 = berth.session("p1@pve", PW), berth.session("p2@pve", PW)
    u1 = berth.probe(session=s1)
    u2 = berth.probe(session=s2)
    admin_task = berth.probe()
    for u in (u1, u2, admin_task):
        berth.wait_task(u)
    assert [t["upid"] for t in task_list(berth, s1)[0]] == [u1]
    assert status(berth, u1, s1)["exitstatus"] == "OK"
    r = s1.get(f"{TASKS}/{u2}/status")
    assert r.status_line == f"HTTP/1.1 403 Permission check failed (/nodes/{NODE}, Sys.Audit)"
    assert s1.get(f"{TASKS}/{u2}/log").status == 403
    # the administrator sees everything
    assert {t["upid"] for t in task_list(berth)[0]} == {u1, u2, admin_task}


def test_stopping_another_users_task_needs_sys_modify(berth):
    berth.add_user("watcher@pve", password=PW, acl=[(f"/nodes/{NODE}", "PVEAuditor")])
    s = berth.session("watcher@pve", PW)
    upid = berth.probe(seconds=60)
    try:
        assert status(berth, upid, s)["status"] == "running"  # Sys.Audit may read
        r = s.delete(f"{TASKS}/{upid}")
        assert r.status_line == f"HTTP/1.1 403 Permission check failed (/nodes/{NODE}, Sys.Modify)"
        assert status(berth, upid)["status"] == "running"
    finally:
        berth.admin().delete(f"{TASKS}/{upid}")
        berth.wait_task(upid)


def test_starting_a_task_needs_sys_modify_on_the_node(shared_berth):
    b = shared_berth
    b.add_user("nostart@pve", password=PW, acl=[("/", "PVEAuditor")])
    r = b.session("nostart@pve", PW).post(f"/nodes/{NODE}/berth/probe-task")
    assert r.status_line == f"HTTP/1.1 403 Permission check failed (/nodes/{NODE}, Sys.Modify)"


@pytest.mark.parametrize("params", [{"seconds": "-1"}, {"seconds": "86401"},
                                    {"warnings": "1001"}, {"fail": "x" * 513}])
def test_probe_task_parameters_are_validated(shared_berth, params):
    r = shared_berth.admin().post(f"/nodes/{NODE}/berth/probe-task", params)
    assert r.status == 400
    assert set(r.json()["errors"]) == set(params)
