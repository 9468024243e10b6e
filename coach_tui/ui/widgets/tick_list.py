"""A selection list whose boxes show a tick when picked, so the state reads without colour (16
colours, TERM=screen) as well as with it."""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Checkbox, SelectionList
from textual.widgets.option_list import OptionDoesNotExist

TICK, EMPTY = "✓", " "


class TickList(SelectionList):
    """``SelectionList`` drawing ✓ in a picked box and leaving an unpicked one empty."""

    def render_line(self, y: int) -> Strip:
        line = super().render_line(y)
        try:
            selection = self.get_option_at_index(self.scroll_offset.y + y)
        except OptionDoesNotExist:
            return line
        glyph = TICK if selection.value in self._selected else EMPTY
        segments, swapped = [], False
        for segment in line:
            if not swapped and segment.text == Checkbox.BUTTON_INNER:  # the box SelectionList draws
                segment, swapped = Segment(glyph, segment.style, segment.control), True
            segments.append(segment)
        return Strip(segments, line.cell_length)
