"""``localai`` commands that call the API, run against a scripted API server.

Each test runs the real command line, client included, with
``LOCALAI_PORT`` pointing at a ``FakeApi`` and ``LOCALAI_DATA_DIR`` at a
folder holding a credentials file, and checks exit code and exact output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from localai import __version__
from localai.cli import notebook as notebook_cli
from localai.cli.main import cli
from tests.unit.test_client import FakeApi, free_port
from tests.unit.test_render import FIRST, FRAMEWORKS, LABELLED, RUNNING, golden

API_TOKEN = "lai_test-api-token"
NOTEBOOK_ID = FIRST["id"]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory with a credentials file, named by LOCALAI_DATA_DIR."""
    credentials = {
        "project_id": "d0a34dd4-76f8-438d-be24-9bed882b2cde",
        "user_id": "bbfe58f3-83a5-470b-abd5-0f7e88f01b76",
        "username": "user-uY7UNgjpKBPY",
        "password": "p4ssw0rd",
        "api_token": API_TOKEN,
    }
    (tmp_path / "credentials.json").write_text(json.dumps(credentials))
    for name in ("LOCALAI_BIND", "LOCALAI_GPU_MODE", "LOCALAI_IMAGE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCALAI_DATA_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def api(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    fake = FakeApi()
    fake.start()
    monkeypatch.setenv("LOCALAI_PORT", str(fake.port))
    yield fake
    fake.stop()


def run(*args: str, input: str | None = None) -> Result:  # noqa: A002 - Click's name
    return CliRunner().invoke(cli, list(args), input=input)


def running_first() -> dict[str, Any]:
    return RUNNING["notebook-get-1.txt"]


# -- notebook run ------------------------------------------------------------


def test_run_prints_yaml(api: FakeApi) -> None:
    api.reply("POST", "/v1/notebook", body=FIRST)

    result = run("notebook", "run", "--gpu", "1", "pytorch", "vscode")

    assert result.exit_code == 0
    assert result.stdout == golden("notebook-run-1.txt")


def test_run_sends_spec(api: FakeApi) -> None:
    api.reply("POST", "/v1/notebook", body=FIRST)

    run("notebook", "run", "--gpu", "1", "pytorch", "vscode")

    assert api.requests[0].body == {
        "name": "",
        "labels": {},
        "resources": {"gpu": 1},
        "unsecureHttp": False,
        "env": {"frameworkId": "pytorch", "editorId": "vscode"},
        "envVars": [],
    }


def test_run_sends_every_option(api: FakeApi) -> None:
    api.reply("POST", "/v1/notebook", body=LABELLED)

    run(
        "notebook", "run", "-g", "2", "-c", "4", "-f", "ai1-1-gpu",
        "--framework-version", "1.8.1", "-n", "demo",
        "-l", "subject=image-recognition", "--label", "team=a=b",
        "-e", "MODE=", "--envvar", "SEED=42", "--unsecure-http",
        "pytorch", "jupyterlab",
    )

    assert api.requests[0].body == {
        "name": "demo",
        "labels": {"subject": "image-recognition", "team": "a=b"},
        "resources": {"flavor": "ai1-1-gpu", "gpu": 2},
        "unsecureHttp": True,
        "env": {"frameworkId": "pytorch", "frameworkVersion": "1.8.1", "editorId": "jupyterlab"},
        "envVars": [{"name": "MODE", "value": ""}, {"name": "SEED", "value": "42"}],
    }


def test_run_cpu_only(api: FakeApi) -> None:
    api.reply("POST", "/v1/notebook", body=FIRST)

    run("notebook", "run", "--cpu", "3", "pytorch", "jupyterlab")

    assert api.requests[0].body["resources"] == {"cpu": 3}


def test_run_without_resources(api: FakeApi) -> None:
    api.reply("POST", "/v1/notebook", body=FIRST)

    run("notebook", "run", "pytorch", "jupyterlab")

    assert api.requests[0].body["resources"] == {}


def test_run_labelled_yaml(api: FakeApi) -> None:
    api.reply("POST", "/v1/notebook", body=LABELLED)

    result = run("notebook", "run", "--gpu", "1", "--label", "subject=image-recognition",
                 "pytorch", "vscode")

    assert result.stdout == golden("notebook-run-2.txt")


def test_run_json(api: FakeApi) -> None:
    api.reply("POST", "/v1/notebook", body=FIRST)

    result = run("notebook", "run", "-o", "json", "pytorch", "vscode")

    assert result.exit_code == 0
    assert result.stdout == json.dumps(FIRST, indent=2) + "\n"


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--label", "subject", "Invalid value for '-l' / '--label': 'subject' is not "
                               "NAME=VALUE. Example: --label subject=image-recognition"),
        ("-l", "=x", "Invalid value for '-l' / '--label': '=x' is not "
                     "NAME=VALUE. Example: --label subject=image-recognition"),
        ("-e", "SEED", "Invalid value for '-e' / '--envvar': 'SEED' is not "
                       "NAME=VALUE. Example: --envvar MY_VARIABLE=value"),
    ],
)
def test_run_rejects_bad_pair(api: FakeApi, option: str, value: str, message: str) -> None:
    result = run("notebook", "run", option, value, "pytorch", "vscode")

    assert result.exit_code == 2
    assert result.stderr.endswith(f"Error: {message}\n")
    assert api.requests == []


