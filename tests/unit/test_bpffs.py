"""Which bpffs entries count as a run's pins (runner/live/bpffs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.live import bpffs


def test_the_kernels_preloaded_iterators_are_not_pins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a bpffs mounted during the run gets maps.debug/progs.debug from bpf_preload
    mount = tmp_path / "bpf"
    (mount / "ebpfc-run").mkdir(parents=True)
    for name in ("maps.debug", "progs.debug"):
        (mount / name).write_text("")
    (mount / "ebpfc-run" / "map").write_text("")
    (mount / "ebpfc-run" / "maps.debug").write_text("")  # deeper: the probe's own
    monkeypatch.setattr(bpffs, "bpffs_mounts", lambda: [str(mount)])
    files, folders = bpffs.pins()
    assert sorted(files) == [str(mount / "ebpfc-run" / n) for n in ("map", "maps.debug")]
    assert folders == {str(mount / "ebpfc-run")}
