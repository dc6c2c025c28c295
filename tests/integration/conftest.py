"""Fixtures for integration tests: a real berthd (with its real proxy) in a temporary root
on a random loopback port, and the clients users have: proxmoxer, the berth CLI, raw HTTPS.

BERTH_BUILD names the build directory whose binaries run (scripts/run-tests.sh points it at
the ASan/UBSan build); the daemon's stderr is checked for sanitizer reports after each test.
"""
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

BUILD = os.environ.get("BERTH_BUILD") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
BERTHD = os.path.abspath(os.path.join(BUILD, "berthd"))
BERTH = os.path.abspath(os.path.join(BUILD, "berth"))

ADMIN = "admin@pve"
ADMIN_PASSWORD = "it-admin-password"
NODE = "itnode"

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def wait_for(condition, timeout=10.0, what="condition"):
    """Poll condition() until it returns a truthy value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


class HttpResponse:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0] if lines else ""
        parts = self.status_line.split(" ", 2)
        self.status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        self.reason = parts[2] if len(parts) > 2 else ""
        self.headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                self.headers[k.strip().lower()] = v.strip()

    def json(self):
        return json.loads(self.body)


class Berth:
    """One berthd in its own root directory."""

    def __init__(self, root, login_delay_ms=200, extra_args=()):
        self.root = root
        self.node = NODE
        self.login_delay_ms = login_delay_ms
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = os.path.join(root, "berthd-test.log")
        self.port = None

    # ---- process control ----

    def start(self):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        port_file = os.path.join(self.root, "run", "proxy.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.log = open(self.log_path, "ab")
        exe = getattr(self, "exe", BERTHD)  # a test may run a copy of the binary
        self.proc = subprocess.Popen(
            [exe, "--root", self.root, "--listen", "127.0.0.1:0", "--node", self.node,
             "--foreground", "--login-delay", str(self.login_delay_ms)] + self.extra_args,
            stdout=self.log, stderr=self.log, env=env)
        sock = os.path.join(self.root, "run", "api.sock")
        try:
            wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip()
                     and os.path.exists(sock) or self.proc.poll() is not None,
                     15, "berthd to start")
            if self.proc.poll() is not None:
                raise AssertionError("berthd exited at start:\n" + self.read_log())
            self.port = int(open(port_file).read().strip())
            wait_for(self._https_ready, 10, "the HTTPS proxy")
        except BaseException:
            self.stop(signal.SIGKILL)  # never leave a half-started daemon behind
            raise
        return self

    def _https_ready(self):
        try:
            return self.request("GET", "/api2/json/access/domains").status == 200
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def kill9(self):
        """kill -9 the root daemon (its proxy dies with it by PDEATHSIG)."""
        self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def sanitizer_reports(self):
        text = self.read_log()
        return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKERS)]

    # ---- clients ----

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def cli(self, *args, input=None, check=False, timeout=60):
        """Run the berth CLI against this daemon; returns CompletedProcess (text)."""
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0")
        r = subprocess.run([BERTH, "--root", self.root] + [str(a) for a in args],
                           input=input, capture_output=True, text=True, timeout=timeout, env=env)
        if check and r.returncode != 0:
            raise AssertionError(f"berth {' '.join(map(str, args))} failed "
                                 f"({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def cli_json(self, *args):
        r = self.cli(*args, "--output-format", "json", check=True)
        return json.loads(r.stdout)

    def api(self, user=ADMIN, password=ADMIN_PASSWORD, **kw):
        from proxmoxer import ProxmoxAPI
        return ProxmoxAPI("127.0.0.1", port=self.port, user=user, password=password,
                          verify_ssl=False, **kw)

    def token_api(self, user, token_name, secret):
        from proxmoxer import ProxmoxAPI
        return ProxmoxAPI("127.0.0.1", port=self.port, user=user, token_name=token_name,
                          token_value=secret, verify_ssl=False)

    def tls_socket(self, timeout=10):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return ctx.wrap_socket(raw, server_hostname="localhost")

    def raw(self, data, timeout=10):
        """Send raw bytes over TLS and read until the server closes or the response ends."""
        s = self.tls_socket(timeout)
        try:
            s.sendall(data)
            return HttpResponse(read_response(s))
        finally:
            s.close()

    def request(self, method, path, body=None, headers=None, timeout=10):
        """One HTTP/1.1 request with Connection: close; body may be bytes, str or a dict
        (form-encoded)."""
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = urllib.parse.urlencode(body, doseq=True)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if isinstance(body, str):
            body = body.encode()
        lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close"]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        return self.raw(data, timeout)

    def login(self, user=ADMIN, password=ADMIN_PASSWORD):
        """POST /access/ticket; returns (ticket, csrf)."""
        r = self.request("POST", "/api2/json/access/ticket",
                         {"username": user, "password": password})
        assert r.status == 200, r.status_line
        d = r.json()["data"]
        return d["ticket"], d["CSRFPreventionToken"]


def read_response(s):
    """Read one HTTP response (Content-Length framed) or until EOF."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            return buf
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while length is not None and len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head + b"\r\n\r\n" + rest


