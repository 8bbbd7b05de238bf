"""Message templates of outreach campaigns: variables and spintax, parsed once and rendered per contact.

Pure Python (the standard library only), so the editor's checks, the launch preview and the sending
worker all share it.

Syntax a person writes in a campaign step:

- ``{{first_name}}``, ``{{ company.name }}``: a variable. Its name is the text between the braces with
  the outer whitespace trimmed; dotted names are plain keys of the values the caller passes (the caller
  flattens ``company.name``). ``{{`` always opens a variable, which ends at the first ``}}``; a newline or
  another ``{{`` before that leaves it unclosed.
- ``{{first_name|colleagues}}``: a variable with a fallback, everything after the first ``|`` with the
  outer whitespace trimmed (spaces, any letters, more ``|`` are kept). The fallback replaces a blank or
  absent value. ``{{middle_name|}}`` has an empty fallback: it renders nothing and is never missing.
- ``{Hello|Hi|Good day}``: spintax, one alternative picked per contact. Groups nest
  (``{Hi|Hello {there|friend}}``), alternatives may hold variables and may be empty (``{Hi|}``).
- Braces that do not make a choice are literal text: a group without a ``|`` of its own (``{note}``),
  a lone ``}``, a ``{`` that never closes. A ``|`` outside any group is literal too.

Rendering inserts values verbatim (a contact named ``{A|B}`` stays ``{A|B}``), picks alternatives with a
``random.Random`` seeded from a SHA-256 of the caller's seed, so the same seed always gives the same
text, and reports the variables that had nothing to show (``Rendered.missing``): the caller skips such a
contact. Whitespace is kept as written, except that the whole result is stripped and that where an empty
choice or an empty variable sits between two spaces one of them is dropped (``"a {|x} b"`` gives
``"a b"`` or ``"a x b"``, never ``"a  b"``).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

ProblemCode = Literal["unknown_variable", "unclosed_variable", "empty_variable", "unclosed_choice"]

# Deeper spintax is kept as written (raw text): it bounds the recursion of parsing and rendering, so no
# user text can exhaust the stack. Nobody nests choices this deep on purpose.
MAX_NESTING = 40

_MARK = re.compile(r"\{\{|[{}|]")


@dataclass(frozen=True, slots=True)
class Problem:
    """Something to flag in the editor; ``start``/``end`` are offsets into the text as written."""

    code: ProblemCode
    name: str  # the variable's name for "unknown_variable", else ""
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Variable:
    name: str  # "" for an empty placeholder (``{{ }}``), which renders its fallback or nothing
    fallback: str | None  # None: no ``|`` at all
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Choice:
    alternatives: tuple[tuple[Node, ...], ...]  # two or more
    start: int
    end: int


Node = str | Variable | Choice


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    nodes: tuple[Node, ...]
    problems: tuple[Problem, ...]  # what the text itself gets wrong; check() adds unknown names
    occurrences: tuple[Variable, ...]  # every placeholder, in order of position
    has_choices: bool

    @property
    def variables(self) -> list[str]:
        """Distinct variable names in order of first appearance (empty placeholders left out)."""
        return list(dict.fromkeys(v.name for v in self.occurrences if v.name))


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    missing: list[str]  # variables with nothing to show and no fallback, in order of first appearance


# Tokens of the first pass: plain text, a whole variable, or one of the single marks ``{ | }``.
_TEXT, _VARIABLE, _OPEN, _BAR, _CLOSE = range(5)
_KIND_OF_MARK = {"{": _OPEN, "|": _BAR, "}": _CLOSE}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: int
    start: int
    end: int
    variable: Variable | None = None


def parse(text: str) -> Template:
    """The template of ``text``; never raises: what is wrong is in ``Template.problems``."""
    problems: list[Problem] = []
    tokens = _tokenize(text, problems)
    groups = _match_groups(tokens, text, problems)
    nodes = _build(tokens, 0, len(tokens), text, groups)
    occurrences = tuple(t.variable for t in tokens if t.variable is not None and _outside_raw(t, groups))
    problems.sort(key=lambda p: (p.start, p.end))
    return Template(
        source=text,
        nodes=nodes,
        problems=tuple(problems),
        occurrences=occurrences,
        has_choices=_has_choices(nodes),
    )


def check(text: str, known: Callable[[str], bool] | Collection[str]) -> list[Problem]:
    """Problems to show while the text is typed: the template's own, plus every unknown variable."""
    is_known = known if callable(known) else known.__contains__
    template = parse(text)
    unknown = [
        Problem("unknown_variable", v.name, v.start, v.end)
        for v in template.occurrences
        if v.name and not is_known(v.name)
    ]
    return sorted([*template.problems, *unknown], key=lambda p: (p.start, p.end))


