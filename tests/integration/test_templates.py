"""Container templates Berth builds: GET /nodes/{node}/aplinfo lists them as PVE's appliance
list does, POST builds one into a storage's vztmpl content (task "download"), and
`berth template build` drives it from the CLI. The tarballs are checked as a container's
restore would read them: root-owned, no device nodes, no names escaping the root."""
import io
import os
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import NODE, SANITIZER_MARKERS, wait_for

BUILD_PREFIX = ".berth-build."


def cache_dir(b, sid="local"):
    return os.path.join(b.root, "storage", sid, "template", "cache") if sid == "local" else \
        os.path.join(b.root, "st-" + sid, "template", "cache")


def catalog(b):
    return {t["package"] if t["package"] == "busybox" else t["os"]: t
            for t in b.admin().data("GET", f"/nodes/{NODE}/aplinfo")}


def no_sanitizer_reports(text):
    bad = [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKERS)]
    assert not bad, "sanitizer reports in the task log:\n" + "\n".join(bad)


def tar_members(path):
    """The members of a .tar.zst, by name without the leading './'."""
    data = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        members = tf.getmembers()
        files = {}
        for m in members:
            if m.isfile() and m.size < 65536:
                files[m.name] = tf.extractfile(m).read().decode("utf-8", "replace")
    by_name = {}
    for m in members:
        name = m.name[2:] if m.name.startswith("./") else m.name
        by_name[name.rstrip("/") or "."] = m
    texts = {(k[2:] if k.startswith("./") else k): v for k, v in files.items()}
    return by_name, texts


def assert_safe_archive(members):
    for name, m in members.items():
        assert not name.startswith("/"), name
        assert ".." not in name.split("/"), name
        assert not (m.ischr() or m.isblk() or m.isfifo()), f"device node {name}"
    assert [n for n in members if n.startswith("dev/")] == [], "dev/ must be empty"
    assert members["dev"].isdir()


def build_dirs_left(b, sid="local"):
    d = cache_dir(b, sid)
    return [n for n in os.listdir(d) if n.startswith(BUILD_PREFIX)] if os.path.isdir(d) else []


# ---- the catalog ----

def test_aplinfo_lists_busybox_and_debian_12_with_pves_fields_via_proxmoxer(shared_berth):
    entries = shared_berth.api().nodes(NODE).aplinfo.get()
    by_name = {e["template"]: e for e in entries}
    keys = {"template", "package", "version", "os", "section", "type", "headline",
            "description", "architecture", "source", "maintainer", "infopage", "location"}
    for e in entries:
        assert keys <= set(e), e
        assert e["section"] == "system" and e["type"] == "lxc"
        assert e["template"].endswith(".tar.zst")
    bb = [e for e in entries if e["package"] == "busybox"]
    assert len(bb) == 1
    version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "busybox-static"],
                             capture_output=True, text=True).stdout  # 1:1.35.0-4+deb12u1+b1
    upstream = version.split(":", 1)[-1].split("-", 1)[0]
    assert bb[0]["template"] == f"busybox-{upstream}-berth1_{bb[0]['architecture']}.tar.zst"
    assert bb[0]["version"] == f"{upstream}-berth1" and bb[0]["os"] == "busybox"
    deb = [e for e in entries if e["os"] == "debian-12"]
    assert len(deb) == 1 and deb[0]["template"] in by_name
    assert deb[0]["location"].startswith(("http://", "https://", "file://"))


def test_any_user_may_read_the_catalog(shared_berth):
    shared_berth.add_user("tmpl-reader@pve", password="reader-pass-1")
    s = shared_berth.session("tmpl-reader@pve", "reader-pass-1")
    assert len(s.data("GET", f"/nodes/{NODE}/aplinfo")) >= 1


def test_cli_template_list_prints_the_catalog(shared_berth):
    r = shared_berth.cli("template", "list", check=True)
    assert "busybox" in r.stdout and "debian-12" in r.stdout
    data = shared_berth.cli_json("template", "list")
    assert {e["template"] for e in data} == \
        {e["template"] for e in shared_berth.admin().data("GET", f"/nodes/{NODE}/aplinfo")}


def test_template_help_texts(shared_berth):
    for args in (["template", "--help"], ["template", "build", "--help"],
                 ["template", "list", "--help"]):
        r = shared_berth.cli(*args)
        assert r.returncode == 0 and "berth template build NAME" in r.stdout, args
    r = shared_berth.cli("template")
    assert r.returncode == 2 and "Usage" in r.stderr
    assert "template list|build" in shared_berth.cli("help").stdout


# ---- refusals ----

