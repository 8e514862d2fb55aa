"""On a GPU: the offline report for the GPU's own architecture against the loaded kernels.

The cubin that ptxas built offline is loaded as is (cuModuleLoadData through CuPy) and the
driver is asked for the function's NUM_REGS, LOCAL_SIZE_BYTES and SHARED_SIZE_BYTES and for its
occupancy (cuOccupancyMaxActiveBlocksPerMultiprocessor) at the kernel's launch shape. All four
must equal the parsed ptxas log and the occupancy model. The driver's own JIT of the same PTX
(its ptxas, without the kernel's ptxas options) is reported beside, as information only.
"""

from __future__ import annotations

from mmabench import hardware
from mmabench.compiler import driver_jit, loader
from mmabench.reporting import tables
from mmabench.core.errors import UserError
from mmabench.compiler import report as creport


def driver_attributes(cubin: bytes, entry: str, threads: int, dynamic_smem: int) -> dict:
    """What the driver says about `entry` in `cubin` (needs a GPU)."""
    k = loader.load_cubin(cubin, entry, threads, dynamic_smem)
    return {"num_regs": k.registers, "local_size_bytes": k.local_bytes,
            "shared_size_bytes": k.static_smem_bytes, "blocks_per_sm": k.max_blocks_per_sm}


def compare(row: dict, attrs: dict) -> dict:
    """One cross-check row: offline figures, driver figures, and whether they agree."""
    pairs = {
        "regs": (row.get("regs"), attrs.get("num_regs")),
        "local_bytes": (row.get("stack_frame_bytes"), attrs.get("local_size_bytes")),
        "static_smem": (row.get("static_smem_bytes"), attrs.get("shared_size_bytes")),
        "blocks_per_sm": (row.get("blocks_per_sm"), attrs.get("blocks_per_sm")),
    }
    out = {"kernel": row["kernel"], "arch": row.get("target") or row["arch"]}
    bad = []
    for key, (offline, driver) in pairs.items():
        out[f"{key}_offline"], out[f"{key}_driver"] = offline, driver
        if offline != driver:
            bad.append(f"{key} {offline} offline vs {driver} driver")
    out["status"] = "mismatch" if bad else "ok"
    out["message"] = "; ".join(bad)
    return out


def crosscheck(kernels=None, families=None, jobs: int | None = None,
               all_kernels: bool = True) -> list[dict]:
    """Compile every selected kernel for the GPU's architecture and check it against the driver."""
    hardware.require_gpu()
    arch = hardware.device_arch()
    if arch not in hardware.arch_limits():
        raise UserError(f"the GPU is {arch}, which data/archs.csv does not list; "
                        f"known: {', '.join(hardware.known_archs())}")
    builds = creport.compile_builds(kernels, [arch], jobs, families, all_kernels)
    out = []
    for b in builds:
        r = b.row
        if r["status"] == "n/a":
            continue
        if r["status"] != "ok":
            out.append({"kernel": r["kernel"], "arch": arch, "status": "mismatch",
                        "message": f"offline build failed: {r['message']}"})
            continue
        attrs = driver_attributes(creport.cubin_of(b), b.spec.entry, b.spec.threads_per_block,
                                  b.spec.dynamic_smem_bytes)
        row = compare(r, attrs)
        try:  # the driver's own JIT of the same PTX, for information
            jit = loader.function_attributes(driver_jit.jit(b.ptx, b.spec.entry).function)
            row["jit_regs"], row["jit_local_bytes"] = jit["registers"], jit["local_bytes"]
        except Exception as exc:  # information only: never fails the check
            row["jit_regs"] = row["jit_local_bytes"] = None
            row["jit_note"] = str(exc).splitlines()[0][:120]
        out.append(row)
    return out


def crosscheck_table(checks: list[dict], markdown: bool = False) -> str:
    """A line per kernel x arch, each pair 'offline / driver' (the note under the table says so);
    a mismatch's message in a note, so that the table fits 120 columns."""
    headers = ["kernel", "arch", "regs", "local B", "smem B", "blocks/SM", "JIT regs/local B", "check"]
    body, notes = [], []
    for c in checks:
        if "regs_offline" not in c:
            body.append([c["kernel"], c["arch"]] + ["-"] * 5 + ["FAIL"])
            notes.append(f"{c['kernel']} {c['arch']}: {c['message']}")
            continue
        body.append([
            c["kernel"], c["arch"], f"{c['regs_offline']}/{c['regs_driver']}",
            f"{c['local_bytes_offline']}/{c['local_bytes_driver']}",
            f"{c['static_smem_offline']}/{c['static_smem_driver']}",
            f"{c['blocks_per_sm_offline']}/{c['blocks_per_sm_driver']}",
            f"{c.get('jit_regs', '-')}/{c.get('jit_local_bytes', '-')}",
            "ok" if c["status"] == "ok" else "MISMATCH",
        ])
        if c["status"] != "ok":
            notes.append(f"{c['kernel']} {c['arch']}: MISMATCH: {c['message']}")
    legend = ("regs, local B, smem B: ptxas (offline) / driver; blocks/SM: occupancy model / driver; "
              "JIT: the driver's own JIT of the same PTX, for information")
    return "\n".join([tables.table(headers, body, markdown)] + [tables.note(n) for n in [legend, *notes]])
