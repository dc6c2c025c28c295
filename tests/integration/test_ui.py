"""The web UI end to end: Debian's Chromium, driven by Playwright (tests/ui/*.mjs, one
scenario per test), against a real berthd with real containers and real QEMU (TCG).

The scenarios log in through the form and use the UI as a person would; screenshots land in
tests/artifacts/ui/. Skips, with the reason, where Chromium, Node.js or the built UI
(ui/dist, `make build`) are missing.

BERTH_UI_DIST serves another build of the UI (`npx vite build --outDir DIR`) instead of
ui/dist. Other test modules reuse the `ui` fixture: `from test_ui import ui  # noqa: F401`."""
import os
import shutil
import subprocess

import pytest

from conftest import ADMIN, ADMIN_PASSWORD, NODE
from ctlib import CtHost, start_ct_host
from vmlib import VmHost

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHROMIUM = os.environ.get("BERTH_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = os.path.join(REPO, "tests", "artifacts", "ui")
SCENARIO_TIMEOUT = 600
UI_DIST = os.path.abspath(os.environ.get("BERTH_UI_DIST") or os.path.join(REPO, "ui", "dist"))


def skip_unless_ui_can_run():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package 'chromium', make test installs it)")
    if not shutil.which("node"):
        pytest.skip("no Node.js (scripts/install-deps.sh installs it)")
    if not os.path.exists(os.path.join(UI_DIST, "index.html")):
        pytest.skip(f"the UI is not built ({UI_DIST}; `make build` builds it)")
    if not os.path.isdir(os.path.join(REPO, "ui", "node_modules", "playwright-core")):
        pytest.skip("playwright-core is not installed (ui/node_modules; `make build` installs it)")


class UiHost:
    """A berthd with the busybox template, VMs on TCG, and every guest the UI made removed
    at the end."""

    def __init__(self, h):
        self.h = h
        self.b = h.b
        self.url = f"https://127.0.0.1:{self.b.port}"

    def run(self, name, **inputs):
        env = dict(os.environ)
        env.update({
            "BERTH_URL": f"https://127.0.0.1:{self.b.port}",
            "BERTH_USER": ADMIN,
            "BERTH_PASSWORD": ADMIN_PASSWORD,
            "BERTH_NODE": NODE,
            "BERTH_ARTIFACTS": ARTIFACTS,
        })
        env.update({k: str(v) for k, v in inputs.items()})
        r = subprocess.run(["node", os.path.join(REPO, "tests", "ui", f"{name}.mjs")],
                           cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=SCENARIO_TIMEOUT)
        print(r.stdout, r.stderr)
        assert r.returncode == 0, f"scenario {name} failed:\n{r.stdout}\n{r.stderr}"
        return r.stdout

    def guests(self):
        return [r for r in self.b.admin().data("GET", "/cluster/resources")
                if r["type"] in ("lxc", "qemu")]

    def cleanup(self):
        vms = VmHost(self.b)
        cts = CtHost(self.b, self.h.template)
        for g in self.guests():
            (vms if g["type"] == "qemu" else cts).remove(g["vmid"])


@pytest.fixture(scope="module")
def ui():
    skip_unless_ui_can_run()
    h = start_ct_host(extra_args=["--www", UI_DIST])
    from conftest import stop_and_check
    try:
        h.s.data("PUT", f"/nodes/{NODE}/config", {"kvm": 0})  # TCG: see NOTES.md
        u = UiHost(h)
        yield u
    finally:
        try:
            UiHost(h).cleanup()
        finally:
            stop_and_check([h.b])


def test_login_dark_mode_and_logout(ui):
    ui.run("login")


def test_journey_upload_ct_console_vm_display_dark_task_log(ui):
    """The issue's walk: an ISO uploaded with its progress bar; a CT made with the wizard,
    started, `echo hello-from-ui` in its console, stopped; a VM made from the ISO, started,
    its screen through noVNC, stopped; dark mode and a task's log."""
    import guestimg
    try:
        iso = guestimg.build_guest_images()["linux"]
    except guestimg.GuestImageError as e:
        pytest.skip(str(e))
    ct, vm = ui.h.vmid(), ui.h.vmid()
    ui.run("journey", ISO_FILE=iso, CT_VMID=ct, VM_VMID=vm)
    s = ui.b.admin()
    content = [c["volid"] for c in s.data("GET", f"/nodes/{NODE}/storage/local/content",
                                         {"content": "iso"})]
    assert f"local:iso/{os.path.basename(iso)}" in content
    ct_conf = s.data("GET", f"/nodes/{NODE}/lxc/{ct}/config")
    assert ct_conf["hostname"] == "journey-ct" and ct_conf["memory"] == 256
    vm_conf = s.data("GET", f"/nodes/{NODE}/qemu/{vm}/config")
    assert vm_conf["name"] == "journey-vm" and vm_conf["memory"] in (256, "256")
    for kind, vmid in (("lxc", ct), ("qemu", vm)):
        st = s.data("GET", f"/nodes/{NODE}/{kind}/{vmid}/status/current")
        assert st["status"] == "stopped", (kind, vmid, st["status"])


def test_task_panel_progress_errors_and_bulk_actions(ui):
    a, b = ui.h.create(memory=64), ui.h.create(memory=64)
    ui.run("tasks", CT_A=a, CT_B=b)
    for vmid in (a, b):
        assert ui.h.status(vmid)["status"] == "stopped"
    starts = [t for t in ui.b.admin().data("GET", f"/nodes/{NODE}/tasks",
                                          {"source": "all", "typefilter": "vzstart"})
              if t["id"] in (str(a), str(b))]
    assert len(starts) == 2 and all(t["status"] == "OK" for t in starts), starts
