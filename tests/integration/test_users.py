"""Users and realms (proxmox-api.md §2.5): /access/domains, users CRUD with PVE's shapes,
PUT /access/password, and who may see and change whom."""
import itertools

from conftest import ADMIN, ADMIN_PASSWORD, JSON_CT

PW = "user-password"
_ids = itertools.count(1)


def uid(prefix="u"):
    return f"{prefix}{next(_ids)}@pve"


def can_login(b, userid, password):
    r = b.request("POST", "/api2/json/access/ticket", {"username": userid, "password": password})
    assert r.status in (200, 401), r.status_line
    return r.status == 200


def test_domains_list_pam_and_pve_realms(shared_berth):
    d = shared_berth.anonymous().data("GET", "/access/domains")
    assert {r["realm"]: r["type"] for r in d} == {"pam": "pam", "pve": "pve"}
    assert all(r.get("comment") for r in d)


def test_domain_read_needs_audit_and_returns_its_type(shared_berth):
    s = shared_berth.admin()
    assert s.data("GET", "/access/domains/pve")["type"] == "pve"
    assert s.data("GET", "/access/domains/pam")["type"] == "pam"
    r = s.get("/access/domains/ldap1")
    assert r.status == 500


def test_create_read_update_delete_user(shared_berth):
    s = shared_berth.admin()
    userid = uid("crud")
    s.data("POST", "/access/users", {"userid": userid, "firstname": "Ada", "lastname": "Lovelace",
                                     "email": "ada@example.com", "comment": "first",
                                     "expire": "0"})
    d = s.data("GET", f"/access/users/{userid}")
    assert d["firstname"] == "Ada"
    assert d["lastname"] == "Lovelace"
    assert d["email"] == "ada@example.com"
    assert d["comment"] == "first"
    assert d["enable"] == 1 and d["expire"] == 0
    assert d["groups"] == [] and d["tokens"] == {}
    s.data("PUT", f"/access/users/{userid}", {"comment": "second", "email": "ada@example.org"})
    d = s.data("GET", f"/access/users/{userid}")
    assert d["comment"] == "second"
    assert d["email"] == "ada@example.org"
    assert d["firstname"] == "Ada"  # untouched fields stay
    assert s.data("DELETE", f"/access/users/{userid}") is None
    assert s.get(f"/access/users/{userid}").status == 500
    assert userid not in [u["userid"] for u in s.data("GET", "/access/users")]


def test_user_list_has_pve_shape_for_ansible(shared_berth):
    b = shared_berth
    userid = b.add_user(uid("list"), comment="listed")
    b.add_token(userid, "lt")
    users = {u["userid"]: u for u in b.admin().data("GET", "/access/users")}
    assert users[userid]["enable"] == 1  # Ansible compares with the number 1
    assert users[userid]["expire"] == 0
    assert users[userid]["realm-type"] == "pve"
    assert "tokens" not in users[userid]
    full = {u["userid"]: u for u in b.admin().data("GET", "/access/users", {"full": "1"})}
    assert full[userid]["groups"] == ""  # a string in the list (an array in the single read)
    assert full[userid]["tokens"] == [{"tokenid": "lt", "expire": 0, "privsep": 1}]
    assert full["root@pam"]["realm-type"] == "pam"


def test_user_list_enabled_filter(shared_berth):
    b = shared_berth
    on = b.add_user(uid("on"))
    off = b.add_user(uid("off"), enable="0")
    enabled = [u["userid"] for u in b.admin().data("GET", "/access/users", {"enabled": "1"})]
    disabled = [u["userid"] for u in b.admin().data("GET", "/access/users", {"enabled": "0"})]
    assert on in enabled and off not in enabled
    assert off in disabled and on not in disabled


def test_creating_an_existing_user_fails(shared_berth):
    s = shared_berth.admin()
    userid = uid("dup")
    s.data("POST", "/access/users", {"userid": userid})
    r = s.post("/access/users", {"userid": userid})
    assert r.status_line == f"HTTP/1.1 500 create user failed: user '{userid}' already exists"
    assert r.headers["content-type"] == JSON_CT


def test_user_in_unknown_realm_cannot_be_created(shared_berth):
    r = shared_berth.admin().post("/access/users", {"userid": "x@ldap"})
    assert r.status == 500
    assert r.reason == "create user failed: auth domain 'ldap' does not exist"


