"""Real clients managing VMs, unchanged: Ansible's community.general.proxmox_kvm with
ansible-playbook (proxmox-api.md §3.4: create with state=present, started, stopped — an ACPI
shutdown the test guest answers — and absent, each changed once and unchanged when run
again), and proxmoxer (create, start, status, config, stop, delete)."""
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import ADMIN, ADMIN_PASSWORD, NODE
import guestimg
from vmlib import qemu_pid, run_dir, upload_guest_iso, vm_host  # noqa: F401 - fixtures

MODULE = "community.general.proxmox_kvm"


@pytest.fixture(scope="module")
def iso(vm_host):
    return upload_guest_iso(vm_host)


@pytest.fixture
def vm(vm_host, iso):
    first = len(vm_host.made)
    yield vm_host
    vm_host.cleanup(vm_host.made[first:])


def playbook(b, tmp_path, *tasks):
    """One play on localhost running MODULE with each of tasks; the per-task results."""
    common = dict(api_host=f"127.0.0.1:{b.port}", api_user=ADMIN, api_password=ADMIN_PASSWORD,
                  validate_certs=False, node=NODE, timeout=180)
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "tasks": [{"name": f"task {i}", MODULE: dict(common, **t)}
                       for i, t in enumerate(tasks)]}]
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_DEPRECATION_WARNINGS="0",
               ANSIBLE_HOME=os.path.join(b.root, "ansible"))
    p = subprocess.run(["ansible-playbook", "-i", "localhost,", str(path)], capture_output=True,
                       text=True, env=env, timeout=900)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"ansible-playbook printed no JSON:\n{p.stdout}\n{p.stderr}")
    return [t["hosts"]["localhost"] for t in out["plays"][0]["tasks"]]


def assert_ok(result, changed):
    assert not result.get("failed"), result.get("msg", result)
    assert result["changed"] is changed, result.get("msg", result)


def test_ansible_present_started_stopped_absent(vm, iso, tmp_path):
    if not shutil.which("ansible-playbook"):
        pytest.skip("ansible is not installed (scripts/install-deps.sh test installs it)")
    vmid = vm.vmid()
    b = vm.b
    create = dict(vmid=vmid, name="ansible-vm", state="present", memory=256, cores=1,
                  sockets=1, cpu="qemu64", ostype="l26", scsihw="virtio-scsi-single",
                  scsi={"scsi0": "local:1"}, ide={"ide2": f"{iso},media=cdrom"},
                  serial={"serial0": "socket"}, vga="serial0", boot="order=ide2;scsi0")
    first, again = playbook(b, tmp_path, create, create)
    assert_ok(first, changed=True)
    assert_ok(again, changed=False)
    conf = b.admin().data("GET", f"/nodes/{NODE}/qemu/{vmid}/config")
    assert conf["name"] == "ansible-vm" and conf["memory"] == "256"
    assert re.fullmatch(rf"local:{vmid}/vm-{vmid}-disk-0\.\w+,size=1G", conf["scsi0"])

    started = dict(vmid=vmid, state="started")
    first, again = playbook(b, tmp_path, started, started)
    assert_ok(first, changed=True)
    assert_ok(again, changed=False)
    assert qemu_pid(b, vmid)
    # an ACPI shutdown needs a guest that listens: wait until it has booted
    con = guestimg.SerialConsole(os.path.join(run_dir(b), f"{vmid}.serial0"), timeout=30)
    con.wait_for(guestimg.MARKER, 180)
    con.close()

    stopped = dict(vmid=vmid, state="stopped", timeout=180)
    res = playbook(b, tmp_path, stopped, stopped)
    assert len(res) == 2, res[0].get("msg", res)
    first, again = res
    assert_ok(first, changed=True)
    assert_ok(again, changed=False)
    assert qemu_pid(b, vmid) is None

    absent = dict(vmid=vmid, state="absent")
    first, again = playbook(b, tmp_path, absent, absent)
    assert_ok(first, changed=True)
    assert_ok(again, changed=False)
    assert not vm.exists(vmid)


def wait(px, upid, timeout=180):
    import time
    deadline = time.monotonic() + timeout
    while True:
        st = px.nodes(NODE).tasks(upid).status.get()
        if st["status"] == "stopped":
            return st["exitstatus"]
        assert time.monotonic() < deadline, f"task {upid} still running"
        time.sleep(0.2)


def test_proxmoxer_create_start_stop_delete(vm, iso):
    px = vm.b.api()
    vmid = vm.vmid()
    upid = px.nodes(NODE).qemu.post(vmid=vmid, name="px-vm", memory=256, cores=1,
                                    net0="virtio,bridge=vmbr0,link_down=1",
                                    ide2=f"{iso},media=cdrom", virtio0="local:1",
                                    serial0="socket", vga="serial0")
    assert wait(px, upid) == "OK"
    conf = px.nodes(NODE).qemu(vmid).config.get()
    assert conf["net0"].startswith("virtio=BC:24:11:")
    assert [e for e in px.nodes(NODE).qemu.get() if e["vmid"] == vmid][0]["status"] == "stopped"
    # vmbr0 may be missing on a test host: the start then fails with PVE's bridge error
    bridge_ok = os.path.isdir("/sys/class/net/vmbr0/bridge")
    upid = px.nodes(NODE).qemu(vmid).status.start.post()
    status = wait(px, upid)
    if not bridge_ok:
        assert status == "bridge 'vmbr0' does not exist", status
        px.nodes(NODE).qemu(vmid).config.put(delete="net0")
        assert wait(px, px.nodes(NODE).qemu(vmid).status.start.post()) == "OK"
    else:
        assert status == "OK"
    st = px.nodes(NODE).qemu(vmid).status.current.get()
    assert st["status"] == "running" and st["qmpstatus"] == "running"
    assert wait(px, px.nodes(NODE).qemu(vmid).status.stop.post()) == "OK"
    assert px.nodes(NODE).qemu(vmid).status.current.get()["status"] == "stopped"
    assert wait(px, px.nodes(NODE).qemu(vmid).delete()) == "OK"
    assert vmid not in [e["vmid"] for e in px.nodes(NODE).qemu.get()]
