"""`pool` on container create, as PVE: a pool that does not exist is a permission error
before anything is made; a created CT joins its pool in user.cfg, and leaves it when it is
destroyed (remove_vm_access). Pools are made by editing user.cfg in the store, as an admin
edits /etc/pve/user.cfg (as well as through /pools, see test_pools.py)."""
import hashlib
import sqlite3
import time

from conftest import NODE
from ctlib import ct, ct_host  # noqa: F401


def store_put(b, path, data):
    """Write a store file behind the daemon's back, the way the store itself does (a new
    generation, the SHA-1 digest), so every reader sees it at its next look."""
    con = sqlite3.connect(f"{b.root}/config.db", timeout=30)
    try:
        with con:
            (gen,) = con.execute("UPDATE counter SET generation = generation + 1 WHERE id = 0 "
                                 "RETURNING generation").fetchone()
            con.execute("INSERT INTO files (path, data, version, digest, mtime) "
                        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (path) DO UPDATE SET "
                        "data = excluded.data, version = excluded.version, "
                        "digest = excluded.digest, mtime = excluded.mtime",
                        (path, data, gen, hashlib.sha1(data).hexdigest(), int(time.time())))
    finally:
        con.close()


def pool_line(b, poolid):
    text = b.store_files()["user.cfg"].decode()
    return next((l for l in text.splitlines() if l.startswith(f"pool:{poolid}:")), None)


def test_create_into_a_missing_pool_is_refused_and_makes_nothing(ct):
    vmid = ct.vmid()
    r = ct.s.post(f"/nodes/{NODE}/lxc", {"vmid": vmid, "ostemplate": ct.template,
                                         "pool": "nosuchpool"})
    assert (r.status, r.reason) == (403, "Permission check failed (pool 'nosuchpool' does "
                                         "not exist)"), r.status_line
    assert not ct.exists(vmid)


def test_a_ct_joins_its_pool_and_leaves_it_when_destroyed(ct):
    text = ct.b.store_files()["user.cfg"].decode()
    store_put(ct.b, "user.cfg", (text.rstrip("\n") + "\n\npool:web:web servers::\n").encode())
    time.sleep(0.3)  # the daemon looks at the store's generation at most every 250 ms
    vmid = ct.create(pool="web")
    line = pool_line(ct.b, "web")
    assert line is not None and str(vmid) in line.split(":")[3].split(","), line
    ct.destroy(vmid)
    line = pool_line(ct.b, "web")
    assert line is not None and str(vmid) not in line.split(":")[3].split(","), line
