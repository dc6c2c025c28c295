"""What a container may not do to the host: its seccomp policy (keyctl answers ENOSYS, as
in Proxmox VE, because the kernel keyring is not namespaced; module loading and kexec are
refused), checked with a small static probe run inside a real CT."""
import os
import shutil
import subprocess
import tempfile

import pytest

from ctlib import ct, ct_host  # noqa: F401

PROBE = r"""
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

static void
probe(const char *name, long nr, long a, long b, long c)
{
	errno = 0;
	long r = syscall(nr, a, b, c);
	printf("%s %ld %d\n", name, r, r < 0 ? errno : 0);
}

int
main(void)
{
	probe("keyctl", SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
	probe("delete_module", SYS_delete_module, (long)"berth_no_such_module", 0, 0);
	probe("getpid", SYS_getpid, 0, 0, 0);
	return 0;
}
"""


@pytest.fixture(scope="module")
def probe():
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler to build the syscall probe")
    d = tempfile.mkdtemp(prefix="ct-probe-")
    src, exe = os.path.join(d, "probe.c"), os.path.join(d, "probe")
    with open(src, "w") as f:
        f.write(PROBE)
    r = subprocess.run([cc, "-static", "-O1", "-o", exe, src], capture_output=True, text=True)
    if r.returncode != 0:
        shutil.rmtree(d)
        pytest.skip(f"cannot link a static probe here: {r.stderr.strip()[:200]}")
    yield exe
    shutil.rmtree(d)


def results(text):
    out = {}
    for line in text.splitlines():
        name, ret, err = line.split()
        out[name] = (int(ret), int(err))
    return out


@pytest.mark.parametrize("unprivileged", [1, 0], ids=["unprivileged", "privileged"])
def test_keyctl_is_enosys_and_modules_are_refused_inside_a_ct(ct, probe, unprivileged):
    host = results(subprocess.run([probe], capture_output=True, text=True, check=True).stdout)
    assert host["keyctl"][1] != 38, "the probe itself must reach keyctl on the host"

    vmid = ct.create(unprivileged=unprivileged)
    pid = ct.start(vmid)
    inside = f"/proc/{pid}/root/tmp/berth-probe"
    shutil.copyfile(probe, inside)
    os.chmod(inside, 0o755)
    got = results(ct.enter(vmid, "/tmp/berth-probe\n").stdout)
    assert got["keyctl"] == (-1, 38)          # ENOSYS, as PVE's lxc-pve profile
    assert got["delete_module"] == (-1, 1)    # EPERM from the policy
    assert got["getpid"][0] > 0               # and ordinary calls work
