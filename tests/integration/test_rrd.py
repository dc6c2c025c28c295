"""Metrics: the round-robin databases berthd fills, read through GET .../rrddata in Proxmox
VE's shape (node, container, VM, storage; timeframe and cf; errors and permissions as PVE),
and GET /nodes/{node}/metrics in the Prometheus text format (docs/metrics.md).

The daemon samples every second into files with a 2 s step (--rrd-interval 1 --rrd-step 2,
the test options) so rows complete in seconds; the layout is otherwise the production one."""
import os
import re
import time

import pytest

from conftest import NODE, wait_for
from ctlib import ct, running_ct_host, wait_status  # noqa: F401 (ct: a fixture)

STEP = 2
RRD_ARGS = ["--rrd-interval", "1", "--rrd-step", str(STEP)]
ROWS_TIMEOUT = 30  # a few steps, generous for the ASan build


@pytest.fixture(scope="module")
def ct_host():
    """ctlib's, with fast metrics; ctlib's ct fixture uses this one."""
    with running_ct_host(extra_args=RRD_ARGS) as h:
        yield h


def rrddata(s, path, timeframe="hour", **params):
    return s.data("GET", path + "/rrddata", dict(params, timeframe=timeframe))


def wait_row(s, path, pred, what, **params):
    """Rows of path's rrddata once one of them satisfies pred."""
    def rows_if():
        rows = rrddata(s, path, **params)
        return rows if any(pred(r) for r in rows) else None
    return wait_for(rows_if, ROWS_TIMEOUT, what)


def assert_times_step(rows, step=STEP):
    """PVE's rows: one per step, oldest first, 70 of them for a timeframe."""
    assert len(rows) == 70
    times = [r["time"] for r in rows]
    assert all(b - a == step for a, b in zip(times, times[1:])), times
    assert all(t % step == 0 for t in times)
    assert times[-1] <= time.time()


def rrd_file(h, *parts):
    return os.path.join(h.b.root, "rrd", *parts)


# ---- node ----

def test_node_rrddata_has_plausible_rows_one_step_apart(ct_host):
    s = ct_host.s
    rows = wait_row(s, f"/nodes/{NODE}", lambda r: "cpu" in r and "memtotal" in r,
                    "a node row with values")
    assert_times_step(rows)
    full = [r for r in rows if "cpu" in r]
    for r in full:
        assert 0 <= r["cpu"] <= 1 and 0 <= r["iowait"] <= 1
        assert r["maxcpu"] == os.cpu_count()
        assert 0 < r["memused"] <= r["memtotal"]
        assert 0 < r["rootused"] <= r["roottotal"]
        assert r["loadavg"] >= 0 and 0 <= r["swapused"] <= r["swaptotal"]
    # counters come out as rates once two samples exist: bytes per second, never negative
    rows = wait_row(s, f"/nodes/{NODE}", lambda r: "netin" in r, "a node row with netin")
    assert all(r["netin"] >= 0 and r["netout"] >= 0 for r in rows if "netin" in r)


def test_proxmoxer_reads_rrddata_as_from_pve(ct_host):
    px = ct_host.b.api()
    rows = px.nodes(NODE).rrddata.get(timeframe="hour", cf="AVERAGE")
    assert_times_step(rows)
    rows = px.nodes(NODE).storage("local").rrddata.get(timeframe="day")
    assert_times_step(rows, STEP * 30)


def test_unknown_values_are_left_out_not_null(ct_host):
    rows = rrddata(ct_host.s, f"/nodes/{NODE}")
    assert any(set(r) == {"time"} for r in rows)  # before the daemon started
    assert all(v is not None for r in rows for v in r.values())


