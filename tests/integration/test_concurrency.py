"""Concurrent clients (security.md D7 and the read-modify-write files behind the API):
updates with the same digest — exactly one wins; concurrent edits of user.cfg, token.cfg
and the ACL lose nothing; duplicate creations — exactly one wins."""
import itertools

from conftest import ADMIN, ADMIN_PASSWORD, NODE, run_concurrently

CONFIG = f"/api2/json/nodes/{NODE}/config"
STALE = "detected modified configuration - file changed by other user? Try again."
_ids = itertools.count(1)


def admin_headers(b, method="PUT"):
    return b.admin().headers(method)


def test_same_digest_exactly_one_update_wins(shared_berth):
    b = shared_berth
    h = admin_headers(b)
    for round_ in range(10):
        b.admin().data("PUT", f"/nodes/{NODE}/config", {"description": f"base {round_}"})
        digest = b.admin().data("GET", f"/nodes/{NODE}/config")["digest"]

        def put(i):
            r = b.request("PUT", CONFIG, {"description": f"round {round_} writer {i}",
                                          "digest": digest}, h, timeout=30)
            return r.status, r.reason
        results = run_concurrently(put, [(i,) for i in range(8)])
        winners = [i for i, res in enumerate(results) if res == (200, "OK")]
        assert len(winners) == 1, results
        losers = [res for res in results if res != (200, "OK")]
        assert all(res == (500, STALE) for res in losers), results
        final = b.admin().data("GET", f"/nodes/{NODE}/config")["description"]
        assert final == f"round {round_} writer {winners[0]}\n"


def test_updates_without_digest_all_apply_and_none_is_torn(shared_berth):
    b = shared_berth
    h = admin_headers(b)
    values = [f"value {i}." + "z" * (i * 37) for i in range(12)]

    def put(v):
        r = b.request("PUT", CONFIG, {"description": v}, h, timeout=30)
        return r.status, r.reason
    results = run_concurrently(put, [(v,) for v in values])
    assert results == [(200, "OK")] * len(values), results
    final = b.admin().data("GET", f"/nodes/{NODE}/config")["description"]
    assert final.rstrip("\n") in values


def test_concurrent_user_creations_are_all_kept(shared_berth):
    b = shared_berth
    h = admin_headers(b, "POST")
    userids = [f"cc{next(_ids)}@pve" for _ in range(24)]

    def create(u):
        return b.request("POST", "/api2/json/access/users", {"userid": u}, h, timeout=30).status
    assert run_concurrently(create, [(u,) for u in userids]) == [200] * len(userids)
    listed = {u["userid"] for u in b.admin().data("GET", "/access/users")}
    assert set(userids) <= listed


def test_concurrent_creation_of_the_same_user_has_exactly_one_winner(shared_berth):
    b = shared_berth
    h = admin_headers(b, "POST")
    for _ in range(5):
        userid = f"same{next(_ids)}@pve"

        def create():
            r = b.request("POST", "/api2/json/access/users", {"userid": userid}, h, timeout=30)
            return r.status, r.reason
        results = run_concurrently(create, [()] * 8)
        assert sum(1 for res in results if res[0] == 200) == 1, results
        assert all(res == (500, f"create user failed: user '{userid}' already exists")
                   for res in results if res[0] != 200), results


def test_concurrent_token_creations_all_work(shared_berth):
    b = shared_berth
    userid = b.add_user(f"ct{next(_ids)}@pve", acl=[("/", "PVEAuditor")])
    h = admin_headers(b, "POST")

    def create(i):
        r = b.request("POST", f"/api2/json/access/users/{userid}/token/tok{i}",
                      {"privsep": "0"}, h, timeout=30)
        assert r.status == 200, r.status_line
        d = r.json()["data"]
        return d["full-tokenid"], d["value"]
    tokens = run_concurrently(create, [(i,) for i in range(16)])
    for t in tokens:
        assert not isinstance(t, BaseException), t
    for full, secret in tokens:
        r = b.request("GET", "/api2/json/nodes",
                      headers={"Authorization": f"PVEAPIToken={full}={secret}"})
        assert r.status == 200, (full, r.status_line)


def test_concurrent_acl_updates_are_all_kept(shared_berth):
    b = shared_berth
    userid = b.add_user(f"ca{next(_ids)}@pve")
    h = admin_headers(b)
    paths = [f"/vms/{5000 + i}" for i in range(20)]

    def grant(p):
        return b.request("PUT", "/api2/json/access/acl",
                         {"path": p, "roles": "PVEVMUser", "users": userid}, h, timeout=30).status
    assert run_concurrently(grant, [(p,) for p in paths]) == [200] * len(paths)
    got = {a["path"] for a in b.admin().data("GET", "/access/acl") if a["ugid"] == userid}
    assert got == set(paths)


def test_concurrent_password_changes_of_different_users_are_all_kept(shared_berth):
    b = shared_berth
    users = [b.add_user(f"cp{next(_ids)}@pve", password="initial-pw") for _ in range(8)]
    h = admin_headers(b)

    def change(u):
        return b.request("PUT", "/api2/json/access/password",
                         {"userid": u, "password": f"new-{u}",
                          "confirmation-password": ADMIN_PASSWORD}, h, timeout=60).status
    assert run_concurrently(change, [(u,) for u in users]) == [200] * len(users)
    for u in users:
        r = b.request("POST", "/api2/json/access/ticket", {"username": u, "password": f"new-{u}"})
        assert r.status == 200, u
    r = b.request("POST", "/api2/json/access/ticket",
                  {"username": ADMIN, "password": "it-admin-password"})
    assert r.status == 200


def test_many_concurrent_logins_all_succeed(shared_berth):
    b = shared_berth

    def login():
        r = b.request("POST", "/api2/json/access/ticket",
                      {"username": ADMIN, "password": "it-admin-password"}, timeout=60)
        return r.status
    assert run_concurrently(login, [()] * 20) == [200] * 20


def test_concurrent_tasks_get_distinct_upids_and_all_finish(shared_berth):
    b = shared_berth
    h = admin_headers(b, "POST")

    def start():
        r = b.request("POST", f"/api2/json/nodes/{NODE}/berth/probe-task", None, h, timeout=30)
        assert r.status == 200, r.status_line
        return r.json()["data"]
    upids = run_concurrently(start, [()] * 12)
    assert len(set(upids)) == 12
    for u in upids:
        assert b.wait_task(u)["exitstatus"] == "OK"
