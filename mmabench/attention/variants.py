"""The attention kernel's variants and their tile choices, as data.

A variant = head dim x accumulator of S = Q.K^T x accumulator of O = P.V x normalization, plus
the tiles it runs with (rows per block, keys per tile, warps, Q in registers or not). Each
variant is tuned on its own (`python -m mmabench attention --tune`); the winners live in tuned()
below, so the benchmark, the tests and the register report all read the same table.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from mmabench import hardware
from mmabench.attention import poly_exp
from mmabench.compiler import toolchain
from mmabench.core import project_files
from mmabench.core.errors import UserError

DIMS = (64, 128, 256)
# Accumulator of S: f32, f16, or f16 with the softmax scale * log2(e) folded into Q first
# ("f16q": |S| shrinks about sqrt(d)-fold, so S overflows f16 much later).
S_MODES = ("f32", "f16", "f16q")
# Accumulator of O: f32, f16, or f16 partials over one K/V tile folded into an f32 total
# after each tile ("f16f32", SageAttention's fp16+fp32 scheme).
O_MODES = ("f32", "f16", "f16f32")
# delayed: divide by the row sum once at the end (FlashAttention-2);
# inloop: O kept normalized every tile, so |O| <= max|V| and an f16 O cannot overflow.
NORMS = ("delayed", "inloop")

O_MODE_CODE = {"f32": 0, "f16": 1, "f16f32": 2}

# The kernel's tile constraints, stated once: C++ expressions over the names of the kernel's
# Traits (D head dim, WARPS, MT, BR rows per block, BC keys per tile, THREADS, CH 16-byte chunks
# per row). build.render() hands them to kernels/attention.cu as the ATTN_TILE_ASSERTS macro,
# which expands to these static_asserts inside Traits; Tiles.valid_for evaluates the same
# expressions before anything is built.
TILE_CONSTRAINTS = (
    ("D % 64 == 0", "the swizzle needs >= 8 16-byte chunks per row (d a multiple of 64)"),
    ("BC % 16 == 0 && BC >= 16", "keys per tile must be a multiple of 16"),
    ("THREADS % CH == 0", "a row's 16-byte chunks must split evenly over the threads"),
    ("(BR * CH) % THREADS == 0", "the Q tile must split evenly over the threads"),
    ("(BC * CH) % THREADS == 0", "the K/V tile must split evenly over the threads"),
    ("(16 * MT * CH) % 32 == 0", "output rows must split evenly over a warp"),
)


def _as_python(expr: str) -> str:
    """A constraint's C++ integer expression as Python (all operands are positive ints)."""
    return re.sub(r"(?<!/)/(?!/)", "//", expr.replace("&&", " and ").replace("||", " or "))


def tile_asserts_cpp() -> str:
    """TILE_CONSTRAINTS as one line of static_asserts (the ATTN_TILE_ASSERTS macro)."""
    return " ".join(f"static_assert({expr}, {json.dumps(why)});" for expr, why in TILE_CONSTRAINTS)


