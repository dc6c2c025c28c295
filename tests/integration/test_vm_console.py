"""VM consoles through the HTTPS proxy, as the web UI and Proxmox clients use them: termproxy
on a VM's serial port (xterm.js speaks the termproxy protocol over the websocket) reaching the
test guest's root shell, vncproxy relaying the VM's VNC display as raw RFB (noVNC), tickets
bound to user, VM and port, VM.Console required; and Berth's screenshot extension returning
the screen as a PNG. All against a real guest under TCG."""
import os
import struct
import time
import urllib.parse

import guestimg
from conftest import NODE
from test_websocket_proxy import (OP_BINARY, OP_CLOSE, client_frame, close_payload,
                                  console_path, new_key, upgrade, upgrade_request)
from vmlib import guest_vm as vm, iso, vm_host  # noqa: F401 - fixtures
from vmlib import run_dir

BOOT_TIMEOUT = 180


def boot(h, iso, **extra):
    p = {"ide2": f"{iso},media=cdrom", "serial0": "socket", "boot": "order=ide2",
         "memory": 256}
    p.update(extra)
    vmid = h.create(**p)
    h.power(vmid, "start")
    # the marker on serial: the guest is up (this client hangs up before the console
    # session connects; QEMU's serial socket serves one client at a time)
    con = guestimg.SerialConsole(os.path.join(run_dir(h.b), f"{vmid}.serial0"), timeout=30)
    con.wait_for(guestimg.MARKER, BOOT_TIMEOUT)
    con.close()
    return vmid


def open_ws(h, vmid, d, session=None):
    s = session or h.s
    query = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    req = upgrade_request(console_path(NODE, vmid, kind="qemu", query=query), key=new_key(),
                          ticket=s.ticket)
    c, head = upgrade(h.b.port, req)
    return c, head


def read_until(c, needle, timeout=30):
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} not seen; got {seen[-500:]!r}"
        try:
            _, payload = c.read_frame(timeout=min(left, 2))
        except TimeoutError:
            continue
        seen += payload
    return seen


def test_serial_console_through_the_websocket(vm, iso):
    vmid = boot(vm, iso, vga="serial0")
    # no serial given: vga: serial0 names it (PVE)
    d = vm.s.data("POST", vm.path(vmid, "/termproxy"))
    assert set(d) == {"user", "ticket", "port", "upid"}
    c, head = open_ws(vm, vmid, d)
    try:
        assert head.status == 101, head.raw[:300]
        c.send(client_frame(OP_BINARY, f"{d['user']}:{d['ticket']}\n".encode()))
        assert read_until(c, b"OK").startswith(b"OK")
        cmd = b"echo hello-$((6*7))\n"
        c.send(client_frame(OP_BINARY, b"0:%d:" % len(cmd) + cmd))
        read_until(c, b"hello-42")
        c.send(client_frame(OP_CLOSE, close_payload(1000)))
        c.assert_closed()
    finally:
        c.close()
    st = vm.b.wait_task(d["upid"], session=vm.s, timeout=30)
    assert st["exitstatus"] == "OK"
    # the guest still runs: a console session is not the VM
    assert vm.status(vmid)["status"] == "running"


def test_vnc_display_through_the_websocket(vm, iso):
    vmid = boot(vm, iso)
    d = vm.s.data("POST", vm.path(vmid, "/vncproxy"), {"websocket": 1})
    assert set(d) == {"user", "ticket", "port", "upid", "cert"}
    assert "BEGIN CERTIFICATE" in d["cert"]
    c, head = open_ws(vm, vmid, d)
    try:
        assert head.status == 101, head.raw[:300]
        # RFB straight from QEMU: its version, then the security types (None: the ticket
        # checked at the upgrade is the access control)
        rfb = Stream(c)
        assert rfb.read(12) == b"RFB 003.008\n"
        c.send(client_frame(OP_BINARY, b"RFB 003.008\n"))
        n = rfb.read(1)[0]
        types = rfb.read(n)
        assert 1 in types, types
        c.send(client_frame(OP_BINARY, b"\x01"))  # None
        assert rfb.read(4) == b"\0\0\0\0"  # SecurityResult OK
        c.send(client_frame(OP_BINARY, b"\x01"))  # ClientInit, shared
        width, height = struct.unpack(">HH", rfb.read(24)[:4])
        assert width >= 320 and height >= 200, (width, height)
    finally:
        c.close()
    r = vm.s.post(vm.path(vmid, "/vncproxy"), {"generate-password": 1})
    assert r.status == 400 and "generate-password" in r.json()["errors"]


class Stream:
    """Bytes from a websocket's binary messages, read in any slices."""

    def __init__(self, c):
        self.c, self.buf = c, b""

    def read(self, n, timeout=15):
        while len(self.buf) < n:
            op, payload = self.c.read_frame(timeout)
            assert op == OP_BINARY, f"opcode {op}"
            self.buf += payload
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_screenshot_is_a_png_of_the_screen(vm, iso):
    vmid = boot(vm, iso)
    r = vm.s.get(vm.path(vmid, "/berth/screenshot"))
    assert r.status == 200, r.reason
    assert r.headers["content-type"] == "image/png"
    w, h = png_size(r.body)
    assert w >= 320 and h >= 200, (w, h)
    assert not [f for f in os.listdir(run_dir(vm.b)) if ".screen-" in f]
    # the CLI writes the same image to a file
    out = os.path.join(vm.b.root, "screen.png")
    r = vm.b.cli("vm", "screenshot", vmid, out)
    assert r.returncode == 0, (r.stdout, r.stderr)
    with open(out, "rb") as f:
        assert png_size(f.read()) == (w, h)
    vm.power(vmid, "stop")
    r = vm.s.get(vm.path(vmid, "/berth/screenshot"))
    assert (r.status, r.reason) == (500, f"VM {vmid} not running")


def test_console_tickets_and_privileges(vm, iso):
    vmid = boot(vm, iso)
    other = vm.create()
    # a VM without a serial socket has no terminal (Berth has no monitor console)
    vm.power(other, "start")
    r = vm.s.post(vm.path(other, "/termproxy"))
    assert r.status == 500 and "serial device 'serial0' does not exist" in r.reason
    d = vm.s.data("POST", vm.path(vmid, "/termproxy"), {"serial": "serial0"})
    # the ticket is for this VM and port only
    c, head = open_ws(vm, other, d)
    c.close()
    assert head.status == 401 and "vncticket" in head.reason
    bad = dict(d, port=int(d["port"]) + 1)
    c, head = open_ws(vm, vmid, bad)
    c.close()
    assert head.status == 401
    # VM.Console is needed for each entry point
    vm.b.add_user("auditor@pve", "auditor-password", acl=[("/", "PVEAuditor")])
    aud = vm.b.session("auditor@pve", "auditor-password")
    for method, tail in (("POST", "/termproxy"), ("POST", "/vncproxy"),
                         ("GET", "/berth/screenshot")):
        r = aud.call(method, f"/nodes/{NODE}/qemu/{vmid}{tail}")
        assert r.status == 403, (tail, r.status, r.reason)
    c, head = open_ws(vm, vmid, d, session=aud)
    c.close()
    assert head.status == 403
    vm.power(other, "stop")