def test_cf_max_and_longer_timeframes(ct_host):
    s = ct_host.s
    rows = wait_row(s, f"/nodes/{NODE}", lambda r: "memused" in r, "a MAX row", cf="MAX")
    assert_times_step(rows)
    avg = {r["time"]: r for r in rrddata(s, f"/nodes/{NODE}")}
    for r in rows:
        if "memused" in r and "memused" in avg.get(r["time"], {}):
            # one step per row: the maximum of one average is that average
            assert r["memused"] == pytest.approx(avg[r["time"]]["memused"])
    for tf, steps in (("day", 30), ("week", 180), ("month", 720), ("year", 10080)):
        assert_times_step(rrddata(s, f"/nodes/{NODE}", tf), STEP * steps)


def test_bad_timeframe_or_cf_is_a_parameter_error(ct_host):
    r = ct_host.s.get(f"/nodes/{NODE}/rrddata", {"timeframe": "minute"})
    assert r.status_line == "HTTP/1.1 400 Parameter verification failed."
    assert "enumeration" in r.json()["errors"]["timeframe"]
    r = ct_host.s.get(f"/nodes/{NODE}/rrddata", {"timeframe": "hour", "cf": "MIN"})
    assert r.status == 400 and "cf" in r.json()["errors"]
    r = ct_host.s.get(f"/nodes/{NODE}/rrddata")
    assert r.status == 400 and "timeframe" in r.json()["errors"]


# ---- storage ----

def test_storage_rrddata_has_total_and_used(ct_host):
    rows = wait_row(ct_host.s, f"/nodes/{NODE}/storage/local", lambda r: "total" in r,
                    "a storage row")
    assert_times_step(rows)
    for r in rows:
        if "total" in r:
            assert 0 < r["used"] <= r["total"]
    assert os.path.exists(rrd_file(ct_host, "pve2-storage", NODE, "local"))


def test_storage_rrddata_of_an_unknown_storage_fails_as_pve(ct_host):
    r = ct_host.s.get(f"/nodes/{NODE}/storage/nosuch/rrddata", {"timeframe": "hour"})
    assert r.status_line == "HTTP/1.1 500 storage 'nosuch' does not exist"


# ---- guests ----

def test_running_ct_has_memory_and_cpu_rows(ct):
    vmid = ct.create(hostname="rrd-ct", memory=256)
    ct.start(vmid)
    path = ct.path(vmid)
    rows = wait_row(ct.s, path, lambda r: r.get("mem", 0) > 0, "a CT row with memory")
    assert_times_step(rows)
    for r in rows:
        if "mem" in r:  # also rows from while it was being created, and stopped
            assert 0 <= r["cpu"] <= 1
            assert r["maxmem"] == 256 * 1024 * 1024 and r["maxcpu"] >= 1
        if r.get("mem", 0) > 0:
            assert 0 < r["disk"] <= r["maxdisk"]
    rows = rrddata(ct.s, path, cf="MAX")
    assert any(r.get("mem", 0) > 0 for r in rows)
    assert os.path.exists(rrd_file(ct, "pve2-vm", str(vmid)))


def test_stopped_ct_is_sampled_with_zero_use(ct):
    vmid = ct.create()
    rows = wait_row(ct.s, ct.path(vmid), lambda r: "maxmem" in r, "a stopped CT's row")
    assert all(r["mem"] == 0 and r["cpu"] == 0 for r in rows if "maxmem" in r)


def test_guest_rrddata_of_a_missing_guest_fails_as_pve(ct):
    vmid = ct.create()
    r = ct.s.get(f"/nodes/{NODE}/qemu/{vmid}/rrddata", {"timeframe": "hour"})
    assert r.status_line == ("HTTP/1.1 500 Configuration file "
                             f"'nodes/{NODE}/qemu-server/{vmid}.conf' does not exist")
    r = ct.s.get(f"/nodes/{NODE}/lxc/999999/rrddata", {"timeframe": "hour"})
    assert r.status == 500 and "does not exist" in r.status_line


