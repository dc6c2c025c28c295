"""Config changes of a running VM that QEMU can take live, as Proxmox's hot-plug: a virtio
disk plugged by POST config and seen by the guest, unplugged again (its volume becomes
unusedN), CD-ROM media changed and ejected, a NIC plugged onto a bridge, moved to another
bridge, rate-limited and linked down without a replug, then unplugged; CPU limits written to the cgroup;
a failed plug answered as PVE's 400 "hotplug problem" with the change left pending and
nothing left in QEMU; keys QEMU cannot change live (memory, SATA disks, anything with
`hotplug: 0`) stay pending, and the start that applies them keeps a replaced volume as
unusedN. All against a real guest under TCG, checked from inside through its serial shell."""
import glob
import os
import subprocess
import time

import pytest

import guestimg
from conftest import NODE, wait_for
from vmlib import guest_vm as vm, iso, vm_host  # noqa: F401 - fixtures
from vmlib import local_path, run_dir, vm_cgroups

BOOT_TIMEOUT = 180


class Guest:
    """The test guest's root shell on serial0: run a command, get its output lines."""

    def __init__(self, h, vmid):
        self.con = guestimg.SerialConsole(os.path.join(run_dir(h.b), f"{vmid}.serial0"),
                                          timeout=30)
        self.con.wait_for(guestimg.MARKER, BOOT_TIMEOUT)
        self.n = 0

    def run(self, cmd, timeout=60):
        self.n += 1
        end = f"END-{self.n}-OK"
        start = len(self.con.buf)
        # the marker is printed, not echoed: "END-" "1-OK" as two words in the command line
        self.con.send(f"{cmd}; echo END-{self.n}-\"OK\"\n")
        self.con.wait_for(end, timeout)
        out = self.con.buf[start:].decode("utf-8", "replace")
        return [ln.strip() for ln in out.splitlines()]

    def wait(self, cmd, want, timeout=60):
        """Run cmd until a line of its output is want."""
        wait_for(lambda: want in self.run(cmd) or time.sleep(0.5), timeout=timeout,
                 what=f"{want!r} from {cmd!r} in the guest")

    def wait_not(self, cmd, gone, timeout=60):
        wait_for(lambda: gone not in self.run(cmd) or time.sleep(0.5), timeout=timeout,
                 what=f"{gone!r} gone from {cmd!r} in the guest")


def mon(h, vmid, command, **args):
    return guestimg.qmp_command(os.path.join(run_dir(h.b), f"{vmid}.mon"), command,
                                args or None)


def boot(h, iso, **extra):
    p = {"ide2": f"{iso},media=cdrom", "serial0": "socket", "vga": "serial0",
         "boot": "order=ide2", "memory": 256}
    p.update(extra)
    vmid = h.create(**p)
    h.power(vmid, "start")
    return vmid, Guest(h, vmid)


def pending(h, vmid):
    return {e["key"]: e for e in h.s.data("GET", h.path(vmid, "/pending"))
            if "pending" in e or "delete" in e}


def put(h, vmid, **params):
    return h.s.put(h.path(vmid, "/config"), params)


