"""The forms whose arithmetic is studied: every mma.sync form of the catalogue, plus the bf16
m16n8k8 form (PTX ISA 7.0, sm_80) that the timing catalogue does not run, plus the FP8 m16n8k32
forms (e4m3/e5m2 A and B, f16 and f32 accumulators; sm_89+), plus one wgmma form per input type
and accumulator (sm_90a).

The FP8 and wgmma forms are not in the default run (`all_forms()`): they are chosen by name, by a
part of it that no default form has (`e4m3`, `m16n8k32`), or all of a kind with `--form fp8` /
`--form wgmma`."""

from __future__ import annotations

from dataclasses import dataclass

from mmabench.core.errors import UserError, items
from mmabench.mma.catalogue import FORMS as MMA_FORMS, FP8_FORMS, MmaForm
from mmabench.wgmma.catalogue import M, TYPE_ACC, WgmmaForm

BF16_K8 = MmaForm("m16n8k8", "bf16", "f32", "7.0", 80, 2, 1, 4, "HMMA.1688.F32.BF16")
FP8_ALIAS = "fp8"
WGMMA_ALIAS = "wgmma"


@dataclass(frozen=True)
class WgmmaArith:
    """A wgmma form as `arith` sees it: the fields of an MmaForm that arith reads."""
    wg: WgmmaForm
    family: str = "wgmma"
    min_sm: int = 90

    @property
    def ab_type(self) -> str:
        return self.wg.ab_type

    @property
    def b_type(self) -> str:
        return self.wg.ab_type

    @property
    def acc(self) -> str:
        return self.wg.acc

    @property
    def mnk(self) -> tuple[int, int, int]:
        return M, self.wg.n, self.wg.k

    @property
    def shape(self) -> str:
        return self.wg.shape

    @property
    def instruction(self) -> str:
        return self.wg.instruction

    @property
    def name(self) -> str:
        return f"wgmma.{self.wg.base_name}"


def wgmma_forms() -> list[WgmmaArith]:
    """Every (input type, accumulator) pair wgmma has, at N = 256 (the most dot products per
    launch; N only repeats the instruction's columns): f16 (f32/f16 accumulator), bf16 (f32),
    e4m3 and e5m2 (f32/f16; m64n256k32). A and B in shared memory."""
    order = {"f16": 0, "bf16": 1, "e4m3": 2, "e5m2": 3}
    pairs = sorted(TYPE_ACC, key=lambda p: (order[p[0]], p[1] != "f32"))
    return [WgmmaArith(WgmmaForm(256, ab, acc, "ss", "128b")) for ab, acc in pairs]


def family_of(form) -> str:
    """'mma' (mma.sync) or 'wgmma': which instruction family a form of `arith` belongs to."""
    return getattr(form, "family", "mma")


def all_forms() -> list[MmaForm]:
    """The default set: f16 and bf16 inputs."""
    forms = list(MMA_FORMS)
    if not any(f.name == BF16_K8.name for f in forms):
        forms.append(BF16_K8)
    return [f for f in forms if f.ab_type in ("f16", "bf16")]


def fp8_forms() -> list[MmaForm]:
    """FP8 mma.sync forms: e4m3/e5m2 A x e4m3/e5m2 B, f16 and f32 accumulators."""
    return list(FP8_FORMS)


def known_forms() -> list:
    return all_forms() + fp8_forms() + wgmma_forms()


def by_names(text: str | None) -> list[MmaForm]:
    if not text:
        return all_forms()
    forms = known_forms()
    names = items(text, "--form", "form names or parts of them, fp8, wgmma")
    chosen = []
    for name in names:
        if name == FP8_ALIAS:
            match = fp8_forms()
        elif name == WGMMA_ALIAS:
            match = wgmma_forms()
        else:  # a part of a name picks FP8 forms only where no default form has it
            match = ([f for f in forms if f.name == name]
                     or [f for f in all_forms() if name in f.name]
                     or [f for f in fp8_forms() if name in f.name]
                     or [f for f in known_forms() if name in f.name])
        if not match:
            raise UserError(f"unknown form {name!r}; accepted: {FP8_ALIAS}, {WGMMA_ALIAS}, "
                            f"{', '.join(f.name for f in forms)}")
        chosen += [f for f in match if f not in chosen]
    return chosen