def test_run_needs_editor(api: FakeApi) -> None:
    result = run("notebook", "run", "pytorch")

    assert result.exit_code == 2
    assert result.stderr.endswith("Error: Missing argument 'EDITOR'.\n")


def test_run_zero_gpu_keeps_cpu(api: FakeApi) -> None:
    api.reply("POST", "/v1/notebook", body=FIRST)
    result = run("notebook", "run", "--gpu", "0", "--cpu", "2", "pytorch", "vscode")

    assert result.exit_code == 0, result.stderr
    assert api.requests[0].body["resources"] == {"gpu": 0, "cpu": 2}


def test_run_rejects_negative_gpu(api: FakeApi) -> None:
    result = run("notebook", "run", "--gpu", "-1", "pytorch", "vscode")

    assert result.exit_code == 2
    assert "Invalid value for '-g' / '--gpu': -1 is not in the range x>=0." in result.stderr


def test_run_passes_server_message(api: FakeApi) -> None:
    message = ("Unknown framework 'pytorhc'. Valid frameworks: pytorch. "
               "Run 'localai capabilities framework list' to see them with their versions.")
    api.reply("POST", "/v1/notebook", status=400, body={"message": message})

    result = run("notebook", "run", "pytorhc", "vscode")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: {message}\n"


# -- notebook get ------------------------------------------------------------


def test_get_prints_view(api: FakeApi) -> None:
    api.reply("GET", f"/v1/notebook/{NOTEBOOK_ID}", body=running_first())

    result = run("notebook", "get", NOTEBOOK_ID)

    assert result.exit_code == 0
    assert result.stdout == golden("notebook-get-1.txt")


def test_get_yaml(api: FakeApi) -> None:
    api.reply("GET", f"/v1/notebook/{NOTEBOOK_ID}", body=FIRST)

    result = run("notebook", "get", "-o", "yaml", NOTEBOOK_ID)

    assert result.stdout == golden("notebook-run-1.txt")


def test_get_unknown_id(api: FakeApi) -> None:
    api.reply("GET", "/v1/notebook/nope", status=404,
              body={"message": "Notebook 'nope' not found."})

    result = run("notebook", "get", "nope")

    assert result.exit_code == 1
    assert result.stderr == "Error: Notebook 'nope' not found.\n"


# -- notebook list -----------------------------------------------------------


