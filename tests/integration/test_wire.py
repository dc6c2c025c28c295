"""The wire form real clients depend on: envelope, content type, status lines (proxmox-api.md §1)."""

JSON_CT = "application/json;charset=UTF-8"


def test_version_answers_200_with_exact_content_type_and_data_envelope(berth):
    ticket, _ = berth.login()
    r = berth.request("GET", "/api2/json/version", headers={"Cookie": f"PVEAuthCookie={ticket}"})
    assert r.status_line == "HTTP/1.1 200 OK"
    assert r.headers["content-type"] == JSON_CT
    data = r.json()["data"]
    assert data["version"].startswith("8.")
    assert data["berth"]


def test_unknown_route_is_501_with_method_and_path_in_status_line(berth):
    ticket, _ = berth.login()
    r = berth.request("GET", "/api2/json/nodes/itnode/foo",
                      headers={"Cookie": f"PVEAuthCookie={ticket}"})
    assert r.status == 501
    assert r.reason == "Method 'GET /nodes/itnode/foo' not implemented"
    assert r.json() == {"data": None}


def test_no_credentials_is_401_no_ticket_without_body(berth):
    r = berth.request("GET", "/api2/json/version")
    assert r.status == 401
    assert r.reason == "No ticket"
    assert "content-type" not in r.headers
    assert r.body == b""


def test_failed_login_is_401_with_json_body(berth):
    r = berth.request("POST", "/api2/json/access/ticket",
                      {"username": "admin@pve", "password": "wrong"})
    assert r.status == 401
    assert r.reason == "authentication failure"
    assert r.headers["content-type"] == JSON_CT
    assert r.json() == {"data": None, "message": "authentication failure\n"}


def test_parameter_error_names_parameter_with_pve_text(berth):
    ticket, csrf = berth.login()
    r = berth.request("GET", "/api2/json/cluster/nextid?vmid=abc",
                      headers={"Cookie": f"PVEAuthCookie={ticket}"})
    assert r.status_line == "HTTP/1.1 400 Parameter verification failed."
    assert r.json()["errors"] == {"vmid": "type check ('integer') failed - got 'abc'"}
