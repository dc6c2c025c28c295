"""Version, nodes, cluster resources, nextid and the node config (proxmox-api.md §2.1):
shapes Ansible and the inventory read, and real host figures."""
import os
import re

import pytest

from conftest import NODE, run_concurrently, wait_for

CONFIG = f"/nodes/{NODE}/config"


def meminfo_kib(key):
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def test_version_looks_like_pve_8_for_ansible(shared_berth):
    d = shared_berth.admin().data("GET", "/version")
    assert re.fullmatch(r"\d+\.\d+\.\d+", d["version"]), d
    major, minor, _ = (int(x) for x in d["version"].split("."))
    assert major >= 8  # Ansible switches code paths below 4, 6 and 7
    assert d["release"] == f"{major}.{minor}"
    assert re.fullmatch(r"[0-9a-f]{8,40}", d["repoid"]), d["repoid"]
    assert d["berth"]


def test_version_via_proxmoxer_and_node_version(shared_berth):
    api = shared_berth.api()
    assert api.version.get() == api.nodes(NODE).version.get()


def test_nodes_lists_this_node_online_with_figures(shared_berth):
    nodes = shared_berth.admin().data("GET", "/nodes")
    assert len(nodes) == 1
    n = nodes[0]
    assert n["node"] == NODE and n["status"] == "online" and n["type"] == "node"
    assert n["id"] == f"node/{NODE}"
    assert n["maxcpu"] == os.cpu_count()
    assert n["maxmem"] == meminfo_kib("MemTotal") * 1024
    assert 0 < n["mem"] <= n["maxmem"]
    assert 0 <= n["cpu"] <= 1
    st = os.statvfs("/")
    assert n["maxdisk"] == st.f_blocks * st.f_frsize
    assert 0 < n["disk"] <= n["maxdisk"]
    assert n["uptime"] > 0
    assert re.fullmatch(r"([0-9A-F]{2}:){31}[0-9A-F]{2}", n["ssl_fingerprint"])


def test_node_ssl_fingerprint_is_the_served_certificate(shared_berth):
    import hashlib
    b = shared_berth
    s = b.tls_socket()
    try:
        der = s.getpeercert(binary_form=True)
    finally:
        s.close()
    fp = hashlib.sha256(der).hexdigest().upper()
    expected = ":".join(fp[i:i + 2] for i in range(0, len(fp), 2))
    assert b.admin().data("GET", "/nodes")[0]["ssl_fingerprint"] == expected


def test_node_status_reports_real_host_figures(shared_berth):
    d = shared_berth.admin().data("GET", f"/nodes/{NODE}/status")
    assert d["memory"]["total"] == meminfo_kib("MemTotal") * 1024
    assert d["memory"]["used"] + d["memory"]["free"] == d["memory"]["total"]
    assert d["swap"]["total"] == meminfo_kib("SwapTotal") * 1024
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    assert abs(d["uptime"] - uptime) < 5
    assert len(d["loadavg"]) == 3
    assert all(re.fullmatch(r"\d+\.\d+", x) for x in d["loadavg"])
    assert d["cpuinfo"]["cpus"] == os.cpu_count()
    assert d["cpuinfo"]["model"]
    u = os.uname()
    assert d["current-kernel"]["release"] == u.release
    assert u.release in d["kversion"]
    st = os.statvfs("/")
    assert d["rootfs"]["total"] == st.f_blocks * st.f_frsize
    assert d["rootfs"]["used"] > 0
    assert d["pveversion"].startswith("pve-manager/8.")
    assert 0 <= d["cpu"] <= 1 and 0 <= d["wait"] <= 1


def test_node_index_lists_subdirectories(shared_berth):
    names = {e["name"] for e in shared_berth.admin().data("GET", f"/nodes/{NODE}")}
    assert {"status", "tasks", "config", "version"} <= names


def test_cluster_resources_lists_the_node_and_local_storage(shared_berth):
    res = shared_berth.admin().data("GET", "/cluster/resources")
    by_id = {r["id"]: r for r in res}
    assert set(by_id) == {f"node/{NODE}", f"storage/{NODE}/local"}
    node = by_id[f"node/{NODE}"]
    assert node["type"] == "node" and node["node"] == NODE and node["status"] == "online"
    assert node["maxmem"] > 0 and node["maxcpu"] == os.cpu_count()
    st = by_id[f"storage/{NODE}/local"]
    assert st["type"] == "storage" and st["storage"] == "local" and st["node"] == NODE
    assert st["plugintype"] == "dir"
    assert st["status"] == "available"
    assert st["shared"] == 0  # Ansible compares with the number
    assert "images" in st["content"].split(",")
    assert 0 < st["disk"] <= st["maxdisk"]


@pytest.mark.parametrize("rtype,expected", [("node", {"node"}), ("storage", {"storage"}),
                                            ("vm", set())])
def test_cluster_resources_type_filter(shared_berth, rtype, expected):
    res = shared_berth.admin().data("GET", "/cluster/resources", {"type": rtype})
    assert {r["type"] for r in res} == expected


def test_cluster_resources_rejects_unknown_type(shared_berth):
    r = shared_berth.admin().get("/cluster/resources", {"type": "pool"})
    assert r.status == 400


def test_cluster_index(shared_berth):
    names = {e["name"] for e in shared_berth.admin().data("GET", "/cluster")}
    assert {"resources", "nextid"} <= names


# ---- nextid ----

def test_nextid_is_a_json_string_of_a_free_vmid(shared_berth):
    r = shared_berth.admin().get("/cluster/nextid")
    assert r.status == 200
    value = r.json()["data"]
    assert isinstance(value, str) and re.fullmatch(r"[1-9][0-9]{2,8}", value)
    assert int(value) >= 100


