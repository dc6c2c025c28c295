"""Mount points added, replaced and removed through PUT /nodes/{node}/lxc/{vmid}/config on
real CTs, as PVE's `pct set 100 -mp0 local:4,mp=/data`: a stopped CT gets the new volume at
once (made by a vzconfig task the PUT waits for), a replaced or removed volume is kept as
unusedN, deleting unusedN frees its volume; a running CT gets a new mount point live (PVE's
hotplug: a new volume, or a read-only bind mount) while changes to existing ones wait for the
next start. Refusals change nothing."""
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


def test_a_running_ct_gets_a_new_mount_point_live(ct, tmp_path):
    vmid = ct.create(rootfs="local:1")
    ct.start(vmid)
    before = volumes(ct, vmid)
    set_config(ct, vmid, {"mp0": "local:1,mp=/live"})
    # made and mounted at once (PVE's mountpoint_hotplug), not pending
    conf = ct.config(vmid, current=1)
    vol, opts = mount_opts(conf["mp0"])
    assert opts["mp"] == "/live" and opts["size"] == "1G", conf["mp0"]
    assert vol in volumes(ct, vmid) and vol not in before
    assert not [e for e in ct.s.data("GET", ct.path(vmid, "/pending")) if "pending" in e]
    out = ct.enter(vmid, "grep ' /live ' /proc/mounts; echo hi > /live/f; cat /live/f\n")
    assert " /live " in out.stdout and "hi" in out.stdout, out.stdout + out.stderr

    # a read-only bind mount of a host directory
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "note").write_text("from the host\n")
    tmp_path.chmod(0o755)
    (tmp_path / "shared").chmod(0o755)
    # (bind mounts are root@pam's: the CLI)
    ct.b.cli("set", ct.path(vmid, "/config"), "--mp1", f"{tmp_path}/shared,mp=/srv/shared,ro=1",
             check=True)
    assert "mp1" in ct.config(vmid, current=1)
    out = ct.enter(vmid, "cat /srv/shared/note; touch /srv/shared/x || echo refused\n",
                   check=False)
    assert "from the host" in out.stdout and "refused" in out.stdout, out.stdout + out.stderr
    assert not (tmp_path / "shared" / "x").exists()

    # a target through a symlink inside the CT is refused: pending, no volume left behind
    ct.enter(vmid, "ln -s /etc /evil\n")
    vols = volumes(ct, vmid)
    r = put(ct, vmid, {"mp2": "local:1,mp=/evil/x"})
    assert r.status == 500 and r.reason.startswith("unable to hotplug mp2: "), r.status_line
    assert "symlink" in r.reason, r.reason
    assert "mp2" not in ct.config(vmid, current=1)
    pending = {e["key"]: e for e in ct.s.data("GET", ct.path(vmid, "/pending"))}
    assert pending["mp2"]["pending"] == "local:1,mp=/evil/x", pending
    assert volumes(ct, vmid) == vols
    assert ct.enter(vmid, "ls /etc/x 2>&1 || true\n").stdout.count("No such file") == 1
    set_config(ct, vmid, {"revert": "mp2"})

    # an existing mount point changes at the next start (PVE skips those too)
    set_config(ct, vmid, {"mp0": f"{vol},mp=/moved"})
    assert mount_opts(ct.config(vmid, current=1)["mp0"])[1]["mp"] == "/live"
    ct.stop(vmid)
    ct.start(vmid)
    assert mount_opts(ct.config(vmid, current=1)["mp0"])[1]["mp"] == "/moved"
    out = ct.enter(vmid, "cat /moved/f\n")
    assert "hi" in out.stdout, out.stdout

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
