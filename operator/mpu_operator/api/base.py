"""What every spec model shares: the strict configuration and the common value types.

A module of its own so that the spec and its parts (overlays, and the other kinds'
models) import it without importing each other.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from mpu_operator import catalogue
from mpu_operator.api.problems import COLOR_PATTERN, OBJECT_NAME_PATTERN

MAX_NAME_LENGTH = 253


class StrictModel(BaseModel):
    """Common configuration: strict JSON types, no unknown fields, no input in errors.

    Strict, because the API server would refuse ``mediaEncode: "20"`` and ``validate`` must
    agree with it; ``extra="forbid"`` because a misspelt optional field would otherwise be
    silently ignored (the API server prunes it) and the user would never learn why; hidden
    input because a ValidationError's text could otherwise quote the stream URL's auth key.
    """

    model_config = ConfigDict(strict=True, extra="forbid", validate_by_alias=True,
                              validate_by_name=True, frozen=True, hide_input_in_errors=True)


ObjectName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH,
                                  pattern=OBJECT_NAME_PATTERN)]
#: AppId, ChannelId and UserId: the service's documented length and character set.
RtcId = Annotated[str, Field(min_length=1, max_length=catalogue.MAX_RTC_ID_LENGTH,
                             pattern=catalogue.RTC_ID_PATTERN)]
#: A colour as people write it; the service takes ``R + G*256 + B*65536``
#: (:func:`mpu_operator.catalogue.color_to_int`).
Color = Annotated[str, Field(pattern=COLOR_PATTERN)]
#: A position or size as a fraction of the output picture: 0 is the left (top) edge, 1 the
#: right (bottom) edge.
Fraction = Annotated[float, Field(ge=0, le=1)]
