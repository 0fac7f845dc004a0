"""Text forms of API objects: YAML, human views and tables.

Every function here is pure: it takes the JSON the API returned (dicts with
the server's key order) and returns the text the CLI prints, ending with a
newline. The layouts reproduce what the 2021 ``ovhai`` CLI printed:

* ``to_yaml`` writes YAML the way serde_yaml 0.8 (the Rust library behind
  that CLI) did, which is what ``notebook run`` printed.
* ``notebook_view`` and ``token_view`` are the ``notebook get`` and
  ``token create`` layouts, with their padding and trailing spaces.
* ``table`` pads columns like a tab writer: left-aligned, one space between
  columns, the last column not padded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

JsonDict = dict[str, Any]

# ---------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------

# Plain scalars that YAML 1.1 or 1.2 readers resolve to a bool or a null.
_RESERVED_WORDS = frozenset(
    {
        "yes", "Yes", "YES", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE",
        "on", "On", "ON", "off", "Off", "OFF",
        "null", "Null", "NULL", "~",
    }
)

# Characters that start an indicator (anchor, alias, tag, block scalar...) at the
# start of a plain scalar.
_INDICATOR_STARTS = "&*?|-<>=!%@"

# Characters that change the meaning of a plain scalar wherever they appear.
_SPECIAL_CHARACTERS = frozenset(":{}[],#`\"'\\")

_NUMBER_PATTERNS = (
    # Integers as Rust's i64 parser, YAML 1.1 (underscores, 0b) and YAML 1.2 (0o) read them.
    re.compile(r"[-+]?[0-9][0-9_]*"),
    re.compile(r"[-+]?0b[01_]+"),
    re.compile(r"[-+]?0o[0-7_]+"),
    # Floats as Rust's f64 parser and YAML 1.1 read them; inf and nan in any case.
    re.compile(r"[-+]?([0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)([eE][-+]?[0-9]+)?"),
    re.compile(r"[-+]?(inf|infinity|nan)", re.IGNORECASE),
    # YAML 1.1 dates (with a time part they contain ':' and are quoted anyway).
    re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"),
)

_ESCAPES = {
    "\0": "\\0",
    "\x07": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\x0b": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\xa0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}


def _needs_quotes(text: str) -> bool:
    """Return whether ``text`` must be double-quoted to read back as the same string."""
    if text == "" or text in _RESERVED_WORDS:
        return True
    if text[0] in _INDICATOR_STARTS or text[0] == "." or text.startswith("0x"):
        return True
    if text[0].isspace() or text[-1].isspace():
        return True
    if any(char in _SPECIAL_CHARACTERS or not char.isprintable() for char in text):
        return True
    return any(pattern.fullmatch(text) for pattern in _NUMBER_PATTERNS)


def _escape_char(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    if not char.isprintable():
        return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"
    return char


def _yaml_string(text: str) -> str:
    if not _needs_quotes(text):
        return text
    return '"' + "".join(_escape_char(char) for char in text) + '"'


def _yaml_float(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    # YAML 1.1 reads "1e+20" as a string; a dot in the mantissa keeps it a float.
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def _yaml_scalar(value: object) -> str:
    if value is None:
        return "~"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _yaml_float(value)
    return _yaml_string(str(value))


class _YamlWriter:
    """Block-style YAML writer with serde_yaml 0.8's layout.

    ``level`` is the nesting depth of the collection being written; the
    top-level collection is at depth 0 and is not indented.
    """

    indent_width = 2

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.level = -1

    def write_indent(self) -> None:
        if self.level > 0:
            self.parts.append(" " * (self.indent_width * self.level))

    def node(self, value: object) -> None:
        if isinstance(value, Mapping):
            self.mapping(value)
        elif isinstance(value, list | tuple):
            self.sequence(value)
        else:
            self.parts.append(_yaml_scalar(value))

    def mapping(self, value: Mapping[Any, Any]) -> None:
        if not value:
            self.parts.append("{}")
            return
        self.level += 1
        for index, (key, item) in enumerate(value.items()):
            if index > 0:
                self.parts.append("\n")
                self.write_indent()
            self.parts.append(_yaml_scalar(key))
            self.parts.append(":")
            self.value(item, in_sequence=False)
        self.level -= 1

    def sequence(self, value: Sequence[Any]) -> None:
        if not value:
            self.parts.append("[]")
            return
        self.level += 1
        for index, item in enumerate(value):
            if index > 0:
                self.parts.append("\n")
                self.write_indent()
            self.parts.append("-")
            self.value(item, in_sequence=True)
        self.level -= 1

    def value(self, value: object, in_sequence: bool) -> None:
        """Write what follows ``key:`` or ``-``.

        A non-empty collection under a key starts on the next line, one level
        deeper; inside a sequence it starts on the dash's line (``- a: 1``).
        """
        is_collection = isinstance(value, Mapping | list | tuple)
        if is_collection and value and not in_sequence:
            self.parts.append("\n")
            self.level += 1
            self.write_indent()
            self.level -= 1
        else:
            self.parts.append(" ")
        self.node(value)


def to_yaml(obj: object) -> str:
    """Return ``obj`` as a YAML document that starts with ``---`` and ends with a newline.

    Strings are double-quoted when a YAML reader would read them as something
    else: a number, bool, null or date, or a string with indicator characters
    such as ``:``. So ``createdAt`` timestamps and URLs are quoted, while a
    version such as ``1.8.1`` stays bare.
    """
    writer = _YamlWriter()
    writer.node(obj)
    return "---\n" + "".join(writer.parts) + "\n"


# ---------------------------------------------------------------------------
# Dates and ages
# ---------------------------------------------------------------------------

_TIMESTAMP = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?"
)


def parse_time(text: str) -> tuple[datetime, int]:
    """Parse an RFC 3339 timestamp into a UTC datetime (whole seconds) and its nanoseconds.

    Raises ValueError on any other shape.
    """
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid RFC 3339 timestamp {text!r}")
    zone = match["zone"] or "Z"
    zone = "+00:00" if zone == "Z" else zone
    moment = datetime.fromisoformat(match["base"].replace(" ", "T") + zone).astimezone(UTC)
    nanoseconds = int((match["fraction"] or "0").ljust(9, "0"))
    return moment, nanoseconds


def short_date(text: str | None) -> str:
    """Return ``dd-mm-yy HH:MM`` in UTC, or an empty string for a missing date."""
    if not text:
        return ""
    moment, _ = parse_time(text)
    return moment.strftime("%d-%m-%y %H:%M")


def long_date(text: str | None) -> str:
    """Return ``YYYY-MM-DD HH:MM:SS.fffffffff UTC``, as Rust's chrono displays UTC times.

    The fraction has 3, 6 or 9 digits, the fewest that show it exactly, and is
    left out for a whole second.
    """
    if not text:
        return ""
    moment, nanoseconds = parse_time(text)
    if nanoseconds == 0:
        fraction = ""
    elif nanoseconds % 1_000_000 == 0:
        fraction = f".{nanoseconds // 1_000_000:03d}"
    elif nanoseconds % 1_000 == 0:
        fraction = f".{nanoseconds // 1_000:06d}"
    else:
        fraction = f".{nanoseconds:09d}"
    return moment.strftime("%Y-%m-%d %H:%M:%S") + fraction + " UTC"


def age(created_at: str | None, now: datetime) -> str:
    """Return the time since ``created_at`` in one unit.

    Seconds below 2 minutes (``45s``), minutes below 3 hours (``65m``), hours
    below 2 days (``5h``), then days (``3d``).
    """
    if not created_at:
        return ""
    moment, nanoseconds = parse_time(created_at)
    seconds = max(0, int((now - moment).total_seconds() - nanoseconds / 1e9))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3 * 3600:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


# ---------------------------------------------------------------------------
# Tables and field lists
# ---------------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return a left-aligned table, each column padded to its widest cell plus one space.

    The last column is not padded, like a tab writer's last cell.
    """
    cells = [list(headers)] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(line[column]) for line in cells) for column in range(len(headers))]
    lines = []
    for line in cells:
        padded = [text.ljust(width) for text, width in zip(line[:-1], widths, strict=False)]
        lines.append(" ".join(padded + [line[-1]]))
    return "\n".join(lines) + "\n"


