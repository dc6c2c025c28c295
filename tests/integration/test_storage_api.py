"""The storage API (proxmox-api.md §2.4, docs/storage.md): the configuration view
(/storage), per-node status (/nodes/{node}/storage), content (allocate, list, attributes,
delete), permissions, the guard against removing a storage a guest uses, and the CLI.
Hostile input lives in test_storage_hostile.py."""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.parse

import pytest

from conftest import JSON_CT, NODE, UPID_RE, wait_for

LOCAL_CONTENT = "backup,images,iso,rootdir,snippets,vztmpl"
SUBDIRS = ("template/iso", "template/cache", "images", "dump", "snippets")


def local_path(b):
    return os.path.join(b.root, "storage", "local")


def cfg_entry(b, sid):
    """GET /storage's entry for sid (as admin), or None."""
    for e in b.admin().data("GET", "/storage"):
        if e["storage"] == sid:
            return e
    return None


def node_entry(b, sid, session=None):
    for e in (session or b.admin()).data("GET", f"/nodes/{NODE}/storage"):
        if e["storage"] == sid:
            return e
    return None


def add_dir_storage(b, sid, **props):
    """POST /storage for a dir storage at <root>/<sid>; returns its path."""
    path = props.pop("path", os.path.join(b.root, "st-" + sid))
    params = {"storage": sid, "type": "dir", "path": path}
    params.update(props)
    d = b.admin().data("POST", "/storage", params)
    assert d == {"storage": sid, "type": "dir"}
    return path


def alloc(b, sid, vmid, filename, size, **extra):
    params = {"vmid": vmid, "filename": filename, "size": size}
    params.update(extra)
    return b.admin().data("POST", f"/nodes/{NODE}/storage/{sid}/content", params)


