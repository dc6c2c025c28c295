"""VM consoles through the HTTPS proxy, as the web UI and Proxmox clients use them: termproxy
on a VM's serial port (xterm.js speaks the termproxy protocol over the websocket) reaching the
test guest's root shell, vncproxy relaying the VM's VNC display as RFB (noVNC) with security
type None, or VNC Authentication when a password was asked for (generate-password); tickets
bound to user, VM and port and short-lived; VM.Console required; and Berth's screenshot
extension returning the screen as a PNG. All against a real guest under TCG."""
import base64
import os
import struct
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, modes

try:  # cryptography >= 43 keeps 3DES among the "decrepit" ciphers
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

import guestimg
from conftest import NODE
from test_websocket_proxy import (OP_BINARY, OP_CLOSE, client_frame, close_payload,
                                  console_path, new_key, upgrade, upgrade_request)
from vmlib import guest_vm as vm, iso, vm_host  # noqa: F401 - fixtures
from vmlib import run_dir

BOOT_TIMEOUT = 180
RFB_38, RFB_37, RFB_33 = b"RFB 003.008\n", b"RFB 003.007\n", b"RFB 003.003\n"
SEC_NONE, SEC_VNC = 1, 2


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


def shell(c, d, command, reply):
    """Log in to a termproxy session, run command in the guest's shell, wait for reply."""
    c.send(client_frame(OP_BINARY, f"{d['user']}:{d['ticket']}\n".encode()))
    assert read_until(c, b"OK").startswith(b"OK")
    c.send(client_frame(OP_BINARY, b"1:120:40:"))  # as xterm.js: ignored on a serial port
    cmd = command.encode() + b"\n"
    c.send(client_frame(OP_BINARY, b"0:%d:" % len(cmd) + cmd))
    read_until(c, reply.encode())


def test_serial_console_through_the_websocket(vm, iso):
    vmid = boot(vm, iso, vga="serial0")
    # no serial given: vga: serial0 names it (PVE)
    d = vm.s.data("POST", vm.path(vmid, "/termproxy"))
    assert set(d) == {"user", "ticket", "port", "upid"}
    c, head = open_ws(vm, vmid, d)
    try:
        assert head.status == 101, head.raw[:300]
        shell(c, d, "echo hello-$((6*7))", "hello-42")
        c.send(client_frame(OP_CLOSE, close_payload(1000)))
        c.assert_closed()
    finally:
        c.close()
    st = vm.b.wait_task(d["upid"], session=vm.s, timeout=30)
    assert st["exitstatus"] == "OK"
    # the guest still runs: a console session is not the VM
    assert vm.status(vmid)["status"] == "running"

    # the session itself checks "<user>:<ticket>" too: a wrong one ends it
    d = vm.s.data("POST", vm.path(vmid, "/termproxy"), {"serial": "serial0"})
    c, head = open_ws(vm, vmid, d)
    try:
        assert head.status == 101, head.raw[:300]
        c.send(client_frame(OP_BINARY, f"{d['user']}:PVEVNC:00000000::bogus\n".encode()))
        c.assert_closed()
    finally:
        c.close()
    st = vm.b.wait_task(d["upid"], session=vm.s, timeout=30)
    assert st["exitstatus"] == "authentication failed"

    # vga: serial0 is no display for noVNC; serial1 is not configured
    r = vm.s.post(vm.path(vmid, "/vncproxy"), {"websocket": 1})
    assert (r.status, r.reason) == (500, f"VM {vmid} has no display (vga: serial0)")
    r = vm.s.post(vm.path(vmid, "/termproxy"), {"serial": "serial1"})
    assert r.status == 500 and "serial device 'serial1' does not exist" in r.reason


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

    def send(self, data):
        self.c.send(client_frame(OP_BINARY, data))