def test_vm_rrddata_has_its_configured_memory(ct):
    vmid = ct.vmid()
    ct.task("POST", f"/nodes/{NODE}/qemu", {"vmid": vmid, "memory": 64, "name": "rrd-vm"})
    try:
        rows = wait_row(ct.s, f"/nodes/{NODE}/qemu/{vmid}", lambda r: "maxmem" in r,
                        "a VM row")
        assert_times_step(rows)
        assert all(r["maxmem"] == 64 << 20 and r["mem"] == 0 for r in rows if "maxmem" in r)
        text = metrics_text(ct.s)
        up = [x for x in parse_prometheus(text)[0] if x[0] == "berth_guest_up"
              and x[1]["vmid"] == str(vmid)]
        assert up == [("berth_guest_up", {"vmid": str(vmid), "type": "qemu",
                                          "name": "rrd-vm"}, 0.0)]
    finally:
        ct.task("DELETE", f"/nodes/{NODE}/qemu/{vmid}")
    wait_gone(ct, vmid)


def wait_gone(h, vmid):
    """Wait for a sampling round to have been written after now, then the file must be gone
    (destroy removes it; a round racing the destroy has its leftover pruned)."""
    since = time.time()
    for _ in range(2):  # the round that may race, then one that prunes after it
        wait_row(h.s, f"/nodes/{NODE}", lambda r: "cpu" in r and r["time"] >= since + STEP,
                 "a node row after the destroy")
        since += STEP
    assert not os.path.exists(rrd_file(h, "pve2-vm", str(vmid)))


def test_destroyed_ct_takes_its_graphs_along(ct):
    vmid = ct.create(hostname="old")
    ct.start(vmid)
    wait_row(ct.s, ct.path(vmid), lambda r: r.get("mem", 0) > 0, "the old CT's memory")
    ct.destroy(vmid, force=1)
    wait_gone(ct, vmid)
    # a new CT with the same vmid starts without the old one's rows
    ct.create(vmid=vmid, hostname="new")  # still in ct.made: removed after the test
    rows = rrddata(ct.s, ct.path(vmid))
    assert not any(r.get("mem", 0) > 0 for r in rows)


# ---- Prometheus ----

SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


def parse_labels(text):
    """'{a="x",b="y\\"z"}' -> {'a': 'x', 'b': 'y"z'}, with the format's escapes."""
    labels, i = {}, 1
    while text[i] != "}":
        eq = text.index("=", i)
        name = text[i:eq]
        assert re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name), name
        assert text[eq + 1] == '"'
        j, value = eq + 2, []
        while text[j] != '"':
            if text[j] == "\\":
                value.append({"\\": "\\", '"': '"', "n": "\n"}[text[j + 1]])
                j += 2
            else:
                value.append(text[j])
                j += 1
        labels[name] = "".join(value)
        i = j + 1
        if text[i] == ",":
            i += 1
    assert i == len(text) - 1
    return labels


def parse_prometheus(text):
    """[(name, labels, value)], {family: type}; asserts the format's rules on the way."""
    samples, types, helps, current = [], {}, set(), None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert name not in helps, f"family {name} twice"
            helps.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("gauge", "counter") and name not in types
            current = name
            types[name] = kind
        else:
            m = SAMPLE_RE.match(line)
            assert m, line
            name, labels, value = m.group(1), m.group(2), float(m.group(3))
            assert name == current, f"{name} outside its family"
            samples.append((name, parse_labels(labels) if labels else {}, value))
    return samples, types


def metrics_text(s):
    r = s.get(f"/nodes/{NODE}/metrics")
    assert r.status == 200, r.status_line
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.body.decode()


