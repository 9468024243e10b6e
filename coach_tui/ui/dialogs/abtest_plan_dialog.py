"""Plan an A/B test: target muscle, 2–4 variations (library or typed in), sets, reps and rest; shows the
proposed counterbalanced order. Dismisses with a :class:`PlannedTest`, or None."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from coach_tui.domain.ab_variations import typed_variation, variation_exercise, variation_origin
from coach_tui.domain.abtest import MAX_VARIATIONS, MIN_VARIATIONS, ABPlanSettings, counterbalanced_order, order_notes
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import Exercise
from coach_tui.domain.names import cut
from coach_tui.ui.widgets.tick_list import TickList

LETTERS = "ABCD"


def order_letters(order: tuple[int, ...]) -> str:
    """The order of sets as letters: "A B B A"."""
    return " ".join(LETTERS[i] for i in order)


def words(key: str) -> str:
    """A muscle key as a trainer says it: ``glute_max`` → "glute max"."""
    return key.replace("_", " ")


@dataclass(frozen=True, slots=True)
class PlannedTest:
    """The planned test: target muscle, variations (exercise keys, A first), order of sets, settings."""

    target: str
    variations: tuple[str, ...]
    order: tuple[int, ...]
    settings: ABPlanSettings


class ABTestPlanDialog(ModalScreen[PlannedTest | None]):
    """Space picks library exercises (in order A, B, …), typed names add more; Enter starts, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="abplan.cancel")]

    def __init__(self, client: Client, muscles: list[str], target: str, library: Mapping[str, Exercise],
                 settings: ABPlanSettings):
        super().__init__()
        self.client = client
        self.muscles = muscles
        self.target = target
        self.library = library
        self.settings = settings

    def compose(self) -> ComposeResult:
        s = self.settings
        with VerticalScroll(id="dialog"):
            yield Label(f"New A/B test — {cut(self.client.name, 40)}", id="dialog-title")
            with Horizontal(classes="abplan-row"):
                yield Label("target muscle ", classes="abplan-label")
                yield Select([(words(m), m) for m in self.muscles], value=self.target, allow_blank=False,
                             compact=True, id="abplan-target")
            yield Label("variations: space picks, in order A, B, …", classes="hint")
            yield TickList(id="abplan-variations")
            with Horizontal(classes="abplan-row"):
                yield Label("or type names ", classes="abplan-label")
                yield Input(placeholder="e.g. banded hip thrust, kas glute bridge", compact=True, id="abplan-typed")
            yield Static("", id="abplan-notes")
            with Horizontal(classes="abplan-row", id="abplan-numbers"):
                yield Label("sets each ")
                yield Input(str(s.sets_per_variation), type="integer", compact=True, id="abplan-sets")
                yield Label("  reps a set ")
                yield Input(str(s.reps_per_set), type="integer", compact=True, id="abplan-reps")
                yield Label("  rest s ")
                yield Input(f"{s.rest_seconds:g}", type="number", compact=True, id="abplan-rest")
            yield Static("", id="abplan-order")
            yield Label("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Start test", variant="primary", compact=True, id="start")
                yield Button("Cancel", compact=True, id="cancel")
                yield Label("  Tab next · Enter start · Esc cancel", classes="hint")

    def on_mount(self) -> None:
        self._fill_variations()
        self.query_one(SelectionList).focus()

    def _fill_variations(self) -> None:
        """The library, exercises for the target first; the others are measured on the target."""
        listed = sorted(self.library.values(), key=lambda e: e.target != self.target)
        options = [(e.name if e.target == self.target else f"{e.name} (for the {words(e.target)})", e.key) for e in listed]
        variations = self.query_one(SelectionList)
        variations.clear_options()
        variations.add_options(options)
        variations.highlighted = 0
        self._update()

    # -- reading the form -------------------------------------------------------------------

    def _variations(self) -> list[Exercise]:
        """Picked, then typed-in variations; ``ValueError`` unless 2–4 different ones."""
        picked = [variation_exercise(key, self.target, self.library) for key in self.query_one(SelectionList).selected]
        typed = [typed_variation(text, self.target, self.library)
                 for text in self.query_one("#abplan-typed", Input).value.split(",") if text.strip()]
        chosen = picked + typed
        keys = [e.key for e in chosen]
        twice = sorted({e.name for e in chosen if keys.count(e.key) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} is chosen twice")
        if not MIN_VARIATIONS <= len(chosen) <= MAX_VARIATIONS:
            raise ValueError(f"pick {MIN_VARIATIONS}–{MAX_VARIATIONS} variations (space in the list, or type names "
                             f"separated by commas); {len(chosen)} chosen")
        return chosen

    def _plan_settings(self) -> ABPlanSettings:
        """The numbers typed, each checked in the trainer's words before the plan is made of them."""
        def number(widget_id: str, what: str, kind, low: float, high: float | None, allowed: str):
            text = self.query_one(f"#{widget_id}", Input).value.strip()
            try:
                value = kind(text)
            except ValueError:
                raise ValueError(f"{what}: type a number ({allowed})" if text else f"{what}: type {allowed}") from None
            if value < low or (high is not None and value > high) or value != value:
                raise ValueError(f"{what}: {text} is not possible — {allowed}")
            return value

        return ABPlanSettings(number("abplan-sets", "sets each", int, 1, 8, "1 to 8 sets of each variation"),
                              number("abplan-reps", "reps a set", int, 2, 30, "2 to 30 reps"),
                              number("abplan-rest", "rest", float, 0.0, None, "0 or more seconds"))

    def _plan(self) -> PlannedTest:
        variations = self._variations()
        settings = self._plan_settings()
        order = counterbalanced_order(len(variations), settings.sets_per_variation)
        return PlannedTest(self.target, tuple(e.key for e in variations), order, settings)

    # -- showing what it gives --------------------------------------------------------------

    def _update(self) -> None:
        """The typed-in variations explained, and the proposed order with what its counts cannot balance."""
        notes: list[str] = []
        try:
            chosen = self._variations()
        except ValueError as error:
            chosen, problem = [], str(error)
        else:
            problem = ""
        for exercise in chosen:
            origin = variation_origin(exercise, self.library)
            if not origin.endswith("from the library"):
                notes.append(origin)
        self.query_one("#abplan-notes", Static).update("\n".join(notes))
        try:
            plan = self._plan()
        except ValueError as error:
            order = f"order: — {problem or error}"
        else:
            names = "  ".join(f"{LETTERS[i]} {e.name}" for i, e in enumerate(chosen))
            warnings = order_notes(len(plan.variations), plan.settings.sets_per_variation)
            order = "\n".join([f"order: {order_letters(plan.order)}  ·  {names}", *(f"⚠ {w}" for w in warnings)])
        self.query_one("#abplan-order", Static).update(order)
        self.query_one("#dialog-error", Label).update("")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.value != self.target:
            self.target = event.value
            self._fill_variations()

    def on_selection_list_selected_changed(self) -> None:
        self._update()

    def on_input_changed(self) -> None:
        self._update()

    def on_input_submitted(self) -> None:
        self._start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self._start()
        else:
            self.dismiss(None)

    def _start(self) -> None:
        try:
            plan = self._plan()
        except ValueError as error:
            self.query_one("#dialog-error", Label).update(str(error))
            return
        self.dismiss(plan)

    def action_cancel(self) -> None:
        self.dismiss(None)