def _field(indent: int, label: str, width: int, value: object) -> str:
    """Return ``label:`` indented and padded to ``width`` (colon included), then the value."""
    return " " * indent + f"{label}:".ljust(width) + _cell(value)


# ---------------------------------------------------------------------------
# Notebooks
# ---------------------------------------------------------------------------


def _volume_line(volume: Mapping[str, Any]) -> str:
    """Return a volume in the ``run --volume`` syntax: ``source:mount_path:permission[:cache]``.

    NOTE: no public sample of the 2021 CLI shows a volume in ``notebook get``;
    this layout reuses the syntax users pass to ``--volume``.
    """
    if volume.get("dataStore"):
        store = volume["dataStore"]
        source = f"{store.get('container', '')}@{store.get('alias', '')}"
        if store.get("prefix"):
            source += f"/{store['prefix']}"
    elif volume.get("privateSwift"):
        swift = volume["privateSwift"]
        source = f"{swift.get('container', '')}@{swift.get('region', '')}"
    elif volume.get("publicGit"):
        source = str(volume["publicGit"].get("url", ""))
    elif volume.get("publicSwift"):
        source = str(volume["publicSwift"].get("url", ""))
    else:
        source = "standalone"
    line = f"{source}:{volume.get('mountPath', '')}:{str(volume.get('permission', '')).lower()}"
    if volume.get("cache"):
        line += ":cache"
    return "    " + line


