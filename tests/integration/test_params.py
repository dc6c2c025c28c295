"""Request parameters and response envelopes as Proxmox VE clients see them
(proxmox-api.md §1.2, §1.3): body encodings, query overriding body, strict validation with
PVE's texts, booleans only 0/1, 400/500/501/506 status lines."""
import json
import uuid

from conftest import JSON_CT, NODE

CONFIG = f"/api2/json/nodes/{NODE}/config"


def auth_headers(b, method="PUT"):
    s = b.admin()
    return s.headers(method)


def node_config(b):
    return b.admin().data("GET", f"/nodes/{NODE}/config")


def description(b):
    """The node description; PVE returns it with the newline of its comment line."""
    d = node_config(b)["description"]
    assert d.endswith("\n")
    return d[:-1]


def put_config_raw(b, body, content_type=None, query=""):
    h = auth_headers(b)
    if content_type:
        h["Content-Type"] = content_type
    return b.request("PUT", CONFIG + query, body, h)


# ---- body encodings ----

def test_form_urlencoded_body_sets_values(shared_berth):
    b = shared_berth
    r = put_config_raw(b, "description=form+body%21", "application/x-www-form-urlencoded")
    assert r.status_line == "HTTP/1.1 200 OK", r.body
    assert r.json() == {"data": None}
    assert description(b) == "form body!"


def test_json_body_sets_values_with_native_types(shared_berth):
    b = shared_berth
    r = put_config_raw(b, json.dumps({"description": "json body", "ballooning-target": 55}),
                       "application/json")
    assert r.status == 200, r.status_line
    assert description(b) == "json body"
    assert node_config(b)["ballooning-target"] == 55


def test_json_body_accepts_integers_given_as_strings(shared_berth):
    b = shared_berth
    r = put_config_raw(b, json.dumps({"ballooning-target": "56"}), "application/json")
    assert r.status == 200, r.status_line
    assert node_config(b)["ballooning-target"] == 56


def test_body_without_content_type_is_read_as_form_urlencoded(shared_berth):
    """The Ansible inventory plugin posts without a Content-Type (proxmox-api.md §5.6)."""
    b = shared_berth
    r = put_config_raw(b, "description=no-content-type")
    assert r.status == 200, r.status_line
    assert description(b) == "no-content-type"


def test_content_type_with_charset_parameter_is_accepted(shared_berth):
    b = shared_berth
    r = put_config_raw(b, "description=with-charset",
                       "application/x-www-form-urlencoded; charset=UTF-8")
    assert r.status == 200, r.status_line
    assert description(b) == "with-charset"


def test_unsupported_content_type_is_506_without_body(shared_berth):
    b = shared_berth
    r = put_config_raw(b, "<x/>", "text/xml")
    assert r.status == 506
    assert r.reason == "upload 'Content-Type 'text/xml' not implemented"


def test_malformed_json_body_is_400(shared_berth):
    r = put_config_raw(shared_berth, '{"description": ', "application/json")
    assert r.status == 400


def test_semicolon_separates_pairs_like_ampersand(shared_berth):
    b = shared_berth
    r = put_config_raw(b, "startall-onboot-delay=7;ballooning-target=61")
    assert r.status == 200, r.status_line
    cfg = node_config(b)
    assert cfg["startall-onboot-delay"] == 7
    assert cfg["ballooning-target"] == 61


def test_utf8_values_survive_form_encoding(shared_berth):
    b = shared_berth
    r = put_config_raw(b, "description=" + "gr%C3%BC%C3%9Fe+%E2%9C%93")
    assert r.status == 200, r.status_line
    assert description(b) == "grüße ✓"


def test_query_string_overrides_body_parameter_of_same_name(shared_berth):
    b = shared_berth
    r = put_config_raw(b, "description=from-body&ballooning-target=40",
                       query="?description=from-query")
    assert r.status == 200, r.status_line
    assert description(b) == "from-query"
    assert node_config(b)["ballooning-target"] == 40