def make_root():
    # short paths: unix socket names must fit in 108 bytes
    return tempfile.mkdtemp(prefix="bt-", dir="/tmp")


def setup_admin(b):
    """An administrator with a password, as a user of `make run` would create one."""
    b.cli("admin", "create", ADMIN, input=ADMIN_PASSWORD + "\n", check=True)


def require_root():
    if os.geteuid() != 0:
        pytest.skip("integration tests need root (berthd manages the host)")


def start_with_admin(**kw):
    """A daemon in a fresh root with an administrator (admin@pve)."""
    b = Berth(make_root(), **kw).start()
    setup_admin(b)
    return b


def stop_and_check(daemons):
    """Stop the daemons, remove their roots, and fail on any sanitizer report."""
    reports = []
    for b in daemons:
        b.stop()
        reports += b.sanitizer_reports()
        shutil.rmtree(b.root, ignore_errors=True)
    assert not reports, "sanitizer reports in berthd's log:\n" + "\n".join(reports)


@pytest.fixture
def berth():
    """A fresh berthd with an administrator (admin@pve) for one test."""
    require_root()
    b = start_with_admin()
    yield b
    stop_and_check([b])


@pytest.fixture
def berth_factory():
    """Start daemons with custom options: berth_factory(login_delay_ms=3000)."""
    require_root()
    made = []

    def make(**kw):
        made.append(start_with_admin(**kw))
        return made[-1]

    yield make
    stop_and_check(made)


# ---- helpers shared by the test modules (added with the foundation suite) ----

JSON_CT = "application/json;charset=UTF-8"
UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-F]{8}):([0-9A-F]{8,9}):"
    r"([0-9A-F]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Session:
    """A client on the raw HTTPS surface with one kind of credentials: a ticket (cookie and
    CSRF header on non-GET, as proxmoxer sends them), an API token, or nothing."""

    def __init__(self, berth, ticket=None, csrf=None, token=None, userid=None):
        self.berth = berth
        self.ticket = ticket
        self.csrf = csrf
        self.token = token  # "user@realm!name=secret"
        self.userid = userid

    def headers(self, method):
        h = {}
        if self.ticket:
            h["Cookie"] = f"PVEAuthCookie={self.ticket}"
            if method != "GET" and self.csrf:
                h["CSRFPreventionToken"] = self.csrf
        if self.token:
            h["Authorization"] = f"PVEAPIToken={self.token}"
        return h

    def call(self, method, path, params=None, headers=None, timeout=15):
        """path is relative to /api2/json; GET/DELETE params go into the query string,
        POST/PUT params into a form-encoded body."""
        url = "/api2/json" + path
        h = self.headers(method)
        h.update(headers or {})
        body = None
        if params:
            if method in ("GET", "DELETE"):
                url += "?" + urllib.parse.urlencode(params, doseq=True)
            else:
                body = dict(params)
        elif method in ("POST", "PUT"):
            body = b""
        return self.berth.request(method, url, body, h, timeout=timeout)

    def get(self, path, params=None, **kw):
        return self.call("GET", path, params, **kw)

    def post(self, path, params=None, **kw):
        return self.call("POST", path, params, **kw)

    def put(self, path, params=None, **kw):
        return self.call("PUT", path, params, **kw)

    def delete(self, path, params=None, **kw):
        return self.call("DELETE", path, params, **kw)

    def data(self, method, path, params=None):
        """The call's data; the call must answer 200."""
        r = self.call(method, path, params)
        assert r.status == 200, f"{method} {path}: {r.status_line}\n{r.body[:500]!r}"
        assert r.headers.get("content-type") == JSON_CT
        return r.json()["data"]


