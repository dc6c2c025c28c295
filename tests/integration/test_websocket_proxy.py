"""Console websockets through the HTTPS proxy (docs/internals.md, "Consoles"): the handshake
checks, refusals relayed as plain HTTP, and the relay itself (RFC 6455 framing, masking,
backpressure, closing) - security.md L4 and B3.

The client is written by hand on socket+ssl (no websocket library): it masks its frames, or
deliberately does not. Two kinds of tests:

- against a real berthd: what the proxy and the root daemon answer before a relay exists;
- against berthd-proxy with a stand-in root daemon on its upstream socket that answers the
  `websocket` request frame with one end of a socketpair: the relay, byte for byte, without
  needing a console worker. test_console_websocket_relays_bytes is the end-to-end version.
"""
import base64
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

from conftest import (BUILD, NODE, SANITIZER_MARKERS, HttpResponse, read_response,
                      require_root, wait_for)
from ctlib import ct, ct_host  # noqa: F401

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
KIB, MIB = 1 << 10, 1 << 20


# ---- a websocket client by hand ----

def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def console_path(node, vmid=100, kind="lxc", query="port=5900&vncticket=PVEVNC%3Abogus"):
    return f"/api2/json/nodes/{node}/{kind}/{vmid}/vncwebsocket" + (f"?{query}" if query else "")


def upgrade_request(path, key=None, method="GET", version="13", protocol="binary",
                    connection="Upgrade", upgrade="websocket", ticket=None, extra=()):
    """The bytes of an upgrade request; None leaves a header out."""
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost"]
    for name, value in (("Upgrade", upgrade), ("Connection", connection),
                        ("Sec-WebSocket-Version", version), ("Sec-WebSocket-Key", key),
                        ("Sec-WebSocket-Protocol", protocol)):
        if value is not None:
            lines.append(f"{name}: {value}")
    if ticket:
        lines.append(f"Cookie: PVEAuthCookie={ticket}")
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def mask_bytes(data, key):
    if not data:
        return b""
    k = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(len(data), "big")