def test_cache_buster_dc_parameter_is_ignored(shared_berth):
    r = shared_berth.admin().get("/version", {"_dc": "1700000000000"})
    assert r.status == 200, r.status_line


def test_get_with_a_body_is_501_unexpected_content(shared_berth):
    b = shared_berth
    r = b.request("GET", "/api2/json/version", "a=1", auth_headers(b, "GET"))
    assert r.status == 501
    assert r.reason == "Unexpected content for method 'GET'"


def test_delete_with_a_body_is_501_unexpected_content(shared_berth):
    b = shared_berth
    r = b.request("DELETE", "/api2/json/access/users/nobody@pve", "a=1", auth_headers(b, "DELETE"))
    assert r.status == 501
    assert r.reason == "Unexpected content for method 'DELETE'"


# ---- validation texts ----

def assert_param_error(r, errors):
    assert r.status_line == "HTTP/1.1 400 Parameter verification failed.", r.status_line
    assert r.headers["content-type"] == JSON_CT
    body = r.json()
    assert body["data"] is None
    assert body["errors"] == errors


def test_unknown_parameter_is_rejected_naming_it(shared_berth):
    r = shared_berth.admin().get("/version", {"bogus": "1"})
    assert_param_error(r, {"bogus": "property is not defined in schema and the schema does "
                                    "not allow additional properties"})


def test_missing_required_parameter_is_rejected_naming_it(shared_berth):
    r = shared_berth.admin().post("/access/users", {"comment": "x"})
    assert_param_error(r, {"userid": "property is missing and it is not optional"})


def test_several_errors_are_reported_together(shared_berth):
    r = shared_berth.admin().put(f"/nodes/{NODE}/config",
                                 {"ballooning-target": "x", "startall-onboot-delay": "301"})
    assert_param_error(r, {"ballooning-target": "type check ('integer') failed - got 'x'",
                           "startall-onboot-delay": "value must have a maximum value of 300"})


def test_integer_below_minimum_is_rejected(shared_berth):
    r = shared_berth.admin().put(f"/nodes/{NODE}/config", {"startall-onboot-delay": "-1"})
    assert_param_error(r, {"startall-onboot-delay": "value must have a minimum value of 0"})


def test_vmid_out_of_range_fails_the_pve_vmid_format_check_first(shared_berth):
    """PVE checks the format before the range; its text keeps the trailing newline."""
    r = shared_berth.admin().get("/cluster/nextid", {"vmid": "99"})
    assert_param_error(r, {"vmid": "invalid format - value does not look like a valid VM ID\n"})


def test_integer_accepts_explicit_sign(shared_berth):
    r = shared_berth.admin().put(f"/nodes/{NODE}/config", {"ballooning-target": "+42"})
    assert r.status == 200, r.status_line
    assert node_config(shared_berth)["ballooning-target"] == 42


def test_enum_violation_lists_the_allowed_values(shared_berth):
    r = shared_berth.admin().get(f"/nodes/{NODE}/tasks", {"source": "bogus"})
    assert_param_error(r, {"source": "value 'bogus' does not have a value in the enumeration "
                                     "'archive, active, all'"})


def test_pattern_violation_is_reported(shared_berth):
    r = shared_berth.admin().post(f"/nodes/{NODE}/berth/probe-task", {"fail": "two\nlines"})
    assert_param_error(r, {"fail": "value does not match the regex pattern"})


def test_string_shorter_than_min_length_is_rejected(shared_berth):
    r = shared_berth.admin().put("/access/password", {"userid": "admin@pve", "password": "abc"})
    assert_param_error(r, {"password": "value must be at least 8 characters long"})


def test_string_longer_than_max_length_is_rejected(shared_berth):
    r = shared_berth.admin().put(f"/nodes/{NODE}/config", {"digest": "a" * 41})
    assert_param_error(r, {"digest": "value may only be 40 characters long"})


def test_requires_violation_is_reported_on_the_required_key(shared_berth):
    r = shared_berth.anonymous().post("/access/ticket", {"username": "admin@pve",
                                                         "password": "x", "path": "/"})
    assert_param_error(r, {"privs": "missing property required by 'path'"})