def qemu_img_info(path, fmt):
    p = subprocess.run(["qemu-img", "info", "-f", fmt, "--output=json", path],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def delete_volume(b, sid, volid, session=None):
    s = session or b.admin()
    r = s.delete(f"/nodes/{NODE}/storage/{sid}/content/{volid}")
    return r


def content_list(b, sid, **params):
    return b.admin().data("GET", f"/nodes/{NODE}/storage/{sid}/content", params or None)


# ---- store access (guest configs; there is no guest API yet) ----

def store_put(b, path, data):
    """Write path into <root>/config.db the way store.c does: in one IMMEDIATE transaction,
    bump the generation counter and upsert the row with that version and the sha1 digest."""
    data = data.encode() if isinstance(data, str) else data
    con = sqlite3.connect(os.path.join(b.root, "config.db"), timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        gen = con.execute("UPDATE counter SET generation = generation + 1 WHERE id = 0 "
                          "RETURNING generation").fetchone()[0]
        con.execute("INSERT INTO files (path, data, version, digest, mtime) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET "
                    "data = excluded.data, version = excluded.version, "
                    "digest = excluded.digest, mtime = excluded.mtime",
                    (path, data, gen, hashlib.sha1(data).hexdigest(), int(time.time())))
        con.execute("COMMIT")
    finally:
        con.close()


def store_del(b, path):
    con = sqlite3.connect(os.path.join(b.root, "config.db"), timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE counter SET generation = generation + 1 WHERE id = 0")
        con.execute("DELETE FROM files WHERE path = ?", (path,))
        con.execute("COMMIT")
    finally:
        con.close()


# ==== the configuration view (/storage) ====

def test_first_start_has_local_dir_storage(berth):
    b = berth
    entries = b.admin().data("GET", "/storage")
    assert [e["storage"] for e in entries] == ["local"]
    local = entries[0]
    assert local["type"] == "dir"
    assert local["path"] == local_path(b)
    assert local["content"] == LOCAL_CONTENT
    assert local["shared"] == 0 and isinstance(local["shared"], int)
    assert len(local["digest"]) == 40 and int(local["digest"], 16) >= 0
    assert os.path.isdir(local_path(b))
    assert "dir: local\n" in b.store_files()["storage.cfg"].decode()


def test_local_gets_pve_directory_layout_when_activated(berth):
    """PVE activates storages when it reports their status (storage_info ->
    activate_storage_list), which makes the content subdirectories of a dir storage; users
    copy ISOs into <local>/template/iso expecting it to exist."""
    b = berth
    assert node_entry(b, "local")["active"] == 1
    b.admin().data("GET", f"/nodes/{NODE}/storage/local/content")
    missing = [sub for sub in SUBDIRS if not os.path.isdir(os.path.join(local_path(b), sub))]
    assert not missing, f"local lacks {missing} after status and content listing"


def test_deleted_storage_directory_is_recreated_on_activation(shared_berth):
    """create-base-path defaults to on: a storage whose directory went away comes back on
    the next status query (PVE's activate_storage), instead of staying inactive."""
    b = shared_berth
    path = add_dir_storage(b, "gone1")
    shutil.rmtree(path)
    e = node_entry(b, "gone1")
    assert e["active"] == 1 and os.path.isdir(os.path.join(path, "images")), e


def test_get_one_storage_equals_its_list_entry(shared_berth):
    b = shared_berth
    one = b.admin().data("GET", "/storage/local")
    assert one == cfg_entry(b, "local")
    r = b.admin().get("/storage/nosuchstore")
    assert r.status == 500 and "does not exist" in r.reason


def test_type_filter(shared_berth):
    b = shared_berth
    assert [e["storage"] for e in b.admin().data("GET", "/storage", {"type": "dir"})] \
        == [e["storage"] for e in b.admin().data("GET", "/storage")]
    assert b.admin().data("GET", "/storage", {"type": "btrfs"}) == []
    r = b.admin().get("/storage", {"type": "lvm"})
    assert r.status == 400 and "type" in r.json()["errors"]


def test_create_dir_storage_makes_path_and_subdirs(shared_berth):
    b = shared_berth
    path = os.path.join(b.root, "created", "deep")
    add_dir_storage(b, "cr1", path=path, content="images,iso,vztmpl", shared=1)
    for sub in ("images", "template/iso", "template/cache"):
        assert os.path.isdir(os.path.join(path, sub)), sub
    e = cfg_entry(b, "cr1")
    assert e["type"] == "dir" and e["path"] == path
    assert e["content"] == "images,iso,vztmpl"
    assert e["shared"] == 1 and isinstance(e["shared"], int)
    one = b.admin().data("GET", "/storage/cr1")
    assert one == e
    text = b.store_files()["storage.cfg"].decode()
    assert "dir: cr1\n" in text and f"\tpath {path}\n" in text


def test_create_makes_all_pve_subdirs(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "cr-all")
    for sub in SUBDIRS:
        assert os.path.isdir(os.path.join(path, sub)), sub


def test_content_is_a_sorted_comma_list(shared_berth):
    b = shared_berth
    add_dir_storage(b, "sorted1", content="vztmpl,images,backup,iso")
    assert cfg_entry(b, "sorted1")["content"] == "backup,images,iso,vztmpl"
    assert node_entry(b, "sorted1")["content"] == "backup,images,iso,vztmpl"


def test_create_without_subdirs_and_base_path(shared_berth):
    b = shared_berth
    path = os.path.join(b.root, "nosub")
    os.makedirs(path)
    add_dir_storage(b, "nosub", path=path, **{"create-subdirs": 0})
    assert os.listdir(path) == []
    path2 = os.path.join(b.root, "nobase-missing")
    before = b.store_files()["storage.cfg"]
    # as in PVE: creation activates the storage, which fails when the directory is missing
    # and may not be made; nothing is stored then
    r = b.admin().post("/storage", {"storage": "nobase", "type": "dir", "path": path2,
                                    "create-base-path": 0})
    assert r.status == 500 and "does not exist" in r.reason, r.status_line
    assert not os.path.exists(path2)
    assert b.store_files()["storage.cfg"] == before
    # disabled, it is accepted (not activated) and not active
    add_dir_storage(b, "nobase", path=path2, disable=1, **{"create-base-path": 0})
    assert not os.path.exists(path2)
    assert cfg_entry(b, "nobase")["create-base-path"] == 0
    b.admin().data("PUT", "/storage/nobase", {"delete": "disable"})
    assert node_entry(b, "nobase")["active"] == 0
    assert not os.path.exists(path2)


def test_create_with_all_dir_properties_round_trips(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "props1", content="images,rootdir", nodes=NODE,
                           format="qcow2", **{"prune-backups": "keep-last=3",
                                              "max-protected-backups": 5, "disable": 0,
                                              "shared": 0})
    e = cfg_entry(b, "props1")
    assert e["nodes"] == NODE
    assert e["format"] == "qcow2"
    assert e["prune-backups"] == "keep-last=3"
    assert e["max-protected-backups"] == 5
    assert e["disable"] == 0 and e["shared"] == 0
    assert e["path"] == path


def test_duplicate_id_is_refused_and_config_unchanged(shared_berth):
    b = shared_berth
    add_dir_storage(b, "dup1")
    before = b.store_files()["storage.cfg"]
    r = b.admin().post("/storage", {"storage": "dup1", "type": "dir",
                                    "path": os.path.join(b.root, "other")})
    assert r.status == 500, r.status_line
    assert "already defined" in r.reason
    assert b.store_files()["storage.cfg"] == before
    assert not os.path.exists(os.path.join(b.root, "other"))
    r = b.admin().post("/storage", {"storage": "local", "type": "dir",
                                    "path": os.path.join(b.root, "other")})
    assert r.status == 500 and "already defined" in r.reason


def test_property_the_type_does_not_have_is_a_parameter_error(shared_berth):
    b = shared_berth
    before = b.store_files()["storage.cfg"]
    r = b.admin().post("/storage", {"storage": "nocow1", "type": "dir",
                                    "path": os.path.join(b.root, "nocow1"), "nocow": 1})
    assert r.status == 400 and r.reason == "Parameter verification failed."
    assert "nocow" in r.json()["errors"]
    r = b.admin().post("/storage", {"storage": "frob1", "type": "dir",
                                    "path": os.path.join(b.root, "frob1"), "frob": 1})
    assert r.status == 400 and "frob" in r.json()["errors"]
    assert b.store_files()["storage.cfg"] == before
    assert not os.path.exists(os.path.join(b.root, "nocow1"))


def test_missing_path_or_type_is_a_parameter_error(shared_berth):
    b = shared_berth
    r = b.admin().post("/storage", {"storage": "nopath", "type": "dir"})
    assert r.status == 400 and "path" in r.json()["errors"]
    r = b.admin().post("/storage", {"storage": "notype", "path": "/tmp/x-notype"})
    assert r.status == 400 and "type" in r.json()["errors"]
    r = b.admin().post("/storage", {"storage": "badtype", "type": "lvmthin",
                                    "path": "/tmp/x-badtype"})
    assert r.status == 400 and "type" in r.json()["errors"]
    assert cfg_entry(b, "nopath") is None and cfg_entry(b, "badtype") is None


def test_unknown_content_type_is_refused(shared_berth):
    b = shared_berth
    r = b.admin().post("/storage", {"storage": "ct1", "type": "dir",
                                    "path": os.path.join(b.root, "ct1"),
                                    "content": "images,bogus"})
    assert r.status == 400 and "content" in r.json()["errors"]
    assert cfg_entry(b, "ct1") is None


def test_content_the_type_cannot_hold_is_refused(shared_berth):
    """dir holds every content type PVE has for files; 'none' mixed with another type and an
    empty list are not content a dir storage can hold."""
    b = shared_berth
    for content in ("none,images", ","):
        r = b.admin().post("/storage", {"storage": "ct2", "type": "dir",
                                        "path": os.path.join(b.root, "ct2"),
                                        "content": content})
        assert r.status == 400, (content, r.status_line)
    assert cfg_entry(b, "ct2") is None


def test_update_changes_and_deletes_properties(shared_berth):
    b = shared_berth
    add_dir_storage(b, "upd1", content="images")
    d = b.admin().data("PUT", "/storage/upd1", {"content": "iso,images", "shared": 1,
                                                "nodes": NODE})
    assert d == {"storage": "upd1", "type": "dir"}
    e = cfg_entry(b, "upd1")
    assert e["content"] == "images,iso" and e["shared"] == 1 and e["nodes"] == NODE
    b.admin().data("PUT", "/storage/upd1", {"delete": "nodes,shared"})
    e = cfg_entry(b, "upd1")
    assert "nodes" not in e and "shared" not in e
    assert e["content"] == "images,iso"


def test_update_with_current_digest_works_and_stale_digest_fails(shared_berth):
    b = shared_berth
    add_dir_storage(b, "dig1")
    digest = cfg_entry(b, "dig1")["digest"]
    b.admin().data("PUT", "/storage/dig1", {"shared": 1, "digest": digest})
    assert cfg_entry(b, "dig1")["shared"] == 1
    before = b.store_files()["storage.cfg"]
    r = b.admin().put("/storage/dig1", {"shared": 0, "digest": digest})  # now stale
    assert r.status == 500, r.status_line
    assert "detected modified configuration" in r.reason
    assert b.store_files()["storage.cfg"] == before
    assert cfg_entry(b, "dig1")["shared"] == 1


def test_update_cannot_change_or_delete_the_fixed_path(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "fix1")
    r = b.admin().put("/storage/fix1", {"path": "/tmp/elsewhere"})
    assert r.status == 400 and "path" in r.json()["errors"]
    r = b.admin().put("/storage/fix1", {"delete": "path"})
    assert r.status == 400, r.status_line
    assert cfg_entry(b, "fix1")["path"] == path


def test_update_set_and_delete_same_property_is_refused(shared_berth):
    b = shared_berth
    add_dir_storage(b, "setdel")
    r = b.admin().put("/storage/setdel", {"shared": 1, "delete": "shared"})
    assert r.status == 400, r.status_line
    assert "shared" not in cfg_entry(b, "setdel")


def test_update_of_missing_storage_fails(shared_berth):
    r = shared_berth.admin().put("/storage/nosuch9", {"shared": 1})
    assert r.status == 500 and "does not exist" in r.reason


def test_delete_storage_removes_config_but_not_data(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "del1")
    vol = alloc(b, "del1", 101, "vm-101-disk-0.raw", "1024")
    assert vol == "del1:101/vm-101-disk-0.raw"
    assert b.admin().data("DELETE", "/storage/del1") is None
    assert cfg_entry(b, "del1") is None
    assert "dir: del1" not in b.store_files()["storage.cfg"].decode()
    # PVE leaves the data where it is
    assert os.path.exists(os.path.join(path, "images", "101", "vm-101-disk-0.raw"))
    r = b.admin().delete("/storage/del1")
    assert r.status == 500 and "does not exist" in r.reason


# ==== per-node status ====

def test_node_storage_index_fields(shared_berth):
    b = shared_berth
    e = node_entry(b, "local")
    assert e["type"] == "dir" and e["content"] == LOCAL_CONTENT
    assert e["enabled"] == 1 and e["active"] == 1 and e["shared"] == 0
    for k in ("total", "used", "avail"):
        assert isinstance(e[k], int) and e[k] >= 0, k
    assert e["total"] > 0 and e["used"] <= e["total"] and e["avail"] <= e["total"]
    assert 0 <= e["used_fraction"] <= 1
    assert abs(e["used_fraction"] - e["used"] / e["total"]) < 1e-3
    st = os.statvfs(local_path(b))
    assert abs(e["total"] - st.f_blocks * st.f_frsize) <= st.f_frsize * 1024


def test_node_storage_filters(shared_berth):
    b = shared_berth
    add_dir_storage(b, "flt-img", content="images")
    add_dir_storage(b, "flt-off", content="iso", disable=1)
    path = f"/nodes/{NODE}/storage"
    ids = lambda p=None: [e["storage"] for e in b.admin().data("GET", path, p)]  # noqa: E731
    assert {"local", "flt-img", "flt-off"} <= set(ids())
    assert ids({"storage": "flt-img"}) == ["flt-img"]
    iso = ids({"content": "iso"})
    assert "local" in iso and "flt-off" in iso and "flt-img" not in iso
    img = ids({"content": "images"})
    assert "flt-img" in img and "local" in img and "flt-off" not in img
    enabled = ids({"enabled": 1})
    assert "flt-off" not in enabled and "local" in enabled and "flt-img" in enabled
    r = b.admin().get(path, {"content": "bogus"})
    assert r.status == 400 and "content" in r.json()["errors"]


def test_disabled_storage_is_inactive_without_figures(shared_berth):
    b = shared_berth
    add_dir_storage(b, "off1")
    assert node_entry(b, "off1")["active"] == 1
    b.admin().data("PUT", "/storage/off1", {"disable": 1})
    e = node_entry(b, "off1")
    assert e["enabled"] == 0 and e["active"] == 0
    for k in ("total", "used", "avail", "used_fraction"):
        assert k not in e, k
    st = b.admin().data("GET", f"/nodes/{NODE}/storage/off1/status")
    assert st["active"] == 0 and st["enabled"] == 0 and "total" not in st
    assert cfg_entry(b, "off1")["disable"] == 1
    b.admin().data("PUT", "/storage/off1", {"delete": "disable"})
    assert node_entry(b, "off1")["active"] == 1


def test_storage_status_and_index(shared_berth):
    b = shared_berth
    st = b.admin().data("GET", f"/nodes/{NODE}/storage/local/status")
    assert st["type"] == "dir" and st["active"] == 1 and st["enabled"] == 1
    assert st["content"] == LOCAL_CONTENT and st["total"] > 0
    assert "storage" not in st or st["storage"] == "local"
    idx = b.admin().data("GET", f"/nodes/{NODE}/storage/local")
    subdirs = {e["subdir"] for e in idx}
    assert {"content", "status", "upload"} <= subdirs
    # as PVE's read_status: a parameter error
    r = b.admin().get(f"/nodes/{NODE}/storage/nosuch/status")
    assert r.status == 400, r.status_line
    assert r.json()["errors"]["storage"] == "No such storage."


def test_localhost_is_this_node(shared_berth):
    b = shared_berth
    a = b.admin().data("GET", "/nodes/localhost/storage/local/status")
    assert a["type"] == "dir" and a["active"] == 1


def test_cluster_resources_storage_entries(shared_berth):
    b = shared_berth
    res = b.admin().data("GET", "/cluster/resources", {"type": "storage"})
    assert res and all(r["type"] == "storage" for r in res)
    local = [r for r in res if r["storage"] == "local"]
    assert len(local) == 1
    e = local[0]
    assert e["id"] == f"storage/{NODE}/local"
    assert e["node"] == NODE and e["plugintype"] == "dir"
    assert e["status"] == "available"
    assert isinstance(e["disk"], int) and isinstance(e["maxdisk"], int)
    assert 0 <= e["disk"] <= e["maxdisk"] and e["maxdisk"] > 0
    everything = b.admin().data("GET", "/cluster/resources")
    assert any(r.get("id") == f"storage/{NODE}/local" for r in everything)


def test_cluster_resources_disabled_storage_not_available(shared_berth):
    b = shared_berth
    add_dir_storage(b, "resoff", disable=1)
    res = b.admin().data("GET", "/cluster/resources", {"type": "storage"})
    e = [r for r in res if r["storage"] == "resoff"][0]
    assert e["status"] != "available"
    assert "maxdisk" not in e or e["maxdisk"] == 0


# ==== content ====

def test_allocate_qcow2_in_all_size_units(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "alloc1")
    for i, (size, nbytes) in enumerate([("1G", 1 << 30), ("4096", 4096 * 1024),
                                         ("10M", 10 << 20)]):
        name = f"vm-100-disk-{i}.qcow2"
        vol = alloc(b, "alloc1", 100, name, size)
        assert vol == f"alloc1:100/{name}"
        f = os.path.join(path, "images", "100", name)
        assert os.path.isfile(f)
        info = qemu_img_info(f, "qcow2")
        assert info["format"] == "qcow2" and info["virtual-size"] == nbytes, (size, info)


def test_allocate_on_local_gives_pve_volid(berth):
    b = berth
    vol = alloc(b, "local", 100, "vm-100-disk-0.qcow2", "1G")
    assert vol == "local:100/vm-100-disk-0.qcow2"
    f = os.path.join(local_path(b), "images", "100", "vm-100-disk-0.qcow2")
    assert qemu_img_info(f, "qcow2")["virtual-size"] == 1 << 30


def test_allocate_raw_and_format_parameter(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "alloc2")
    vol = alloc(b, "alloc2", 100, "vm-100-disk-0.raw", "10M")
    f = os.path.join(path, "images", "100", "vm-100-disk-0.raw")
    assert vol == "alloc2:100/vm-100-disk-0.raw"
    assert os.path.getsize(f) == 10 << 20
    assert qemu_img_info(f, "raw")["virtual-size"] == 10 << 20
    vol = alloc(b, "alloc2", 100, "vm-100-disk-1.qcow2", "10M", format="qcow2")
    assert vol == "alloc2:100/vm-100-disk-1.qcow2"
    # the extension and format must agree
    r = b.admin().post(f"/nodes/{NODE}/storage/alloc2/content",
                       {"vmid": 100, "filename": "vm-100-disk-2.raw", "size": "1M",
                        "format": "qcow2"})
    assert r.status == 400, r.status_line
    assert not os.path.exists(os.path.join(path, "images", "100", "vm-100-disk-2.raw"))


def test_allocate_existing_name_fails_and_keeps_file(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "alloc3")
    alloc(b, "alloc3", 100, "vm-100-disk-0.raw", "1M")
    f = os.path.join(path, "images", "100", "vm-100-disk-0.raw")
    with open(f, "r+b") as fh:
        fh.write(b"KEEPME")
    r = b.admin().post(f"/nodes/{NODE}/storage/alloc3/content",
                       {"vmid": 100, "filename": "vm-100-disk-0.raw", "size": "2M"})
    assert r.status in (400, 500) and r.status != 200, r.status_line
    assert os.path.getsize(f) == 1 << 20
    with open(f, "rb") as fh:
        assert fh.read(6) == b"KEEPME"


def test_allocate_name_must_match_vmid(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "alloc4")
    r = b.admin().post(f"/nodes/{NODE}/storage/alloc4/content",
                       {"vmid": 100, "filename": "vm-101-disk-0.raw", "size": "1M"})
    assert r.status == 400, r.status_line
    assert not os.path.exists(os.path.join(path, "images", "100", "vm-101-disk-0.raw"))
    assert not os.path.exists(os.path.join(path, "images", "101"))


def test_allocate_bad_size_is_a_parameter_error(shared_berth):
    b = shared_berth
    for size in ("1T", "-5", "abc", "1.5G", ""):
        r = b.admin().post(f"/nodes/{NODE}/storage/local/content",
                           {"vmid": 100, "filename": "vm-100-disk-77.raw", "size": size})
        assert r.status == 400, (size, r.status_line)
    assert not os.path.exists(
        os.path.join(local_path(b), "images", "100", "vm-100-disk-77.raw"))


def test_content_list_fields_and_filters(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "list1")
    alloc(b, "list1", 100, "vm-100-disk-0.qcow2", "1G")
    alloc(b, "list1", 200, "vm-200-disk-0.raw", "1M")
    os.makedirs(os.path.join(path, "template", "iso"), exist_ok=True)
    with open(os.path.join(path, "template", "iso", "x.iso"), "wb") as f:
        f.write(b"\0" * 12345)
    with open(os.path.join(path, "template", "cache", "x.tar.zst"), "wb") as f:
        f.write(b"\0" * 777)
    items = {e["volid"]: e for e in content_list(b, "list1")}
    assert set(items) == {"list1:100/vm-100-disk-0.qcow2", "list1:200/vm-200-disk-0.raw",
                          "list1:iso/x.iso", "list1:vztmpl/x.tar.zst"}
    q = items["list1:100/vm-100-disk-0.qcow2"]
    assert q["content"] == "images" and q["format"] == "qcow2"
    assert q["size"] == 1 << 30 and q["vmid"] == 100 and isinstance(q["vmid"], int)
    assert isinstance(q["ctime"], int) and abs(q["ctime"] - time.time()) < 600
    r = items["list1:200/vm-200-disk-0.raw"]
    assert r["format"] == "raw" and r["size"] == 1 << 20 and r["vmid"] == 200
    iso = items["list1:iso/x.iso"]
    assert iso["content"] == "iso" and iso["format"] == "iso" and iso["size"] == 12345
    assert "vmid" not in iso
    tmpl = items["list1:vztmpl/x.tar.zst"]
    assert tmpl["content"] == "vztmpl" and tmpl["format"] == "tzst" and tmpl["size"] == 777

    assert {e["volid"] for e in content_list(b, "list1", content="images")} == {
        "list1:100/vm-100-disk-0.qcow2", "list1:200/vm-200-disk-0.raw"}
    assert [e["volid"] for e in content_list(b, "list1", vmid=100)] == [
        "list1:100/vm-100-disk-0.qcow2"]
    assert [e["volid"] for e in content_list(b, "list1", content="iso")] == ["list1:iso/x.iso"]
    assert [e["volid"] for e in content_list(b, "list1", content="vztmpl")] == [
        "list1:vztmpl/x.tar.zst"]
    assert content_list(b, "list1", content="backup") == []
    r = b.admin().get(f"/nodes/{NODE}/storage/list1/content", {"content": "bogus"})
    assert r.status == 400 and "content" in r.json()["errors"]


def test_content_list_of_missing_storage(shared_berth):
    r = shared_berth.admin().get(f"/nodes/{NODE}/storage/nosuch/content")
    assert r.status == 500 and "does not exist" in r.reason


def test_iso_and_template_on_local(berth):
    b = berth
    iso_dir = os.path.join(local_path(b), "template", "iso")
    cache_dir = os.path.join(local_path(b), "template", "cache")
    os.makedirs(iso_dir, exist_ok=True)
    os.makedirs(cache_dir, exist_ok=True)
    open(os.path.join(iso_dir, "x.iso"), "wb").write(b"iso")
    open(os.path.join(cache_dir, "x.tar.zst"), "wb").write(b"tmpl")
    items = {e["volid"]: e for e in content_list(b, "local")}
    assert items["local:iso/x.iso"]["format"] == "iso"
    assert items["local:iso/x.iso"]["content"] == "iso"
    assert items["local:vztmpl/x.tar.zst"]["format"] == "tzst"
    assert items["local:vztmpl/x.tar.zst"]["content"] == "vztmpl"
    info = b.admin().data("GET", f"/nodes/{NODE}/storage/local/content/local:iso/x.iso")
    assert info["path"] == os.path.join(iso_dir, "x.iso") and info["format"] == "iso"
    assert info["size"] == 3


def test_volume_attributes_in_every_spelling(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "attr1")
    alloc(b, "attr1", 100, "vm-100-disk-0.qcow2", "1G")
    want_path = os.path.join(path, "images", "100", "vm-100-disk-0.qcow2")
    base = f"/api2/json/nodes/{NODE}/storage/attr1/content/"
    h = b.admin().headers("GET")
    spellings = ["attr1:100/vm-100-disk-0.qcow2",
                 urllib.parse.quote("attr1:100/vm-100-disk-0.qcow2", safe=""),
                 "attr1%3A100/vm-100-disk-0.qcow2",
                 "100/vm-100-disk-0.qcow2",
                 "100%2Fvm-100-disk-0.qcow2"]
    assert spellings[1] == "attr1%3A100%2Fvm-100-disk-0.qcow2"
    for sp in spellings:
        r = b.request("GET", base + sp, headers=h)
        assert r.status == 200, (sp, r.status_line)
        assert r.headers["content-type"] == JSON_CT
        d = r.json()["data"]
        assert d["path"] == want_path, sp
        assert d["size"] == 1 << 30 and d["format"] == "qcow2", sp
        assert isinstance(d["used"], int) and 0 < d["used"] < 1 << 30, sp
    # proxmoxer: volume id as one path element
    api = b.api()
    d = api.nodes(NODE).storage("attr1").content("attr1:100/vm-100-disk-0.qcow2").get()
    assert d["path"] == want_path


def test_volume_of_another_storage_in_the_url_is_refused(shared_berth):
    b = shared_berth
    add_dir_storage(b, "attr2")
    alloc(b, "attr2", 100, "vm-100-disk-0.raw", "1M")
    r = b.admin().get(f"/nodes/{NODE}/storage/local/content/attr2:100/vm-100-disk-0.raw")
    assert r.status == 400, r.status_line


def test_missing_volume(shared_berth):
    b = shared_berth
    r = b.admin().get(f"/nodes/{NODE}/storage/local/content/local:100/vm-100-disk-99.qcow2")
    assert r.status == 500 and "does not exist" in r.reason, r.status_line


def test_delete_volume_is_a_task_and_removes_the_file(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "rm1")
    vol = alloc(b, "rm1", 100, "vm-100-disk-0.qcow2", "1G")
    f = os.path.join(path, "images", "100", "vm-100-disk-0.qcow2")
    assert os.path.exists(f)
    r = delete_volume(b, "rm1", vol)
    assert r.status == 200, r.status_line
    upid = r.json()["data"]
    m = UPID_RE.match(upid)
    assert m and m.group(6) == "imgdel", upid
    st = b.wait_task(upid)
    assert st["exitstatus"] == "OK"
    assert not os.path.exists(f)
    assert all(e["volid"] != vol for e in content_list(b, "rm1"))
    # deleting it again: the task (or the call) fails
    r = delete_volume(b, "rm1", vol)
    if r.status == 200:
        assert b.wait_task(r.json()["data"])["exitstatus"] != "OK"
    else:
        assert r.status in (400, 500)


def test_delete_volume_encoded_and_via_proxmoxer(shared_berth):
    b = shared_berth
    path = add_dir_storage(b, "rm2")
    alloc(b, "rm2", 100, "vm-100-disk-0.raw", "1M")
    alloc(b, "rm2", 100, "vm-100-disk-1.raw", "1M")
    enc = urllib.parse.quote("rm2:100/vm-100-disk-0.raw", safe="")
    r = b.request("DELETE", f"/api2/json/nodes/{NODE}/storage/rm2/content/{enc}",
                  headers=b.admin().headers("DELETE"))
    assert r.status == 200, r.status_line
    assert b.wait_task(r.json()["data"])["exitstatus"] == "OK"
    assert not os.path.exists(os.path.join(path, "images", "100", "vm-100-disk-0.raw"))
    upid = b.api().nodes(NODE).storage("rm2").content("rm2:100/vm-100-disk-1.raw").delete()
    assert b.wait_task(upid)["exitstatus"] == "OK"
    assert not os.path.exists(os.path.join(path, "images", "100", "vm-100-disk-1.raw"))


def test_delete_iso(berth):
    b = berth
    iso_dir = os.path.join(local_path(b), "template", "iso")
    os.makedirs(iso_dir, exist_ok=True)
    f = os.path.join(iso_dir, "gone.iso")
    open(f, "wb").write(b"x")
    r = delete_volume(b, "local", "local:iso/gone.iso")
    assert r.status == 200, r.status_line
    assert b.wait_task(r.json()["data"])["exitstatus"] == "OK"
    assert not os.path.exists(f)


def test_proxmoxer_content_round_trip(shared_berth):
    b = shared_berth
    add_dir_storage(b, "pxm1")
    api = b.api()
    vol = api.nodes(NODE).storage("pxm1").content.post(vmid=300, filename="vm-300-disk-0.qcow2",
                                                       size="1G")
    assert vol == "pxm1:300/vm-300-disk-0.qcow2"
    lst = api.nodes(NODE).storage("pxm1").content.get(content="images", vmid=300)
    assert [e["volid"] for e in lst] == [vol]
    assert [e["storage"] for e in api.storage.get(type="dir")].count("pxm1") == 1


# ==== permissions ====

def make_audit_user(b, userid, path="/storage/local"):
    if "DSAuditOnly" not in {r["roleid"] for r in b.admin().data("GET", "/access/roles")}:
        b.admin().data("POST", "/access/roles", {"roleid": "DSAuditOnly",
                                                 "privs": "Datastore.Audit"})
    b.add_user(userid, "pw-" + userid, acl=[(path, "DSAuditOnly")])
    return b.session(userid, "pw-" + userid)


def test_datastore_audit_user_can_look_but_not_touch(berth):
    b = berth
    vol = alloc(b, "local", 100, "vm-100-disk-0.qcow2", "10M")
    f = os.path.join(local_path(b), "images", "100", "vm-100-disk-0.qcow2")
    iso_dir = os.path.join(local_path(b), "template", "iso")
    os.makedirs(iso_dir, exist_ok=True)
    open(os.path.join(iso_dir, "a.iso"), "wb").write(b"a")
    add_dir_storage(b, "hidden1")
    u = make_audit_user(b, "aud@pve")

    assert [e["storage"] for e in u.data("GET", "/storage")] == ["local"]
    assert [e["storage"] for e in u.data("GET", f"/nodes/{NODE}/storage")] == ["local"]
    res = u.data("GET", "/cluster/resources", {"type": "storage"})
    assert [e["storage"] for e in res] == ["local"]
    assert u.data("GET", f"/nodes/{NODE}/storage/local/status")["active"] == 1
    vols = {e["volid"] for e in u.data("GET", f"/nodes/{NODE}/storage/local/content")}
    assert vol in vols and "local:iso/a.iso" in vols
    # iso: readable with Datastore.Audit
    assert u.data("GET", f"/nodes/{NODE}/storage/local/content/local:iso/a.iso")["size"] == 1
    # images: need VM.Config.Disk on /vms/100 too
    r = u.get(f"/nodes/{NODE}/storage/local/content/{vol}")
    assert r.status == 403, r.status_line
    # GET /storage/{id} needs Datastore.Allocate
    assert u.get("/storage/local").status == 403
    # other storage: invisible and forbidden
    assert u.get(f"/nodes/{NODE}/storage/hidden1/content").status == 403
    assert u.get(f"/nodes/{NODE}/storage/hidden1/status").status == 403

    r = u.post(f"/nodes/{NODE}/storage/local/content",
               {"vmid": 100, "filename": "vm-100-disk-9.qcow2", "size": "1M"})
    assert r.status == 403, r.status_line
    assert not os.path.exists(os.path.join(local_path(b), "images", "100",
                                           "vm-100-disk-9.qcow2"))
    r = u.delete(f"/nodes/{NODE}/storage/local/content/{vol}")
    assert r.status == 403, r.status_line
    r = u.delete(f"/nodes/{NODE}/storage/local/content/local:iso/a.iso")
    assert r.status == 403, r.status_line
    time.sleep(0.5)
    assert os.path.exists(f) and os.path.exists(os.path.join(iso_dir, "a.iso"))
    # no task was started for the refused deletes
    tasks = b.admin().data("GET", f"/nodes/{NODE}/tasks", {"typefilter": "imgdel"})
    assert not [t for t in tasks if t.get("user") == "aud@pve"]
    # config changes need Datastore.Allocate on /storage
    assert u.post("/storage", {"storage": "audx", "type": "dir",
                               "path": os.path.join(b.root, "audx")}).status == 403
    assert u.put("/storage/local", {"shared": 1}).status == 403
    assert u.delete("/storage/local").status == 403
    assert cfg_entry(b, "audx") is None and cfg_entry(b, "local") is not None
    assert not os.path.exists(os.path.join(b.root, "audx"))


def test_user_without_storage_privileges_sees_no_storage(shared_berth):
    b = shared_berth
    b.add_user("nostore@pve", "pw-nostore", acl=[("/vms", "PVEVMAdmin")])
    u = b.session("nostore@pve", "pw-nostore")
    assert u.data("GET", "/storage") == []
    assert u.data("GET", f"/nodes/{NODE}/storage") == []
    assert u.data("GET", "/cluster/resources", {"type": "storage"}) == []
    assert u.get(f"/nodes/{NODE}/storage/local/content").status == 403
    assert u.get(f"/nodes/{NODE}/storage/local/status").status == 403
    r = u.post(f"/nodes/{NODE}/storage/local/content",
               {"vmid": 100, "filename": "vm-100-disk-5.raw", "size": "1M"})
    assert r.status == 403


def test_allocate_space_user_can_allocate_but_not_delete(berth):
    b = berth
    b.add_user("space@pve", "pw-space", acl=[("/storage/local", "PVEDatastoreUser")])
    u = b.session("space@pve", "pw-space")
    vol = u.data("POST", f"/nodes/{NODE}/storage/local/content",
                 {"vmid": 100, "filename": "vm-100-disk-0.raw", "size": "1M"})
    assert vol == "local:100/vm-100-disk-0.raw"
    r = u.delete(f"/nodes/{NODE}/storage/local/content/{vol}")
    assert r.status == 403, r.status_line
    assert os.path.exists(os.path.join(local_path(b), "images", "100", "vm-100-disk-0.raw"))


# ==== a storage a guest uses ====

@pytest.mark.parametrize("kind,key", [("qemu-server", "scsi0"), ("lxc", "rootfs")])
def test_storage_used_by_a_guest_cannot_be_removed(berth, kind, key):
    b = berth
    add_dir_storage(b, "mystore")
    conf = f"nodes/{NODE}/{kind}/100.conf"
    value = ("mystore:100/vm-100-disk-0.qcow2,size=1G" if kind == "qemu-server"
             else "mystore:100/vm-100-disk-0.raw,size=8G")
    store_put(b, conf, f"cores: 1\n{key}: {value}\n")
    assert conf in b.store_files()
    before = b.store_files()["storage.cfg"]
    r = b.admin().delete("/storage/mystore")
    assert r.status == 400, r.status_line
    assert "can't remove storage" in r.reason
    assert b.store_files()["storage.cfg"] == before
    assert cfg_entry(b, "mystore") is not None
    store_del(b, conf)
    assert conf not in b.store_files()
    assert b.admin().data("DELETE", "/storage/mystore") is None
    assert cfg_entry(b, "mystore") is None


def test_reference_in_a_snapshot_section_or_unused_disk_also_counts(berth):
    b = berth
    add_dir_storage(b, "snapref")
    conf = f"nodes/{NODE}/qemu-server/101.conf"
    store_put(b, conf, "cores: 1\nscsi0: local:101/vm-101-disk-0.raw,size=1G\n"
                       "unused0: snapref:101/vm-101-disk-1.raw\n")
    r = b.admin().delete("/storage/snapref")
    assert r.status == 400 and "can't remove storage" in r.reason


def test_other_storage_prefix_does_not_block_removal(berth):
    """A guest on 'mystore2' (or naming 'mystore' only in a description) does not pin
    'mystore'."""
    b = berth
    add_dir_storage(b, "mystore")
    add_dir_storage(b, "mystore2")
    store_put(b, f"nodes/{NODE}/qemu-server/102.conf",
              "cores: 1\nscsi0: mystore2:102/vm-102-disk-0.raw,size=1G\n")
    r = b.admin().delete("/storage/mystore2")
    assert r.status == 400
    assert b.admin().data("DELETE", "/storage/mystore") is None


# ==== the CLI ====

def test_cli_storage_config_and_content(berth):
    b = berth
    text = b.cli("get", "/storage", check=True).stdout
    assert "local" in text and "dir" in text
    path = os.path.join(b.root, "cli-s2")
    b.cli("create", "/storage", "--storage", "s2", "--type", "dir", "--path", path,
          "--content", "images,iso", check=True)
    assert os.path.isdir(os.path.join(path, "images"))
    cfg = {e["storage"]: e for e in b.cli_json("get", "/storage")}
    assert cfg["s2"]["path"] == path and cfg["s2"]["content"] == "images,iso"
    b.cli("set", "/storage/s2", "--shared", "1", check=True)
    assert cfg_entry(b, "s2")["shared"] == 1
    vol = b.cli_json("create", "/nodes/localhost/storage/s2/content", "--vmid", "100",
                     "--filename", "vm-100-disk-0.qcow2", "--size", "1M")
    assert vol == "s2:100/vm-100-disk-0.qcow2"
    lst = b.cli_json("get", "/nodes/localhost/storage/s2/content")
    assert [e["volid"] for e in lst] == [vol]
    r = b.cli("get", "/nodes/localhost/storage/local/content", "--output-format", "json",
              check=True)
    assert isinstance(json.loads(r.stdout), list)
    info = b.cli_json("get", f"/nodes/localhost/storage/s2/content/{vol}")
    assert info["format"] == "qcow2" and info["size"] == 1 << 20
    b.cli("delete", f"/nodes/localhost/storage/s2/content/{vol}", check=True)
    wait_for(lambda: not os.path.exists(os.path.join(path, "images", "100",
                                                     "vm-100-disk-0.qcow2")),
             30, "the volume to go")
    b.cli("delete", "/storage/s2", check=True)
    assert cfg_entry(b, "s2") is None
    r = b.cli("create", "/storage", "--storage", "s3", "--type", "dir", "--path", "rel/x")
    assert r.returncode != 0 and "400" in (r.stderr + r.stdout)


# ==== persistence ====

def test_config_survives_restart(berth):
    b = berth
    path = add_dir_storage(b, "persist1", content="iso")
    alloc(b, "local", 100, "vm-100-disk-0.raw", "1M")
    digest = cfg_entry(b, "persist1")["digest"]
    b.restart()
    b._admin_session = None
    e = cfg_entry(b, "persist1")
    assert e["path"] == path and e["content"] == "iso" and e["digest"] == digest
    assert [v["volid"] for v in content_list(b, "local", vmid=100)] == [
        "local:100/vm-100-disk-0.raw"]


# ==== error texts, node restriction, concurrency ====

@pytest.mark.parametrize("params,needle", [
    ({"vmid": 100, "filename": "foo.raw", "size": "1M"}, "illegal name"),
    ({"vmid": 100, "filename": "base-100-disk-3.raw", "size": "1M"}, "illegal name"),
    ({"vmid": 100, "filename": "vm-100-disk-4.raw", "size": "0"}, "size"),
])
def test_storage_layer_errors_reach_the_client(shared_berth, params, needle):
    """The reason phrase carries the storage layer's message (clients show only that), not
    a bare strerror text."""
    b = shared_berth
    r = b.admin().post(f"/nodes/{NODE}/storage/local/content", params)
    assert r.status == 400, r.status_line
    assert r.reason != "Invalid argument", r.status_line
    assert needle in r.reason, r.status_line


def test_storage_restricted_to_other_nodes(shared_berth):
    b = shared_berth
    path = os.path.join(b.root, "elsewhere")
    add_dir_storage(b, "elsewhere", path=path, nodes="othernode")
    # not activated here
    assert not os.path.exists(path)
    assert cfg_entry(b, "elsewhere")["nodes"] == "othernode"
    assert node_entry(b, "elsewhere") is None
    res = b.admin().data("GET", "/cluster/resources", {"type": "storage"})
    assert not [e for e in res if e["storage"] == "elsewhere"]
    r = b.admin().get(f"/nodes/{NODE}/storage/elsewhere/content")
    assert r.status in (400, 500) and "not available" in r.reason, r.status_line
    r = b.admin().post(f"/nodes/{NODE}/storage/elsewhere/content",
                       {"vmid": 100, "filename": "vm-100-disk-0.raw", "size": "1M"})
    assert r.status in (400, 500), r.status_line
    assert not os.path.exists(path)
    b.admin().data("PUT", "/storage/elsewhere", {"nodes": f"othernode,{NODE}"})
    assert node_entry(b, "elsewhere") is not None


def test_concurrent_allocation_of_one_name(shared_berth):
    from conftest import run_concurrently
    b = shared_berth
    path = add_dir_storage(b, "race1")
    tickets = [b.session() for _ in range(6)]

    def go(s):
        return s.post(f"/nodes/{NODE}/storage/race1/content",
                      {"vmid": 100, "filename": "vm-100-disk-0.qcow2", "size": "10M"}).status
    statuses = run_concurrently(go, [(s,) for s in tickets])
    assert statuses.count(200) == 1, statuses
    assert all(s in (200, 400, 500) for s in statuses), statuses
    f = os.path.join(path, "images", "100", "vm-100-disk-0.qcow2")
    assert qemu_img_info(f, "qcow2")["virtual-size"] == 10 << 20
    assert os.listdir(os.path.dirname(f)) == ["vm-100-disk-0.qcow2"]


def test_concurrent_storage_creates_all_land(shared_berth):
    from conftest import run_concurrently
    b = shared_berth
    sessions = [b.session() for _ in range(5)]

    def go(i, s):
        return s.post("/storage", {"storage": f"conc{i}", "type": "dir",
                                   "path": os.path.join(b.root, f"conc{i}")}).status
    statuses = run_concurrently(go, [(i, s) for i, s in enumerate(sessions)])
    assert statuses == [200] * 5
    ids = {e["storage"] for e in b.admin().data("GET", "/storage")}
    assert {f"conc{i}" for i in range(5)} <= ids


def test_no_allocation_into_a_missing_base_path(shared_berth):
    """create-base-path 0 means the directory is managed elsewhere (a mount): PVE activates
    the storage before allocating, which fails while the directory is missing. Allocating
    must not create it (it would write onto the root file system under a missing mount)."""
    b = shared_berth
    path = os.path.join(b.root, "nob-alloc")
    add_dir_storage(b, "noballoc", path=path, disable=1, **{"create-base-path": 0})
    b.admin().data("PUT", "/storage/noballoc", {"delete": "disable"})
    r = b.admin().post(f"/nodes/{NODE}/storage/noballoc/content",
                       {"vmid": 100, "filename": "vm-100-disk-0.raw", "size": "1M"})
    assert r.status != 200, f"{r.status_line} {r.body[:200]!r}"
    assert not os.path.exists(path)


def test_no_allocation_into_an_unmounted_mountpoint(shared_berth):
    """is_mountpoint: the storage is offline unless its path is a mount point; nothing may
    be allocated into the bare directory."""
    b = shared_berth
    path = os.path.join(b.root, "notmounted")
    os.makedirs(path)
    # as in PVE, creating it enabled fails (activation); create it disabled, then enable
    r = b.admin().post("/storage", {"storage": "mnt1", "type": "dir", "path": path,
                                    "is_mountpoint": "yes"})
    assert r.status == 500 and "mount point" in r.reason, r.status_line
    add_dir_storage(b, "mnt1", path=path, is_mountpoint="yes", disable=1)
    b.admin().data("PUT", "/storage/mnt1", {"delete": "disable"})
    assert node_entry(b, "mnt1")["active"] == 0
    r = b.admin().post(f"/nodes/{NODE}/storage/mnt1/content",
                       {"vmid": 100, "filename": "vm-100-disk-0.raw", "size": "1M"})
    assert r.status != 200, f"{r.status_line} {r.body[:200]!r}"
    assert os.listdir(path) == [] or not os.path.exists(
        os.path.join(path, "images", "100", "vm-100-disk-0.raw"))


def test_broken_image_info_error_has_a_message(berth):
    b = berth
    d = os.path.join(local_path(b), "images", "100")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "vm-100-disk-0.qcow2"), "wb") as f:
        f.write(b"QFI\xfb" + b"\0" * 100)
    r = b.admin().get(f"/nodes/{NODE}/storage/local/content/local:100/vm-100-disk-0.qcow2")
    assert r.status == 500, r.status_line
    assert r.reason not in ("Input/output error", "Invalid argument"), r.status_line
