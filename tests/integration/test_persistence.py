"""A restart keeps all state (SIGTERM + start), and kill -9 of the daemon in the middle of
concurrent config writes loses no acknowledged write and leaves no torn file
(security.md F1)."""
import hashlib
import sqlite3
import threading

from conftest import ADMIN, ADMIN_PASSWORD, NODE, Session, wait_for

PW = "user-password"


def test_users_tokens_acls_roles_config_and_tasks_survive_a_restart(berth):
    b = berth
    s = b.admin()
    b.add_user("keep@pve", password=PW, acl=[(f"/nodes/{NODE}", "PVEAuditor", "0")],
               comment="kept", email="keep@example.com")
    full, secret = b.add_token("keep@pve", "tok", privsep="0", comment="token kept")
    b.add_user("sep@pve", acl=[("/vms", "PVEVMAdmin")])
    sep_full, sep_secret = b.add_token("sep@pve", "tok", acl=[("/vms/100", "PVEVMUser")])
    s.data("POST", "/access/roles", {"roleid": "Keeper", "privs": "VM.Audit,Sys.Audit"})
    s.data("PUT", "/access/acl", {"path": "/storage/local", "roles": "Keeper",
                                  "users": "keep@pve"})
    s.data("PUT", "/access/password", {"userid": "keep@pve", "password": "changed-password",
                                       "confirmation-password": ADMIN_PASSWORD})
    s.data("PUT", f"/nodes/{NODE}/config", {"description": "persisted", "ballooning-target": "66"})
    ok, failed = b.probe(warnings=1), b.probe(fail="remembered")
    for u in (ok, failed):
        b.wait_task(u)

    before = {
        "users": s.data("GET", "/access/users", {"full": "1"}),
        "acl": s.data("GET", "/access/acl"),
        "roles": s.data("GET", "/access/roles"),
        "config": s.data("GET", f"/nodes/{NODE}/config"),
        "tasks": b.admin().get(f"/nodes/{NODE}/tasks").json(),
        "log": s.data("GET", f"/nodes/{NODE}/tasks/{ok}/log"),
    }

    b.restart()
    s = b.session()
    after = {
        "users": s.data("GET", "/access/users", {"full": "1"}),
        "acl": s.data("GET", "/access/acl"),
        "roles": s.data("GET", "/access/roles"),
        "config": s.data("GET", f"/nodes/{NODE}/config"),
        "tasks": s.get(f"/nodes/{NODE}/tasks").json(),
        "log": s.data("GET", f"/nodes/{NODE}/tasks/{ok}/log"),
    }
    assert after == before
    # and it all still works
    assert b.session("keep@pve", "changed-password").get(f"/nodes/{NODE}").status == 200
    h = {"Authorization": f"PVEAPIToken={full}={secret}"}
    assert b.request("GET", "/api2/json/nodes", headers=h).status == 200
    perms = s.data("GET", "/access/permissions", {"userid": sep_full, "path": "/vms/100"})
    assert "VM.PowerMgmt" in perms["/vms/100"]  # token ACL ∩ user ACL
    assert "VM.Allocate" not in perms["/vms/100"]
    st = s.data("GET", f"/nodes/{NODE}/tasks/{failed}/status")
    assert st["exitstatus"] == "remembered"


def test_ticket_signing_key_and_csrf_secret_survive_a_restart(berth):
    ticket, csrf = berth.login()
    berth.restart()
    s = Session(berth, ticket=ticket, csrf=csrf)
    assert s.put(f"/nodes/{NODE}/config", {"description": "after restart"}).status == 200


def test_tls_certificate_survives_a_restart(berth):
    def fingerprint():
        s = berth.tls_socket()
        try:
            return s.getpeercert(binary_form=True)
        finally:
            s.close()
    first = fingerprint()
    berth.restart()
    assert fingerprint() == first


# ---- kill -9 during concurrent writes ----

