"""Container networking on a bridge the test makes: net0 gives a CT a veth on the bridge with
the static address from the config (busybox is 'unmanaged', so liblxc sets it), two CTs on
one bridge reach each other, the MAC generated at create stays the CT's for good, and NICs
of a running CT are added, changed and removed live (PVE's hotplug), rate= limits included."""
import os
import re
import subprocess

from conftest import NODE
from ctlib import bridge, ct, ct_host, subnet  # noqa: F401

MAC_RE = re.compile(r"hwaddr=((?:[0-9A-F]{2}:){5}[0-9A-F]{2})")


def mac_of(conf, key="net0"):
    m = MAC_RE.search(conf[key])
    assert m, conf[key]
    return m.group(1)


def live_mac(h, vmid):
    return h.enter(vmid, "cat /sys/class/net/eth0/address\n").stdout.strip().upper()


def test_two_cts_on_one_bridge_reach_each_other(bridge, ct):
    net = subnet()
    a = ct.create(net0=f"name=eth0,bridge={bridge},ip={net}.2/24")
    b = ct.create(net0=f"name=eth0,bridge={bridge},ip={net}.3/24")
    ct.start(a)
    ct.start(b)
    for vmid in (a, b):
        master = os.path.realpath(f"/sys/class/net/veth{vmid}i0/master")
        assert os.path.basename(master) == bridge
    r = ct.enter(a, f"ping -c 1 -W 2 {net}.3\n", check=False)
    assert r.returncode == 0 and "1 packets received" in r.stdout, r.stdout + r.stderr
    r = ct.enter(b, f"ping -c 1 -W 2 {net}.2\n", check=False)
    assert r.returncode == 0 and "1 packets received" in r.stdout, r.stdout + r.stderr


def test_static_address_is_set_with_its_prefix_and_broadcast(bridge, ct):
    net = subnet()
    vmid = ct.create(net0=f"name=eth0,bridge={bridge},ip={net}.2/24")
    ct.start(vmid)
    r = ct.enter(vmid, "ip -4 -o addr show dev eth0\n")
    assert re.search(rf"inet {re.escape(net)}\.2/24 brd {re.escape(net)}\.255 ", r.stdout), \
        r.stdout


def test_mac_is_generated_once_and_kept_across_updates_and_restarts(bridge, ct):
    net = subnet()
    vmid = ct.create(net0=f"name=eth0,bridge={bridge},ip={net}.2/24")
    mac = mac_of(ct.config(vmid))
    assert mac.startswith("BC:24:11:")  # PVE's prefix

    # a new net0 without hwaddr keeps the NIC's MAC; other changes do not touch it
    ct.s.data("PUT", ct.path(vmid, "/config"),
              {"net0": f"name=eth0,bridge={bridge},ip={net}.4/24"})
    conf = ct.config(vmid)
    assert mac_of(conf) == mac and f"ip={net}.4/24" in conf["net0"]
    ct.s.data("PUT", ct.path(vmid, "/config"), {"memory": 256})
    assert mac_of(ct.config(vmid)) == mac

    ct.start(vmid)
    assert live_mac(ct, vmid) == mac
    # changed while running: made live, still the same MAC
    ct.s.data("PUT", ct.path(vmid, "/config"),
              {"net0": f"name=eth0,bridge={bridge},ip={net}.5/24"})
    assert mac_of(ct.config(vmid)) == mac and mac_of(ct.config(vmid, current=1)) == mac
    assert live_mac(ct, vmid) == mac
    ct.stop(vmid)
    ct.start(vmid)
    assert live_mac(ct, vmid) == mac
    assert f"inet {net}.5/24" in ct.enter(vmid, "ip -4 -o addr show dev eth0\n").stdout
    ct.power(vmid, "reboot")
    assert live_mac(ct, vmid) == mac


def test_a_second_nic_gets_its_own_mac_and_veth(bridge, ct):
    net = subnet()
    vmid = ct.create(net0=f"name=eth0,bridge={bridge},ip={net}.2/24",
                     net1=f"name=eth1,bridge={bridge},ip={net}.12/24")
    conf = ct.config(vmid)
    assert mac_of(conf, "net0") != mac_of(conf, "net1")
    ct.start(vmid)
    assert os.path.exists(f"/sys/class/net/veth{vmid}i0")
    assert os.path.exists(f"/sys/class/net/veth{vmid}i1")
    r = ct.enter(vmid, "cat /sys/class/net/eth1/address\n")
    assert r.stdout.strip().upper() == mac_of(conf, "net1")


def addrs(h, vmid, dev):
    return h.enter(vmid, f"ip -o addr show dev {dev}\n", check=False).stdout


def put_config(h, vmid, params):
    r = h.s.put(h.path(vmid, "/config"), params)
    assert r.status == 200, r.status_line
    return r


