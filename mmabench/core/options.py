"""Which options each mode of a sub-command reads: declared as data, checked here once.

Each sub-command module declares its modes beside its parser, e.g. (mma):

    OPTIONS = Modes(common=("--shape", "--acc", "--type", "--results", "--markdown"),
                    modes=(Mode("the measurements", devices=True,
                                reads=("--quick", "--full", "--cold", ..., "--seed")),
                           Mode("--offline", reads=("--arch",))))

A mode named by a flag runs when that switch is given; the one mode named in words runs when no
mode switch is given (a command with one mode declares no modes). `common` lists the options
every mode reads. `devices=True`: the mode measures on a GPU, so the CLI offers `--devices`
(mmabench.devices) and that mode reads it.

`bind` checks a declaration against its parser when the CLI is built (every option declared;
an option only some modes read defaults to None, or False for a switch, so that "given" means
"not at its default") and keeps it in the parser's defaults; `parse` (called by the CLI for every
command line) refuses, in one line, an option given to a mode that does not read it, two mode
switches at once, and an empty value.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from mmabench.core.errors import UserError

KEY = "declared_options"   # where a bound declaration sits in the parsed namespace
DEVICES = "--devices"


@dataclass(frozen=True)
class Mode:
    name: str                       # "--offline": the switch that selects it; words: the default mode
    reads: tuple[str, ...] = ()     # the options this mode reads besides the common ones
    devices: bool = False           # measures on a GPU: offered --devices, one process per GPU

    @property
    def switch(self) -> str | None:
        return self.name if self.name.startswith("-") else None

    @property
    def options(self) -> tuple[str, ...]:
        return self.reads + ((DEVICES,) if self.devices else ())


@dataclass(frozen=True)
class Modes:
    common: tuple[str, ...] = ()    # the options every mode reads
    modes: tuple[Mode, ...] = ()    # none: the command has one mode

    @property
    def devices(self) -> bool:
        return any(m.devices for m in self.modes)


@dataclass(frozen=True)
class _Option:
    flag: str                           # as messages name it
    dest: str
    default: object
    readers: tuple[str, ...] | None     # the modes that read it; None: every mode
    takes: str = "a value"              # what to give it (its metavar)
    outer: bool = False                 # an option of the parser above (python -m mmabench --full)
    hint: str = ""                      # added to the message that refuses it

    def given(self, args) -> bool:
        return getattr(args, self.dest, self.default) != self.default


@dataclass(frozen=True)
class Declared:
    """A declaration bound to its parser: all that `check` needs from a parsed namespace."""
    command: str
    options: tuple[_Option, ...]
    switches: dict[str, str]  # dest of a mode switch -> the mode's name
    default_mode: str

    def mode(self, args) -> str:
        chosen = [name for dest, name in self.switches.items() if getattr(args, dest, False)]
        if len(chosen) > 1:
            raise UserError(f"{chosen[0]} and {chosen[1]} are different modes; give one of "
                            f"{', '.join(self.switches.values())}")
        return chosen[0] if chosen else self.default_mode

    def check(self, args) -> None:
        mode = self.mode(args)
        for o in self.options:
            if o.readers is not None and mode not in o.readers and o.given(args):
                where = self.command if o.outer else mode
                raise UserError(f"{o.flag} applies only to {_listed(o.readers)}, not to {where}"
                                + o.hint)
        for o in self.options:
            value = getattr(args, o.dest, None)
            if any(isinstance(v, str) and not v.strip()
                   for v in (value if isinstance(value, list) else [value])):
                raise UserError(f"empty {o.flag}; give {o.takes}")

    def reads(self, args, flag: str) -> bool:
        mode = self.mode(args)
        return any(flag in o.flag.split("/") and (o.readers is None or mode in o.readers)
                   for o in self.options)


def _actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The parser's arguments, less --help/--version and sub-command choosers."""
    return [a for a in parser._actions  # argparse lists them nowhere public
            if a.default is not argparse.SUPPRESS and a.nargs != argparse.PARSER]


def _listed(names) -> str:
    return " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"


def _store_true(action: argparse.Action) -> bool:
    return action.nargs == 0 and action.const is True and action.default is False


def _name(action: argparse.Action) -> str:
    return "/".join(action.option_strings) or f"{action.dest} argument"


def _option(action: argparse.Action, readers) -> _Option:
    return _Option(_name(action), action.dest, action.default, readers,
                   action.metavar if isinstance(action.metavar, str) else "a value")


