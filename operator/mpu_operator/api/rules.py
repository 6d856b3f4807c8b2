"""The rules a JSON schema cannot say: they need the catalogue or more than one field.

They take plain values (:class:`Facts`), not the model, so this module imports nothing of
the spec: the model builds the facts and runs :func:`errors` while it is parsed, and
:func:`~mpu_operator.api.spec.parse_spec` adds :func:`warnings`. Each check returns
Problems with the exact field to fix. Only what we know is judged: custom layouts (ids
outside the system catalogue, and MPULayouts named in ``layoutRefs``) and unknown encodings
pass, because the service may know them; guessing wrong would block a working stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mpu_operator import catalogue
from mpu_operator.api import failover
from mpu_operator.api.problems import Problem
from mpu_operator.streamurl import StreamKey

UNKNOWN_ENCODING = "unknown to us; the service will judge it"
#: Stands for "a custom layout" where the catalogue takes layout ids: never a real id
#: (ids start at 1) and not a system layout, so its pane count counts as unknown.
UNKNOWN_LAYOUT = 0
#: The kinds of media a subscription names, as written under ``subscribe``/``unsubscribe``.
MEDIA = ("audioUsers", "cameraUsers", "shareScreenUsers")


@dataclass(frozen=True)
class Facts:
    """The values the cross-field rules read, as plain data.

    ``subscribe``/``unsubscribe`` map a name of :data:`MEDIA` to its users; ``overlays``
    names the overlay fields that are set (``layout.watermarks``, ...), which a single
    stream cannot show.
    """

    stream_url_set: bool
    stream_url_from_set: bool
    layout_ids: Sequence[int]
    pane_ids: Sequence[int]
    media_encode: int
    task_profile: str
    layout_refs: Sequence[str] = ()
    subscribe_users: Sequence[str] = ()
    subscribe: Mapping[str, Sequence[str]] = field(default_factory=dict)
    unsubscribe: Mapping[str, Sequence[str]] = field(default_factory=dict)
    mix_mode: str = "Mix"
    single_set: bool = False
    overlays: Sequence[str] = ()
    #: The stream URLs in failover order as (field, stream key), the primary first; the
    #: key is None for a URL in a Secret. Keys hold no query, so Facts never hold a secret.
    streams: Sequence[tuple[str, StreamKey | None]] = ()
    #: The same for the URLs read from Secrets: (field, (Secret name, key)).
    stream_secrets: Sequence[tuple[str, tuple[str, str] | None]] = ()
    backups_written: int = 0  # len(backupStreamURLs)
    backups_from_secrets: int = 0  # len(backupStreamURLsFrom)
    failover_set: bool = False


def errors(facts: Facts) -> list[Problem]:
    """What makes the spec unusable, in the order a reader meets the fields."""
    return [
        *_stream_url_source(facts),
        *_backups(facts),
        *_layout_sources(facts),
        *_pane_counts(facts.layout_ids),
        *_pane_ids(facts),
        *_profile(facts),
        *_subscriptions(facts),
        *_mix_mode(facts),
    ]


def warnings(facts: Facts) -> list[Problem]:
    """What works but may not be what was meant."""
    return [*_unknown_encoding(facts.media_encode), *_auto_guesses(facts),
            *_single_ignores(facts), *_failover_alone(facts)]


def check(facts: Facts) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of a spec whose shape is already valid."""
    return errors(facts), warnings(facts)


def layout_ids_for_catalogue(layout_ids: Sequence[int], has_refs: bool) -> list[int]:
    """The layout ids as the catalogue should judge them: an MPULayout counts as custom."""
    return [*layout_ids, UNKNOWN_LAYOUT] if has_refs else list(layout_ids)


def resolved_profile(task_profile: str, layout_ids: Sequence[int], has_refs: bool,
                     media_encode: int) -> str:
    """The TaskProfile to send: the one named, or for Auto the cheapest that fits."""
    if task_profile != catalogue.AUTO:
        return task_profile
    return catalogue.choose_profile(layout_ids_for_catalogue(layout_ids, has_refs),
                                    media_encode)


