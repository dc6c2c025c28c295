"""File uploads through the HTTPS proxy (POST /nodes/{node}/storage/{storage}/upload,
multipart/form-data as pve-http-server takes it): the root daemon is asked before the body is
read, the body is streamed to an unlinked file with constant proxy memory, and the file lands
in the storage through the imgcopy task."""
import hashlib
import os
import select
import shutil
import ssl
import subprocess
import time

import pytest

from conftest import (ADMIN, UPID_RE, Berth, HttpResponse, make_root, read_response,
                      require_root, setup_admin, start_with_admin, stop_and_check, wait_for)

BOUNDARY = "----berthTestBoundary0123456789abcdef"
MIB = 1 << 20
GIB = 1 << 30


def upload_path(b, storage="local"):
    return f"/api2/json/nodes/{b.node}/storage/{storage}/upload"


def multipart_parts(fields, filename, file_field="filename"):
    """(prologue, epilogue) around the file's bytes."""
    pro = b""
    for name, value in fields.items():
        pro += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                f"{value}\r\n").encode()
    pro += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{file_field}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    return pro, f"\r\n--{BOUNDARY}--\r\n".encode()


def block(size=MIB, seed=b"berth"):
    """Deterministic incompressible bytes without a CR (so never a boundary)."""
    out = bytearray()
    h = seed
    while len(out) < size:
        h = hashlib.sha256(h).digest()
        out += h
    return bytes(out[:size]).replace(b"\r", b"r")


def head_for(b, length=None, chunked=False, ticket=None, extra=None):
    lines = [f"POST {upload_path(b)} HTTP/1.1", "Host: localhost",
             f"Content-Type: multipart/form-data; boundary={BOUNDARY}"]
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {length}")
    if ticket:
        lines.append(f"Cookie: PVEAuthCookie={ticket}")
    lines += extra or []
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def response_complete(buf):
    if b"\r\n\r\n" not in buf:
        return False
    head, _, rest = buf.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return len(rest) >= int(v.strip())
    return not head.startswith(b"HTTP/1.1 100 ")


class Upload:
    """One upload over a raw TLS socket that watches for an answer while it sends (single
    thread, non-blocking: an SSL object must not be shared between threads)."""

    def __init__(self, b, head, body_chunks, timeout=300, progress=None):
        self.response = None
        self.body_sent = 0
        self.sent_at_answer = None
        self.finished_sending = False
        s = b.tls_socket(timeout)
        s.setblocking(False)
        out, it, in_body = memoryview(head), iter(body_chunks), False
        buf = b""
        deadline = time.monotonic() + timeout
        t0 = time.monotonic()
        try:
            while time.monotonic() < deadline:
                if not out and not self.finished_sending:
                    try:
                        out, in_body = memoryview(next(it)), True
                    except StopIteration:
                        self.finished_sending = True
                        self.send_seconds = time.monotonic() - t0
                r, w, _ = select.select([s], [s] if out else [], [], 1)
                if r or s.pending():
                    try:
                        data = s.recv(65536)
                    except ssl.SSLWantReadError:
                        data = None
                    except (ConnectionResetError, ssl.SSLError):
                        data = b""
                    if data == b"":
                        break
                    if data:
                        if self.sent_at_answer is None:
                            self.sent_at_answer = self.body_sent
                            self.answered_while_sending = not self.finished_sending
                        buf += data
                        if buf.startswith(b"HTTP/1.1 100 ") and b"\r\n\r\n" in buf:
                            self.continued = True
                            buf = buf.partition(b"\r\n\r\n")[2]
                            self.sent_at_answer = None
                        if response_complete(buf):
                            break
                if w and out:
                    try:
                        n = s.send(out[:256 * 1024])
                    except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                        continue
                    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                        out, self.finished_sending = memoryview(b""), True
                        continue
                    if in_body:
                        if progress and (self.body_sent + n) >> 26 != self.body_sent >> 26:
                            progress(self.body_sent + n)  # every 64 MiB
                        self.body_sent += n
                    out = out[n:]
            self.seconds = time.monotonic() - t0
        finally:
            s.close()
        self.response = HttpResponse(buf)


