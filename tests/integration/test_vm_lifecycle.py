"""VMs that really run: the test guest ISO (Debian's kernel with a busybox initramfs, built by
guestimg.py) uploaded to storage, a VM created from it through the API, started under TCG,
its marker read on the serial console, suspended and resumed, shut down over ACPI, and
destroyed; start of a running VM fails in the task (PVE), destroy of a running VM is refused;
the daemon's restart leaves the VM running, and a QEMU killed from outside reads as stopped;
OVMF (UEFI) boots the same ISO; `berth vm console` carries the serial console."""
import os
import signal
import subprocess

import pytest

import guestimg
from conftest import wait_for
from vmlib import guest_vm as vm, iso, vm_host  # noqa: F401 - fixtures
from vmlib import qemu_pid, run_dir, taps, upload_guest_iso, wait_vm_status

BOOT_TIMEOUT = 180  # TCG on a slow, shared host


def serial(h, vmid, timeout=30):
    return guestimg.SerialConsole(os.path.join(run_dir(h.b), f"{vmid}.serial0"),
                                  timeout=timeout)


def make_guest(h, iso, **extra):
    p = {"ide2": f"{iso},media=cdrom", "serial0": "socket", "vga": "serial0",
         "boot": "order=ide2", "memory": 256}
    p.update(extra)
    return h.create(**p)


def test_boot_marker_acpi_shutdown_destroy(vm, iso):
    vmid = make_guest(vm, iso, name="bootme")
    assert vm.config(vmid)["ide2"].startswith(f"{iso},media=cdrom,size=")
    vm.power(vmid, "start")
    con = serial(vm, vmid)
    con.wait_for(guestimg.MARKER, BOOT_TIMEOUT)
    assert "BERTH-FW=bios" in con.text
    st = vm.status(vmid)
    assert st["status"] == "running" and st["qmpstatus"] == "running"
    assert st["pid"] == qemu_pid(vm.b, vmid) and st["accel"] == "tcg"
    assert st["uptime"] >= 0 and st["mem"] > 0
    # QEMU runs in its own session and cgroup, not under berthd
    pid = st["pid"]
    assert os.getsid(pid) == pid
    cg = open(f"/proc/{pid}/cgroup").read()
    assert f"qemu.slice/{vmid}.scope" in cg
    # start of a running VM fails inside the task, as in PVE
    t = vm.power(vmid, "start", ok=False)
    assert t["exitstatus"] == f"VM {vmid} already running"
    # destroy of a running VM is refused synchronously
    r = vm.s.delete(vm.path(vmid))
    assert (r.status, r.reason) == (500, f"VM {vmid} is running - destroy failed")
    # suspend/resume pause and continue
    vm.power(vmid, "suspend")
    assert vm.status(vmid)["qmpstatus"] == "paused"
    r = vm.s.post(vm.path(vmid, "/status/shutdown"))
    assert (r.status, r.reason) == (500, "VM is paused - cannot shutdown")
    vm.power(vmid, "resume")
    assert vm.status(vmid)["qmpstatus"] == "running"
    # ACPI shutdown: the guest powers off, QEMU exits, the tap and cgroup go with it
    vm.power(vmid, "shutdown", timeout=BOOT_TIMEOUT)
    con.wait_for(guestimg.POWEROFF_MARKER, 10)
    assert vm.status(vmid)["status"] == "stopped"
    assert qemu_pid(vm.b, vmid) is None
    # shutdown of a stopped VM is a no-op that succeeds (PVE)
    vm.power(vmid, "shutdown")
    vm.task("DELETE", vm.path(vmid))
    assert not vm.exists(vmid)


def test_vm_with_a_nic_gets_its_tap_on_the_bridge(vm, iso):
    br = "br-vm" + os.urandom(3).hex()
    subprocess.run(["ip", "link", "add", br, "type", "bridge"], check=True)
    try:
        vmid = make_guest(vm, iso, net0=f"virtio,bridge={br},rate=2.5")
        t = vm.power(vmid, "start")
        tap = f"tap{vmid}i0"
        assert taps(vmid) == [tap]
        master = os.path.basename(os.readlink(f"/sys/class/net/{tap}/master"))
        assert master == br
        # rate= (MB/s): an htb class on the tap for the traffic to the guest, and an ingress
        # policer for the traffic from it unless this kernel lacks the police action (then
        # the start says so)
        show = lambda what, *a: subprocess.run(["tc", what, "show", "dev", tap, *a],
                                               check=True, capture_output=True,
                                               text=True).stdout
        assert "rate 20971Kbit" in show("class")
        log = vm.task_log(t["upid"])
        if "no tc police action" not in log:
            assert "police" in show("filter", "parent", "ffff:")
        vm.power(vmid, "stop")
        wait_for(lambda: not taps(vmid), timeout=10, what="the tap to go")
    finally:
        subprocess.run(["ip", "link", "del", br], capture_output=True)


def test_missing_bridge_fails_the_start_and_leaves_nothing(vm, iso):
    vmid = make_guest(vm, iso, net0="virtio,bridge=nosuchbr0")
    t = vm.power(vmid, "start", ok=False)
    assert "nosuchbr0" in t["exitstatus"], t["exitstatus"]
    assert qemu_pid(vm.b, vmid) is None and not taps(vmid)