def listed_notebook() -> dict[str, Any]:
    """A running notebook created 65 and a half minutes ago."""
    notebook: dict[str, Any] = json.loads(json.dumps(running_first()))
    created = datetime.now(UTC) - timedelta(minutes=65, seconds=30)
    notebook["createdAt"] = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return notebook


def notebook_page(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items, "metadata": {"currentPage": 1, "pageCount": 1, "total": len(items)}}


@pytest.mark.parametrize("name", ["list", "ls"])
def test_list_table(api: FakeApi, name: str) -> None:
    api.reply("GET", "/v1/notebook", body=notebook_page([listed_notebook()]))

    result = run("notebook", name)

    assert result.exit_code == 0
    assert result.stdout == (
        "ID                                   NAME STATE   AGE FRAMEWORK VERSION EDITOR URL\n"
        f"{NOTEBOOK_ID}      RUNNING 65m pytorch   1.8.1   vscode "
        f"https://{NOTEBOOK_ID}.notebook.gra.ai.cloud.ovh.net\n"
    )


def test_list_json_stream(api: FakeApi) -> None:
    api.reply("GET", "/v1/notebook", body=notebook_page([FIRST, LABELLED]))

    result = run("notebook", "list", "-o", "json")

    assert result.exit_code == 0
    expected = json.dumps(FIRST, indent=2) + "\n" + json.dumps(LABELLED, indent=2) + "\n"
    assert result.stdout == expected


def test_list_json_is_not_an_array(api: FakeApi) -> None:
    api.reply("GET", "/v1/notebook", body=notebook_page([FIRST, LABELLED]))

    text = run("notebook", "ls", "-o", "json").stdout
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(text)
    second, _ = decoder.raw_decode(text, end + 1)

    assert [first["id"], second["id"]] == [FIRST["id"], LABELLED["id"]]


# -- stop, start, delete -----------------------------------------------------


def test_stop(api: FakeApi) -> None:
    api.reply("PUT", f"/v1/notebook/{NOTEBOOK_ID}/stop", status=204)

    result = run("notebook", "stop", NOTEBOOK_ID)

    assert result.exit_code == 0
    assert result.stdout == f"Notebook {NOTEBOOK_ID} is stopping.\n"


def test_start(api: FakeApi) -> None:
    api.reply("PUT", f"/v1/notebook/{NOTEBOOK_ID}/start", status=204)

    result = run("notebook", "start", NOTEBOOK_ID)

    assert result.exit_code == 0
    assert result.stdout == f"Notebook {NOTEBOOK_ID} is starting.\n"


def test_start_running_notebook(api: FakeApi) -> None:
    message = f"Notebook {NOTEBOOK_ID} is RUNNING; only a stopped notebook can start."
    api.reply("PUT", f"/v1/notebook/{NOTEBOOK_ID}/start", status=400, body={"message": message})

    result = run("notebook", "start", NOTEBOOK_ID)

    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}\n"


def stopped_first() -> dict[str, Any]:
    notebook: dict[str, Any] = json.loads(json.dumps(FIRST))
    notebook["status"]["state"] = "STOPPED"
    return notebook


def test_delete_stopped(api: FakeApi) -> None:
    api.reply("GET", f"/v1/notebook/{NOTEBOOK_ID}", body=stopped_first())
    api.reply("DELETE", f"/v1/notebook/{NOTEBOOK_ID}", status=204)

    result = run("notebook", "delete", NOTEBOOK_ID)

    assert result.exit_code == 0
    assert result.stdout == f"Notebook {NOTEBOOK_ID} deleted.\n"
    assert api.calls("DELETE", f"/v1/notebook/{NOTEBOOK_ID}")[0].query == {}


def test_delete_running_without_terminal(api: FakeApi) -> None:
    api.reply("GET", f"/v1/notebook/{NOTEBOOK_ID}", body=running_first())

    result = run("notebook", "delete", NOTEBOOK_ID)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Notebook {NOTEBOOK_ID} is RUNNING. Stop it first with "
        f"'localai notebook stop {NOTEBOOK_ID}', or pass --force to delete it running.\n"
    )
    assert api.calls("DELETE", f"/v1/notebook/{NOTEBOOK_ID}") == []


