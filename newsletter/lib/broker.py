"""The embedded Celery broker: kombu's filesystem transport in a folder, no server needed."""

from __future__ import annotations

from pathlib import Path

EMBEDDED_BROKER_URL = "filesystem://localhost//"


def embedded_broker_options(folder: Path) -> dict:
    """Transport options for a filesystem broker in ``folder``, creating its subfolders."""
    queue, processed, control = folder / "queue", folder / "processed", folder / "control"
    for path in (queue, processed, control):
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(processed),
        "store_processed": False,
        "control_folder": str(control),
    }
