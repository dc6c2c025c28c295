"""Containers from create to destroy on a real berthd with real LXC: the busybox template is
built through the API once per module, every CT is a real liblxc container, clients are
proxmoxer, the raw HTTPS API and the `berth` CLI. Each test's CTs are destroyed after it and
must leave no cgroup, mount, loop device or veth on the host (ctlib's `ct` fixture)."""
import glob
import os
import re
import time

from proxmoxer.core import ResourceException

from conftest import NODE, wait_for
from ctlib import (TASK_TIMEOUT, bridge, ct, ct_host, fd_count, host_traces,  # noqa: F401
                   wait_status)

MISSING = "Configuration file 'nodes/{node}/lxc/{vmid}.conf' does not exist"


def proxmoxer_wait(px, upid, timeout=TASK_TIMEOUT):
    """What Ansible does: poll the task's status until it stopped; returns the status."""
    return wait_for(lambda: (lambda st: st if st["status"] == "stopped" else None)(
        px.nodes(NODE).tasks(upid).status.get()), timeout, f"task {upid}")


def proc_ids(pid, field):
    """The Uid:/Gid: line of /proc/<pid>/status as ints (real, effective, saved, fs)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def oom_kills(vmid):
    """OOM kills the kernel counted in the CT's memory cgroups (v1 memory.oom_control,
    cgroup2 memory.events); None where neither file exists."""
    files = glob.glob(f"/sys/fs/cgroup/memory/lxc/{vmid}/**/memory.oom_control", recursive=True)
    files += glob.glob(f"/sys/fs/cgroup/**/lxc/{vmid}/**/memory.events", recursive=True)
    if not files:
        return None
    total = 0
    for name in files:
        m = re.search(r"^oom_kill (\d+)$", open(name).read(), re.M)
        total += int(m.group(1)) if m else 0
    return total


def frozen(vmid):
    """The freezer's view of CT vmid: True/False, None where no freezer file exists."""
    for name in glob.glob(f"/sys/fs/cgroup/freezer/lxc/{vmid}/freezer.state"):
        return open(name).read().strip() == "FROZEN"
    for name in glob.glob(f"/sys/fs/cgroup/**/lxc/{vmid}/cgroup.events", recursive=True):
        return re.search(r"^frozen 1$", open(name).read(), re.M) is not None
    return None


# ---- the main flow, as Ansible and scripts drive it through proxmoxer ----