def test_a_running_ct_gets_a_nic_live_and_reaches_its_peer(bridge, ct):
    net = subnet()
    peer = ct.create(net0=f"name=eth0,bridge={bridge},ip={net}.3/24")
    vmid = ct.create()
    ct.start(peer)
    ct.start(vmid)
    put_config(ct, vmid, {"net1": f"name=eth1,bridge={bridge},ip={net}.2/24,gw={net}.1"})
    conf = ct.config(vmid, current=1)
    assert "net1" in conf, conf  # applied, not pending
    assert not [e for e in ct.s.data("GET", ct.path(vmid, "/pending")) if "pending" in e]
    veth = f"veth{vmid}i1"
    assert os.path.basename(os.path.realpath(f"/sys/class/net/{veth}/master")) == bridge
    assert ct.enter(vmid, "cat /sys/class/net/eth1/address\n").stdout.strip().upper() == \
        mac_of(conf, "net1")
    assert f"inet {net}.2/24 brd {net}.255 " in addrs(ct, vmid, "eth1")
    routes = ct.enter(vmid, "ip route show default\n").stdout
    assert f"default via {net}.1 dev eth1" in routes, routes
    r = ct.enter(vmid, f"ping -c 1 -W 2 {net}.3\n", check=False)
    assert r.returncode == 0 and "1 packets received" in r.stdout, r.stdout + r.stderr
    # a vzconfig task did it, with the commands in its log
    tasks = ct.s.data("GET", f"/nodes/{NODE}/tasks", {"vmid": vmid, "typefilter": "vzconfig"})
    assert tasks and tasks[0]["status"] == "OK", tasks
    assert f"link add name {veth} type veth" in ct.task_log(tasks[0]["upid"])

    # a new address replaces the old one inside
    put_config(ct, vmid, {"net1": f"name=eth1,bridge={bridge},ip={net}.4/24"})
    a = addrs(ct, vmid, "eth1")
    assert f"inet {net}.4/24" in a and f"{net}.2/" not in a, a
    assert "default" not in ct.enter(vmid, "ip route show default\n").stdout
    # link_down takes the host end down
    put_config(ct, vmid, {"net1": f"name=eth1,bridge={bridge},ip={net}.4/24,link_down=1"})
    with open(f"/sys/class/net/{veth}/operstate") as f:
        assert f.read().strip() == "down"
    r = ct.enter(vmid, f"ping -c 1 -W 1 {net}.3\n", check=False)
    assert r.returncode != 0, r.stdout
    # removed live: the veth is gone with it
    put_config(ct, vmid, {"delete": "net1"})
    assert "net1" not in ct.config(vmid, current=1)
    assert not os.path.exists(f"/sys/class/net/{veth}")
    assert ct.enter(vmid, "ls /sys/class/net\n").stdout.split().count("eth1") == 0


def test_a_nic_that_cannot_be_plugged_stays_pending_with_the_reason(ct):
    vmid = ct.create()
    ct.start(vmid)
    r = ct.s.put(ct.path(vmid, "/config"), {"net1": "name=eth1,bridge=nosuchbr0,ip=dhcp"})
    assert r.status == 500 and r.reason.startswith("unable to hotplug net1: "), r.status_line
    assert "net1" not in ct.config(vmid, current=1)
    pending = {e["key"]: e for e in ct.s.data("GET", ct.path(vmid, "/pending"))}
    assert pending["net1"]["pending"].startswith("name=eth1,bridge=nosuchbr0"), pending
    # nothing half-made on the host
    assert not os.path.exists(f"/sys/class/net/veth{vmid}i1")


def tc(what, dev):
    return subprocess.run(["tc", what, "show", "dev", dev], capture_output=True, text=True,
                          check=True).stdout


def test_rate_limits_the_veth_at_start_and_live(bridge, ct):
    net = subnet()
    vmid = ct.create(net0=f"name=eth0,bridge={bridge},ip={net}.2/24,rate=2")
    ct.start(vmid)
    veth = f"veth{vmid}i0"
    # PVE's tc setup on the host end: an htb class for the traffic to the CT (2 MB/s =
    # 16777216 bit/s)
    assert "htb" in tc("qdisc", veth) and "rate 16777Kbit" in tc("class", veth)
    mac = mac_of(ct.config(vmid))
    nic = f"name=eth0,bridge={bridge},hwaddr={mac},ip={net}.2/24"
    # changed live, then off (the veth, its MAC and address stay)
    put_config(ct, vmid, {"net0": nic + ",rate=5"})
    assert "rate 41943Kbit" in tc("class", veth)
    put_config(ct, vmid, {"net0": nic})
    assert "htb" not in tc("qdisc", veth)
    assert "rate" not in ct.config(vmid, current=1)["net0"]
    assert live_mac(ct, vmid) == mac
    # and again at the next start
    put_config(ct, vmid, {"net0": nic + ",rate=1"})
    ct.stop(vmid)
    ct.start(vmid)
    assert "rate 8388Kbit" in tc("class", veth)
