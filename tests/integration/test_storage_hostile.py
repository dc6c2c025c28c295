"""Hostile input to the storage API: file names, volume ids and storage ids that try to
leave the storage, control characters, over-long names, and storage definitions that would
point anywhere or corrupt storage.cfg. Each must be refused (400 or a clear error) and leave
nothing behind outside the storage (checked on the filesystem)."""
import os
import re
import urllib.parse

import pytest

from conftest import NODE


# ---- helpers ----

IGNORE_TOP = {"config.db", "config.db-wal", "config.db-shm", "berthd-test.log", "run",
              "tasks", "priv"}


def tree(root):
    """Every path under root except the daemon's own bookkeeping, with sizes."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == ".":
            dirnames[:] = [d for d in dirnames if d not in IGNORE_TOP]
            filenames = [f for f in filenames if f not in IGNORE_TOP]
        for d in dirnames:
            out[os.path.normpath(os.path.join(rel, d)) + "/"] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            try:
                out[os.path.normpath(os.path.join(rel, f))] = os.lstat(p).st_size
            except OSError:
                pass
    return out


HOST_TARGETS = ["/etc/x.qcow2", "/etc/x.raw", "/x.qcow2", "/tmp/x.qcow2", "/etc/passwd.qcow2"]


STANDARD_SUBDIR = re.compile(
    r"storage/[^/]+/(dump|images|snippets|import|template|template/iso|template/cache)/")


class Guard:
    """Snapshot of the daemon root and of host paths a traversal might reach."""

    def __init__(self, b):
        self.b = b
        self.before = tree(b.root)
        self.host = {p: os.path.exists(p) for p in HOST_TARGETS}
        self.passwd = open("/etc/passwd", "rb").read()
        self.cfg = b.store_files().get("storage.cfg")

    def check(self, allow=()):
        after = tree(self.b.root)
        new = sorted(set(after) - set(self.before) - set(allow))
        # activating a storage makes its standard subdirectories (create-subdirs); the
        # metrics sampler writes its round-robin files under rrd/ every 10 s
        new = [p for p in new if not STANDARD_SUBDIR.fullmatch(p) and not p.startswith("rrd/")]
        gone = sorted(set(self.before) - set(after))
        assert not new, f"new files: {new}"
        assert not gone, f"files removed: {gone}"
        for p, existed in self.host.items():
            assert os.path.exists(p) == existed, p
        assert open("/etc/passwd", "rb").read() == self.passwd
        assert self.b.store_files().get("storage.cfg") == self.cfg


@pytest.fixture(scope="module")
def hb(shared_berth):
    """The shared daemon with one allocated volume on local and an outside sentinel."""
    b = shared_berth
    local = os.path.join(b.root, "storage", "local")
    if not os.path.exists(os.path.join(local, "images", "100", "vm-100-disk-0.qcow2")):
        b.admin().data("POST", f"/nodes/{NODE}/storage/local/content",
                       {"vmid": 100, "filename": "vm-100-disk-0.qcow2", "size": "1M"})
        for sub in ("template/iso", "template/cache"):
            os.makedirs(os.path.join(local, sub), exist_ok=True)
        # files a traversal from inside the storage could reach
        with open(os.path.join(b.root, "sentinel.raw"), "wb") as f:
            f.write(b"S" * 4096)
        with open(os.path.join(b.root, "storage", "sentinel.iso"), "wb") as f:
            f.write(b"S" * 2048)
        os.makedirs(os.path.join(local, "images", "100", "sub"), exist_ok=True)
    return b


def alloc_raw(b, filename_enc, vmid="100", size="1M"):
    """POST content with a form body built by hand (filename already URL-encoded)."""
    body = f"vmid={vmid}&filename={filename_enc}&size={size}"
    return b.request("POST", f"/api2/json/nodes/{NODE}/storage/local/content", body,
                     dict(b.admin().headers("POST"),
                          **{"Content-Type": "application/x-www-form-urlencoded"}))


def refused(r, what):
    assert 400 <= r.status < 600 and r.status != 501, (what, r.status_line, r.body[:300])
    assert r.status != 200
    # never a daemon crash (connection reset/empty answer)
    assert r.status_line.startswith("HTTP/1.1 "), (what, r.raw[:200])


# ---- file names on allocation ----

BAD_FILENAMES = [
    "../../etc/x.qcow2",
    "../../../../../../etc/x.qcow2",
    "/etc/passwd",
    "/etc/x.qcow2",
    "/tmp/x.qcow2",
    "vm-100-disk-0.qcow2\n",
    "vm-100-disk-1.qcow2\r\nX: y",
    "vm-100-disk-1\n.qcow2",
    "..",
    ".",
    "",
    "vm-100-disk-1.qcow2/..",
    "sub/vm-100-disk-1.qcow2",
    "vm-100-disk-" + "a" * 290 + ".qcow2",
    "vm-100-disk-1.qcow2 ",
    " vm-100-disk-1.qcow2",
    ".vm-100-disk-1.qcow2",
    "vm-100-disk-1,size=1.qcow2",
    "vm-100-disk-1.qcow2;rm -rf",
    "vm-100-disk-1.qcow2\\..\\x",
    "vm-100-disk-\u00e9.qcow2",
    "vm-100-disk-1.exe",
    "vm-100-disk-1",
]


@pytest.mark.parametrize("name", BAD_FILENAMES, ids=repr)
def test_bad_filename_is_refused(hb, name):
    g = Guard(hb)
    r = alloc_raw(hb, urllib.parse.quote(name, safe=""))
    refused(r, name)
    assert r.status == 400, (name, r.status_line)
    g.check()


@pytest.mark.parametrize("enc", [
    "vm-100-disk-1.qcow2%00",
    "vm-100-disk-1.qcow2%00.raw",
    "%00vm-100-disk-1.qcow2",
    "..%2F..%2Fetc%2Fx.qcow2",
    "%2e%2e%2f%2e%2e%2fetc%2fx.qcow2",
    "%252e%252e%252fx.qcow2",
    "..%5cx.qcow2",
    "vm-100-disk-1.qcow2%0a",
    "vm-100-disk-1.qcow2%0d",
    "vm-100-disk-1%ff.qcow2",
], ids=repr)
def test_encoded_bad_filename_is_refused(hb, enc):
    g = Guard(hb)
    r = alloc_raw(hb, enc)
    refused(r, enc)
    assert r.status == 400, (enc, r.status_line)
    g.check()


def test_nul_in_the_url_path_and_query(hb):
    g = Guard(hb)
    h = hb.admin().headers("GET")
    for url in (f"/api2/json/nodes/{NODE}/storage/local%00/content",
                f"/api2/json/nodes/{NODE}/storage/local/content/local:100%2Fvm-100-disk-0.qcow2"
                "%00.raw",
                f"/api2/json/nodes/{NODE}/storage/local/content?content=images%00",
                f"/api2/json/nodes/{NODE}/storage/local/content?vmid=100%00"):
        r = hb.request("GET", url, headers=h)
        refused(r, url)
        assert r.status == 400, (url, r.status_line)
    g.check()


@pytest.mark.parametrize("vmid", ["0", "99", "-1", "1000000000", "100/../..", "abc", "100 "])
def test_bad_vmid_on_allocation(hb, vmid):
    g = Guard(hb)
    r = alloc_raw(hb, "vm-100-disk-1.qcow2", vmid=urllib.parse.quote(vmid, safe=""))
    assert r.status == 400, (vmid, r.status_line)
    g.check()


@pytest.mark.parametrize("size", ["1M/../../x", "1M%0a", "99999999999999999999999G",
                                  "18446744073709551615G", "0"])
def test_bad_or_huge_size_on_allocation(hb, size):
    g = Guard(hb)
    r = alloc_raw(hb, "vm-100-disk-1.raw", size=size)
    refused(r, size)
    if size == "0":
        # PVE allows 0-sized images? it does not ("size may not be zero"); either way no leak
        if r.status == 200:
            pytest.fail("a zero-sized image was allocated")
    g.check()


# ---- volume ids ----

BAD_VOLUMES = [
    "local:../../etc/passwd",
    "local:iso/../../x",
    "local:iso/../../../sentinel.raw",
    "local:100/../../../etc/shadow",
    "local:100/../../../sentinel.raw",
    "local:/etc/passwd",
    "local:/etc/shadow",
    "local:100/vm-100-disk-0.qcow2/../../../../sentinel.raw",
    "local:100/sub/../vm-100-disk-0.qcow2",
    "local:iso/.",
    "local:iso/..",
    "local:iso/../sentinel.iso",
    "local:vztmpl/../../sentinel.iso",
    "local:snippets/../../../sentinel.raw",
    "local:backup/../../../sentinel.raw",
    "local:import/../../../sentinel.raw",
    "local:100/vm-100-disk-0.qcow2\n",
    "local:",
    "local:..",
    "../../etc/passwd",
    "/etc/passwd",
    "..",
    "local:100/" + "a" * 300 + ".qcow2",
]


def vol_urls(vol):
    base = f"/api2/json/nodes/{NODE}/storage/local/content/"
    yield base + urllib.parse.quote(vol, safe="")       # fully encoded
    yield base + urllib.parse.quote(vol, safe="/:")     # raw '/' and ':'
    yield base + vol.replace(".", "%2e").replace("/", "%2f").replace("\n", "%0a")


@pytest.mark.parametrize("vol", BAD_VOLUMES, ids=repr)
def test_bad_volume_id_get(hb, vol):
    g = Guard(hb)
    h = hb.admin().headers("GET")
    for url in vol_urls(vol):
        r = hb.request("GET", url, headers=h)
        refused(r, url)
        # the error may echo the name; it must never carry a path or file content
        assert b'"path"' not in r.body and b"root:" not in r.body, url
        assert b"SSSS" not in r.body, url
        if r.status == 200:
            pytest.fail(f"{url}: {r.body[:300]!r}")
    g.check()


@pytest.mark.parametrize("vol", BAD_VOLUMES, ids=repr)
def test_bad_volume_id_delete(hb, vol):
    g = Guard(hb)
    h = hb.admin().headers("DELETE")
    for url in vol_urls(vol):
        r = hb.request("DELETE", url, headers=h)
        if r.status == 200:
            # a task: it must fail and touch nothing
            st = hb.wait_task(r.json()["data"])
            assert st["exitstatus"] != "OK", (url, st)
        else:
            refused(r, url)
            assert r.status in (400, 500), (url, r.status_line)
    g.check()
    assert os.path.getsize(os.path.join(hb.root, "sentinel.raw")) == 4096


@pytest.mark.parametrize("vol", BAD_VOLUMES[:8], ids=repr)
def test_bad_volume_id_put(hb, vol):
    g = Guard(hb)
    h = hb.admin().headers("PUT")
    for url in vol_urls(vol):
        r = hb.request("PUT", url, "notes=pwned", dict(
            h, **{"Content-Type": "application/x-www-form-urlencoded"}))
        refused(r, url)
    g.check()


def test_empty_path_parts_collapse_within_the_storage(hb):
    """As in PVE (find_handler splits the path on '/+'), 'local:100//vm-…' names the same
    volume; it never leaves the storage."""
    g = Guard(hb)
    h = hb.admin().headers("GET")
    want = os.path.join(hb.root, "storage", "local", "images", "100", "vm-100-disk-0.qcow2")
    for vol in ("local%3A100%2F%2Fvm-100-disk-0.qcow2", "local:100//vm-100-disk-0.qcow2"):
        r = hb.request("GET", f"/api2/json/nodes/{NODE}/storage/local/content/{vol}",
                       headers=h)
        assert r.status in (200, 400), r.status_line
        if r.status == 200:
            assert r.json()["data"]["path"] == want
    g.check()


def test_path_dot_segments_do_not_escape_the_route(hb):
    """Raw '..' path segments in the URL: the server must not resolve them into another
    storage's or the host's files."""
    g = Guard(hb)
    h = hb.admin().headers("GET")
    for url in (f"/api2/json/nodes/{NODE}/storage/local/content/../../../../etc/passwd",
                f"/api2/json/nodes/{NODE}/storage/local/content/local:100/../../../../etc/passwd",
                f"/api2/json/nodes/{NODE}/storage/local/content/%2e%2e/%2e%2e/etc/passwd",
                f"/api2/json/nodes/{NODE}/storage/local/content/local:iso%2f%2e%2e%2f%2e%2e%2f"
                "sentinel.raw"):
        r = hb.request("GET", url, headers=h)
        assert r.status != 200 or b"root:" not in r.body, url
        assert b"root:x:" not in r.body and b"SSSS" not in r.body, url
    g.check()


def test_symlink_in_storage_is_not_followed_out_for_delete(hb):
    """A volume that is a symlink to a host file: deleting it removes at most the link."""
    b = hb
    iso_dir = os.path.join(b.root, "storage", "local", "template", "iso")
    link = os.path.join(iso_dir, "link.iso")
    target = os.path.join(b.root, "sentinel.raw")
    if not os.path.lexists(link):
        os.symlink(target, link)
    r = b.admin().delete(f"/nodes/{NODE}/storage/local/content/local:iso/link.iso")
    if r.status == 200:
        b.wait_task(r.json()["data"])
    assert os.path.exists(target) and os.path.getsize(target) == 4096


# ---- storage ids ----

BAD_SIDS = ["a/b", "..", "../x", "x/..", ".x", "a b", "a\nb", "1abc", "a", "-ab", "ab-",
            "a" * 200, "loc%al", "local:", "ab\x00c"]


@pytest.mark.parametrize("sid", BAD_SIDS, ids=repr)
def test_bad_storage_id_on_create(hb, sid):
    g = Guard(hb)
    body = urllib.parse.urlencode({"storage": sid, "type": "dir",
                                   "path": os.path.join(hb.root, "badsid")})
    r = hb.request("POST", "/api2/json/storage", body, dict(
        hb.admin().headers("POST"), **{"Content-Type": "application/x-www-form-urlencoded"}))
    refused(r, sid)
    assert r.status == 400, (sid, r.status_line)
    assert not os.path.exists(os.path.join(hb.root, "badsid"))
    g.check()


@pytest.mark.parametrize("sid", ["..", "..%2F..%2Fetc", "a%2Fb", "%2e%2e", "local%00",
                                 "local%0a", "local%2F..%2F..", "a" * 200])
def test_bad_storage_id_in_urls(hb, sid):
    g = Guard(hb)
    h = hb.admin().headers("GET")
    for url in (f"/api2/json/storage/{sid}",
                f"/api2/json/nodes/{NODE}/storage/{sid}/status",
                f"/api2/json/nodes/{NODE}/storage/{sid}/content",
                f"/api2/json/nodes/{NODE}/storage/{sid}"):
        r = hb.request("GET", url, headers=h)
        assert r.status != 200, (url, r.status_line)
        assert r.status_line.startswith("HTTP/1.1 ")
    for method in ("PUT", "DELETE"):
        r = hb.request(method, f"/api2/json/storage/{sid}",
                       "shared=1" if method == "PUT" else None,
                       dict(hb.admin().headers(method),
                            **{"Content-Type": "application/x-www-form-urlencoded"}))
        assert r.status != 200, (method, sid, r.status_line)
    r = hb.request("POST", f"/api2/json/nodes/{NODE}/storage/{sid}/content",
                   "vmid=100&filename=vm-100-disk-5.raw&size=1M",
                   dict(hb.admin().headers("POST"),
                        **{"Content-Type": "application/x-www-form-urlencoded"}))
    assert r.status != 200, (sid, r.status_line)
    g.check()


# ---- storage definitions ----

def post_storage(b, fields):
    body = urllib.parse.urlencode(fields)
    return b.request("POST", "/api2/json/storage", body, dict(
        b.admin().headers("POST"), **{"Content-Type": "application/x-www-form-urlencoded"}))


@pytest.mark.parametrize("path", [
    "{root}/a/../b", "{root}/..", "{root}/a/..", "/..", "../x", "rel/x", "x", "",
    "./x", "{root}/./y", "{root}/a\nb", "{root}/a\rb", "~/x", "{root}/a\x00b",
    "{root}/" + "p" * 5000,
], ids=repr)
def test_bad_path_on_create(hb, path):
    path = path.format(root=hb.root)
    g = Guard(hb)
    r = post_storage(hb, {"storage": "badpath", "type": "dir", "path": path})
    refused(r, path)
    assert r.status == 400, (path, r.status_line)
    g.check()
    assert not any(e["storage"] == "badpath" for e in hb.admin().data("GET", "/storage"))


@pytest.mark.parametrize("key,value", [
    ("content", "images\niso"),
    ("content", "images\r\n"),
    ("nodes", f"{NODE}\ndir: evil\n\tpath /"),
    ("prune-backups", "keep-last=1\ndir: evil"),
    ("prune-backups", "keep-last=1\r"),
    ("bwlimit", "1\n\tpath /etc"),
    ("is_mountpoint", "yes\n\tpath /etc"),
    ("format", "qcow2\n"),
    ("preallocation", "off\n"),
    ("path", "{root}/crlf\r\n\tpath /etc"),
    ("storage", "crlf\ndir: evil"),
])
def test_line_breaks_in_any_value_are_refused(hb, key, value):
    value = value.format(root=hb.root)
    g = Guard(hb)
    fields = {"storage": "crlf1", "type": "dir", "path": os.path.join(hb.root, "crlf1")}
    fields[key] = value
    r = post_storage(hb, fields)
    refused(r, (key, value))
    assert r.status == 400, (key, value, r.status_line)
    g.check()
    assert "evil" not in hb.store_files()["storage.cfg"].decode()
    assert not os.path.exists(os.path.join(hb.root, "crlf1"))


@pytest.mark.parametrize("key,value", [
    ("content", "iso\n"),
    ("nodes", f"{NODE}\ndir: evil2\n\tpath /"),
    ("prune-backups", "keep-all=1\ndir: evil2"),
    ("bwlimit", "\n\tpath /etc"),
    ("is_mountpoint", "1\nx"),
])
def test_line_breaks_on_update_are_refused(hb, key, value):
    b = hb
    if not any(e["storage"] == "updcrlf" for e in b.admin().data("GET", "/storage")):
        b.admin().data("POST", "/storage", {"storage": "updcrlf", "type": "dir",
                                            "path": os.path.join(b.root, "updcrlf")})
    g = Guard(b)
    body = urllib.parse.urlencode({key: value})
    r = b.request("PUT", "/api2/json/storage/updcrlf", body, dict(
        b.admin().headers("PUT"), **{"Content-Type": "application/x-www-form-urlencoded"}))
    refused(r, (key, value))
    assert r.status == 400, (key, value, r.status_line)
    g.check()
    assert "evil2" not in b.store_files()["storage.cfg"].decode()


@pytest.mark.parametrize("field,value", [
    ("content", "images,bogus"), ("content", "../images"), ("content", "IMAGES"),
    ("content", "images;rm"), ("format", "vhdx"), ("format", "../raw"),
    ("type", "../dir"), ("type", "nfs"), ("shared", "2"), ("shared", "true"),
    ("disable", "yes\n"), ("max-protected-backups", "-2"), ("nodes", "bad node!"),
    ("preallocation", "sparse"),
])
def test_bad_property_values_on_create(hb, field, value):
    g = Guard(hb)
    fields = {"storage": "badval", "type": "dir", "path": os.path.join(hb.root, "badval")}
    fields[field] = value
    r = post_storage(hb, fields)
    assert r.status == 400, (field, value, r.status_line)
    g.check()
    assert not os.path.exists(os.path.join(hb.root, "badval"))


@pytest.mark.parametrize("content", ["bogus", "../iso", "iso/../images", "ISO", "", "none"])
def test_unknown_content_type_in_queries(hb, content):
    g = Guard(hb)
    r = hb.admin().get(f"/nodes/{NODE}/storage/local/content", {"content": content})
    if content in ("", "none"):
        # "" is no filter in PVE; "none" is not in the enum
        assert r.status in (200, 400), r.status_line
    else:
        assert r.status == 400, (content, r.status_line)
    r = hb.admin().get(f"/nodes/{NODE}/storage", {"content": content})
    if content not in ("", "none"):
        assert r.status == 400, (content, r.status_line)
    g.check()


def test_hostile_guest_config_does_not_confuse_the_removal_guard(hb):
    """Hundreds of config files and huge lines: the guard stays correct and the daemon
    survives."""
    import test_storage_api as api
    b = hb
    b.admin().data("POST", "/storage", {"storage": "guardx", "type": "dir",
                                        "path": os.path.join(b.root, "guardx")})
    api.store_put(b, f"nodes/{NODE}/qemu-server/900.conf",
                  "description: " + "guardx:" * 50000 + "\nscsi0: local:900/vm-900-disk-0.raw\n")
    api.store_put(b, f"nodes/{NODE}/lxc/901.conf", "\x00\xff" * 1000)
    r = b.admin().delete("/storage/guardx")
    # a description that merely mentions the storage id (no ' ', '=' or ',' before it) ...
    assert r.status in (200, 400), r.status_line
    assert b.admin().data("GET", "/version")
    api.store_del(b, f"nodes/{NODE}/qemu-server/900.conf")
    api.store_del(b, f"nodes/{NODE}/lxc/901.conf")


# ---- uploads (multipart) with hostile names ----

@pytest.fixture
def ub(berth):
    """A fresh daemon per upload test: an upload that crashes the daemon must not take the
    other tests down with it."""
    os.makedirs(os.path.join(berth.root, "storage", "local", "template", "iso"), exist_ok=True)
    return berth


def upload_raw(b, content, filename, data=b"DATA", field="filename", extra=()):
    boundary = "----berthtestboundary7MA4YWxkTrZu0gW"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="content"\r\n\r\n'
             f'{content}\r\n'.encode()]
    for k, v in extra:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                     f'{v}\r\n'.encode())
    fn = filename.encode() if isinstance(filename, str) else filename
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                 f'filename="'.encode() + fn +
                 b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    body = b"".join(parts)
    h = dict(b.admin().headers("POST"))
    h["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    return b.request("POST", f"/api2/json/nodes/{NODE}/storage/local/upload", body, h,
                     timeout=30)


def upload_result(b, r):
    """(status, exitstatus or None)."""
    if r.status != 200:
        return r.status, None
    return 200, b.wait_task(r.json()["data"])["exitstatus"]


def test_upload_plain_iso_works(ub):
    """The baseline the hostile uploads compare with."""
    r = upload_raw(ub, "iso", "plain-up.iso", b"ISO!" * 100)
    assert upload_result(ub, r) == (200, "OK"), r.status_line
    f = os.path.join(ub.root, "storage", "local", "template", "iso", "plain-up.iso")
    assert open(f, "rb").read() == b"ISO!" * 100


@pytest.mark.parametrize("name,lands_as", [
    ("../../../../up1.iso", "up1.iso"),
    ("/etc/up2.iso", "up2.iso"),
    ("..\\..\\up3.iso", "up3.iso"),
    ("a b;c$(id).iso", "a_b_c__id_.iso"),
])
def test_upload_name_is_normalized_into_the_storage(ub, name, lands_as):
    """PVE normalizes the upload name (last path part, unsafe characters as '_')."""
    g = Guard(ub)
    r = upload_raw(ub, "iso", name)
    status, exit_ = upload_result(ub, r)
    iso = os.path.join("storage", "local", "template", "iso", lands_as)
    if status == 200 and exit_ == "OK":
        assert os.path.exists(os.path.join(ub.root, iso)), r.status_line
        g.check(allow={iso})
        os.unlink(os.path.join(ub.root, iso))
    else:
        assert status in (200, 400, 500), r.status_line
        g.check()
    assert not os.path.exists("/etc/up2.iso")


@pytest.mark.parametrize("content,name", [
    ("iso", ".."),
    ("iso", "../.."),
    ("iso", "x.qcow2"),
    ("iso", ".hidden.iso"),
    ("vztmpl", "x.iso"),
    ("iso", "x" * 300 + ".iso"),
    ("images", "vm-100-disk-9.raw"),
    ("backup", "vzdump-qemu-100.vma"),
    ("snippets", "x.yaml"),
    ("../iso", "x.iso"),
])
def test_upload_bad_name_or_content_is_refused(ub, content, name):
    g = Guard(ub)
    r = upload_raw(ub, content, name)
    status, exit_ = upload_result(ub, r)
    assert status in (400, 500, 501) or exit_ != "OK", (content, name, r.status_line)
    g.check()


def test_upload_with_nul_or_newline_in_the_name(ub):
    for name in (b"x\x00.iso", b"x.iso\x00../../etc/y", b"x\r\n.iso"):
        g = Guard(ub)
        r = upload_raw(ub, "iso", name)
        status, exit_ = upload_result(ub, r)
        if status == 200 and exit_ == "OK":
            # normalized to something safe inside template/iso
            new = set(os.listdir(os.path.join(ub.root, "storage", "local", "template", "iso")))
            assert all("/" not in n and "\x00" not in n and "\n" not in n for n in new)
            g.check(allow={os.path.join("storage", "local", "template", "iso", n)
                           for n in new})
            for n in new:
                if n.startswith("x"):
                    os.unlink(os.path.join(ub.root, "storage", "local", "template", "iso", n))
        else:
            g.check()
        assert not os.path.exists("/etc/y")


def test_upload_checksum_mismatch_leaves_nothing(ub):
    g = Guard(ub)
    r = upload_raw(ub, "iso", "sum.iso", b"abc",
                   extra=[("checksum", "0" * 64), ("checksum-algorithm", "sha256")])
    # PVE's multipart order: content/checksum parts before the file
    status, exit_ = upload_result(ub, r)
    assert exit_ != "OK", (r.status_line, exit_)
    g.check()
