"""Hostile and malformed input to the container API (proxmox-api.md §2.3, §4.4; security.md §3,
§5.3 B4/B6/B7, §5.4 A2/A4): every bad create parameter is refused with 400 "Parameter
verification failed." naming the parameter (or PVE's status for permissions), CR/LF never
reaches a config, bind mounts are root's, mount targets and template members never lead onto
the host, and a refused or failed create leaves nothing behind — no config, no volume, no
<root>/lxc/<vmid> directory."""
import contextlib
import io
import itertools
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile

import pytest

from conftest import NODE
from ctlib import ct, ct_host  # noqa: F401 - fixtures

PW = "user-password"
_users = itertools.count(1)

HOSTILE_SHADOW = b"root:*:19000:0:99999:7:::"  # what the hostile templates carry


# ---- fixtures and helpers ----

@pytest.fixture(scope="module")
def ctb(ct_host):
    """The module's daemon with the busybox template (ctlib); returns (berth, template)."""
    return ct_host.b, ct_host.template


@pytest.fixture(scope="module")
def spare_vmids(ct_host):
    return []


@pytest.fixture
def vmid(ct, spare_vmids):
    """A vmid of this run's host-wide block (ctlib); whatever a test made under it is
    destroyed afterwards and must leave no cgroup, mount, loop device or veth. Most tests here
    create nothing, so the vmid goes back to the module's spares (a block has 99)."""
    n = spare_vmids.pop() if spare_vmids else ct.vmid()
    yield n
    ct.cleanup([n])
    spare_vmids.append(n)


def ct_exists(b, vmid):
    return b.admin().get(f"/nodes/{NODE}/lxc/{vmid}/config").status == 200


def volumes(b):
    return [e["volid"] for e in b.admin().data("GET", f"/nodes/{NODE}/storage/local/content")]


def assert_nothing_created(b, vmid):
    """The promise after a refused or failed create: no config, no volume, no lxc dir."""
    r = b.admin().get(f"/nodes/{NODE}/lxc/{vmid}/config")
    assert r.status == 500 and "does not exist" in r.reason, r.status_line
    assert not [v for v in volumes(b) if v.startswith(f"local:{vmid}/")], volumes(b)
    assert not os.path.exists(os.path.join(b.root, "lxc", str(vmid)))
    images = os.path.join(b.root, "storage", "local", "images", str(vmid))
    assert not os.path.isdir(images) or not os.listdir(images), os.listdir(images)


def assert_param_refused(r, key, *words):
    """400 Parameter verification failed. with key named in errors (and words in its text)."""
    assert r.status == 400, (key, r.status_line, r.body[:300])
    assert r.reason == "Parameter verification failed.", r.status_line
    errors = r.json()["errors"]
    assert key in errors, errors
    for w in words:
        assert w in errors[key], (w, errors)
    return errors[key]


def create(b, vmid, tmpl, session=None, **params):
    s = session or b.admin()
    return s.post(f"/nodes/{NODE}/lxc", {"vmid": vmid, "ostemplate": tmpl, **params})


def create_ok(b, vmid, tmpl, **params):
    r = create(b, vmid, tmpl, **params)
    assert r.status == 200, r.status_line
    st = b.wait_task(r.json()["data"], timeout=180)
    assert st["exitstatus"] == "OK", (st, task_log(b, st["upid"]))
    return st


def task_log(b, upid):
    return "\n".join(line["t"] for line in b.admin().data(
        "GET", f"/nodes/{NODE}/tasks/{upid}/log", {"limit": 0}))


@pytest.fixture(scope="module")
def stopped_ct(ct_host):
    """One stopped CT that permission and config-update tests act on (removed with the
    module's CTs)."""
    return ct_host.create(hostname="stopped", net0="name=eth0,ip=dhcp")


def config_of(b, vmid):
    return b.admin().data("GET", f"/nodes/{NODE}/lxc/{vmid}/config")


# ---- malformed parameters on create ----

