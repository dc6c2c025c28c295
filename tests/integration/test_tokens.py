"""API tokens (proxmox-api.md §1.5, security.md §1.4): PVEAPIToken=user@realm!id=<uuid>, the
secret shown once and stored only as a hash, privilege separation by default (token rights
are a subset of the user's), no CSRF, no tickets from tokens."""
import time

import pytest

from conftest import JSON_CT, NODE, UPID_RE, UUID_RE

PW = "user-password"


def token_headers(tokenid, secret):
    return {"Authorization": f"PVEAPIToken={tokenid}={secret}"}


def assert_token_rejected(r):
    assert r.status == 401, r.status_line
    assert r.reason == "Authentication failed!"
    assert "content-type" not in r.headers
    assert r.body == b""


def test_token_creation_returns_full_id_and_lowercase_uuid_secret_once(shared_berth):
    b = shared_berth
    b.add_user("tk1@pve")
    d = b.admin().data("POST", "/access/users/tk1@pve/token/first", {"comment": "ci"})
    assert d["full-tokenid"] == "tk1@pve!first"
    assert UUID_RE.match(d["value"]), d["value"]
    assert d["info"]["privsep"] == 1
    assert d["info"]["comment"] == "ci"
    # later reads never show the secret
    info = b.admin().data("GET", "/access/users/tk1@pve/token/first")
    assert d["value"] not in str(info)
    assert set(info) <= {"comment", "expire", "privsep"}
    listing = b.admin().data("GET", "/access/users/tk1@pve/token")
    assert listing == [{"tokenid": "first", "comment": "ci", "expire": 0, "privsep": 1}]
    user = b.admin().data("GET", "/access/users/tk1@pve")
    assert user["tokens"] == {"first": {"comment": "ci", "expire": 0, "privsep": 1}}


def test_token_secret_is_stored_only_as_a_hash(shared_berth):
    b = shared_berth
    b.add_user("tk2@pve")
    full, secret = b.add_token("tk2@pve", "hashed")
    files = b.store_files()
    assert "priv/token.cfg" in files
    assert full.encode() in files["priv/token.cfg"]
    for path, data in files.items():
        assert secret.encode() not in data, f"the token secret is stored in clear in {path}"
        assert secret.replace("-", "").encode() not in data, path
    # nor in the daemon's log
    assert secret not in b.read_log()


def test_two_tokens_get_different_secrets(shared_berth):
    b = shared_berth
    b.add_user("tk3@pve")
    _, s1 = b.add_token("tk3@pve", "ta")
    _, s2 = b.add_token("tk3@pve", "tb")
    assert s1 != s2


def test_creating_an_existing_token_fails_and_keeps_the_old_secret(shared_berth):
    """A refused duplicate must not rotate the secret to a value nobody was shown."""
    b = shared_berth
    b.add_user("tk4@pve", acl=[("/", "PVEAuditor")])
    full, secret = b.add_token("tk4@pve", "dup", privsep="0")
    hash_before = b.store_files()["priv/token.cfg"]
    r = b.admin().post("/access/users/tk4@pve/token/dup")
    assert r.status in (400, 500), r.status_line
    assert "Token already exists." in r.body.decode()
    assert b.store_files()["priv/token.cfg"] == hash_before
    assert b.request("GET", "/api2/json/nodes", headers=token_headers(full, secret)).status == 200


def test_proxmoxer_token_session_reads_and_starts_tasks(shared_berth):
    b = shared_berth
    b.add_user("tk5@pve", acl=[("/", "Administrator")])
    _, secret = b.add_token("tk5@pve", "px", privsep="0")
    api = b.token_api("tk5@pve", "px", secret)
    assert api.version.get()["version"].startswith("8.")
    assert api.nodes(NODE).status.get()["memory"]["total"] > 0
    upid = api.nodes(NODE).berth("probe-task").post()  # POST without any CSRF header
    m = UPID_RE.match(upid)
    assert m and m.group(8) == "tk5@pve!px"
    b.wait_task(upid)
    st = api.nodes(NODE).tasks(upid).status.get()
    assert st["exitstatus"] == "OK"
    assert st["user"] == "tk5@pve"
    assert st["tokenid"] == "px"


def test_token_requests_need_no_csrf_token(shared_berth):
    b = shared_berth
    b.add_user("tk6@pve", acl=[("/", "Administrator")])
    full, secret = b.add_token("tk6@pve", "nocsrf", privsep="0")
    r = b.request("PUT", f"/api2/json/nodes/{NODE}/config", {"description": "by token"},
                  token_headers(full, secret))
    assert r.status == 200, r.status_line


