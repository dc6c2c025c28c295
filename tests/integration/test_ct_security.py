"""What a container may not do to the host: its seccomp policy, as Proxmox VE's (module
loading and kexec refused for every CT; in unprivileged CTs keyctl answers ENOSYS unless the
keyctl feature is on, because the kernel keyring is not namespaced), checked with a small
static probe run inside real CTs."""
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


def run_probe(ct, probe, **create):
    if "features" in create:
        # feature flags other than nesting are root@pam's: the CLI is root@pam
        vmid = ct.vmid()
        r = ct.b.cli("ct", "create", vmid, ct.template, "--features", create["features"])
        assert r.returncode == 0, r.stderr
    else:
        vmid = ct.create(**create)
    pid = ct.start(vmid)
    inside = f"/proc/{pid}/root/tmp/berth-probe"
    shutil.copyfile(probe, inside)
    os.chmod(inside, 0o755)
    return results(ct.enter(vmid, "/tmp/berth-probe\n").stdout)


@pytest.fixture(scope="module")
def host_results(probe):
    host = results(subprocess.run([probe], capture_output=True, text=True, check=True).stdout)
    assert host["keyctl"][1] != 38, "the probe itself must reach keyctl on the host"
    return host


def test_keyctl_is_enosys_and_modules_are_refused_in_an_unprivileged_ct(ct, probe,
                                                                         host_results):
    got = run_probe(ct, probe)
    assert got["keyctl"] == (-1, 38)          # ENOSYS, as PVE's policy for unprivileged CTs
    assert got["delete_module"] == (-1, 1)    # EPERM from the policy
    assert got["getpid"][0] > 0               # and ordinary calls work


def test_the_keyctl_feature_gives_keyctl_back(ct, probe, host_results):
    got = run_probe(ct, probe, features="keyctl=1")
    assert got["keyctl"][1] != 38
    assert got["delete_module"] == (-1, 1)


def test_a_privileged_ct_keeps_the_common_policy(ct, probe, host_results):
    """PVE gives privileged CTs the distribution's policy only: keyctl works there."""
    got = run_probe(ct, probe, unprivileged=0)
    assert got["keyctl"][1] != 38
    assert got["delete_module"] == (-1, 1)