MALFORMED = [
    # netN
    ("net0", "bridge=vmbr0,ip=dhcp", "name: property is missing"),
    ("net0", "name=eth0,ip=10.0.0.1", "ipv4 network configuration"),
    ("net0", "name=eth0,ip=10.0.0.1/33", "ipv4 network configuration"),
    ("net0", "name=eth0,ip=dhcp,ip6=fe80::1", "ipv6"),
    ("net0", "name=eth0,gw=10.0.0.1/24", "IPv4 address"),
    ("net0", "name=eth0,hwaddr=zz:00:00:00:00:00", "unicast MAC"),
    ("net0", "name=eth0,hwaddr=01:00:5E:00:00:01", "unicast MAC"),  # multicast (I/G bit)
    ("net0", "name=eth0,hwaddr=BC:24:11:00:00:0", "unicast MAC"),
    ("net0", "name=eth0,foo=bar", "invalid key"),
    ("net0", "name=eth0,name=eth1", "duplicate key"),
    ("net0", "name=eth0,tag=5000", "maximum"),
    ("net0", "name=eth0,mtu=10", "minimum"),
    ("net0", "name=../../x", "regex"),
    ("net0", "name=eth0,bridge=vmbr0;x", "bridge"),
    ("net0", "name=eth0,type=phys", "enumeration"),
    ("net32", "name=eth0", "not defined in schema"),
    # mpN
    ("mp0", "local:1", "mp: property is missing"),
    ("mp0", "local:1,mp=/mnt/../../etc", "illegal character sequences"),
    ("mp0", "local:1,mp=/../../etc", "illegal character sequences"),
    ("mp0", "local:1,mp=/mnt/..", "illegal character sequences"),
    ("mp0", "local:1,mp=/mnt/./x", "illegal character sequences"),
    ("mp0", "local:1,mp=../etc", "illegal character sequences"),
    ("mp0", "local:1,mp=mnt", "not an absolute path"),
    ("mp0", "local:1,mp=/mnt,foo=1", "invalid key"),
    ("mp0", "local:1,mp=/mnt,mountoptions=rw;suid", "regex"),
    ("mp0", "nosuch:1,mp=/mnt", "storage 'nosuch' does not exist"),
    ("mp256", "local:1,mp=/mnt", "not defined in schema"),
    # rootfs
    ("rootfs", "local:1,foo=1", "invalid key"),
    ("rootfs", "/var/lib/x", "must be a storage volume"),
    ("rootfs", "/dev/sda", "must be a storage volume"),
    ("rootfs", "nosuch:1", "storage 'nosuch' does not exist"),
    ("rootfs", "local:-1", ""),
    ("rootfs", "local:abc", ""),
    ("rootfs", "local:1e3", ""),
    ("rootfs", "local:1,size=-5G", "disk size"),
    ("rootfs", "local:1,size=lots", "disk size"),
    ("rootfs", "local:../../etc/passwd", ""),
    # features
    ("features", "foo=1", "invalid key"),
    ("features", "mount=bad,chars", ""),
    ("features", "mount=nfs/../x", "regex"),
    ("features", "nesting=2", "boolean"),
    # plain keys
    ("hostname", "-bad", "DNS name"),
    ("hostname", "a" * 300, ""),
    ("nameserver", "not-an-ip", "IP address"),
    ("searchdomain", "bad..domain", ""),
    ("timezone", "../../etc/shadow", "regex"),
    ("ostype", "windows", "enumeration"),
    ("arch", "sparc", "enumeration"),
    ("cmode", "x", "enumeration"),
    ("memory", "8", "minimum"),
    ("memory", "1e9", "integer"),
    ("swap", "-1", "minimum"),
    ("cores", "0", "minimum"),
    ("cpulimit", "abc", "number"),
    ("tty", "7", "maximum"),
    ("onboot", "yes please", "boolean"),
    ("password", "abc", "at least 5"),
    ("storage", "../x", "illegal characters"),
    # the template
    ("ostemplate", "local:iso/x.iso", "not a container template"),
    ("ostemplate", "/etc/shadow", "volume ID"),
    ("ostemplate", "local:vztmpl/../../../etc/shadow", ""),
    ("ostemplate", "local:vztmpl/nosuch.tar.gz", "does not exist"),
    ("ostemplate", "nosuch:vztmpl/x.tar.gz", "does not exist"),
]


@pytest.mark.parametrize("key,value,words", MALFORMED, ids=lambda x: repr(x)[:60])
def test_malformed_create_parameter_is_refused_naming_it(ctb, vmid, key, value, words):
    b, tmpl = ctb
    params = {"hostname": "ct1", key: value}
    if key == "ostemplate":
        tmpl = value
        del params["ostemplate"]
    r = create(b, vmid, tmpl, **params)
    assert_param_refused(r, key, *([words] if words else []))
    assert_nothing_created(b, vmid)


def test_a_missing_storage_is_named_on_the_rootfs_it_would_hold(ctb, vmid):
    """storage= is only the default for rootfs/mpN: the volume that cannot be made is named."""
    b, tmpl = ctb
    assert_param_refused(create(b, vmid, tmpl, storage="nosuch"), "rootfs",
                         "storage 'nosuch' does not exist")
    assert_nothing_created(b, vmid)


UNKNOWN_KEYS = ["bogus", "lxc.apparmor.profile", "lxc.cgroup2.devices.allow", "lock", "parent",
                "snaptime", "net32", "mp256", "unused256", "dev0", "hookscript2", "Hostname"]


@pytest.mark.parametrize("key", UNKNOWN_KEYS)
def test_unknown_keys_are_refused_naming_them(ctb, vmid, key):
    b, tmpl = ctb
    assert_param_refused(create(b, vmid, tmpl, **{key: "1"}), key, "not defined in schema")
    assert_nothing_created(b, vmid)


def test_a_repeated_parameter_is_refused(ctb, vmid):
    """net0 twice in one form body becomes a list (PVE's repeated-key rule): not a string."""
    b, tmpl = ctb
    r = create(b, vmid, tmpl, net0=["name=eth0,ip=dhcp", "name=eth1,ip=dhcp"])
    assert r.status == 400, r.status_line
    assert "net0" in r.json()["errors"]
    assert_nothing_created(b, vmid)


