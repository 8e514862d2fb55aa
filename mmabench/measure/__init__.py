"""The one measurement layer: every benchmark times through `measure` (one quantity) or
`interleaved` (a comparison), and every row carries what `Measurement.fields()` gives:
median/min/max, noise, sample count, mode, and the SM clock, power and throttle reasons during
the timed region."""

from mmabench.measure.conditions import Conditions, Sampler  # noqa: F401
from mmabench.measure.interleave import Interleaved, Ratio, interleaved, orders  # noqa: F401
from mmabench.measure.chain import ChainLaunch, latency  # noqa: F401
from mmabench.measure.kernel_clock import KernelClock  # noqa: F401
from mmabench.measure.loop import (DEFAULT, FULL, MODES, QUICK, EventTimer, Measurement, Policy, measure, sustained)  # noqa: F401
from mmabench.measure.twins import POWER_S, compare_twins  # noqa: F401