def test_create_start_status_stop_destroy_through_proxmoxer(bridge, ct):
    b = ct.b
    px = b.api()
    node = px.nodes(NODE)
    vmid = ct.vmid()

    upid = node.lxc.post(vmid=vmid, ostemplate=ct.template, hostname="life", memory=128,
                         swap=64, cores=1, net0=f"name=eth0,bridge={bridge}", force=0,
                         unprivileged=1)
    assert proxmoxer_wait(px, upid)["exitstatus"] == "OK", ct.task_log(upid)
    # the config is complete when the task reports stopped (Ansible reads it right away)
    conf = node.lxc(vmid).config.get()
    assert conf["hostname"] == "life"
    assert (conf["memory"], conf["swap"], conf["cores"], conf["unprivileged"]) == (128, 64, 1, 1)
    assert re.fullmatch(rf"local:{vmid}/vm-{vmid}-disk-0\.raw,size=4G", conf["rootfs"])
    assert re.fullmatch(rf"name=eth0,bridge={bridge},hwaddr=([0-9A-F]{{2}}:){{5}}[0-9A-F]{{2}},"
                        r"type=veth", conf["net0"]), conf["net0"]
    assert conf["ostype"] == "unmanaged" and conf["arch"] == "amd64"
    assert "lock" not in conf and "template" not in conf
    assert re.fullmatch(r"[0-9a-f]{40}", conf["digest"])
    image = os.path.join(b.root, "storage", "local", "images", str(vmid),
                         f"vm-{vmid}-disk-0.raw")
    assert os.path.isfile(image)

    upid = node.lxc(vmid).status.start.post()
    assert proxmoxer_wait(px, upid)["exitstatus"] == "OK", ct.task_log(upid)
    st = node.lxc(vmid).status.current.get()
    assert st["status"] == "running" and st["vmid"] == vmid and st["type"] == "lxc"
    assert st["name"] == "life"
    assert isinstance(st["pid"], int) and os.path.isdir(f"/proc/{st['pid']}")
    assert st["mem"] > 0 and st["maxmem"] == 128 << 20 and st["maxswap"] == 64 << 20
    assert isinstance(st["uptime"], int)
    wait_for(lambda: node.lxc(vmid).status.current.get()["uptime"] >= 1, 5, "uptime to count")

    listed = [e for e in node.lxc.get() if e["vmid"] == vmid]
    assert len(listed) == 1 and listed[0]["status"] == "running"
    assert listed[0]["pid"] == st["pid"] and listed[0]["name"] == "life"
    res = [e for e in px.cluster.resources.get(type="vm") if e["id"] == f"lxc/{vmid}"]
    assert len(res) == 1
    assert (res[0]["vmid"], res[0]["type"], res[0]["node"], res[0]["status"]) == \
        (vmid, "lxc", NODE, "running")

    upid = node.lxc(vmid).status.stop.post()
    assert proxmoxer_wait(px, upid)["exitstatus"] == "OK", ct.task_log(upid)
    st = node.lxc(vmid).status.current.get()
    assert st["status"] == "stopped" and "pid" not in st and st["mem"] == 0
    assert [e["status"] for e in node.lxc.get() if e["vmid"] == vmid] == ["stopped"]
    assert [e["status"] for e in px.cluster.resources.get(type="vm")
            if e["id"] == f"lxc/{vmid}"] == ["stopped"]

    upid = node.lxc(vmid).delete()
    assert proxmoxer_wait(px, upid)["exitstatus"] == "OK", ct.task_log(upid)
    try:
        node.lxc(vmid).config.get()
        raise AssertionError("the config of a destroyed CT is still there")
    except ResourceException as e:
        assert e.status_code == 500
        assert e.content == MISSING.format(node=NODE, vmid=vmid)
    assert vmid not in [e["vmid"] for e in node.lxc.get()]
    assert not os.path.exists(image)
    assert not [c for c in node.storage("local").content.get() if f":{vmid}/" in c["volid"]]
    assert not os.path.exists(os.path.join(b.root, "lxc", str(vmid)))
    assert host_traces(b, vmid) == {}


# ---- identities ----

def test_ct_is_unprivileged_by_default_and_its_root_is_host_uid_100000(ct):
    vmid = ct.create()
    assert ct.config(vmid)["unprivileged"] == 1
    pid = ct.start(vmid)
    assert proc_ids(pid, "Uid") == [100000] * 4
    assert proc_ids(pid, "Gid") == [100000] * 4
    for name in ("etc/passwd", "bin/busybox", "root"):
        st = os.stat(f"/proc/{pid}/root/{name}", follow_symlinks=False)
        assert (st.st_uid, st.st_gid) == (100000, 100000), name
    # inside, the same files belong to root
    r = ct.enter(vmid, "id -u; stat -c '%u:%g' /etc/passwd /root\n")
    assert r.stdout.split() == ["0", "0:0", "0:0"]


def test_privileged_ct_created_by_root_pam_runs_as_host_root(ct):
    vmid = ct.vmid()
    r = ct.b.cli("ct", "create", vmid, ct.template, "--unprivileged", "0")
    assert r.returncode == 0, r.stderr
    assert ct.config(vmid)["unprivileged"] == 0
    pid = ct.start(vmid)
    assert proc_ids(pid, "Uid") == [0] * 4
    st = os.stat(f"/proc/{pid}/root/etc/passwd")
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_privileged_create_is_refused_to_a_user_with_vm_allocate_and_allocate_space(ct):
    b = ct.b
    vmid = ct.vmid()
    user = f"ctmaker{vmid}@pve"
    b.add_user(user, password="ctmaker-password",
               acl=[(f"/vms/{vmid}", "PVEVMAdmin"), ("/storage/local", "PVEDatastoreUser")])
    s = b.session(user, "ctmaker-password")
    r = s.post(f"/nodes/{NODE}/lxc", {"vmid": vmid, "ostemplate": ct.template,
                                       "unprivileged": 0})
    assert r.status == 403, r.status_line
    assert "privileged" in r.reason
    assert ct.s.get(ct.path(vmid, "/config")).status == 500, "a refused create left a config"
    # the same user creates unprivileged CTs
    ct.create(vmid, session=s)
    assert ct.config(vmid)["unprivileged"] == 1


