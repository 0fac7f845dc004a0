"""Text forms of API objects.

The golden files hold, byte for byte, what the ``ovhai`` CLI printed in the
OVHcloud guide "CLI - Launch and share an AI Notebook with tokens" (updated
2021-05-27): three ``notebook run`` outputs, three ``notebook get`` outputs
and one ``token create`` output. The guide's right-aligned shell prompt
times (``14:16:28``) and its blank line after some commands are not CLI
output and are not in the files. The objects below rebuild the API JSON
behind each output.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from localai.cli import render

GOLDEN = Path(__file__).parent / "golden"

USER = "user-uY7UNgjpKBPY"
TOKEN_VALUE = (
    "eyJhbGciOiJFZERTQSJ9.eyJwcm9qZWN0IjoiZDBhMzRkZDQtNzZmOC00MzhkLWJlMjQtOWJlZDg4MmIyY2RlIiwi"
    "anRpIjoiMGFhM2M1NTctMTBjOS00MzMxLWIxNjgtY2Q0ZTQ1YWJlYmRjLTEiLCJpc3MiOiJ0cmFpbmluZy5haS5j"
    "bG91ZC5vdmgubmV0Iiwic3ViIjoiYmJmZTU4ZjMtODNhNS00NzBiLWFiZDUtMGY3ZTg4ZjAxYjc2In0.HuQfPBfpS"
    "OvxABtXAsSc-1RPCEZjQQFSpKZftjRy2lOcayd1xjfmR6LaRklt-68ffkQbHPcPxLQQI8WIlgyADg"
)


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def created_notebook(
    notebook_id: str,
    created_at: str,
    labels: dict[str, str] | None = None,
    unsecure_http: bool = False,
) -> dict[str, Any]:
    """Return a notebook as ``POST /v1/notebook`` returned it in the 2021 guide."""
    return {
        "id": notebook_id,
        "createdAt": created_at,
        "updatedAt": created_at,
        "user": USER,
        "spec": {
            "name": "",
            "labels": labels or {},
            "resources": {"gpu": 1, "gpuModel": "Tesla-V100S", "cpu": 13},
            "volumes": [],
            "unsecureHttp": unsecure_http,
            "env": {"frameworkId": "pytorch", "frameworkVersion": "1.8.1", "editorId": "vscode"},
        },
        "status": {
            "lastTransitionDate": None,
            "infos": None,
            "state": "STARTING",
            "duration": 0,
            "url": None,
            "monitoringUrl": None,
            "lastStartedAt": None,
            "lastStoppedAt": None,
            "dataSync": [],
        },
    }


def running_notebook(
    notebook: dict[str, Any], duration: int, from_ms: int, started_at: str
) -> dict[str, Any]:
    """Return ``notebook`` as ``GET /v1/notebook/{id}`` returned it once RUNNING."""
    result = copy.deepcopy(notebook)
    notebook_id = result["id"]
    result["status"].update(
        state="RUNNING",
        duration=duration,
        url=f"https://{notebook_id}.notebook.gra.ai.cloud.ovh.net",
        monitoringUrl=(
            "https://monitoring.gra.ai.cloud.ovh.net/d/gpu"
            f"?var-notebook={notebook_id}&from={from_ms}"
        ),
        lastStartedAt=started_at,
    )
    return result


FIRST = created_notebook("d8d809f2-717b-4b60-9881-07e6987a144d", "2021-05-27T14:01:09.867501592Z")
LABELLED = created_notebook(
    "3cd20aa3-3f5d-49be-b027-ccaf6dd06f01",
    "2021-05-27T14:03:40.505794776Z",
    labels={"subject": "image-recognition"},
)
PUBLIC = created_notebook(
    "8e3ac445-0b47-4eea-9269-19a36b7213c7", "2021-05-27T14:06:47.356124682Z", unsecure_http=True
)

RUNNING = {
    "notebook-get-1.txt": running_notebook(
        FIRST, 53, 1622124009877, "2021-05-27T14:01:19.120000000Z"
    ),
    "notebook-get-2.txt": running_notebook(
        LABELLED, 34, 1622124160516, "2021-05-27T14:03:51.004000000Z"
    ),
    "notebook-get-3.txt": running_notebook(
        PUBLIC, 20, 1622124347366, "2021-05-27T14:06:58.730000000Z"
    ),
}

TOKEN: dict[str, Any] = {
    "id": "0aa3c557-10c9-4331-b168-cd4e45abebdc",
    "createdAt": "2021-05-27T14:03:06.178808548Z",
    "updatedAt": "2021-05-27T14:03:06.178808548Z",
    "spec": {
        "name": "my-token",
        "role": "ai_training_read",
        "labelSelector": "subject=image-recognition",
    },
    "status": {"value": TOKEN_VALUE, "version": 1},
}


# -- golden outputs of the 2021 guide ----------------------------------------


@pytest.mark.parametrize(
    ("name", "notebook"),
    [
        ("notebook-run-1.txt", FIRST),
        ("notebook-run-2.txt", LABELLED),
        ("notebook-run-3.txt", PUBLIC),
    ],
)
def test_run_yaml_matches_guide(name: str, notebook: dict[str, Any]) -> None:
    assert render.to_yaml(notebook) == golden(name)


@pytest.mark.parametrize("name", sorted(RUNNING))
def test_get_view_matches_guide(name: str) -> None:
    assert render.notebook_view(RUNNING[name]) == golden(name)


def test_token_view_matches_guide() -> None:
    assert render.token_view(TOKEN) == golden("token-create.txt")


# -- YAML scalars ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pytorch", "pytorch"),
        ("user-uY7UNgjpKBPY", "user-uY7UNgjpKBPY"),
        ("1.8.1", "1.8.1"),
        ("v98-ovh.beta.1", "v98-ovh.beta.1"),
        ("image recognition", "image recognition"),
        ("été", "été"),
        ("", '""'),
        ("2021-05-27T14:01:09.867501592Z", '"2021-05-27T14:01:09.867501592Z"'),
        ("2021-05-27", '"2021-05-27"'),
        ("https://example.org/x", '"https://example.org/x"'),
        ("13", '"13"'),
        ("-7", '"-7"'),
        ("1.5", '"1.5"'),
        ("1e3", '"1e3"'),
        ("1_000", '"1_000"'),
        ("0x1F", '"0x1F"'),
        ("0o17", '"0o17"'),
        ("0b101", '"0b101"'),
        (".5", '".5"'),
        ("inf", '"inf"'),
        ("NaN", '"NaN"'),
        ("true", '"true"'),
        ("False", '"False"'),
        ("yes", '"yes"'),
        ("off", '"off"'),
        ("null", '"null"'),
        ("~", '"~"'),
        ("a: b", '"a: b"'),
        ("#comment", '"#comment"'),
        ("- item", '"- item"'),
        ("*alias", '"*alias"'),
        ("!tag", '"!tag"'),
        ("[x]", '"[x]"'),
        ("{x}", '"{x}"'),
        ("a,b", '"a,b"'),
        (" padded", '" padded"'),
        ("padded ", '"padded "'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("two\nlines", '"two\\nlines"'),
        ("tab\there", '"tab\\there"'),
        ("bell\x07", '"bell\\a"'),
        ("nul\x00", '"nul\\0"'),
        ("del\x7f", '"del\\u007f"'),
        ("line\u2028sep", '"line\\Lsep"'),
    ],
)
def test_yaml_string_quoting(value: str, expected: str) -> None:
    assert render.to_yaml({"key": value}) == f"---\nkey: {expected}\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "~"),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-3, "-3"),
        (1.5, "1.5"),
        (2.0, "2.0"),
        (1e20, "1.0e+20"),
        (float("inf"), ".inf"),
        (float("-inf"), "-.inf"),
        (float("nan"), ".nan"),
    ],
)
def test_yaml_other_scalars(value: object, expected: str) -> None:
    assert render.to_yaml({"key": value}) == f"---\nkey: {expected}\n"


def test_yaml_nested_collections() -> None:
    document = {"a": [1, {"b": 2, "c": [3]}], "d": [[1, 2]], "e": {}, "f": []}
    expected = (
        "---\n"
        "a:\n"
        "  - 1\n"
        "  - b: 2\n"
        "    c:\n"
        "      - 3\n"
        "d:\n"
        "  - - 1\n"
        "    - 2\n"
        "e: {}\n"
        "f: []\n"
    )
    assert render.to_yaml(document) == expected


def test_yaml_list_under_nested_key() -> None:
    document = {"spec": {"envVars": [{"name": "A", "value": "1"}], "sshPublicKeys": ["k"]}}
    expected = (
        "---\n"
        "spec:\n"
        "  envVars:\n"
        "    - name: A\n"
        '      value: "1"\n'
        "  sshPublicKeys:\n"
        "    - k\n"
    )
    assert render.to_yaml(document) == expected


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([1, "a"], "---\n- 1\n- a\n"),
        ([], "---\n[]\n"),
        ({}, "---\n{}\n"),
        ("text", "---\ntext\n"),
        (None, "---\n~\n"),
    ],
)
def test_yaml_top_level_values(document: object, expected: str) -> None:
    assert render.to_yaml(document) == expected


def test_yaml_quotes_keys() -> None:
    assert render.to_yaml({"a:b": 1, "ovh/id": 2}) == '---\n"a:b": 1\novh/id: 2\n'


# -- notebook view -----------------------------------------------------------


def test_view_of_stopped_cpu_notebook() -> None:
    notebook = copy.deepcopy(RUNNING["notebook-get-2.txt"])
    notebook["spec"]["name"] = "my-notebook"
    notebook["spec"]["resources"] = {"gpu": 0, "gpuModel": None, "cpu": 2}
    notebook["spec"]["volumes"] = [
        {
            "dataStore": {"alias": "GRA", "container": "my-data", "prefix": "images"},
            "mountPath": "/workspace/data",
            "permission": "RW",
            "cache": True,
        },
        {
            "publicGit": {"url": "https://github.com/ovh/ai-training-examples.git"},
            "mountPath": "/workspace/examples",
            "permission": "RO",
            "cache": False,
        },
    ]
    notebook["status"].update(
        state="STOPPED",
        infos="Notebook is stopped",
        lastTransitionDate="2021-05-28T09:15:02.5Z",
        url=None,
        monitoringUrl=None,
        lastStoppedAt="2021-05-28T09:15:02.5Z",
    )
    expected = (
        "Name:       my-notebook\n"
        "ID:         3cd20aa3-3f5d-49be-b027-ccaf6dd06f01\n"
        "Created At: 27-05-21 14:03\n"
        "Updated At: 27-05-21 14:03\n"
        "User:       user-uY7UNgjpKBPY\n"
        "Spec:       \n"
        "  Resources: \n"
        "    GPU:       0\n"
        "    GPU Model: \n"
        "    CPU:       2\n"
        "  Volumes: \n"
        "    my-data@GRA/images:/workspace/data:rw:cache\n"
        "    https://github.com/ovh/ai-training-examples.git:/workspace/examples:ro\n"
        "  Labels:  \n"
        "    subject: image-recognition\n"
        "  Unsecure: false\n"
        "  Env:     \n"
        "    Framework ID:    pytorch\n"
        "    Framework Version: 1.8.1\n"
        "    Editor ID:       vscode\n"
        "Status:     \n"
        "  State:           STOPPED\n"
        "  Infos:           Notebook is stopped\n"
        "  Transitioned At: 28-05-21 09:15\n"
        "  Duration:        34s\n"
        "  Url:             \n"
        "  Monitoring Url:  \n"
        "  Transitioned At: 27-05-21 14:03\n"
        "  Stopped At:      28-05-21 09:15\n"
    )
    assert render.notebook_view(notebook) == expected


# -- dates -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-05-27T14:03:06.178808548Z", "2021-05-27 14:03:06.178808548 UTC"),
        ("2021-05-27T14:03:06.178808Z", "2021-05-27 14:03:06.178808 UTC"),
        ("2021-05-27T14:03:06.1Z", "2021-05-27 14:03:06.100 UTC"),
        ("2021-05-27T14:03:06Z", "2021-05-27 14:03:06 UTC"),
        ("2021-05-27T16:03:06.5+02:00", "2021-05-27 14:03:06.500 UTC"),
    ],
)
def test_long_date(text: str, expected: str) -> None:
    assert render.long_date(text) == expected


def test_short_date_in_utc() -> None:
    assert render.short_date("2021-05-28T01:30:00+02:00") == "27-05-21 23:30"


def test_parse_time_rejects_other_shapes() -> None:
    with pytest.raises(ValueError, match="invalid RFC 3339 timestamp '27-05-21'"):
        render.parse_time("27-05-21")


NOW = datetime(2021, 5, 27, 20, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        ("2021-05-27T20:00:00Z", "0s"),
        ("2021-05-27T19:59:15Z", "45s"),
        ("2021-05-27T19:58:01Z", "119s"),
        ("2021-05-27T19:58:00Z", "2m"),
        ("2021-05-27T18:55:00Z", "65m"),
        ("2021-05-27T17:00:01Z", "179m"),
        ("2021-05-27T15:00:00Z", "5h"),
        ("2021-05-25T20:00:01Z", "47h"),
        ("2021-05-24T20:00:00Z", "3d"),
        ("2021-05-27T20:00:05Z", "0s"),
    ],
)
def test_age_units(created_at: str, expected: str) -> None:
    assert render.age(created_at, NOW) == expected


# -- tables ------------------------------------------------------------------


def test_table_pads_all_but_last_column() -> None:
    text = render.table(("ID", "NAME", "URL"), [["a", "long-name", "u"], ["bbb", None, ""]])
    assert text == "ID  NAME      URL\na   long-name u\nbbb           \n"


def test_notebook_table() -> None:
    stopped = copy.deepcopy(PUBLIC)
    stopped["spec"]["name"] = "shared"
    stopped["status"]["state"] = "STOPPED"
    running = RUNNING["notebook-get-1.txt"]
    now = datetime(2021, 5, 27, 15, 6, 30, tzinfo=UTC)

    expected = (
        "ID                                   NAME   STATE   AGE FRAMEWORK VERSION EDITOR URL\n"
        "d8d809f2-717b-4b60-9881-07e6987a144d        RUNNING 65m pytorch   1.8.1   vscode "
        "https://d8d809f2-717b-4b60-9881-07e6987a144d.notebook.gra.ai.cloud.ovh.net\n"
        "8e3ac445-0b47-4eea-9269-19a36b7213c7 shared STOPPED 59m pytorch   1.8.1   vscode \n"
    )
    assert render.notebook_table([running, stopped], now) == expected


def test_notebook_table_without_notebooks() -> None:
    assert render.notebook_table([]) == "ID NAME STATE AGE FRAMEWORK VERSION EDITOR URL\n"


FRAMEWORKS = [
    {
        "id": "pytorch",
        "name": "PyTorch",
        "description": "Tensors",
        "docUrl": "https://pytorch.org/docs/stable/index.html",
        "logoUrl": None,
        "versions": ["2.5.1", "2.4.1", "1.8.1"],
        "savedPaths": ["/workspace"],
    },
    {
        "id": "one-for-all",
        "name": "One image to rule them all",
        "description": "All",
        "docUrl": None,
        "logoUrl": None,
        "versions": ["v98"],
        "savedPaths": ["/workspace"],
    },
]


def test_framework_table() -> None:
    expected = (
        "ID          NAME                       DOC_URL                                    "
        "VERSIONS\n"
        "pytorch     PyTorch                    https://pytorch.org/docs/stable/index.html "
        "2.5.1,2.4.1,1.8.1\n"
        "one-for-all One image to rule them all                                            "
        "v98\n"
    )
    assert render.framework_table(FRAMEWORKS) == expected


def test_framework_view() -> None:
    expected = (
        "ID:          pytorch\n"
        "Name:        PyTorch\n"
        "Description: Tensors\n"
        "Doc URL:     https://pytorch.org/docs/stable/index.html\n"
        "Versions:    2.5.1,2.4.1,1.8.1\n"
        "Saved Paths: /workspace\n"
    )
    assert render.framework_view(FRAMEWORKS[0]) == expected


def test_editor_table() -> None:
    editors = [
        {"id": "jupyterlab", "name": "JupyterLab",
         "docUrl": "https://jupyterlab.readthedocs.io/en/stable/"},
        {"id": "vscode", "name": "VSCode", "docUrl": "https://code.visualstudio.com/docs"},
    ]
    expected = (
        "ID         NAME       DOC_URL\n"
        "jupyterlab JupyterLab https://jupyterlab.readthedocs.io/en/stable/\n"
        "vscode     VSCode     https://code.visualstudio.com/docs\n"
    )
    assert render.editor_table(editors) == expected


# -- me and tokens -----------------------------------------------------------


def test_me_view() -> None:
    me = {
        "name": USER,
        "tenant": "d0a34dd476f8438dbe249bed882b2cde",
        "role": "administrator",
        "tokenKind": "oauth",
        "quotas": {"resources": {"CPU": 12, "GPU": 4}, "storage": 10737418240},
    }
    expected = (
        "Name:       user-uY7UNgjpKBPY\n"
        "Tenant:     d0a34dd476f8438dbe249bed882b2cde\n"
        "Role:       administrator\n"
        "Token Kind: oauth\n"
        "Quotas:     \n"
        "  CPU:     12\n"
        "  GPU:     4\n"
        "  Storage: 10737418240\n"
    )
    assert render.me_view(me) == expected


def test_token_view_without_value() -> None:
    token = copy.deepcopy(TOKEN)
    token["status"]["value"] = None
    token["spec"]["labelSelector"] = None
    expected = (
        "Info:     \n"
        "  ID:             0aa3c557-10c9-4331-b168-cd4e45abebdc\n"
        "  Name:           my-token\n"
        "  Label selector: \n"
        "  Version:        1\n"
        "  Created at:     2021-05-27 14:03:06.178808548 UTC\n"
        "  Updated at:     2021-05-27 14:03:06.178808548 UTC\n"
    )
    assert render.token_view(token) == expected


def test_token_table() -> None:
    operator = copy.deepcopy(TOKEN)
    operator["id"] = "5f0c1d8e-2a4b-4c6d-8e9f-0a1b2c3d4e5f"
    operator["spec"].update(name="ci", role="ai_training_operator", labelSelector=None)
    operator["status"]["version"] = 2
    now = datetime(2021, 5, 27, 14, 4, 0, tzinfo=UTC)
    expected = (
        "ID                                   NAME     ROLE     LABEL_SELECTOR            "
        "VERSION AGE\n"
        "0aa3c557-10c9-4331-b168-cd4e45abebdc my-token read     subject=image-recognition "
        "1       53s\n"
        "5f0c1d8e-2a4b-4c6d-8e9f-0a1b2c3d4e5f ci       operator                           "
        "2       53s\n"
    )
    assert render.token_table([TOKEN, operator], now) == expected