def test_malformed_user_ids_are_rejected(shared_berth):
    s = shared_berth.admin()
    for bad in ("noatsign", "a:b@pve", "a b@pve", "a@", "@pve", "a/b@pve", "a@pve\nx"):
        r = s.post("/access/users", {"userid": bad})
        assert r.status == 400, (bad, r.status_line)
        assert "userid" in r.json()["errors"], bad


def test_newlines_in_values_cannot_inject_lines_into_user_cfg(shared_berth):
    """A CR/LF inside a value must not add lines to user.cfg (security.md B2): it is either
    refused or stored encoded (PVE encodes comments) and read back unchanged."""
    b = shared_berth
    userid = b.add_user(uid("nl"))
    evil = "x\nacl:1:/:evil@pve:Administrator:\r\nuser:evil@pve:1:0::::::"
    for field in ("comment", "firstname", "lastname", "email"):
        r = b.admin().put(f"/access/users/{userid}", {field: evil})
        if r.status == 200:
            assert b.admin().data("GET", f"/access/users/{userid}")[field] == evil, field
        else:
            assert r.status in (400, 500), (field, r.status_line)
    lines = b.store_files()["user.cfg"].decode().splitlines()
    assert not any("evil@pve" in line and not line.startswith(f"user:{userid}:")
                   for line in lines), lines
    users = [u["userid"] for u in b.admin().data("GET", "/access/users")]
    assert "evil@pve" not in users
    assert all(a["ugid"] != "evil@pve" for a in b.admin().data("GET", "/access/acl"))


def test_colon_in_a_field_does_not_shift_user_cfg_columns(shared_berth):
    b = shared_berth
    userid = b.add_user(uid("colon"))
    b.admin().data("PUT", f"/access/users/{userid}", {"comment": "a:b:c", "firstname": "F"})
    d = b.admin().data("GET", f"/access/users/{userid}")
    assert d["comment"] == "a:b:c"
    assert d["firstname"] == "F"
    assert d["enable"] == 1


def test_root_pam_cannot_be_deleted(shared_berth):
    r = shared_berth.admin().delete("/access/users/root@pam")
    assert r.status == 500
    assert "root@pam" in [u["userid"] for u in shared_berth.admin().data("GET", "/access/users")]


def test_deleting_a_user_removes_its_acl_entries(shared_berth):
    b = shared_berth
    userid = b.add_user(uid("acl"), acl=[("/", "PVEAuditor")])
    b.admin().data("DELETE", f"/access/users/{userid}")
    assert all(a["ugid"] != userid for a in b.admin().data("GET", "/access/acl"))
    # a new user of the same name starts without rights
    b.add_user(userid, password=PW)
    assert b.session(userid, PW).get("/nodes/itnode/status").status == 403


# ---- passwords ----

def test_pve_user_created_with_password_can_log_in(shared_berth):
    b = shared_berth
    userid = b.add_user(uid("pw"), password=PW)
    assert can_login(b, userid, PW)
    assert not can_login(b, userid, PW + "x")


def test_pve_user_without_password_cannot_log_in(shared_berth):
    b = shared_berth
    userid = b.add_user(uid("nopw"))
    assert not can_login(b, userid, "")
    assert not can_login(b, userid, "anything")


def test_password_is_stored_as_a_hash(shared_berth):
    b = shared_berth
    secret = "Very-Secret-Password-123"
    b.add_user(uid("hash"), password=secret)
    for path, data in b.store_files().items():
        assert secret.encode() not in data, path
    assert secret not in b.read_log()


def test_user_changes_own_password(shared_berth):
    b = shared_berth
    userid = b.add_user(uid("own"), password=PW)
    s = b.session(userid, PW)
    assert s.data("PUT", "/access/password", {"userid": userid, "password": "new-password",
                                             "confirmation-password": PW}) is None
    assert not can_login(b, userid, PW)
    assert can_login(b, userid, "new-password")


def test_wrong_confirmation_password_is_refused(shared_berth):
    """'confirmation-password' is the current password of the user making the change; a
    wrong one must not be silently ignored (a stolen ticket would otherwise suffice to take
    over the account)."""
    b = shared_berth
    userid = b.add_user(uid("confirm"), password=PW)
    s = b.session(userid, PW)
    r = s.put("/access/password", {"userid": userid, "password": "taken-over",
                                    "confirmation-password": "not-my-password"})
    assert r.status != 200, r.status_line
    assert can_login(b, userid, PW)
    assert not can_login(b, userid, "taken-over")
    r = s.put("/access/password", {"userid": userid, "password": "changed-properly",
                                    "confirmation-password": PW})
    assert r.status == 200, r.status_line
    assert can_login(b, userid, "changed-properly")