def test_delete_running_confirmed(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook_cli, "stdin_is_interactive", lambda: True)
    api.reply("GET", f"/v1/notebook/{NOTEBOOK_ID}", body=running_first())
    api.reply("DELETE", f"/v1/notebook/{NOTEBOOK_ID}", status=204)

    result = run("notebook", "delete", NOTEBOOK_ID, input="y\n")

    assert result.exit_code == 0
    assert result.stdout == (
        f"Notebook {NOTEBOOK_ID} is RUNNING. Delete it and its /workspace data? [y/N]: y\n"
        f"Notebook {NOTEBOOK_ID} deleted.\n"
    )
    assert api.calls("DELETE", f"/v1/notebook/{NOTEBOOK_ID}")[0].query == {"force": ["true"]}


def test_delete_running_declined(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook_cli, "stdin_is_interactive", lambda: True)
    api.reply("GET", f"/v1/notebook/{NOTEBOOK_ID}", body=running_first())

    result = run("notebook", "delete", NOTEBOOK_ID, input="n\n")

    assert result.exit_code == 1
    assert result.stderr == "Aborted!\n"
    assert api.calls("DELETE", f"/v1/notebook/{NOTEBOOK_ID}") == []


def test_delete_force_skips_question(api: FakeApi) -> None:
    api.reply("DELETE", f"/v1/notebook/{NOTEBOOK_ID}", status=204)

    result = run("notebook", "delete", "--force", NOTEBOOK_ID)

    assert result.exit_code == 0
    assert [(r.method, r.query) for r in api.requests] == [("DELETE", {"force": ["true"]})]


# -- logs --------------------------------------------------------------------


def test_logs(api: FakeApi) -> None:
    api.reply("GET", f"/v1/notebook/{NOTEBOOK_ID}/log", text="[I 14:01] Jupyter started\n")

    result = run("notebook", "logs", "--tail", "5", NOTEBOOK_ID)

    assert result.exit_code == 0
    assert result.stdout == "[I 14:01] Jupyter started\n"
    assert api.requests[0].query == {"follow": ["false"], "tail": ["5"]}


def test_logs_follow(api: FakeApi) -> None:
    api.reply("GET", f"/v1/notebook/{NOTEBOOK_ID}/log", text="")

    run("notebook", "logs", "-f", NOTEBOOK_ID)

    assert api.requests[0].query == {"follow": ["true"]}


# -- authentication and daemon errors ----------------------------------------


def test_uses_stored_api_token(api: FakeApi) -> None:
    api.reply("GET", "/v1/notebook", body=notebook_page([]))

    run("notebook", "list")

    assert api.requests[0].headers["authorization"] == f"Bearer {API_TOKEN}"


@pytest.mark.parametrize(
    "args",
    [
        ["--token", "app-token", "notebook", "list"],
        ["notebook", "list", "--token", "app-token"],
    ],
)
def test_token_option(api: FakeApi, args: list[str]) -> None:
    api.reply("GET", "/v1/notebook", body=notebook_page([]))

    result = run(*args)

    assert result.exit_code == 0
    assert api.requests[0].headers["authorization"] == "Bearer app-token"


def test_token_option_without_credentials(api: FakeApi, data_dir: Path) -> None:
    (data_dir / "credentials.json").unlink()
    api.reply("GET", "/v1/notebook", body=notebook_page([]))

    result = run("notebook", "list", "--token", "app-token")

    assert result.exit_code == 0


def test_no_color_accepted(api: FakeApi) -> None:
    api.reply("GET", "/v1/notebook", body=notebook_page([]))

    result = run("--no-color", "notebook", "list", "--no-color")

    assert result.exit_code == 0


