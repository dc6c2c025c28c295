"""The UI's static files as the proxy serves them: index.html revalidated on every load,
content-hashed assets cached for a year, precompressed .gz copies sent to clients that accept
gzip (with Vary), and the plain file to those that do not."""
import gzip
import os
import re

import pytest

from conftest import Berth, make_root, require_root, stop_and_check

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def get(b, path, accept=None):
    headers = {"Accept-Encoding": accept} if accept else {}
    return b.request("GET", path, headers=headers)


@pytest.fixture
def www_berth(tmp_path):
    """A daemon serving a small web root with a precompressed asset."""
    require_root()
    www = tmp_path / "www"
    (www / "assets").mkdir(parents=True)
    (www / "index.html").write_text("<!doctype html><title>t</title>")
    js = b"console.log('berth');\n" * 200
    (www / "assets" / "app-1a2b3c.js").write_bytes(js)
    (www / "assets" / "app-1a2b3c.js.gz").write_bytes(gzip.compress(js))
    (www / "assets" / "plain-9z.css").write_text("body{}")
    os.chmod(tmp_path, 0o755)
    b = Berth(make_root(), extra_args=["--www", str(www)]).start()
    b.js = js
    yield b
    stop_and_check([b])


def test_index_is_revalidated_and_assets_are_immutable(www_berth):
    r = get(www_berth, "/")
    assert r.status == 200 and r.headers["cache-control"] == "no-cache"
    r = get(www_berth, "/assets/plain-9z.css")
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "vary" not in r.headers and "content-encoding" not in r.headers


def test_gzip_copy_goes_to_clients_that_accept_it(www_berth):
    r = get(www_berth, "/assets/app-1a2b3c.js", "gzip, deflate, br")
    assert r.status == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["content-type"].startswith("text/javascript")
    assert gzip.decompress(r.body) == www_berth.js
    plain = get(www_berth, "/assets/app-1a2b3c.js", "br;q=1, gzip;q=0")
    assert "content-encoding" not in plain.headers and plain.body == www_berth.js
    assert plain.headers["vary"] == "Accept-Encoding"
    assert plain.headers["etag"] != r.headers["etag"]
    # the .gz file itself is not a second name for the asset's gzip answer
    raw = get(www_berth, "/assets/app-1a2b3c.js.gz", "gzip")
    assert "content-encoding" not in raw.headers


def test_a_304_for_the_gzip_variant(www_berth):
    r = get(www_berth, "/assets/app-1a2b3c.js", "gzip")
    again = www_berth.request("GET", "/assets/app-1a2b3c.js",
                              headers={"Accept-Encoding": "gzip", "If-None-Match": r.headers["etag"]})
    assert again.status == 304 and again.body == b""


def test_the_built_ui_is_served_compressed_with_cache_busting_names(berth):
    dist = os.path.join(REPO, "ui", "dist")
    if not os.path.exists(os.path.join(dist, "index.html")):
        pytest.skip("the UI is not built (ui/dist; `make build` builds it)")
    index = get(berth, "/", "gzip")
    assert index.status == 200 and index.headers["cache-control"] == "no-cache"
    html = gzip.decompress(index.body).decode() if index.headers.get("content-encoding") else index.body.decode()
    assets = re.findall(r'(?:src|href)="\./(assets/[^"]+)"', html)
    assert assets, html
    for a in assets:
        assert re.search(r"-[A-Za-z0-9_-]{8}\.(js|css)$", a), a
        r = get(berth, "/" + a, "gzip")
        assert r.status == 200, (a, r.status_line)
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers.get("content-encoding") == "gzip", a
