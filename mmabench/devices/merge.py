"""Merge the per-device run folders into one: every row gets its GPU's index and UUID.

Layout of a multi-GPU run:
    results/<time>_<command>_multi/
        device0/<time>_<bench>_<gpu>/...   each child's own run folder, kept whole
        device0/log.txt                    what the child printed
        <bench>.csv, <bench>.json          all devices' rows, device_index and device_uuid first
        devices.json                       which GPU ran, how it ended, where its folder is
        summary.txt                        the comparison across GPUs
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from mmabench.devices.inventory import Device
from mmabench.record import RunFolder


@dataclass
class Outcome:
    device: Device
    folder: Path                  # this device's results root (deviceN/)
    status: str = "not run"       # ok | failed | interrupted | not run
    detail: str = ""              # e.g. "exit status 1", "killed by SIGKILL"
    run_folders: list[str] = field(default_factory=list)


def device_folder(multi: Path, device: Device) -> Path:
    return multi / f"device{device.index}"


def read_rows(outcome: Outcome) -> dict[str, "object"]:
    """{bench name: DataFrame} of one device's run folders, tagged with the device."""
    import pandas as pd

    frames: dict[str, list] = {}
    for csv in sorted(outcome.folder.glob("*/*.csv")):
        try:
            frame = pd.read_csv(csv, on_bad_lines="skip")
        except (pd.errors.EmptyDataError, pd.errors.ParserError):
            continue   # e.g. a child killed while it rewrote the file
        if frame.empty:
            continue
        frame.insert(0, "device_uuid", outcome.device.uuid)
        frame.insert(0, "device_index", outcome.device.index)
        frames.setdefault(csv.stem, []).append(frame)
        rel = str(csv.parent.relative_to(outcome.folder.parent))
        if rel not in outcome.run_folders:
            outcome.run_folders.append(rel)
    return {name: pd.concat(parts, ignore_index=True) for name, parts in frames.items()}


def write_merged(multi: RunFolder, outcomes: list[Outcome]) -> dict[str, "object"]:
    """Write the merged CSV/JSON per bench and devices.json; returns {bench: DataFrame}."""
    import pandas as pd

    per_bench: dict[str, list] = {}
    for outcome in outcomes:
        for name, frame in read_rows(outcome).items():
            per_bench.setdefault(name, []).append(frame)
    merged = {name: pd.concat(parts, ignore_index=True) for name, parts in per_bench.items()}
    for name, frame in merged.items():
        multi.save_frame(name, frame)
    multi.save_json("devices.json", [{**asdict(o.device), "status": o.status, "detail": o.detail,
                                      "folder": o.folder.name, "run_folders": o.run_folders}
                                     for o in outcomes], indent=2)
    return merged
