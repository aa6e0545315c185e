"""Remap keys from `keymap.yaml` in the learner's workspace.

Every binding of the app has an id (`run`, `hint`, ...); the file maps ids
to keys, e.g. `run: ctrl+r` or `next-lesson: "j,n"`."""

from __future__ import annotations

from pathlib import Path

import yaml

KEYMAP_FILE = "keymap.yaml"


def load_keymap(path: Path, known_ids: set[str]) -> tuple[dict[str, str], str | None]:
    """(keymap, warning). A missing file is an empty keymap; a bad one is
    ignored with a one-sentence warning saying how to fix it."""
    if not path.is_file():
        return {}, None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0]
        return {}, f"{path} could not be read ({reason}); fix or delete it to use custom keys."
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        return {}, f"{path} must map binding ids to keys (e.g. `run: ctrl+r`); it was ignored."
    unknown = sorted(set(data) - known_ids)
    keymap = {k: v for k, v in data.items() if k in known_ids}
    if unknown:
        return keymap, (
            f"{path} names unknown binding ids {', '.join(unknown)}; "
            f"known ids are {', '.join(sorted(known_ids))}."
        )
    return keymap, None
