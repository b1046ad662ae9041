"""pytest plugin (entry point `pytest11: vqa`): pick a device from the inventory, hand suites a
session-scoped device, reference titles, a policy and a `scenario` helper; write Allure run files.

Options are fixtures too (`device_name`, `vqa_policy`, ...), so a suite can override them.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import __version__
from harness.config import INVENTORY_ENV, DeviceSpec, Inventory, InventoryError, load_inventory

REPORTS = Path(os.environ.get("VQA_REPORTS_DIR") or Path.cwd() / "reports")


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("vqa", "device-capture playback validation")
    g.addoption("--device", action="store", default=None, help="device name from the lab inventory")
    g.addoption(
        "--inventory",
        action="store",
        default=None,
        help=f"lab inventory YAML (default: ${INVENTORY_ENV} or devices/lab.yaml)",
    )
    g.addoption(
        "--titles", action="store", default=None, help="comma-separated reference title ids to run (default: all)"
    )
    g.addoption(
        "--captures-dir", action="store", default=None, help="where capture bundles go (default: reports/captures)"
    )
    g.addoption(
        "--detectors",
        action="store",
        default=None,
        help="detectors the scenarios run: a,b (exactly these) or +a (the defaults plus a), e.g. +block_corruption",
    )


def _inventory(config: pytest.Config) -> Inventory:
    inv = getattr(config, "_vqa_inventory", None)
    if inv is None:
        try:
            inv = load_inventory(config.getoption("--inventory"))
        except InventoryError as e:
            raise pytest.UsageError(str(e)) from None
        config._vqa_inventory = inv  # type: ignore[attr-defined]
    return inv


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requires_features(*tags): skip unless the device has these feature tags")
    name = config.getoption("--device")
    if not name:
        return
    inv = _inventory(config)
    try:
        inv.get(name)
    except InventoryError as e:
        raise pytest.UsageError(str(e)) from None
    _title_ids(config)  # an unknown --titles value is a usage error before collection
    from harness.detectors import detector_set

    try:  # an unknown detector is a usage error before any device starts
        config._vqa_detectors = detector_set(config.getoption("--detectors"))  # type: ignore[attr-defined]
    except KeyError as e:
        raise pytest.UsageError(f"--detectors: {e.args[0]}") from None
    from devices.lock import DeviceBusy, DeviceLock

    try:  # a second run on the same device refuses here, naming who holds it
        config._vqa_lock = DeviceLock(name, "pytest " + " ".join(config.invocation_params.args)).acquire()  # type: ignore[attr-defined]
    except DeviceBusy as e:
        raise pytest.UsageError(str(e)) from None
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a CI job cancelled, a farm deadline) ends the run as Ctrl-C does: the recording
        # in progress is closed and kept, the device and its child processes are shut down.
        config._vqa_sigterm = signal.signal(signal.SIGTERM, _terminate)  # type: ignore[attr-defined]
    run = time.strftime("%Y%m%d-%H%M%S") + f"-{name}"
    config._vqa_run_id = run  # type: ignore[attr-defined]
    # Allure results by default, so the release command needs no extra flag.
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(REPORTS / "allure-results")
        config.option.clean_alluredir = True


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def pytest_unconfigure(config: pytest.Config) -> None:
    previous = getattr(config, "_vqa_sigterm", None)
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)
    lock = getattr(config, "_vqa_lock", None)
    if lock is not None:
        lock.release()


def pytest_report_header(config: pytest.Config) -> list[str]:
    name = config.getoption("--device")
    if not name:
        return []
    inv = _inventory(config)
    return [f"vqa: device {name} from {inv.path}, run {getattr(config, '_vqa_run_id', '')}"]


def _title_ids(config: pytest.Config) -> list[str]:
    from harness.reference.titles import load_recipes

    ids = [r.id for r in load_recipes() if r.suite]
    want = config.getoption("--titles")
    if not want:
        return ids
    sel = [x.strip() for x in want.split(",") if x.strip()]
    unknown = [x for x in sel if x not in ids]
    if unknown:
        raise pytest.UsageError(f"unknown title(s) {', '.join(unknown)}; known: {', '.join(ids)}")
    return sel


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "title_id" in metafunc.fixturenames:
        metafunc.parametrize("title_id", _title_ids(metafunc.config), scope="session")


@pytest.fixture(scope="session")
def vqa_inventory(pytestconfig: pytest.Config) -> Inventory:
    return _inventory(pytestconfig)


@pytest.fixture(scope="session")
def device_name(pytestconfig: pytest.Config, vqa_inventory: Inventory) -> str:
    name = pytestconfig.getoption("--device")
    if not name:
        raise pytest.UsageError(
            f"no device selected: pass --device NAME; known devices: {', '.join(vqa_inventory.names)}"
        )
    return name


@pytest.fixture(scope="session")
def device_spec(vqa_inventory: Inventory, device_name: str) -> DeviceSpec:
    try:
        return vqa_inventory.get(device_name)
    except InventoryError as e:
        raise pytest.UsageError(str(e)) from None


@pytest.fixture(scope="session")
def device(device_spec: DeviceSpec) -> Iterator[Any]:
    """The device under test, opened once for the whole session."""
    from devices import open_device

    dev = open_device(device_spec)
    dev.open()
    try:
        dev.rig.warm_up()
    except Exception:
        dev.close()
        raise
    try:
        yield dev
    finally:
        dev.close()


@pytest.fixture(scope="session")
def reference_titles() -> dict[str, Any]:
    from harness.reference.titles import ensure_titles

    return {t.id: t for t in ensure_titles()}


@pytest.fixture
def title(reference_titles: dict[str, Any], title_id: str) -> Any:
    return reference_titles[title_id]


@pytest.fixture
def vqa_policy() -> Any:
    """Default verdict policy; override this fixture in a suite module to change thresholds."""
    from harness.suite.verdict import Policy

    return Policy()


@pytest.fixture(scope="session")
def captures_dir(pytestconfig: pytest.Config) -> Path:
    base = pytestconfig.getoption("--captures-dir")
    run = getattr(pytestconfig, "_vqa_run_id", time.strftime("%Y%m%d-%H%M%S"))
    return Path(base) if base else REPORTS / "captures" / run


@pytest.fixture
def scenario(request: pytest.FixtureRequest, device: Any, vqa_policy: Any, captures_dir: Path) -> Any:
    from harness.suite.scenario import Scenario, safe_name

    title = request.getfixturevalue("title") if "title_id" in request.fixturenames else None
    try:
        import allure

        allure.dynamic.label("device", device.name)
        allure.dynamic.parameter("device", device.name, excluded=True)
        allure.dynamic.label("device_kind", device.spec.kind)
        if title is not None:
            allure.dynamic.label("title", title.id)
        allure.dynamic.feature(request.node.module.__name__.split(".")[-1].removeprefix("test_"))
        allure.dynamic.story(request.node.originalname)
        attach = bool(request.config.option.allure_report_dir)
    except (ImportError, AttributeError):
        attach = False
    detectors = getattr(request.config, "_vqa_detectors", None)
    return Scenario(
        device, title, captures_dir / safe_name(request.node.nodeid), vqa_policy, attach=attach, detectors=detectors
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A device or capture error is one line naming what to fix, not a traceback through the harness."""
    outcome = yield
    excinfo = call.excinfo
    # matched by name, not imported: importing numpy-backed modules inside a hook breaks pytester
    if excinfo is not None and any(
        (c.__module__, c.__name__) in (("devices.base", "DeviceError"), ("harness.capture.rig", "CaptureError"))
        for c in type(excinfo.value).__mro__
    ):
        outcome.get_result().longrepr = f"{excinfo.typename}: {excinfo.value}"  # type: ignore[attr-defined]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    name = config.getoption("--device")
    if not name:
        return
    spec = _inventory(config).get(name)
    for item in items:
        m = item.get_closest_marker("requires_features")
        if m is not None:
            missing = [f for f in m.args if f not in spec.features]
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"{name} lacks feature tags: {', '.join(missing)}"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    name = config.getoption("--device")
    alluredir = getattr(config.option, "allure_report_dir", None)
    if not name or not alluredir:
        return
    from harness.report.allure import write_run_files

    spec = _inventory(config).get(name)
    env = {
        "device": spec.name,
        "device.kind": spec.kind,
        "device.control": spec.control,
        "rig.video": spec.rig.video,
        "rig.audio": spec.rig.audio or "-",
        "calibration.av_offset_ms": spec.calibration.av_offset_ms,
        "features": ",".join(spec.features),
        "harness": __version__,
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "os": platform.platform(),
    }
    run = getattr(config, "_vqa_run_id", "")
    executor = {
        "name": "vqa-harness",
        "type": "ci" if os.environ.get("CI") else "local",
        "buildName": run,
        "reportName": f"Playback validation: {name}",
        "url": "",
        "buildUrl": "",
    }
    write_run_files(Path(alluredir), env, executor)
