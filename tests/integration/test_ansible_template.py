"""Ansible's real proxmox_template module (Debian's `ansible`, community.general) against
Berth: the upload flow (GET content, multipart upload, wait on the task), the appliance flow
(POST /nodes/{node}/aplinfo, wait) and removal (DELETE, poll the content list) — unchanged
client code, as users run it."""
import json
import os
import shutil
import subprocess

import pytest
from conftest import ADMIN, ADMIN_PASSWORD, NODE

MODULE = "community.general.proxmox_template"


def ansible(b, **args):
    if not shutil.which("ansible"):
        pytest.skip("ansible is not installed (scripts/install-deps.sh test installs it)")
    module_args = dict(api_host=f"127.0.0.1:{b.port}", api_user=ADMIN,
                       api_password=ADMIN_PASSWORD, validate_certs=False, node=NODE,
                       storage="local", timeout=60, **args)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_HOME=os.path.join(b.root, "ansible"))
    p = subprocess.run(["ansible", "localhost", "-c", "local", "-m", MODULE, "-a",
                        json.dumps(module_args)], capture_output=True, text=True, env=env,
                       timeout=300)
    out = json.loads(p.stdout)
    result = out["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return result


def volids(b, content):
    return {e["volid"] for e in b.admin().data(
        "GET", f"/nodes/{NODE}/storage/local/content", {"content": content})}


def test_upload_flow_then_absent(shared_berth, tmp_path):
    b = shared_berth
    iso = tmp_path / "ansible-test.iso"
    iso.write_bytes(os.urandom(3 << 20))
    r = ansible(b, content_type="iso", src=str(iso))
    assert not r.get("failed"), r
    assert r["changed"] is True, r
    target = os.path.join(b.root, "storage", "local", "template", "iso", "ansible-test.iso")
    assert open(target, "rb").read() == iso.read_bytes()
    assert "local:iso/ansible-test.iso" in volids(b, "iso")

    # the module looks first and does not upload again
    r = ansible(b, content_type="iso", src=str(iso))
    assert not r.get("failed") and r["changed"] is False, r

    r = ansible(b, content_type="iso", template="ansible-test.iso", state="absent")
    assert not r.get("failed") and r["changed"] is True, r
    assert not os.path.exists(target)
    assert "local:iso/ansible-test.iso" not in volids(b, "iso")


def test_appliance_flow_builds_the_template(shared_berth):
    b = shared_berth
    catalog = b.admin().data("GET", f"/nodes/{NODE}/aplinfo")
    busybox = next(e["template"] for e in catalog if e["package"] == "busybox")
    r = ansible(b, content_type="vztmpl", template=busybox)
    assert not r.get("failed"), r
    assert r["changed"] is True, r
    assert f"local:vztmpl/{busybox}" in volids(b, "vztmpl")
    r = ansible(b, content_type="vztmpl", template=busybox)
    assert not r.get("failed") and r["changed"] is False, r
