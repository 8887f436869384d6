"""The order in which a score's written bars are played: repeats, voltas and jumps played out.

A reader gathers each written bar's playback marks into a :class:`BarMarks`; :func:`play_order`
returns the written bars' indices in the order they sound. The rules are MuseScore's
playback rules:

- A backward repeat goes back to the last forward repeat, else to the bar after the last
  repeat already played out, else to the start of the piece (a pickup included). The
  section plays ``times`` times in all (2 when not given).
- A volta (first/second ending) plays on the passes its numbers name ('1', '1, 2', '3');
  a repeat inside a volta also goes round as often as the highest volta number of its
  group asks, so three voltas without ``times`` make three passes.
- D.C. (``dacapo``) and D.S. (``dalsegno``, to the ``segno`` of the same name) jump at the
  end of the bar that carries them, once each (so a D.C. bar played again after its own
  jump plays on, and a later D.S. still jumps). After such a jump, repeats are not taken
  again (unless marked ``after-jump``) and only the last volta of a group plays; "To Coda"
  (``tocoda``) jumps to the ``coda`` of the same name, and ``fine`` ends the piece, at the
  end of their bars.

Jumps are resolved to whole bars: a segno or coda means its bar's start, every other
mark its bar's end. Nothing is dropped silently: a jump whose target is missing, a volta
without a number and written bars that are never played each produce a notice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

DEFAULT_REPEAT_TIMES = 2  # MusicXML: a repeated section plays twice unless `times` says otherwise


@dataclass
class BarMarks:
    """Playback marks of one written bar, gathered from every part."""

    number: str = ""  # the bar's number as printed (MusicXML measure@number), for messages
    forward_repeat: bool = False
    backward_repeat: bool = False
    times: int | None = None  # with a backward repeat: how many times the section plays in all
    after_jump: bool = False  # with a backward repeat: taken also after a D.C. or D.S.
    ending_start: str | None = None  # a volta starts here; its numbers as written: '1', '1, 2'
    ending_stop: bool = False  # a volta ends at this bar's right barline
    segno: set[str] = field(default_factory=set)  # names of jump targets here; '' for a bare sign
    coda: set[str] = field(default_factory=set)
    tocoda: set[str] = field(default_factory=set)
    dalsegno: set[str] = field(default_factory=set)
    dacapo: bool = False
    fine: bool = False

    def has_jump(self) -> bool:
        """Whether the bar holds a jump or a jump's target (D.C., D.S., segno, coda, to coda, fine)."""
        return bool(self.segno or self.coda or self.tocoda or self.dalsegno or self.dacapo or self.fine)


@dataclass(frozen=True)
class _Volta:
    first: int  # index of its first bar
    last: int  # index of its last bar
    numbers: frozenset[int]  # the passes it plays on; empty: every pass
    group_top: int  # the highest number of its group of adjacent voltas
    is_last_of_group: bool


def _voltas(bars: list[BarMarks], notices: list[str]) -> dict[int, _Volta]:
    starts = [index for index, bar in enumerate(bars) if bar.ending_start is not None]
    spans = []
    for k, first in enumerate(starts):
        limit = starts[k + 1] if k + 1 < len(starts) else len(bars)
        last = next((index for index in range(first, limit) if bars[index].ending_stop), first)
        numbers = frozenset(int(n) for n in re.findall(r"\d+", bars[first].ending_start))
        if not numbers:
            notices.append(f"bar {bars[first].number}: the volta {bars[first].ending_start!r} has no number; it plays on every pass")
        spans.append((first, last, numbers))
    voltas = {}
    group: list[tuple[int, int, frozenset[int]]] = []
    for k, span in enumerate(spans):
        group.append(span)
        if k + 1 < len(spans) and spans[k + 1][0] == span[1] + 1:
            continue  # the next volta follows at once: same group
        top = max((max(numbers) for _, _, numbers in group if numbers), default=0)
        for j, (first, last, numbers) in enumerate(group):
            voltas[first] = _Volta(first, last, numbers, top, j == len(group) - 1)
        group = []
    return voltas