def test_a_rootfs_too_large_for_the_storage_fails_the_task_and_frees_everything(ctb, vmid):
    b, tmpl = ctb
    r = create(b, vmid, tmpl, rootfs="local:99999999")
    if r.status == 400:  # refused up front: as good
        assert_nothing_created(b, vmid)
        return
    assert r.status == 200, r.status_line
    st = b.wait_task(r.json()["data"], timeout=120)
    assert st["exitstatus"] != "OK"
    assert "rootfs" in st["exitstatus"], st
    assert_nothing_created(b, vmid)


# ---- CR/LF ----

# a valid value for every string-valued key, and where a line break goes into it
STRING_VALUES = {
    "hostname": "ct1",
    "nameserver": "10.0.0.1",
    "searchdomain": "example.com",
    "net0": "name=eth0,ip=dhcp",
    "mp0": "local:1,mp=/mnt/data",
    "rootfs": "local:1",
    "tags": "web",
    "timezone": "Europe/Berlin",
    "entrypoint": "/sbin/init",
    "startup": "order=1",
    "features": "nesting=1",
    "cmode": "tty",
    "ostype": "unmanaged",
    "arch": "amd64",
    "storage": "local",
    "pool": "p1",
    "ostemplate": None,  # the template volid
}

BREAKS = {"LF": "\n", "CR": "\r", "CRLF": "\r\n"}