# ---- limits ----

def test_memory_limit_oom_kills_the_allocating_process_and_the_ct_keeps_running(ct):
    vmid = ct.create(memory=64, swap=0)
    pid = ct.start(vmid)
    # tail keeps the whole 200 MiB "line" in memory: three times the limit
    r = ct.enter(vmid, 'head -c 200m /dev/zero | tail; echo "tail exit=$?"; echo still here\n')
    assert "tail exit=137" in r.stdout, r.stdout + r.stderr  # 128 + SIGKILL
    assert "still here" in r.stdout
    kills = oom_kills(vmid)
    assert kills is None or kills >= 1
    st = ct.status(vmid)
    assert (st["status"], st["pid"], st["maxmem"], st["maxswap"]) == ("running", pid, 64 << 20, 0)
    # the host and the daemon are fine
    assert ct.s.data("GET", "/version")["version"]
    assert ct.enter(vmid, "echo alive\n").stdout.strip() == "alive"


# ---- power actions ----

def test_start_of_a_running_ct_fails_synchronously_and_so_does_destroy_without_force(ct):
    vmid = ct.create()
    ct.start(vmid)
    r = ct.s.post(ct.path(vmid, "/status/start"))
    assert (r.status, r.reason) == (500, f"CT {vmid} already running")
    r = ct.s.delete(ct.path(vmid))
    assert r.status == 500 and "running" in r.reason, r.status_line
    assert ct.status(vmid)["status"] == "running"
    # force stops and destroys it
    ct.destroy(vmid, force=1)
    assert host_traces(ct.b, vmid) == {}
    assert ct.s.get(ct.path(vmid, "/config")).status == 500


def test_stop_shutdown_reboot_and_suspend_of_a_stopped_ct_fail_synchronously(ct):
    vmid = ct.create()
    for action in ("stop", "shutdown", "reboot", "suspend"):
        r = ct.s.post(ct.path(vmid, f"/status/{action}"))
        assert (r.status, r.reason) == (500, f"CT {vmid} not running"), action


def test_create_sets_root_password_ssh_keys_and_hostname_inside_the_rootfs(ct):
    """PVE's create writes them into the rootfs; the files belong to the CT's root."""
    import crypt  # deprecated in 3.11, still in Debian 12's Python; verifies the hash
    pub = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOhu8KhfnR5DvIuyNojOWzUhUkaAPKscrf11skZZlPhB"
           " alice@host")  # made by ssh-keygen -t ed25519
    vmid = ct.create(hostname="keyed", password="s3cret-pass", **{"ssh-public-keys": pub})
    pid = ct.start(vmid)
    root = f"/proc/{pid}/root"
    with open(f"{root}/root/.ssh/authorized_keys") as f:
        # PVE's block markers, so a later edit replaces only its own lines
        assert f.read() == f"# --- BEGIN PVE ---\n{pub}\n# --- END PVE ---\n"
    st = os.stat(f"{root}/root/.ssh/authorized_keys")
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (100000, 100000, 0o600)
    with open(f"{root}/etc/shadow") as f:
        hashed = next(line.split(":")[1] for line in f if line.startswith("root:"))
    assert hashed.startswith("$") and crypt.crypt("s3cret-pass", hashed) == hashed
    r = ct.enter(vmid, "hostname; grep -c keyed /etc/hosts\n")
    assert r.stdout.split()[0] == "keyed" and int(r.stdout.split()[1]) >= 1
    # the password never reaches the stored config or the task log
    assert "password" not in ct.config(vmid)


def test_create_with_a_broken_ssh_key_fails_synchronously_and_makes_nothing(ct):
    vmid = ct.vmid()
    for keys in ("ssh-ed25519 AAAA", "not a key", "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOhu8Kh"):
        r = ct.s.post(f"/nodes/{NODE}/lxc", {"vmid": vmid, "ostemplate": ct.template,
                                             "ssh-public-keys": keys})
        assert (r.status, r.reason) == (500, "SSH public key validation error"), keys
        assert not ct.exists(vmid)


