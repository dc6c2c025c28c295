"""/pools as Proxmox VE 8 has them: create, list (only pools the caller may audit), read with
members (guests as their /cluster/resources entries, storages), update (comment, VMs and
storages added or removed; a VM in another pool moves only with allow-move), delete only when
empty (its ACL entries go with it); the PVE >= 8.1 query forms and the older /pools/{poolid}
ones; proxmoxer unchanged. Pool membership lives in user.cfg's pool: lines."""
from conftest import NODE
from vmlib import vm, vm_host  # noqa: F401 - fixtures


def user_cfg(b):
    return b.store_files()["user.cfg"].decode()


def test_pool_lifecycle_and_members(vm):
    s = vm.s
    assert s.data("POST", "/pools", {"poolid": "web", "comment": "front: ends"}) is None
    r = s.post("/pools", {"poolid": "web"})
    assert (r.status, r.reason) == (500, "pool 'web' already exists")
    r = s.post("/pools", {"poolid": "bad pool"})
    assert r.status == 400 and "poolid" in r.json()["errors"]
    assert {"poolid": "web", "comment": "front: ends"} in s.data("GET", "/pools")

    # a VM created with pool= is a member; another joins by PUT; storage too
    a = vm.create(pool="web", name="a")
    b = vm.create(name="b")
    assert s.data("PUT", "/pools", {"poolid": "web", "vms": str(b),
                                    "storage": "local"}) is None
    d = s.data("GET", "/pools/web")
    assert d["comment"] == "front: ends"
    ids = sorted(m["id"] for m in d["members"])
    assert ids == sorted([f"qemu/{a}", f"qemu/{b}", f"storage/{NODE}/local"])
    guest = next(m for m in d["members"] if m["id"] == f"qemu/{a}")
    assert guest["vmid"] == a and guest["type"] == "qemu" and guest["pool"] == "web"
    assert guest["status"] == "stopped" and guest["name"] == "a"
    only = s.data("GET", "/pools", {"poolid": "web", "type": "storage"})
    assert [m["id"] for m in only[0]["members"]] == [f"storage/{NODE}/local"]
    line = next(ln for ln in user_cfg(vm.b).splitlines() if ln.startswith("pool:web:"))
    assert line == f"pool:web:front%3A ends:{a},{b}:local:", line

    # a VM is in one pool at most: moving needs allow-move
    s.data("POST", "/pools", {"poolid": "db"})
    r = s.put("/pools", {"poolid": "db", "vms": str(a)})
    assert (r.status, r.reason) == (500, f"VM {a} belongs already to pool 'web'")
    s.data("PUT", "/pools/db", {"vms": str(a), "allow-move": 1})
    assert [m["vmid"] for m in s.data("GET", "/pools/db")["members"]] == [a]
    assert f"qemu/{a}" not in [m["id"] for m in s.data("GET", "/pools/web")["members"]]
    for params, reason in (({"vms": "999999"}, "no such VM '999999'"),
                           ({"storage": "nosuch"}, "storage 'nosuch' does not exist"),
                           ({"vms": str(a), "delete": 1}, f"VM {a} is not a pool member")):
        r = s.put("/pools", dict(poolid="web", **params))
        assert (r.status, r.reason) == (500, reason), params

    # delete: only when empty; its ACL entries go with it
    s.data("PUT", "/access/acl", {"path": "/pool/web", "roles": "PVEPoolUser",
                                  "users": "root@pam"})
    r = s.delete("/pools", {"poolid": "web"})
    assert (r.status, r.reason) == (500, "pool 'web' is not empty")
    s.data("PUT", "/pools", {"poolid": "web", "vms": str(b), "storage": "local", "delete": 1})
    assert s.data("DELETE", "/pools", {"poolid": "web"}) is None
    assert "web" not in [p["poolid"] for p in s.data("GET", "/pools")]
    assert "/pool/web" not in [e["path"] for e in s.data("GET", "/access/acl")]
    r = s.get("/pools/web")
    assert (r.status, r.reason) == (500, "pool 'web' does not exist")
    # destroying a guest takes it out of its pool
    vm.task("DELETE", vm.path(a))
    assert s.data("GET", "/pools/db")["members"] == []
    s.data("DELETE", "/pools/db")


def test_pool_permissions_and_proxmoxer(vm):
    s = vm.s
    s.data("POST", "/pools", {"poolid": "seen"})
    s.data("POST", "/pools", {"poolid": "hidden"})
    vm.b.add_user("pooler@pve", "pooler-password", acl=[("/pool/seen", "PVEPoolAdmin")])
    u = vm.b.session("pooler@pve", "pooler-password")
    assert [p["poolid"] for p in u.data("GET", "/pools")] == ["seen"]
    r = u.post("/pools", {"poolid": "mine"})
    assert r.status == 403
    r = u.get("/pools/hidden")
    assert r.status == 403
    assert u.data("PUT", "/pools", {"poolid": "seen", "comment": "ok"}) is None
    # adding a guest needs VM.Allocate on it too
    vmid = vm.create()
    r = u.put("/pools", {"poolid": "seen", "vms": str(vmid)})
    assert r.status == 403
    px = vm.b.api()
    px.pools.post(poolid="px")
    assert "px" in [p["poolid"] for p in px.pools.get()]
    px.pools("px").put(vms=vmid)
    assert [m["vmid"] for m in px.pools("px").get()["members"]] == [vmid]
    px.pools.put(poolid="px", vms=vmid, delete=1)
    px.pools.delete(poolid="px")
    for p in ("seen", "hidden"):
        s.data("DELETE", f"/pools/{p}")
