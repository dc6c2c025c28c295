"""Roles and ACLs (proxmox-api.md §2.5, security.md §1.5): PVE's built-in roles, custom
roles, GET|PUT /access/acl, inheritance (propagate, deeper over higher, NoAccess), the
delegation rule, and 403 texts 'Permission check failed (<path>, <priv>)' for non-root users."""
import itertools

import pytest

from conftest import JSON_CT, NODE

PW = "user-password"
_ids = itertools.count(1)

BUILTIN_ROLES = {
    "Administrator", "NoAccess", "PVEAdmin", "PVEAuditor", "PVEDatastoreAdmin",
    "PVEDatastoreUser", "PVEMappingAdmin", "PVEMappingUser", "PVEPoolAdmin", "PVEPoolUser",
    "PVESDNAdmin", "PVESDNUser", "PVESysAdmin", "PVETemplateUser", "PVEUserAdmin",
    "PVEVMAdmin", "PVEVMUser",
}


def new_user(b, *acl, password=PW):
    """A fresh pve user with the given ACL entries; returns (userid, ticket session)."""
    userid = f"acl{next(_ids)}@pve"
    b.add_user(userid, password=password, acl=acl)
    return userid, b.session(userid, password)


def privs_at(b, userid, path):
    d = b.admin().data("GET", "/access/permissions", {"userid": userid, "path": path})
    return set(d.get(path, {}))


def assert_forbidden(r, path, priv):
    assert r.status_line == f"HTTP/1.1 403 Permission check failed ({path}, {priv})", r.status_line
    assert r.headers["content-type"] == JSON_CT
    assert r.json()["data"] is None


# ---- roles ----

def test_builtin_roles_are_listed_as_special(shared_berth):
    roles = {r["roleid"]: r for r in shared_berth.admin().data("GET", "/access/roles")}
    assert BUILTIN_ROLES <= set(roles)
    for rid in BUILTIN_ROLES:
        assert roles[rid]["special"] == 1, rid
    assert roles["NoAccess"]["privs"] == ""


def role_privs(b, roleid):
    return set(b.admin().data("GET", f"/access/roles/{roleid}"))


def test_builtin_role_privileges_follow_pve(shared_berth):
    b = shared_berth
    admin = role_privs(b, "Administrator")
    assert {"Permissions.Modify", "Sys.Modify", "Sys.PowerMgmt", "Realm.Allocate",
            "VM.Allocate", "Datastore.Allocate", "User.Modify"} <= admin
    pveadmin = role_privs(b, "PVEAdmin")
    assert pveadmin < admin
    for root_only in ("Permissions.Modify", "Sys.Modify", "Sys.PowerMgmt", "Sys.Incoming",
                      "Sys.AccessNetwork", "Realm.Allocate", "Mapping.Modify"):
        assert root_only not in pveadmin, root_only
    auditor = role_privs(b, "PVEAuditor")
    assert {"Sys.Audit", "VM.Audit", "Datastore.Audit", "Pool.Audit", "SDN.Audit"} <= auditor
    assert all(p.endswith(".Audit") for p in auditor), auditor
    assert role_privs(b, "PVETemplateUser") == {"VM.Audit", "VM.Clone"}
    assert role_privs(b, "PVEDatastoreUser") == {"Datastore.AllocateSpace", "Datastore.Audit"}
    vmuser = role_privs(b, "PVEVMUser")
    assert {"VM.Audit", "VM.Console", "VM.PowerMgmt", "VM.Backup", "VM.Config.CDROM"} <= vmuser
    assert "VM.Allocate" not in vmuser
    assert role_privs(b, "NoAccess") == set()


def test_role_read_returns_a_privilege_map(shared_berth):
    d = shared_berth.admin().data("GET", "/access/roles/PVEDatastoreUser")
    assert d == {"Datastore.AllocateSpace": 1, "Datastore.Audit": 1}


def test_unknown_role_read_is_500(shared_berth):
    r = shared_berth.admin().get("/access/roles/NoSuchRole")
    assert r.status == 500
    assert r.reason == "role 'NoSuchRole' does not exist"