def file_chunks(prologue, size, epilogue, piece=None, chunked=False):
    """The multipart body with size file bytes made of repeated blocks."""
    data = piece or block()

    def frame(x):
        return b"%x\r\n%s\r\n" % (len(x), x) if chunked else x
    yield frame(prologue)
    left = size
    while left > 0:
        n = min(left, len(data))
        yield frame(data[:n])
        left -= n
    yield frame(epilogue)
    if chunked:
        yield b"0\r\n\r\n"


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def iso_path(b, name, storage="local"):
    return os.path.join(b.root, "storage", storage, "template", "iso", name)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            h.update(chunk)
    return h.hexdigest()


def assert_upload_dir_empty(b):
    # O_TMPFILE files never have a name; nothing else may appear either
    assert os.listdir(os.path.join(b.root, "upload")) == []


# ---- before the body: the root daemon decides ----

def test_upload_directory_belongs_to_the_proxy_user(shared_berth):
    st = os.stat(os.path.join(shared_berth.root, "upload"))
    assert st.st_mode & 0o777 == 0o700
    proxy = shared_berth.proxy_pid()
    with open(f"/proc/{proxy}/status") as f:
        uid = next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
    assert st.st_uid == uid


def test_unauthenticated_upload_is_refused_before_the_body_is_read(shared_berth):
    b = shared_berth
    pro, epi = multipart_parts({"content": "iso"}, "big.iso")
    size = GIB
    up = Upload(b, head_for(b, len(pro) + size + len(epi)), file_chunks(pro, size, epi),
                timeout=60)
    assert up.response.status == 401, up.response.status_line
    # answered while the client was still sending: the proxy did not swallow the file
    print(f"\n401 after {up.sent_at_answer / MIB:.1f} MiB of a 1 GiB body")
    assert up.answered_while_sending
    assert up.sent_at_answer < 64 * MIB, up.sent_at_answer
    assert_upload_dir_empty(b)


def test_unauthenticated_upload_with_expect_gets_no_100_continue(shared_berth):
    b = shared_berth
    pro, epi = multipart_parts({"content": "iso"}, "x.iso")
    head = head_for(b, len(pro) + 10 + len(epi), extra=["Expect: 100-continue"])
    s = b.tls_socket(15)
    try:
        s.sendall(head)
        first = s.recv(65536)
        while b"\r\n\r\n" not in first:
            more = s.recv(65536)
            if not more:
                break
            first += more
    finally:
        s.close()
    assert first.startswith(b"HTTP/1.1 401 "), first[:100]


def test_upload_without_the_storage_privilege_is_refused_before_the_body(shared_berth):
    b = shared_berth
    user = b.add_user("noupload@pve", password="noupload-pass",
                      acl=[("/storage/local", "PVEAuditor")])
    ticket, _ = b.login(user, "noupload-pass")
    pro, epi = multipart_parts({"content": "iso"}, "big.iso")
    size = GIB
    up = Upload(b, head_for(b, len(pro) + size + len(epi), ticket=ticket),
                file_chunks(pro, size, epi), timeout=60)
    assert up.response.status == 403, up.response.status_line
    assert up.sent_at_answer < 64 * MIB
    assert not os.path.exists(iso_path(b, "big.iso"))


def test_authorised_upload_with_expect_gets_100_continue_and_lands(shared_berth):
    b = shared_berth
    ticket, _ = b.login()
    data = block(300 * 1024, b"expect")
    pro, epi = multipart_parts({"content": "iso"}, "expect.iso")
    head = head_for(b, len(pro) + len(data) + len(epi), ticket=ticket,
                    extra=["Expect: 100-continue"])
    s = b.tls_socket(30)
    try:
        s.sendall(head)
        cont = s.recv(65536)
        assert cont.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), cont[:100]
        s.sendall(pro + data + epi)
        r = HttpResponse(read_response(s))
    finally:
        s.close()
    assert r.status == 200, r.status_line
    upid = r.json()["data"]
    assert UPID_RE.match(upid)
    st = b.wait_task(upid)
    assert st["exitstatus"] == "OK"
    with open(iso_path(b, "expect.iso"), "rb") as f:
        assert f.read() == data


