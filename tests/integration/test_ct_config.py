"""A container's configuration through GET/PUT /nodes/{node}/lxc/{vmid}/config on real CTs:
the digest guards against lost updates, a stopped CT takes changes at once, a running one
takes its limits (memory, swap, cpulimit, cpuunits) at once in its cgroup and keeps other
changes pending until it stops (GET shows them applied unless current=1), `delete` drops
options, and the error texts are PVE's (reference §4.4, §4.5)."""
import os
import re

import pytest
from conftest import NODE
from ctlib import ct, ct_host, wait_status  # noqa: F401

STALE = "detected modified configuration - file changed by other user? Try again."


def put(h, vmid, params):
    return h.s.put(h.path(vmid, "/config"), params)


def set_config(h, vmid, params):
    assert h.s.data("PUT", h.path(vmid, "/config"), params) is None


def stored_config(h, vmid):
    """The config file as the store holds it (what /etc/pve/lxc/<vmid>.conf would show)."""
    return h.b.store_files()[f"nodes/{NODE}/lxc/{vmid}.conf"].decode()


def test_config_carries_a_digest_that_changes_with_every_write(ct):
    vmid = ct.create(memory=128)
    d1 = ct.config(vmid)["digest"]
    assert re.fullmatch(r"[0-9a-f]{40}", d1)
    assert ct.config(vmid)["digest"] == d1
    set_config(ct, vmid, {"description": "changed"})
    assert ct.config(vmid)["digest"] != d1


def test_put_with_a_stale_digest_is_refused_and_changes_nothing(ct):
    vmid = ct.create(memory=128)
    stale = ct.config(vmid)["digest"]
    set_config(ct, vmid, {"description": "written by someone else"})
    r = put(ct, vmid, {"memory": 256, "digest": stale})
    assert (r.status, r.reason) == (500, STALE)
    assert ct.config(vmid)["memory"] == 128
    # the current digest is accepted
    set_config(ct, vmid, {"memory": 256, "digest": ct.config(vmid)["digest"]})
    assert ct.config(vmid)["memory"] == 256


def test_memory_set_on_a_stopped_ct_applies_at_once(ct):
    vmid = ct.create(memory=128)
    set_config(ct, vmid, {"memory": 192})
    assert ct.config(vmid)["memory"] == 192
    assert ct.config(vmid, current=1)["memory"] == 192
    assert "[pve:pending]" not in stored_config(ct, vmid)
    ct.start(vmid)
    assert ct.status(vmid)["maxmem"] == 192 << 20


def cgroup_value(vmid, v1, v2):
    """A limit file of the CT's cgroup: the v1 controller file when the host has one, else
    the cgroup2 one (`v1` and `v2` as "controller/file")."""
    for path in (f"/sys/fs/cgroup/{v1.split('/')[0]}/lxc/{vmid}/{v1.split('/')[1]}",
                 f"/sys/fs/cgroup/lxc/{vmid}/{v2.split('/')[1]}",
                 f"/sys/fs/cgroup/unified/lxc/{vmid}/{v2.split('/')[1]}"):
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()
    raise AssertionError(f"no {v1} or {v2} for CT {vmid}")


def memory_limit(vmid):
    v = cgroup_value(vmid, "memory/memory.limit_in_bytes", "memory/memory.max")
    return int(v)


def cpu_quota(vmid):
    """(quota, period) in microseconds, quota None when unlimited."""
    try:
        q = int(cgroup_value(vmid, "cpu/cpu.cfs_quota_us", "cpu/cpu.max"))
        p = int(cgroup_value(vmid, "cpu/cpu.cfs_period_us", "cpu/cpu.max"))
        return (None if q < 0 else q, p)
    except ValueError:  # cgroup2: "max 100000" or "150000 100000"
        q, p = cgroup_value(vmid, "cpu/cpu.cfs_quota_us", "cpu/cpu.max").split()
        return (None if q == "max" else int(q), int(p))


