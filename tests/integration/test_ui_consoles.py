"""Consoles in the web UI (tests/ui/consoles.mjs) against a real berthd: xterm.js on a
container's console (log in on its getty, run a command, see its output; dark mode; a popup
window; a phone; the session ends when the tab is left; a stopped CT offers Start), and noVNC
on a VM's display (the canvas shows what the API's screenshot shows) plus xterm.js on the
VM's serial socket. Screenshots land in tests/artifacts/ui/console-*.png."""
from test_ui import ui  # noqa: F401 - the fixture

CT_PASSWORD = "ui-console-1"


def test_container_console(ui):  # noqa: F811
    h = ui.h
    running = h.create(hostname="uiconsole", password=CT_PASSWORD)
    h.start(running)
    stopped = h.create(hostname="uistopped")
    try:
        ui.run("consoles", CONSOLE_PART="ct", CT_RUNNING=running, CT_STOPPED=stopped,
               CT_PASSWORD=CT_PASSWORD)
        # the scenario's Start button started it
        assert h.status(stopped)["status"] == "running"
    finally:
        h.cleanup([running, stopped])


def test_vm_display_and_serial_console(ui):  # noqa: F811
    from vmlib import VmHost, skip_unless_vms_can_run, upload_guest_iso
    from test_vm_console import boot
    skip_unless_vms_can_run()
    vms = VmHost(ui.b)
    iso = upload_guest_iso(vms)
    # the test guest on VGA (std) and serial0: boot() waits for its marker on the serial port
    vmid = boot(vms, iso)
    try:
        ui.run("consoles", CONSOLE_PART="vm", VM_VMID=vmid)
    finally:
        vms.cleanup([vmid])