@dataclass(frozen=True)
class Tiles:
    """How a variant is cut: warps per block, m16 row tiles per warp, keys per K/V tile."""
    warps: int
    mt: int                      # 16-row tiles per warp: rows per block = 16 * mt * warps
    bc: int                      # keys per K/V tile
    q_regs: bool = False         # Q fragments loaded once into registers (else ldmatrix per tile)
    min_blocks: int = 1          # __launch_bounds__ minimum blocks per SM (register cap)

    @property
    def br(self) -> int:
        return 16 * self.mt * self.warps

    @property
    def threads(self) -> int:
        return 32 * self.warps

    @property
    def tag(self) -> str:
        return f"w{self.warps}m{self.mt}c{self.bc}" + ("r" if self.q_regs else "") + \
            (f"b{self.min_blocks}" if self.min_blocks > 1 else "")

    @property
    def label(self) -> str:
        return (f"{self.br}x{self.bc} {self.warps}w" + (" Qreg" if self.q_regs else "") +
                (f" minB{self.min_blocks}" if self.min_blocks > 1 else ""))

    def smem_bytes(self, dim: int) -> int:
        """Dynamic shared memory of a block: Q tile + 2 K + 2 V buffers, fp16 (the kernel
        static_asserts that its layout, Traits::SMEM_BYTES, is this: ATTN_SMEM_BYTES)."""
        return 2 * dim * (self.br + 4 * self.bc)

    def broken_constraint(self, dim: int) -> str | None:
        """The first of the kernel's TILE_CONSTRAINTS these tiles break for `dim`, or None."""
        names = {"D": dim, "WARPS": self.warps, "MT": self.mt, "BR": self.br, "BC": self.bc,
                 "THREADS": self.threads, "CH": dim // 8}
        for expr, why in TILE_CONSTRAINTS:
            if not eval(_as_python(expr), {"__builtins__": {}}, names):   # our own table only
                return why
        return None

    def valid_for(self, dim: int, arch: str | None = None) -> str | None:
        """Why these tiles cannot build for `dim` (None if they can): the kernel's
        TILE_CONSTRAINTS, and the shared memory one block may have on `arch` (data/archs.csv;
        without `arch`, the largest of any known architecture)."""
        why = self.broken_constraint(dim)
        if why:
            return why
        limit = hardware.smem_per_block(arch) if arch else hardware.max_smem_per_block()
        if self.smem_bytes(dim) > limit:
            return (f"needs {self.smem_bytes(dim)} B of shared memory per block "
                    f"(> {limit // 1024} KiB, the most {arch or 'any known architecture'} allows)")
        return None

    def fitted(self, dim: int, smem_limit: int) -> "Tiles | None":
        """These tiles if they fit `smem_limit` bytes of shared memory per block; else the largest
        cut of the same kind that does (fewer keys per tile, fewer rows per warp, 4 warps),
        keeping >= 32 keys per tile where it can; None if nothing fits. Tiles are tuned on one
        GPU (tuned.json); one with less shared memory per block (sm_80: 163 KiB, sm_86/89/120:
        99 KiB) runs the cut."""
        if self.smem_bytes(dim) <= smem_limit:
            return self
        keys = [c for c in (self.bc, self.bc // 2, self.bc // 4, self.bc // 8) if c >= 16]
        cands = [Tiles(w, m, c, self.q_regs, self.min_blocks)
                 for w in dict.fromkeys((self.warps, 4)) for m in range(self.mt, 0, -1) for c in keys]
        fits = [t for t in cands if t.valid_for(dim) is None and t.smem_bytes(dim) <= smem_limit]
        if not fits:
            return None
        # 16-key tiles only as a last resort: they halve the work per K/V load
        return max(fits, key=lambda t: (t.bc >= 32, t.smem_bytes(dim), t.bc, t.warps == self.warps))


# The Hopper kernel (kernels/hopper_attention.cu): sm_90a only, S accumulated in f32 or in f16
# with Q pre-scaled (plain f16 S would overflow sqrt(d) times sooner for nothing).
HOPPER_ARCH = "sm_90a"
# f16p: S as f16q, and the softmax (max, exp2, sums, P) in packed f16x2 on the accumulator itself
HOPPER_S_MODES = ("f32", "f16q", "f16p")
ALL_S_MODES = S_MODES + ("f16p",)


@dataclass(frozen=True)
class HopperTiles:
    """How the Hopper kernel is cut: consumer warpgroups (64 query rows each, plus one producer
    warpgroup), keys per K/V tile, stages of the K/V ring in shared memory."""
    consumers: int
    bc: int
    stages: int
    overlap: bool = False        # the softmax kept ahead of the P.V wait in the SASS (HATTN_OVERLAP)
    poly: int = 0                # eighths of the exp2 on the FMA pipe (a polynomial), not MUFU
    pingpong: bool = False       # the consumer warpgroups take turns issuing wgmmas (HATTN_PINGPONG)
    lazy: bool = False           # O rescaled only when a row maximum jumps (HATTN_LAZY_RESCALE)
    kernel = "hopper"
    q_regs = False               # the FA2 kernel's columns, for rows of either kernel
    min_blocks = 1

    @property
    def br(self) -> int:
        return 64 * self.consumers

    @property
    def threads(self) -> int:
        return 128 * (1 + self.consumers)

    @property
    def warps(self) -> int:
        return self.threads // 32

    @property
    def tag(self) -> str:
        return (f"c{self.consumers}k{self.bc}s{self.stages}" + ("o" if self.overlap else "")
                + (f"p{self.poly}" if self.poly else "") + ("g" if self.pingpong else "")
                + ("r" if self.lazy else ""))

    @property
    def label(self) -> str:
        # short words: the label sits in 120-column tables beside the variant's name
        return (f"{self.br}x{self.bc} {self.consumers}+1wg {self.stages}st" + (" ovl" if self.overlap else "")
                + (f" poly{self.poly}/8" if self.poly else "") + (" pp" if self.pingpong else "")
                + (" lazy" if self.lazy else ""))

    def smem_bytes(self, dim: int) -> int:
        """1024 B of alignment slack, the Q tile, the K/V ring, the mbarriers (the kernel
        static_asserts that its layout, Traits::SMEM_BYTES, is this: HATTN_SMEM_BYTES)."""
        return 1024 + 2 * dim * (self.br + 2 * self.stages * self.bc) + 8 * (1 + 3 * self.stages)

    def broken_constraint(self, dim: int) -> str | None:
        if dim % 64:
            return "d must be a multiple of 64 (128-byte TMA boxes)"
        if self.consumers not in (2, 3):
            return "2 or 3 consumer warpgroups"
        if self.bc % 16 or not 16 <= self.bc <= 256:
            return "keys per tile: a multiple of 16, 16..256 (wgmma N and P.V's k16 steps)"
        if self.stages < 2:
            return "the K/V ring needs >= 2 stages"
        if not 0 <= self.poly <= 8:
            return "poly: 0..8 eighths of the exponentials"
        return None

    def valid_for(self, dim: int, arch: str | None = None) -> str | None:
        why = self.broken_constraint(dim)
        if why:
            return why
        if arch and hardware.arch_number(arch) != 90:
            return f"the Hopper kernel runs on sm_90a only, not {arch}"
        limit = hardware.smem_per_block("sm_90")
        if self.smem_bytes(dim) > limit:
            return (f"needs {self.smem_bytes(dim)} B of shared memory per block "
                    f"(> {limit // 1024} KiB, the most sm_90 allows)")
        return None

    def fitted(self, dim: int, smem_limit: int) -> "HopperTiles | None":
        """These tiles if they fit, else one stage fewer while >= 2 stages remain."""
        for stages in range(self.stages, 1, -1):
            t = replace(self, stages=stages)
            if t.smem_bytes(dim) <= smem_limit:
                return t
        return None


# FlashAttention-3's fp16 forward choices where they fit this kernel (rows x keys): d=64
# 192 rows (3 consumers); d=128 128 x 128; d=256 128 x 80, as many stages as shared memory takes.
HOPPER_TILES = {64: HopperTiles(3, 128, 4), 128: HopperTiles(2, 128, 3), 256: HopperTiles(2, 80, 2)}


@dataclass(frozen=True)
class Variant:
    dim: int
    acc_s: str                  # S_MODES
    acc_o: str                  # O_MODES
    norm: str                   # NORMS
    tiles: "Tiles | HopperTiles"

    @property
    def kernel(self) -> str:
        """'fa2' (kernels/attention.cu, mma.sync, sm_80+) or 'hopper' (kernels/hopper_attention.cu)."""
        return getattr(self.tiles, "kernel", "fa2")

    @property
    def base_name(self) -> str:
        prefix = "hopper" if self.kernel == "hopper" else "attn"
        return f"{prefix}_d{self.dim}_s{self.acc_s}_o{self.acc_o}_{self.norm}"

    @property
    def name(self) -> str:
        """Kernel name and PTX entry; the tile tag is part of it, so every build is distinct."""
        return f"{self.base_name}_{self.tiles.tag}"

    entry = name

    @property
    def acc_label(self) -> str:
        return f"S={self.acc_s},O={self.acc_o}"

    @property
    def q_prescale(self) -> bool:
        return self.acc_s in ("f16q", "f16p")

    @property
    def is_reference_acc(self) -> bool:
        return self.acc_s == "f32" and self.acc_o == "f32"

    def with_tiles(self, tiles: Tiles) -> "Variant":
        return replace(self, tiles=tiles)

    def defines(self) -> dict[str, str | int]:
        t = self.tiles
        if self.kernel == "hopper":
            return {
                "HATTN_ENTRY": self.entry, "HATTN_D": self.dim, "HATTN_BC": t.bc,
                "HATTN_CONSUMERS": t.consumers, "HATTN_STAGES": t.stages,
                "HATTN_S_F16": int(self.acc_s != "f32"), "HATTN_O_MODE": O_MODE_CODE[self.acc_o],
                "HATTN_NORM_INLOOP": int(self.norm == "inloop"), "HATTN_OVERLAP": int(t.overlap),
                "HATTN_SOFTMAX_F16X2": int(self.acc_s == "f16p"), "HATTN_POLY_EXP": t.poly,
                "HATTN_PINGPONG": int(t.pingpong), "HATTN_LAZY_RESCALE": int(t.lazy),
                "HATTN_LAZY_TAU": lazy_tau(self.acc_o),
                **poly_exp.defines(),
                "HATTN_SMEM_BYTES": t.smem_bytes(self.dim),
            }
        return {
            "ATTN_ENTRY": self.entry, "ATTN_D": self.dim, "ATTN_WARPS": t.warps, "ATTN_MT": t.mt,
            "ATTN_BC": t.bc, "ATTN_S_F16": int(self.acc_s != "f32"),
            "ATTN_Q_PRESCALE": int(self.q_prescale), "ATTN_O_MODE": O_MODE_CODE[self.acc_o],
            "ATTN_NORM_INLOOP": int(self.norm == "inloop"), "ATTN_Q_IN_REGS": int(t.q_regs),
            "ATTN_MIN_BLOCKS": t.min_blocks, "ATTN_SMEM_BYTES": t.smem_bytes(self.dim),
        }


# FlashAttention-2's own sm80 choices (rows x keys, 4 warps): the starting point and the tiles
# of any variant not tuned yet.
FA2_TILES = {64: Tiles(4, 2, 128), 128: Tiles(4, 2, 64), 256: Tiles(4, 1, 64)}

# Tile choice per (dim, acc_s, acc_o, norm), measured. The project ships the tiles it tuned
# (data/attention_tuned.json, with the GPU and the scores they were chosen on); `python -m
# mmabench attention --tune` writes the user's own into the compile cache folder, and those win.
# In-loop normalization takes the delayed variant's tiles unless tuned itself, and S=f16 those
# of S=f16q (same registers; the pre-scale is one pass over Q).
SHIPPED_TUNED_FILE = project_files.data("attention_tuned.json")


def user_tuned_file() -> Path:
    """Where `attention --tune` writes: the user's cache folder, never the installed package."""
    return toolchain.cache_dir() / "attention_tuned.json"


def _load_section(path: Path, section: str, tiles_type) -> dict:
    """{(dim, acc_s, acc_o, norm): tiles} of one kernel's section of a tuned-tiles file."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    return {(e["dim"], e["acc_s"], e["acc_o"], e["norm"]): tiles_type(**e["tiles"])
            for e in data.get(section, [])}


def _first(table: dict, keys, default):
    """The tiles of the first key `table` has, else `default`."""
    return next((table[k] for k in keys if k in table), default)


def load_tuned(path: Path) -> dict[tuple[int, str, str, str], Tiles]:
    return _load_section(path, "entries", Tiles)


@functools.lru_cache(maxsize=1)
def tuned() -> dict[tuple[int, str, str, str], Tiles]:
    """The shipped tiles, overridden by the user's own (read on first use, not at import)."""
    return {**load_tuned(SHIPPED_TUNED_FILE), **load_tuned(user_tuned_file())}


def tiles_for(dim: int, acc_s: str, acc_o: str, norm: str) -> Tiles:
    """The variant's tuned tiles; else its delayed / S=f16q sibling's; else FlashAttention-2's."""
    return _first(tuned(), ((dim, acc_s, acc_o, norm), (dim, acc_s, acc_o, "delayed"),
                            (dim, "f16q" if acc_s == "f16" else acc_s, acc_o, "delayed")), FA2_TILES[dim])


def load_hopper_tuned(path: Path) -> dict[tuple[int, str, str, str], HopperTiles]:
    return _load_section(path, "hopper_entries", HopperTiles)


@functools.lru_cache(maxsize=1)
def hopper_tuned() -> dict[tuple[int, str, str, str], HopperTiles]:
    """The Hopper kernel's tuned tiles (the same files as tuned(), their hopper_entries)."""
    return {**load_hopper_tuned(SHIPPED_TUNED_FILE), **load_hopper_tuned(user_tuned_file())}


def lazy_rescale_fits(acc_o: str, norm: str) -> bool:
    """Conditional rescaling needs O rescaled by the row maxima alone: delayed normalization, and
    an O that is not re-added from f16 partials every tile."""
    return norm == "delayed" and acc_o in ("f32", "f16")


def lazy_tau(acc_o: str) -> int:
    """How far (log2 units) lazy rescaling lets a row maximum rise unfollowed, so p reaches
    2^tau (the kernel's HATTN_LAZY_TAU): an f16 O has less headroom to give."""
    return 2 if acc_o == "f16" else 8


def hopper_option_conflict(t: HopperTiles, acc_s: str, acc_o: str, norm: str) -> str | None:
    """Why the Hopper tile options `t` cannot go with this scheme (None if they can)."""
    if t.overlap and acc_s == "f16p":
        # the packed softmax works on the S accumulator in place: with the overlap branch ptxas
        # 13 serializes every wgmma of the loop (advisory C7511/C7515, checked at d = 64-256)
        return ("overlap with S f16p: ptxas serializes the wgmma pipeline (the packed softmax "
                "writes the S accumulator in place); accepted: overlap with S f32 or f16q")
    if t.lazy and not lazy_rescale_fits(acc_o, norm):
        return ("lazy rescaling skips O's rescale between tiles (accepted: delayed "
                f"normalization with O f32 or f16), not O={acc_o} {norm}")
    if t.poly and t.lazy and acc_s == "f16p" and lazy_tau(acc_o) > poly_exp.HIGHEST_F16:
        return (f"the packed (f16p) exp2 polynomial takes exponents up to {poly_exp.HIGHEST_F16:g}; "
                f"lazy rescaling with O {acc_o} lets them reach {lazy_tau(acc_o)} (accepted: "
                "poly with O f16, or without lazy)")
    return None


# The Hopper tile options a user can switch on by name (attention --hopper-options), '+' joined;
# polyN: N eighths of the exponentials by polynomial
HOPPER_OPTIONS = ("none", "overlap", "pingpong", "lazy", "poly1..poly8")
NO_OPTIONS = {"overlap": False, "poly": 0, "pingpong": False, "lazy": False}


def hopper_option_set(text: str) -> dict:
    """'pingpong+lazy' -> the HopperTiles options it switches on (the others off; 'none': all
    off); UserError naming what is accepted."""
    out = dict(NO_OPTIONS)
    names = [part.strip() for part in text.split("+")]
    for name in names:
        if name in ("overlap", "pingpong", "lazy"):
            out[name] = True
        elif re.fullmatch(r"poly[1-8]", name):
            out["poly"] = int(name[4:])
        elif name != "none":
            raise UserError(f"unknown Hopper tile option {name!r} in {text!r}; accepted: "
                            f"{', '.join(HOPPER_OPTIONS)}, '+' to combine")
    polys = [n for n in names if n.startswith("poly")]
    if len(set(names)) < len(names) or len(polys) > 1 or ("none" in names and len(names) > 1):
        raise UserError(f"Hopper tile options {text!r} contradict or repeat each other; give each "
                        "once, one polyN at most, and 'none' alone")
    return out


def with_hopper_options(v: "Variant", options: dict) -> "Variant | None":
    """The Hopper variant `v` at its cut (consumers, keys per tile, stages) with exactly
    `options` switched on; None where its scheme excludes them (hopper_option_conflict)."""
    t = replace(v.tiles, **options)
    if hopper_option_conflict(t, v.acc_s, v.acc_o, v.norm) or t.valid_for(v.dim):
        return None
    return v.with_tiles(t)


def hopper_tiles_for(dim: int, acc_s: str, acc_o: str, norm: str) -> HopperTiles:
    """The variant's tuned tiles; else its delayed sibling's; else FlashAttention-3's."""
    # S=f16p: the same registers as f16q, so its tiles unless tuned itself
    t = _first(hopper_tuned(), ((dim, acc_s, acc_o, norm), (dim, acc_s, acc_o, "delayed"),
                                (dim, "f16q" if acc_s == "f16p" else acc_s, acc_o, "delayed")),
               HOPPER_TILES[dim])
    return without_conflicts(t, acc_s, acc_o, norm)


def without_conflicts(t: HopperTiles, acc_s: str, acc_o: str, norm: str) -> HopperTiles:
    """`t` without the options this scheme excludes (a sibling's or the f32/f32 variant's tiles
    may carry lazy, which in-loop normalization or the packed polynomial exclude, or overlap,
    which S f16p excludes): poly and pingpong always fit."""
    if hopper_option_conflict(t, acc_s, acc_o, norm) is None:
        return t
    overlap_alone = replace(t, **{**NO_OPTIONS, "overlap": True})     # the rule stays in one place
    if t.overlap and hopper_option_conflict(overlap_alone, acc_s, acc_o, norm):
        t = replace(t, overlap=False)
    return replace(t, lazy=False) if hopper_option_conflict(t, acc_s, acc_o, norm) else t


def hopper_variant(dim: int, acc_s: str, acc_o: str, norm: str = "delayed",
                   tiles: HopperTiles | None = None) -> Variant:
    """One variant of the Hopper kernel (its tuned tiles unless `tiles` is given)."""
    if acc_s not in HOPPER_S_MODES:
        raise UserError(f"the Hopper kernel takes S accumulator {' or '.join(HOPPER_S_MODES)} "
                        f"(f16q: Q pre-scaled), not {acc_s!r}")
    if dim not in DIMS:
        raise UserError(f"unsupported head dim {dim!r}; accepted: {', '.join(map(str, DIMS))}")
    # an unknown O mode or normalization finds no tuned tiles: variant() then says what is accepted
    return variant(dim, acc_s, acc_o, norm, tiles or hopper_tiles_for(dim, acc_s, acc_o, norm))


# Schemes the Hopper kernel does not ship: no tile choice runs them without spilling.
HOPPER_UNSHIPPED = {(256, "f16f32"): "the f32 O (128 registers) and its f16 partial (64) leave "
                                     "no room for S and P at any keys per tile: it spills"}


def all_hopper_variants(dims=DIMS, s_modes=HOPPER_S_MODES, o_modes=O_MODES, norms=NORMS) -> list[Variant]:
    """Every shipped Hopper variant (HOPPER_UNSHIPPED left out), each with its own tiles."""
    return [hopper_variant(d, s, o, nm) for d in dims for s in s_modes if s in HOPPER_S_MODES
            for o in o_modes if (d, o) not in HOPPER_UNSHIPPED for nm in norms]


def variant(dim: int, acc_s: str, acc_o: str, norm: str = "delayed",
            tiles: "Tiles | HopperTiles | None" = None) -> Variant:
    """One variant (with its tuned tiles unless `tiles` is given); UserError on a bad choice."""
    s_modes = ALL_S_MODES if isinstance(tiles, HopperTiles) else S_MODES
    for value, accepted, what in ((dim, DIMS, "head dim"), (acc_s, s_modes, "S accumulator"),
                                  (acc_o, O_MODES, "O accumulator"), (norm, NORMS, "normalization")):
        if value not in accepted:
            raise UserError(f"unsupported {what} {value!r}; accepted: "
                            f"{', '.join(map(str, accepted))}")
    t = tiles or tiles_for(dim, acc_s, acc_o, norm)
    why = hopper_option_conflict(t, acc_s, acc_o, norm) if isinstance(t, HopperTiles) else None
    if why:
        raise UserError(why)
    why = t.valid_for(dim)
    if why:
        raise UserError(f"tiles {t.label} cannot build for d={dim}: {why}")
    return Variant(dim, acc_s, acc_o, norm, t)


def fit(v: Variant, smem_limit: int) -> Variant:
    """`v` with tiles that fit `smem_limit` bytes of shared memory per block (Tiles.fitted)."""
    tiles = v.tiles.fitted(v.dim, smem_limit)
    if tiles is None:
        raise UserError(f"{v.name}: no tiles fit {smem_limit} B of shared memory per block")
    return v if tiles == v.tiles else v.with_tiles(tiles)


def all_variants(dims=DIMS, s_modes=S_MODES, o_modes=O_MODES, norms=NORMS) -> list[Variant]:
    """Every combination, each with its own tiles."""
    return [variant(d, s, o, nm) for d in dims for s in s_modes for o in o_modes for nm in norms]


def twin_of(v: Variant) -> Variant:
    """The f32/f32 kernel with the same dim, normalization and tiles (for an accumulator diff);
    of the same kernel, since the tiles say which."""
    return Variant(v.dim, "f32", "f32", v.norm, v.tiles)
