"""The GPUs of this host (index, UUID, name) and the `--devices` value that picks some of them.

Indices are NVML's (those nvidia-smi shows). A child process is pinned by the UUID, which means
the same GPU whatever CUDA_DEVICE_ORDER says. If this process already runs under
CUDA_VISIBLE_DEVICES, only the GPUs it names are offered.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mmabench.core.errors import NoGPU, UserError
from mmabench.measure import nvml


@dataclass(frozen=True)
class Device:
    index: int
    uuid: str
    name: str = ""
    pci_bus_id: str = ""


def _from_nvml() -> list[Device] | None:
    listed = nvml.gpus()
    return None if listed is None else [Device(**gpu) for gpu in listed]


def _from_cupy() -> list[Device]:
    """Without NVML: CUDA's own order; UUIDs where CuPy gives them."""
    try:
        import cupy

        rt = cupy.cuda.runtime
        out = []
        for i in range(rt.getDeviceCount()):
            props = rt.getDeviceProperties(i)
            raw = props.get("uuid", b"")
            uuid = ""
            if isinstance(raw, (bytes, bytearray)) and len(raw) == 16:
                h = raw.hex()
                uuid = f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
            bus = f"{props.get('pciDomainID', 0):08X}:{props.get('pciBusID', 0):02X}:{props.get('pciDeviceID', 0):02X}.0"
            out.append(Device(i, uuid, name, bus))
        return out
    except Exception:
        return []


def visible(devices: list[Device], cuda_visible: str | None) -> list[Device]:
    """The GPUs CUDA_VISIBLE_DEVICES lets this process use (indices or UUID prefixes; like CUDA,
    the list ends at the first entry that names no GPU)."""
    if cuda_visible is None:
        return devices
    out: list[Device] = []
    for token in (t.strip() for t in cuda_visible.split(",")):
        match = [d for d in devices if token == str(d.index)
                 or (token.startswith("GPU-") and d.uuid.startswith(token))]
        if not token or not match:
            break
        out += [d for d in match if d not in out]
    return out


def list_gpus() -> list[Device]:
    devices = _from_nvml()
    if devices is None:
        devices = _from_cupy()
    return visible(devices, os.environ.get("CUDA_VISIBLE_DEVICES"))


ACCEPTED = "'all' or comma-separated GPU indices as nvidia-smi numbers them (e.g. 0,2), each once"


def parse_spec(text: str) -> list[int] | None:
    """'all' -> None; '0,2' -> [0, 2]; anything else a one-line UserError."""
    text = (text or "").strip()
    if text.lower() == "all":
        return None
    items = [t.strip() for t in text.split(",")]
    if not text or any(not t for t in items):
        raise UserError(f"bad --devices {text!r}: empty entry; accepted: {ACCEPTED}")
    bad = [t for t in items if not (t.isascii() and t.isdigit())]
    if bad:
        raise UserError(f"bad --devices {text!r}: {bad[0]!r} is not a GPU index; accepted: {ACCEPTED}")
    indices = [int(t) for t in items]
    dup = sorted({i for i in indices if indices.count(i) > 1})
    if dup:
        raise UserError(f"bad --devices {text!r}: GPU {dup[0]} given twice; accepted: {ACCEPTED}")
    return indices


def resolve(text: str, devices: list[Device]) -> list[Device]:
    """The devices `text` names, in the order given (checked against this host's GPUs)."""
    wanted = parse_spec(text)
    if not devices:
        raise NoGPU("--devices: no GPU found (neither NVML nor CUDA lists one"
                    + (", or CUDA_VISIBLE_DEVICES hides them)" if "CUDA_VISIBLE_DEVICES" in os.environ else ")"))
    if wanted is None:
        return list(devices)
    by_index = {d.index: d for d in devices}
    missing = [i for i in wanted if i not in by_index]
    if missing:
        have = ",".join(str(d.index) for d in devices)
        raise UserError(f"bad --devices {text!r}: no GPU {missing[0]} on this host (GPUs: {have}); "
                        f"accepted: {ACCEPTED}")
    return [by_index[i] for i in wanted]
