"""The root side of uploads, where the file meets the storage: an importable disk image is
untrusted (a backing file or an external data file naming a host file is refused; a raw image
with a qcow2 header stays raw), and a storage that fills up mid-copy fails the task cleanly,
leaving no partial file."""
import os
import subprocess

import pytest
from conftest import NODE, require_root


def upload(b, storage, content, path):
    """proxmoxer's upload: the open file's base name becomes the target name."""
    with open(path, "rb") as f:
        return b.api().nodes(NODE).storage(storage).upload.post(content=content, filename=f)


def task_end(b, upid):
    st = b.wait_task(upid, timeout=120)
    log = "\n".join(line["t"] for line in b.api().nodes(NODE).tasks(upid).log.get(limit=0))
    return st["exitstatus"], log


@pytest.fixture
def import_storage(berth, tmp_path):
    path = tmp_path / "imp"
    berth.api().storage.post(storage="imp", type="dir", path=str(path), content="import,iso")
    return berth, path / "import"


def qemu_img(*args):
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def test_import_with_a_backing_file_on_the_host_is_refused(import_storage, tmp_path):
    b, target = import_storage
    evil = tmp_path / "evil.qcow2"
    qemu_img("create", "-f", "qcow2", "-F", "raw", "-b", "/etc/shadow", str(evil), "1M")
    status, log = task_end(b, upload(b, "imp", "import", evil))
    assert status != "OK" and "backing" in status, (status, log)
    assert not target.exists() or os.listdir(target) == []


def test_import_with_an_external_data_file_is_refused(import_storage, tmp_path):
    b, target = import_storage
    outside = tmp_path / "outside-data"
    evil = tmp_path / "datafile.qcow2"
    qemu_img("create", "-f", "qcow2", "-o", f"data_file={outside}", str(evil), "1M")
    status, log = task_end(b, upload(b, "imp", "import", evil))
    assert status != "OK" and "data" in status.lower(), (status, log)
    assert not target.exists() or os.listdir(target) == []


def test_raw_import_with_a_qcow2_header_stays_raw(import_storage, tmp_path):
    b, target = import_storage
    # a qcow2 image (with a backing file) uploaded under a .raw name: its header is data
    disguised = tmp_path / "disguised.raw"
    qemu_img("create", "-f", "qcow2", "-F", "raw", "-b", "/etc/shadow", str(disguised), "1M")
    status, log = task_end(b, upload(b, "imp", "import", disguised))
    assert status == "OK", (status, log)
    stored = target / "disguised.raw"
    assert stored.read_bytes() == disguised.read_bytes()
    info = subprocess.run(["qemu-img", "info", "-f", "raw", "--output=json", str(stored)],
                          capture_output=True, text=True, check=True).stdout
    assert '"format": "raw"' in info and "backing" not in info


def test_storage_full_mid_copy_fails_and_leaves_nothing(berth, tmp_path):
    require_root()
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(small)], check=True)
    try:
        b = berth
        b.api().storage.post(storage="small", type="dir", path=str(small), content="iso")
        big = tmp_path / "big.iso"
        big.write_bytes(os.urandom(8 << 20))
        status, log = task_end(b, upload(b, "small", "iso", big))
        assert status != "OK" and "No space left on device" in status, (status, log)
        iso_dir = small / "template" / "iso"
        assert os.listdir(iso_dir) == [], os.listdir(iso_dir)
        # the space came back: nothing half-written holds it
        st = os.statvfs(small)
        assert st.f_bfree * st.f_frsize > 3 << 20
    finally:
        subprocess.run(["umount", "-l", str(small)], capture_output=True)


def test_multipart_fields_win_over_the_query_string(berth):
    """PVE reads an upload's multipart fields after the query: a `filename` in the URL does
    not rename (or redirect) the upload."""
    import requests
    import urllib3
    urllib3.disable_warnings()
    b = berth
    ticket, _ = b.login()
    url = f"{b.url}/api2/json/nodes/{NODE}/storage/local/upload?filename=query.iso&content=vztmpl"
    r = requests.post(url, cookies={"PVEAuthCookie": ticket}, verify=False, timeout=60,
                      data={"content": "iso"}, files={"filename": ("multipart.iso", b"x" * 4096)})
    assert r.status_code == 200, r.reason
    assert b.wait_task(r.json()["data"])["exitstatus"] == "OK"
    iso_dir = os.path.join(b.root, "storage", "local", "template", "iso")
    assert os.listdir(iso_dir) == ["multipart.iso"]
