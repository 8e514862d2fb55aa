"""Offline compiler report: registers, spills, shared memory, occupancy and SASS mix of every
registered kernel on every target architecture, from ptxas/nvdisasm alone (no GPU).

    from mmabench.compiler import compile_report, diff_acc
    rows = compile_report(archs=["sm_80", "sm_90"])
"""

from mmabench.compiler.occupancy import Occupancy, theoretical
from mmabench.compiler.report import Build, compile_builds, compile_report, diff_acc, tool_messages
from mmabench.compiler.resources import ResourceLogError, Resources, parse_ptxas_log

__all__ = ["Build", "Occupancy", "ResourceLogError", "Resources", "compile_builds",
           "compile_report", "diff_acc", "parse_ptxas_log", "theoretical", "tool_messages"]
