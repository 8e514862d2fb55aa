"""`--devices all|0,2,...` on every GPU sub-command: one process per GPU, merged results.

The CLI adds the option to each sub-command with a mode declared `devices=True` (`add_option`;
mmabench.core.options refuses it in the other modes), and hands a parsed command that has it to
`run` before dispatch.
Each GPU is measured alone, one after another: concurrent runs would share the host's CPUs,
PCIe and the node's power and cooling, so a GPU's figure would depend on its neighbours.
"""

from __future__ import annotations

import sys

from mmabench.core import options, seed
from mmabench.record import RunFolder, kept_message
from mmabench.devices.inventory import Device, list_gpus, resolve
from mmabench.devices.launch import Launcher, base_command, child_argv, child_env, describe_status, run_child
from mmabench.devices.merge import Outcome, device_folder, write_merged
from mmabench.devices.summary import summarize

__all__ = ["Device", "add_option", "run", "list_gpus", "resolve"]

HELP = ("measure on several GPUs of this host: 'all' or comma-separated nvidia-smi indices "
        "(0,2,...). One child process per GPU, pinned with CUDA_VISIBLE_DEVICES and run one after "
        "another so that each GPU is measured alone (side by side they would share the host's "
        "CPUs, PCIe and the node's power and cooling); rows get device_index and device_uuid and "
        "are merged into <results>/<time>_<command>_multi/ with a comparison of the GPUs")


def add_option(parser) -> None:
    parser.add_argument("--devices", metavar="all|0,2,...", help=HELP)


def run(args, argv: list[str], *, devices: list[Device] | None = None,
        launcher: Launcher = run_child, command: list[str] | None = None,
        markdown: bool | None = None) -> int:
    """Run `argv` (a sub-command line with --devices) once per chosen GPU and merge the rows.
    Returns 0 if every GPU's run succeeded, 1 if one failed, 130 if interrupted."""
    chosen = resolve(args.devices, list_gpus() if devices is None else devices)
    multi = RunFolder(args.command, "multi", getattr(args, "results", None))
    outcomes = [Outcome(d, device_folder(multi.path, d)) for d in chosen]
    has_results_option = options.reads(args, "--results")  # in the mode that runs
    if options.reads(args, "--seed") and args.seed is None:   # one seed, said once: every GPU
        argv = list(argv) + ["--seed", str(seed.chosen(None))]  # draws the same inputs
    base = base_command() if command is None else list(command)
    interrupted = False
    for o in outcomes:
        o.folder.mkdir(parents=True, exist_ok=True)
        cmd = base + child_argv(argv, o.folder if has_results_option else None)
        print(f"\n=== GPU {o.device.index} ({o.device.name or '?'}, {o.device.uuid or 'no UUID'}): "
              f"{' '.join(cmd[len(base):])}", flush=True)
        try:
            status = launcher(cmd, child_env(o.device, o.folder), o.folder / "log.txt")
        except KeyboardInterrupt:
            o.status, o.detail, interrupted = "interrupted", "Ctrl-C", True
            break
        except OSError as exc:
            o.status, o.detail = "failed", f"could not start: {exc}"
        else:
            o.status, o.detail = ("ok", "") if status == 0 else ("failed", describe_status(status))
        write_merged(multi, outcomes)   # after each GPU, so an interrupt keeps what was measured
    frames = write_merged(multi, outcomes)

    use_md = getattr(args, "markdown", False) if markdown is None else markdown
    text = "\n\n".join(t for t in (summarize(name, frame, outcomes, use_md)
                                   for name, frame in frames.items()) if t)
    if text:
        multi.save_text("summary.txt", text + "\n")
        print(f"\n=== across {len(outcomes)} GPUs\n{text}")
    for o in outcomes:
        if o.status in ("failed", "interrupted"):
            n = sum(int((frame["device_index"] == o.device.index).sum()) for frame in frames.values())
            print(f"mmabench: GPU {o.device.index} ({o.device.uuid or '?'}) {o.status}: {o.detail}; "
                  f"{n} row{'s' * (n != 1)} of its run kept (log: {o.folder / 'log.txt'})",
                  file=sys.stderr)
    skipped = [o.device.index for o in outcomes if o.status == "not run"]
    if skipped:
        print(f"mmabench: not run: GPU {','.join(map(str, skipped))}", file=sys.stderr)
    print(f"\nresults: {multi.path}")
    if interrupted:
        print(f"mmabench: interrupted; {kept_message([multi])}", file=sys.stderr)
        return 130
    return 0 if all(o.status == "ok" for o in outcomes) else 1
