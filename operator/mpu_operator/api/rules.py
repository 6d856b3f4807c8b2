"""The rules a JSON schema cannot say: they need the catalogue or more than one field.

Each check returns Problems with the exact field to fix. Only what we know is judged:
custom layouts (ids outside the system catalogue) and unknown encodings pass, because the
service may know them; guessing wrong would block a working stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpu_operator import catalogue
from mpu_operator.api.problems import Problem

if TYPE_CHECKING:
    from mpu_operator.api.spec import EncodingSpec, LayoutSpec, MPUTaskSpec

UNKNOWN_ENCODING = "unknown to us; the service will judge it"


def check(spec: MPUTaskSpec) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of a spec whose shape is already valid."""
    errors = [
        *_stream_url_source(spec),
        *_pane_counts(spec.layout),
        *_pane_ids(spec.layout),
        *_profile(spec),
    ]
    warnings = [*_unknown_encoding(spec.encoding), *_auto_guesses(spec)]
    return errors, warnings


def _stream_url_source(spec: MPUTaskSpec) -> list[Problem]:
    if spec.stream_url is not None and spec.stream_url_from is not None:
        return [Problem("streamURL", "set either streamURL or streamURLFrom, not both")]
    if spec.stream_url is None and spec.stream_url_from is None:
        return [Problem("streamURL", "required: set streamURL or streamURLFrom.secretKeyRef")]
    return []


def _pane_counts(layout: LayoutSpec) -> list[Problem]:
    """The service picks a layout by head count, so a pane count may appear only once."""
    return [
        Problem("layout.layoutIds",
                f"layouts {_and(ids)} each have {panes} panes; the service picks a layout by "
                f"the number of people present, so give at most one layout per pane count")
        for panes, ids in sorted(catalogue.duplicate_pane_counts(layout.layout_ids).items())
    ]


def _pane_ids(layout: LayoutSpec) -> list[Problem]:
    """Pane ids distinct, and inside the largest layout when every layout is known.

    A custom layout may have more panes than any system layout given with it, so with a
    custom layout present the upper bound is left to the service.
    """
    panes = None
    if not catalogue.has_custom_layouts(layout.layout_ids):
        panes = catalogue.max_known_panes(layout.layout_ids)
    problems: list[Problem] = []
    first_use: dict[int, int] = {}
    for index, pane in enumerate(layout.user_panes):
        where = f"layout.userPanes[{index}].paneId"
        if pane.pane_id in first_use:
            problems.append(Problem(where, f"pane {pane.pane_id} is already given to "
                                           f"layout.userPanes[{first_use[pane.pane_id]}]"))
        else:
            first_use[pane.pane_id] = index
        if panes is not None and pane.pane_id >= panes:
            problems.append(Problem(where, f"must be below {panes}: the largest layout in "
                                           f"layoutIds has {panes} panes, numbered 0 to "
                                           f"{panes - 1}"))
    return problems


def _profile(spec: MPUTaskSpec) -> list[Problem]:
    """A named profile must cover the layouts' panes and the encoding (Auto always does)."""
    name = spec.encoding.task_profile
    if name == catalogue.AUTO:
        return []
    found = catalogue.profile_problems(name, spec.layout.layout_ids, spec.encoding.media_encode)
    return [Problem("encoding.taskProfile", text) for text in found]


def _unknown_encoding(encoding: EncodingSpec) -> list[Problem]:
    if encoding.media_encode in catalogue.MEDIA_ENCODES:
        return []
    return [Problem("encoding.mediaEncode", f"{encoding.media_encode} is {UNKNOWN_ENCODING}")]


def _auto_guesses(spec: MPUTaskSpec) -> list[Problem]:
    """Say when Auto had to assume the largest need: that costs money the user may not owe."""
    if spec.encoding.task_profile != catalogue.AUTO:
        return []
    reasons = []
    custom = [i for i in spec.layout.layout_ids if i not in catalogue.LAYOUT_PANES]
    if len(custom) == 1:
        reasons.append(f"layout {custom[0]} is custom (pane count unknown)")
    elif custom:
        reasons.append(f"layouts {_and(custom)} are custom (pane counts unknown)")
    media_encode = spec.encoding.media_encode
    if media_encode not in catalogue.MEDIA_ENCODES:
        reasons.append(f"encoding {media_encode} is unknown (resolution unknown)")
    if not reasons:
        return []
    return [Problem("encoding.taskProfile",
                    f"Auto chose {spec.resolved_profile()} because {' and '.join(reasons)}; "
                    f"name a smaller profile if it is enough")]


def _and(items: list[int]) -> str:
    """[2, 3, 13] -> '2, 3 and 13'."""
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
