"""From a parsed spec and its Secrets to the plain ``Desired`` the core decides on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mpu_operator import catalogue, logsafety
from mpu_operator.api import overlays, rules
from mpu_operator.api.failover import repeated_streams
from mpu_operator.api.spec import MediaUsers, MPUTaskSpec, SecretKeySelector, stream_url_problem
from mpu_operator.controller.kube import SecretProblem
from mpu_operator.core import fingerprint, taskid
from mpu_operator.core import layouts as cl
from mpu_operator.core.model import Desired, Record
from mpu_operator.core.reasons import (
    INVALID_SPEC,
    INVALID_STREAM_URL,
    LAYOUT_NOT_READY,
    NO_CREDENTIALS,
    SECRET_NOT_FOUND,
)
from mpu_operator.rtc import params
from mpu_operator.rtc.credentials import Credentials
from mpu_operator.rtc.params import LayoutParams, StartParams, UpdateTaskParams
from mpu_operator.streamurl import StreamKey, stream_key


@dataclass(frozen=True)
class Resolved:
    desired: Desired
    credentials: Credentials | None
    credentials_problem: str | None  # why there are none (reason already in desired)


def task_id_base(spec: MPUTaskSpec, meta: Mapping[str, Any]) -> tuple[str, bool]:
    if spec.task_id:
        return spec.task_id, True
    return taskid.derive_base(str(meta.get("namespace", "")), str(meta.get("name", "")),
                              str(meta.get("uid", ""))), False


async def resolve(spec: MPUTaskSpec, meta: Mapping[str, Any], record: Record, kube: Any,
                  defaults: Credentials | None, *,
                  defaults_refused: str | None = None,
                  layouts: Mapping[tuple[str, str], cl.KnownLayout] | None = None,
                  ) -> Resolved:
    """Read what the spec points at (Secrets) and reduce it all to ``Desired``.

    A missing Secret never changes what a running task is compared against: its
    fingerprints fall back to what the task was started with, so a deleted URL Secret
    does not restart (or stop) a live broadcast; it only blocks the next start. A URL read
    from a Secret obeys exactly the rules of ``spec.streamURL``, and a value that breaks
    them is used and shown nowhere (it may be any secret put under the wrong key).
    ``defaults_refused`` says why the operator's own credentials are not for this object.
    ``layouts`` are the MPULayouts the spec's ``layoutRefs`` name (see :func:`layout_refs`):
    until they are all usable nothing starts, and a running task keeps its layout.
    """
    namespace = str(meta.get("namespace", ""))
    waiting: tuple[str, str, bool] | None = None
    url: str | None = spec.stream_url
    if url is None and spec.stream_url_from is not None:
        url, waiting = await _secret_url(spec, namespace, kube)
    backups, backups_waiting = await _backup_urls(spec, url, namespace, kube)
    waiting = waiting or backups_waiting
    refs = layout_refs(spec, namespace, layouts or {})
    waiting = waiting or refs.waiting
    creds, creds_problem = await _credentials(spec, namespace, kube, defaults,
                                              defaults_refused)
    if creds is None and waiting is None:
        waiting = (SECRET_NOT_FOUND if spec.credentials_ref else NO_CREDENTIALS,
                   creds_problem or "", False)
    base, from_spec = task_id_base(spec, meta)
    layout = refs.layout
    # While the refs cannot be used, no UpdateMPUTask (it would carry part of the layouts).
    task = live_params(spec, layout) if refs.usable else None
    start = with_live_params(refs.start(spec.start_params("", url), record, base), task) \
        if url and task is not None else None
    key: StreamKey | None = stream_key(url) if url else None
    immutable = (fingerprint.current_immutable(start, base, record.applied_immutable)
                 if start else record.applied_immutable or "")
    return Resolved(
        desired=Desired(
            app_id=spec.app_id, stream_key=key, start=start,
            layout=task.layout if task is not None else layout, task=task,
            immutable_fingerprint=immutable,
            layout_fingerprint=refs.fingerprint(record),
            task_id_base=base, task_id_from_spec=from_spec, suspend=bool(spec.suspend),
            credentials_secret=spec.credentials_ref.name if spec.credentials_ref else None,
            restart_policy=_value(spec.restart_policy),
            waiting_reason=waiting[0] if waiting else None,
            waiting_message=waiting[1] if waiting else "",
            waiting_stalled=waiting[2] if waiting else False,
            start_at=spec.schedule.start_time() if spec.schedule else None,
            stop_at=spec.schedule.stop_time() if spec.schedule else None,
            backup_stream_urls=backups,
            failover_after=spec.failover_codes(),
            failover_back=spec.failover_back(),
        ),
        credentials=creds,
        credentials_problem=creds_problem,
    )


@dataclass(frozen=True)
class LayoutRefs:
    """``layoutRefs`` resolved for one step: the layout to send (``layoutIds``, then the
    referred MPULayouts' ids, in spec order), the TaskProfile (Auto judged with the
    MPULayouts' panes), and why the task cannot use them yet (None: it can)."""

    layout: LayoutParams
    task_profile: str
    waiting: tuple[str, str, bool] | None = None  # (reason, message, stalled)
    #: Other profiles that also cover the layouts (Auto only), cheapest first.
    also_covering: tuple[str, ...] = ()

    @property
    def usable(self) -> bool:
        return self.waiting is None

    def start(self, start: StartParams, record: Record | None = None,
              task_id_base: str = "") -> StartParams:
        """``start`` with the resolved layout and profile. A running task (``record``)
        whose Auto profile still covers the layouts keeps it: an MPULayout whose panes
        change does not restart a broadcast, unless its profile no longer covers them."""
        start = dataclasses.replace(start, layout=self.layout, task_profile=self.task_profile)
        applied = record.applied_immutable if record is not None else None
        if not applied or fingerprint.current_immutable(start, task_id_base, applied) == applied:
            return start
        for name in self.also_covering:
            kept = dataclasses.replace(start, task_profile=name)
            if fingerprint.current_immutable(kept, task_id_base, applied) == applied:
                return kept
        return start

    def fingerprint(self, record: Record) -> str:
        """The layout a live task is compared against: while the refs cannot be used, the
        one it runs with (no UpdateMPULayout with part of the layouts)."""
        if not self.usable and record.applied_layout:
            return record.applied_layout
        return fingerprint.layout_fingerprint(self.layout)


def layout_refs(spec: MPUTaskSpec, namespace: str,
                known: Mapping[tuple[str, str], cl.KnownLayout]) -> LayoutRefs:
    """Each ``layoutRefs[].name`` -> the MPULayout of that name in the task's own namespace
    (``known`` is keyed by (namespace, name); another namespace's layout is never used, nor
    named) -> its ``status.layoutId``; then the pane-count rules with the MPULayouts' panes.

    A ref with no MPULayout, or one without a layout id yet, is a wait (LayoutNotReady,
    not stalled: the task starts when it has one). A layout of another app, or panes that
    break the rules, is InvalidSpec (stalled: a person must act).
    """
    base = spec.layout_params()
    names = spec.layout.ref_names
    if not names:
        return LayoutRefs(base, spec.resolved_profile())
    refs = cl.resolve_refs(namespace, spec.app_id, names, known)
    layout = dataclasses.replace(base, layout_ids=base.layout_ids + refs.layout_ids)
    customs = [rules.CustomLayout(f"layout.layoutRefs[{r.index}].name", r.name, r.pane_ids)
               for r in refs.layouts]
    ids, encoding = spec.layout.layout_ids, spec.encoding
    profile, *others = rules.profile_choices(encoding.task_profile, ids, customs,
                                             encoding.media_encode)
    if refs.problems:
        message = "; ".join(f"{where}: {rule}" for where, rule in refs.problems)
        return LayoutRefs(layout, profile, (INVALID_SPEC, message, True))
    if refs.not_ready:
        return LayoutRefs(layout, profile, (LAYOUT_NOT_READY,
                                            cl.not_ready_message(namespace, refs.not_ready),
                                            False))
    problems = rules.custom_layout_problems(
        ids, customs, [p.pane_id for p in spec.layout.user_panes], encoding.task_profile)
    if problems:
        return LayoutRefs(layout, profile,
                          (INVALID_SPEC, "; ".join(str(p) for p in problems), True))
    return LayoutRefs(layout, profile, also_covering=tuple(others))


def live_params(spec: MPUTaskSpec, layout: LayoutParams) -> UpdateTaskParams:
    """What UpdateMPUTask carries, from the spec: overlays, subscriptions, the mix mode,
    and ``layout`` (however its ids were resolved) with the panes' images and texts."""
    panes = {p.pane_id: p for p in spec.layout.user_panes}
    with_overlays = tuple(
        dataclasses.replace(pane, images=tuple(_picture(i) for i in panes[pane.pane_id].images),
                            texts=tuple(_text(t) for t in panes[pane.pane_id].texts))
        if pane.pane_id in panes else pane for pane in layout.user_panes)
    spec_layout = spec.layout
    return UpdateTaskParams(
        layout=dataclasses.replace(layout, user_panes=with_overlays),
        subscribe_users=tuple(spec.subscribe_users),
        backgrounds=tuple(_picture(b) for b in spec_layout.backgrounds),
        watermarks=tuple(params.Watermark(**_picture_fields(w), alpha=w.alpha)
                         for w in spec_layout.watermarks),
        clock_widgets=tuple(params.ClockWidget(**_style(c)) for c in spec_layout.clock_widgets),
        subscribe=_media_users(spec.subscribe), unsubscribe=_media_users(spec.unsubscribe),
        mix_mode=spec.mix_mode,
        single=(params.SingleSource(spec.single.source_type, spec.single.stream_type)
                if spec.single else None),
    )


def with_live_params(start: StartParams, task: UpdateTaskParams) -> StartParams:
    """A start that carries what ``task`` says (the inverse of ``update_params``)."""
    return dataclasses.replace(start, **{name: getattr(task, name)
                                         for name in params.UPDATABLE_FIELDS})


def _picture_fields(image: overlays.PaneImage | overlays.BackgroundImage) -> dict[str, Any]:
    return {"url": image.url, "x": image.x, "y": image.y, "width": image.width,
            "height": image.height, "z_order": image.z_order, "display": image.display}


def _picture(image: overlays.PaneImage | overlays.BackgroundImage) -> params.Picture:
    return params.Picture(**_picture_fields(image))


def _style(style: overlays.TextStyle) -> dict[str, Any]:
    """A text style in the service's terms: colours as its integers."""
    color = catalogue.color_to_int
    return {"x": style.x, "y": style.y, "alpha": style.alpha, "z_order": style.z_order,
            "font_type": style.font_type, "font_size": style.font_size,
            "font_color": color(style.font_color), "border_width": style.border_width,
            "border_color": color(style.border_color), "box": style.box,
            "box_color": color(style.box_color), "box_border_width": style.box_border_width}


def _text(text: overlays.PaneText) -> params.PaneText:
    return params.PaneText(**_style(text), text=text.text)


def _media_users(users: MediaUsers) -> params.MediaUsers:
    return params.MediaUsers(tuple(users.audio_users), tuple(users.camera_users),
                             tuple(users.share_screen_users))


async def _secret_url(spec: MPUTaskSpec, namespace: str, kube: Any,
                      ) -> tuple[str | None, tuple[str, str, bool] | None]:
    assert spec.stream_url_from is not None
    return await _secret_key_url(spec.stream_url_from.secret_key_ref, "streamURLFrom",
                                 namespace, kube)


async def _secret_key_url(ref: SecretKeySelector, field: str, namespace: str, kube: Any,
                          ) -> tuple[str | None, tuple[str, str, bool] | None]:
    """The URL in a Secret key, judged like ``spec.streamURL``, or why there is none.

    ``field`` (``streamURLFrom``, ``backupStreamURLsFrom[1]``) starts the message; the
    message names the Secret and the key, never the value.
    """
    try:
        url = await kube.secret_value(namespace, ref.name, ref.key)
    except SecretProblem as exc:
        return None, (SECRET_NOT_FOUND, f"{field}: {exc}", False)
    problem = stream_url_problem(url)
    if problem is not None:
        return None, (INVALID_STREAM_URL, f"{field}: the value of key {ref.key!r} in "
                                          f"Secret {namespace}/{ref.name} {problem}", True)
    return url, None


async def _backup_urls(spec: MPUTaskSpec, primary: str | None, namespace: str, kube: Any,
                       ) -> tuple[tuple[str, ...], tuple[str, str, bool] | None]:
    """The backup URLs in failover order (``backupStreamURLs``, then the URLs read from
    ``backupStreamURLsFrom``), or () and why they cannot be used.

    A backup Secret is treated like the primary's: missing or unreadable is
    SecretNotFound, a value that breaks the URL rules is InvalidStreamURL (stalled: a
    person must fix it), and either blocks the next start. A broadcaster who configured a
    backup expects it to be there when the primary fails; starting without it would
    promise a protection the task does not have. A task already running goes on.

    The URLs from Secrets are known only here, so the different-stream rule the spec model
    applies to the URLs written out is applied again, by the same function, to them all
    (the primary included when it is in a Secret).
    """
    urls: list[str] = list(spec.backup_stream_urls)
    for index, source in enumerate(spec.backup_stream_urls_from):
        url, waiting = await _secret_key_url(source.secret_key_ref,
                                             f"backupStreamURLsFrom[{index}]", namespace, kube)
        if waiting is not None:
            return (), waiting
        assert url is not None
        urls.append(url)
    keys = [stream_key(u) if u else None for u in (primary, *urls)]
    problems = repeated_streams(list(zip(spec.stream_fields(), keys, strict=True)))
    if problems:
        return (), (INVALID_STREAM_URL, str(problems[0]), True)
    return tuple(urls), None


async def _credentials(spec: MPUTaskSpec, namespace: str, kube: Any,
                       defaults: Credentials | None, defaults_refused: str | None = None,
                       ) -> tuple[Credentials | None, str | None]:
    if spec.credentials_ref is None:
        if defaults_refused is not None:
            return None, defaults_refused
        if defaults is None:
            return None, ("no credentialsRef and no operator default credentials "
                          "(ALIBABA_CLOUD_ACCESS_KEY_ID/ALIBABA_CLOUD_ACCESS_KEY_SECRET)")
        return defaults, None
    return await secret_credentials(namespace, spec.credentials_ref.name, kube)


async def secret_credentials(namespace: str, name: str, kube: Any,
                             ) -> tuple[Credentials | None, str | None]:
    """Credentials from a Secret in the object's namespace, or why there are none."""
    try:
        data = await kube.secret_data(namespace, name)
        creds = Credentials.from_secret_data(data)
    except SecretProblem as exc:
        return None, f"credentialsRef: {exc}"
    except ValueError as exc:
        return None, f"credentialsRef: Secret {namespace}/{name}: {exc}"
    logsafety.remember(creds.access_key_secret)
    logsafety.remember(creds.security_token)
    return creds, None


def _value(enum_or_str: object) -> str:
    return str(getattr(enum_or_str, "value", enum_or_str))