def test_metrics_text_parses_and_has_the_running_ct(ct):
    vmid = ct.create(hostname="prom-ct")
    ct.start(vmid)
    labels = {"vmid": str(vmid), "type": "lxc", "name": "prom-ct"}

    def with_ct():
        samples, types = parse_prometheus(metrics_text(ct.s))
        got = {n: v for n, lab, v in samples if lab == labels}
        return (samples, types, got) if got.get("berth_guest_memory_bytes", 0) > 0 else None
    samples, types, got = wait_for(with_ct, ROWS_TIMEOUT, "the CT in the metrics")
    assert got["berth_guest_up"] == 1
    assert 0 <= got["berth_guest_cpu_ratio"] <= 1
    assert got["berth_guest_memory_max_bytes"] == 512 * 1024 * 1024
    assert types["berth_guest_network_receive_bytes_total"] == "counter"
    assert types["berth_guest_memory_bytes"] == "gauge"
    node = {n: v for n, lab, v in samples if lab == {"node": NODE}}
    assert 0 <= node["berth_node_cpu_ratio"] <= 1 and node["berth_node_memory_total_bytes"] > 0
    assert node["berth_node_cpus"] == os.cpu_count()
    assert any(n == "berth_storage_used_bytes" and lab == {"storage": "local"}
               for n, lab, _ in samples)
    ct.stop(vmid)
    wait_status(ct, vmid, "stopped")
    wait_for(lambda: ("berth_guest_up", labels, 0.0) in parse_prometheus(metrics_text(ct.s))[0],
             ROWS_TIMEOUT, "the stopped CT down in the metrics")


def test_cli_prints_the_metrics_text(ct_host):
    r = ct_host.b.cli("get", f"/nodes/{NODE}/metrics", check=True)
    samples, _ = parse_prometheus(r.stdout)
    assert ("berth_node_cpus", {"node": NODE}, float(os.cpu_count())) in samples


# ---- permissions ----

def test_permissions_as_pve(ct):
    vmid = ct.create()
    b = ct.b
    b.add_user("nobody@pve", password="nobody-password")
    b.add_user("sys@pve", password="sys-password", acl=[(f"/nodes/{NODE}", "PVESysAdmin")])
    b.add_user("vm@pve", password="vm-password", acl=[(f"/vms/{vmid}", "PVEAuditor"),
                                                      ("/storage/local", "PVEDatastoreUser")])
    nobody = b.session("nobody@pve", "nobody-password")
    sysadm = b.session("sys@pve", "sys-password")
    vmuser = b.session("vm@pve", "vm-password")
    hour = {"timeframe": "hour"}

    for path, what in ((f"/nodes/{NODE}/rrddata", f"/nodes/{NODE}, Sys.Audit"),
                       (f"/nodes/{NODE}/lxc/{vmid}/rrddata", f"/vms/{vmid}, VM.Audit"),
                       (f"/nodes/{NODE}/storage/local/rrddata", "/storage/local, ")):
        r = nobody.get(path, hour)
        assert r.status == 403 and r.status_line.startswith(
            f"HTTP/1.1 403 Permission check failed ({what}"), r.status_line
    assert nobody.get(f"/nodes/{NODE}/metrics").status == 403

    # VM.Audit on the CT: its rows; Datastore.AllocateSpace: the storage's; not the node's
    assert vmuser.get(f"/nodes/{NODE}/lxc/{vmid}/rrddata", hour).status == 200
    assert vmuser.get(f"/nodes/{NODE}/storage/local/rrddata", hour).status == 200
    assert vmuser.get(f"/nodes/{NODE}/rrddata", hour).status == 403
    assert vmuser.get(f"/nodes/{NODE}/metrics").status == 403

    # Sys.Audit on the node: its metrics, without the CT or the storage it may not audit
    def samples(s):
        return parse_prometheus(metrics_text(s))[0]
    wait_for(lambda: any(lab.get("vmid") == str(vmid) for _, lab, _ in samples(ct.s)),
             ROWS_TIMEOUT, "the CT in the admin's metrics")
    mine = samples(sysadm)
    assert any(lab == {"node": NODE} for _, lab, _ in mine)
    assert not any("vmid" in lab or "storage" in lab for _, lab, _ in mine)
    assert sysadm.get(f"/nodes/{NODE}/lxc/{vmid}/rrddata", hour).status == 403
