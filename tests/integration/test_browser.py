"""The notebook sharing walkthrough of the cloud's guide, in headless Chromium.

A user labels a notebook, creates a read token whose selector names that
label, and hands the notebook URL and the token to someone else, who opens
the URL in a browser, logs in with the token and gets JupyterLab. The
notebooks run the real PyTorch + JupyterLab image.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from tests.integration.conftest import Daemon
from tests.support.browser import chromium
from tests.support.images import ensure_jupyterlab_image

pytestmark = pytest.mark.integration

PREFIX = "localaitestlab"
LABEL = {"subject": "image-recognition"}
SELECTOR = "subject=image-recognition"
# JupyterLab loads several megabytes of scripts before it draws its shell.
JUPYTERLAB_LOAD_MS = 120_000


@pytest.fixture(scope="module")
def jupyterlab_image() -> str:
    tag: str = ensure_jupyterlab_image(PREFIX)
    return tag


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context: no cookies, like a private window."""
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def lab_daemon(make_daemon: Callable[..., Daemon], jupyterlab_image: str) -> Daemon:
    return make_daemon(prefix=PREFIX)


def run_lab(daemon: Daemon, **spec: Any) -> str:
    """Run a JupyterLab notebook, wait until it is RUNNING and return its URL."""
    notebook_id = daemon.run(**spec)["id"]
    running = daemon.wait_state(notebook_id, "RUNNING", timeout=180)
    url: str = running["status"]["url"]
    return url


def create_read_token(daemon: Daemon, selector: str) -> str:
    response = daemon.call("POST", "/v1/token",
                           json={"name": "my-token", "role": "read", "labelSelector": selector})
    assert response.status_code == 200, response.text
    value: str = response.json()["status"]["value"]
    return value


def open_notebook(page: Page, url: str) -> Response:
    response = page.goto(url)
    assert response is not None, f"Chromium got no response from {url}"
    return response


def log_in_with_token(page: Page, token: str) -> Response:
    """Switch the login page to its token form, paste ``token`` and press Connect.

    Returns the response to the form's POST.
    """
    page.get_by_role("link", name="Login with token").click()
    page.get_by_label("Access Token").fill(token)

    def is_login_post(response: Response) -> bool:
        return response.request.method == "POST" and "/_localai/login" in response.url

    with page.expect_response(is_login_post) as posted:
        # The password form's Connect button is hidden now, so this names the token form's.
        page.get_by_role("button", name="Connect").click()
    return posted.value


def expect_jupyterlab(page: Page) -> None:
    expect(page.locator(".jp-LabShell")).to_be_visible(timeout=JUPYTERLAB_LOAD_MS)
    expect(page).to_have_title(re.compile("JupyterLab"))


def test_login_page_without_credentials(lab_daemon: Daemon, page: Page, tmp_path: Path) -> None:
    url = run_lab(lab_daemon, labels=LABEL)

    response = open_notebook(page, url)
    assert response.status == 401
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_role("button", name="Connect")).to_be_visible()
    expect(page.get_by_role("link", name="Login with token")).to_be_visible()

    screenshot = tmp_path / "login-page.png"
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.is_file()
    assert screenshot.stat().st_size > 0


def test_login_with_token_link_shows_token_form(lab_daemon: Daemon, page: Page) -> None:
    url = run_lab(lab_daemon, labels=LABEL)
    open_notebook(page, url)

    page.get_by_role("link", name="Login with token").click()
    expect(page.get_by_label("Access Token")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_hidden()
    expect(page.get_by_role("button", name="Connect")).to_be_visible()


def test_read_token_reaches_jupyterlab(lab_daemon: Daemon, page: Page) -> None:
    url = run_lab(lab_daemon, labels=LABEL)
    token = create_read_token(lab_daemon, SELECTOR)
    open_notebook(page, url)

    login = log_in_with_token(page, token)
    assert login.status == 303
    expect_jupyterlab(page)

    session = [c for c in page.context.cookies() if c["name"] == "localai_session"]
    assert len(session) == 1
    # Playwright writes a host-only cookie's domain without a leading dot.
    assert session[0]["domain"] == url.removeprefix("http://").partition(":")[0]


def test_read_token_rejected_without_label(lab_daemon: Daemon, page: Page) -> None:
    run_lab(lab_daemon, labels=LABEL)
    unlabelled_url = run_lab(lab_daemon)
    token = create_read_token(lab_daemon, SELECTOR)
    open_notebook(page, unlabelled_url)

    login = log_in_with_token(page, token)
    assert login.status == 403
    expect(page.get_by_role("heading", name="Access denied")).to_be_visible()
    expect(page.locator(".jp-LabShell")).to_have_count(0)
    assert not [c for c in page.context.cookies() if c["name"] == "localai_session"]


def test_unsecure_notebook_opens_without_login(lab_daemon: Daemon, page: Page) -> None:
    url = run_lab(lab_daemon, unsecureHttp=True)

    response = open_notebook(page, url)
    assert response.status == 200
    expect_jupyterlab(page)