def test_wrong_unknown_or_malformed_token_is_401(shared_berth):
    b = shared_berth
    b.add_user("tk7@pve", acl=[("/", "Administrator")])
    full, secret = b.add_token("tk7@pve", "good", privsep="0")
    wrong = secret[:-1] + ("0" if secret[-1] != "0" else "1")
    for value in (f"{full}={wrong}", f"tk7@pve!missing={secret}", f"nobody@pve!good={secret}",
                  f"{full}", f"{full}=", "garbage", f"tk7@pve={secret}",
                  f"{full}={secret.upper()}", f"{full}={secret}x"):
        r = b.request("GET", "/api2/json/version",
                      headers={"Authorization": f"PVEAPIToken={value}"})
        assert_token_rejected(r)


def test_token_cannot_be_exchanged_for_a_ticket(shared_berth):
    """POST /access/ticket is a login (no authentication needed, PVE ignores the token there):
    a token header, or the token secret as password, never yields a ticket."""
    b = shared_berth
    b.add_user("tk8@pve", password=PW, acl=[("/", "Administrator")])
    full, secret = b.add_token("tk8@pve", "tk", privsep="0")
    for password in (secret, f"{full}={secret}", "wrong-password"):
        r = b.request("POST", "/api2/json/access/ticket",
                      {"username": "tk8@pve", "password": password}, token_headers(full, secret))
        assert r.status == 401, (password, r.status_line)
        assert r.reason == "authentication failure"
        assert r.json()["data"] is None


def test_token_cannot_change_a_password(shared_berth):
    b = shared_berth
    b.add_user("tk9@pve", password=PW, acl=[("/", "Administrator")])
    full, secret = b.add_token("tk9@pve", "tk", privsep="0")
    r = b.request("PUT", "/api2/json/access/password",
                  {"userid": "tk9@pve", "password": "new-password"}, token_headers(full, secret))
    assert r.status == 403
    assert "not available with API token" in r.reason


# ---- privilege separation ----

def test_privsep_token_is_privilege_separated_by_default(shared_berth):
    b = shared_berth
    b.add_user("ps1@pve", acl=[("/", "Administrator")])
    full, secret = b.add_token("ps1@pve", "default")
    r = b.request("GET", f"/api2/json/nodes/{NODE}/status", headers=token_headers(full, secret))
    assert r.status_line == f"HTTP/1.1 403 Permission check failed (/nodes/{NODE}, Sys.Audit)"
    assert r.headers["content-type"] == JSON_CT
    assert r.json()["data"] is None


def test_non_privsep_token_has_the_rights_of_its_user(shared_berth):
    b = shared_berth
    b.add_user("ps2@pve", acl=[("/", "PVEAuditor")])
    full, secret = b.add_token("ps2@pve", "full", privsep="0")
    h = token_headers(full, secret)
    assert b.request("GET", f"/api2/json/nodes/{NODE}/status", headers=h).status == 200
    r = b.request("POST", f"/api2/json/nodes/{NODE}/berth/probe-task", None, h)
    assert r.status == 403
    assert r.reason == f"Permission check failed (/nodes/{NODE}, Sys.Modify)"


def test_privsep_token_rights_are_the_intersection_with_its_users_rights(shared_berth):
    """The token holds Administrator, its user only PVEAuditor: the token may audit but not
    modify (A3: token privileges are a subset of the user's)."""
    b = shared_berth
    b.add_user("ps3@pve", acl=[("/", "PVEAuditor")])
    full, secret = b.add_token("ps3@pve", "sep", acl=[("/", "Administrator")])
    h = token_headers(full, secret)
    assert b.request("GET", f"/api2/json/nodes/{NODE}/status", headers=h).status == 200
    r = b.request("POST", f"/api2/json/nodes/{NODE}/berth/probe-task", None, h)
    assert r.status == 403, r.status_line
    assert r.reason == f"Permission check failed (/nodes/{NODE}, Sys.Modify)"
    perms = b.admin().data("GET", "/access/permissions", {"userid": full, "path": "/"})
    assert "Sys.Audit" in perms["/"]
    assert "Sys.Modify" not in perms["/"]