def render(
    text_or_template: str | Template, values: Mapping[str, str | None], *, seed: int | str | bytes
) -> Rendered:
    """One contact's text. Parse once with ``parse`` and pass the ``Template`` when rendering many."""
    template = parse(text_or_template) if isinstance(text_or_template, str) else text_or_template
    rng = random.Random(_seed_number(seed)) if template.has_choices else None
    out = _Output()
    missing: list[str] = []
    _render_nodes(template.nodes, values, rng, out, missing)
    return Rendered(text="".join(out.parts).strip(), missing=missing)


def choices_count(template: str | Template, *, cap: int = 10_000) -> int:
    """How many texts the spintax can give, at most ``cap``.

    It counts combinations of alternatives, so alternatives that read the same (``{a|a}``) count twice.
    """
    if isinstance(template, str):
        template = parse(template)
    return _count(template.nodes, cap)


# -- parsing --------------------------------------------------------------------------------------


def _tokenize(text: str, problems: list[Problem]) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while (mark := _MARK.search(text, position)) is not None:
        start = mark.start()
        if start > position:
            tokens.append(_Token(_TEXT, position, start))
        if mark.group() == "{{":
            token = _read_variable(text, start, problems)
        else:
            token = _Token(_KIND_OF_MARK[mark.group()], start, start + 1)
        tokens.append(token)
        position = token.end
    if position < len(text):
        tokens.append(_Token(_TEXT, position, len(text)))
    return tokens


def _read_variable(text: str, start: int, problems: list[Problem]) -> _Token:
    inner = start + 2
    close = text.find("}}", inner)
    # A newline or a second "{{" before the "}}" means this one was left open (someone is still typing
    # it): closing it there would swallow the text and the next variable.
    stop = min(_find_or_end(text, "\n", inner, close), _find_or_end(text, "{{", inner, close))
    if close == -1 or stop < close:
        problems.append(Problem("unclosed_variable", "", start, stop))
        return _Token(_TEXT, start, inner)  # the "{{" stays as text; what follows is parsed as usual
    end = close + 2
    name, bar, fallback = text[inner:close].partition("|")
    variable = Variable(name.strip(), fallback.strip() if bar else None, start, end)
    if not variable.name:
        problems.append(Problem("empty_variable", "", start, end))
    return _Token(_VARIABLE, start, end, variable)


def _find_or_end(text: str, needle: str, start: int, end: int) -> int:
    end = len(text) if end == -1 else end
    found = text.find(needle, start, end)
    return end if found == -1 else found


@dataclass(slots=True)
class _Groups:
    close_of: dict[int, int]  # index of a "{" token -> index of its "}" token
    bars_of: dict[int, list[int]]  # index of a "{" token -> its own "|" tokens
    raw: set[int]  # "{" tokens whose group is nested deeper than MAX_NESTING
    raw_spans: list[tuple[int, int]]  # outermost raw groups, as offsets


def _match_groups(tokens: list[_Token], text: str, problems: list[Problem]) -> _Groups:
    groups = _Groups({}, {}, set(), [])
    open_indexes: list[int] = []
    for index, token in enumerate(tokens):
        if token.kind == _OPEN:
            open_indexes.append(index)
            groups.bars_of[index] = []
        elif token.kind == _BAR and open_indexes:
            groups.bars_of[open_indexes[-1]].append(index)
        elif token.kind == _CLOSE and open_indexes:
            opening = open_indexes.pop()
            groups.close_of[opening] = index
            if len(open_indexes) >= MAX_NESTING:
                groups.raw.add(opening)
                if len(open_indexes) == MAX_NESTING:
                    groups.raw_spans.append((tokens[opening].start, token.end))
    for opening in open_indexes:  # never closed: literal text, a problem if it was meant as a choice
        if groups.bars_of[opening]:
            problems.append(Problem("unclosed_choice", "", tokens[opening].start, len(text)))
    return groups