def test_custom_role_create_update_append_delete(shared_berth):
    s = shared_berth.admin()
    s.data("POST", "/access/roles", {"roleid": "Watcher", "privs": "VM.Audit,Sys.Audit"})
    assert set(s.data("GET", "/access/roles/Watcher")) == {"VM.Audit", "Sys.Audit"}
    listed = {r["roleid"]: r for r in s.data("GET", "/access/roles")}
    assert listed["Watcher"]["special"] == 0
    s.data("PUT", "/access/roles/Watcher", {"privs": "Datastore.Audit", "append": "1"})
    assert set(s.data("GET", "/access/roles/Watcher")) == {"VM.Audit", "Sys.Audit",
                                                           "Datastore.Audit"}
    s.data("PUT", "/access/roles/Watcher", {"privs": "Pool.Audit"})
    assert set(s.data("GET", "/access/roles/Watcher")) == {"Pool.Audit"}
    s.data("DELETE", "/access/roles/Watcher")
    assert s.get("/access/roles/Watcher").status == 500


def test_custom_role_grants_its_privileges(shared_berth):
    b = shared_berth
    b.admin().data("POST", "/access/roles", {"roleid": "NodeWatch", "privs": "Sys.Audit"})
    userid, s = new_user(b, ("/", "NodeWatch"))
    assert s.get(f"/nodes/{NODE}/status").status == 200
    b.admin().data("DELETE", "/access/roles/NodeWatch")
    # the role's ACL entries went with it
    assert all(a["roleid"] != "NodeWatch" for a in b.admin().data("GET", "/access/acl"))
    assert s.get(f"/nodes/{NODE}/status").status == 403


def test_custom_role_names_and_privileges_are_validated(shared_berth):
    s = shared_berth.admin()
    r = s.post("/access/roles", {"roleid": "PVEMine", "privs": "VM.Audit"})
    assert r.status == 400
    assert "roleid" in r.json()["errors"]
    r = s.post("/access/roles", {"roleid": "BadPriv", "privs": "VM.Fly"})
    assert r.status == 400
    assert "privs" in r.json()["errors"]
    r = s.post("/access/roles", {"roleid": "Administrator", "privs": "VM.Audit"})
    assert r.status == 500


def test_builtin_roles_cannot_be_changed_or_deleted(shared_berth):
    s = shared_berth.admin()
    assert s.put("/access/roles/PVEAuditor", {"privs": "Sys.Modify", "append": "1"}).status == 500
    assert s.delete("/access/roles/Administrator").status == 500
    assert "Sys.Modify" not in role_privs(shared_berth, "PVEAuditor")


def test_role_changes_need_sys_modify_on_access(shared_berth):
    _, s = new_user(shared_berth, ("/", "PVEAuditor"))
    assert_forbidden(s.post("/access/roles", {"roleid": "Sneaky", "privs": "Sys.Modify"}),
                     "/access", "Sys.Modify")


# ---- ACL entries ----

def test_acl_put_and_get_round_trip_with_propagate(shared_berth):
    b = shared_berth
    userid, _ = new_user(b)
    b.admin().data("PUT", "/access/acl", {"path": "/vms/100", "roles": "PVEVMUser",
                                          "users": userid, "propagate": "0"})
    b.admin().data("PUT", "/access/acl", {"path": "/storage/local", "roles": "PVEDatastoreUser",
                                          "users": userid})
    mine = [a for a in b.admin().data("GET", "/access/acl") if a["ugid"] == userid]
    assert sorted(mine, key=lambda a: a["path"]) == [
        {"path": "/storage/local", "type": "user", "ugid": userid,
         "roleid": "PVEDatastoreUser", "propagate": 1},
        {"path": "/vms/100", "type": "user", "ugid": userid, "roleid": "PVEVMUser",
         "propagate": 0},
    ]