def _session(self, user=ADMIN, password=ADMIN_PASSWORD):
    """A ticket session for user (logs in with password)."""
    ticket, csrf = self.login(user, password)
    return Session(self, ticket=ticket, csrf=csrf, userid=user)


def _token_session(self, tokenid, secret):
    return Session(self, token=f"{tokenid}={secret}", userid=tokenid)


def _anonymous(self):
    return Session(self)


def _admin(self):
    """A cached admin@pve ticket session."""
    s = getattr(self, "_admin_session", None)
    if s is None:
        s = self._admin_session = self.session()
    return s


def _add_user(self, userid, password=None, acl=(), **fields):
    """Create userid (as admin@pve) and grant it (path, role[, propagate]) entries."""
    params = {"userid": userid}
    if password is not None:
        params["password"] = password
    params.update(fields)
    self.admin().data("POST", "/access/users", params)
    for entry in acl:
        path, role = entry[0], entry[1]
        p = {"path": path, "roles": role, "users": userid}
        if len(entry) > 2:
            p["propagate"] = entry[2]
        self.admin().data("PUT", "/access/acl", p)
    return userid


def _add_token(self, userid, name, privsep=None, acl=(), **fields):
    """Create token userid!name (as admin@pve); returns (full tokenid, secret)."""
    params = dict(fields)
    if privsep is not None:
        params["privsep"] = privsep
    d = self.admin().data("POST", f"/access/users/{userid}/token/{name}", params)
    full = d["full-tokenid"]
    for entry in acl:
        p = {"path": entry[0], "roles": entry[1], "tokens": full}
        self.admin().data("PUT", "/access/acl", p)
    return full, d["value"]


def _store_files(self):
    """The config store's files {path: bytes}, read directly from <root>/config.db."""
    con = sqlite3.connect(f"file:{self.root}/config.db?mode=ro", uri=True, timeout=30)
    try:
        return {p: bytes(d) for p, d in con.execute("SELECT path, data FROM files")}
    finally:
        con.close()


def _forge_ticket(self, userid, when):
    """A ticket for userid dated `when` (unix time), signed with the daemon's real key from
    the store (what a ticket of that age looks like; no waiting two hours)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    key = serialization.load_pem_private_key(self.store_files()["priv/authkey.key"], None)
    plain = f"PVE:{userid.replace('%', '%25').replace(':', '%3A')}:{int(when):08X}"
    sig = key.sign(plain.encode(), padding.PKCS1v15(), hashes.SHA256())
    return plain + "::" + base64.b64encode(sig).decode()


def _forge_csrf(self, userid, when):
    """A CSRF token for userid dated `when`, made with the daemon's secret from the store."""
    secret = self.store_files()["priv/csrf.key"][:64]
    hextime = f"{int(when):08X}"
    mac = hmac.new(secret, f"{hextime}:{userid}".encode(), hashlib.sha256).digest()
    return hextime + ":" + base64.b64encode(mac).decode().rstrip("=")


