"""The create wizards and the guest edit pages in a real browser (tests/ui/wizards.mjs,
tests/ui/edit.mjs) against a real berthd; what the UI did is then checked through the API.
Screenshots land in tests/artifacts/ui/."""
import re

from conftest import NODE
from test_ui import ui  # noqa: F401
from vmlib import upload_guest_iso


def created(out, kind):
    m = re.search(rf"^created {kind} (\d+)$", out, re.M)
    assert m, f"the scenario did not report a created {kind}"
    return int(m.group(1))


def test_wizards_create_a_ct_from_the_template_and_a_vm_from_the_iso(ui):  # noqa: F811
    iso = upload_guest_iso(ui)
    ct, vm = ui.h.vmid(), ui.h.vmid()
    out = ui.run("wizards", CT_VMID=ct, VM_VMID=vm, ISO_VOLID=iso)
    assert created(out, "lxc") == ct and created(out, "qemu") == vm
    s = ui.b.admin()

    c = s.data("GET", f"/nodes/{NODE}/lxc/{ct}/config")
    assert c["hostname"] == "ui-ct"
    assert c["memory"] == 256 and c["swap"] == 128
    assert c["unprivileged"] == 1
    assert c["rootfs"].startswith("local:") and "size=1G" in c["rootfs"], c["rootfs"]
    assert "bridge=vmbr0" in c["net0"] and "ip=10.99.0.5/24" in c["net0"] and "gw=10.99.0.1" in c["net0"]
    assert c["searchdomain"] == "example.test"
    assert c["tags"] == "test;ui" or c["tags"] == "ui;test"
    assert "password" not in c and "secret123" not in str(c)
    assert s.data("GET", f"/nodes/{NODE}/lxc/{ct}/status/current")["status"] == "stopped"

    v = s.data("GET", f"/nodes/{NODE}/qemu/{vm}/config")
    assert v["name"] == "ui-vm"
    assert v["memory"] == 256 or v["memory"] == "256"
    assert v["scsi0"].startswith("local:") and "size=2G" in v["scsi0"], "made 1G, grown by 1G: " + v["scsi0"]
    assert v["ide2"].startswith(iso) and "media=cdrom" in v["ide2"], v["ide2"]
    assert v["net0"].startswith("virtio=") and "bridge=vmbr0" in v["net0"], v["net0"]
    assert "firewall" not in v["net0"]
    assert v["ostype"] == "l26"
    assert v["scsihw"] == "virtio-scsi-single"


def test_edit_pages_change_a_running_ct_live_and_pending(ui):  # noqa: F811
    vmid = ui.h.create(hostname="ui-edit", memory=512, swap=512)
    ui.h.start(vmid)
    ui.run("edit", EDIT_VMID=vmid)
    cur = ui.h.config(vmid, current=1)
    pending = ui.h.config(vmid)
    assert cur["memory"] == 384, "the memory change applied live"
    assert "cores" not in cur and "cores" not in pending, "the pending cores change was reverted"
    assert not any(k.startswith("net") for k in pending), "the NIC added live was removed live"
    assert not any(k.startswith("net") for k in cur), "the NIC added live was removed live"
    assert cur["swap"] == 512, "the refused swap change was not made"
    assert cur["description"].strip() == "changed elsewhere"
    assert cur["hostname"] == "ui-edited"
    assert "features" not in cur
    assert ui.h.status(vmid)["status"] == "running"