def test_acl_delete_removes_the_entry(shared_berth):
    b = shared_berth
    userid, s = new_user(b, ("/", "PVEAuditor"))
    assert s.get(f"/nodes/{NODE}/status").status == 200
    b.admin().data("PUT", "/access/acl", {"path": "/", "roles": "PVEAuditor", "users": userid,
                                          "delete": "1"})
    assert all(a["ugid"] != userid for a in b.admin().data("GET", "/access/acl"))
    assert_forbidden(s.get(f"/nodes/{NODE}/status"), f"/nodes/{NODE}", "Sys.Audit")


def test_acl_put_needs_a_subject(shared_berth):
    r = shared_berth.admin().put("/access/acl", {"path": "/", "roles": "PVEAuditor"})
    assert r.status == 400
    assert set(r.json()["errors"]) == {"users", "groups", "tokens"}


def test_acl_put_rejects_invalid_paths(shared_berth):
    b = shared_berth
    userid, _ = new_user(b)
    for path in ("/bogus", "/vms/../access", "/vms/100;rm", "/nodes/a/b/c/d"):
        r = b.admin().put("/access/acl", {"path": path, "roles": "PVEAuditor", "users": userid})
        assert r.status == 400, (path, r.status_line)
        assert r.json()["errors"] == {"path": f"invalid ACL path '{path}'"}, path


def test_acl_path_without_leading_slash_is_an_invalid_path_for_an_administrator(shared_berth):
    """PVE normalises the path ('/' + path) before the permission check, so an administrator
    gets the parameter error, not a 403 naming a path outside the tree."""
    b = shared_berth
    userid, _ = new_user(b)
    r = b.admin().put("/access/acl", {"path": "relative", "roles": "PVEAuditor", "users": userid})
    assert r.status == 400, r.status_line
    assert "path" in r.json()["errors"]


def test_acl_put_rejects_unknown_role_user_group_and_token(shared_berth):
    b = shared_berth
    userid, _ = new_user(b)
    s = b.admin()
    r = s.put("/access/acl", {"path": "/", "roles": "NoSuchRole", "users": userid})
    assert r.status_line == "HTTP/1.1 500 ACL update failed: role 'NoSuchRole' does not exist"
    r = s.put("/access/acl", {"path": "/", "roles": "PVEAuditor", "users": "ghost@pve"})
    assert r.status_line == "HTTP/1.1 500 ACL update failed: user 'ghost@pve' does not exist"
    r = s.put("/access/acl", {"path": "/", "roles": "PVEAuditor", "groups": "nogroup"})
    assert r.status_line == "HTTP/1.1 500 ACL update failed: group 'nogroup' does not exist"
    r = s.put("/access/acl", {"path": "/", "roles": "PVEAuditor", "tokens": f"{userid}!none"})
    assert r.status == 500
    assert all(a["ugid"] not in ("ghost@pve", "nogroup") for a in s.data("GET", "/access/acl"))


def test_acl_list_is_restricted_to_paths_the_caller_may_modify(shared_berth):
    b = shared_berth
    b.add_user("visible@pve", acl=[("/vms/200", "PVEVMUser")])
    _, s = new_user(b)  # no rights
    assert s.data("GET", "/access/acl") == []
    _, vmadmin = new_user(b, ("/vms/200", "PVEVMAdmin"))
    seen = vmadmin.data("GET", "/access/acl")
    assert seen and all(a["path"] == "/vms/200" for a in seen)


# ---- permission checks as a non-root user ----

def test_user_without_acl_gets_pve_permission_texts(shared_berth):
    _, s = new_user(shared_berth)
    assert_forbidden(s.get(f"/nodes/{NODE}/status"), f"/nodes/{NODE}", "Sys.Audit")
    assert_forbidden(s.post(f"/nodes/{NODE}/berth/probe-task"), f"/nodes/{NODE}", "Sys.Modify")
    assert_forbidden(s.get(f"/nodes/{NODE}/config"), "/", "Sys.Audit")
    assert_forbidden(s.put(f"/nodes/{NODE}/config", {"description": "x"}), "/", "Sys.Modify")
    assert_forbidden(s.post("/access/users", {"userid": "new@pve"}),
                     "/access/realm/pve", "Realm.AllocateUser")
    assert_forbidden(s.get("/access/users/admin@pve"), "/access/groups", "User.Modify|Sys.Audit")
    assert_forbidden(s.put("/access/acl", {"path": "/", "roles": "Administrator",
                                           "users": "admin@pve"}), "/", "Permissions.Modify")


