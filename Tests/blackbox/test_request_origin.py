"""Who may ask what, judged from the request itself (SECURITY.md, "Who is
asking"): `/metrics` without a token only for a process on this machine
asking a loopback-only hub directly, never through a proxy or a page that
rebound its DNS name to 127.0.0.1; a loopback-only hub answers only its own
names (421 otherwise) unless a trusted proxy forwarded the request; the
session cookie is `Secure` and `__Host-` behind a trusted TLS proxy; the
session probe counts failed logins; `/vendor/` serves the chart library
only; another site cannot log a browser in; `serve` prints its token only
to a terminal, and the shipped nginx config logs no query strings."""
import os
import pty
import re
import select
import subprocess
import time

import httpx
from conftest import BINARY, RawWebSocket, bearer, reading
from nginx_process import Nginx

PROXY = {"X-Forwarded-For": "203.0.113.9"}


def test_metrics_needs_a_token_once_a_proxy_or_another_name_is_involved(hub):
    reader = hub.read_token()
    assert httpx.get(f"{hub.url}/metrics", timeout=10).status_code == 200  # a local scraper, directly
    for headers in (PROXY, {"Forwarded": "for=203.0.113.9"}, {"X-Real-IP": "203.0.113.9"}):
        response = httpx.get(f"{hub.url}/metrics", headers=headers, timeout=10)
        assert response.status_code == 401, (headers, response.status_code)
        assert httpx.get(f"{hub.url}/metrics", headers={**headers, **bearer(reader)}, timeout=10).status_code == 200
    assert httpx.get(f"{hub.url}/metrics", headers={"Host": "localhost"}, timeout=10).status_code == 200


def test_a_loopback_hub_refuses_a_page_that_rebound_its_name(hub):
    """DNS rebinding: the browser connects to 127.0.0.1 but names the attacker's host."""
    token = hub.device_token("d1")
    for path in ("/", "/healthz", "/metrics", "/v1/devices", "/js/app.js"):
        response = httpx.get(f"{hub.url}{path}", headers={"Host": f"evil.example:{hub.port}"}, timeout=10)
        assert response.status_code == 421, (path, response.status_code)
        assert response.json()["error"] == "misdirected_request"
    # A spoofed forwarding header does not help: the peer is no trusted proxy.
    response = httpx.get(f"{hub.url}/healthz", headers={"Host": "evil.example", **PROXY}, timeout=10)
    assert response.status_code == 421
    # Nor does a WebSocket upgrade get past it.
    with RawWebSocket(hub, token, host="evil.example") as refused:
        assert refused.status == 421, refused.status_line
    with RawWebSocket(hub, token) as accepted:
        assert accepted.status == 101, accepted.status_line
    # Its own names still work.
    for host in ("localhost", f"127.0.0.1:{hub.port}", f"[::1]:{hub.port}", "grafana.localhost"):
        assert httpx.get(f"{hub.url}/healthz", headers={"Host": host}, timeout=10).status_code == 200, host
    samples = httpx.get(f"{hub.url}/metrics", timeout=10).text
    assert re.search(r"^telehub_requests_misdirected_total \d+", samples, re.M), samples


def test_a_trusted_proxy_may_forward_any_name(hub_factory):
    hub = hub_factory("--trusted-proxies", "127.0.0.1").start()
    response = httpx.get(f"{hub.url}/healthz", headers={"Host": "telehub.example.org", **PROXY}, timeout=10)
    assert response.status_code == 200
    # Forwarded or not, a request for another name without the proxy's header is still refused.
    assert httpx.get(f"{hub.url}/healthz", headers={"Host": "telehub.example.org"}, timeout=10).status_code == 421


def set_cookie(response):
    cookies = response.headers.get_list("set-cookie")
    assert len(cookies) == 1, cookies
    pair, *attrs = [part.strip() for part in cookies[0].split(";")]
    return pair.split("=", 1), {a.split("=", 1)[0].lower() for a in attrs}


def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(hub_factory):
    hub = hub_factory("--trusted-proxies", "127.0.0.1").start()
    token = hub.read_token()
    tls = {**PROXY, "X-Forwarded-Proto": "https"}
    response = httpx.post(f"{hub.url}/v1/session", json={"token": token}, headers=tls, timeout=10)
    assert response.status_code == 200, response.text
    (name, value), attrs = set_cookie(response)
    assert name == "__Host-telehub_session" and "secure" in attrs and "httponly" in attrs, (name, attrs)
    assert httpx.get(f"{hub.url}/v1/devices", headers=tls, cookies={name: value}, timeout=10).status_code == 200
    # Over TLS only the __Host- cookie counts: one planted over plain http is ignored.
    plain = httpx.post(f"{hub.url}/v1/session", json={"token": token}, timeout=10)
    (plain_name, plain_value), plain_attrs = set_cookie(plain)
    assert plain_name == "telehub_session" and "secure" not in plain_attrs
    assert httpx.get(f"{hub.url}/v1/devices", headers=tls, cookies={plain_name: plain_value}, timeout=10).status_code == 401
    # The page's own login works the same way through the proxy.
    link = httpx.get(f"{hub.url}/?token={token}", headers=tls, timeout=10, follow_redirects=False)
    assert link.status_code == 303 and set_cookie(link)[0][0] == "__Host-telehub_session"


def test_x_forwarded_proto_from_anyone_else_is_ignored(hub):
    token = hub.read_token()
    response = httpx.post(f"{hub.url}/v1/session", json={"token": token},
                          headers={"X-Forwarded-Proto": "https"}, timeout=10)
    (name, _), attrs = set_cookie(response)
    assert name == "telehub_session" and "secure" not in attrs