def test_daemon_not_running(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("LOCALAI_PORT", str(port))

    result = run("notebook", "list")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: No localai daemon answers at http://localhost:{port}. "
        "Start it with: localai daemon start\n"
    )


def test_missing_credentials(api: FakeApi, data_dir: Path) -> None:
    (data_dir / "credentials.json").unlink()

    result = run("notebook", "list")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: No credentials file at {data_dir / 'credentials.json'}: the daemon creates "
        "it on its first start. Start the daemon first with: localai daemon start\n"
    )


def test_invalid_port_variable(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALAI_PORT", "http")

    result = run("notebook", "list")

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: LOCALAI_PORT must be a TCP port number, got 'http'. "
        "Fix the environment variable or unset it.\n"
    )


def test_version() -> None:
    result = run("--version")

    assert result.stdout == f"localai, version {__version__}\n"


# -- capabilities and me -----------------------------------------------------


@pytest.mark.parametrize("name", ["list", "ls"])
def test_framework_list(api: FakeApi, name: str) -> None:
    api.reply("GET", "/v1/capabilities/notebook/framework", body=FRAMEWORKS)

    result = run("capabilities", "framework", name)

    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (
        "ID          NAME                       DOC_URL                                    VERSIONS"
    )


def test_framework_get_json(api: FakeApi) -> None:
    api.reply("GET", "/v1/capabilities/notebook/framework/pytorch", body=FRAMEWORKS[0])

    result = run("capabilities", "framework", "get", "pytorch", "-o", "json")

    assert json.loads(result.stdout) == FRAMEWORKS[0]


def test_framework_get_unknown(api: FakeApi) -> None:
    api.reply("GET", "/v1/capabilities/notebook/framework/jax", status=404,
              body={"message": "Unknown framework 'jax'."})

    result = run("capabilities", "framework", "get", "jax")

    assert result.exit_code == 1
    assert result.stderr == "Error: Unknown framework 'jax'.\n"


def test_editor_list(api: FakeApi) -> None:
    editors = [{"id": "jupyterlab", "name": "JupyterLab",
                "docUrl": "https://jupyterlab.readthedocs.io/en/stable/"}]
    api.reply("GET", "/v1/capabilities/notebook/editor", body=editors)

    result = run("capabilities", "editor", "ls")

    assert result.stdout == (
        "ID         NAME       DOC_URL\n"
        "jupyterlab JupyterLab https://jupyterlab.readthedocs.io/en/stable/\n"
    )


def test_editor_get(api: FakeApi) -> None:
    editor = {"id": "jupyterlab", "name": "JupyterLab", "description": "Notebooks",
              "docUrl": "https://jupyterlab.readthedocs.io/en/stable/", "versions": ["4"]}
    api.reply("GET", "/v1/capabilities/notebook/editor/jupyterlab", body=editor)

    result = run("capabilities", "editor", "get", "jupyterlab")

    assert result.stdout == (
        "ID:          jupyterlab\n"
        "Name:        JupyterLab\n"
        "Description: Notebooks\n"
        "Doc URL:     https://jupyterlab.readthedocs.io/en/stable/\n"
        "Versions:    4\n"
    )


def test_me(api: FakeApi) -> None:
    me = {"name": "user-uY7UNgjpKBPY", "tenant": "d0a34dd476f8438dbe249bed882b2cde",
          "role": "ai_training_read", "tokenKind": "app"}
    api.reply("GET", "/v1/me", body=me)

    result = run("me", "--token", "app-token")

    assert result.stdout == (
        "Name:       user-uY7UNgjpKBPY\n"
        "Tenant:     d0a34dd476f8438dbe249bed882b2cde\n"
        "Role:       ai_training_read\n"
        "Token Kind: app\n"
    )


def test_me_yaml(api: FakeApi) -> None:
    api.reply("GET", "/v1/me", body={"name": "user-abc", "quotas": {}})

    result = run("me", "-o", "yaml")

    assert result.stdout == "---\nname: user-abc\nquotas: {}\n"