def test_vm_outlives_the_daemon_and_a_kill_reads_as_stopped(vm, iso):
    vmid = make_guest(vm, iso)
    vm.power(vmid, "start")
    pid = qemu_pid(vm.b, vmid)
    vm.b.restart()
    assert qemu_pid(vm.b, vmid) == pid
    st = vm.status(vmid)
    assert st["status"] == "running" and st["pid"] == pid and st["qmpstatus"] == "running"
    os.kill(pid, signal.SIGKILL)
    wait_vm_status(vm, vmid, "stopped", timeout=10)
    # and it starts again from there
    vm.power(vmid, "start")
    assert vm.status(vmid)["status"] == "running"


def test_ovmf_boots_the_same_iso(vm, iso):
    if not os.path.exists("/usr/share/OVMF/OVMF_CODE_4M.fd"):
        pytest.skip("OVMF (Debian's ovmf package) is not installed")
    # 512 MiB: with 256 the kernel that GRUB's EFI loader hands over never comes up
    vmid = make_guest(vm, iso, bios="ovmf", machine="q35", efidisk0="local:1,efitype=4m",
                      memory=512)
    assert ",size=" in vm.config(vmid)["efidisk0"]
    vm.power(vmid, "start")
    con = serial(vm, vmid)
    con.wait_for(guestimg.MARKER, BOOT_TIMEOUT)
    assert "BERTH-FW=efi" in con.text


def test_cli_console_carries_the_serial_console(vm, iso):
    vmid = make_guest(vm, iso)
    r = vm.b.cli("vm", "start", str(vmid))
    assert r.returncode == 0, r.stderr
    con = serial(vm, vmid)
    con.wait_for(guestimg.MARKER, BOOT_TIMEOUT)
    con.close()
    r = vm.b.cli("vm", "console", str(vmid), input="echo cli-$((6*7))\n", timeout=60)
    assert r.returncode == 0, r.stderr
    assert "cli-42" in r.stdout
    r = vm.b.cli("vm", "status", str(vmid))
    assert r.returncode == 0 and "running" in r.stdout


def test_a_non_linux_guest_memtest_boots_from_its_iso(vm):
    iso = upload_guest_iso(vm, "memtest")
    vmid = vm.create(ide2=f"{iso},media=cdrom", serial0="socket", vga="std",
                     boot="order=ide2", memory=256)
    vm.power(vmid, "start")
    con = serial(vm, vmid)
    con.wait_for(guestimg.MEMTEST_MARKER, BOOT_TIMEOUT)
    assert vm.status(vmid)["qmpstatus"] == "running"


def test_onboot_vms_start_in_startup_order_after_a_host_boot(vm):
    """berthd's first start after a host boot runs startall (PVE's pve-guests): onboot VMs
    start in startup order, the others stay stopped. A host boot is a new kernel boot id,
    which berthd compares with the one it wrote to <run>/boot-id."""
    second = vm.create(onboot=1, startup="order=2")
    first = vm.create(onboot=1, startup="order=1,up=1")
    idle = vm.create()
    vm.b.stop()
    os.unlink(os.path.join(vm.b.root, "run", "boot-id"))
    vm.b.start()
    wait_vm_status(vm, second, "running", timeout=120)
    wait_vm_status(vm, first, "running")
    assert vm.status(idle)["status"] == "stopped"
    tasks = vm.s.data("GET", f"/nodes/{vm.b.node}/tasks",
                      {"typefilter": "startall", "source": "all"})
    upid = tasks[0]["upid"]
    vm.b.wait_task(upid, session=vm.s, timeout=120)
    log = vm.task_log(upid)
    assert log.index(f"starting VM {first}") < log.index(f"starting VM {second}"), log
    assert "Waiting for 1 seconds (startup delay)" in log
    for vmid in (first, second):
        vm.power(vmid, "stop")


def test_reboot_applies_pending_changes_and_boots_again(vm, iso):
    """PVE's reboot (no snapshot involved): an ACPI shutdown, then a start that applies what
    was pending; the guest boots again in a new QEMU."""
    vmid = make_guest(vm, iso)
    vm.power(vmid, "start")
    serial(vm, vmid).wait_for(guestimg.MARKER, BOOT_TIMEOUT)
    pid = vm.status(vmid)["pid"]
    vm.s.data("PUT", vm.path(vmid, "/config"), {"memory": "320"})
    assert vm.config(vmid, current=1)["memory"] == "256"
    t = vm.power(vmid, "reboot", timeout=BOOT_TIMEOUT)
    assert t["exitstatus"] == "OK"
    con = serial(vm, vmid)
    con.wait_for(guestimg.MARKER, BOOT_TIMEOUT)
    st = vm.status(vmid)
    assert st["status"] == "running" and st["pid"] != pid
    assert vm.config(vmid, current=1)["memory"] == "320"
    assert st["maxmem"] == 320 << 20
    # reboot of a stopped VM is refused synchronously (PVE: "VM <vmid> not running")
    vm.power(vmid, "stop")
    r = vm.s.post(vm.path(vmid, "/status/reboot"))
    assert (r.status, r.reason) == (500, f"VM {vmid} not running")