def with_break(value, brk):
    """The break in the middle, followed by what an injected config line would look like."""
    half = max(1, len(value) // 2)
    return value[:half] + brk + "lxc.apparmor.profile: unconfined" + brk + value[half:]


@pytest.mark.parametrize("brk", BREAKS, ids=str)
@pytest.mark.parametrize("key", STRING_VALUES, ids=str)
def test_line_breaks_in_create_values_are_refused(ctb, vmid, key, brk):
    b, tmpl = ctb
    value = STRING_VALUES[key] or tmpl
    bad = with_break(value, BREAKS[brk])
    params = {"hostname": "ct1", key: bad}
    if key == "ostemplate":
        tmpl = bad
        del params["ostemplate"]
    r = create(b, vmid, tmpl, **params)
    assert_param_refused(r, key)
    assert_nothing_created(b, vmid)


@pytest.mark.parametrize("brk", ["\n", "\r"], ids=["LF", "CR"])
@pytest.mark.parametrize("key,value", [
    ("hostname", "stopped"), ("nameserver", "10.0.0.1"), ("searchdomain", "example.com"),
    ("net0", "name=eth0,ip=dhcp"), ("tags", "web"), ("startup", "order=1"),
    ("timezone", "UTC"), ("entrypoint", "/sbin/init"), ("cmode", "tty"),
    ("features", "nesting=1"), ("memory", "512"), ("onboot", "1"),
])
def test_line_breaks_in_config_updates_are_refused_and_change_nothing(ctb, stopped_ct, key, value,
                                                                      brk):
    b, _ = ctb
    before = config_of(b, stopped_ct)
    r = b.admin().put(f"/nodes/{NODE}/lxc/{stopped_ct}/config", {key: with_break(value, brk)})
    assert_param_refused(r, key)
    after = config_of(b, stopped_ct)
    assert after == before
    text = b.store_files()[f"nodes/{NODE}/lxc/{stopped_ct}.conf"]
    assert b"apparmor" not in text


def test_description_is_multi_line_text_kept_as_comment_lines(ctb, vmid):
    """PVE stores the description as '#' lines: line breaks are its content, not a way to
    add config lines."""
    b, tmpl = ctb
    desc = "first line\nlxc.apparmor.profile: unconfined\nrootfs: /etc"
    create_ok(b, vmid, tmpl, description=desc)
    conf = config_of(b, vmid)
    assert conf["description"].rstrip("\n") == desc
    assert "lxc" not in conf
    assert conf["rootfs"].startswith(f"local:{vmid}/")
    text = b.store_files()[f"nodes/{NODE}/lxc/{vmid}.conf"].decode()
    for line in text.splitlines():
        assert not line.startswith(("lxc.", "rootfs: /")), text


# ---- bind and device mount points ----

@pytest.mark.parametrize("mp", ["/srv/data,mp=/mnt/data", "/dev/sdb,mp=/mnt/disk",
                                "/,mp=/mnt/host"], ids=["bind", "device", "host-root"])
def test_bind_and_device_mount_points_are_root_only_on_create(ctb, vmid, mp):
    b, tmpl = ctb
    r = create(b, vmid, tmpl, mp0=mp)
    assert r.status == 403, r.status_line
    assert "root" in r.reason, r.status_line
    assert_nothing_created(b, vmid)


@pytest.mark.parametrize("mp", ["/srv/data,mp=/mnt/data", "/dev/sdb,mp=/mnt/disk"],
                         ids=["bind", "device"])
def test_bind_and_device_mount_points_are_root_only_on_update(ctb, stopped_ct, mp):
    b, _ = ctb
    before = config_of(b, stopped_ct)
    r = b.admin().put(f"/nodes/{NODE}/lxc/{stopped_ct}/config", {"mp0": mp})
    assert r.status == 403, r.status_line
    assert config_of(b, stopped_ct) == before


def cli_create(b, vmid, tmpl, *args):
    return b.cli("create", f"/nodes/{NODE}/lxc", "--vmid", vmid, "--ostemplate", tmpl, *args,
                 timeout=180)


@pytest.mark.parametrize("mp", ["/tmp/../etc,mp=/mnt/x", "/srv/./x,mp=/mnt/x",
                                "/srv/x/..,mp=/mnt/x", "/srv/x,mp=/mnt/../../etc",
                                "/srv/x,mp=/../etc"])
def test_root_bind_mounts_with_dot_segments_are_refused(ctb, vmid, mp):
    """Even root@pam (the CLI) cannot name a path with '.' or '..' segments (PVE's
    pve-lxc-mp-string), on either side of the bind mount."""
    b, tmpl = ctb
    r = cli_create(b, vmid, tmpl, "--mp0", mp)
    assert r.returncode != 0
    assert "400 Parameter verification failed." in r.stderr, r.stderr
    assert "illegal character sequences" in r.stderr, r.stderr
    assert_nothing_created(b, vmid)


@pytest.fixture
def host_dir():
    """A host directory with a marker file, and a symlink to it, in a fresh temp dir."""
    base = tempfile.mkdtemp(prefix="ct-bind-", dir="/tmp")
    os.chmod(base, 0o755)  # liblxc mounts as the CT's root: it must reach the source
    real = os.path.join(base, "real")
    os.mkdir(real)
    with open(os.path.join(real, "host-marker"), "w") as f:
        f.write("host data\n")
    os.symlink(real, os.path.join(base, "link"))
    yield base
    shutil.rmtree(base, ignore_errors=True)


def ct_init_pid(b, vmid):
    st = b.admin().data("GET", f"/nodes/{NODE}/lxc/{vmid}/status/current")
    return st.get("pid") if st["status"] == "running" else None


def start_task(b, vmid):
    r = b.admin().post(f"/nodes/{NODE}/lxc/{vmid}/status/start")
    assert r.status == 200, r.status_line
    return b.wait_task(r.json()["data"], timeout=120)


def test_a_bind_mount_source_is_mounted_from_the_real_directory(ctb, vmid, host_dir):
    """Control for the symlink case: a plain bind mount (root) shows the host directory."""
    b, tmpl = ctb
    r = cli_create(b, vmid, tmpl, "--mp0", f"{host_dir}/real,mp=/mnt/bind")
    assert r.returncode == 0, r.stderr
    st = start_task(b, vmid)
    if st["exitstatus"] != "OK":
        pytest.skip(f"containers cannot start here: {task_log(b, st['upid'])[-500:]}")
    pid = ct_init_pid(b, vmid)
    with open(f"/proc/{pid}/root/mnt/bind/host-marker") as f:
        assert f.read() == "host data\n"


# Bind sources are walked with O_NOFOLLOW and mounted through the opened descriptor, as PVE
# does (LXC.pm bindmount/__bindmount_prepare): a swapped-in symlink is refused at start.


@pytest.mark.parametrize("source", ["link", "link/sub"], ids=["symlink", "through-symlink"])
def test_a_bind_mount_source_through_a_symlink_is_not_mounted(ctb, vmid, host_dir, source):
    """PVE walks bind sources with O_NOFOLLOW and refuses the start ('symlink encountered at');
    a symlink could be swapped to point anywhere between configuring and starting."""
    b, tmpl = ctb
    src = f"{host_dir}/{source}"
    if source != "link":
        os.mkdir(f"{host_dir}/real/sub")
        with open(f"{host_dir}/real/sub/host-marker", "w") as f:
            f.write("host data\n")
    r = cli_create(b, vmid, tmpl, "--mp0", f"{src},mp=/mnt/bind")
    if r.returncode != 0:  # refused up front: as good
        assert_nothing_created(b, vmid)
        return
    st = start_task(b, vmid)
    pid = ct_init_pid(b, vmid)
    seen = pid and os.path.exists(f"/proc/{pid}/root/mnt/bind/host-marker")
    assert not seen, "the CT sees the host directory behind the symlink"
    assert st["exitstatus"] != "OK"
    assert "symlink" in st["exitstatus"] or "symbolic link" in task_log(b, st["upid"])


# ---- mount targets inside a hostile rootfs ----

def tar_member(tf, name, kind="file", data=b"pwned\n", link=None, mode=None):
    ti = tarfile.TarInfo(name)
    ti.mtime = 1700000000
    if kind == "file":
        ti.size = len(data)
        ti.mode = mode or 0o644
        tf.addfile(ti, io.BytesIO(data))
        return
    ti.type = {"dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
               "chr": tarfile.CHRTYPE}[kind]
    ti.mode = mode or (0o755 if kind == "dir" else 0o666 if kind == "chr" else 0o777)
    if link is not None:
        ti.linkname = link
    if kind == "chr":
        ti.devmajor, ti.devminor = 1, 3
    tf.addfile(ti)


BASE_ROOTFS = [
    ("etc", "dir"), ("root", "dir"), ("tmp", "dir"),
    ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"),
    ("etc/shadow", "file", HOSTILE_SHADOW + b"\n"),
    ("etc/group", "file", b"root:x:0:\n"),
]


def upload_template(b, name, data):
    """Upload bytes as a vztmpl through the API (what a user with Datastore.AllocateTemplate
    can do); returns the volid."""
    import urllib3
    urllib3.disable_warnings()  # proxmoxer against the test daemon's self-signed certificate
    path = os.path.join(tempfile.mkdtemp(prefix="ct-tmpl-"), name)
    try:
        with open(path, "wb") as f:
            f.write(data)
        with open(path, "rb") as f:
            upid = b.api().nodes(NODE).storage("local").upload.post(content="vztmpl",
                                                                   filename=f)
        assert b.wait_task(upid)["exitstatus"] == "OK"
    finally:
        shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    return f"local:vztmpl/{name}"


def tarball(members, base=BASE_ROOTFS, prefix_from=None):
    """A gzip'd tar: optionally every member of another (uncompressed) tar first, then base,
    then the hostile members."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        if prefix_from is not None:
            with tarfile.open(fileobj=io.BytesIO(prefix_from)) as src:
                for m in src.getmembers():
                    tf.addfile(m, src.extractfile(m) if m.isfile() else None)
        for m in list(base) + list(members):
            tar_member(tf, m[0], m[1], *m[2:3], **({"link": m[3]} if len(m) > 3 else {}))
    return buf.getvalue()


@pytest.fixture(scope="module")
def sentinel():
    """A world-writable host directory a hostile rootfs tries to reach: an escape from the
    CT's user namespace could write here, so an unchanged directory means no escape."""
    d = tempfile.mkdtemp(prefix="ct-sentinel-", dir="/tmp")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def shadow_state():
    """What an escape through /etc/shadow would change: root's entry, a line from a hostile
    template, the link count (a hard link to it). Not the whole file: another test run on
    this host may add or remove its PAM test users meanwhile."""
    with open("/etc/shadow", "rb") as f:
        lines = f.read().splitlines()
    return ([line for line in lines if line.startswith(b"root:")], HOSTILE_SHADOW in lines,
            os.stat("/etc/shadow").st_nlink)


def host_state(sentinel_dir):
    with open("/proc/self/mountinfo") as f:
        mounts = [line for line in f if sentinel_dir in line]
    tree = sorted(os.path.relpath(os.path.join(d, n), sentinel_dir)
                  for d, dirs, files in os.walk(sentinel_dir) for n in dirs + files)
    return {"sentinel": tree, "shadow": shadow_state(), "mounts": mounts}


@pytest.fixture
def clean_sentinel(sentinel):
    """The module's sentinel, emptied again after the test (whatever a failure left)."""
    yield sentinel
    for name in os.listdir(sentinel):
        p = os.path.join(sentinel, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p, ignore_errors=True)
        else:
            os.unlink(p)


@pytest.fixture(scope="module")
def symlinked_template(ctb, sentinel):
    """busybox plus symlinks planted where mount points will go: absolute and relative links
    to the host sentinel."""
    b, tmpl = ctb
    path = b.admin().data("GET", f"/nodes/{NODE}/storage/local/content/{tmpl}")["path"]
    raw = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout
    members = [("evabs", "sym", None, sentinel),
               ("evrel", "sym", None, "../../../../../../../.." + sentinel)]
    return upload_template(b, "busybox-symlinks_amd64.tar.gz",
                           tarball(members, base=[], prefix_from=raw))


# Mount targets are made by the start worker without following symlinks (PVE's
# walk_tree_nofollow, LXC.pm __mount_prepare_rootdir); liblxc gets no create=dir.


@pytest.mark.parametrize("target", [
    "/evabs", "/evabs/sub", "/evrel", "/evrel/sub", "/evabs/sub/deeper"])
def test_a_planted_symlink_at_a_mount_target_never_leads_onto_the_host(
        ctb, vmid, clean_sentinel, symlinked_template, target):
    """The rootfs is hostile (template or CT root planted the link): starting the CT must not
    create, mount over or write anything behind the link on the host; PVE refuses the start
    ('symlink encountered at')."""
    b, _ = ctb
    sentinel = clean_sentinel
    create_ok(b, vmid, symlinked_template, mp0=f"local:0.1,mp={target}")
    before = host_state(sentinel)
    st = start_task(b, vmid)
    pid = ct_init_pid(b, vmid)
    after = host_state(sentinel)
    assert after == before, "starting the CT changed the host behind a planted symlink"
    if st["exitstatus"] == "OK":
        # it may only have mounted inside the CT, never at the host path
        with open(f"/proc/{pid}/mountinfo") as f:
            assert sentinel not in f.read()
    else:
        assert pid is None
        log = task_log(b, st["upid"])
        assert "symlink" in log or "symbolic links" in log, log


# ---- hostile template tarballs ----

def rel(p):
    return p.lstrip("/")


def hostile_cases(sentinel):
    """name -> (members, {unprivileged: expected}); expected is ("fail", words) or
    ("ok", check(rootfs_dir))."""
    s = sentinel

    def inside(path, data=b"pwned\n"):
        def check(root):
            with open(os.path.join(root, path), "rb") as f:
                assert f.read() == data
        return check

    def same_inode(a, b_):
        def check(root):
            assert os.stat(os.path.join(root, a)).st_ino == os.stat(os.path.join(root, b_)).st_ino
        return check

    def absent(path):
        def check(root):
            assert not os.path.lexists(os.path.join(root, path))
        return check

    def char_device(path):
        def check(root):
            assert stat.S_ISCHR(os.lstat(os.path.join(root, path)).st_mode)
        return check

    dotdot = ("fail", ["Member name contains '..'"])
    return {
        # GNU tar strips the leading '/': the member lands inside the rootfs
        "absolute-name": ([(s + "/abs-pwned", "file")],
                          {1: ("ok", inside(rel(s) + "/abs-pwned")),
                           0: ("ok", inside(rel(s) + "/abs-pwned"))}),
        "dotdot-name": ([("../../../../../../../.." + s + "/dotdot-pwned", "file")],
                        {1: dotdot, 0: dotdot}),
        "dotdot-inside-name": ([("etc/../../../../../../.." + s + "/mid-pwned", "file")],
                               {1: dotdot, 0: dotdot}),
        "symlink-then-file-absolute": (
            [("evil", "sym", None, s), ("evil/pwned", "file")],
            {1: ("fail", ["evil/pwned"]), 0: ("fail", ["evil/pwned"])}),
        "symlink-then-file-relative": (
            [("evil", "sym", None, "../../../../../../../.." + s), ("evil/pwned", "file")],
            {1: ("fail", ["evil/pwned"]), 0: ("fail", ["evil/pwned"])}),
        "symlink-to-root-then-file": (
            [("hostroot", "sym", None, "/"), ("hostroot" + s + "/pwned", "file")],
            {1: ("fail", ["pwned"]), 0: ("fail", ["pwned"])}),
        # the link target loses its '/' (or '../'): it links the rootfs's own etc/shadow
        "hardlink-to-host-shadow": (
            [("shadowlink", "hard", None, "/etc/shadow")],
            {1: ("ok", same_inode("shadowlink", "etc/shadow")),
             0: ("ok", same_inode("shadowlink", "etc/shadow"))}),
        "hardlink-dotdot-to-host-shadow": (
            [("shadowlink", "hard", None, "../../../../../../etc/shadow")],
            {1: ("ok", same_inode("shadowlink", "etc/shadow")),
             0: ("ok", same_inode("shadowlink", "etc/shadow"))}),
        # a device node: no mknod in the user namespace; a privileged CT gets it inside
        "char-device": ([("evil-null", "chr")],
                        {1: ("fail", ["Cannot mknod"]), 0: ("ok", char_device("evil-null"))}),
        # members below ./dev are skipped (LXC populates /dev)
        "char-device-in-dev": ([("dev", "dir"), ("dev/evil-null", "chr")],
                               {1: ("ok", absent("dev/evil-null")),
                                0: ("ok", absent("dev/evil-null"))}),
    }


@pytest.fixture(scope="module")
def hostile_templates(ctb, sentinel):
    b, _ = ctb
    return {name: upload_template(b, f"hostile-{name}.tar.gz", tarball(members))
            for name, (members, _) in hostile_cases(sentinel).items()}



@contextlib.contextmanager
def mounted_rootfs(b, vmid):
    """The CT's rootfs image, mounted read-only (no journal replay) in a temp dir."""
    volid = config_of(b, vmid)["rootfs"].split(",")[0]
    path = b.admin().data("GET", f"/nodes/{NODE}/storage/local/content/{volid}")["path"]
    mnt = tempfile.mkdtemp(prefix="ct-rootfs-")
    if os.path.isdir(path):  # a directory volume (subvol)
        yield path
        os.rmdir(mnt)
        return
    p = subprocess.run(["mount", "-o", "loop,ro,noload", path, mnt], capture_output=True,
                       text=True)
    if p.returncode != 0:
        os.rmdir(mnt)
        pytest.skip(f"cannot loop-mount the rootfs to look inside: {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", mnt], capture_output=True)
        os.rmdir(mnt)