def test_the_session_probe_counts_as_a_failed_login(hub_factory):
    hub = hub_factory("--auth-fail-limit", "3", "--auth-fail-window-ms", "60000").start()
    for _ in range(3):
        response = httpx.get(f"{hub.url}/v1/session", headers=bearer("thr_guess"), timeout=10)
        assert response.status_code == 200 and response.json() == {"authenticated": False}
    refused = httpx.get(f"{hub.url}/v1/session", headers=bearer("thr_guess"), timeout=10)
    assert refused.status_code == 429 and "retry-after" in refused.headers
    # The same address is refused everywhere, the real token included, until the window ends.
    assert httpx.get(f"{hub.url}/v1/session", headers=bearer(hub.read_token()), timeout=10).status_code == 429


def test_vendor_serves_the_chart_library_and_nothing_else(hub_factory, tmp_path):
    libraries = tmp_path / "javascript"
    (libraries / "dygraphs").mkdir(parents=True)
    (libraries / "dygraphs" / "dygraph.min.js").write_text("/* charts */")
    (libraries / "jquery").mkdir()
    (libraries / "jquery" / "jquery.js").write_text("/* not ours */")
    hub = hub_factory("--vendor-js", str(libraries)).start()
    assert httpx.get(f"{hub.url}/vendor/dygraphs/dygraph.min.js", timeout=10).text == "/* charts */"
    for path in ("/vendor/jquery/jquery.js", "/vendor/dygraphs/../jquery/jquery.js", "/vendor/dygraphs/%2e%2e/jquery/jquery.js",
                 "/vendor/", "/vendor"):
        response = httpx.get(f"{hub.url}{path}", timeout=10)
        assert response.status_code in (400, 404) and "not ours" not in response.text, (path, response.status_code)


def test_another_site_cannot_log_a_browser_in(hub):
    token = hub.read_token()
    # A cross-site form can send only these types; the hub wants JSON.
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"):
        response = httpx.post(f"{hub.url}/v1/session", content=f'{{"token":"{token}"}}',
                              headers={"Content-Type": content_type}, timeout=10)
        assert response.status_code == 415 and "set-cookie" not in response.headers, content_type
    cross = httpx.post(f"{hub.url}/v1/session", json={"token": token}, headers={"Sec-Fetch-Site": "cross-site"}, timeout=10)
    assert cross.status_code == 403 and "set-cookie" not in cross.headers
    # The sign-in link, followed from another site, logs nobody in.
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}):
        response = httpx.get(f"{hub.url}/?token={token}", headers=headers, timeout=10, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/?login=refused", headers
        assert "set-cookie" not in response.headers
    # Pasted into the address bar (none), from the hub's own page (same-origin), or by a script: it works.
    for headers in ({"Sec-Fetch-Site": "none"}, {"Sec-Fetch-Site": "same-origin"}, {}):
        response = httpx.get(f"{hub.url}/?token={token}", headers=headers, timeout=10, follow_redirects=False)
        assert response.headers["location"] == "/" and "set-cookie" in response.headers, headers


def serve_output(tmp_path, *args, tty=False):
    """The first line `serve` writes to stdout, a pipe or a terminal."""
    command = [str(BINARY), "serve", "--db", str(tmp_path / f"t{time.monotonic_ns()}.sqlite"), "--port", "0", *args]
    if not tty:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            return proc.stdout.readline()
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    main, secondary = pty.openpty()
    proc = subprocess.Popen(command, stdout=secondary, stderr=subprocess.DEVNULL)
    os.close(secondary)
    try:
        output = b""
        deadline = time.monotonic() + 30
        while b"\n" not in output and time.monotonic() < deadline:
            if select.select([main], [], [], 0.5)[0]:
                output += os.read(main, 4096)
        return output.decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        os.close(main)


def test_serve_prints_its_token_only_to_a_terminal_unless_told(tmp_path):
    piped = serve_output(tmp_path)
    assert "Telehub is running" in piped and "token=" not in piped, piped
    assert re.search(r"token=thr_\S+", serve_output(tmp_path, "--token-url")), "asked for"
    assert re.search(r"token=thr_\S+", serve_output(tmp_path, tty=True)), "a terminal"
    quiet = serve_output(tmp_path, "--no-token-url", tty=True)
    assert "Telehub is running" in quiet and "token=" not in quiet, quiet


def test_behind_the_shipped_nginx_metrics_need_a_token_and_the_log_holds_no_token(hub_factory, tmp_path):
    hub = hub_factory("--trusted-proxies", "127.0.0.1").start()
    nginx = Nginx(tmp_path, [hub.port])
    try:
        reader, device = hub.read_token(), hub.device_token("d1")
        assert httpx.get(f"{nginx.url}/metrics", timeout=10).status_code == 401
        assert httpx.get(f"{nginx.url}/metrics", headers=bearer(reader), timeout=10).status_code == 200
        # Tokens in query strings: the sign-in link and a device that cannot set headers.
        assert httpx.get(f"{nginx.url}/?token={reader}", timeout=10, follow_redirects=False).status_code == 303
        response = httpx.post(f"{nginx.url}/v1/ingest?token={device}", json=reading(1, {"t": 1}), timeout=10)
        assert response.status_code == 200, response.text
        nginx.stop()
        log = nginx.access_log.read_text()
        assert "/v1/ingest" in log and "GET / " in log, log
        assert reader not in log and device not in log and "token=" not in log, log
    finally:
        nginx.stop()
