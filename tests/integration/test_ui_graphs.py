"""Summary pages and their graphs in the browser (tests/ui/graphs.mjs): a running
container's summary shows its status and live graphs drawn from rrddata; the node's summary
shows its memory; the storage's shows its usage; the timeframe switches to a day; light,
dark and phone width.

The daemon samples every second into 2-second steps (berthd's test options --rrd-interval
and --rrd-step, docs/metrics.md), so the graphs have rows within seconds instead of a
minute. Everything else is the `ui` fixture of test_ui.py, with those two options added."""
import pytest

from conftest import NODE, stop_and_check
from ctlib import start_ct_host
from test_ui import UI_DIST, UiHost, skip_unless_ui_can_run

FAST_RRD = ["--rrd-interval", "1", "--rrd-step", "2"]


@pytest.fixture(scope="module")
def ui():
    skip_unless_ui_can_run()
    h = start_ct_host(extra_args=["--www", UI_DIST] + FAST_RRD)
    try:
        yield UiHost(h)
    finally:
        try:
            UiHost(h).cleanup()
        finally:
            stop_and_check([h.b])


def wait_rows(ui, path, key, timeout=40):
    """Wait until rrddata at path has a row with key (the sampler has written it)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        rows = ui.b.admin().data("GET", path, {"timeframe": "hour"})
        if any(key in r for r in rows):
            return rows
        assert time.monotonic() < deadline, f"no '{key}' in {path} after {timeout} s: {rows[-3:]}"
        time.sleep(0.5)


def test_summary_pages_show_status_usage_and_live_graphs(ui):
    vmid = ui.h.create(hostname="graphs-ct", description="Graphs test\n<b>not bold</b>",
                       tags="ui;graphs", memory=256)
    ui.h.start(vmid)
    # the scenario asserts the graphs render from rows; make sure the sampler is running at
    # all, so a failure there names the API rather than the page
    wait_rows(ui, f"/nodes/{NODE}/lxc/{vmid}/rrddata", "mem")
    # may see the container, not the node: its node summary must show the 403 status line
    ui.b.add_user("graphs@pve", password="graphs-pass-1", acl=[(f"/vms/{vmid}", "PVEVMUser")])
    ui.run("graphs", BERTH_VMID=vmid, BERTH_STORAGE="local",
           BERTH_LIMITED_USER="graphs@pve", BERTH_LIMITED_PASSWORD="graphs-pass-1")