HOSTILE = ["absolute-name", "dotdot-name", "dotdot-inside-name", "symlink-then-file-absolute",
           "symlink-then-file-relative", "symlink-to-root-then-file", "hardlink-to-host-shadow",
           "hardlink-dotdot-to-host-shadow", "char-device", "char-device-in-dev"]


@pytest.mark.parametrize("unprivileged", [1, 0], ids=["unprivileged", "privileged"])
@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_template_member_never_lands_outside_the_rootfs(
        ctb, vmid, clean_sentinel, hostile_templates, case, unprivileged):
    b, _ = ctb
    sentinel = clean_sentinel
    expect, detail = hostile_cases(sentinel)[case][1][unprivileged]
    before = host_state(sentinel)
    r = create(b, vmid, hostile_templates[case], unprivileged=unprivileged, hostname="evil")
    assert r.status == 200, r.status_line
    st = b.wait_task(r.json()["data"], timeout=120)
    assert host_state(sentinel) == before, "extraction changed the host"
    if expect == "fail":
        assert st["exitstatus"].startswith("extracting archive failed: "), st["exitstatus"]
        for w in detail:
            assert w in st["exitstatus"], st["exitstatus"]
        assert_nothing_created(b, vmid)
    else:
        assert st["exitstatus"] == "OK", task_log(b, st["upid"])
        with mounted_rootfs(b, vmid) as root:
            detail(root)


