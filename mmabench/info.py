"""`python -m mmabench info`: the GPU, its clocks and datasheet row, and the toolchain found."""

from __future__ import annotations

from mmabench import record, hardware
from mmabench.compiler import toolchain
from mmabench.core.options import Modes
from mmabench.measure import nvml

OPTIONS = Modes()  # no options (mmabench.core.options)


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("info", help="GPU, clocks, datasheet row and toolchain found",
                              description="Print the GPU at hand (name, compute capability, SMs, "
                                          "clocks), its datasheet row, and where each CUDA tool "
                                          "was found. Works without a GPU.")
    p.set_defaults(func=run)


def _stated(value, unit: str = "") -> str:
    """A datasheet cell as printed: an empty one (the datasheet does not give it) says so."""
    if value is None or value != value:      # NaN: pandas' empty cell
        return "not stated"
    return f"{value:g} {unit}".strip() if isinstance(value, float) else f"{value} {unit}".strip()


def run(args=None) -> int:
    reason = hardware.unavailable_reason()
    if reason:
        print(f"GPU: none; {reason}")
    else:
        ctx = record.gpu_context()
        print(f"GPU: {ctx['gpu_name']}  cc {ctx['compute_capability']}  {ctx['sm_count']} SMs  "
              f"driver {ctx['driver_version']} (CUDA {ctx['driver_cuda_version']})  "
              f"runtime {ctx['cuda_runtime_version']}")
        row = hardware.datasheet_row(ctx["gpu_name"], ctx["sm_count"])
        if row:
            print(f"datasheet: {row['name']}: boost {_stated(row['boost_mhz'], 'MHz')}, dense fp16 "
                  f"{_stated(row['fp16_f16acc_dense_tflops'])} (f16 acc) / "
                  f"{_stated(row['fp16_f32acc_dense_tflops'])} (f32 acc) TFLOP/s  [{row['source']}]")
        else:
            print("datasheet: no row in data/gpus.csv for this GPU (peak columns stay empty)")
        state = nvml.snapshot()      # clocks, power and limits now (the run folders keep the same)
        if state:
            print(state, end="")
    for name, where in toolchain.toolchain_info().items():
        print(f"{name:10s} {where}")
    return 0
