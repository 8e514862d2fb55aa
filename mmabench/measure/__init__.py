"""The one measurement layer: every benchmark times through `measure` (one quantity),
`interleaved` (a comparison, in the sustained or the burst regime; `compare_twins` for two
accumulators) or `latency` (one dependent chain, in cycles), and every row carries what
`Measurement.fields()` gives: median/min/max, noise, sample count, mode, regime, and the SM
clock, power and throttle reasons during its own timed region (NVML through nvidia-ml-py,
`measure.nvml`)."""

from mmabench.measure.chain import ChainLaunch, latency  # noqa: F401
from mmabench.measure.conditions import Conditions  # noqa: F401
from mmabench.measure.interleave import Interleaved, Ratio, interleaved, orders  # noqa: F401
from mmabench.measure.loop import (QUICK, REGIME_HELP, REGIMES, Measurement, Policy,  # noqa: F401
                                   in_regime, measure, regime_option)
from mmabench.measure.twins import compare_twins  # noqa: F401