def test_permission_check_happens_before_parameter_validation(shared_berth):
    """PVE checks permissions first: a forbidden caller learns nothing about parameters."""
    _, s = new_user(shared_berth)
    r = s.put(f"/nodes/{NODE}/config", {"ballooning-target": "not-a-number"})
    assert r.status == 403


def test_user_without_acl_still_reaches_open_endpoints(shared_berth):
    userid, s = new_user(shared_berth)
    assert s.data("GET", "/version")["version"]
    nodes = s.data("GET", "/nodes")
    assert [n["node"] for n in nodes] == [NODE]
    assert "maxmem" not in nodes[0]  # figures need Sys.Audit
    assert s.data("GET", "/cluster/resources") == []
    assert [u["userid"] for u in s.data("GET", "/access/users")] == [userid]
    assert s.data("GET", "/access/roles")


def test_auditor_reads_but_cannot_write(shared_berth):
    _, s = new_user(shared_berth, ("/", "PVEAuditor"))
    assert s.get(f"/nodes/{NODE}/status").status == 200
    assert s.get(f"/nodes/{NODE}/config").status == 200
    types = {r["type"] for r in s.data("GET", "/cluster/resources")}
    assert types == {"node", "storage"}
    assert_forbidden(s.put(f"/nodes/{NODE}/config", {"description": "x"}), "/", "Sys.Modify")


# ---- inheritance ----

def test_propagating_entry_applies_below_its_path(shared_berth):
    b = shared_berth
    userid, s = new_user(b, ("/nodes", "PVEAuditor", "1"))
    assert "Sys.Audit" in privs_at(b, userid, f"/nodes/{NODE}")
    assert s.get(f"/nodes/{NODE}/status").status == 200


def test_non_propagating_entry_applies_only_at_its_own_path(shared_berth):
    b = shared_berth
    userid, s = new_user(b, ("/nodes", "PVEAuditor", "0"))
    assert "Sys.Audit" in privs_at(b, userid, "/nodes")
    assert privs_at(b, userid, f"/nodes/{NODE}") == set()
    assert_forbidden(s.get(f"/nodes/{NODE}/status"), f"/nodes/{NODE}", "Sys.Audit")


def test_deeper_entry_replaces_what_is_inherited(shared_berth):
    b = shared_berth
    userid, s = new_user(b, ("/", "Administrator"), (f"/nodes/{NODE}", "PVEAuditor"))
    assert s.get(f"/nodes/{NODE}/status").status == 200
    assert_forbidden(s.post(f"/nodes/{NODE}/berth/probe-task"), f"/nodes/{NODE}", "Sys.Modify")
    # elsewhere the administrator role still holds
    assert s.put(f"/nodes/{NODE}/config", {"description": "deeper"}).status == 200
    assert "VM.Allocate" in privs_at(b, userid, "/vms/100")


def test_deeper_entry_can_also_grant_more(shared_berth):
    b = shared_berth
    userid, s = new_user(b, ("/", "PVEAuditor"), (f"/nodes/{NODE}", "Administrator"))
    assert s.post(f"/nodes/{NODE}/berth/probe-task").status == 200
    assert_forbidden(s.put(f"/nodes/{NODE}/config", {"description": "x"}), "/", "Sys.Modify")


def test_noaccess_below_cancels_inherited_rights(shared_berth):
    b = shared_berth
    userid, s = new_user(b, ("/", "Administrator"), (f"/nodes/{NODE}", "NoAccess"))
    assert privs_at(b, userid, f"/nodes/{NODE}") == set()
    assert_forbidden(s.get(f"/nodes/{NODE}/status"), f"/nodes/{NODE}", "Sys.Audit")
    assert s.get(f"/nodes/{NODE}/config").status == 200  # checked on /