def test_limits_of_a_running_ct_apply_at_once(ct):
    """memory, swap, cpulimit and cpuunits are written to the running CT's cgroup (PVE's
    hotplug), nothing stays pending."""
    vmid = ct.create(memory=128, swap=64)
    ct.start(vmid)
    assert memory_limit(vmid) == 128 << 20
    set_config(ct, vmid, {"memory": 256, "cpulimit": 1.5, "cpuunits": 300})
    assert memory_limit(vmid) == 256 << 20
    assert cpu_quota(vmid) == (150000, 100000)
    conf = ct.config(vmid, current=1)
    assert (conf["memory"], conf["cpulimit"], conf["cpuunits"]) == (256, 1.5, 300)
    assert "[pve:pending]" not in stored_config(ct, vmid)
    assert ct.status(vmid)["maxmem"] == 256 << 20
    # shrinking works too (v1: the memory limit before memory+swap), and deleting cpulimit
    # lifts the quota
    set_config(ct, vmid, {"memory": 96, "delete": "cpulimit"})
    assert memory_limit(vmid) == 96 << 20
    assert cpu_quota(vmid)[0] is None
    assert "cpulimit" not in ct.config(vmid, current=1)
    assert "[pve:pending]" not in stored_config(ct, vmid)


def test_a_limit_the_kernel_refuses_stays_pending_with_the_reason(ct):
    """Below what the CT uses, a v1 memory limit cannot be set: the change stays pending
    and the answer says why, as PVE's 'unable to hotplug memory: ...'."""
    vmid = ct.create(memory=128)
    ct.start(vmid)
    # a 16 MiB CT that already holds ~20 MiB in tmpfs cannot shrink below that
    ct.enter(vmid, "mkdir -p /run/fill && mount -t tmpfs tmpfs /run/fill && "
             "dd if=/dev/zero of=/run/fill/x bs=1M count=24 2>/dev/null; echo done\n")
    r = put(ct, vmid, {"memory": 16})
    if r.status == 200:
        # cgroup2 takes the new max and reclaims or OOM-kills instead of refusing
        assert memory_limit(vmid) == 16 << 20
        return
    # PVE's raise_param_exc: 400 with the reason under the parameter
    assert r.status == 400, r.status_line
    assert r.json()["errors"]["memory"].startswith("unable to hotplug memory: "), r.body
    assert ct.config(vmid, current=1)["memory"] == 128
    assert ct.config(vmid)["memory"] == 16  # pending, shown applied
    assert "[pve:pending]" in stored_config(ct, vmid)


def test_cores_set_on_a_running_ct_is_pending_until_it_stops(ct):
    vmid = ct.create(cores=1)
    ct.start(vmid)
    set_config(ct, vmid, {"cores": 2})
    assert ct.config(vmid)["cores"] == 2  # pending values shown applied
    assert ct.config(vmid, current=1)["cores"] == 1
    assert "[pve:pending]" in stored_config(ct, vmid)

    ct.stop(vmid)
    assert ct.config(vmid, current=1)["cores"] == 2
    assert "[pve:pending]" not in stored_config(ct, vmid)


def test_pending_changes_apply_when_a_ct_that_stopped_by_itself_starts_again(ct):
    vmid = ct.create(cores=1)
    ct.start(vmid)
    set_config(ct, vmid, {"cores": 2})
    ct.enter(vmid, "poweroff\n", check=False)  # no task: init halts on its own
    wait_status(ct, vmid, "stopped")
    ct.start(vmid)
    assert ct.config(vmid, current=1)["cores"] == 2
    assert "[pve:pending]" not in stored_config(ct, vmid)


def test_reboot_applies_pending_changes(ct):
    vmid = ct.create(cores=1)
    pid = ct.start(vmid)
    set_config(ct, vmid, {"cores": 2})
    ct.power(vmid, "reboot")
    st = ct.status(vmid)
    assert st["status"] == "running"
    assert st["pid"] != pid
    assert ct.config(vmid, current=1)["cores"] == 2
    assert "[pve:pending]" not in stored_config(ct, vmid)


