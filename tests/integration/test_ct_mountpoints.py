"""Mount points added, replaced and removed through PUT /nodes/{node}/lxc/{vmid}/config on
real CTs, as PVE's `pct set 100 -mp0 local:4,mp=/data`: a stopped CT gets the new volume at
once (made by a vzconfig task the PUT waits for), a replaced or removed volume is kept as
unusedN, deleting unusedN frees its volume; a running CT keeps a new mount point pending and
gets its volume when it next starts. Refusals change nothing."""
from conftest import NODE
from ctlib import ct, ct_host  # noqa: F401


def put(h, vmid, params):
    return h.s.put(h.path(vmid, "/config"), params)


def set_config(h, vmid, params):
    r = put(h, vmid, params)
    assert r.status == 200, r.status_line
    assert r.json()["data"] is None


def volumes(h, vmid):
    """The volids of vmid on local, from the storage's content list."""
    content = h.s.data("GET", f"/nodes/{NODE}/storage/local/content", {"vmid": vmid})
    return sorted(e["volid"] for e in content)


def mount_opts(value):
    parts = value.split(",")
    return parts[0], dict(p.split("=", 1) for p in parts[1:])


def test_a_stopped_ct_gets_a_new_mount_point_that_works_inside(ct):
    vmid = ct.create(rootfs="local:1")
    before = volumes(ct, vmid)
    set_config(ct, vmid, {"mp0": "local:1,mp=/data,backup=1"})
    conf = ct.config(vmid)
    vol, opts = mount_opts(conf["mp0"])
    assert vol.startswith(f"local:{vmid}/vm-{vmid}-disk-"), conf["mp0"]
    assert opts == {"mp": "/data", "backup": "1", "size": "1G"}, conf["mp0"]
    assert volumes(ct, vmid) == sorted(before + [vol])
    # the task that made it is in the list, as vzconfig
    tasks = ct.s.data("GET", f"/nodes/{NODE}/tasks", {"vmid": vmid, "typefilter": "vzconfig"})
    assert [t["status"] for t in tasks] == ["OK"], tasks
    ct.start(vmid)
    out = ct.enter(vmid, "echo kept > /data/f && cat /data/f && grep ' /data ' /proc/mounts\n")
    assert out.stdout.splitlines()[0] == "kept", out.stdout
    assert " /data " in out.stdout, out.stdout


def test_replacing_and_removing_keeps_volumes_as_unused_and_deleting_unused_frees_them(ct):
    vmid = ct.create(rootfs="local:1", mp0="local:1,mp=/a")
    first, _ = mount_opts(ct.config(vmid)["mp0"])
    set_config(ct, vmid, {"mp0": "local:1,mp=/a"})
    conf = ct.config(vmid)
    second, _ = mount_opts(conf["mp0"])
    assert second != first
    assert conf["unused0"] == first, conf
    # a removed mount point's volume is kept too
    set_config(ct, vmid, {"delete": "mp0"})
    conf = ct.config(vmid)
    assert "mp0" not in conf
    assert (conf["unused0"], conf["unused1"]) == (first, second), conf
    # options of a mount point change without a new volume
    set_config(ct, vmid, {"mp1": f"{second},mp=/b"})
    set_config(ct, vmid, {"mp1": f"{second},mp=/b,ro=1"})
    assert ct.config(vmid)["mp1"].startswith(f"{second},mp=/b,ro=1"), ct.config(vmid)
    # unused1 names the volume mp1 uses: it leaves the config, the volume stays
    set_config(ct, vmid, {"delete": "unused1"})
    assert second in volumes(ct, vmid)
    set_config(ct, vmid, {"delete": "unused0"})
    conf = ct.config(vmid)
    assert "unused0" not in conf and "unused1" not in conf, conf
    assert first not in volumes(ct, vmid)
    assert second in volumes(ct, vmid)


def test_a_running_ct_gets_a_new_mount_point_at_its_next_start(ct):
    vmid = ct.create(rootfs="local:1")
    ct.start(vmid)
    before = volumes(ct, vmid)
    set_config(ct, vmid, {"mp0": "local:1,mp=/later"})
    # pending, nothing allocated yet (PVE would plug it in; Berth waits for the next start)
    assert "mp0" not in ct.config(vmid, current=1)
    pending = {e["key"]: e for e in ct.s.data("GET", ct.path(vmid, "/pending"))}
    assert pending["mp0"]["pending"] == "local:1,mp=/later", pending["mp0"]
    assert volumes(ct, vmid) == before
    ct.stop(vmid)
    ct.start(vmid)
    vol, opts = mount_opts(ct.config(vmid, current=1)["mp0"])
    assert vol in volumes(ct, vmid) and opts["size"] == "1G", vol
    out = ct.enter(vmid, "grep ' /later ' /proc/mounts\n")
    assert " /later " in out.stdout, out.stdout
    # deleting unusedN of a running CT frees its volume at once
    set_config(ct, vmid, {"delete": "mp0"})  # pending while it runs
    assert "mp0" in ct.config(vmid, current=1)
    ct.stop(vmid)
    assert ct.config(vmid)["unused0"] == vol
    ct.start(vmid)
    set_config(ct, vmid, {"delete": "unused0"})
    assert "unused0" not in ct.config(vmid, current=1)
    assert vol not in volumes(ct, vmid)


def test_refused_mount_point_changes_change_nothing(ct):
    vmid = ct.create(rootfs="local:1")
    conf = ct.config(vmid)
    vols = volumes(ct, vmid)
    refusals = [
        ({"mp0": "nosuch:1,mp=/x"}, 400),
        ({"mp0": "local:1"}, 400),  # no mp=
        ({"mp0": "local:1,mp=/x", "delete": "mp0"}, 400),
        ({"rootfs": "local:2"}, 400),
        ({"mp0": "local:1,mp=/x", "digest": "0" * 40}, 500),
    ]
    for params, status in refusals:
        r = put(ct, vmid, params)
        assert r.status == status, (params, r.status_line)
        assert ct.config(vmid) == conf, params
        assert volumes(ct, vmid) == vols, params
    r = put(ct, vmid, {"rootfs": "local:2"})
    assert "root volume cannot be replaced" in r.json()["errors"]["rootfs"], r.json()