def _stream_url_source(facts: Facts) -> list[Problem]:
    if facts.stream_url_set and facts.stream_url_from_set:
        return [Problem("streamURL", "set either streamURL or streamURLFrom, not both")]
    if not facts.stream_url_set and not facts.stream_url_from_set:
        return [Problem("streamURL", "required: set streamURL or streamURLFrom.secretKeyRef")]
    return []


def _backups(facts: Facts) -> list[Problem]:
    """At most 4 backups, each a different stream (see :mod:`mpu_operator.api.failover`)."""
    return [*failover.count_problems(facts.backups_written, facts.backups_from_secrets),
            *failover.repeated_streams(facts.streams),
            *failover.repeated_secret_keys(facts.stream_secrets)]


def _failover_alone(facts: Facts) -> list[Problem]:
    """``failover`` says how to use backups; without any it does nothing."""
    if not facts.failover_set or facts.backups_written or facts.backups_from_secrets:
        return []
    return [Problem("failover", f"has no effect without {failover.BACKUPS} or "
                                f"{failover.BACKUPS_FROM}")]


def _layout_sources(facts: Facts) -> list[Problem]:
    """At least one layout, at most 16 in all, and each MPULayout named once."""
    total = len(facts.layout_ids) + len(facts.layout_refs)
    if total == 0:
        return [Problem("layout.layoutIds", "required: set layoutIds or layoutRefs (or both)")]
    problems = []
    if total > catalogue.MAX_LAYOUTS:
        problems.append(Problem("layout.layoutRefs",
                                f"layoutIds and layoutRefs together must have at most "
                                f"{catalogue.MAX_LAYOUTS} items (they have {total})"))
    first_use: dict[str, int] = {}
    for index, name in enumerate(facts.layout_refs):
        if name in first_use:
            problems.append(Problem(f"layout.layoutRefs[{index}].name",
                                    f"names the same MPULayout as "
                                    f"layout.layoutRefs[{first_use[name]}]"))
        else:
            first_use[name] = index
    return problems


def _pane_counts(layout_ids: Sequence[int]) -> list[Problem]:
    """The service picks a layout by head count, so a pane count may appear only once."""
    return [
        Problem("layout.layoutIds",
                f"layouts {_and(ids)} each have {panes} panes; the service picks a layout by "
                f"the number of people present, so give at most one layout per pane count")
        for panes, ids in sorted(catalogue.duplicate_pane_counts(layout_ids).items())
    ]


def _pane_ids(facts: Facts) -> list[Problem]:
    """Pane ids distinct, and inside the largest layout when every layout is known.

    A custom layout may have more panes than any system layout given with it, so with a
    custom layout (or an MPULayout) present the upper bound is left to the service.
    """
    ids = layout_ids_for_catalogue(facts.layout_ids, bool(facts.layout_refs))
    panes = None
    if not catalogue.has_custom_layouts(ids):
        panes = catalogue.max_known_panes(ids)
    problems: list[Problem] = []
    first_use: dict[int, int] = {}
    for index, pane_id in enumerate(facts.pane_ids):
        where = f"layout.userPanes[{index}].paneId"
        if pane_id in first_use:
            problems.append(Problem(where, f"pane {pane_id} is already given to "
                                           f"layout.userPanes[{first_use[pane_id]}]"))
        else:
            first_use[pane_id] = index
        if panes is not None and pane_id >= panes:
            problems.append(Problem(where, f"must be below {panes}: the largest layout in "
                                           f"layoutIds has {panes} panes, numbered 0 to "
                                           f"{panes - 1}"))
    return problems


def _profile(facts: Facts) -> list[Problem]:
    """A named profile must cover the layouts' panes and the encoding (Auto always does)."""
    name = facts.task_profile
    if name == catalogue.AUTO:
        return []
    ids = layout_ids_for_catalogue(facts.layout_ids, bool(facts.layout_refs))
    found = catalogue.profile_problems(name, ids, facts.media_encode)
    return [Problem("encoding.taskProfile", text) for text in found]