def test_delete_removes_options(ct):
    vmid = ct.create(cores=1, cpuunits=200, description="to go")
    set_config(ct, vmid, {"delete": "cores,description"})
    conf = ct.config(vmid)
    assert "cores" not in conf and "description" not in conf
    assert conf["cpuunits"] == 200


def test_delete_on_a_running_ct_is_pending_and_shown_applied(ct):
    vmid = ct.create(cores=1)
    ct.start(vmid)
    set_config(ct, vmid, {"delete": "cores"})
    assert "cores" not in ct.config(vmid)
    assert ct.config(vmid, current=1)["cores"] == 1
    ct.stop(vmid)
    assert "cores" not in ct.config(vmid, current=1)


def test_pending_lists_current_and_pending_values_and_deletions(ct):
    """GET .../pending as PVE's: [{key, value, pending, delete}] sorted by key."""
    vmid = ct.create(cores=1, hostname="pend")
    assert {"name": "pending"} in ct.s.data("GET", ct.path(vmid))

    def pending():
        entries = ct.s.data("GET", ct.path(vmid, "/pending"))
        assert [e["key"] for e in entries] == sorted(e["key"] for e in entries)
        return {e["key"]: e for e in entries}

    assert pending()["cores"] == {"key": "cores", "value": 1}
    ct.start(vmid)
    set_config(ct, vmid, {"cores": 2})
    now = pending()
    assert now["cores"] == {"key": "cores", "value": 1, "pending": 2}
    assert now["hostname"] == {"key": "hostname", "value": "pend"}
    set_config(ct, vmid, {"delete": "cores"})
    assert pending()["cores"] == {"key": "cores", "value": 1, "delete": 1}
    ct.stop(vmid)
    assert "cores" not in pending()


def test_hot_options_of_a_running_ct_apply_at_once(ct):
    vmid = ct.create()
    ct.start(vmid)
    set_config(ct, vmid, {"description": "live note", "onboot": 1})
    conf = ct.config(vmid, current=1)
    assert (conf["description"], conf["onboot"]) == ("live note", 1)
    assert "[pve:pending]" not in stored_config(ct, vmid)


def test_put_without_options_is_refused_with_no_options_specified(ct):
    vmid = ct.create()
    digest = ct.config(vmid)["digest"]
    for params in ({}, {"digest": digest}):
        r = put(ct, vmid, params)
        assert (r.status, r.reason) == (500, "no options specified"), params
    assert ct.config(vmid)["digest"] == digest


def apparmor_enabled():
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            return f.read().strip() == "Y"
    except OSError:
        return False


def test_features_mount_goes_into_the_generated_apparmor_profile(ct):
    """PVE's make_apparmor_config: on a host with AppArmor, liblxc generates the CT's profile
    with mount fstype=<fs> for each file system of features mount=."""
    if not apparmor_enabled() or not (os.access("/usr/sbin/apparmor_parser", os.X_OK) or
                                      os.access("/sbin/apparmor_parser", os.X_OK)):
        pytest.skip("AppArmor is not enabled in this kernel (or apparmor_parser is missing): "
                    "features mount= has no profile to go into; the generated lines are "
                    "golden-tested in tests/golden/lxc/*.apparmor.lxc")
    vmid = ct.vmid()
    # features other than nesting are root@pam's: the CLI
    ct.b.cli("create", f"/nodes/{NODE}/lxc", "--vmid", vmid, "--ostemplate", ct.template,
             "--unprivileged", "0", "--features", "mount=nfs;cifs", check=True, timeout=180)
    pid = ct.start(vmid)
    with open(os.path.join(ct.b.root, "lxc", str(vmid), "config")) as f:
        conf = f.read()
    assert "lxc.apparmor.profile = generated" in conf, conf
    assert "lxc.apparmor.raw = mount fstype=nfs," in conf, conf
    assert "lxc.apparmor.raw = mount fstype=cifs," in conf, conf
    with open(f"/proc/{pid}/attr/current") as f:
        label = f.read()
    assert label.startswith("lxc-"), label
