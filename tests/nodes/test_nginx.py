"""Two nodes behind Debian's nginx, round-robin, no stickiness: a whole conversation."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from parley.client import AgentClient, VisitorClient
from tests.e2e.conftest import ACCOUNT, KEY, free_port
from tests.nodes.conftest import wait_until
from tests.nodes.test_conversation import prepare, whole_conversation

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream parley {{
        server 127.0.0.1:{first};
        server 127.0.0.1:{second};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://parley;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 75s;
            proxy_buffering off;
        }}
    }}
}}
"""


@pytest.fixture
def nginx_in_front(nodes, tmp_path, database_url):
    if not Path(NGINX).exists():
        pytest.fail("nginx is needed (apt-get install nginx-light; .ci/run installs it)")
    prepare(tmp_path, database_url)  # the survey and Bob exist before the nodes load the directory
    first, second = nodes.start(2)
    port = free_port()
    folder = tmp_path / "nginx"
    folder.mkdir()
    config = folder / "nginx.conf"
    config.write_text(CONFIG.format(folder=folder, first=first.port, second=second.port, port=port))
    process = subprocess.Popen(
        [NGINX, "-c", str(config), "-p", str(folder)], start_new_session=True, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.get(url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(answers, "nginx in front of the nodes")
        yield url
    finally:
        process.send_signal(signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_a_whole_conversation_through_nginx_round_robin(nginx_in_front, database_url):
    roles = [httpx.get(nginx_in_front + "/ready.json").json()["ready"]["role"] for _ in range(4)]
    assert roles in (["leader", "follower"] * 2, ["follower", "leader"] * 2)  # consecutive requests alternate
    natalie = AgentClient(nginx_in_front, ACCOUNT)
    bob = AgentClient(nginx_in_front, ACCOUNT)
    visitor = VisitorClient(nginx_in_front, ACCOUNT, KEY)
    await whole_conversation(natalie, bob, visitor, database_url)