def vnc_response(password, challenge):
    """VNC Authentication: DES-ECB of the challenge under the password's first 8 bytes,
    each bit-reversed (single DES as 3DES with three equal keys)."""
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in password.encode()[:8].ljust(8, b"\0"))
    enc = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return enc.update(challenge) + enc.finalize()


def rfb_security(rfb, version=RFB_38, password=None):
    """The client's side of RFB's version and security handshake (RFC 6143 7.1-7.2), with
    the security type the server offers; returns (SecurityResult, reason)."""
    assert rfb.read(12) == RFB_38
    rfb.send(version)
    want = SEC_VNC if password is not None else SEC_NONE
    if version == RFB_33:
        assert struct.unpack(">I", rfb.read(4)) == (want,)
    else:
        n = rfb.read(1)[0]
        assert list(rfb.read(n)) == [want]
        rfb.send(bytes([want]))
    if want == SEC_VNC:
        rfb.send(vnc_response(password, rfb.read(16)))
    elif version != RFB_38:
        return 0, b""  # no SecurityResult after None before 3.8
    (result,) = struct.unpack(">I", rfb.read(4))
    reason = b""
    if result and version == RFB_38:
        (n,) = struct.unpack(">I", rfb.read(4))
        reason = rfb.read(n)
    return result, reason


def rfb_screen_size(rfb):
    """ClientInit (shared), then ServerInit's framebuffer size."""
    rfb.send(b"\x01")
    return struct.unpack(">HH", rfb.read(24)[:4])


def vnc_session(vm, vmid, params, version=RFB_38, password=None):
    """One vncproxy session through the websocket: its answer, SecurityResult, reason and,
    when accepted, the screen size."""
    d = vm.s.data("POST", vm.path(vmid, "/vncproxy"), params)
    c, head = open_ws(vm, vmid, d)
    try:
        assert head.status == 101, head.raw[:300]
        rfb = Stream(c)
        result, reason = rfb_security(rfb, version, d.get("password") if password is None
                                      else password)
        size = rfb_screen_size(rfb) if result == 0 else None
        if result:
            c.assert_closed()
    finally:
        c.close()
    return d, result, reason, size


def test_vnc_display_through_the_websocket(vm, iso):
    vmid = boot(vm, iso)
    # RFB straight from QEMU's display behind the session: security type None, the
    # vncticket checked at the upgrade being the access control
    d, result, _, size = vnc_session(vm, vmid, {"websocket": 1})
    assert set(d) == {"user", "ticket", "port", "upid", "cert"}
    assert d["ticket"].startswith("PVEVNC:")
    assert "BEGIN CERTIFICATE" in d["cert"]
    assert result == 0
    width, height = size
    assert width >= 320 and height >= 200, size
    # older RFB clients are served too
    for version in (RFB_37, RFB_33):
        _, result, _, other = vnc_session(vm, vmid, {"websocket": 1}, version=version)
        assert (result, other) == (0, size)

    # generate-password: a password of this session only, asked for with VNC Authentication
    d, result, _, other = vnc_session(vm, vmid, {"websocket": 1, "generate-password": 1})
    assert set(d) == {"user", "ticket", "port", "upid", "cert", "password"}
    pw = d["password"]
    assert len(pw) == 8 and all("!" <= ch <= "`" for ch in pw), pw
    # as PVE: the ticket carries it in front, so a client that hands noVNC the ticket as its
    # password sends the right 8 bytes
    assert d["ticket"].startswith(pw + ":PVEVNC:")
    assert (result, other) == (0, size)
    st = vm.b.wait_task(d["upid"], session=vm.s, timeout=30)
    assert st["status"] == "stopped"

    # a wrong password (never generated: 'w' is beyond '`'): refused with the reason,
    # before anything reaches QEMU
    wrong = "wrong-pw"
    d, result, reason, _ = vnc_session(vm, vmid, {"generate-password": 1}, password=wrong)
    assert (result, reason) == (1, b"Authentication failed")
    st = vm.b.wait_task(d["upid"], session=vm.s, timeout=30)
    assert st["exitstatus"] == "VNC authentication failed"
    # ... and with RFB 3.3 (no reason there)
    d, result, reason, _ = vnc_session(vm, vmid, {"generate-password": 1}, version=RFB_33,
                                       password=wrong)
    assert (result, reason) == (1, b"")
    # the display still serves the next session
    _, result, _, other = vnc_session(vm, vmid, {"websocket": 1})
    assert (result, other) == (0, size)


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


