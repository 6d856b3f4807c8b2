"""From a parsed spec and its Secrets to the plain ``Desired`` the core decides on."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mpu_operator import catalogue, logsafety
from mpu_operator.api import overlays
from mpu_operator.api.spec import MediaUsers, MPUTaskSpec, stream_url_problem
from mpu_operator.controller.kube import SecretProblem
from mpu_operator.core import fingerprint, taskid
from mpu_operator.core.model import Desired, Record
from mpu_operator.core.reasons import INVALID_STREAM_URL, NO_CREDENTIALS, SECRET_NOT_FOUND
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
                  defaults_refused: str | None = None) -> Resolved:
    """Read what the spec points at (Secrets) and reduce it all to ``Desired``.

    A missing Secret never changes what a running task is compared against: its
    fingerprints fall back to what the task was started with, so a deleted URL Secret
    does not restart (or stop) a live broadcast; it only blocks the next start. A URL read
    from a Secret obeys exactly the rules of ``spec.streamURL``, and a value that breaks
    them is used and shown nowhere (it may be any secret put under the wrong key).
    ``defaults_refused`` says why the operator's own credentials are not for this object.
    """
    namespace = str(meta.get("namespace", ""))
    waiting: tuple[str, str, bool] | None = None
    url: str | None = spec.stream_url
    if url is None and spec.stream_url_from is not None:
        url, waiting = await _secret_url(spec, namespace, kube)
    creds, creds_problem = await _credentials(spec, namespace, kube, defaults,
                                              defaults_refused)
    if creds is None and waiting is None:
        waiting = (SECRET_NOT_FOUND if spec.credentials_ref else NO_CREDENTIALS,
                   creds_problem or "", False)
    base, from_spec = task_id_base(spec, meta)
    layout = spec.layout_params()
    task = live_params(spec, layout)
    start = with_live_params(spec.start_params("", url), task) if url else None
    key: StreamKey | None = stream_key(url) if url else None
    immutable = (fingerprint.current_immutable(start, base, record.applied_immutable)
                 if start else record.applied_immutable or "")
    return Resolved(
        desired=Desired(
            app_id=spec.app_id, stream_key=key, start=start, layout=task.layout, task=task,
            immutable_fingerprint=immutable,
            layout_fingerprint=fingerprint.layout_fingerprint(layout),
            task_id_base=base, task_id_from_spec=from_spec, suspend=bool(spec.suspend),
            credentials_secret=spec.credentials_ref.name if spec.credentials_ref else None,
            restart_policy=_value(spec.restart_policy),
            waiting_reason=waiting[0] if waiting else None,
            waiting_message=waiting[1] if waiting else "",
            waiting_stalled=waiting[2] if waiting else False,
            start_at=spec.schedule.start_time() if spec.schedule else None,
            stop_at=spec.schedule.stop_time() if spec.schedule else None,
        ),
        credentials=creds,
        credentials_problem=creds_problem,
    )


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
    ref = spec.stream_url_from.secret_key_ref
    try:
        url = await kube.secret_value(namespace, ref.name, ref.key)
    except SecretProblem as exc:
        return None, (SECRET_NOT_FOUND, f"streamURLFrom: {exc}", False)
    problem = stream_url_problem(url)
    if problem is not None:
        return None, (INVALID_STREAM_URL, f"streamURLFrom: the value of key {ref.key!r} in "
                                          f"Secret {namespace}/{ref.name} {problem}", True)
    return url, None


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