def test_a_template_that_is_not_an_archive_fails_cleanly(ctb, vmid, sentinel):
    b, _ = ctb
    tmpl = upload_template(b, "garbage.tar.gz", os.urandom(64 << 10))
    before = host_state(sentinel)
    r = create(b, vmid, tmpl)
    assert r.status == 200, r.status_line
    st = b.wait_task(r.json()["data"], timeout=120)
    assert st["exitstatus"].startswith("extracting archive failed: "), st["exitstatus"]
    assert "gzip" in st["exitstatus"], st["exitstatus"]
    assert host_state(sentinel) == before
    assert_nothing_created(b, vmid)


def test_a_zstd_template_with_a_dotdot_member_fails_cleanly(ctb, vmid, sentinel):
    """The same refusal through the zstd decompressor (the busybox template's format)."""
    b, _ = ctb
    if not shutil.which("zstd"):
        pytest.skip("zstd is not installed")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for m in BASE_ROOTFS + [("../../../../../../.." + sentinel + "/zst-pwned", "file")]:
            tar_member(tf, *m)
    data = subprocess.run(["zstd", "-q", "-c"], input=buf.getvalue(), capture_output=True,
                          check=True).stdout
    tmpl = upload_template(b, "hostile-dotdot.tar.zst", data)
    before = host_state(sentinel)
    r = create(b, vmid, tmpl)
    st = b.wait_task(r.json()["data"], timeout=120)
    assert "Member name contains '..'" in st["exitstatus"], st["exitstatus"]
    assert host_state(sentinel) == before
    assert_nothing_created(b, vmid)