def test_consecutive_nextid_calls_reserve_different_ids(shared_berth):
    s = shared_berth.admin()
    ids = [s.data("GET", "/cluster/nextid") for _ in range(5)]
    assert len(set(ids)) == 5, ids


def test_concurrent_nextid_callers_never_get_the_same_id(shared_berth):
    b = shared_berth
    ticket, _ = b.login()

    def nextid():
        r = b.request("GET", "/api2/json/cluster/nextid",
                      headers={"Cookie": f"PVEAuthCookie={ticket}"}, timeout=30)
        assert r.status == 200, r.status_line
        return r.json()["data"]
    ids = run_concurrently(nextid, [()] * 24)
    assert all(isinstance(i, str) for i in ids), ids
    assert len(set(ids)) == len(ids), sorted(ids)


def test_nextid_with_a_free_vmid_returns_it(shared_berth):
    assert shared_berth.admin().data("GET", "/cluster/nextid", {"vmid": "4242"}) == "4242"


def test_nextid_with_an_invalid_vmid_is_a_parameter_error(shared_berth):
    for bad in ("abc", "99", "1000000000"):
        r = shared_berth.admin().get("/cluster/nextid", {"vmid": bad})
        assert r.status == 400, bad
        assert "vmid" in r.json()["errors"]


# ---- node config and digests ----

def test_node_config_starts_empty_and_round_trips(berth):
    s = berth.admin()
    assert s.data("GET", CONFIG) == {}
    s.data("PUT", CONFIG, {"description": "rack 4", "startall-onboot-delay": "10",
                           "wakeonlan": "AA:BB:CC:DD:EE:FF"})
    d = s.data("GET", CONFIG)
    assert d["description"] == "rack 4\n"
    assert d["startall-onboot-delay"] == 10
    assert d["wakeonlan"] == "AA:BB:CC:DD:EE:FF"
    assert re.fullmatch(r"[0-9a-f]{40}", d["digest"])
    assert s.data("GET", CONFIG, {"property": "startall-onboot-delay"}) == \
        {"startall-onboot-delay": 10}


def test_node_config_delete_removes_keys(berth):
    s = berth.admin()
    s.data("PUT", CONFIG, {"description": "x", "ballooning-target": "70"})
    s.data("PUT", CONFIG, {"delete": "description,ballooning-target"})
    d = s.data("GET", CONFIG)
    assert "description" not in d and "ballooning-target" not in d


def test_node_config_digest_changes_with_content(berth):
    s = berth.admin()
    s.data("PUT", CONFIG, {"description": "one"})
    d1 = s.data("GET", CONFIG)["digest"]
    s.data("PUT", CONFIG, {"description": "two"})
    d2 = s.data("GET", CONFIG)["digest"]
    assert d1 != d2


def test_node_config_update_with_current_digest_succeeds(berth):
    s = berth.admin()
    s.data("PUT", CONFIG, {"description": "base"})
    digest = s.data("GET", CONFIG)["digest"]
    assert s.put(CONFIG, {"description": "next", "digest": digest}).status == 200
    assert s.put(CONFIG, {"description": "upper", "digest": s.data("GET", CONFIG)["digest"].upper()}
                 ).status == 200


def test_node_config_update_with_stale_digest_fails_and_changes_nothing(berth):
    s = berth.admin()
    s.data("PUT", CONFIG, {"description": "base"})
    stale = s.data("GET", CONFIG)["digest"]
    s.data("PUT", CONFIG, {"description": "someone else"})
    r = s.put(CONFIG, {"description": "mine", "digest": stale})
    assert r.status_line == ("HTTP/1.1 500 detected modified configuration - file changed by "
                             "other user? Try again.")
    assert s.data("GET", CONFIG)["description"] == "someone else\n"


def test_node_config_newlines_cannot_inject_keys(berth):
    s = berth.admin()
    r = s.put(CONFIG, {"wakeonlan": "AA:BB:CC:DD:EE:FF\nstartall-onboot-delay: 300"})
    assert r.status == 400
    s.data("PUT", CONFIG, {"description": "x\nstartall-onboot-delay: 300\r\nballooning-target: 1"})
    d = s.data("GET", CONFIG)
    assert "startall-onboot-delay" not in d and "ballooning-target" not in d
    assert d["description"].startswith("x\nstartall-onboot-delay: 300")


def test_multiline_description_round_trips(berth):
    s = berth.admin()
    s.data("PUT", CONFIG, {"description": "line one\nline two: with colon\n#hash"})
    assert s.data("GET", CONFIG)["description"] == "line one\nline two: with colon\n#hash\n"
    assert "startall-onboot-delay" not in s.data("GET", CONFIG)


def test_description_keeps_leading_and_trailing_spaces(berth):
    """PVE's parse_node_config keeps the whole comment line ('^#(.*)')."""
    s = berth.admin()
    s.data("PUT", CONFIG, {"description": "  indented\ntrailing  "})
    assert s.data("GET", CONFIG)["description"] == "  indented\ntrailing  \n"


def test_node_config_needs_sys_audit_and_sys_modify_on_root(shared_berth):
    b = shared_berth
    b.add_user("ncfg@pve", password="user-password", acl=[(f"/nodes/{NODE}", "Administrator")])
    s = b.session("ncfg@pve", "user-password")
    assert s.get(CONFIG).status_line == "HTTP/1.1 403 Permission check failed (/, Sys.Audit)"
    assert s.put(CONFIG, {"description": "x"}).status == 403


def test_host_figures_move_with_time(shared_berth):
    s = shared_berth.admin()
    first = s.data("GET", f"/nodes/{NODE}/status")["uptime"]
    wait_for(lambda: s.data("GET", f"/nodes/{NODE}/status")["uptime"] > first, 5,
             "the reported uptime to grow")