def client_frame(opcode, payload=b"", fin=True, masked=True, rsv=0, length=None):
    """One client frame; masked=False and rsv break the protocol on purpose. length
    overrides the announced payload length (the payload is then sent as given)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv | opcode
    m = 0x80 if masked else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + mask_bytes(payload, key)


def close_payload(code, reason=b""):
    return struct.pack(">H", code) + reason


class WsClient:
    """The client side of one connection: the handshake answer, then server frames."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self, deadline):
        while True:
            if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
                break
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no data from the proxy in time")
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                break
        try:
            data = self.sock.recv(256 * KIB)
        except (ConnectionResetError, ssl.SSLError):
            data = b""
        except ssl.SSLWantReadError:
            return
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def read_head(self, timeout=10):
        """The HTTP answer to the upgrade: for a 101 only its head (frames may follow); an
        error is read to its end."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            try:
                self._fill(deadline)
            except EOFError:
                return HttpResponse(self.buf)
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        r = HttpResponse(head + b"\r\n\r\n")
        if r.status == 101:
            self.buf = rest
            return r
        length = int(r.headers.get("content-length", "0"))
        while len(rest) < length:
            try:
                self._fill(deadline)
            except EOFError:
                break
            rest = self.buf.partition(b"\r\n\r\n")[2]
        return HttpResponse(head + b"\r\n\r\n" + rest)

    def read_frame(self, timeout=10):
        """(opcode, payload) of the next server frame; checks what RFC 6455 demands of
        servers (unmasked, no RSV bits, control frames final and short)."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < 2:
            self._fill(deadline)
        b0, b1 = self.buf[0], self.buf[1]
        assert b1 & 0x80 == 0, "server frames must not be masked"
        assert b0 & 0x70 == 0, "no RSV bits without extensions"
        assert b0 & 0x80, "the proxy never fragments"
        n, off = b1 & 0x7F, 2
        if n == 126:
            while len(self.buf) < 4:
                self._fill(deadline)
            n, off = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            while len(self.buf) < 10:
                self._fill(deadline)
            n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
        while len(self.buf) < off + n:
            self._fill(deadline)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        opcode = b0 & 0x0F
        if opcode >= 8:
            assert n <= 125
        return opcode, payload

    def read_close(self, timeout=10):
        """Skip data frames up to the close frame; returns (code, reason)."""
        while True:
            op, payload = self.read_frame(timeout)
            if op == OP_CLOSE:
                if not payload:
                    return None, b""
                return struct.unpack(">H", payload[:2])[0], payload[2:]

    def read_binary(self, size, timeout=15):
        """size bytes from binary messages; returns (data, largest message)."""
        data, largest = b"", 0
        while len(data) < size:
            op, payload = self.read_frame(timeout)
            assert op == OP_BINARY, f"opcode {op}"
            largest = max(largest, len(payload))
            data += payload
        return data, largest

    def send(self, data):
        self.sock.sendall(data)

    def assert_closed(self, timeout=10):
        """The proxy ends the connection: EOF (or a reset) within timeout."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
                self.buf = b""
        except EOFError:
            return
        except TimeoutError:
            raise AssertionError("the proxy did not close the connection") from None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def tls_connect(port, timeout=10):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def upgrade(port, request):
    """Send an upgrade request; returns (client, answer head)."""
    c = WsClient(tls_connect(port))
    c.send(request)
    return c, c.read_head()


def assert_refused(port, request, status, reason=None):
    c, r = upgrade(port, request)
    try:
        assert r.status == status, r.raw[:300]
        assert "upgrade" not in r.headers and "sec-websocket-accept" not in r.headers
        if reason is not None:
            assert r.reason == reason
        c.assert_closed()
    finally:
        c.close()
    return r


# ---- against a real berthd: before any relay ----

@pytest.mark.parametrize("name,kw,reason", [
    ("no key", {"key": None}, "missing Sec-WebSocket-Key"),
    ("short key", {"key": base64.b64encode(b"short").decode()}, "invalid Sec-WebSocket-Key"),
    ("key not base64", {"key": "!!!!!!!!!!!!!!!!!!!!!!=="}, "invalid Sec-WebSocket-Key"),
    ("key of 17 bytes", {"key": base64.b64encode(os.urandom(17)).decode()},
     "invalid Sec-WebSocket-Key"),
    ("version 8", {"version": "8"}, "unsupported Sec-WebSocket-Version (want 13)"),
    ("no version", {"version": None}, "unsupported Sec-WebSocket-Version (want 13)"),
    ("no Connection: upgrade", {"connection": "keep-alive"}, "missing 'Connection: upgrade'"),
    ("other upgrade", {"upgrade": "h2c"}, "unsupported Upgrade (want websocket)"),
    ("POST", {"method": "POST"}, "websocket upgrade needs GET"),
    ("PUT", {"method": "PUT"}, "websocket upgrade needs GET"),
])
def test_bad_websocket_handshakes_are_refused_with_400(shared_berth, name, kw, reason):
    req = upgrade_request(console_path(shared_berth.node), **{"key": new_key(), **kw})
    assert_refused(shared_berth.port, req, 400, reason)


def test_handshake_is_checked_before_the_root_daemon_is_asked(shared_berth):
    # no credentials: a bad handshake is the proxy's 400, not the daemon's 401
    req = upgrade_request(console_path(shared_berth.node), key=new_key(), version="12")
    assert_refused(shared_berth.port, req, 400)


def test_upgrade_with_a_body_is_refused_with_400(shared_berth):
    req = upgrade_request(console_path(shared_berth.node), key=new_key(),
                          extra=["Content-Length: 5"]) + b"hello"
    assert_refused(shared_berth.port, req, 400, "websocket upgrade with a body")


def test_unauthenticated_upgrade_is_refused_with_401_without_switching(shared_berth):
    req = upgrade_request(console_path(shared_berth.node), key=new_key())
    assert_refused(shared_berth.port, req, 401)


def test_unauthenticated_upgrade_to_a_vm_console_is_refused_with_401(shared_berth):
    req = upgrade_request(console_path(shared_berth.node, kind="qemu"), key=new_key())
    assert_refused(shared_berth.port, req, 401)


def test_bad_ticket_upgrade_is_refused_with_401_without_switching(shared_berth):
    req = upgrade_request(console_path(shared_berth.node), key=new_key(),
                          ticket="PVE:admin@pve:00000000::bogus")
    assert_refused(shared_berth.port, req, 401)


def test_upgrade_to_a_static_path_is_404(shared_berth):
    req = upgrade_request("/websockify", key=new_key())
    assert_refused(shared_berth.port, req, 404)


def test_upgrade_to_an_unknown_api_path_is_not_switched(shared_berth):
    ticket, _ = shared_berth.login()
    path = f"/api2/json/nodes/{shared_berth.node}/lxc/100/vncwebsocketx"
    assert_refused(shared_berth.port, upgrade_request(path, key=new_key(), ticket=ticket), 501)


def test_upgrade_header_on_other_api_urls_is_answered_as_plain_http(shared_berth):
    ticket, _ = shared_berth.login()
    c, r = upgrade(shared_berth.port,
                   upgrade_request("/api2/json/version", key=new_key(), ticket=ticket))
    try:
        assert r.status == 200 and "upgrade" not in r.headers
        assert "version" in r.json()["data"]
    finally:
        c.close()


def test_console_upgrade_refused_by_the_root_daemon_is_relayed_as_http(shared_berth):
    # authenticated, but the console ticket is bogus (or consoles are not there yet): the
    # daemon's answer comes back as an HTTP error, never as 101
    ticket, _ = shared_berth.login()
    req = upgrade_request(console_path(shared_berth.node), key=new_key(), ticket=ticket)
    r = assert_refused(shared_berth.port, req, 401)
    assert "vncticket" in r.reason


def test_console_websocket_relays_bytes(ct):
    """End to end: a running CT, termproxy, then the websocket through the proxy to the
    console worker, speaking the termproxy protocol to the CT's getty."""
    vmid = ct.create(hostname="wsconsole")
    ct.start(vmid)
    s = ct.s
    d = s.data("POST", ct.path(vmid, "/termproxy"))
    assert isinstance(d["port"], int) or str(d["port"]).isdigit()
    query = urllib.parse.urlencode({"port": d["port"], "vncticket": d["ticket"]})
    req = upgrade_request(console_path(NODE, vmid, query=query), key=new_key(),
                          ticket=s.ticket)
    c, head = upgrade(ct.b.port, req)
    try:
        assert head.status == 101, head.raw[:300]
        # termproxy protocol: the first message is "<user>:<ticket>\n", answered "OK"
        c.send(client_frame(OP_BINARY, f"{d['user']}:{d['ticket']}\n".encode()))
        out, _ = c.read_binary(2)
        assert out.startswith(b"OK")
        # an empty line makes the getty print its prompt again
        seen = out[2:]
        deadline = time.monotonic() + 20
        while b"login:" not in seen and time.monotonic() < deadline:
            c.send(client_frame(OP_BINARY, b"0:1:\n"))
            try:
                op, payload = c.read_frame(timeout=2)
            except TimeoutError:
                continue
            seen += payload
        assert b"wsconsole login:" in seen, seen[-300:]
        c.send(client_frame(OP_CLOSE, close_payload(1000)))
        assert c.read_close()[0] == 1000
        c.assert_closed()
    finally:
        c.close()