def notebook_view(nb: Mapping[str, Any]) -> str:
    """Return the ``notebook get`` human view of the 2021 CLI.

    Top-level labels are padded to 12 columns, resource labels to 11, status
    labels to 17. The first ``Transitioned At`` shows ``lastTransitionDate``
    and the second one ``lastStartedAt``, as the 2021 CLI did. A ``Stopped At``
    line, which the 2021 samples never show, follows when ``lastStoppedAt`` is
    set.
    """
    spec = nb.get("spec") or {}
    resources = spec.get("resources") or {}
    env = spec.get("env") or {}
    status = nb.get("status") or {}
    labels = spec.get("labels") or {}

    lines = [
        _field(0, "Name", 12, spec.get("name")),
        _field(0, "ID", 12, nb.get("id")),
        _field(0, "Created At", 12, short_date(nb.get("createdAt"))),
        _field(0, "Updated At", 12, short_date(nb.get("updatedAt"))),
        _field(0, "User", 12, nb.get("user")),
        _field(0, "Spec", 12, ""),
        _field(2, "Resources", 11, ""),
        _field(4, "GPU", 11, resources.get("gpu")),
        _field(4, "GPU Model", 11, resources.get("gpuModel")),
        _field(4, "CPU", 11, resources.get("cpu")),
        _field(2, "Volumes", 9, ""),
    ]
    lines += [_volume_line(volume) for volume in spec.get("volumes") or []]
    lines.append(_field(2, "Labels", 9, ""))
    lines += [f"    {key}: {value}" for key, value in labels.items()]
    lines += [
        _field(2, "Unsecure", 10, spec.get("unsecureHttp")),
        _field(2, "Env", 9, ""),
        _field(4, "Framework ID", 17, env.get("frameworkId")),
        _field(4, "Framework Version", 19, env.get("frameworkVersion")),
        _field(4, "Editor ID", 17, env.get("editorId")),
        _field(0, "Status", 12, ""),
        _field(2, "State", 17, status.get("state")),
        _field(2, "Infos", 17, status.get("infos")),
        _field(2, "Transitioned At", 17, short_date(status.get("lastTransitionDate"))),
        _field(2, "Duration", 17, f"{status.get('duration') or 0}s"),
        _field(2, "Url", 17, status.get("url")),
        _field(2, "Monitoring Url", 17, status.get("monitoringUrl")),
        _field(2, "Transitioned At", 17, short_date(status.get("lastStartedAt"))),
    ]
    if status.get("lastStoppedAt"):
        lines.append(_field(2, "Stopped At", 17, short_date(status["lastStoppedAt"])))
    return "\n".join(lines) + "\n"


