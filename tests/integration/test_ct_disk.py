"""PUT /nodes/{node}/lxc/{vmid}/resize and POST .../template on real CTs: a resize grows the
volume and the ext4 inside it and records the size; shrinking is refused; a template's
volumes become base volumes and it no longer starts."""
import os
import time

from ctlib import ct, ct_host  # noqa: F401


def rootfs(h, vmid):
    return dict(p.split("=", 1) if "=" in p else ("volume", p)
                for p in h.config(vmid)["rootfs"].split(","))


def test_offline_resize_grows_the_volume_its_file_system_and_the_config(ct):
    vmid = ct.create(rootfs="local:1")
    before = rootfs(ct, vmid)
    assert before["size"] == "1G"
    # (about 22 s: e2fsck and resize2fs each wait out the image's MMP interval, as on PVE)
    st = ct.task("PUT", ct.path(vmid, "/resize"), {"disk": "rootfs", "size": "+512M"})
    assert st["exitstatus"] == "OK"
    assert rootfs(ct, vmid)["size"] == "1536M"
    pid = ct.start(vmid)
    # the CT sees the bigger file system (df in 1K blocks; ext4 keeps some for itself)
    out = ct.enter(vmid, "df -k / | tail -1\n").stdout.split()
    assert int(out[1]) > 1300 * 1024, out
    assert os.path.isdir(f"/proc/{pid}")


def test_shrinking_is_refused_and_changes_nothing(ct):
    vmid = ct.create(rootfs="local:1")
    r = ct.s.put(ct.path(vmid, "/resize"), {"disk": "rootfs", "size": "512M"})
    assert (r.status, r.reason) == (500, "unable to shrink disk size"), r.status_line
    assert rootfs(ct, vmid)["size"] == "1G"


def test_a_template_gets_base_volumes_and_cannot_start(ct):
    vmid = ct.create(rootfs="local:1")
    assert ct.s.data("POST", ct.path(vmid, "/template")) is None
    # the vztemplate task runs behind the null answer: wait until the config says so
    for _ in range(200):
        conf = ct.config(vmid)
        if conf.get("template") == 1:
            break
        time.sleep(0.05)
    assert conf.get("template") == 1, conf
    assert os.path.basename(rootfs(ct, vmid)["volume"]).startswith("base-"), conf["rootfs"]
    r = ct.s.post(ct.path(vmid, "/status/start"))
    assert (r.status, r.reason) == (500, f"CT {vmid} is a template - cannot start"), r.status_line