def test_invalid_format_is_reported(shared_berth):
    r = shared_berth.admin().post("/access/users", {"userid": "no-realm"})
    assert r.status == 400
    assert r.json()["errors"]["userid"].startswith("invalid format - ")


# ---- booleans ----

def test_boolean_accepts_1_and_0(shared_berth):
    s = shared_berth.admin()
    assert s.get("/access/users", {"full": "1"}).status == 200
    assert s.get("/access/users", {"full": "0"}).status == 200


def test_boolean_rejects_true_false_yes_and_python_True(shared_berth):
    """proxmoxer passes Python values verbatim, so True arrives as 'True' (§5.7)."""
    s = shared_berth.admin()
    for value in ("True", "true", "yes", "on", "2"):
        r = s.get("/access/users", {"full": value})
        assert_param_error(r, {"full": f"type check ('boolean') failed - got '{value}'"})


def test_boolean_in_json_body_accepts_true_and_false(shared_berth):
    b = shared_berth
    userid = f"jb-{uuid.uuid4().hex[:8]}@pve"
    h = auth_headers(b, "POST")
    h["Content-Type"] = "application/json"
    r = b.request("POST", "/api2/json/access/users",
                  json.dumps({"userid": userid, "enable": False}), h)
    assert r.status == 200, r.status_line
    assert b.admin().data("GET", f"/access/users/{userid}")["enable"] == 0


# ---- path parameters ----

def test_path_parameter_repeated_in_body_with_same_value_is_accepted(shared_berth):
    b = shared_berth
    userid = b.add_user(f"pp-{uuid.uuid4().hex[:8]}@pve")
    r = b.admin().put(f"/access/users/{userid}", {"userid": userid, "comment": "same"})
    assert r.status == 200, r.status_line


def test_path_parameter_repeated_in_body_with_other_value_is_400_duplicate(shared_berth):
    b = shared_berth
    userid = b.add_user(f"pd-{uuid.uuid4().hex[:8]}@pve")
    r = b.admin().put(f"/access/users/{userid}", {"userid": "other@pve", "comment": "x"})
    assert_param_error(r, {"userid": "duplicate parameter (already defined in URI) with "
                                     "conflicting values!"})


def test_percent_encoded_path_is_decoded_before_routing(shared_berth):
    b = shared_berth
    r = b.request("GET", "/api2/json/%76ersion", headers=auth_headers(b, "GET"))
    assert r.status == 200, r.status_line
    assert r.json()["data"]["version"]


def test_user_id_with_encoded_at_sign_routes_to_the_user(shared_berth):
    b = shared_berth
    r = b.request("GET", "/api2/json/access/users/admin%40pve", headers=auth_headers(b, "GET"))
    assert r.status == 200, r.status_line
    assert r.json()["data"]["enable"] == 1


def test_repeated_slashes_in_path_are_ignored(shared_berth):
    b = shared_berth
    r = b.request("GET", "/api2/json//nodes//" + NODE + "/status", headers=auth_headers(b, "GET"))
    assert r.status == 200, r.status_line


# ---- response shapes ----

def test_success_is_200_ok_with_exact_content_type_and_data_envelope(shared_berth):
    r = shared_berth.admin().get("/nodes")
    assert r.status_line == "HTTP/1.1 200 OK"
    assert r.headers["content-type"] == JSON_CT
    body = r.json()
    assert set(body) == {"data"}
    assert isinstance(body["data"], list)


def test_method_returning_nothing_has_data_null(shared_berth):
    r = shared_berth.admin().put(f"/nodes/{NODE}/config", {"description": "null-result"})
    assert r.status == 200
    assert r.json() == {"data": None}


def test_handler_error_is_500_with_message_in_status_line_and_json_envelope(shared_berth):
    r = shared_berth.admin().get("/access/users/nobody-here@pve")
    assert r.status_line == "HTTP/1.1 500 no such user ('nobody-here@pve')"
    assert r.headers["content-type"] == JSON_CT
    body = r.json()
    assert body["data"] is None
    assert set(body) <= {"data", "message"}