class Writers:
    """Concurrent API writers that record what the daemon acknowledged (200) and what was
    in flight when it died."""

    def __init__(self, b, ticket, csrf):
        self.b = b
        self.headers = {"Cookie": f"PVEAuthCookie={ticket}", "CSRFPreventionToken": csrf}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked_users = []
        self.acked_tokens = {}  # full id -> secret
        self.acked_acls = []
        self.config_values = set()  # every value any writer tried
        self.threads = []

    def _post(self, method, path, params):
        try:
            r = self.b.request(method, "/api2/json" + path, params, self.headers, timeout=10)
        except OSError:
            return None
        return r

    def user_writer(self, w):
        i = 0
        while not self.stop.is_set():
            userid = f"w{w}x{i}@pve"
            r = self._post("POST", "/access/users", {"userid": userid, "comment": f"writer {w}"})
            if r is None:
                return
            if r.status == 200:
                with self.lock:
                    self.acked_users.append(userid)
            i += 1

    def token_writer(self, w):
        i = 0
        while not self.stop.is_set():
            r = self._post("POST", f"/access/users/{ADMIN}/token/w{w}t{i}", {"privsep": "0"})
            if r is None:
                return
            if r.status == 200:
                d = r.json()["data"]
                with self.lock:
                    self.acked_tokens[d["full-tokenid"]] = d["value"]
            i += 1

    def acl_writer(self, w):
        i = 0
        while not self.stop.is_set():
            path = f"/vms/{1000 + w * 1000 + i}"
            r = self._post("PUT", "/access/acl", {"path": path, "roles": "PVEAuditor",
                                                  "users": ADMIN})
            if r is None:
                return
            if r.status == 200:
                with self.lock:
                    self.acked_acls.append(path)
            i += 1

    def config_writer(self, w):
        i = 0
        while not self.stop.is_set():
            value = f"writer {w} value {i}." + "x" * (i % 50)
            with self.lock:
                self.config_values.add(value)
            if self._post("PUT", f"/nodes/{NODE}/config", {"description": value}) is None:
                return
            i += 1

    def start(self):
        for fn, n in ((self.user_writer, 4), (self.token_writer, 2), (self.acl_writer, 2),
                      (self.config_writer, 3)):
            for w in range(n):
                t = threading.Thread(target=fn, args=(w,), daemon=True)
                t.start()
                self.threads.append(t)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)
        assert not any(t.is_alive() for t in self.threads)


def check_consistent_after_crash(b, writers):
    con = sqlite3.connect(f"file:{b.root}/config.db?mode=ro", uri=True)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # every file is whole: its content matches the digest written with it
        for path, data, digest in con.execute("SELECT path, data, digest FROM files"):
            assert hashlib.sha1(bytes(data)).hexdigest() == digest.lower(), path
    finally:
        con.close()
    s = b.session()  # admin@pve still logs in: user.cfg and shadow.cfg parse
    users = {u["userid"] for u in s.data("GET", "/access/users")}
    missing = [u for u in writers.acked_users if u not in users]
    assert not missing, f"acknowledged users lost: {missing[:10]}"
    acl_paths = {a["path"] for a in s.data("GET", "/access/acl") if a["ugid"] == ADMIN}
    lost = [p for p in writers.acked_acls if p not in acl_paths]
    assert not lost, f"acknowledged ACL entries lost: {lost[:10]}"
    for full, secret in writers.acked_tokens.items():
        r = b.request("GET", "/api2/json/version",
                      headers={"Authorization": f"PVEAPIToken={full}={secret}"})
        assert r.status == 200, f"acknowledged token {full} lost ({r.status_line})"
    cfg = s.data("GET", f"/nodes/{NODE}/config")
    if "description" in cfg:
        assert cfg["description"].rstrip("\n") in writers.config_values, "torn node config"
    # every stored file is one of the texts a writer produced, not a mix: user.cfg lines
    text = b.store_files()["user.cfg"].decode()
    for line in text.splitlines():
        assert line == "" or line.split(":", 1)[0] in ("user", "acl", "role", "group",
                                                         "token", "pool"), line


def test_kill9_during_concurrent_writes_loses_no_acknowledged_write(berth):
    b = berth
    for round_ in range(3):
        ticket, csrf = b.login(ADMIN, ADMIN_PASSWORD)
        writers = Writers(b, ticket, csrf)
        writers.start()
        target = 10 * (round_ + 1)
        try:
            wait_for(lambda: len(writers.acked_users) >= target and len(writers.acked_acls) >= 3,
                     60, "writes to be acknowledged")
            b.kill9()
        finally:
            writers.join()
        b.start()
        b._admin_session = None
        check_consistent_after_crash(b, writers)
        # the next round writes new names on top of what survived
        for u in writers.acked_users:
            b.admin().delete(f"/access/users/{u}")


def test_kill9_during_a_storm_of_writes_to_one_file(berth):
    """Many writers on the same file (node config): after kill -9 it parses and holds one
    whole value that some writer sent."""
    b = berth
    ticket, csrf = b.login()
    writers = Writers(b, ticket, csrf)
    for w in range(8):
        t = threading.Thread(target=writers.config_writer, args=(w,), daemon=True)
        t.start()
        writers.threads.append(t)
    try:
        wait_for(lambda: len(writers.config_values) >= 40, 60, "config writes")
        b.kill9()
    finally:
        writers.join()
    b.start()
    b._admin_session = None
    cfg = b.admin().data("GET", f"/nodes/{NODE}/config")
    assert cfg["description"].rstrip("\n") in writers.config_values
    assert set(cfg) == {"description", "digest"}