def _subscriptions(facts: Facts) -> list[Problem]:
    """A user is named once per list, and never both subscribed and unsubscribed to a medium.

    (``subscribeUsers`` keeps its old leniency: a repeated user there was always accepted.)

    The service would have to pick one of two contradicting orders; which one it picks is
    not documented, so the spec must not ask.
    """
    problems = []
    for side, lists in (("subscribe", facts.subscribe), ("unsubscribe", facts.unsubscribe)):
        for medium in MEDIA:
            problems += _repeats(f"{side}.{medium}", lists.get(medium, ()))
    for medium in MEDIA:
        wanted = set(facts.subscribe.get(medium, ()))
        for index, user in enumerate(facts.unsubscribe.get(medium, ())):
            if user in wanted:
                problems.append(Problem(f"unsubscribe.{medium}[{index}]",
                                        f"this user is also in subscribe.{medium}; a user "
                                        f"cannot be both subscribed and unsubscribed"))
    return problems


def _repeats(name: str, users: Sequence[str]) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    for index, user in enumerate(users):
        if user in seen:
            problems.append(Problem(f"{name}[{index}]",
                                    f"repeats {name}[{seen[user]}]; name each user once"))
        else:
            seen[user] = index
    return problems


def _mix_mode(facts: Facts) -> list[Problem]:
    """Single mode relays one user's stream as it is: it needs ``single`` and that user."""
    if facts.mix_mode != "Single":
        if facts.single_set:
            return [Problem("single", "only allowed when mixMode is Single")]
        return []
    problems = []
    if not facts.single_set:
        problems.append(Problem("single", "required when mixMode is Single: set "
                                          "single.sourceType and single.streamType"))
    if len(facts.subscribe_users) != 1:
        problems.append(Problem("subscribeUsers",
                                f"mixMode Single relays one user's stream: list exactly one "
                                f"user (the list has {len(facts.subscribe_users)})"))
    return problems


def _unknown_encoding(media_encode: int) -> list[Problem]:
    if media_encode in catalogue.MEDIA_ENCODES:
        return []
    return [Problem("encoding.mediaEncode", f"{media_encode} is {UNKNOWN_ENCODING}")]


def _auto_guesses(facts: Facts) -> list[Problem]:
    """Say when Auto had to assume the largest need: that costs money the user may not owe.

    MPULayouts in ``layoutRefs`` are no reason: the operator reads their panes and Auto
    picks from them (:func:`profile_with_customs`); only ``validate`` cannot."""
    if facts.task_profile != catalogue.AUTO:
        return []
    reasons = []
    custom = [i for i in facts.layout_ids if i not in catalogue.LAYOUT_PANES]
    if len(custom) == 1:
        reasons.append(f"layout {custom[0]} is custom (pane count unknown)")
    elif custom:
        reasons.append(f"layouts {_and(custom)} are custom (pane counts unknown)")
    if facts.media_encode not in catalogue.MEDIA_ENCODES:
        reasons.append(f"encoding {facts.media_encode} is unknown (resolution unknown)")
    if not reasons:
        return []
    chosen = resolved_profile(facts.task_profile, facts.layout_ids, bool(facts.layout_refs),
                              facts.media_encode)
    return [Problem("encoding.taskProfile",
                    f"Auto chose {chosen} because {' and '.join(reasons)}; "
                    f"name a smaller profile if it is enough")]


def _single_ignores(facts: Facts) -> list[Problem]:
    """A single stream is relayed without mixing: overlays and panes have no picture to go on."""
    if facts.mix_mode != "Single":
        return []
    return [Problem(name, "ignored when mixMode is Single (the stream is relayed without "
                          "mixing)") for name in facts.overlays]


# -- MPULayouts, once the operator has read them -----------------------------------------


@dataclass(frozen=True)
class CustomLayout:
    """An MPULayout a task refers to, as the pane rules need it (plain values)."""

    field: str  # where the spec names it, e.g. ``layout.layoutRefs[1].name``
    name: str
    pane_ids: Sequence[int]


def panes_needed(layout_ids: Sequence[int], customs: Sequence[CustomLayout]) -> int | None:
    """The largest pane count among all the layouts; None when a layout id outside the
    catalogue (a custom id whose panes we cannot read) makes it unknown."""
    if catalogue.has_custom_layouts(layout_ids):
        return None
    counts = [*catalogue.layout_panes(layout_ids).values(), *(len(c.pane_ids) for c in customs)]
    return max(counts, default=1)


