"""A family's forms as registry entries: one `KernelSpec` per form and kernel kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mmabench.compiler.registry import KernelSpec


@dataclass(frozen=True)
class Kind:
    """One kernel every form gets: 'lat' (a dependent chain) or 'thr' (a throughput shape)."""
    label: str                 # kernel name suffix: 'lat', 'thr'
    config: object             # what render(form, config) takes besides the form
    threads_per_block: int     # launch shape, for occupancy


def kernel_specs(forms, *, family: str, prefix: str, entry: str,
                 render: Callable[[object, object], str], kinds: tuple[Kind, ...],
                 arch_suffix: str = "", tags: Callable[[object, Kind], dict] = lambda f, k: {}):
    """`{prefix}.{form.name}.{kind}` for each form and kind, twinned with the other accumulator's
    kernel of the same kind; `tags(form, kind)` adds family facts (`report_default`, ...)."""
    specs = []
    for form in forms:
        twin = form.twin
        for kind in kinds:
            specs.append(KernelSpec(
                name=f"{prefix}.{form.name}.{kind.label}",
                family=family,
                entry=entry,
                ptx=lambda arch, form=form, config=kind.config: render(form, config),
                threads_per_block=kind.threads_per_block,
                min_sm=form.min_sm,
                arch_suffix_needed=arch_suffix,
                acc=form.acc,
                twin=f"{prefix}.{twin.name}.{kind.label}" if twin else None,
                tags={"form": form.name, **tags(form, kind)},
            ))
    return specs
