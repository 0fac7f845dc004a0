"""pytest plugin that runs a real localai daemon for the tests of a cloud API client.

Clients of the OVHcloud AI Training API (the ``ovhai`` SDK, a script using
``requests``, a CLI) can be tested against localai the way LocalStack serves
AWS clients. The fixtures start a daemon on a free port with a fresh data
directory, and the client under test calls ``localai_base_url`` with
``localai_user_token`` or ``localai_operator_token``.

Installing localai registers the plugin with pytest under the name
``localai.testing``, and ``-p localai.testing`` or
``pytest_plugins = ["localai.testing"]`` load it where plugin autoloading is
off. Loading it costs nothing: no daemon starts, no Docker call is made and
no signal handler is installed until a test requests one of its fixtures.

Every daemon, notebook container, volume and network the plugin starts is
removed at the end of the run: by the fixture's teardown, by an ``atexit``
handler and by a SIGTERM and SIGHUP handler. A run killed with SIGKILL leaves
them behind, and the next run that starts a daemon removes them.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any, Literal, cast

import pytest

from localai.config import GpuMode
from localai.errors import LocalaiError
from localai.testing.daemon import DaemonOptions, LocalaiDaemon, live_daemons, start_daemon
from localai.testing.hostnames import resolve_localhost_names

__all__ = ["DaemonOptions", "LocalaiDaemon", "start_daemon"]

log = logging.getLogger(__name__)

Scope = Literal["session", "package", "module", "class", "function"]
SCOPES: tuple[Scope, ...] = ("session", "package", "module", "class", "function")
TERMINATION_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

_options_key = pytest.StashKey[DaemonOptions]()
_kept_key = pytest.StashKey[list[LocalaiDaemon]]()

_previous_handlers: dict[int, Any] = {}
_atexit_registered = False


# Options -------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("localai", "localai test daemon (localai.testing)")
    group.addoption(
        "--localai-image-prefix", dest="localai_image_prefix", metavar="PREFIX",
        help="Repository prefix of the notebook images the test daemon runs, as in "
        "<prefix>/pytorch-jupyterlab:2.5.1. [default: ini localai_image_prefix, else localai]",
    )
    parser.addini("localai_image_prefix", "Repository prefix of the test daemon's notebook "
                  "images.", default="localai")
    group.addoption(
        "--localai-gpu-mode", dest="localai_gpu_mode", choices=[mode.value for mode in GpuMode],
        help="GPU mode of the test daemon. emulate accepts GPU requests without attaching "
        "devices, so GPU flows run on hosts without GPUs. [default: ini localai_gpu_mode, "
        "else emulate]",
    )
    parser.addini("localai_gpu_mode", "GPU mode of the test daemon.", default="emulate")
    group.addoption(
        "--localai-scope", dest="localai_scope", choices=SCOPES,
        help="pytest scope of the test daemon: session shares one daemon across the run, "
        "function starts one per test. [default: ini localai_scope, else session]",
    )
    parser.addini("localai_scope", "pytest scope of the test daemon.", default="session")
    group.addoption(
        "--localai-keep", dest="localai_keep", action="store_true",
        help="Leave the test daemon, its notebooks and its data directory running after the "
        "run, for debugging. The first run after that daemon stops removes them.",
    )
    group.addoption(
        "--localai-temp-root", dest="localai_temp_root", metavar="DIR", type=Path,
        help="Folder for the test daemons' data directories; a run removes the leftovers of "
        "interrupted runs under it. [default: <tmp>/localai-testing-<uid>]",
    )


def _choice(config: pytest.Config, name: str, allowed: tuple[str, ...]) -> str:
    """Return option ``name`` from the command line, else from the ini file; check it."""
    value = config.getoption(name) or config.getini(name)
    if value not in allowed:
        raise pytest.UsageError(
            f"Invalid {name} {value!r} in the ini file. Set it to one of {', '.join(allowed)}."
        )
    return str(value)


def _read_options(config: pytest.Config) -> DaemonOptions:
    gpu_mode = _choice(config, "localai_gpu_mode", tuple(mode.value for mode in GpuMode))
    _choice(config, "localai_scope", SCOPES)
    root: Path | None = config.getoption("localai_temp_root")
    options = DaemonOptions(
        image_prefix=config.getoption("localai_image_prefix")
        or config.getini("localai_image_prefix"),
        gpu_mode=GpuMode(gpu_mode),
        keep=bool(config.getoption("localai_keep")),
    )
    if root is not None:
        options = dataclasses.replace(options, root=root.expanduser().resolve())
    return options


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_options_key] = _read_options(config)
    config.stash[_kept_key] = []


def _daemon_scope(fixture_name: str, config: pytest.Config) -> Scope:
    return cast(Scope, _choice(config, "localai_scope", SCOPES))


# Finishing daemons on every way out ---------------------------------------------------


def finish_all() -> None:
    """Finish every daemon this process started; log the errors, as no caller can act on them."""
    for daemon in live_daemons():
        try:
            daemon.finish()
        except LocalaiError as e:
            log.error("cleanup of test daemon pid %d failed: %s", daemon.pid, e.message)


def _on_termination(signum: int, frame: FrameType | None) -> None:
    """Finish the daemons, then let the signal do what it did before the plugin."""
    finish_all()
    previous = _previous_handlers.pop(signum, signal.SIG_DFL)
    signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    else:
        os.kill(os.getpid(), signum)


def _install_exit_handlers() -> None:
    """Register the atexit handler once; install the signal handlers unless a signal is ignored."""
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(finish_all)
        _atexit_registered = True

    # Python accepts signal handlers in the main thread only.
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in TERMINATION_SIGNALS:
        current = signal.getsignal(signum)
        if current is _on_termination or current is signal.SIG_IGN:
            continue
        _previous_handlers[signum] = current
        signal.signal(signum, _on_termination)


def _restore_signal_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, previous in list(_previous_handlers.items()):
        if signal.getsignal(signum) is _on_termination:
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        del _previous_handlers[signum]


def pytest_unconfigure(config: pytest.Config) -> None:
    # Fixture teardown has run by now, unless a second Ctrl-C cut it short.
    finish_all()
    _restore_signal_handlers()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    kept = config.stash.get(_kept_key, [])
    if not kept:
        return
    terminalreporter.section("localai test daemons kept (--localai-keep)")
    for daemon in kept:
        terminalreporter.write_line(
            f"{daemon.base_url} pid {daemon.pid}, data dir {daemon.data_dir}\n"
            f"  log:  {daemon.settings.log_file}\n"
            f"  CLI:  LOCALAI_DATA_DIR={daemon.data_dir} LOCALAI_PORT={daemon.port} "
            "localai notebook list\n"
            f"  stop: localai daemon stop --data-dir {daemon.data_dir}  (the next test run "
            "then removes its notebooks and data dir)"
        )


# Fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope=_daemon_scope)
def localai_daemon(request: pytest.FixtureRequest) -> Iterator[LocalaiDaemon]:
    """Start a localai daemon on a free port with a fresh data directory; finish it at the end.

    While it runs, names under ``localhost`` resolve to 127.0.0.1 in the test
    process, so a notebook's ``status.url`` opens as it would on the cloud.
    """
    options = request.config.stash[_options_key]
    _install_exit_handlers()
    try:
        daemon = start_daemon(options)
    except LocalaiError as e:
        pytest.fail(e.message, pytrace=False)

    try:
        with resolve_localhost_names():
            yield daemon
    finally:
        daemon.finish()
        if options.keep:
            request.config.stash[_kept_key].append(daemon)


@pytest.fixture(scope=_daemon_scope)
def localai_base_url(localai_daemon: LocalaiDaemon) -> str:
    """URL of the test daemon's API, such as ``http://127.0.0.1:41234``."""
    return localai_daemon.base_url


@pytest.fixture(scope=_daemon_scope)
def localai_user_token(localai_daemon: LocalaiDaemon) -> str:
    """API token of the test project's user, who may do everything."""
    return localai_daemon.user_token


@pytest.fixture(scope=_daemon_scope)
def localai_operator_token(localai_daemon: LocalaiDaemon) -> str:
    """Create an app token with the operator role on every notebook, through the API."""
    return localai_daemon.create_token("operator", name="localai-testing-operator")