def _proxy_pid(self):
    """Pid of the running proxy process (a child of the daemon), or None."""
    if not self.proc:
        return None
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if (int(ppid) == self.proc.pid and os.path.basename(cmd[0]) == b"berthd-proxy"
                and state != "Z"):
            return int(d)
    return None


def _refresh_port(self):
    """Re-read the port file (a restarted proxy binds a new random port)."""
    port_file = os.path.join(self.root, "run", "proxy.port")
    try:
        text = open(port_file).read().strip()
    except OSError:
        return None
    if text.isdigit():
        self.port = int(text)
        return self.port
    return None


def _wait_task(self, upid, session=None, timeout=30):
    """Wait until task upid has stopped; returns its status object."""
    s = session or self.admin()
    node = upid.split(":")[1]

    # a UPID's id may hold characters a request target may not (">" of a disk reassign):
    # clients percent-encode it, as the CLI and proxmoxer do
    path = f"/nodes/{node}/tasks/{urllib.parse.quote(upid, safe=':@')}/status"

    def stopped():
        d = s.data("GET", path)
        return d if d["status"] == "stopped" else None
    return wait_for(stopped, timeout, f"task {upid} to stop")


def _probe(self, session=None, **params):
    """Start the diagnostic task; returns its UPID."""
    s = session or self.admin()
    return s.data("POST", f"/nodes/{self.node}/berth/probe-task", params)


Berth.session = _session
Berth.token_session = _token_session
Berth.anonymous = _anonymous
Berth.admin = _admin
Berth.add_user = _add_user
Berth.add_token = _add_token
Berth.store_files = _store_files
Berth.forge_ticket = _forge_ticket
Berth.forge_csrf = _forge_csrf
Berth.proxy_pid = _proxy_pid
Berth.refresh_port = _refresh_port
Berth.wait_task = _wait_task
Berth.probe = _probe


def run_concurrently(fn, args_list, timeout=120):
    """Call fn(*args) for every args tuple in its own thread, started together; returns the
    results (or raised exceptions) in order."""
    results = [None] * len(args_list)
    barrier = threading.Barrier(len(args_list))

    def run(i, args):
        try:
            barrier.wait(30)
            results[i] = fn(*args)
        except BaseException as e:  # noqa: B902 - reported to the caller
            results[i] = e
    threads = [threading.Thread(target=run, args=(i, a), daemon=True)
               for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "concurrent calls did not finish"
    return results


@pytest.fixture(scope="module")
def shared_berth():
    """One berthd (with admin@pve) shared by the tests of a module that only read, or write
    objects of their own with unique names."""
    require_root()
    b = start_with_admin()
    yield b
    stop_and_check([b])


@contextlib.contextmanager
def loop_btrfs(size_mib=2048):
    """A fresh btrfs on a sparse file, loop-mounted in a temp dir; yields (tmpdir, mountpoint).
    Skips (with the reason) where btrfs-progs or the kernel's btrfs are missing."""
    require_root()
    if shutil.which("mkfs.btrfs") is None or shutil.which("btrfs") is None:
        pytest.skip("btrfs-progs (mkfs.btrfs, btrfs) are not installed")
    tmp = tempfile.mkdtemp(prefix="berth-btrfs-")
    image, mnt = os.path.join(tmp, "btrfs.img"), os.path.join(tmp, "mnt")
    os.mkdir(mnt)
    with open(image, "wb") as f:
        f.truncate(size_mib << 20)
    mounted = False
    try:
        p = subprocess.run(["mkfs.btrfs", "-q", "-f", image], capture_output=True, text=True)
        if p.returncode != 0:
            pytest.skip(f"mkfs.btrfs failed: {p.stderr.strip()}")
        p = subprocess.run(["mount", "-t", "btrfs", "-o", "loop", image, mnt],
                           capture_output=True, text=True)
        if p.returncode != 0:
            pytest.skip(f"cannot loop-mount a btrfs (kernel without btrfs?): {p.stderr.strip()}")
        mounted = True
        yield tmp, mnt
    finally:
        if mounted:
            subprocess.run(["umount", mnt], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