def bridge(name_hint):
    br = f"br{name_hint}" + os.urandom(3).hex()
    subprocess.run(["ip", "link", "add", br, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", br, "up"], check=True)
    return br


def drop_bridge(br):
    subprocess.run(["ip", "link", "del", br], check=False)


def brif(br):
    return sorted(os.path.basename(p) for p in glob.glob(f"/sys/class/net/{br}/brif/*"))


def tc(what, dev):
    return subprocess.run(["tc", what, "show", "dev", dev], capture_output=True, text=True,
                          check=True).stdout


def test_disk_plug_unplug_and_cdrom_media(vm, iso):
    vmid, g = boot(vm, iso)
    assert "HP=vda" not in g.run("for b in /sys/block/vd*; do echo HP=${b##*/}; done")

    # a new disk by POST config (it allocates): plugged at once, not pending
    vm.task("POST", vm.path(vmid, "/config"), {"virtio1": "local:1"})
    cfg = vm.config(vmid)
    assert cfg["virtio1"].startswith(f"local:{vmid}/vm-{vmid}-disk-") and "size=1G" in cfg["virtio1"]
    assert "virtio1" not in pending(vm, vmid)
    volid = cfg["virtio1"].split(",")[0]
    blocks = [b["device"] for b in mon(vm, vmid, "query-block")]
    assert "drive-virtio1" in blocks
    g.wait("cat /sys/block/vda/size", str(1 << 21))  # 1 GiB in 512-byte sectors

    # unplugged by PUT delete: the guest lets go, the volume stays the VM's as unused0
    r = put(vm, vmid, delete="virtio1")
    assert r.status == 200, r.reason
    cfg = vm.config(vmid)
    assert "virtio1" not in cfg and cfg["unused0"] == volid
    assert not pending(vm, vmid)
    g.wait_not("ls /sys/block", "vda")
    assert "drive-virtio1" not in [b["device"] for b in mon(vm, vmid, "query-block")]
    # deleting unused0 of a running VM frees the volume at once (PVE)
    path = local_path(vm, volid)
    assert put(vm, vmid, delete="unused0").status == 200
    assert "unused0" not in vm.config(vmid) and not os.path.exists(path)

    # CD-ROM: eject, then a medium again, while the guest runs
    assert put(vm, vmid, ide2="none,media=cdrom").status == 200
    ide2 = next(b for b in mon(vm, vmid, "query-block") if b["device"] == "drive-ide2")
    assert "inserted" not in ide2
    assert vm.config(vmid)["ide2"] == "none,media=cdrom" and not pending(vm, vmid)
    assert put(vm, vmid, ide2=f"{iso},media=cdrom").status == 200
    ide2 = next(b for b in mon(vm, vmid, "query-block") if b["device"] == "drive-ide2")
    assert ide2["inserted"]["file"].endswith("berth-linux.iso")


def test_nic_plug_move_link_unplug(vm, iso):
    br1, br2 = bridge("hpa"), bridge("hpb")
    try:
        vmid, g = boot(vm, iso)
        tap = f"tap{vmid}i1"
        assert put(vm, vmid, net1=f"virtio,bridge={br1}").status == 200
        net1 = vm.config(vmid)["net1"]
        mac = net1.split(",")[0].split("=")[1]
        assert "net1" not in pending(vm, vmid)
        assert brif(br1) == [tap]
        g.wait("cat /sys/class/net/eth0/address", mac.lower())
        g.run("ip link set eth0 up")  # carrier reads only on an interface that is up

        # another bridge: the same NIC (MAC kept), its tap moved, no replug
        assert put(vm, vmid, net1=f"virtio={mac},bridge={br2}").status == 200
        assert brif(br1) == [] and brif(br2) == [tap]
        assert vm.config(vmid)["net1"] == f"virtio={mac},bridge={br2}"
        # link down: the guest sees no carrier
        assert put(vm, vmid, net1=f"virtio={mac},bridge={br2},link_down=1").status == 200
        g.wait("cat /sys/class/net/eth0/carrier", "0")
        assert put(vm, vmid, net1=f"virtio={mac},bridge={br2}").status == 200
        g.wait("cat /sys/class/net/eth0/carrier", "1")

        # rate= on the live tap (tc htb to the guest; a police filter from it where the
        # kernel has the action), and off again
        assert put(vm, vmid, net1=f"virtio={mac},bridge={br2},rate=5").status == 200
        assert "htb" in tc("qdisc", tap) and "rate 41943Kbit" in tc("class", tap)
        assert put(vm, vmid, net1=f"virtio={mac},bridge={br2}").status == 200
        assert "htb" not in tc("qdisc", tap)

        # a new model means a new device: unplug, plug
        assert put(vm, vmid, net1=f"e1000={mac},bridge={br2}").status == 200
        assert vm.config(vmid)["net1"].startswith("e1000=")
        assert not pending(vm, vmid)

        # unplugged: tap and guest NIC gone
        assert put(vm, vmid, delete="net1").status == 200
        assert "net1" not in vm.config(vmid) and brif(br2) == []
        assert not os.path.exists(f"/sys/class/net/{tap}")
        g.wait_not("ls /sys/class/net", "eth0")
    finally:
        drop_bridge(br1)
        drop_bridge(br2)


def test_failed_plug_is_a_400_and_stays_pending(vm, iso):
    vmid, g = boot(vm, iso)
    r = put(vm, vmid, net1="virtio,bridge=nosuchbr0")
    assert (r.status, r.reason) == (400, "Parameter verification failed.")
    assert r.json()["errors"]["net1"] == "hotplug problem - bridge 'nosuchbr0' does not exist"
    assert pending(vm, vmid)["net1"]["pending"].endswith("bridge=nosuchbr0")
    assert "net1" not in vm.config(vmid, current=1)
    # nothing of it in QEMU: the netdev was taken back
    assert not os.path.exists(f"/sys/class/net/tap{vmid}i1")
    # revert drops it
    assert put(vm, vmid, revert="net1").status == 200
    assert not pending(vm, vmid)


def cpu_quota(vmid):
    for cg in vm_cgroups(vmid):
        if os.path.exists(f"{cg}/cpu.max"):
            return open(f"{cg}/cpu.max").read().split()[0]
        if os.path.exists(f"{cg}/cpu.cfs_quota_us"):
            return open(f"{cg}/cpu.cfs_quota_us").read().strip()
    pytest.skip(f"no CPU controller in VM {vmid}'s cgroups {vm_cgroups(vmid)}")


def test_cpu_limits_live_and_restart_only_keys(vm, iso):
    vmid, g = boot(vm, iso, sata0="local:1")
    unlimited = cpu_quota(vmid)
    assert unlimited in ("max", "-1")
    assert put(vm, vmid, cpulimit="0.5").status == 200
    assert vm.config(vmid)["cpulimit"] == "0.5" and not pending(vm, vmid)
    assert cpu_quota(vmid) == "50000"
    assert put(vm, vmid, delete="cpulimit").status == 200
    assert cpu_quota(vmid) == unlimited

    # memory and SATA disks wait for the next start; hotplug: 0 keeps even virtio disks out
    old_sata = vm.config(vmid)["sata0"].split(",")[0]
    assert put(vm, vmid, memory="384", hotplug="0").status == 200
    assert set(pending(vm, vmid)) == {"memory", "hotplug"}
    vm.task("POST", vm.path(vmid, "/config"), {"sata0": "local:1"})
    assert set(pending(vm, vmid)) == {"memory", "hotplug", "sata0"}
    assert vm.config(vmid, current=1)["sata0"].split(",")[0] == old_sata

    # the start that applies them keeps the replaced volume as unused0
    vm.power(vmid, "stop")
    vm.power(vmid, "start")
    cfg = vm.config(vmid)
    assert not pending(vm, vmid)
    assert cfg["memory"] == "384" and cfg["hotplug"] == "0"
    assert cfg["unused0"] == old_sata and cfg["sata0"].split(",")[0] != old_sata
    # with hotplug: 0 a virtio disk waits too
    vm.task("POST", vm.path(vmid, "/config"), {"virtio1": "local:1"})
    assert "virtio1" in pending(vm, vmid)
    vm.power(vmid, "stop")
    assert vm.s.data("GET", f"/nodes/{NODE}/qemu/{vmid}/status/current")["status"] == "stopped"