# ---- permissions ----

def new_user(b, *acl):
    userid = f"ctu{next(_users)}@pve"
    b.add_user(userid, password=PW, acl=acl)
    return userid, b.session(userid, PW)


POWER = ["start", "stop", "shutdown", "reboot", "suspend", "resume"]


def test_an_auditor_can_read_but_not_create_configure_start_or_destroy(ctb, stopped_ct, vmid):
    b, tmpl = ctb
    _, s = new_user(b, ("/", "PVEAuditor"))
    assert s.get(f"/nodes/{NODE}/lxc/{stopped_ct}/config").status == 200
    assert s.get(f"/nodes/{NODE}/lxc/{stopped_ct}/status/current").status == 200
    before = config_of(b, stopped_ct)
    calls = [
        s.post(f"/nodes/{NODE}/lxc", {"vmid": vmid, "ostemplate": tmpl}),
        s.put(f"/nodes/{NODE}/lxc/{stopped_ct}/config", {"description": "audited"}),
        s.put(f"/nodes/{NODE}/lxc/{stopped_ct}/config", {"memory": 256}),
        s.delete(f"/nodes/{NODE}/lxc/{stopped_ct}"),
    ] + [s.post(f"/nodes/{NODE}/lxc/{stopped_ct}/status/{a}") for a in POWER]
    for r in calls:
        assert r.status == 403, r.status_line
        assert r.reason.startswith("Permission check failed"), r.status_line
    assert config_of(b, stopped_ct) == before
    assert_nothing_created(b, vmid)


@pytest.fixture(scope="module")
def no_power_role(ctb):
    b, _ = ctb
    b.admin().data("POST", "/access/roles", {
        "roleid": "CTNoPower",
        "privs": "VM.Audit,VM.Allocate,VM.Config.Options,VM.Config.Network,VM.Console"})
    return "CTNoPower"


@pytest.mark.parametrize("action", POWER)
def test_a_token_without_power_management_gets_403_on_every_power_action(
        ctb, stopped_ct, no_power_role, action):
    """security.md A2: a privilege-separated token of an administrator, granted everything on
    the CT but VM.PowerMgmt, is refused before any state check (the CT is stopped, so a
    missing permission check would show as 500 'not running' instead)."""
    b, _ = ctb
    user, _ = new_user(b, ("/", "Administrator"))
    tokenid, secret = b.add_token(user, "ops", privsep=1,
                                  acl=[(f"/vms/{stopped_ct}", no_power_role)])
    s = b.token_session(tokenid, secret)
    r = s.post(f"/nodes/{NODE}/lxc/{stopped_ct}/status/{action}")
    assert r.status == 403, r.status_line
    assert "VM.PowerMgmt" in r.reason, r.status_line
    # the token does hold what it was given
    assert s.put(f"/nodes/{NODE}/lxc/{stopped_ct}/config", {"description": "ops"}).status == 200