def test_noaccess_cancels_other_roles_on_the_same_path(shared_berth):
    b = shared_berth
    userid, s = new_user(b, (f"/nodes/{NODE}", "PVEAuditor"), (f"/nodes/{NODE}", "NoAccess"))
    assert privs_at(b, userid, f"/nodes/{NODE}") == set()
    assert s.get(f"/nodes/{NODE}/status").status == 403


def test_roles_on_the_same_path_add_up(shared_berth):
    b = shared_berth
    userid, _ = new_user(b, ("/", "PVEDatastoreUser"), ("/", "PVESysAdmin"))
    got = privs_at(b, userid, "/")
    assert {"Datastore.AllocateSpace", "Datastore.Audit", "Sys.Audit", "Sys.Console",
            "Sys.Syslog"} <= got
    assert "Sys.Modify" not in got


def test_acls_of_other_users_do_not_leak(shared_berth):
    b = shared_berth
    new_user(b, ("/", "Administrator"))
    userid, s = new_user(b)
    assert privs_at(b, userid, "/") == set()
    assert s.get(f"/nodes/{NODE}/status").status == 403


def test_groups_cannot_be_used_before_they_exist(shared_berth):
    """User-over-group precedence needs groups (a later issue); until then ACLs and users
    must refuse group references rather than accept dangling ones."""
    b = shared_berth
    r = b.admin().post("/access/users", {"userid": "grp@pve", "groups": "admins"})
    assert r.status == 500
    assert r.reason == "create user failed: no such group 'admins'"


# ---- delegation ----

def test_user_without_permissions_modify_may_hand_out_a_subset_of_own_privileges(shared_berth):
    b = shared_berth
    _, vmadmin = new_user(b, ("/vms/300", "PVEVMAdmin"))
    other, _ = new_user(b)
    vmadmin.data("PUT", "/access/acl", {"path": "/vms/300", "roles": "PVEVMUser",
                                        "users": other})
    assert "VM.PowerMgmt" in privs_at(b, other, "/vms/300")
    r = vmadmin.put("/access/acl", {"path": "/vms/300", "roles": "Administrator", "users": other})
    assert r.status == 400
    assert r.json()["errors"] == {"role": "Cannot add role 'Administrator' - requires "
                                          "'Permissions.Modify' or superset of privileges."}
    r = vmadmin.put("/access/acl", {"path": "/vms/300", "roles": "NoAccess", "users": other})
    assert r.status == 400
    assert "Permissions.Modify" in r.json()["errors"]["role"]
    # and nothing outside the delegated path
    r = vmadmin.put("/access/acl", {"path": "/vms/301", "roles": "PVEVMUser", "users": other})
    assert r.status == 403
    assert "Sys.Modify" not in privs_at(b, other, "/")


def test_user_cannot_raise_own_rights(shared_berth):
    b = shared_berth
    userid, s = new_user(b, ("/", "PVEAuditor"))
    r = s.put("/access/acl", {"path": "/", "roles": "Administrator", "users": userid})
    assert_forbidden(r, "/", "Permissions.Modify")
    assert "Permissions.Modify" not in privs_at(b, userid, "/")


def test_effective_permissions_of_others_need_sys_audit_on_access(shared_berth):
    b = shared_berth
    _, s = new_user(b)
    own = s.data("GET", "/access/permissions")
    assert own == {} or all(v == {} for v in own.values())
    assert_forbidden(s.get("/access/permissions", {"userid": "admin@pve"}), "/access",
                     "Sys.Audit")


@pytest.mark.parametrize("path", ["/", "/access", "/nodes", f"/nodes/{NODE}", "/vms",
                                  "/vms/100", "/storage", "/storage/local"])
def test_administrator_on_root_holds_every_privilege_everywhere(shared_berth, path):
    b = shared_berth
    admin = privs_at(b, "admin@pve", path)
    assert admin == role_privs(b, "Administrator")
