"""Hostile requests against the HTTPS proxy over raw TLS sockets (security.md B1, L3; PVE's
limits: 64 header lines, 8 KiB of headers, 512 KiB body): each gets a 4xx (or a closed
connection where no answer is possible) and the daemon keeps serving."""
import socket
import ssl
import threading
import time

import pytest

from conftest import HttpResponse, read_response, wait_for

GOOD = b"GET /api2/json/access/domains HTTP/1.1\r\nHost: localhost\r\n"
POST = b"POST /api2/json/access/ticket HTTP/1.1\r\nHost: localhost\r\n"
MAX_BODY = 512 * 1024


def assert_serving(b):
    t0 = time.monotonic()
    r = b.request("GET", "/api2/json/access/domains")
    assert r.status == 200, r.status_line
    assert time.monotonic() - t0 < 2


def hostile(b, data, status, reason=None, timeout=15):
    r = b.raw(data, timeout)
    assert r.status == status, (r.status_line, data[:120])
    if reason is not None:
        assert r.reason == reason
    assert r.headers.get("connection", "").lower() == "close"
    assert_serving(b)
    return r


def headers(n, prefix=b"X-Filler"):
    return b"".join(b"%s-%d: v\r\n" % (prefix, i) for i in range(n))


# ---- header limits ----

def test_64_header_lines_are_accepted(shared_berth):
    r = shared_berth.raw(GOOD + headers(63) + b"\r\n")  # Host + 63 = 64
    assert r.status == 200, r.status_line


def test_65_header_lines_are_rejected_with_431(shared_berth):
    hostile(shared_berth, GOOD + headers(64) + b"\r\n", 431)


def test_thousands_of_header_lines_are_rejected(shared_berth):
    hostile(shared_berth, GOOD + b"a: b\r\n" * 5000 + b"\r\n", 431)


def test_headers_just_under_8_kib_are_accepted(shared_berth):
    head = GOOD + b"X-Pad: "
    pad = 8000 - len(head) - 4
    r = shared_berth.raw(head + b"p" * pad + b"\r\n\r\n")
    assert r.status == 200, r.status_line


def test_headers_over_8_kib_are_rejected_with_431(shared_berth):
    hostile(shared_berth, GOOD + b"X-Pad: " + b"p" * 8300 + b"\r\n\r\n", 431)


def test_many_medium_headers_over_8_kib_total_are_rejected(shared_berth):
    hostile(shared_berth, GOOD + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 200) for i in range(50))
            + b"\r\n", 431)


def test_over_long_request_target_is_rejected(shared_berth):
    r = hostile(shared_berth, b"GET /api2/json/access/domains?" + b"a" * 9000 +
                b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)
    assert r.body == b""


# ---- body limits and framing ----

def test_body_of_512_kib_is_not_refused_for_its_size(shared_berth):
    b = shared_berth
    body = b"username=x%40pve&password="
    body += b"p" * (MAX_BODY - len(body))
    r = b.raw(POST + b"Content-Length: %d\r\n\r\n" % len(body) + body, timeout=30)
    assert r.status not in (0, 413), r.status_line
    assert r.status == 401  # it reached the login: wrong password
    assert_serving(b)


def test_body_over_512_kib_is_rejected_with_413(shared_berth):
    body = b"a" * (MAX_BODY + 1)
    hostile(shared_berth, POST + b"Content-Length: %d\r\n\r\n" % len(body) + body, 413)


def test_huge_declared_content_length_is_rejected_before_the_body(shared_berth):
    hostile(shared_berth, POST + b"Content-Length: 99999999999\r\n\r\n", 413)


def test_chunked_body_over_512_kib_is_rejected_with_413(shared_berth):
    chunk = b"a" * 65536
    data = POST + b"Transfer-Encoding: chunked\r\n\r\n"
    data += (b"10000\r\n" + chunk + b"\r\n") * 9 + b"0\r\n\r\n"
    hostile(shared_berth, data, 413)


def test_chunked_body_within_limits_is_accepted(shared_berth):
    b = shared_berth
    body = b"username=nobody%40pve&password=x"
    data = POST + b"Transfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded" \
        b"\r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    r = b.raw(data)
    assert r.status == 401, r.status_line
    assert r.reason == "authentication failure"


def test_content_length_and_transfer_encoding_together_are_rejected(shared_berth):
    """Request smuggling guard (CL.TE / TE.CL)."""
    hostile(shared_berth, POST + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"0\r\n\r\n", 400, "both Content-Length and Transfer-Encoding")
    hostile(shared_berth, POST + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
            b"0\r\n\r\n", 400, "both Content-Length and Transfer-Encoding")


def test_repeated_content_length_is_rejected(shared_berth):
    hostile(shared_berth, POST + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400)