NOTEBOOK_HEADERS = ("ID", "NAME", "STATE", "AGE", "FRAMEWORK", "VERSION", "EDITOR", "URL")


def notebook_table(notebooks: Sequence[Mapping[str, Any]], now: datetime | None = None) -> str:
    """Return the ``notebook list`` table; AGE counts from ``createdAt`` to ``now``."""
    moment = now or datetime.now(UTC)
    rows = []
    for nb in notebooks:
        spec = nb.get("spec") or {}
        env = spec.get("env") or {}
        status = nb.get("status") or {}
        rows.append(
            [
                nb.get("id"),
                spec.get("name"),
                status.get("state"),
                age(nb.get("createdAt"), moment),
                env.get("frameworkId"),
                env.get("frameworkVersion"),
                env.get("editorId"),
                status.get("url"),
            ]
        )
    return table(NOTEBOOK_HEADERS, rows)


# ---------------------------------------------------------------------------
# Capabilities
# ---------------------------------------------------------------------------


def framework_table(frameworks: Sequence[Mapping[str, Any]]) -> str:
    """Return the ``capabilities framework list`` table; versions are comma-joined."""
    rows = [
        [fw.get("id"), fw.get("name"), fw.get("docUrl"), ",".join(fw.get("versions") or [])]
        for fw in frameworks
    ]
    return table(("ID", "NAME", "DOC_URL", "VERSIONS"), rows)


def editor_table(editors: Sequence[Mapping[str, Any]]) -> str:
    """Return the ``capabilities editor list`` table."""
    rows = [[editor.get("id"), editor.get("name"), editor.get("docUrl")] for editor in editors]
    return table(("ID", "NAME", "DOC_URL"), rows)


FLAVOR_HEADERS = ("ID", "TYPE", "DESCRIPTION", "CPU-PER-UNIT", "MEMORY-PER-UNIT",
                  "GPU_INFORMATION.INFO", "DEFAULT", "MAX")


def format_gib(size: object) -> str:
    """Format bytes as the cloud CLI does: ``40.0 GiB``."""
    if not isinstance(size, int):
        return "~"
    return f"{size / 1024**3:.1f} GiB"


def flavor_table(flavors: Sequence[Mapping[str, Any]]) -> str:
    """Return the ``capabilities flavor list`` table; CPU flavors show ``~`` as GPU info."""
    rows = []
    for flavor in flavors:
        per_unit = flavor.get("resourcesPerUnit") or {}
        gpu = flavor.get("gpuInformation")
        gpu_info = f"{gpu.get('gpuModel')} {gpu.get('gpuBrand')}" if gpu else "~"
        rows.append([
            flavor.get("id"), flavor.get("type"), flavor.get("description"),
            per_unit.get("cpu"), format_gib(per_unit.get("memory")), gpu_info,
            str(bool(flavor.get("default"))).lower(), flavor.get("max"),
        ])
    return table(FLAVOR_HEADERS, rows)


def _field_list(pairs: Sequence[tuple[str, object]]) -> str:
    width = max(len(label) for label, _ in pairs) + 2
    return "\n".join(_field(0, label, width, value) for label, value in pairs) + "\n"