def _target(kind: str, names: set[str], marks: dict[str, set[int]], bar: BarMarks, notices: list[str]) -> int | None:
    """The bar a jump goes to: the one mark of the same name, else the one such mark in the score.

    The second case covers exporters that name the jump but draw the segno or coda only
    as a sign, with no playback name (the sign is held under the name '').
    """
    for name in sorted(names):
        if len(marks.get(name, ())) == 1:
            return next(iter(marks[name]))
    every = set().union(*marks.values())
    if len(every) == 1:
        return next(iter(every))
    wanted = ", ".join(repr(name) for name in sorted(names))
    found = f"{len(every)} {kind}s, none named {wanted}" if every else f"no {kind}"
    notices.append(f"bar {bar.number}: the jump to {kind} {wanted} finds {found}; played on without it")
    return None


def play_order(bars: list[BarMarks]) -> tuple[list[int], list[str]]:
    """The indices of ``bars`` in the order they are played, and one notice per thing not played out.

    Notices are sentences that start with the written bar they concern.
    """
    notices: list[str] = []
    voltas = _voltas(bars, notices)
    segnos: dict[str, set[int]] = {}
    codas: dict[str, set[int]] = {}
    for index, bar in enumerate(bars):
        for name in bar.segno:
            segnos.setdefault(name, set()).add(index)
        for name in bar.coda:
            codas.setdefault(name, set()).add(index)
    repeats_after_jump = any(bar.backward_repeat and bar.after_jump for bar in bars)

    def volta_around(index: int) -> _Volta | None:
        return next((v for v in voltas.values() if v.first <= index <= v.last), None)

    def volta_plays(volta: _Volta) -> bool:
        if jumped and not repeats_after_jump:
            return volta.is_last_of_group
        return not volta.numbers or pass_number in volta.numbers

    order: list[int] = []
    index, section_start, pass_number = 0, 0, 1
    jumped, back_by_repeat = False, False
    taken: set[tuple[str, int]] = set()
    # Every repeat and jump is bounded, so this only stops a bug from looping for ever.
    most_bars = len(bars) * (max((bar.times or DEFAULT_REPEAT_TIMES) for bar in bars) + max(len(voltas), 1)) * 4
    while index < len(bars):
        if len(order) > most_bars:
            raise RuntimeError(f"repeats did not end after {len(order)} bars")
        volta = voltas.get(index)
        if volta is not None and not volta_plays(volta):
            index = volta.last + 1
            if index not in voltas:
                pass_number = 1  # no volta of the group was for this pass: the repeat is over
            continue
        bar = bars[index]
        if bar.forward_repeat and not back_by_repeat:
            section_start, pass_number = index, 1
        back_by_repeat = False
        order.append(index)

        # The end of the bar: a repeat first, then fine, to coda, D.C. and D.S.
        if bar.backward_repeat and (not jumped or bar.after_jump):
            around = volta_around(index)
            times = bar.times or DEFAULT_REPEAT_TIMES
            if pass_number < max(times, around.group_top if around else 0):
                pass_number += 1
                index, back_by_repeat = section_start, True
                continue
            section_start = index + 1
        if jumped and bar.fine:
            break
        target = None
        if jumped and bar.tocoda and ("coda", index) not in taken:
            taken.add(("coda", index))
            target = _target("coda", bar.tocoda, codas, bar, notices)
        elif (bar.dacapo or bar.dalsegno) and ("jump", index) not in taken:
            taken.add(("jump", index))
            target = 0 if bar.dacapo else _target("segno", bar.dalsegno, segnos, bar, notices)
            if target is not None:
                jumped = True
        if target is not None:
            index, section_start, pass_number = target, target, 1
            continue
        ends_volta = volta_around(index) is not None and volta_around(index).last == index
        if (bar.backward_repeat or ends_volta) and index + 1 not in voltas:
            pass_number = 1
        index += 1

    played = set(order)
    never = [index for index in range(len(bars)) if index not in played]
    for first, last in _runs(never):
        span = f"bar {bars[first].number}" if first == last else f"bars {bars[first].number}-{bars[last].number}"
        notices.append(f"{span}: never played (no repeat, volta or jump leads there)")
    return order, notices


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of increasing indices, as (first, last) pairs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and index == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def describe_order(bars: list[BarMarks], order: list[int]) -> str:
    """The played order in written bar numbers, as runs: '1-4, 1-2, 5-8'."""
    return ", ".join(
        bars[first].number if first == last else f"{bars[first].number}-{bars[last].number}" for first, last in _runs(order)
    )
