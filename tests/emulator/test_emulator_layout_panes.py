"""The emulator's same-pane-count rule counts custom layouts by their panes (a layout of
the app used in StartMPUTask/UpdateMPULayout beside a system layout, or another custom
one, with as many panes is refused)."""

from __future__ import annotations

import pytest

from mpu_operator.emulator import errors
from mpu_operator.emulator.errors import ApiError
from mpu_operator.emulator.layouts import LayoutBook, Pane


def panes(n: int) -> tuple[Pane, ...]:
    return tuple(Pane(i, 0, 0.0, 0.0, 0.5, 0.5, 0) for i in range(n))


def ids_of(ids: list[int | str], names: dict[str, int]) -> list[int]:
    return [names[i] if isinstance(i, str) else i for i in ids]


@pytest.fixture
def book() -> tuple[LayoutBook, int, int, int]:
    b = LayoutBook()
    two = b.create("app", "two", 1, panes(2))
    five = b.create("app", "five", 1, panes(5))
    other_two = b.create("app", "two-again", 1, panes(2))
    return b, two, five, other_two


@pytest.mark.parametrize("ids", [[1, "two"], [6, "five", 9], ["two", "five"], [5000, "two"]])
def test_different_pane_counts_pass(book: tuple[LayoutBook, int, int, int],
                                    ids: list[int | str]) -> None:
    b, two, five, _ = book
    b.check_ids("app", ids_of(ids, {"two": two, "five": five}))


@pytest.mark.parametrize(("ids", "said"), [
    ([2, "two"], "all have 2 panes"), ([13, "two"], "all have 2 panes"),
    (["two", "two-again"], "all have 2 panes"), ([7, "five"], "all have 5 panes"),
])
def test_a_custom_layout_with_the_pane_count_of_another_is_refused(
        book: tuple[LayoutBook, int, int, int], ids: list[int | str], said: str) -> None:
    b, two, five, other_two = book
    names = {"two": two, "five": five, "two-again": other_two}
    with pytest.raises(ApiError) as caught:
        b.check_ids("app", ids_of(ids, names))
    assert caught.value.code == errors.INVALID_LAYOUT_IDS
    assert said in str(caught.value)


def test_another_apps_layout_is_still_refused_first(book: tuple[LayoutBook, int, int, int]
                                                    ) -> None:
    b, two, _, _ = book
    with pytest.raises(ApiError) as caught:
        b.check_ids("app-2", [two])
    assert "is not a layout of app 'app-2'" in str(caught.value)
