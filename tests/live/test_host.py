"""runner.live.host on the real kernel: features are decided by loading programs.

This development kernel (6.18 -fc-) is built without kprobes but has
tracepoints, uprobes, perf events and ring buffers (docs: kernel.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.live import host
from runner.paths import CODE_ROOT

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        os.geteuid() != 0 and host.sudo_state() != "nopasswd",
        reason="needs root or passwordless sudo to load BPF programs",
    ),
]


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return host.detect(cache_dir=tmp_path_factory.mktemp("host-cache"))


def _kernel_has_kprobes() -> bool:
    config = host.read_config()
    if config is None:
        pytest.skip("no kernel config to compare with")
    return "CONFIG_KPROBES=y" in config


def test_kprobes_match_the_kernel_config(facts: dict) -> None:
    kprobes = facts["features"]["kprobes"]
    assert kprobes["ok"] is _kernel_has_kprobes()
    if not kprobes["ok"]:
        assert "CONFIG_KPROBES" in kprobes["reason"]
        assert "--vm" not in kprobes["reason"]  # the front end adds the VM advice once


@pytest.mark.parametrize(
    "feature", ["tracepoints", "raw_tracepoints", "uprobes", "perf_event", "ringbuf", "bpf"]
)
def test_features_this_kernel_has(facts: dict, feature: str) -> None:
    assert facts["features"][feature] == {"ok": True, "reason": ""}


def test_static_facts_are_true(facts: dict) -> None:
    assert facts["kernel_release"] == os.uname().release
    assert facts["btf"] is Path("/sys/kernel/btf/vmlinux").exists()
    assert facts["bcc_version"]
    assert facts["headers"] in ("exact", "fallback")
    assert Path(facts["headers_path"]).is_dir()


def test_results_are_cached_per_boot(tmp_path: Path) -> None:
    first = host.detect(cache_dir=tmp_path)
    cached = list(tmp_path.glob("host-*.json"))
    assert len(cached) == 1
    assert json.loads(cached[0].read_text()) == first["features"]
    # A cached answer is served even when no program may be loaded.
    again = host.detect(try_attach=False, cache_dir=tmp_path)
    assert again["features"] == first["features"]


@pytest.mark.parametrize(
    "entry",
    [["runner.live.feature_probe"], ["runner.live.host", "--probe-json"]],
    ids=["what-detect-runs", "host-probe-json"],
)
def test_probe_json_entry_point(entry: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *entry],
        capture_output=True,
        text=True,
        cwd=CODE_ROOT,
        check=True,
        timeout=120,
    )
    data = json.loads(done.stdout)
    assert set(data) == set(host.FEATURES)
    assert data["tracepoints"]["ok"] is True


def test_ensure_tracefs_leaves_mounted_filesystems_alone() -> None:
    if not {"tracefs", "debugfs"} <= host.mounted():
        pytest.skip("tracefs/debugfs not mounted; this test does not mount them")
    assert host.ensure_tracefs() is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to nobody")
@pytest.mark.usefixtures("checkout_open_to_others")
def test_unprivileged_user_gets_a_reason_not_a_traceback(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    code = (
        "import json, pathlib, runner.live.host as h; "
        f"print(json.dumps(h.detect(cache_dir=pathlib.Path({str(tmp_path)!r}))))"
    )
    done = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
         sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=CODE_ROOT,
        env={**os.environ, "HOME": str(tmp_path)},
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["root"] is False
    assert facts["sudo"] in ("missing", "password")
    for result in facts["features"].values():
        assert result["ok"] is False
        assert "root" in result["reason"]