def test_create_of_an_existing_id_fails_synchronously(ct):
    vmid = ct.create(hostname="first")
    r = ct.s.post(f"/nodes/{NODE}/lxc", {"vmid": vmid, "ostemplate": ct.template})
    assert (r.status, r.reason) == (500, f"CT {vmid} already exists on node '{NODE}'")
    assert ct.config(vmid)["hostname"] == "first"


def test_every_action_on_a_missing_ct_names_its_config_file(ct):
    vmid = ct.vmid()
    text = MISSING.format(node=NODE, vmid=vmid)
    for method, tail, params in [("GET", "/config", None), ("GET", "/status/current", None),
                                 ("POST", "/status/start", None),
                                 ("POST", "/status/stop", None),
                                 ("POST", "/status/shutdown", None),
                                 ("PUT", "/config", {"memory": 128}),
                                 ("DELETE", "", None)]:
        r = ct.s.call(method, ct.path(vmid, tail), params)
        assert (r.status, r.reason) == (500, text), f"{method} {tail}"


def test_shutdown_stops_a_ct_whose_init_halts(ct):
    vmid = ct.create()
    ct.start(vmid)
    ct.power(vmid, "shutdown")
    assert ct.status(vmid)["status"] == "stopped"


def test_shutdown_honours_its_timeout_and_force_stop(ct):
    vmid = ct.create()
    pid = ct.start(vmid)
    # busybox init runs rcK on the halt signal and waits for it: now that takes 30 s
    ct.enter(vmid, "printf '#!/bin/sh\\nsleep 30\\n' > /etc/init.d/rcK\n")
    t0 = time.monotonic()
    st = ct.power(vmid, "shutdown", ok=False, timeout=1)
    assert st["exitstatus"] == "shutdown timed out"
    assert time.monotonic() - t0 < 10
    s = ct.status(vmid)
    assert (s["status"], s["pid"]) == ("running", pid)

    t0 = time.monotonic()
    ct.power(vmid, "shutdown", timeout=1, forceStop=1)
    assert time.monotonic() - t0 < 10
    assert ct.status(vmid)["status"] == "stopped"


def test_suspend_freezes_the_processes_and_resume_thaws_them_while_status_says_running(ct):
    vmid = ct.create()
    pid = ct.start(vmid)
    tick = f"/proc/{pid}/root/tmp/tick"
    ct.enter(vmid, "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/tick; "
                   "sleep 0.02; done' </dev/null >/dev/null 2>&1 &\n")
    wait_for(lambda: os.path.exists(tick) and open(tick).read().strip(), 10, "the ticker")

    ct.power(vmid, "suspend")
    assert frozen(vmid) in (True, None)
    s = ct.status(vmid)
    assert (s["status"], s["pid"]) == ("running", pid)  # PVE reports a frozen CT as running
    before = open(tick).read()
    time.sleep(0.5)  # a window of 25 ticks in which nothing may happen
    assert open(tick).read() == before, "processes of a suspended CT still run"

    ct.power(vmid, "resume")
    assert frozen(vmid) in (False, None)
    wait_for(lambda: open(tick).read() != before, 10, "the ticker to run again")
    assert ct.status(vmid)["pid"] == pid


def test_stop_and_forced_destroy_of_a_suspended_ct_end_it(ct):
    vmid = ct.create()
    pid = ct.start(vmid)
    ct.power(vmid, "suspend")
    t0 = time.monotonic()
    ct.stop(vmid)
    assert time.monotonic() - t0 < 10
    assert ct.status(vmid)["status"] == "stopped" and not os.path.exists(f"/proc/{pid}")

    other = ct.create()
    ct.start(other)
    ct.power(other, "suspend")
    ct.destroy(other, force=1)
    assert host_traces(ct.b, other) == {}
    assert ct.s.get(ct.path(other, "/config")).status == 500


def test_reboot_starts_a_new_init_and_keeps_the_ct_running(ct):
    vmid = ct.create()
    pid = ct.start(vmid)
    ct.enter(vmid, "touch /run/before-reboot\n")  # /run is a tmpfs: a reboot empties it
    ct.power(vmid, "reboot")
    s = ct.status(vmid)
    assert s["status"] == "running"
    assert s["pid"] != pid and not os.path.exists(f"/proc/{pid}")
    r = ct.enter(vmid, "test -e /run/before-reboot && echo kept || echo fresh\n")
    assert r.stdout.strip() == "fresh"


