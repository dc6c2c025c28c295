"""The processes (docs/internals.md): the proxy runs as 'berth' (or nobody) without
capabilities and without secrets, is restarted when it dies, dies with the root daemon;
SIGTERM stops the daemon cleanly while task workers keep running and are picked up again."""
import os
import pwd
import signal
import socket
import subprocess

from conftest import BERTHD, NODE, wait_for


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def alive(pid):
    """True while pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def proxy_user():
    try:
        return pwd.getpwnam("berth")
    except KeyError:
        return pwd.getpwnam("nobody")


def upid_pid(upid):
    return int(upid.split(":")[2], 16)


def wait_proxy_serving(b, old_pid=None, timeout=15):
    def ready():
        pid = b.proxy_pid()
        if not pid or pid == old_pid or not b.refresh_port():
            return None
        try:
            return pid if b.request("GET", "/api2/json/access/domains", timeout=3).status == 200 \
                else None
        except OSError:
            return None
    return wait_for(ready, timeout, "a serving proxy")


# ---- the proxy's privileges ----

def test_proxy_runs_as_the_proxy_user_without_capabilities(berth):
    pid = berth.proxy_pid()
    assert pid, "no proxy process found"
    st = proc_status(pid)
    want = proxy_user()
    assert st["Uid"].split() == [str(want.pw_uid)] * 4, st["Uid"]
    assert st["Gid"].split() == [str(want.pw_gid)] * 4, st["Gid"]
    assert "0" not in st.get("Groups", "").split()
    for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(st[cap], 16) == 0, (cap, st[cap])
    assert st["NoNewPrivs"].strip() == "1"


def test_proxy_holds_no_store_or_signing_key(berth):
    """The proxy never sees a secret: no store handle, no root socket (docs/internals.md)."""
    pid = berth.proxy_pid()
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    assert not any("config.db" in t for t in targets), targets
    assert not any(t.endswith("api.sock") for t in targets), targets
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        cmd = f.read().split(b"\0")
    assert not any(b"authkey" in a or b"csrf" in a for a in cmd), cmd


def test_proxy_maps_no_pam_sqlite_or_libuv_code(berth):
    """The internet-facing process is its own program (berthd-proxy): code it has no use
    for (PAM, the store's SQLite, the root daemon's event loop) is not even mapped."""
    pid = berth.proxy_pid()
    with open(f"/proc/{pid}/maps") as f:
        libs = {line.split()[-1] for line in f if ".so" in line}
    assert any("libssl" in lib for lib in libs), libs
    for absent in ("libpam", "libsqlite3", "libuv", "libcrypt.so"):
        assert not any(absent in lib for lib in libs), (absent, libs)


def test_store_and_sockets_are_closed_to_other_users(berth):
    st = os.stat(os.path.join(berth.root, "config.db"))
    assert st.st_uid == 0 and st.st_mode & 0o077 == 0, oct(st.st_mode)
    api = os.stat(os.path.join(berth.root, "run", "api.sock"))
    assert api.st_uid == 0 and api.st_mode & 0o077 == 0, oct(api.st_mode)
    proxy = os.stat(os.path.join(berth.root, "run", "proxy.sock"))
    assert proxy.st_uid == proxy_user().pw_uid and proxy.st_mode & 0o077 == 0


def test_proxy_user_cannot_read_the_store(berth):
    u = proxy_user()
    r = subprocess.run(["setpriv", f"--reuid={u.pw_uid}", f"--regid={u.pw_gid}",
                        "--clear-groups", "cat", os.path.join(berth.root, "config.db")],
                       capture_output=True, timeout=30)
    assert r.returncode != 0
    assert r.stdout == b""


# ---- supervision ----

def test_killed_proxy_is_restarted_and_serves_again(berth):
    old = berth.proxy_pid()
    os.kill(old, signal.SIGKILL)
    new = wait_proxy_serving(berth, old, timeout=15)
    assert new != old
    st = proc_status(new)
    assert int(st["CapEff"], 16) == 0 and st["NoNewPrivs"].strip() == "1"
    # and again: the restart back-off stays short
    os.kill(new, signal.SIGKILL)
    third = wait_proxy_serving(berth, new, timeout=20)
    assert third not in (old, new)
    assert berth.admin().data("GET", "/version")["version"]


def test_proxy_dies_with_the_root_daemon(berth):
    proxy = berth.proxy_pid()
    berth.kill9()
    wait_for(lambda: not alive(proxy), 10, "the proxy to exit after its parent")


def test_sigterm_stops_the_daemon_cleanly(berth):
    proxy = berth.proxy_pid()
    port = berth.port
    berth.proc.send_signal(signal.SIGTERM)
    assert berth.proc.wait(15) == 0
    berth.stop()
    assert not os.path.exists(os.path.join(berth.root, "run", "api.sock"))
    assert not os.path.exists(os.path.join(berth.root, "run", "proxy.sock"))
    wait_for(lambda: not alive(proxy), 10, "the proxy to exit")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        listening = True
    except OSError:
        listening = False
    assert not listening
    berth.start()
    assert berth.request("GET", "/api2/json/access/domains").status == 200


def test_second_daemon_on_the_same_root_is_refused(berth):
    r = subprocess.run([BERTHD, "--root", berth.root, "--listen", "127.0.0.1:0", "--node", NODE,
                        "--foreground"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert r.stderr.strip()
    assert berth.request("GET", "/api2/json/access/domains").status == 200


def test_daemon_restarts_after_kill9_with_stale_sockets(berth):
    berth.kill9()
    berth.start()
    assert berth.admin().data("GET", "/version")["version"]


# ---- task workers across daemon restarts ----

def test_running_task_survives_sigterm_and_is_reported_after_restart(berth):
    upid = berth.probe(seconds=6)
    wait_for(lambda: berth.admin().data("GET", f"/nodes/{NODE}/tasks/{upid}/log")[0]["t"]
             .startswith("probe task started"), 10, "the task to start")
    berth.proc.send_signal(signal.SIGTERM)
    assert berth.proc.wait(15) == 0
    berth.stop()
    assert alive(upid_pid(upid)), "the worker died with the daemon"
    berth.start()
    berth._admin_session = None
    st = berth.admin().data("GET", f"/nodes/{NODE}/tasks/{upid}/status")
    assert st["upid"] == upid
    assert st["status"] in ("running", "stopped")
    active = [t["upid"] for t in berth.admin().data("GET", f"/nodes/{NODE}/tasks",
                                                    {"source": "active"})]
    assert (upid in active) == (st["status"] == "running")
    st = berth.wait_task(upid, timeout=30)
    assert st["exitstatus"] == "OK"
    lines = berth.admin().data("GET", f"/nodes/{NODE}/tasks/{upid}/log")
    assert [ln["t"] for ln in lines if ln["t"].startswith("progress")] == \
        [f"progress {i}/6" for i in range(1, 7)]
    assert lines[-1]["t"] == "TASK OK"


def test_worker_that_died_while_the_daemon_was_down_is_reported_failed(berth):
    upid = berth.probe(seconds=60)
    wait_for(lambda: berth.admin().data("GET", f"/nodes/{NODE}/tasks/{upid}/log")[0]["t"]
             .startswith("probe task started"), 10, "the task to start")
    berth.proc.send_signal(signal.SIGTERM)
    assert berth.proc.wait(15) == 0
    berth.stop()
    pid = upid_pid(upid)
    assert alive(pid)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), 10, "the worker to die")
    berth.start()
    berth._admin_session = None
    st = berth.wait_task(upid, timeout=15)
    assert st["exitstatus"] != "OK"
    assert st["exitstatus"]
    lines = berth.admin().data("GET", f"/nodes/{NODE}/tasks/{upid}/log")
    assert lines[-1]["t"].startswith("TASK ERROR: ")
    listed = {t["upid"]: t for t in berth.admin().data("GET", f"/nodes/{NODE}/tasks")}
    assert listed[upid]["status"] == st["exitstatus"]


def test_proxy_and_workers_still_start_after_the_binary_is_replaced(berth_factory):
    """A package upgrade replaces berthd and berthd-proxy under the running daemon (dpkg
    renames the new files over the old ones); restarting a dead proxy and starting task
    workers must still work."""
    import shutil
    from conftest import Berth, make_root, setup_admin, stop_and_check
    root = make_root()
    exe = os.path.join(root, "berthd-copy")
    proxy = os.path.join(root, "berthd-proxy")
    shutil.copy2(BERTHD, exe)
    shutil.copy2(BERTHD + "-proxy", proxy)
    b = Berth(root)
    b.exe = exe
    b.start()
    try:
        setup_admin(b)
        for source, target in ((BERTHD, exe), (BERTHD + "-proxy", proxy)):
            new = target + ".dpkg-new"
            shutil.copy2(source, new)
            os.replace(new, target)
        upid = b.probe()
        assert b.wait_task(upid)["exitstatus"] == "OK"
        old = b.proxy_pid()
        os.kill(old, signal.SIGKILL)
        wait_proxy_serving(b, old, timeout=20)
    finally:
        stop_and_check([b])


def test_root_the_proxy_user_cannot_reach_is_refused_at_start():
    """The unprivileged proxy reaches run/proxy.sock by path: a root directory below a 0700
    directory (mktemp -d) would leave it failing forever, so berthd says so and exits."""
    if os.geteuid() != 0:
        import pytest
        pytest.skip("needs root (the proxy drops to its own user)")
    import pathlib
    import shutil
    import tempfile
    top = pathlib.Path(tempfile.mkdtemp(prefix="berth-reach-"))
    os.chmod(top, 0o755)
    closed = top / "closed"
    closed.mkdir(mode=0o700)
    os.chmod(closed, 0o700)
    try:
        p = subprocess.run([BERTHD, "--root", str(closed / "root"), "--listen", "127.0.0.1:0",
                            "--node", NODE, "--foreground"], capture_output=True, text=True,
                           timeout=30)
    finally:
        shutil.rmtree(top)
    assert p.returncode == 1
    assert "cannot reach" in p.stderr and f"'{closed}' (mode 0700)" in p.stderr, p.stderr