def profile_with_customs(task_profile: str, layout_ids: Sequence[int],
                         customs: Sequence[CustomLayout], media_encode: int) -> str:
    """The TaskProfile to send once the MPULayouts are read: the one named, or for Auto the
    cheapest covering the largest pane count of all the layouts (16 inputs while a custom
    layout id's pane count is unknown)."""
    return profile_choices(task_profile, layout_ids, customs, media_encode)[0]


def profile_choices(task_profile: str, layout_ids: Sequence[int],
                    customs: Sequence[CustomLayout], media_encode: int) -> list[str]:
    """The profiles the task may run with: the one named, or for Auto every profile that
    covers the layouts and the encoding, cheapest (the one a start sends) first. A running
    task whose profile is among them needs no restart when an MPULayout's panes change."""
    if task_profile != catalogue.AUTO:
        return [task_profile]
    needed = panes_needed(layout_ids, customs)
    return catalogue.covering_profiles(catalogue.MAX_PANES if needed is None else needed,
                                       media_encode)


def custom_layout_problems(layout_ids: Sequence[int], customs: Sequence[CustomLayout],
                           pane_ids: Sequence[int], task_profile: str) -> list[Problem]:
    """The pane-count rules with the MPULayouts' panes, which the parser cannot see:

    - no two layouts with the same pane count (an MPULayout against the system layouts
      in ``layoutIds`` and the MPULayouts before it);
    - each ``userPanes[].paneId`` is a pane of some layout (a system layout's 0..n-1, an
      MPULayout's own paneIds); left to the service when a custom layout id is given;
    - a named ``taskProfile`` mixes enough inputs for the largest layout.
    """
    return [*_custom_pane_counts(layout_ids, customs),
            *_custom_pane_ids(layout_ids, customs, pane_ids),
            *_custom_profile(layout_ids, customs, task_profile)]


def _custom_pane_counts(layout_ids: Sequence[int],
                        customs: Sequence[CustomLayout]) -> list[Problem]:
    owners: dict[int, str] = {}
    for layout_id, panes in catalogue.layout_panes(layout_ids).items():
        owners.setdefault(panes, f"layout {layout_id}")
    problems = []
    for custom in customs:
        count = len(custom.pane_ids)
        if count in owners:
            problems.append(Problem(custom.field, f"MPULayout {custom.name} has {count} panes, "
                                                  f"like {owners[count]}; the service picks a "
                                                  "layout by the number of people present, so "
                                                  "give at most one layout per pane count"))
        else:
            owners[count] = f"MPULayout {custom.name}"
    return problems


def _custom_pane_ids(layout_ids: Sequence[int], customs: Sequence[CustomLayout],
                     pane_ids: Sequence[int]) -> list[Problem]:
    if catalogue.has_custom_layouts(layout_ids):
        return []
    known = {p for n in catalogue.layout_panes(layout_ids).values() for p in range(n)}
    known |= {p for custom in customs for p in custom.pane_ids}
    where = "; ".join([*(f"layout {i} has panes 0 to {n - 1}"
                         for i, n in catalogue.layout_panes(layout_ids).items()),
                       *(f"MPULayout {c.name} has {_panes(c.pane_ids)}" for c in customs)])
    return [Problem(f"layout.userPanes[{index}].paneId",
                    f"pane {pane_id} is in none of the layouts ({where})")
            for index, pane_id in enumerate(pane_ids) if pane_id not in known]


def _custom_profile(layout_ids: Sequence[int], customs: Sequence[CustomLayout],
                    task_profile: str) -> list[Problem]:
    profile = catalogue.PROFILES.get(task_profile)
    needed = panes_needed(layout_ids, customs)
    if profile is None or needed is None or needed <= profile.inputs or not customs:
        return []
    return [Problem("encoding.taskProfile",
                    f"the largest layout has {needed} panes (with the MPULayouts' panes) but "
                    f"{task_profile} mixes at most {profile.inputs} inputs")]


def _panes(pane_ids: Sequence[int]) -> str:
    return f"panes {_and(sorted(pane_ids))}" if pane_ids else "no panes"


def _and(items: Sequence[int]) -> str:
    """[2, 3, 13] -> '2, 3 and 13'."""
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