# ---- nothing left behind ----

def test_create_start_stop_destroy_cycles_leave_nothing_behind(bridge, ct):
    b = ct.b
    daemon = b.proc.pid
    baseline = fd_count(daemon)
    vmid = ct.vmid()
    for cycle in range(3):
        ct.create(vmid, net0=f"name=eth0,bridge={bridge}")
        ct.start(vmid)
        assert host_traces(b, vmid).get("veths") == [f"veth{vmid}i0"]
        ct.stop(vmid)
        ct.destroy(vmid)
        assert host_traces(b, vmid) == {}, f"cycle {cycle}"
        assert not os.path.exists(os.path.join(b.root, "lxc", str(vmid)))
    wait_for(lambda: fd_count(daemon) <= baseline, 10,
             f"berthd's descriptors back to {baseline} (now {fd_count(daemon)})")


# ---- the CLI ----

def test_cli_create_start_status_stop_destroy_with_text_output_and_exit_codes(ct):
    b = ct.b
    vmid = ct.vmid()
    r = b.cli("ct", "create", vmid, ct.template, "--hostname", "clict", "--memory", "96")
    assert r.returncode == 0, r.stderr
    assert re.search(rf"task UPID:{NODE}:[0-9A-F:]+:vzcreate:{vmid}:root@pam:", r.stderr)
    assert r.stdout.rstrip().endswith("TASK OK")

    r = b.cli("ct", "start", vmid)
    assert r.returncode == 0 and r.stdout.rstrip().endswith("TASK OK"), r.stderr
    r = b.cli("ct", "status", vmid)
    assert r.returncode == 0
    assert re.search(r"│ status\s+│ running\s+│", r.stdout), r.stdout
    assert re.search(r"│ name\s+│ clict\s+│", r.stdout)
    assert re.search(rf"│ maxmem\s+│ {96 << 20}\s+│", r.stdout)
    r = b.cli("ct", "list")
    assert r.returncode == 0 and re.search(rf"│ {vmid}\s+│ running\s+│ clict", r.stdout), r.stdout

    r = b.cli("ct", "start", vmid)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == f"500 CT {vmid} already running"

    r = b.cli("ct", "stop", vmid)
    assert r.returncode == 0, r.stderr
    assert re.search(r"│ status\s+│ stopped\s+│", b.cli("ct", "status", vmid).stdout)
    r = b.cli("ct", "destroy", vmid)
    assert r.returncode == 0 and r.stdout.rstrip().endswith("TASK OK"), r.stderr
    r = b.cli("ct", "status", vmid)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == "500 " + MISSING.format(node=NODE, vmid=vmid)
    assert r.stdout == ""


def test_cli_without_a_vmid_is_a_usage_error(ct):
    r = ct.b.cli("ct", "start")
    assert r.returncode == 2 and "VMID" in r.stderr


def test_cli_enter_runs_commands_from_stdin_inside_the_ct(ct):
    vmid = ct.create(hostname="inside")
    ct.start(vmid)
    r = ct.b.cli("ct", "enter", vmid, input="hostname\ncat /proc/1/comm\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["inside", "init"]


def test_cli_enter_refuses_a_stopped_ct(ct):
    vmid = ct.create()
    r = ct.b.cli("ct", "enter", vmid, input="hostname\n")
    assert r.returncode == 1
    assert r.stderr.strip() == f"CT {vmid} not running"


def test_mount_points_nest_and_may_have_blanks_in_their_paths(ct):
    """mp1 inside mp0 mounts after it (its target made inside mp0's volume), and a blank in a
    path reaches liblxc escaped (getmntent's \\040), so the volume mounts where it is named."""
    vmid = ct.create(mp0="local:0.1,mp=/srv/my data", mp1="local:0.1,mp=/srv/my data/inner")
    ct.start(vmid)
    out = ct.enter(vmid, "grep ' /srv/my' /proc/mounts | cut -d' ' -f2\n").stdout.split()
    assert out == ["/srv/my\\040data", "/srv/my\\040data/inner"], out