def test_non_root_callers_must_confirm_with_their_own_password(shared_berth):
    """PVE's reauth_user_for_user_modification: everyone but root@pam confirms."""
    b = shared_berth
    userid = b.add_user(uid("noconfirm"), password=PW)
    r = b.session(userid, PW).put("/access/password", {"userid": userid, "password": "new-pass1"})
    assert r.status == 400
    assert r.json()["errors"] == {"confirmation-password": "password is required to modify user"}
    assert can_login(b, userid, PW)


def test_root_changes_passwords_without_confirmation(shared_berth):
    b = shared_berth
    userid = b.add_user(uid("byroot"), password=PW)
    b.cli("set", "/access/password", "--userid", userid, "--password", "set-by-root", check=True)
    assert can_login(b, userid, "set-by-root")


def test_changing_another_users_password_needs_user_admin_rights(shared_berth):
    b = shared_berth
    victim = b.add_user(uid("victim"), password=PW)
    attacker = b.add_user(uid("attacker"), password=PW)
    r = b.session(attacker, PW).put("/access/password", {"userid": victim, "password": "pwned!!!",
                                                          "confirmation-password": PW})
    assert r.status_line == ("HTTP/1.1 403 Permission check failed (/access/realm/pve, "
                             "Realm.AllocateUser)")
    assert can_login(b, victim, PW)
    # an administrator may
    b.admin().data("PUT", "/access/password", {"userid": victim, "password": "reset-by-admin",
                                               "confirmation-password": ADMIN_PASSWORD})
    assert can_login(b, victim, "reset-by-admin")


def test_password_change_for_unknown_or_pam_user_fails(shared_berth):
    s = shared_berth.admin()
    confirm = {"confirmation-password": ADMIN_PASSWORD}
    r = s.put("/access/password", {"userid": "ghost@pve", "password": "abcdefgh", **confirm})
    assert r.status == 500
    # only root@pam may change root@pam's password (PVE's reauth rule)
    r = s.put("/access/password", {"userid": "root@pam", "password": "abcdefgh", **confirm})
    assert r.status == 403


def test_admin_password_change_keeps_other_users_passwords(shared_berth):
    b = shared_berth
    a = b.add_user(uid("keep"), password="keep-password-a")
    c = b.add_user(uid("keep"), password="keep-password-c")
    b.admin().data("PUT", "/access/password", {"userid": a, "password": "changed-a",
                                               "confirmation-password": ADMIN_PASSWORD})
    assert can_login(b, c, "keep-password-c")
    assert can_login(b, ADMIN, ADMIN_PASSWORD)


# ---- enable / expire ----

def test_disabling_blocks_login_and_reenabling_restores_it(shared_berth):
    b = shared_berth
    userid = b.add_user(uid("toggle"), password=PW)
    b.admin().data("PUT", f"/access/users/{userid}", {"enable": "0"})
    assert b.admin().data("GET", f"/access/users/{userid}")["enable"] == 0
    assert not can_login(b, userid, PW)
    b.admin().data("PUT", f"/access/users/{userid}", {"enable": "1"})
    assert can_login(b, userid, PW)


def test_expired_account_cannot_log_in_until_expiry_is_lifted(shared_berth):
    b = shared_berth
    userid = b.add_user(uid("exp"), password=PW, expire="1000")
    assert not can_login(b, userid, PW)
    b.admin().data("PUT", f"/access/users/{userid}", {"expire": "0"})
    assert can_login(b, userid, PW)


# ---- visibility ----

def test_unprivileged_user_sees_only_itself(shared_berth):
    b = shared_berth
    userid = b.add_user(uid("self"), password=PW)
    s = b.session(userid, PW)
    assert [u["userid"] for u in s.data("GET", "/access/users")] == [userid]
    r = s.get(f"/access/users/{ADMIN}")
    assert r.status == 403


def test_user_admin_role_manages_pve_users(shared_berth):
    b = shared_berth
    manager = b.add_user(uid("mgr"), password=PW,
                         acl=[("/access", "PVEUserAdmin")])
    s = b.session(manager, PW)
    newbie = uid("newbie")
    s.data("POST", "/access/users", {"userid": newbie, "password": "newbie-password"})
    assert can_login(b, newbie, "newbie-password")
    listed = [u["userid"] for u in s.data("GET", "/access/users")]
    assert newbie in listed and ADMIN in listed
    s.data("DELETE", f"/access/users/{newbie}")