# ---- the relay, against berthd-proxy with a stand-in root daemon ----

PROXY = os.path.abspath(os.path.join(BUILD, "berthd-proxy"))


class FakeRoot:
    """The root daemon's side of proxy.sock, as a thread: request frames in, response
    frames out. A `websocket` request is answered 200 with one end of a socketpair (the
    console stream), the other end is put in self.streams; other answers can be set."""

    def __init__(self, path):
        self.path = path
        self.requests = []
        self.streams = []
        self.answer = None  # fn(header) -> (status, message, body, with_stream)
        self.cond = threading.Condition()
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        os.chmod(path, 0o666)  # the proxy connects after dropping root
        self.srv.listen(1)
        self.conn = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _run(self):
        try:
            self.conn, _ = self.srv.accept()
            while True:
                total, hlen = struct.unpack(">II", self._recv_exact(8))
                frame = self._recv_exact(total)
                hdr = json.loads(frame[:hlen])
                with self.cond:
                    self.requests.append((hdr, frame[hlen:]))
                    self.cond.notify_all()
                self._respond(hdr)
        except (EOFError, OSError):
            pass

    def _respond(self, hdr):
        status, message, body, with_stream = (self.answer or default_answer)(hdr)
        out = {"type": "response", "id": hdr["id"], "status": status, "message": message,
               "fds": 1 if with_stream else 0}
        if body is not None:
            out["content_type"] = "application/json;charset=UTF-8"
        payload = b"" if body is None else body
        h = json.dumps(out).encode()
        data = struct.pack(">II", len(h) + len(payload), len(h)) + h + payload
        if with_stream:
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            with self.cond:
                self.streams.append(mine)
                self.cond.notify_all()
            socket.send_fds(self.conn, [data[:1]], [theirs.fileno()])
            theirs.close()
            self.conn.sendall(data[1:])
        else:
            self.conn.sendall(data)

    def stream(self, timeout=10):
        """The console end of the newest relay."""
        with self.cond:
            assert self.cond.wait_for(lambda: self.streams, timeout), "no stream handed out"
            return self.streams[-1]

    def close(self):
        for s in self.streams:
            s.close()
        if self.conn:
            self.conn.close()
        self.srv.close()