def test_unknown_template_is_a_400_naming_the_parameter(shared_berth):
    r = shared_berth.admin().post(f"/nodes/{NODE}/aplinfo",
                                  {"storage": "local", "template": "windows-11"})
    assert r.status == 400 and r.reason == "Parameter verification failed."
    assert r.json()["errors"] == {"template": "no such template"}
    cli = shared_berth.cli("template", "build", "windows-11")
    assert cli.returncode != 0 and "no such template" in cli.stderr


def test_storage_without_vztmpl_content_is_refused(shared_berth):
    path = os.path.join(shared_berth.root, "st-imgonly")
    shared_berth.admin().data("POST", "/storage", {"storage": "imgonly", "type": "dir",
                                                    "path": path, "content": "images"})
    r = shared_berth.admin().post(f"/nodes/{NODE}/aplinfo",
                                  {"storage": "imgonly", "template": "busybox"})
    assert r.status == 500 and r.reason == "storage 'imgonly' does not support templates"
    r = shared_berth.admin().post(f"/nodes/{NODE}/aplinfo",
                                  {"storage": "nosuch", "template": "busybox"})
    assert r.status == 500 and r.reason == "storage 'nosuch' does not exist"
    assert not os.path.exists(os.path.join(path, "template", "cache"))


def test_building_needs_datastore_allocatetemplate_on_the_storage(shared_berth):
    shared_berth.add_user("tmpl-user@pve", password="tmpl-pass-1",
                          acl=[("/storage/local", "PVEDatastoreUser")])
    s = shared_berth.session("tmpl-user@pve", "tmpl-pass-1")
    r = s.post(f"/nodes/{NODE}/aplinfo", {"storage": "local", "template": "busybox"})
    assert r.status == 403


# ---- busybox ----

def test_cli_build_busybox_stores_a_root_owned_tarball_without_device_nodes(shared_berth):
    b = shared_berth
    t = catalog(b)["busybox"]
    start = time.monotonic()
    r = b.cli("template", "build", "busybox", "--storage", "local", check=True, timeout=300)
    took = time.monotonic() - start
    no_sanitizer_reports(r.stdout + r.stderr)
    assert "TASK OK" in r.stdout
    path = os.path.join(cache_dir(b), t["template"])
    print(f"\nbusybox template: {took:.1f} s, {os.path.getsize(path)} bytes", file=sys.stderr)
    assert build_dirs_left(b) == []

    members, texts = tar_members(path)
    assert_safe_archive(members)
    for name, m in members.items():
        assert m.uid == 0 and m.gid == 0, name
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode & 0o111
    assert members["sbin/init"].issym() and members["sbin/init"].linkname == "/bin/busybox"
    for applet in ("bin/sh", "sbin/getty", "sbin/ifup", "sbin/udhcpc", "bin/mount"):
        assert members[applet].issym(), applet
    assert members["tmp"].mode & 0o7777 == 0o1777
    assert members["root"].isdir()
    inittab = texts["etc/inittab"]
    assert "::sysinit:/etc/init.d/rcS" in inittab
    assert "console::respawn:/sbin/getty" in inittab and "tty1::respawn:" in inittab
    assert "::ctrlaltdel:" in inittab and "::shutdown:" in inittab
    rcs = texts["etc/init.d/rcS"]
    assert "proc" in rcs and "sysfs" in rcs and "devpts" in rcs and "ifup -a" in rcs
    assert members["etc/init.d/rcS"].mode & 0o111
    assert members["usr/share/udhcpc/default.script"].mode & 0o111
    assert "iface lo inet loopback" in texts["etc/network/interfaces"]
    assert texts["etc/passwd"].startswith("root:x:0:0:")
    assert texts["etc/shadow"].startswith("root:*:")
    assert "root:x:0:" in texts["etc/group"]
    assert texts["etc/hostname"].strip() and "localhost" in texts["etc/hosts"]
    assert "ID=busybox" in texts["etc/os-release"].splitlines()
    names = [m for m in members]
    assert names == sorted(names, key=lambda n: n), "archive names are sorted"

    # PVE clients (proxmox_template) look the volume up in the storage's content
    content = b.admin().data("GET", f"/nodes/{NODE}/storage/local/content",
                             {"content": "vztmpl"})
    assert f"local:vztmpl/{t['template']}" in [c["volid"] for c in content]


def test_post_aplinfo_returns_a_download_task_named_after_the_template(shared_berth):
    b = shared_berth
    t = catalog(b)["busybox"]
    upid = b.admin().data("POST", f"/nodes/{NODE}/aplinfo",
                          {"storage": "local", "template": t["template"]})
    parts = upid.split(":")
    assert parts[5] == "download" and parts[6] == t["template"]
    st = b.wait_task(upid, timeout=120)
    assert st["exitstatus"] == "OK"
    assert os.path.isfile(os.path.join(cache_dir(b), t["template"]))