def bind(declared: Modes, parser: argparse.ArgumentParser, command: str,
         outer: Declared | None = None) -> Declared:
    """Check `declared` against `parser`, keep it in the parser's defaults (where `check` finds
    it) and name the modes in the command's --help. `outer`: the options of the parser above,
    which this command does not read. A mistake in a declaration is a ValueError when the CLI
    is built, so a test of any command line finds it."""
    modes = declared.modes or (Mode(command),)
    defaults = [m.name for m in modes if not m.switch]
    if len(defaults) != 1:
        raise ValueError(f"{command}: exactly one mode runs without a switch, not {defaults}")
    by_flag = {flag: a for a in _actions(parser) for flag in a.option_strings}
    reads = {m.name: set(m.options) for m in modes}
    named = set(declared.common).union(*reads.values(), (m.switch for m in modes if m.switch))
    unknown = sorted(named - set(by_flag))
    if unknown:
        raise ValueError(f"{command}: {', '.join(unknown)} declared but not among its options")
    options, switches = [], {}
    for action in _actions(parser):
        flags = set(action.option_strings)
        if not flags:               # a positional argument: every mode reads it
            options.append(_option(action, None))
            continue
        switch = next((m.name for m in modes if m.switch in flags), None)
        if switch:
            if not _store_true(action):
                raise ValueError(f"{command}: mode switch {switch} must be a store_true option")
            switches[action.dest] = switch
            continue
        common = flags & set(declared.common)
        readers = tuple(m.name for m in modes if flags & reads[m.name])
        if not common and not readers:
            raise ValueError(f"{command}: {_name(action)} is in no mode's reads and not common")
        if common and readers:
            raise ValueError(f"{command}: {_name(action)} is both common and read by {readers}")
        if not common and not (action.default is None or _store_true(action)):
            raise ValueError(f"{command}: {_name(action)} is read by some modes only, so its "
                             f"default must be None (False for a switch), not {action.default!r}")
        options.append(_option(action, None if common else readers))
    if outer is not None:
        shared = {o.dest for o in outer.options} & {o.dest for o in options}
        if shared:
            raise ValueError(f"{command}: {', '.join(sorted(shared))} also an option above it")
        options += [_Option(o.flag, o.dest, o.default, (outer.default_mode,), o.takes, outer=True,
                            hint=f"; {command} has its own {o.flag}: give it after {command}"
                            if o.flag in by_flag else "")
                    for o in outer.options]
    bound = Declared(command, tuple(options), switches, defaults[0])
    parser.set_defaults(**{KEY: bound})
    if len(modes) > 1 and parser.epilog is None:
        parser.epilog = _help(declared.common, modes)
    return bound


def _help(common, modes) -> str:
    parts = [f"{m.name}{' (the default)' if not m.switch else ''}"
             + (f" reads {', '.join(m.options)}" if m.options else " reads no other option")
             for m in modes]
    every = f" Every mode reads {', '.join(common)}." if common else ""
    return (f"Modes: {'; '.join(parts)}.{every} An option given to a mode that does not read it "
            "is an error.")


def check(args: argparse.Namespace) -> None:
    """Refuse, in one line (UserError), an option the mode that runs does not read, two mode
    switches, or an empty value. A namespace from a parser nobody bound passes unchecked."""
    declared = getattr(args, KEY, None)
    if declared is not None:
        declared.check(args)


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """`parser.parse_args(argv)`, checked."""
    args = parser.parse_args(argv)
    _refuse_both_ways(parser, argv)
    check(args)
    return args


def _refuse_both_ways(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """`--triton --no-triton`: argparse lets the last one win; a command line that asks for
    both is a mistake, said in one line."""
    typed = {a.split("=", 1)[0] for a in argv if a.startswith("--")}
    parsers = [parser] + [sub for action in parser._actions
                          if isinstance(action, argparse._SubParsersAction)
                          for sub in action.choices.values()]
    for each in parsers:
        known = list(each._option_string_actions)
        # what each typed word names in this parser, abbreviations as argparse reads them
        given = {t if t in known else next(iter(m)) for t in typed
                 if t in known or len(m := [k for k in known if k.startswith(t)]) == 1}
        for action in each._actions:
            if isinstance(action, argparse.BooleanOptionalAction) and set(action.option_strings) <= given:
                raise UserError(f"{' and '.join(action.option_strings)} exclude each other")


def reads(args: argparse.Namespace, flag: str) -> bool:
    """Whether the mode the parsed command line selects reads `flag`."""
    declared = getattr(args, KEY, None)
    return declared is not None and declared.reads(args, flag)