def default_answer(hdr):
    if hdr.get("websocket"):
        return 200, "OK", b'{"data":null}', True
    return 501, "not here", None, False


class RelayProxy:
    """berthd-proxy on a random port, its upstream a FakeRoot."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="bws-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        www = os.path.join(self.dir, "www")
        os.mkdir(www)
        self.cert, self.key = os.path.join(self.dir, "c.pem"), os.path.join(self.dir, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                        "/CN=localhost", "-days", "1", "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True)
        self.root = FakeRoot(os.path.join(self.dir, "proxy.sock"))
        port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "proxy.log")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [PROXY, "--listen", "127.0.0.1:0", "--cert", self.cert, "--key", self.key,
             "--www", www, "--upstream", self.root.path, "--port-file", port_file],
            stdout=self.log, stderr=self.log, env=env)
        wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip() or
                 self.proc.poll() is not None, 15, "berthd-proxy to start")
        assert self.proc.poll() is None, self.read_log()
        self.port = int(open(port_file).read())
        wait_for(lambda: self.root.conn is not None, 10, "the proxy to connect upstream")

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def open(self, protocol="binary", extra=(), first_frames=b""):
        """A relayed websocket: (client, console stream, request header)."""
        key = new_key()
        req = upgrade_request(console_path("pve", query="port=5900&vncticket=T"), key=key,
                              protocol=protocol, ticket="PVE:t", extra=extra)
        n = len(self.root.streams)
        c, head = upgrade(self.port, req + first_frames)
        assert head.status == 101, head.raw[:300]
        assert head.headers["sec-websocket-accept"] == accept_for(key)
        with self.root.cond:
            self.root.cond.wait_for(lambda: len(self.root.streams) > n, 10)
        stream = self.root.streams[-1]
        stream.settimeout(10)
        return c, stream, self.root.requests[-1][0]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        self.root.close()
        text = self.read_log()
        shutil.rmtree(self.dir, ignore_errors=True)
        return text


@pytest.fixture
def relay():
    require_root()
    if not os.path.exists(PROXY):
        pytest.skip(f"{PROXY} is not built")
    p = RelayProxy()
    yield p
    log = p.stop()
    bad = [line for line in log.splitlines() if any(m in line for m in SANITIZER_MARKERS)]
    assert not bad, "sanitizer reports in berthd-proxy's log:\n" + log


def recv_exact(sock, n, timeout=15):
    sock.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = sock.recv(min(n - len(data), 1 * MIB))
        if not chunk:
            break
        data += chunk
    return data


def assert_eof(sock, timeout=10):
    """The proxy closes its end of the console stream; returns what came before."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 * MIB)
        except ConnectionResetError:
            return data
        except socket.timeout:
            break
        if not chunk:
            return data
        data += chunk
    raise AssertionError("the console stream was not closed")


