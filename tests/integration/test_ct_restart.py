"""Containers run under liblxc's monitor, not under berthd: restarting the daemon (SIGTERM,
or kill -9) leaves them running with the same init, and the new daemon reports and controls
them at once."""
import os

from conftest import NODE
from ctlib import ct, ct_host  # noqa: F401


def check_seen_as_before(h, running, stopped, pid):
    """Right after the daemon came back: no waiting, the live state is reported."""
    st = h.status(running)
    assert (st["status"], st["pid"]) == ("running", pid)
    assert h.status(stopped)["status"] == "stopped"
    listed = {e["vmid"]: e["status"] for e in h.s.data("GET", f"/nodes/{NODE}/lxc")}
    assert (listed[running], listed[stopped]) == ("running", "stopped")
    res = {e["vmid"]: e["status"]
           for e in h.s.data("GET", "/cluster/resources", {"type": "vm"})}
    assert (res[running], res[stopped]) == ("running", "stopped")


def test_daemon_restart_keeps_cts_running_with_the_same_init(ct):
    running, stopped = ct.create(), ct.create()
    pid = ct.start(running)
    ct.b.restart()
    assert os.path.isdir(f"/proc/{pid}")
    check_seen_as_before(ct, running, stopped, pid)
    # and the new daemon controls them
    assert ct.enter(running, "echo alive\n").stdout.strip() == "alive"
    ct.stop(running)
    assert not os.path.exists(f"/proc/{pid}")
    ct.start(stopped)


def test_daemon_killed_with_sigkill_leaves_cts_running(ct):
    running, stopped = ct.create(), ct.create()
    pid = ct.start(running)
    ct.b.kill9()
    assert os.path.isdir(f"/proc/{pid}")
    ct.b.start()
    check_seen_as_before(ct, running, stopped, pid)
    ct.stop(running)
    assert ct.status(running)["status"] == "stopped"