def test_raw_lxc_keys_cannot_be_set_or_deleted_by_non_root(ctb, stopped_ct):
    b, _ = ctb
    before = config_of(b, stopped_ct)
    r = b.admin().put(f"/nodes/{NODE}/lxc/{stopped_ct}/config",
                      {"lxc.apparmor.profile": "unconfined"})
    assert_param_refused(r, "lxc.apparmor.profile", "not defined in schema")
    r = b.admin().put(f"/nodes/{NODE}/lxc/{stopped_ct}/config", {"delete": "lxc.apparmor.profile"})
    assert_param_refused(r, "delete")  # not a pve-configid, as in PVE
    assert config_of(b, stopped_ct) == before


@pytest.mark.parametrize("features", ["keyctl=1", "fuse=1", "mknod=1", "force_rw_sys=1",
                                      "mount=nfs", "nesting=1,keyctl=1"])
def test_features_other_than_nesting_are_root_only(ctb, stopped_ct, vmid, features):
    b, tmpl = ctb
    r = create(b, vmid, tmpl, features=features)
    assert r.status == 403, r.status_line
    assert "only allowed for root@pam" in r.reason, r.status_line
    assert_nothing_created(b, vmid)
    before = config_of(b, stopped_ct)
    r = b.admin().put(f"/nodes/{NODE}/lxc/{stopped_ct}/config", {"features": features})
    assert r.status == 403, r.status_line
    assert config_of(b, stopped_ct) == before


def test_nesting_is_allowed_to_an_administrator(ctb, vmid):
    b, tmpl = ctb
    create_ok(b, vmid, tmpl, features="nesting=1")
    assert config_of(b, vmid)["features"] == "nesting=1"


@pytest.fixture
def ct_maker(ctb):
    """A user who may allocate CTs and space, but has no Sys.Modify on /."""
    b, _ = ctb
    return new_user(b, ("/vms", "PVEVMAdmin"), ("/storage/local", "PVEDatastoreUser"))


def test_a_privileged_ct_needs_sys_modify(ctb, vmid, ct_maker):
    b, tmpl = ctb
    _, s = ct_maker
    r = create(b, vmid, tmpl, session=s, unprivileged=0)
    assert r.status == 403, r.status_line
    assert_nothing_created(b, vmid)


def test_a_user_without_sys_modify_may_say_unprivileged_1(ctb, vmid, ct_maker):
    """Ansible's proxmox module always sends unprivileged; =1 needs nothing beyond
    VM.Allocate (PVE extracts it before the per-key checks)."""
    b, tmpl = ctb
    _, s = ct_maker
    r = create(b, vmid, tmpl, session=s, unprivileged=1, hostname="maker")
    assert r.status == 200, r.status_line
    assert b.wait_task(r.json()["data"], timeout=120)["exitstatus"] == "OK"
    assert config_of(b, vmid)["unprivileged"] == 1


def test_the_privilege_mode_of_an_existing_ct_cannot_change(ctb, stopped_ct):
    b, _ = ctb
    before = config_of(b, stopped_ct)
    for v in (0, 1):
        r = b.admin().put(f"/nodes/{NODE}/lxc/{stopped_ct}/config", {"unprivileged": v})
        assert r.status in (403, 500), r.status_line
    r = b.admin().put(f"/nodes/{NODE}/lxc/{stopped_ct}/config", {"delete": "unprivileged"})
    assert r.status in (400, 403, 500), r.status_line
    assert config_of(b, stopped_ct) == before


def free_volume(b, volid):
    r = b.admin().delete(f"/nodes/{NODE}/storage/local/content/{volid}")
    if r.status == 200 and isinstance(r.json()["data"], str):
        b.wait_task(r.json()["data"])


def test_unused_volumes_are_ignored_on_create(ctb, vmid):
    """PVE: 'cannot create/restore with unused volume' — a new CT never adopts another
    guest's volume (which its destroy would then free)."""
    b, tmpl = ctb
    victim = b.admin().data("POST", f"/nodes/{NODE}/storage/local/content",
                            {"vmid": 101, "filename": "vm-101-disk-9.raw", "size": "1M"})
    try:
        create_ok(b, vmid, tmpl, unused0=victim)
        assert "unused0" not in config_of(b, vmid)
    finally:
        free_volume(b, victim)


def test_destroying_a_ct_never_frees_another_guests_volume(ctb, vmid):
    """A config may name a volume of another guest (unusedN set by an update): destroy
    leaves it alone, as PVE's delete_mountpoint_volume ('CT ... isn't the owner')."""
    b, tmpl = ctb
    s = b.admin()
    victim = s.data("POST", f"/nodes/{NODE}/storage/local/content",
                    {"vmid": 102, "filename": "vm-102-disk-9.raw", "size": "1M"})
    try:
        create_ok(b, vmid, tmpl)
        s.data("PUT", f"/nodes/{NODE}/lxc/{vmid}/config", {"unused0": victim})
        upid = s.data("DELETE", f"/nodes/{NODE}/lxc/{vmid}")
        b.wait_task(upid, timeout=60)
        assert not ct_exists(b, vmid)
        assert victim in volumes(b)
        assert "isn't the owner" in task_log(b, upid)
    finally:
        free_volume(b, victim)