def test_privsep_token_with_narrower_acl_than_user_gets_only_the_token_acl(shared_berth):
    b = shared_berth
    b.add_user("ps4@pve", acl=[("/", "Administrator")])
    full, secret = b.add_token("ps4@pve", "narrow", acl=[("/", "PVEAuditor")])
    h = token_headers(full, secret)
    assert b.request("GET", f"/api2/json/nodes/{NODE}/status", headers=h).status == 200
    r = b.request("POST", f"/api2/json/nodes/{NODE}/berth/probe-task", None, h)
    assert r.status == 403


def test_token_loses_rights_when_its_user_loses_them(shared_berth):
    b = shared_berth
    b.add_user("ps5@pve", acl=[("/", "PVEAuditor")])
    full, secret = b.add_token("ps5@pve", "tk", acl=[("/", "PVEAuditor")])
    h = token_headers(full, secret)
    assert b.request("GET", f"/api2/json/nodes/{NODE}/status", headers=h).status == 200
    b.admin().data("PUT", "/access/acl", {"path": "/", "roles": "PVEAuditor",
                                          "users": "ps5@pve", "delete": "1"})
    assert b.request("GET", f"/api2/json/nodes/{NODE}/status", headers=h).status == 403


def test_switching_privsep_off_gives_the_token_its_users_rights(shared_berth):
    b = shared_berth
    b.add_user("ps6@pve", acl=[("/", "PVEAuditor")])
    full, secret = b.add_token("ps6@pve", "tk")
    h = token_headers(full, secret)
    assert b.request("GET", f"/api2/json/nodes/{NODE}/status", headers=h).status == 403
    d = b.admin().data("PUT", "/access/users/ps6@pve/token/tk", {"privsep": "0"})
    assert d["privsep"] == 0
    assert b.request("GET", f"/api2/json/nodes/{NODE}/status", headers=h).status == 200


# ---- token life cycle ----

def test_deleted_token_stops_working_and_its_hash_is_removed(shared_berth):
    b = shared_berth
    b.add_user("lc1@pve", acl=[("/", "PVEAuditor")])
    full, secret = b.add_token("lc1@pve", "del", privsep="0")
    h = token_headers(full, secret)
    assert b.request("GET", "/api2/json/nodes", headers=h).status == 200
    b.admin().data("DELETE", "/access/users/lc1@pve/token/del")
    assert_token_rejected(b.request("GET", "/api2/json/nodes", headers=h))
    assert full.encode() not in b.store_files().get("priv/token.cfg", b"")


def test_recreated_token_gets_a_new_secret_and_the_old_one_fails(shared_berth):
    b = shared_berth
    b.add_user("lc2@pve", acl=[("/", "PVEAuditor")])
    full, old = b.add_token("lc2@pve", "again", privsep="0")
    b.admin().data("DELETE", "/access/users/lc2@pve/token/again")
    _, new = b.add_token("lc2@pve", "again", privsep="0")
    assert new != old
    assert_token_rejected(b.request("GET", "/api2/json/nodes", headers=token_headers(full, old)))
    assert b.request("GET", "/api2/json/nodes", headers=token_headers(full, new)).status == 200


def test_token_of_a_disabled_user_fails(shared_berth):
    b = shared_berth
    b.add_user("lc3@pve", acl=[("/", "PVEAuditor")])
    full, secret = b.add_token("lc3@pve", "tk", privsep="0")
    b.admin().data("PUT", "/access/users/lc3@pve", {"enable": "0"})
    assert_token_rejected(b.request("GET", "/api2/json/nodes", headers=token_headers(full, secret)))


def test_expired_token_fails(shared_berth):
    b = shared_berth
    b.add_user("lc4@pve", acl=[("/", "PVEAuditor")])
    full, secret = b.add_token("lc4@pve", "tk", privsep="0", expire=str(int(time.time()) - 10))
    assert_token_rejected(b.request("GET", "/api2/json/nodes", headers=token_headers(full, secret)))
    b.admin().data("PUT", "/access/users/lc4@pve/token/tk", {"expire": "0"})
    assert b.request("GET", "/api2/json/nodes", headers=token_headers(full, secret)).status == 200


def test_deleting_the_user_removes_its_tokens(shared_berth):
    b = shared_berth
    b.add_user("lc5@pve", acl=[("/", "PVEAuditor")])
    full, secret = b.add_token("lc5@pve", "tk", privsep="0")
    b.admin().data("DELETE", "/access/users/lc5@pve")
    assert_token_rejected(b.request("GET", "/api2/json/nodes", headers=token_headers(full, secret)))
    assert full.encode() not in b.store_files().get("priv/token.cfg", b"")
    # a new user of the same name does not inherit the token
    b.add_user("lc5@pve", acl=[("/", "PVEAuditor")])
    assert_token_rejected(b.request("GET", "/api2/json/nodes", headers=token_headers(full, secret)))


