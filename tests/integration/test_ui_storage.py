"""The storage content browser and the permission pages in a real browser (tests/ui/storage.mjs,
tests/ui/access.mjs) against a real berthd: an ISO uploaded through the dialog with its
progress bar, listed, removed; a wrong extension refused with the API's words; a user, its
password, an ACL entry and an API token made in the UI, then used from here with the token
header, then removed in the UI. Reuses test_ui's `ui` fixture (and its skips)."""
import os
import re

import pytest

import guestimg
from conftest import NODE, Berth  # noqa: F401
from test_ui import ui  # noqa: F401

USER = "uitest@pve"


@pytest.fixture(scope="module")
def test_iso():
    try:
        return guestimg.build_guest_images()["linux"]
    except guestimg.GuestImageError as e:
        pytest.skip(f"no test ISO: {e}")


def iso_volids(ui):
    return [v["volid"] for v in ui.b.admin().data(
        "GET", f"/nodes/{NODE}/storage/local/content", {"content": "iso"})]


def test_upload_progress_list_and_remove_an_iso_and_a_wrong_extension_is_refused(ui, test_iso, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not an ISO image\n")
    out = ui.run("storage", BERTH_ISO=test_iso, BERTH_BAD_FILE=str(bad))
    assert "scenario storage: passed" in out
    name = os.path.basename(test_iso)
    assert f"local:iso/{name}" not in iso_volids(ui)
    # what the UI did went through the API: an upload task and a removal task, both OK
    tasks = ui.b.admin().data("GET", f"/nodes/{NODE}/tasks", {"source": "all", "limit": 50})
    by_type = {t["type"]: t for t in tasks}
    assert by_type["imgcopy"]["status"] == "OK", by_type["imgcopy"]
    assert by_type["imgdel"]["status"] == "OK", by_type["imgdel"]
    assert not [v for v in iso_volids(ui) if v.endswith("notes.txt")]


def test_user_acl_and_token_made_in_the_ui_work_and_are_removed(ui):
    out = ui.run("access", ACCESS_STEP="create", ACCESS_USER=USER)
    m = re.search(r"^TOKEN_SECRET=([0-9a-f-]{36})$", out, re.M)
    assert m, out
    secret = m.group(1)
    admin = ui.b.admin()

    acl = admin.data("GET", "/access/acl")
    assert {"path": "/vms", "type": "user", "ugid": USER, "roleid": "PVEVMUser",
            "propagate": 1} in acl, acl
    user = admin.data("GET", f"/access/users/{USER}")
    assert user["email"] == "ui@example.com" and user["firstname"] == "Ui"
    assert user["tokens"]["ci"]["privsep"] == 0 and user["tokens"]["ci"]["comment"] == "made by the UI test"
    # the password the UI set is the one that logs in
    ticket, _ = ui.b.login(USER, "second-Passw0rd")
    assert ticket

    # the one-time secret works as a token header, with the user's privileges
    tok = ui.b.token_session(f"{USER}!ci", secret)
    perms = tok.data("GET", "/access/permissions")
    assert perms["/vms"].get("VM.Audit") == 1 and perms["/vms"].get("VM.PowerMgmt") == 1, perms
    assert "VM.Allocate" not in perms["/vms"], perms
    r = tok.call("POST", "/access/users", {"userid": "nope@pve"})
    assert r.status == 403, r.status_line
    bad = ui.b.token_session(f"{USER}!ci", "0" * 8 + secret[8:])
    assert bad.call("GET", "/access/permissions").status == 401

    ui.run("access", ACCESS_STEP="remove", ACCESS_USER=USER)
    assert USER not in [u["userid"] for u in admin.data("GET", "/access/users")]
    assert not [a for a in admin.data("GET", "/access/acl") if a["ugid"].startswith(USER)]
    assert tok.call("GET", "/access/permissions").status == 401