def test_a_failed_build_leaves_no_temporary_directory(shared_berth):
    b = shared_berth
    path = os.path.join(b.root, "st-failing")
    b.admin().data("POST", "/storage", {"storage": "failing", "type": "dir", "path": path,
                                        "content": "vztmpl"})
    t = catalog(b)["busybox"]
    # a directory where the archive must go: the final rename fails after the build
    blocker = os.path.join(path, "template", "cache", t["template"])
    os.makedirs(os.path.join(blocker, "inside"))
    r = b.cli("template", "build", "busybox", "--storage", "failing", timeout=300)
    assert r.returncode != 0
    assert "task failed" in r.stderr and "unable to store" in r.stderr
    no_sanitizer_reports(r.stdout + r.stderr)
    assert build_dirs_left(b, "failing") == []
    assert os.path.isdir(os.path.join(blocker, "inside"))
    # the next build removes a directory left by a build that was killed outright
    os.rmdir(os.path.join(blocker, "inside"))
    os.rmdir(blocker)
    stale = os.path.join(cache_dir(b, "failing"), BUILD_PREFIX + "999999.1.abcdef")
    os.makedirs(os.path.join(stale, "rootfs", "etc"))
    r = b.cli("template", "build", "busybox", "--storage", "failing", check=True, timeout=300)
    assert "removed stale build directory" in r.stdout
    assert build_dirs_left(b, "failing") == []
    assert os.path.isfile(blocker)


# ---- debian-12 (debootstrap against the host's mirror; minutes) ----

def mirror_reachable(location):
    if location.startswith("file://"):
        return os.path.exists(urllib.parse.urlparse(location).path + "/dists/bookworm/Release")
    req = urllib.request.Request(location.rstrip("/") + "/dists/bookworm/Release",
                                 method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture
def debian_entry(shared_berth):
    t = catalog(shared_berth).get("debian-12")
    if not t:
        pytest.skip("debootstrap is not installed")
    if not mirror_reachable(t["location"]):
        print(f"\nskipping: Debian mirror {t['location']} is unreachable", file=sys.stderr)
        pytest.skip(f"Debian mirror {t['location']} is unreachable")
    return t


def mounts_below(path):
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if f" {path}/" in line]


def test_stopping_a_debian_build_removes_its_temporary_directory(shared_berth, debian_entry):
    b = shared_berth
    upid = b.admin().data("POST", f"/nodes/{NODE}/aplinfo",
                          {"storage": "local", "template": "debian-12"})
    log_path = f"/nodes/{NODE}/tasks/{upid}/log"

    def debootstrap_running():
        lines = [line["t"] for line in b.admin().data("GET", log_path, {"limit": 0})]
        return any(line.startswith("I: ") for line in lines) and build_dirs_left(b)
    wait_for(debootstrap_running, 120, "debootstrap to start")
    b.admin().data("DELETE", f"/nodes/{NODE}/tasks/{upid}")
    st = b.wait_task(upid, timeout=60)
    assert st["exitstatus"] != "OK"
    assert build_dirs_left(b) == []
    assert mounts_below(cache_dir(b)) == []
    assert not os.path.exists(os.path.join(cache_dir(b), debian_entry["template"]))


def test_cli_build_debian_12_with_debootstrap(shared_berth, debian_entry):
    b = shared_berth
    start = time.monotonic()
    r = b.cli("template", "build", "debian-12", check=True, timeout=1800)
    took = time.monotonic() - start
    no_sanitizer_reports(r.stdout + r.stderr)
    assert "I: Base system installed successfully." in r.stdout
    path = os.path.join(cache_dir(b), debian_entry["template"])
    print(f"\ndebian-12 template: {took:.0f} s, {os.path.getsize(path)} bytes", file=sys.stderr)
    assert build_dirs_left(b) == []
    assert mounts_below(cache_dir(b)) == []

    members, texts = tar_members(path)
    assert_safe_archive(members)
    assert members["bin"].issym() and members["bin"].linkname == "usr/bin"  # merged /usr
    assert members["usr/sbin/init"].issym()  # systemd-sysv
    assert members["usr/bin/systemctl"].isfile()
    for tool in ("usr/sbin/ifup", "usr/sbin/dhclient", "usr/bin/ip", "usr/bin/ping"):
        assert tool in members, tool
    os_release = texts.get("usr/lib/os-release") or texts["etc/os-release"]
    assert "ID=debian" in os_release.splitlines()
    assert 'VERSION_ID="12"' in os_release.splitlines()
    assert texts["etc/machine-id"] == ""
    assert texts["etc/resolv.conf"] == ""
    assert "bookworm" in texts["etc/apt/sources.list"]
    assert [n for n in members if n.startswith("var/cache/apt/archives/")
            and n.endswith(".deb")] == []
    assert [n for n in members if n.startswith("var/lib/apt/lists/")
            and members[n].isfile() and not n.endswith("/lock")] == []
    assert texts["etc/shadow"].startswith("root:*:")