# ---- streaming ----

def test_one_gib_upload_streams_with_constant_proxy_memory(monkeypatch):
    require_root()
    # Under ASan every freed block waits in a quarantine (256 MiB by default) before it is
    # reused; TLS record buffers are freed and allocated again all the time, so the
    # quarantine, not the proxy, would fill the resident set. Keep it small here.
    asan = os.environ.get("ASAN_OPTIONS", "detect_leaks=0:halt_on_error=1")
    monkeypatch.setenv("ASAN_OPTIONS", asan + ":quarantine_size_mb=1:"
                       "thread_local_quarantine_size_kb=64")
    b = start_with_admin()
    try:
        ticket, _ = b.login()
        pid = b.proxy_pid()
        pro, epi = multipart_parts({"content": "iso"}, "onegig.iso")
        size = GIB
        before = vm_hwm_kib(pid)
        samples = []
        up = Upload(b, head_for(b, len(pro) + size + len(epi), ticket=ticket),
                    file_chunks(pro, size, epi),
                    progress=lambda n: samples.append(vm_hwm_kib(pid)))
        assert len(samples) >= 15
        after = vm_hwm_kib(pid) if b.proxy_pid() == pid else max(samples)
        print(f"\nproxy VmHWM before {before} KiB, after {after} KiB; "
              f"{size / MIB / up.send_seconds:.0f} MiB/s through the proxy")
        assert after - before < 8 * 1024, (before, samples, after)
        assert up.response.status == 200, up.response.status_line
        st = b.wait_task(up.response.json()["data"], timeout=300)
        assert st["exitstatus"] == "OK"
        assert os.path.getsize(iso_path(b, "onegig.iso")) == size
        assert_upload_dir_empty(b)
    finally:
        stop_and_check([b])


def test_chunked_upload_lands_byte_for_byte(shared_berth):
    b = shared_berth
    ticket, _ = b.login()
    data = block(5 * MIB + 17, b"chunked")
    pro, epi = multipart_parts({"content": "iso"}, "chunked.iso")
    up = Upload(b, head_for(b, chunked=True, ticket=ticket),
                file_chunks(pro, len(data), epi, piece=data, chunked=True), timeout=60)
    assert up.response.status == 200, up.response.status_line
    st = b.wait_task(up.response.json()["data"])
    assert st["exitstatus"] == "OK"
    assert sha256_file(iso_path(b, "chunked.iso")) == hashlib.sha256(data).hexdigest()


# ---- malformed uploads: 500 with pve-http-server's reason, nothing left behind ----

@pytest.mark.parametrize("body_fn, reason", [
    (lambda: multipart_parts({"content": "iso"}, "a.iso", file_field="file"),
     "wrong field name 'file' for file upload, expected 'filename'"),
    (lambda: (multipart_parts({"content": "iso"}, "a.iso")[0], b""),
     "unterminated multipart body"),
    (lambda: (b"no boundary at all", b""), "missing multipart boundary"),
])
def test_malformed_multipart_is_refused_with_500(shared_berth, body_fn, reason):
    b = shared_berth
    ticket, _ = b.login()
    pro, epi = body_fn()
    data = block(64 * 1024, b"bad")
    up = Upload(b, head_for(b, len(pro) + len(data) + len(epi), ticket=ticket),
                [pro, data, epi], timeout=30)
    assert up.response.status == 500, up.response.status_line
    assert up.response.reason == reason
    assert_upload_dir_empty(b)
    assert not os.path.exists(iso_path(b, "a.iso"))


