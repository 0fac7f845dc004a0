"""``localai token`` commands, run against a scripted API server.

As in test_cli.py, each test runs the real command line and client with
``LOCALAI_PORT`` pointing at a ``FakeApi``, and checks the exit code, the
exact output and the requests sent.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from localai.cli import render
from localai.cli.main import cli
from tests.unit.test_client import FakeApi
from tests.unit.test_render import TOKEN, TOKEN_VALUE, golden

TOKEN_ID = TOKEN["id"]
OPERATOR_ID = "5f0c1d8e-2a4b-4c6d-8e9f-0a1b2c3d4e5f"
NOT_FOUND = "Token nope not found. Run 'localai token list' to see tokens."
SELECTOR_HELP = (
    "write name=value pairs separated by commas, for example "
    "subject=image-recognition,team=vision."
)


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    """A FakeApi, and a data directory whose credentials file contains an API token."""
    credentials = {
        "project_id": "d0a34dd4-76f8-438d-be24-9bed882b2cde",
        "user_id": "bbfe58f3-83a5-470b-abd5-0f7e88f01b76",
        "username": "user-uY7UNgjpKBPY",
        "password": "p4ssw0rd",
        "api_token": "lai_test-api-token",
    }
    (tmp_path / "credentials.json").write_text(json.dumps(credentials))
    for name in ("LOCALAI_BIND", "LOCALAI_GPU_MODE", "LOCALAI_IMAGE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCALAI_DATA_DIR", str(tmp_path))

    fake = FakeApi()
    fake.start()
    monkeypatch.setenv("LOCALAI_PORT", str(fake.port))
    yield fake
    fake.stop()


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def stored(token: dict[str, Any]) -> dict[str, Any]:
    """Return ``token`` as GET returns it: without its value."""
    copied = copy.deepcopy(token)
    copied["status"]["value"] = None
    return copied


def operator_token() -> dict[str, Any]:
    """An unscoped operator token at version 2, created 65 and a half minutes ago."""
    token = stored(TOKEN)
    token["id"] = OPERATOR_ID
    token["spec"].update(name="ci", role="ai_training_operator", labelSelector=None)
    token["status"]["version"] = 2
    created = datetime.now(UTC) - timedelta(minutes=65, seconds=30)
    token["createdAt"] = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return token


def token_page(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items, "metadata": {"currentPage": 1, "pageCount": 1, "total": len(items)}}


# -- create ------------------------------------------------------------------


def test_create_prints_guide_layout(api: FakeApi) -> None:
    api.reply("POST", "/v1/token", body=TOKEN)

    result = run("token", "create", "my-token", "--role", "read",
                 "--label-selector", "subject=image-recognition")

    assert result.exit_code == 0
    assert result.stdout == golden("token-create.txt")


def test_create_shows_value_once(api: FakeApi) -> None:
    api.reply("POST", "/v1/token", body=TOKEN)

    result = run("token", "create", "my-token", "-r", "read", "-l", "subject=image-recognition")

    assert result.stdout.count(TOKEN_VALUE) == 1
    assert result.stdout.endswith(f"\nToken:    {TOKEN_VALUE}\n")


def test_create_sends_read_role(api: FakeApi) -> None:
    api.reply("POST", "/v1/token", body=TOKEN)

    run("token", "create", "my-token", "-r", "read", "-l", "subject=image-recognition")

    assert api.requests[0].body == {
        "name": "my-token",
        "role": "ai_training_read",
        "labelSelector": "subject=image-recognition",
    }


def test_create_sends_operator_role(api: FakeApi) -> None:
    api.reply("POST", "/v1/token", body=TOKEN)

    run("token", "create", "ci", "--role", "operator", "-l", "team=vision,subject=cats")

    assert api.requests[0].body == {
        "name": "ci",
        "role": "ai_training_operator",
        "labelSelector": "team=vision,subject=cats",
    }


@pytest.mark.parametrize("selector_args", [[], ["-l", ""]])
def test_create_unscoped(api: FakeApi, selector_args: list[str]) -> None:
    api.reply("POST", "/v1/token", body=TOKEN)

    result = run("token", "create", "ci", "-r", "operator", *selector_args)

    assert result.exit_code == 0
    assert api.requests[0].body == {"name": "ci", "role": "ai_training_operator"}


def test_create_json(api: FakeApi) -> None:
    api.reply("POST", "/v1/token", body=TOKEN)

    result = run("token", "create", "my-token", "-r", "read", "-o", "json")

    assert result.exit_code == 0
    assert result.stdout == json.dumps(TOKEN, indent=2) + "\n"


def test_create_yaml(api: FakeApi) -> None:
    api.reply("POST", "/v1/token", body=TOKEN)

    result = run("token", "create", "my-token", "-r", "read", "--output", "yaml")

    assert result.exit_code == 0
    assert result.stdout == render.to_yaml(TOKEN)


def test_create_description(api: FakeApi) -> None:
    api.reply("POST", "/v1/token", body=TOKEN)

    result = run("token", "create", "my-token", "-r", "read", "-o", "description")

    assert result.stdout == golden("token-create.txt")


def test_create_unknown_role(api: FakeApi) -> None:
    result = run("token", "create", "my-token", "--role", "admin")

    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: Invalid value for '-r' / '--role': 'admin' is not one of 'operator', 'read'.\n"
    )
    assert api.requests == []


def test_create_api_role_name(api: FakeApi) -> None:
    result = run("token", "create", "my-token", "--role", "ai_training_read")

    assert result.exit_code == 2
    assert api.requests == []


def test_create_without_role(api: FakeApi) -> None:
    result = run("token", "create", "my-token")

    assert result.exit_code == 2
    assert result.stderr.endswith(
        "Error: Missing option '-r' / '--role'. Choose from:\n\toperator,\n\tread\n"
    )
    assert api.requests == []


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ("team=vision,", f"Invalid label selector 'team=vision,': {SELECTOR_HELP}"),
        ("team", f"Invalid label selector 'team': {SELECTOR_HELP}"),
        ("team=", f"Invalid label selector 'team=': {SELECTOR_HELP}"),
        ("team=vision, subject=cats",
         "Invalid label name ' subject': use letters, digits, '-', '_' and '.', starting and "
         "ending with a letter or digit, with an optional 'prefix/' (at most 253 characters)."),
        ("team=vision,team=nlp", "Invalid label selector 'team=vision,team=nlp': "
                                 "'team' appears twice."),
    ],
)
def test_create_bad_selector(api: FakeApi, selector: str, message: str) -> None:
    result = run("token", "create", "my-token", "-r", "read", "-l", selector)

    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}\n"
    assert api.requests == []


def test_create_rejected_by_api(api: FakeApi) -> None:
    message = "'name' is required: a string of 1 to 255 characters."
    api.reply("POST", "/v1/token", status=400, body={"message": message})

    result = run("token", "create", " ", "-r", "read")

    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}\n"


def test_create_with_app_token(api: FakeApi) -> None:
    message = "App tokens cannot manage tokens; use the project user's login."
    api.reply("POST", "/v1/token", status=403, body={"message": message})

    result = run("token", "create", "ci", "-r", "read", "--token", "app-token")

    assert result.exit_code == 1
    assert result.stderr == f"Error: {message}\n"
    assert api.requests[0].headers["authorization"] == "Bearer app-token"


# -- list --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["list", "ls"])
def test_list_table(api: FakeApi, name: str) -> None:
    api.reply("GET", "/v1/token", body=token_page([operator_token()]))

    result = run("token", name)

    assert result.exit_code == 0
    assert result.stdout == (
        "ID                                   NAME ROLE     LABEL_SELECTOR VERSION AGE\n"
        f"{OPERATOR_ID} ci   operator                2       65m\n"
    )


def test_list_empty(api: FakeApi) -> None:
    api.reply("GET", "/v1/token", body=token_page([]))

    result = run("token", "list")

    assert result.stdout == "ID NAME ROLE LABEL_SELECTOR VERSION AGE\n"


def test_list_json_stream(api: FakeApi) -> None:
    tokens = [stored(TOKEN), operator_token()]
    api.reply("GET", "/v1/token", body=token_page(tokens))

    result = run("token", "list", "-o", "json")

    assert result.exit_code == 0
    expected = json.dumps(tokens[0], indent=2) + "\n" + json.dumps(tokens[1], indent=2) + "\n"
    assert result.stdout == expected


def test_list_json_is_not_an_array(api: FakeApi) -> None:
    api.reply("GET", "/v1/token", body=token_page([stored(TOKEN), operator_token()]))

    text = run("token", "ls", "-o", "json").stdout
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(text)
    second, _ = decoder.raw_decode(text, end + 1)

    assert [first["spec"]["name"], second["spec"]["name"]] == ["my-token", "ci"]


def test_list_yaml(api: FakeApi) -> None:
    tokens = [stored(TOKEN), operator_token()]
    api.reply("GET", "/v1/token", body=token_page(tokens))

    result = run("token", "list", "-o", "yaml")

    assert result.stdout == render.to_yaml(tokens[0]) + render.to_yaml(tokens[1])


# -- get ---------------------------------------------------------------------


def test_get_without_value(api: FakeApi) -> None:
    api.reply("GET", f"/v1/token/{TOKEN_ID}", body=stored(TOKEN))

    result = run("token", "get", TOKEN_ID)

    assert result.exit_code == 0
    assert result.stdout == golden("token-create.txt").split("\n\n")[0] + "\n"


def test_get_json(api: FakeApi) -> None:
    api.reply("GET", f"/v1/token/{TOKEN_ID}", body=stored(TOKEN))

    result = run("token", "get", "-o", "json", TOKEN_ID)

    assert result.stdout == json.dumps(stored(TOKEN), indent=2) + "\n"


def test_get_unknown_id(api: FakeApi) -> None:
    api.reply("GET", "/v1/token/nope", status=404, body={"message": NOT_FOUND})

    result = run("token", "get", "nope")

    assert result.exit_code == 1
    assert result.stderr == f"Error: {NOT_FOUND}\n"


# -- renew -------------------------------------------------------------------


def renewed_token() -> dict[str, Any]:
    token = copy.deepcopy(TOKEN)
    token["updatedAt"] = "2021-05-27T15:00:00.123456789Z"
    token["status"].update(value="eyJhbGciOiJFZERTQSJ9.bmV3.c2ln", version=2)
    return token


def test_renew_prints_new_value(api: FakeApi) -> None:
    api.reply("POST", f"/v1/token/{TOKEN_ID}/renew", body=renewed_token())

    result = run("token", "renew", TOKEN_ID)

    assert result.exit_code == 0
    assert result.stdout == (
        "Info:     \n"
        f"  ID:             {TOKEN_ID}\n"
        "  Name:           my-token\n"
        "  Label selector: subject=image-recognition\n"
        "  Version:        2\n"
        "  Created at:     2021-05-27 14:03:06.178808548 UTC\n"
        "  Updated at:     2021-05-27 15:00:00.123456789 UTC\n"
        "\n"
        "Token:    eyJhbGciOiJFZERTQSJ9.bmV3.c2ln\n"
    )


def test_renew_json(api: FakeApi) -> None:
    api.reply("POST", f"/v1/token/{TOKEN_ID}/renew", body=renewed_token())

    result = run("token", "renew", TOKEN_ID, "-o", "json")

    assert result.stdout == json.dumps(renewed_token(), indent=2) + "\n"


def test_renew_unknown_id(api: FakeApi) -> None:
    api.reply("POST", "/v1/token/nope/renew", status=404,
              body={"message": NOT_FOUND})

    result = run("token", "renew", "nope")

    assert result.exit_code == 1
    assert result.stderr == f"Error: {NOT_FOUND}\n"


# -- delete ------------------------------------------------------------------


def test_delete(api: FakeApi) -> None:
    api.reply("DELETE", f"/v1/token/{TOKEN_ID}", status=204)

    result = run("token", "delete", TOKEN_ID)

    assert result.exit_code == 0
    assert result.stdout == f"Token {TOKEN_ID} deleted.\n"
    assert len(api.calls("DELETE", f"/v1/token/{TOKEN_ID}")) == 1


def test_delete_unknown_id(api: FakeApi) -> None:
    api.reply("DELETE", "/v1/token/nope", status=404,
              body={"message": NOT_FOUND})

    result = run("token", "delete", "nope")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: {NOT_FOUND}\n"


def test_create_joins_repeated_selectors(api: FakeApi) -> None:
    api.reply("POST", "/v1/token", body=TOKEN)

    result = run("token", "create", "t", "--role", "read",
                 "--label-selector", "a=b", "--label-selector", "c=d")

    assert result.exit_code == 0, result.stderr
    assert api.requests[0].body["labelSelector"] == "a=b,c=d"
