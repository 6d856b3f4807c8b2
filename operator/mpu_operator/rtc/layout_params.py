"""Typed parameters of CreateMPULayout / ModifyMPULayout and their wire encoding.

Apart from :mod:`.layouts` (the calls) so that the API model and ``mpu-operator validate``
import no HTTP library.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LayoutPane:
    """One ``Panes.N``: a rectangle of the picture, normalised to 0..1."""

    pane_id: int
    major_pane: bool
    x: float
    y: float
    width: float
    height: float
    z_order: int = 0


@dataclass(frozen=True)
class MPULayoutParams:
    """What CreateMPULayout and ModifyMPULayout both carry (besides Name and LayoutId)."""

    app_id: str
    audio_mix_count: int
    panes: tuple[LayoutPane, ...]

    def to_query(self) -> dict[str, str]:
        query = {"AppId": self.app_id, "AudioMixCount": str(self.audio_mix_count)}
        for n, pane in enumerate(self.panes, 1):
            query[f"Panes.{n}.PaneId"] = str(pane.pane_id)
            query[f"Panes.{n}.MajorPane"] = "1" if pane.major_pane else "0"
            query[f"Panes.{n}.X"] = _number(pane.x)
            query[f"Panes.{n}.Y"] = _number(pane.y)
            query[f"Panes.{n}.Width"] = _number(pane.width)
            query[f"Panes.{n}.Height"] = _number(pane.height)
            query[f"Panes.{n}.ZOrder"] = str(pane.z_order)
        return query


def _number(value: float) -> str:
    """A Float as the SDKs write it: ``str()`` of the number (0.25, 1.0)."""
    return str(float(value))