def framework_view(fw: Mapping[str, Any]) -> str:
    """Return one framework as aligned ``Label: value`` lines."""
    return _field_list(
        [
            ("ID", fw.get("id")),
            ("Name", fw.get("name")),
            ("Description", fw.get("description")),
            ("Doc URL", fw.get("docUrl")),
            ("Versions", ",".join(fw.get("versions") or [])),
            ("Saved Paths", ",".join(fw.get("savedPaths") or [])),
        ]
    )


def editor_view(editor: Mapping[str, Any]) -> str:
    """Return one editor as aligned ``Label: value`` lines."""
    return _field_list(
        [
            ("ID", editor.get("id")),
            ("Name", editor.get("name")),
            ("Description", editor.get("description")),
            ("Doc URL", editor.get("docUrl")),
            ("Versions", ",".join(editor.get("versions") or [])),
        ]
    )


# ---------------------------------------------------------------------------
# Me and tokens
# ---------------------------------------------------------------------------


def me_view(me: Mapping[str, Any]) -> str:
    """Return the ``me`` view: the user's name, project, role and quotas.

    The 2021 CLI's layout for ``me`` is unknown, so this one follows the
    ``notebook get`` style. Top-level labels are padded to 12 columns, quota
    labels are indented 2 and padded to 9. Quota lines appear only for
    the quotas the API returned.
    """
    lines = [
        _field(0, "Name", 12, me.get("name")),
        _field(0, "Tenant", 12, me.get("tenant")),
        _field(0, "Role", 12, me.get("role")),
        _field(0, "Token Kind", 12, me.get("tokenKind")),
    ]
    quotas = me.get("quotas") or {}
    if quotas:
        resources = quotas.get("resources") or {}
        lines.append(_field(0, "Quotas", 12, ""))
        lines += [_field(2, key, 9, value) for key, value in resources.items()]
        if "storage" in quotas:
            lines.append(_field(2, "Storage", 9, quotas["storage"]))
    return "\n".join(lines) + "\n"


def token_view(token: Mapping[str, Any]) -> str:
    """Return the ``token create`` layout of the 2021 CLI.

    ``Info:`` and ``Token:`` are padded to 10 columns, the fields under
    ``Info`` are indented 2 and padded to 16. The role is not shown. The
    ``Token:`` line, after one empty line, appears only when the object
    carries the value, which the API sends on create and renew only.
    """
    spec = token.get("spec") or {}
    status = token.get("status") or {}
    lines = [
        _field(0, "Info", 10, ""),
        _field(2, "ID", 16, token.get("id")),
        _field(2, "Name", 16, spec.get("name")),
        _field(2, "Label selector", 16, spec.get("labelSelector")),
        _field(2, "Version", 16, status.get("version")),
        _field(2, "Created at", 16, long_date(token.get("createdAt"))),
        _field(2, "Updated at", 16, long_date(token.get("updatedAt"))),
    ]
    if status.get("value"):
        lines += ["", _field(0, "Token", 10, status["value"])]
    return "\n".join(lines) + "\n"


_ROLE_NAMES = {"ai_training_read": "read", "ai_training_operator": "operator"}


def token_table(tokens: Sequence[Mapping[str, Any]], now: datetime | None = None) -> str:
    """Return the ``token list`` table: ``ID NAME ROLE LABEL_SELECTOR VERSION AGE``.

    ROLE uses the CLI's names (``read``, ``operator``) that ``token create
    --role`` takes; AGE counts from ``createdAt`` as in ``notebook list``.
    """
    moment = now or datetime.now(UTC)
    rows = []
    for token in tokens:
        spec = token.get("spec") or {}
        status = token.get("status") or {}
        role = spec.get("role")
        rows.append(
            [
                token.get("id"),
                spec.get("name"),
                _ROLE_NAMES.get(str(role), role),
                spec.get("labelSelector"),
                status.get("version"),
                age(token.get("createdAt"), moment),
            ]
        )
    return table(("ID", "NAME", "ROLE", "LABEL_SELECTOR", "VERSION", "AGE"), rows)