def test_relay_switches_protocols_and_sends_the_request_frame_of_the_contract(relay):
    c, stream, hdr = relay.open(extra=["Authorization: PVEAPIToken=a@pve!t=s",
                                       "CSRFPreventionToken: 1:x"])
    try:
        assert hdr["type"] == "request" and hdr["method"] == "GET"
        assert hdr["websocket"] is True
        assert hdr["path"] == "/api2/json/nodes/pve/lxc/100/vncwebsocket"
        assert hdr["query"] == "port=5900&vncticket=T"
        assert hdr["cookie"] == "PVEAuthCookie=PVE:t"
        assert hdr["authorization"] == "PVEAPIToken=a@pve!t=s"
        assert hdr["csrf"] == "1:x"
        assert hdr["client"] == "127.0.0.1"
        assert hdr.get("fds", 0) == 0 and "preflight" not in hdr
        assert relay.root.requests[-1][1] == b""  # no body
    finally:
        c.close()


def test_relay_answers_101_with_the_binary_subprotocol_only_when_offered(relay):
    key = new_key()
    c, head = upgrade(relay.port, upgrade_request(console_path("pve"), key=key,
                                                  protocol="base64, binary"))
    assert head.status == 101
    assert head.headers["upgrade"].lower() == "websocket"
    assert head.headers["connection"].lower() == "upgrade"
    assert head.headers["sec-websocket-protocol"] == "binary"
    c.close()
    c, head = upgrade(relay.port, upgrade_request(console_path("pve"), key=key, protocol=None))
    assert head.status == 101 and "sec-websocket-protocol" not in head.headers
    c.close()


def test_relay_passes_bytes_both_ways(relay):
    c, stream, _ = relay.open()
    try:
        c.send(client_frame(OP_BINARY, b"root@pam:PVEVNC:ticket\n"))
        assert recv_exact(stream, 23) == b"root@pam:PVEVNC:ticket\n"
        c.send(client_frame(OP_TEXT, b"0:3:ls\n"))  # xterm.js sends text frames
        assert recv_exact(stream, 7) == b"0:3:ls\n"
        stream.sendall(b"OK")
        assert c.read_frame() == (OP_BINARY, b"OK")
        every_byte = bytes(range(256)) * 4
        stream.sendall(every_byte)
        assert c.read_binary(len(every_byte))[0] == every_byte
        c.send(client_frame(OP_BINARY, every_byte))
        assert recv_exact(stream, len(every_byte)) == every_byte
    finally:
        c.close()


def test_frames_sent_right_behind_the_request_head_are_relayed(relay):
    c, stream, _ = relay.open(first_frames=client_frame(OP_BINARY, b"early"))
    try:
        assert recv_exact(stream, 5) == b"early"
    finally:
        c.close()


def test_fragmented_client_message_reaches_the_stream_joined_and_pings_get_pongs(relay):
    c, stream, _ = relay.open()
    try:
        c.send(client_frame(OP_BINARY, b"frag", fin=False) +
               client_frame(OP_PING, b"are you there?") +
               client_frame(OP_CONT, b"men", fin=False) +
               client_frame(OP_CONT, b"ted", fin=True))
        assert c.read_frame() == (OP_PONG, b"are you there?")
        assert recv_exact(stream, 10) == b"fragmented"
        c.send(client_frame(OP_PONG, b"unsolicited") + client_frame(OP_BINARY, b"!"))
        assert recv_exact(stream, 1) == b"!"
    finally:
        c.close()


def test_stream_output_comes_in_binary_messages_of_at_most_64_kib(relay):
    c, stream, _ = relay.open()
    try:
        data = os.urandom(3 * MIB + 12345)
        t = threading.Thread(target=stream.sendall, args=(data,))
        t.start()
        got, largest = c.read_binary(len(data))
        t.join(30)
        assert got == data
        assert 0 < largest <= 64 * KIB
    finally:
        c.close()


def test_large_client_messages_up_to_1_mib_reach_the_stream(relay):
    c, stream, _ = relay.open()
    try:
        data = os.urandom(1 * MIB)
        t = threading.Thread(target=c.send, args=(client_frame(OP_BINARY, data),))
        t.start()
        assert recv_exact(stream, len(data)) == data
        t.join(30)
    finally:
        c.close()