def test_full_upload_disk_gives_500_with_the_reason_and_frees_the_space():
    require_root()
    root = make_root()
    upload = os.path.join(root, "upload")
    os.makedirs(upload)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", upload], check=True)
    b = Berth(root)
    try:
        b.start()
        setup_admin(b)
        ticket, _ = b.login()
        pro, epi = multipart_parts({"content": "iso"}, "full.iso")
        size = 8 * MIB
        up = Upload(b, head_for(b, len(pro) + size + len(epi), ticket=ticket),
                    file_chunks(pro, size, epi), timeout=60)
        assert up.response.status == 500, up.response.status_line
        assert up.response.reason == "error writing upload: No space left on device"
        # the unlinked file is gone with its descriptor
        wait_for(lambda: shutil.disk_usage(upload).used < 512 * 1024, 10,
                 "the upload's space to be freed")
    finally:
        b.stop()
        subprocess.run(["umount", upload], check=False)
        stop_and_check([b])


# ---- end to end with real clients ----

def test_proxmoxer_upload_lands_in_storage(shared_berth, tmp_path):
    b = shared_berth
    data = block(2 * MIB + 3, b"proxmoxer")
    path = tmp_path / "proxmoxer-upload.iso"
    path.write_bytes(data)
    api = b.api()
    with open(path, "rb") as f:
        upid = api.nodes(b.node).storage("local").upload.post(content="iso", filename=f)
    assert UPID_RE.match(upid)
    assert upid.split(":")[5] == "imgcopy"
    st = b.wait_task(upid)
    assert st["exitstatus"] == "OK"
    content = api.nodes(b.node).storage("local").content.get(content="iso")
    entry = next(c for c in content if c["volid"] == "local:iso/proxmoxer-upload.iso")
    assert entry["size"] == len(data)
    assert sha256_file(iso_path(b, "proxmoxer-upload.iso")) == hashlib.sha256(data).hexdigest()


def test_requests_upload_with_checksum_is_verified(shared_berth):
    import requests
    import urllib3
    urllib3.disable_warnings()
    b = shared_berth
    ticket, _ = b.login()
    data = block(MIB + 5, b"checksum")
    url = b.url + upload_path(b)
    good = hashlib.sha256(data).hexdigest()
    r = requests.post(url, cookies={"PVEAuthCookie": ticket}, verify=False, timeout=60,
                      data={"content": "iso", "checksum-algorithm": "sha256", "checksum": good},
                      files={"filename": ("checked.iso", data)})
    assert r.status_code == 200, r.reason
    st = b.wait_task(r.json()["data"])
    assert st["exitstatus"] == "OK"
    assert sha256_file(iso_path(b, "checked.iso")) == good

    bad = hashlib.sha256(b"something else").hexdigest()
    r = requests.post(url, cookies={"PVEAuthCookie": ticket}, verify=False, timeout=60,
                      data={"content": "iso", "checksum-algorithm": "sha256", "checksum": bad},
                      files={"filename": ("mismatch.iso", data)})
    assert r.status_code == 200, r.reason
    st = b.wait_task(r.json()["data"])
    assert st["exitstatus"] != "OK"
    assert not os.path.exists(iso_path(b, "mismatch.iso"))
    assert_upload_dir_empty(b)


def test_api_token_upload_needs_no_csrf(shared_berth):
    import requests
    import urllib3
    urllib3.disable_warnings()
    b = shared_berth
    tokenid, secret = b.add_token(ADMIN, "upl", privsep=0)
    data = block(100 * 1024, b"token")
    r = requests.post(b.url + upload_path(b), verify=False, timeout=60,
                      headers={"Authorization": f"PVEAPIToken={tokenid}={secret}"},
                      data={"content": "iso"}, files={"filename": ("token.iso", data)})
    assert r.status_code == 200, r.reason
    st = b.wait_task(r.json()["data"])
    assert st["exitstatus"] == "OK"
    assert st["user"] == ADMIN and st["tokenid"] == "upl"
