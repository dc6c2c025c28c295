"""Ansible's real proxmox module (Debian's `ansible`, community.general) managing a container on
Berth with ansible-playbook (proxmox-api.md §3.2, §3.3): create from the busybox template
(state=present), start, stop (shutdown), remove (state=absent) — each task changed the first
time and unchanged when run again, unchanged client code as users run it."""
import shutil
import subprocess

import pytest

import ansiblelib
from ansiblelib import assert_ok
from conftest import NODE
from ctlib import bridge, ct, ct_host  # noqa: F401 - fixtures

MODULE = "community.general.proxmox"
CT_PASSWORD = "ct-root-password"


@pytest.fixture(scope="module")
def ab(ct_host):
    """The module's daemon with the busybox template (ctlib); returns (berth, template)."""
    if not shutil.which("ansible-playbook"):
        pytest.skip("ansible is not installed (scripts/install-deps.sh test installs it)")
    return ct_host.b, ct_host.template


def playbook(b, tmp_path, *tasks):
    return ansiblelib.playbook(b, tmp_path, MODULE, *tasks)


def ct_status(b, vmid):
    r = b.admin().get(f"/nodes/{NODE}/lxc/{vmid}/status/current")
    return r.json()["data"]["status"] if r.status == 200 else None


@pytest.fixture
def ct_vmid(ct):
    """A vmid of this run's host-wide block; the CT is removed after the test and must leave
    nothing on the host (ctlib)."""
    return ct.vmid()


def test_present_started_stopped_absent_each_change_once(ab, bridge, ct_vmid, tmp_path):
    b, tmpl = ab
    vmid = ct_vmid
    create = dict(vmid=vmid, state="present", hostname="ansible-ct", ostemplate=tmpl,
                  password=CT_PASSWORD, storage="local", cores=1, memory=256, swap=0,
                  unprivileged=True, netif={"net0": f"name=eth0,bridge={bridge},ip=dhcp"})

    first, again = playbook(b, tmp_path, create, create)
    assert_ok(first, changed=True)
    assert_ok(again, changed=False)
    conf = b.admin().data("GET", f"/nodes/{NODE}/lxc/{vmid}/config")
    assert conf["hostname"] == "ansible-ct" and conf["unprivileged"] == 1
    assert conf["cores"] == 1 and conf["memory"] == 256 and conf["swap"] == 0
    assert conf["net0"].startswith(f"name=eth0,bridge={bridge},hwaddr=BC:24:11:"), conf["net0"]
    assert conf["rootfs"].startswith(f"local:{vmid}/vm-{vmid}-disk-0.raw"), conf["rootfs"]
    assert "lock" not in conf and "template" not in conf
    assert ct_status(b, vmid) == "stopped"

    started, again = playbook(b, tmp_path, {"vmid": vmid, "state": "started"},
                              {"vmid": vmid, "state": "started"})
    assert_ok(started, changed=True)
    assert_ok(again, changed=False)
    assert ct_status(b, vmid) == "running"
    # the veth of net0 is on the bridge
    links = subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True,
                           text=True).stdout
    assert f"veth{vmid}i0" in links, links

    stopped, again = playbook(b, tmp_path, {"vmid": vmid, "state": "stopped"},
                              {"vmid": vmid, "state": "stopped"})
    assert_ok(stopped, changed=True)
    assert_ok(again, changed=False)
    assert ct_status(b, vmid) == "stopped"

    absent, again = playbook(b, tmp_path, {"vmid": vmid, "state": "absent"},
                             {"vmid": vmid, "state": "absent"})
    assert_ok(absent, changed=True)
    assert_ok(again, changed=False)
    assert ct_status(b, vmid) is None
    vols = [e["volid"] for e in b.admin().data("GET", f"/nodes/{NODE}/storage/local/content")]
    assert not [v for v in vols if v.startswith(f"local:{vmid}/")], vols


def test_absent_leaves_a_running_ct_alone(ab, ct_vmid, tmp_path):
    """The module's own rule (§3.3): a running CT is not deleted ('Stop it before deletion')."""
    b, tmpl = ab
    vmid = ct_vmid
    create = dict(vmid=vmid, state="present", hostname="ansible-run", ostemplate=tmpl,
                  password=CT_PASSWORD, unprivileged=True)
    results = playbook(b, tmp_path, create, {"vmid": vmid, "state": "started"},
                       {"vmid": vmid, "state": "absent"})
    assert_ok(results[0], changed=True)
    assert_ok(results[1], changed=True)
    assert_ok(results[2], changed=False)
    assert "Stop it before deletion" in results[2]["msg"]
    assert ct_status(b, vmid) == "running"


def test_present_without_vmid_takes_the_next_id_and_finds_the_ct_by_hostname(ab, tmp_path):
    """No vmid: the module asks /cluster/nextid, and on the second run finds the hostname in
    /cluster/resources and changes nothing; state=absent finds it by hostname too."""
    b, tmpl = ab
    create = dict(state="present", hostname="ansible-next", ostemplate=tmpl,
                  password=CT_PASSWORD, unprivileged=True)
    vmid = None
    try:
        first, again = playbook(b, tmp_path, create, create)
        assert_ok(first, changed=True)
        found = [e["vmid"] for e in b.admin().data("GET", "/cluster/resources", {"type": "vm"})
                 if e.get("name") == "ansible-next"]
        assert len(found) == 1, found
        vmid = found[0]
        assert str(vmid) in first["msg"], first["msg"]
        assert_ok(again, changed=False)
        assert f"has ID number {vmid}" in again["msg"], again["msg"]
        absent = playbook(b, tmp_path, {"hostname": "ansible-next", "state": "absent"})[0]
        assert_ok(absent, changed=True)
        assert ct_status(b, vmid) is None
    finally:
        r = b.admin().delete(f"/nodes/{NODE}/lxc/{vmid}") if vmid else None
        if r is not None and r.status == 200:
            b.wait_task(r.json()["data"], timeout=60)


def test_the_modules_default_privileged_ct_is_created_for_an_administrator(ab, ct_vmid,
                                                                          tmp_path):
    """Without `unprivileged` this module version sends unprivileged=0 (with a deprecation
    warning); an administrator (Sys.Modify on /) may create that privileged CT, as on PVE."""
    b, tmpl = ab
    vmid = ct_vmid
    r = playbook(b, tmp_path, dict(vmid=vmid, state="present", hostname="ansible-priv",
                                   ostemplate=tmpl, password=CT_PASSWORD))[0]
    assert_ok(r, changed=True)
    conf = b.admin().data("GET", f"/nodes/{NODE}/lxc/{vmid}/config")
    assert conf.get("unprivileged", 0) == 0, conf