def test_error_responses_close_the_connection(shared_berth):
    r = shared_berth.admin().get("/access/users/nobody-here@pve")
    assert r.status == 500
    assert r.headers.get("connection", "").lower() == "close"


def test_unknown_method_on_known_path_is_501(shared_berth):
    r = shared_berth.admin().delete("/version")
    assert r.status_line == "HTTP/1.1 501 Method 'DELETE /version' not implemented"
    assert r.json() == {"data": None}


def test_unknown_route_below_known_prefix_is_501(shared_berth):
    r = shared_berth.admin().get("/access/nonexistent/deeper")
    assert r.status == 501
    assert r.reason == "Method 'GET /access/nonexistent/deeper' not implemented"


def test_api_path_without_format_is_501_no_such_uri(shared_berth):
    r = shared_berth.request("GET", "/api2/")
    assert r.status == 501
    assert r.reason == "no such uri"


def test_unknown_node_name_is_500_hostname_lookup_failed(shared_berth):
    r = shared_berth.admin().get("/nodes/othernode/status")
    assert r.status == 500
    assert r.reason == "hostname lookup 'othernode' failed - no such node in this cluster"


def test_localhost_means_this_node(shared_berth):
    d = shared_berth.admin().data("GET", "/nodes/localhost/status")
    assert d["memory"]["total"] > 0


def test_list_endpoints_that_count_carry_total(shared_berth):
    b = shared_berth
    upid = b.probe()
    b.wait_task(upid)
    body = b.admin().get(f"/nodes/{NODE}/tasks").json()
    assert isinstance(body["total"], int)
    assert body["total"] >= 1


# ---- repeated keys and JSON value types ----

def test_repeated_key_for_a_list_format_parameter_is_joined(shared_berth):
    """PVE joins an array given for a '*-list' string (normalize_legacy_param_formats)."""
    b = shared_berth
    users = [b.add_user(f"rk{i}-{uuid.uuid4().hex[:6]}@pve") for i in range(2)]
    body = "path=%2Fvms%2F888&roles=PVEVMUser&" + "&".join(f"users={u}" for u in users)
    r = b.request("PUT", "/api2/json/access/acl", body, auth_headers(b))
    assert r.status == 200, r.status_line
    got = {a["ugid"] for a in b.admin().data("GET", "/access/acl") if a["path"] == "/vms/888"}
    assert got == set(users)


def test_repeated_key_for_a_plain_string_parameter_fails_the_type_check(shared_berth):
    r = put_config_raw(shared_berth, "description=a&description=b")
    assert_param_error(r, {"description": "type check ('string') failed - got ARRAY"})


def test_json_object_for_a_string_parameter_fails_the_type_check(shared_berth):
    r = put_config_raw(shared_berth, '{"description": {"a": 1}}', "application/json")
    assert_param_error(r, {"description": "type check ('string') failed - got HASH"})


def test_json_boolean_for_an_integer_parameter_fails_the_type_check(shared_berth):
    r = put_config_raw(shared_berth, '{"ballooning-target": true}', "application/json")
    assert_param_error(r, {"ballooning-target":
                           "type check ('integer') failed - got JSON::PP::Boolean"})


def test_json_fraction_for_an_integer_parameter_fails_the_type_check(shared_berth):
    r = put_config_raw(shared_berth, '{"ballooning-target": 5.5}', "application/json")
    assert_param_error(r, {"ballooning-target": "type check ('integer') failed - got '5.5'"})


def test_json_body_must_be_an_object(shared_berth):
    r = put_config_raw(shared_berth, "[1, 2]", "application/json")
    assert r.status == 400


def test_invalid_utf8_in_parameters_is_rejected(shared_berth):
    r = put_config_raw(shared_berth, "description=%FF%FE")
    assert r.status == 400
    assert "\ufffd" not in node_config(shared_berth).get("description", "")
