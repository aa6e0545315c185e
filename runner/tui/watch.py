"""Watch mode: notice when the learner saves their probe.

We watch the lesson's folder, not the file: editors save by writing a new
file and renaming it over the old one, which a file watch would miss."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, watch


def watch_saves(
    folder: Path,
    filename: str,
    stop: threading.Event,
    on_save: Callable[[], None],
    *,
    debounce_ms: int = 300,
) -> None:
    """Block until `stop` is set, calling `on_save()` once per batch of
    changes that added or modified `folder/filename`."""

    def is_probe(change: Change, path: str) -> bool:
        return change != Change.deleted and Path(path).name == filename

    for _changes in watch(
        folder,
        watch_filter=is_probe,
        debounce=debounce_ms,
        stop_event=stop,
        recursive=False,
        rust_timeout=500,
        raise_interrupt=False,
    ):
        on_save()
