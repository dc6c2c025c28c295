"""Running Ansible's real modules (Debian's `ansible`, community.general) against a test
daemon with ansible-playbook, as users run them: one play on localhost, results as JSON."""
import json
import os

import subprocess

from conftest import ADMIN, ADMIN_PASSWORD, NODE


def playbook(b, tmp_path, module, *tasks, timeout=60, run_timeout=600):
    """Run one play whose tasks are `tasks` (module args for `module`); the per-task results
    (a failed task ends the play: fewer results than tasks)."""
    common = dict(api_host=f"127.0.0.1:{b.port}", api_user=ADMIN, api_password=ADMIN_PASSWORD,
                  validate_certs=False, node=NODE, timeout=timeout)
    play = [{"hosts": "localhost", "gather_facts": False, "connection": "local",
             "tasks": [{"name": f"task {i}", module: dict(common, **t)}
                       for i, t in enumerate(tasks)]}]
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(play))  # JSON is YAML
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_DEPRECATION_WARNINGS="0",
               ANSIBLE_HOME=os.path.join(b.root, "ansible"))
    p = subprocess.run(["ansible-playbook", "-i", "localhost,", str(path)], capture_output=True,
                       text=True, env=env, timeout=run_timeout)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        raise AssertionError(f"ansible-playbook printed no JSON:\n{p.stdout}\n{p.stderr}")
    return [t["hosts"]["localhost"] for t in out["plays"][0]["tasks"]]


def assert_ok(result, changed):
    assert not result.get("failed"), result.get("msg", result)
    assert result["changed"] is changed, result.get("msg", result)