def test_user_may_manage_own_tokens_without_user_modify(shared_berth):
    b = shared_berth
    b.add_user("own@pve", password=PW)
    s = b.session("own@pve", PW)
    d = s.data("POST", "/access/users/own@pve/token/mine")
    assert UUID_RE.match(d["value"])
    assert [t["tokenid"] for t in s.data("GET", "/access/users/own@pve/token")] == ["mine"]
    r = s.post("/access/users/admin@pve/token/stolen")
    assert r.status == 403
    assert r.reason == "Permission check failed (/access/groups, User.Modify)"


def test_ticket_cookie_wins_over_a_token_when_both_are_sent(shared_berth):
    b = shared_berth
    b.add_user("both@pve", password=PW)  # no rights at all
    full, secret = b.add_token("both@pve", "tk", privsep="0")
    ticket, _ = b.login()  # admin
    h = {"Cookie": f"PVEAuthCookie={ticket}", **token_headers(full, secret)}
    r = b.request("GET", f"/api2/json/nodes/{NODE}/status", headers=h)
    assert r.status == 200, r.status_line


@pytest.mark.parametrize("name,header", [("hfeq", "PVEAPIToken={id}={secret}"),
                                         ("hfsp", "PVEAPIToken {id}={secret}")])
def test_token_header_forms_pve_accepts(shared_berth, name, header):
    b = shared_berth
    b.add_user(f"{name}@pve", acl=[("/", "PVEAuditor")])
    full, secret = b.add_token(f"{name}@pve", "tk", privsep="0")
    r = b.request("GET", "/api2/json/nodes",
                  headers={"Authorization": header.format(id=full, secret=secret)})
    assert r.status == 200, r.status_line


def test_deleted_tokens_acl_entries_go_with_it(shared_berth):
    """A re-created token of the same name must not inherit the old token's rights."""
    b = shared_berth
    b.add_user("lc6@pve", acl=[("/", "Administrator")])
    full, _ = b.add_token("lc6@pve", "again", acl=[("/", "PVEAuditor")])
    b.admin().data("DELETE", "/access/users/lc6@pve/token/again")
    assert all(a["ugid"] != full for a in b.admin().data("GET", "/access/acl"))
    full, secret = b.add_token("lc6@pve", "again")
    r = b.request("GET", f"/api2/json/nodes/{NODE}/status", headers=token_headers(full, secret))
    assert r.status == 403


def test_task_visibility_between_a_user_and_its_tokens(shared_berth):
    """PVE's check_task_user: a user sees its own and its tokens' tasks, a token only its
    own (without Sys.Audit on the node)."""
    b = shared_berth
    b.admin().data("POST", "/access/roles", {"roleid": "TaskStarter", "privs": "Sys.Modify"})
    b.add_user("tv@pve", password=PW, acl=[(f"/nodes/{NODE}", "TaskStarter")])
    one, s1 = b.add_token("tv@pve", "one", privsep="0")
    two, s2 = b.add_token("tv@pve", "two", privsep="0")
    h1, h2 = token_headers(one, s1), token_headers(two, s2)
    r = b.request("POST", f"/api2/json/nodes/{NODE}/berth/probe-task", None, h1)
    assert r.status == 200, r.status_line
    upid = r.json()["data"]
    assert UPID_RE.match(upid).group(8) == one
    b.wait_task(upid)
    listed = b.session("tv@pve", PW).data("GET", f"/nodes/{NODE}/tasks")
    assert [t["upid"] for t in listed] == [upid]
    assert listed[0]["user"] == "tv@pve" and listed[0]["tokenid"] == "one"
    r = b.request("GET", f"/api2/json/nodes/{NODE}/tasks", headers=h2)
    assert r.status == 200 and r.json()["data"] == []
    r = b.request("GET", f"/api2/json/nodes/{NODE}/tasks/{upid}/status", headers=h2)
    assert r.status == 403
    r = b.request("GET", f"/api2/json/nodes/{NODE}/tasks/{upid}/status", headers=h1)
    assert r.status == 200 and r.json()["data"]["exitstatus"] == "OK"
