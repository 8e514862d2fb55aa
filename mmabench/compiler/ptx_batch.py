"""Several kernels' PTX assembled by one ptxas start, and the results split back per kernel.

Each ptxas start costs ~15 ms of CPU (most of it the OS mapping its 50 MB binary), as much as
compiling a small kernel, and `regs --all` makes ~800 builds. ptxas compiles each entry of a
module on its own, so the modules of several kernels (one target, one set of options) are
joined into one: every module-scope name gets a per-kernel suffix, and the cubin's code
sections and the `-v` log are split back by those names. On ptxas 13.5, for every kernel of
the registry, each kernel's code bytes and resource report are the ones its own compile gives
(tests/test_ptx_batch.py checks a sample on the installed ptxas).

Whatever could make them differ is refused, and that kernel is compiled on its own:
- a header (.version / .target / .address_size) unlike the batch's;
- a module-scope statement other than a function (.entry / .func) or a variable (.shared,
  .global, .const), a declaration of several names, or a .global / .const the code uses (its
  address would come from a constant bank that the joined module shares);
- after the compile: a kernel whose code is not one section (a device function kept apart),
  or a log line that names no kernel and is not part of one kernel's report (e.g. a warning
  about the module, which a compile of its own would give that kernel alone).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from mmabench.compiler.cubin import code_sections

SUFFIX = "__mmb"                 # name -> name__mmb<i> for the i-th kernel of a batch

_HEADER = re.compile(r"^[ \t]*\.(?:version|target|address_size)\b[^\n]*", re.M)
_FIRST_STATEMENT = re.compile(r"^[ \t]*\.(?:visible|extern|weak|entry|func|global|shared|const)\b",
                              re.M)
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_TOKEN = re.compile(r"[.%$\w]+")
_FUNCTION = re.compile(r"\.(?:entry|func)\s+(?:\([^)]*\)\s*)?([A-Za-z_$%][\w$]*)")
_VARIABLE_KIND = re.compile(r"^(?:\.(?:visible|extern|weak)\s+)*\.(shared|global|const)\b")
_MODULE_LINES = re.compile(r"^\s*ptxas info\s*:\s*\d+ bytes gmem(?:, \d+ bytes cmem\[\d+\])?\s*$")
# the unnamed lines of one kernel's report: they follow a line that names it
_REPORT_LINES = re.compile(r"^\s*(?:ptxas\s+(?:info\s*:\s*|\.\s*))?(?:\d+ bytes stack frame|"
                           r"Used \d+ registers|Compile time)")


@dataclass(frozen=True)
class Module:
    """One kernel's PTX as the batch needs it: its header and body (comments removed) and the
    names it declares at module scope."""
    header: str
    body: str
    names: tuple[str, ...]


def module_of(ptx: str) -> Module | None:
    """The parts of `ptx` a batch joins, or None if it cannot be joined (see the module note)."""
    first = _FIRST_STATEMENT.search(ptx)          # the header comes before it
    if first is None:
        return None
    top, body = ptx[:first.start()], _COMMENTS.sub("", ptx[first.start():])
    header = "\n".join(line.strip() for line in _HEADER.findall(top))
    if _COMMENTS.sub("", _HEADER.sub("", top)).strip() or SUFFIX in body:
        return None                     # something else before the first statement
    names, used_where_it_must_not_be = [], []
    for statement in _top_level_statements(body):
        function = _FUNCTION.search(statement.split("{", 1)[0])
        kind = _VARIABLE_KIND.match(statement)
        if function and not kind:
            names.append(function.group(1))
        elif kind:
            declarator = statement.split("=", 1)[0]
            if "," in declarator:
                return None                 # several names in one statement
            name = next((t for t in _TOKEN.findall(declarator)
                         if not t.startswith(".") and not t[0].isdigit()), None)
            if name is None:
                return None
            names.append(name)
            if kind.group(1) in ("global", "const"):
                used_where_it_must_not_be.append(name)
        else:
            return None
    maybe_used = [n for n in used_where_it_must_not_be if body.count(n) > 1]   # a quick sieve
    if maybe_used and any(n > 1 for n in Counter(_occurrences(body, maybe_used)).values()):
        return None                     # (the declaration is one)
    return Module(header, body, tuple(dict.fromkeys(names)))


def _top_level_statements(body: str) -> list[str]:
    """The module-scope statements: up to a ';' outside braces, or a function up to the '}' that
    closes its body (inside one, only braces are looked at)."""
    statements, start, depth, pos = [], 0, 0, 0
    while True:
        hit = (_OUTSIDE if depth == 0 else _INSIDE).search(body, pos)
        if hit is None:
            break
        i, ch, pos = hit.start(), hit.group(), hit.end()
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0 and _FUNCTION.search(body[start:i].split("{", 1)[0]):
                statements.append(body[start:i + 1].strip())
                start = pos
        else:                           # ';' at module scope
            statements.append(body[start:i + 1].strip())
            start = pos
    rest = body[start:].strip()
    return [s for s in statements if s] + ([rest] if rest else [])


_OUTSIDE, _INSIDE = re.compile(r"[{};]"), re.compile(r"[{}]")


def _name_pattern(names) -> re.Pattern:
    # the names first, so that the regex engine can skip ahead by their first characters; what
    # precedes a hit is checked by _whole
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(r"(" + alternatives + r")(?![\w$])")


def _whole(text: str, hit: re.Match) -> bool:
    """Whether `hit` is a whole name, not the end of a longer one (or a directive's)."""
    i = hit.start()
    return i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_$%.")


def _occurrences(text: str, names) -> list[str]:
    return [hit.group(1) for hit in _name_pattern(names).finditer(text) if _whole(text, hit)]


def _renamed(text: str, names, suffix: str) -> str:
    if not names:
        return text
    return _name_pattern(names).sub(
        lambda hit: hit.group(1) + suffix if _whole(text, hit) else hit.group(0), text)


def join(modules: list[Module]) -> str:
    """One PTX module holding all `modules` (same header), the names of the i-th suffixed with
    SUFFIX + i."""
    headers = {m.header for m in modules}
    if len(headers) != 1:
        raise ValueError("modules of one batch need the same .version/.target/.address_size")
    parts = [headers.pop()]
    for i, m in enumerate(modules):
        parts.append(_renamed(m.body, m.names, f"{SUFFIX}{i}"))
    return "\n".join(parts) + "\n"


def split(cubin: bytes, log: str, modules: list[Module]) -> list[tuple[bytes, str] | None]:
    """Per joined module: (its one code section, its lines of the `-v` log with its names
    restored), or None where that cannot be told apart (the kernel is then compiled alone).
    All None when a log line belongs to no kernel."""
    owners = {f"{name}{SUFFIX}{i}": i for i, m in enumerate(modules) for name in m.names}
    lines: list[list[str]] = [[] for _ in modules]
    owner = None
    for line in log.splitlines():
        if not line.strip() or _MODULE_LINES.match(line):
            continue                    # the joined module's totals: no kernel's own figure
        named = {owners[n] for n in _occurrences(line, owners)} if owners else set()
        if len(named) > 1:
            return [None] * len(modules)
        if named:
            owner = named.pop()
        elif owner is None or not _REPORT_LINES.match(line):
            return [None] * len(modules)
        lines[owner].append(re.sub(re.escape(SUFFIX) + str(owner) + r"(?![\w$])", "", line))
    sections = code_sections(cubin) or []
    out = []
    for i, m in enumerate(modules):
        mine = [code for name, code in sections if name.endswith(f"{SUFFIX}{i}".encode())]
        out.append((mine[0], "\n".join(lines[i]) + "\n") if len(mine) == 1 and lines[i] else None)
    return out