@pytest.mark.parametrize("value", [b"abc", b"-1", b"1,2", b"+5", b" ", b"0x10"])
def test_malformed_content_length_is_rejected(shared_berth, value):
    hostile(shared_berth, POST + b"Content-Length: " + value + b"\r\n\r\n", 400)


@pytest.mark.parametrize("value", [b"gzip", b"chunked, identity", b"xchunked", b"identity"])
def test_unsupported_transfer_encodings_are_refused(shared_berth, value):
    r = hostile(shared_berth, POST + b"Transfer-Encoding: " + value + b"\r\n\r\n0\r\n\r\n", 501)
    assert r.body == b""


def test_malformed_chunk_size_is_rejected(shared_berth):
    hostile(shared_berth, POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400)


# ---- CR, LF, NUL and other bytes ----

@pytest.mark.parametrize("name,data", [
    ("CR inside a value", GOOD + b"X-A: a\rb\r\n\r\n"),
    ("LF inside a value", GOOD + b"X-A: a\nInjected: b\r\n\r\n"),
    ("NUL inside a value", GOOD + b"X-A: a\x00b\r\n\r\n"),
    ("DEL inside a value", GOOD + b"X-A: a\x7fb\r\n\r\n"),
    ("bare LF line endings", b"GET /api2/json/access/domains HTTP/1.1\nHost: x\n\n"),
    ("obsolete line folding", GOOD + b"X-A: a\r\n b\r\n\r\n"),
    ("space before the colon", GOOD + b"X-A : b\r\n\r\n"),
    ("header line without colon", GOOD + b"NoColonHere\r\n\r\n"),
    ("invalid header name", GOOD + b"X(A): b\r\n\r\n"),
    ("NUL in the target", b"GET /api2/json/access/dom\x00ains HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("CR in the target", b"GET /api2/json/access/\rdomains HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("space in the target", b"GET /api2/json/access/ domains HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("encoded NUL in the path", b"GET /api2/json/access/dom%00ains HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("invalid UTF-8 in the path", b"GET /api2/json/access/dom%FFains HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("absolute-form target",
     b"GET https://evil.example/api2/json/access/domains HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("authority-form target", b"CONNECT evil.example:443 HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("asterisk target", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("missing Host", b"GET /api2/json/access/domains HTTP/1.1\r\n\r\n"),
    ("two Host headers", GOOD + b"Host: other\r\n\r\n"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_malformed_request_heads_are_rejected_with_400(shared_berth, name, data):
    r = hostile(shared_berth, data, 400)
    assert "content-type" not in r.headers


def test_crlf_injected_header_does_not_reach_the_api(shared_berth):
    """A CR/LF smuggled into a value must not become a Cookie or Authorization header."""
    b = shared_berth
    ticket, _ = b.login()
    data = (b"GET /api2/json/nodes HTTP/1.1\r\nHost: x\r\nX-A: a\nCookie: PVEAuthCookie="
            + ticket.encode() + b"\r\n\r\n")
    r = b.raw(data)
    assert r.status == 400
    assert b"itnode" not in r.body


@pytest.mark.parametrize("data,status", [
    (b"FOO /api2/json/access/domains HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"get /api2/json/access/domains HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"A" * 40 + b" /api2/json/access/domains HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"GET /api2/json/access/domains HTTP/2.7\r\nHost: x\r\n\r\n", 505),
    (b"GET /api2/json/access/domains\r\nHost: x\r\n\r\n", 400),
])
def test_unknown_methods_and_versions_are_refused(shared_berth, data, status):
    hostile(shared_berth, data, status)


def test_plain_http_on_the_tls_port_is_dropped(shared_berth):
    b = shared_berth
    with socket.create_connection(("127.0.0.1", b.port), timeout=15) as s:
        s.sendall(GOOD + b"\r\n")
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    assert b"HTTP/1.1 200" not in data
    assert_serving(b)


def test_random_bytes_after_the_tls_handshake_get_400_or_close(shared_berth):
    import random
    b = shared_berth
    rnd = random.Random(1234)
    for _ in range(20):
        junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300))) + b"\r\n\r\n"
        r = b.raw(junk)
        assert r.status == 0 or 400 <= r.status < 600, (r.status_line, junk[:40])
    assert_serving(b)


# ---- connections ----

def test_keep_alive_connection_serves_pipelined_requests(shared_berth):
    b = shared_berth
    s = b.tls_socket()
    try:
        s.sendall(GOOD + b"\r\n" + GOOD + b"\r\n")
        first = HttpResponse(read_response_keep(s))
        second = HttpResponse(read_response_keep(s))
    finally:
        s.close()
    assert first.status == 200 and second.status == 200
    assert first.json() == second.json()


def read_response_keep(s):
    """Read exactly one Content-Length framed response from a kept-alive socket."""
    buf = getattr(s, "_pending", b"")
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        assert chunk, "connection closed early"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        assert chunk, "connection closed early"
        rest += chunk
    s._pending = rest[length:]
    return head + b"\r\n\r\n" + rest[:length]


def test_error_response_closes_the_connection(shared_berth):
    b = shared_berth
    s = b.tls_socket()
    try:
        s.sendall(GOOD + b"X-A: a\rb\r\n\r\n" + GOOD + b"\r\n")
        r = HttpResponse(read_response(s))
        assert r.status == 400
        s.settimeout(5)
        rest = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                rest += chunk
        except (ssl.SSLError, ConnectionResetError):
            pass
    finally:
        s.close()
    assert b"HTTP/1.1 200" not in rest  # the pipelined request after the error is not served


def slow_client(b, results, idx, started):
    """A slowloris: a TLS client whose request head never completes; one header byte a
    second. Records when the server dropped it (or None)."""
    try:
        s = b.tls_socket(timeout=1)
    except OSError:
        results[idx] = ("connect-failed", 0)
        return
    t0 = time.monotonic()
    started.release()
    try:
        s.sendall(b"GET /api2/json/access/domains HTTP/1.1\r\nHost: x\r\n")
        while time.monotonic() - t0 < 30:
            try:
                s.sendall(b"X")
            except (OSError, ssl.SSLError):
                results[idx] = ("closed", time.monotonic() - t0)
                return
            try:
                data = s.recv(4096)
                status_line = data.split(b"\r\n", 1)[0].decode("latin-1")
                results[idx] = (status_line if data else "closed", time.monotonic() - t0)
                return
            except socket.timeout:
                continue
            except (OSError, ssl.SSLError):
                results[idx] = ("closed", time.monotonic() - t0)
                return
        results[idx] = ("still open", time.monotonic() - t0)
    finally:
        s.close()


def test_slowloris_clients_are_dropped_while_normal_clients_are_served(shared_berth):
    b = shared_berth
    n = 30
    results = [None] * n
    started = threading.Semaphore(0)
    threads = [threading.Thread(target=slow_client, args=(b, results, i, started), daemon=True)
               for i in range(n)]
    for t in threads:
        t.start()
    for _ in range(n):
        assert started.acquire(timeout=20), "slow clients could not connect"
    # idle TCP connections that never even start TLS
    idle = [socket.create_connection(("127.0.0.1", b.port), timeout=20) for _ in range(10)]
    try:
        latencies = []
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            assert b.request("GET", "/api2/json/access/domains").status == 200
            latencies.append(time.monotonic() - t0)
        assert max(latencies) < 1.0, latencies
        for t in threads:
            t.join(40)
        for i, res in enumerate(results):
            assert res is not None, i
            what, when = res
            assert what in ("closed", "HTTP/1.1 408 Request Timeout"), res
            assert when < 25, res
        for s in idle:
            s.settimeout(20)
            try:
                assert s.recv(1) == b""
            except ConnectionResetError:
                pass
    finally:
        for s in idle:
            s.close()
    assert_serving(b)


def test_many_hostile_requests_in_a_row_leave_the_daemon_healthy(shared_berth):
    b = shared_berth
    bad = [GOOD + headers(70) + b"\r\n", GOOD + b"X: " + b"x" * 9000 + b"\r\n\r\n",
           POST + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
           GOOD + b"X-A: a\rb\r\n\r\n", b"\x00\x01\x02\r\n\r\n"]
    for i in range(60):
        r = b.raw(bad[i % len(bad)])
        assert r.status == 0 or r.status >= 400
    wait_for(lambda: b.request("GET", "/api2/json/access/domains").status == 200, 5,
             "the proxy to answer")
    assert b.proc.poll() is None


# ---- static files and other request shapes ----

@pytest.mark.parametrize("target", [
    b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    b"/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", b"/..%2f..%2f..%2fetc/passwd",
    b"/index.html/../../../etc/passwd", b"//etc/passwd", b"/%00index.html",
])
def test_static_file_paths_cannot_leave_the_web_root(shared_berth, target):
    r = shared_berth.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert 400 <= r.status < 500, (target, r.status_line)
    assert b"root:" not in r.body
    assert_serving(shared_berth)


def test_expect_100_continue_is_honoured(shared_berth):
    b = shared_berth
    body = b"username=nobody%40pve&password=x"
    s = b.tls_socket()
    try:
        s.sendall(POST + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
        interim = s.recv(4096)
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n"), interim
        s.sendall(body)
        r = HttpResponse(read_response(s))
    finally:
        s.close()
    assert r.status == 401
    assert r.reason == "authentication failure"


def test_expect_100_continue_with_an_oversized_body_is_refused_before_the_body(shared_berth):
    b = shared_berth
    s = b.tls_socket()
    try:
        s.sendall(POST + b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1))
        r = HttpResponse(read_response(s))
    finally:
        s.close()
    assert r.status == 413
    assert_serving(b)
