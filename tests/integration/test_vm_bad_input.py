"""Bad input to the VM routes: each gets Proxmox's kind of error and changes nothing
(no config, no volume, the old config untouched): malformed disk and NIC strings, unknown
keys, CR/LF, ',' and '=' injection into values that reach QEMU's command line (name, serial,
smbios1), host paths from a non-root user, import-from with a hostile qcow2 (a backing file
pointing at a host file), and import-from of a good image."""
import os
import subprocess

import pytest

from conftest import NODE
from vmlib import vm, vm_host  # noqa: F401 - fixtures


def nothing_made(h, vmid):
    files = h.b.store_files()
    assert f"nodes/{NODE}/qemu-server/{vmid}.conf" not in files
    assert h.s.data("GET", f"/nodes/{NODE}/storage/local/content", {"vmid": vmid}) == []


def create_refused(h, status, **params):
    vmid = h.vmid()
    r = h.s.post(f"/nodes/{NODE}/qemu", dict({"vmid": vmid}, **params))
    assert r.status == status, (r.status, r.reason, params)
    nothing_made(h, vmid)
    return r


@pytest.mark.parametrize("key,value", [
    ("scsi0", "local:1,cache=bogus"),
    ("scsi0", "local:1,size=12Q"),
    ("virtio0", "local:1,iothread=2"),
    ("scsi31", "local:1"),
    ("ide4", "local:1"),
    ("net0", "virtio=zz:00:00:00:00:00,bridge=vmbr0"),
    ("net0", "nosuchmodel,bridge=vmbr0"),
    ("net0", "virtio,bridge=vmbr0,tag=5000"),
    ("net0", "virtio,bridge=vm/br0"),
    ("boot", "order=floppy0"),
    ("memory", "8"),
    ("nosuchkey", "1"),
])
def test_malformed_values_are_400(vm, key, value):
    create_refused(vm, 400, scsi0="local:1", **{key: value}) if key != "scsi0" else \
        create_refused(vm, 400, **{key: value})


@pytest.mark.parametrize("key,value", [
    ("name", "web\nargs: -evil"),
    ("tags", "a\rb"),
    ("name", "a,b"),
    ("name", "a=b"),
    ("scsi0", "local:1,serial=abc%2Cfile%3D%2Fetc%2Fshadow"),
    ("smbios1", "uuid=b3247ab1-1fe6-428e-965b-08a1b64a8746,serial=a,b"),
    ("smbios1", "uuid=b3247ab1-1fe6-428e-965b-08a1b64a8746,base64=1,serial=YQpi"),
])
def test_injection_and_crlf_are_refused(vm, key, value):
    create_refused(vm, 400, **{key: value})


def test_config_update_with_bad_value_changes_nothing(vm):
    vmid = vm.create(name="keep")
    before = vm.stored_config(vmid)
    for params in ({"name": "x,y"}, {"net0": "virtio,bridge=vmbr0,rate=-1"},
                   {"nosuchkey": 1},
                   {"tags": "a\nb", "cores": 2}):
        r = vm.s.put(vm.path(vmid, "/config"), params)
        assert r.status == 400, (r.status, r.reason, params)
    assert vm.stored_config(vmid) == before


def test_host_paths_and_args_are_root_only(vm):
    vm.b.add_user("alice@pve", "alice-password",
                  acl=[("/", "PVEVMAdmin"), ("/storage/local", "PVEDatastoreUser")])
    alice = vm.b.session("alice@pve", "alice-password")
    for params in ({"scsi0": "/etc/shadow"}, {"args": "-no-reboot"},
                   {"serial0": "/dev/ttyS0"}, {"scsi0": "local:0,import-from=/etc/shadow"}):
        vmid = vm.vmid()
        r = alice.post(f"/nodes/{NODE}/qemu", dict({"vmid": vmid}, **params))
        assert r.status == 403, (r.status, r.reason, params)
        nothing_made(vm, vmid)


def qemu_img(*args):
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def test_import_from_refuses_a_qcow2_with_a_backing_file(vm, tmp_path):
    # a qcow2 whose backing file is a host file: importing it would copy /etc/shadow
    # into a disk the VM owner can read
    evil = tmp_path / "evil.qcow2"
    qemu_img("create", "-f", "qcow2", "-F", "raw", "-b", "/etc/shadow", str(evil))
    vmid = vm.vmid()
    # host paths are root@pam's: the CLI on the root socket is root
    r = vm.b.cli("vm", "create", vmid, "--scsi0", f"local:0,import-from={evil}")
    assert r.returncode != 0 and "backing file" in r.stdout + r.stderr, (r.stdout, r.stderr)
    nothing_made(vm, vmid)


def test_import_from_copies_a_good_image(vm, tmp_path):
    src = tmp_path / "disk.qcow2"
    qemu_img("create", "-f", "qcow2", str(src), "64M")
    vmid = vm.vmid()
    vm.b.cli("vm", "create", vmid, "--scsi0", f"local:0,import-from={src}", check=True)
    c = vm.config(vmid)
    assert "import-from" not in c["scsi0"]
    assert c["scsi0"].endswith(",size=64M"), c["scsi0"]
    assert os.path.exists(str(src))


def test_start_of_a_missing_vm_and_unknown_node(vm):
    r = vm.s.post(vm.path(999999999, "/status/start"))
    assert (r.status, r.reason) == (
        500, f"Configuration file 'nodes/{NODE}/qemu-server/999999999.conf' does not exist")


def test_serial_host_path_must_be_a_character_device(vm):
    # root may give a host serial port; a regular file or a missing path fails the start
    # before QEMU runs (QEMU would create or truncate a file there)
    regular = f"/dev/shm/berth-not-a-tty-{os.getpid()}"
    with open(regular, "w") as f:
        f.write("keep me\n")
    try:
        for path in (regular, "/dev/nosuchtty9"):
            vmid = vm.vmid()
            # host devices are root@pam's: the CLI on the root socket is root
            r = vm.b.cli("vm", "create", vmid, "--serial0", path)
            assert r.returncode == 0, (r.stdout, r.stderr)
            t = vm.power(vmid, "start", ok=False)
            assert t["exitstatus"] == \
                f"serial0: no such serial device '{path}' (not a character device)"
            assert vm.status(vmid)["status"] == "stopped"
        assert open(regular).read() == "keep me\n"
    finally:
        os.unlink(regular)
