"""Caption faults: which cues a device shows, when, and with what text.

`schedule(cues, faults)` turns a title's cues and the caption faults of a device profile (or of a
benchmark clip) into the `ShownCue`s the renderer draws, and `truth(...)` says, per cue, which
problem a correct checker must report. A fault acts on the cues that *start* inside its window
[at_s, at_s + duration_s) (duration 0: every cue of the title):

- `caption_offset`: shown `offset_ms` late (positive) or early (negative), start and end alike;
- `caption_missing`: never shown;
- `caption_garbled`: shown with wrong words: `severity` is the share of words replaced (at least
  one), each by a word of the same length drawn from the other cues' vocabulary and the seed, so
  the line still looks like a caption (never the right word by chance), and always at least
  `MIN_CER` wrong;
- `caption_stuck`: not cleared at its end: it stays until the next cue replaces it (the last cue:
  to the title's end);
- `captions_off`: the captions setting does nothing: no cue is shown at all.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from harness.config import FaultSpec
from harness.measure.captions import Cue, ShownCue, cer, edit_distance

MIN_CER = 0.1  # a garbled cue reads at least this wrong: twice the caption_text limit

CAPTION_FAULTS = ("caption_offset", "caption_missing", "caption_garbled", "caption_stuck", "captions_off")

_FILLER = (
    "a an as at be by do go he if in is it me my no of on or so to up us we "
    "all and any are but can day for get had has her him his how its may new not now old one our out "
    "see she two way who boy did man put say too use bell blue cold dark fish gold hand lamp milk "
    "moon nose rain road salt ship sock star tree wind yard bread chair cloud dream field glass house "
    "knife lemon music paper river stone table water window garden pencil summer winter orange planet"
).split()


def _hits(f: FaultSpec, cue: Cue) -> bool:
    return f.duration_s <= 0 or f.at_s <= cue.start_s < f.at_s + f.duration_s


def garble(text: str, severity: float, seed: int, vocabulary: Sequence[str] = ()) -> str:
    """`text` with about `severity` of its words (at least one, and enough for a character error
    rate of `MIN_CER`) replaced by other words of the same length that differ in half their
    letters or more; punctuation and line breaks stay where they were."""
    rng = random.Random(seed)
    lines = [line.split(" ") for line in text.split("\n")]
    slots = [(i, j) for i, words in enumerate(lines) for j, w in enumerate(words) if any(c.isalnum() for c in w)]
    if not slots:
        return text
    n = max(1, int(round(severity * len(slots))))
    pool: dict[int, list[str]] = {}
    for w in list(vocabulary) + list(_FILLER):
        core = "".join(c for c in w if c.isalpha()).lower()
        if core:
            pool.setdefault(len(core), []).append(core)
    order = rng.sample(slots, len(slots))
    done = 0
    for i, j in order:
        # at least `severity` of the words, and enough that the line reads clearly wrong
        current = "\n".join(" ".join(words) for words in lines)
        if done >= n and cer(text, current) >= MIN_CER:
            break
        w = lines[i][j]
        a = next(k for k, c in enumerate(w) if c.isalnum())
        b = len(w) - next(k for k, c in enumerate(reversed(w)) if c.isalnum())
        core = w[a:b]
        far = (len(core) + 1) // 2  # a different word, not a typo: half its letters or more differ
        choices = [x for x in pool.get(len(core), []) if edit_distance(x, core.lower()) >= far]
        if choices:
            new = rng.choice(choices)
        else:  # no word of that length: the letters reversed and shifted
            new = "".join(chr((ord(c.lower()) - 97 + 7) % 26 + 97) if c.isalpha() else c for c in core[::-1])
        if core[:1].isupper():
            new = new[:1].upper() + new[1:]
        lines[i][j] = w[:a] + new + w[b:]
        done += 1
    return "\n".join(" ".join(words) for words in lines)


def schedule(cues: Sequence[Cue], faults: Sequence[FaultSpec], duration_s: float) -> list[ShownCue]:
    """The cues as the device shows them under `faults` (non-caption faults are ignored)."""
    faults = [f for f in faults if f.type in CAPTION_FAULTS]
    if any(f.type == "captions_off" for f in faults):
        return []
    vocabulary = [w for c in cues for w in c.text.split()]
    shown: list[ShownCue] = []
    for k, cue in enumerate(cues):
        start, end, text = cue.start_s, cue.end_s, cue.text
        stuck = False
        skip = False
        for f in faults:
            if not _hits(f, cue):
                continue
            if f.type == "caption_missing":
                skip = True
            elif f.type == "caption_offset":
                start += f.offset_ms / 1000
                end += f.offset_ms / 1000
            elif f.type == "caption_garbled":
                text = garble(text, f.severity, f.seed * 1009 + k, vocabulary)
            elif f.type == "caption_stuck":
                stuck = True
        if skip:
            continue
        if stuck:
            end = cues[k + 1].start_s if k + 1 < len(cues) else duration_s
        shown.append(ShownCue(cue, max(0.0, start), min(duration_s, end), text))
    return shown


def truth(cues: Sequence[Cue], faults: Sequence[FaultSpec], fps: float, duration_s: float) -> list[dict]:
    """Per cue, what a checker must find: {"cue": index, "problem": None | missing | timing | text,
    "start_error_frames", "end_error_frames"} (errors only for timing faults)."""
    faults = [f for f in faults if f.type in CAPTION_FAULTS]
    out = []
    off = any(f.type == "captions_off" for f in faults)
    for k, cue in enumerate(cues):
        row: dict = {"cue": cue.index, "problem": "missing" if off else None}
        for f in faults:
            if off or not _hits(f, cue):
                continue
            if f.type == "caption_missing":
                row["problem"] = "missing"
            elif f.type == "caption_offset" and row["problem"] is None:
                first, last = cue.frames(fps)
                moved = Cue(cue.index, cue.start_s + f.offset_ms / 1000, cue.end_s + f.offset_ms / 1000, cue.text)
                a, b = moved.frames(fps)
                if max(abs(a - first), abs(b - last)) > 0:
                    row.update(problem="timing", start_error_frames=a - first, end_error_frames=b - last)
            elif f.type == "caption_garbled" and row["problem"] is None:
                row["problem"] = "text"
            elif f.type == "caption_stuck" and row["problem"] is None:
                nxt = cues[k + 1].start_s if k + 1 < len(cues) else duration_s
                first, last = cue.frames(fps)
                b = Cue(cue.index, cue.start_s, max(nxt, cue.end_s), cue.text).frames(fps)[1]
                if b > last:
                    row.update(problem="timing", start_error_frames=0, end_error_frames=b - last)
        out.append(row)
    return out
