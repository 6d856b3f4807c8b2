"""Overlays on the mixed picture: background images, watermarks, clocks, and per-pane
images and texts (StartMPUTask/UpdateMPUTask ``Backgrounds``, ``Watermarks``,
``ClockWidgets``, ``UserPanes.N.Images``, ``UserPanes.N.Texts``).

Positions and sizes are fractions of the picture (0..1), as the service takes them; colours
are ``#RRGGBB`` (the service takes ``R + G*256 + B*65536``). The service fetches images
itself, so an image is an http(s) URL. Every list is short and every string bounded, so a
hostile spec costs little to judge. Where the service documents no range (layer order,
font ids and sizes, border widths) the bound is only the wire's int32: the service judges.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator
from pydantic_core import PydanticCustomError

from mpu_operator import catalogue
from mpu_operator.api.base import Color, Fraction, StrictModel
from mpu_operator.api.problems import TEXT_PATTERN
from mpu_operator.api.urls import MAX_IMAGE_URL_LENGTH, image_url_problem

#: Items of ``layout.backgrounds``, ``layout.watermarks`` and ``layout.clockWidgets``.
MAX_OVERLAYS = 16
#: Images, and texts, of one user pane (16 panes, so at most 64 of each per task).
MAX_PANE_OVERLAYS = 4
#: Characters of one pane text: a name or a caption.
MAX_TEXT_LENGTH = 128
#: ``display``: 0 hides the image; 1 (the default) and 2 are the service's display modes.
MAX_DISPLAY = 2


def _check_image_url(value: str) -> str:
    problem = image_url_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


ImageURL = Annotated[str, Field(min_length=1, max_length=MAX_IMAGE_URL_LENGTH),
                     AfterValidator(_check_image_url)]
ZOrder = Annotated[int, Field(ge=0, le=catalogue.MAX_INT32)]
Display = Annotated[int, Field(ge=0, le=MAX_DISPLAY)]
Alpha = Annotated[float, Field(ge=0, le=1)]
Width = Annotated[int, Field(ge=0, le=catalogue.MAX_INT32)]

_URL = "Image URL (http:// or https://) that the service fetches; printable ASCII."
_X = "Left edge, as a fraction of the picture's width (0 to 1)."
_Y = "Top edge, as a fraction of the picture's height (0 to 1)."
_Z = "Layer: 0 is the bottom, higher layers are drawn over lower ones."
_DISPLAY = "0 hides the image; 1 (default) and 2 are the service's display modes."
_ALPHA = "Opacity from 0 (transparent) to 1 (opaque, the default)."


class BackgroundImage(StrictModel):
    """An image behind the panes (``Backgrounds.N``); by default it fills the picture."""

    url: ImageURL = Field(description=_URL)
    x: Fraction = Field(default=0.0, description=_X)
    y: Fraction = Field(default=0.0, description=_Y)
    width: Fraction = Field(default=1.0, description="Width as a fraction of the picture's "
                                                     "width (0 to 1; default 1).")
    height: Fraction = Field(default=1.0, description="Height as a fraction of the picture's "
                                                      "height (0 to 1; default 1).")
    z_order: ZOrder = Field(default=0, alias="zOrder", description=_Z)
    display: Display = Field(default=1, description=_DISPLAY)


class PaneImage(StrictModel):
    """An image over one user's pane (``UserPanes.N.Images.M``), e.g. a name plate."""

    url: ImageURL = Field(description=_URL)
    x: Fraction = Field(default=0.0, description=_X)
    y: Fraction = Field(default=0.0, description=_Y)
    width: Fraction = Field(description="Width as a fraction of the picture's width (0 to 1).")
    height: Fraction = Field(description="Height as a fraction of the picture's height "
                                         "(0 to 1).")
    z_order: ZOrder = Field(default=0, alias="zOrder", description=_Z)
    display: Display = Field(default=1, description=_DISPLAY)


class Watermark(PaneImage):
    """An image over the whole mix (``Watermarks.N``), e.g. a logo."""

    alpha: Alpha = Field(default=1.0, description=_ALPHA)


class TextStyle(StrictModel):
    """Where and how a text is drawn: shared by clocks and pane texts."""

    x: Fraction = Field(default=0.0, description=_X)
    y: Fraction = Field(default=0.0, description=_Y)
    alpha: Alpha = Field(default=1.0, description=_ALPHA)
    z_order: ZOrder = Field(default=0, alias="zOrder", description=_Z)
    font_type: int = Field(default=0, alias="fontType", ge=0, le=catalogue.MAX_INT32,
                           description="Font id from the service's font table (default 0).")
    font_size: int | None = Field(default=None, alias="fontSize", ge=1,
                                  le=catalogue.MAX_INT32,
                                  description="Font size; when omitted the service's default.")
    font_color: Color = Field(default="#FFFFFF", alias="fontColor",
                              description="Text colour, #RRGGBB (default white).")
    border_width: Width = Field(default=0, alias="borderWidth",
                                description="Width of the outline around the letters; 0 "
                                            "(default) draws none.")
    border_color: Color = Field(default="#000000", alias="borderColor",
                                description="Outline colour, #RRGGBB (default black).")
    box: bool = Field(default=False, description="Draw a filled box behind the text.")
    box_color: Color = Field(default="#000000", alias="boxColor",
                             description="Colour of the box, #RRGGBB (default black).")
    box_border_width: Width = Field(default=0, alias="boxBorderWidth",
                                    description="Width of the box's border; 0 (default) "
                                                "draws none.")

    @field_validator("font_size", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        """Optional means "may be left out", not "may be null": the schema has no nullable."""
        if value is None:
            raise PydanticCustomError("not_null", "must not be null")
        return value


class ClockWidget(TextStyle):
    """The time of day drawn over the mix (``ClockWidgets.N``)."""


class PaneText(TextStyle):
    """A text over one user's pane (``UserPanes.N.Texts.M``), e.g. the speaker's name."""

    text: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH, pattern=TEXT_PATTERN,
                      description="The text: one line, at most 128 characters, no control "
                                  "characters.")