def test_client_close_is_answered_and_closes_the_stream(relay):
    c, stream, _ = relay.open()
    try:
        c.send(client_frame(OP_BINARY, b"last words") +
               client_frame(OP_CLOSE, close_payload(1000, b"bye")))
        assert c.read_close() == (1000, b"")
        c.assert_closed()
        # what came before the close still reached the console
        assert assert_eof(stream) == b"last words"
    finally:
        c.close()


def test_client_close_code_is_echoed(relay):
    c, stream, _ = relay.open()
    try:
        c.send(client_frame(OP_CLOSE, close_payload(4001)))
        assert c.read_close()[0] == 4001
        c.assert_closed()
    finally:
        c.close()


def test_end_of_the_stream_delivers_its_output_then_closes_with_1000(relay):
    c, stream, _ = relay.open()
    try:
        stream.sendall(b"logout\r\n")
        stream.close()
        assert c.read_frame() == (OP_BINARY, b"logout\r\n")
        assert c.read_close()[0] == 1000
        c.send(client_frame(OP_CLOSE, close_payload(1000)))
        c.assert_closed()
    finally:
        c.close()


def test_end_of_the_stream_closes_even_when_the_client_does_not_answer(relay):
    c, stream, _ = relay.open()
    try:
        stream.close()
        assert c.read_close()[0] == 1000
        c.assert_closed(timeout=10)  # TIMEOUT_LINGER, not the HTTP timeouts
    finally:
        c.close()


def test_client_disconnect_closes_the_stream(relay):
    c, stream, _ = relay.open()
    c.sock.close()
    assert assert_eof(stream) == b""


HALF = MIB // 2


@pytest.mark.parametrize("name,frame,code,delivered", [
    ("unmasked", client_frame(OP_BINARY, b"naked", masked=False), 1002, b""),
    ("rsv1", client_frame(OP_BINARY, b"deflated?", rsv=0x40), 1002, b""),
    ("rsv3", client_frame(OP_TEXT, b"x", rsv=0x10), 1002, b""),
    ("opcode 3", client_frame(3, b"x"), 1002, b""),
    ("opcode 0xb", client_frame(0xB, b""), 1002, b""),
    ("fragmented ping", client_frame(OP_PING, b"x", fin=False), 1002, b""),
    ("126-byte ping", client_frame(OP_PING, b"p" * 126), 1002, b""),
    ("continuation first", client_frame(OP_CONT, b"x"), 1002, b""),
    ("1-byte close", client_frame(OP_CLOSE, b"\x03"), 1002, b""),
    ("message over 1 MiB", client_frame(OP_BINARY, b"", length=MIB + 1), 1009, b""),
    # payloads are streamed: the fragments within the limit may have been relayed already
    ("fragments over 1 MiB", client_frame(OP_BINARY, b"a" * HALF, fin=False) +
     client_frame(OP_CONT, b"b" * HALF, fin=False) + client_frame(OP_CONT, b"c"), 1009,
     b"a" * HALF + b"b" * HALF),
], ids=lambda v: v if isinstance(v, str) else "")
def test_protocol_violations_close_the_connection_and_the_stream(relay, name, frame, code,
                                                                 delivered):
    c, stream, _ = relay.open()
    try:
        c.send(client_frame(OP_BINARY, b"ok"))
        assert recv_exact(stream, 2) == b"ok"
        # the stream is drained meanwhile: a relayed MiB does not fit its socket buffer, and
        # the proxy reads no further client frames while the stream is full
        got = []
        reader = threading.Thread(target=lambda: got.append(assert_eof(stream, timeout=20)))
        reader.start()
        try:
            c.send(frame)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the proxy may close while a big frame is still being sent
        assert c.read_close()[0] == code
        c.assert_closed()
        reader.join(30)
        # what was queued for the stream when the error came may be dropped: a prefix
        assert len(got) == 1, "the console stream was not closed"
        assert delivered.startswith(got[0]), "bytes after the error reached the stream"
    finally:
        c.close()


def test_answer_without_a_stream_is_502(relay):
    relay.root.answer = lambda hdr: (200, "OK", b'{"data":null}', False)
    req = upgrade_request(console_path("pve"), key=new_key())
    assert_refused(relay.port, req, 502)