def _outside_raw(token: _Token, groups: _Groups) -> bool:
    return not any(start <= token.start < end for start, end in groups.raw_spans)


def _build(tokens: list[_Token], low: int, high: int, text: str, groups: _Groups) -> tuple[Node, ...]:
    nodes: list[Node] = []
    index = low
    while index < high:
        token = tokens[index]
        close = groups.close_of.get(index) if token.kind == _OPEN else None
        if close is None:
            nodes.append(token.variable or text[token.start : token.end])
            index += 1
            continue
        bars = groups.bars_of[index]
        if index in groups.raw:
            nodes.append(text[token.start : tokens[close].end])
        elif bars:
            edges = [index, *bars, close]
            alternatives = tuple(_build(tokens, a + 1, b, text, groups) for a, b in pairwise(edges))
            nodes.append(Choice(alternatives, token.start, tokens[close].end))
        else:  # braces around text without a choice of their own are what the person wrote
            nodes.extend(("{", *_build(tokens, index + 1, close, text, groups), "}"))
        index = close + 1
    return _join_text(nodes)


def _join_text(nodes: list[Node]) -> tuple[Node, ...]:
    """Adjacent text as one string: fewer nodes to walk on every render."""
    joined: list[Node] = []
    for node in nodes:
        if isinstance(node, str) and joined and isinstance(joined[-1], str):
            joined[-1] += node
        elif node != "":
            joined.append(node)
    return tuple(joined)


def _has_choices(nodes: tuple[Node, ...]) -> bool:
    # Braces without a choice are flattened into their parent, so a choice sits at the top or in a choice.
    return any(isinstance(node, Choice) for node in nodes)


def _count(nodes: tuple[Node, ...], cap: int) -> int:
    total = 1
    for node in nodes:
        if isinstance(node, Choice):
            ways = min(cap, sum(_count(alternative, cap) for alternative in node.alternatives))
            total = min(cap, total * ways)
    return total


# -- rendering ------------------------------------------------------------------------------------


def _seed_number(seed: int | str | bytes) -> int:
    # hash() is salted per process; a digest gives every worker and every run the same picks.
    data = seed if isinstance(seed, bytes) else str(seed).encode()
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


class _Output:
    """The pieces of the text so far, dropping one of two spaces that meet around an empty piece."""

    __slots__ = ("after_empty", "parts")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.after_empty = False

    def add(self, piece: str) -> None:
        if self.after_empty and piece[0] == " " and self.parts and self.parts[-1][-1] == " ":
            piece = piece[1:]
            if not piece:
                return  # still right after the empty piece
        self.parts.append(piece)
        self.after_empty = False

    def add_empty(self) -> None:
        self.after_empty = True


def _render_nodes(
    nodes: tuple[Node, ...],
    values: Mapping[str, str | None],
    rng: random.Random | None,
    out: _Output,
    missing: list[str],
) -> None:
    for node in nodes:
        if type(node) is str:
            out.add(node)
        elif type(node) is Variable:
            shown = _value_of(node, values, missing)
            if shown:
                out.add(shown)
            else:
                out.add_empty()
        else:
            assert rng is not None  # parse() saw this choice
            parts_before = len(out.parts)
            alternative = node.alternatives[rng.randrange(len(node.alternatives))]
            _render_nodes(alternative, values, rng, out, missing)
            if len(out.parts) == parts_before:
                out.add_empty()


def _value_of(variable: Variable, values: Mapping[str, str | None], missing: list[str]) -> str:
    value = values.get(variable.name) if variable.name else None
    if value is not None and not isinstance(value, str):
        value = str(value)  # a caller's number or date: shown, not refused
    if value is not None and value.strip():
        return value  # verbatim, never parsed again
    if variable.fallback is not None:
        return variable.fallback
    if variable.name and variable.name not in missing:
        missing.append(variable.name)
    return ""