def forge_console_ticket(b, user, vmid, port, when):
    """A console ticket for user, VM and port dated `when`, signed with the daemon's key from
    the store (PVE's assemble_vnc_ticket: the user, path and port are signed, not shown)."""
    key = serialization.load_pem_private_key(b.store_files()["priv/authkey.key"], None)
    plain = f"PVEVNC:{int(when):08X}"
    signed = f"{plain}:{user}:/vms/{vmid}:{port}".encode()
    sig = key.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return plain + "::" + base64.b64encode(sig).decode()


def test_console_tickets_and_privileges(vm, iso):
    vmid = boot(vm, iso)
    other = vm.create()
    # a VM without a serial socket has no terminal (Berth has no monitor console)
    vm.power(other, "start")
    r = vm.s.post(vm.path(other, "/termproxy"))
    assert r.status == 500 and "serial device 'serial0' does not exist" in r.reason
    d = vm.s.data("POST", vm.path(vmid, "/termproxy"), {"serial": "serial0"})
    port = int(d["port"])

    def check(ticket, vmid=vmid, port=port, session=vm.s):
        """vncwebsocket without the upgrade: only the ticket check (PVE answers {port})."""
        r = session.get(vm.path(vmid, "/vncwebsocket"), {"port": port, "vncticket": ticket})
        return r.status, (r.json()["data"] if r.status == 200 else r.reason)

    assert check(d["ticket"]) == (200, {"port": str(port)})
    # the ticket is for this user, VM and port only
    assert check(d["ticket"], vmid=other) == (401, "permission denied - invalid vncticket")
    assert check(d["ticket"], port=port + 1)[0] == 401
    assert check(d["ticket"][:-6] + "AAAAA=")[0] == 401
    # short-lived: signed with the daemon's key but 60 s old, it is refused (the same
    # forgery dated now passes)
    assert check(forge_console_ticket(vm.b, d["user"], vmid, port, time.time()))[0] == 200
    assert check(forge_console_ticket(vm.b, d["user"], vmid, port, time.time() - 60))[0] == 401
    # ... and the websocket upgrade is refused the same way
    c, head = open_ws(vm, other, d)
    c.close()
    assert head.status == 401 and "vncticket" in head.reason

    # another user with VM.Console on this VM cannot use the admin's ticket
    vm.b.add_user("console@pve", "console-password", acl=[(f"/vms/{vmid}", "PVEVMUser")])
    user = vm.b.session("console@pve", "console-password")
    assert check(d["ticket"], session=user)[0] == 401
    c, head = open_ws(vm, vmid, d, session=user)
    c.close()
    assert head.status == 401
    # the admin's session ends once its client leaves, freeing the serial port
    c, head = open_ws(vm, vmid, d)
    c.close()
    assert head.status == 101
    assert vm.b.wait_task(d["upid"], session=vm.s, timeout=30)["exitstatus"] == "OK"
    # ... and its own console works
    own = user.data("POST", vm.path(vmid, "/termproxy"))
    assert own["user"] == "console@pve"
    c, head = open_ws(vm, vmid, own, session=user)
    try:
        assert head.status == 101, head.raw[:300]
        shell(c, own, "echo user-$((40+2))", "user-42")
    finally:
        c.close()
    # but not on a VM where it has no VM.Console
    assert user.post(vm.path(other, "/termproxy")).status == 403

    # VM.Console is needed for each entry point (VM.Audit is not enough)
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