def test_refusal_from_the_root_daemon_is_relayed_with_its_body(relay):
    body = b'{"data":null,"errors":{"vncticket":"invalid"}}'
    relay.root.answer = lambda hdr: (403, "Permission check failed", body, False)
    req = upgrade_request(console_path("pve"), key=new_key())
    r = assert_refused(relay.port, req, 403, "Permission check failed")
    assert r.body == body


def test_a_stream_that_is_not_read_stops_the_client_not_the_proxy_memory(relay):
    c, stream, _ = relay.open()
    try:
        # the console does not read: the client's sends must block long before 64 MiB
        # (proxy queue 256 KiB + kernel buffers), not vanish into the proxy's memory
        payload = os.urandom(64 * KIB)
        c.sock.setblocking(False)
        frames, sent, pending = 0, 0, memoryview(b"")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sent < 64 * MIB:
            if not pending:
                pending = memoryview(client_frame(OP_BINARY, payload))
                frames += 1
            try:
                n = c.sock.send(pending[:64 * KIB])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                time.sleep(0.05)
                continue
            pending, sent = pending[n:], sent + n
        assert sent < 32 * MIB, f"{sent} bytes were taken while the console read nothing"
        # once it reads, everything arrives in order (read from a thread: the rest of the
        # frame begun cannot be sent before the console reads)
        got = []
        reader = threading.Thread(
            target=lambda: got.append(recv_exact(stream, frames * len(payload), timeout=30)))
        reader.start()
        c.sock.setblocking(True)
        c.sock.sendall(pending)
        reader.join(40)
        assert len(got) == 1 and got[0] == payload * frames
    finally:
        c.close()


def test_a_client_that_does_not_read_stops_the_stream_not_the_proxy_memory(relay):
    c, stream, _ = relay.open()
    try:
        stream.setblocking(False)
        block = os.urandom(256 * KIB)
        sent, deadline = 0, time.monotonic() + 5
        while time.monotonic() < deadline and sent < 64 * MIB:
            try:
                sent += stream.send(block)
            except BlockingIOError:
                time.sleep(0.05)
        assert sent < 32 * MIB, f"{sent} bytes were taken while the client read nothing"
        stream.setblocking(True)
        got, largest = c.read_binary(sent, timeout=30)
        assert len(got) == sent and largest <= 64 * KIB
        # and the relay still works both ways afterwards
        stream.sendall(b"still here")
        assert c.read_frame() == (OP_BINARY, b"still here")
        c.send(client_frame(OP_BINARY, b"me too"))
        assert recv_exact(stream, 6) == b"me too"
    finally:
        c.close()


def test_an_idle_relay_outlives_the_http_timeouts(relay):
    c, stream, _ = relay.open()
    try:
        time.sleep(12)  # TIMEOUT_HEAD and the TLS handshake timeout are 10 s
        c.send(client_frame(OP_BINARY, b"still"))
        assert recv_exact(stream, 5) == b"still"
        stream.sendall(b"alive")
        assert c.read_frame() == (OP_BINARY, b"alive")
    finally:
        c.close()


def test_many_relays_at_once_stay_separate(relay):
    pairs = [relay.open() for _ in range(20)]
    try:
        for i, (c, stream, _) in enumerate(pairs):
            c.send(client_frame(OP_BINARY, b"to %d" % i))
            stream.sendall(b"from %d" % i)
        for i, (c, stream, _) in enumerate(pairs):
            assert recv_exact(stream, len(b"to %d" % i)) == b"to %d" % i
            assert c.read_frame() == (OP_BINARY, b"from %d" % i)
        # closing half of them from each side leaves the others working
        for i, (c, stream, _) in enumerate(pairs[:10]):
            if i % 2:
                stream.close()
            else:
                c.send(client_frame(OP_CLOSE, close_payload(1000)))
            assert c.read_close()[0] == 1000
        for c, stream, _ in pairs[10:]:
            c.send(client_frame(OP_BINARY, b"x"))
            assert recv_exact(stream, 1) == b"x"
    finally:
        for c, _, _ in pairs:
            c.close()
