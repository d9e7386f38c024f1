"""Themes are checked, not assumed (issue 17, item 7): in every theme file, each colour the
console draws text or a border in reaches WCAG's 4.5:1 against the background it is drawn on,
computed from the theme's own variables with WCAG's relative-luminance formula."""

from __future__ import annotations

import re

import pytest
from textual.color import Color

from warroom.paths import THEMES_DIR
from warroom.ui.themes import load_themes

THEMES = load_themes()
MINIMUM = 4.5

# (what, foreground variable, background variable): every pairing the stylesheet, the panes and
# the log view draw. `badge-text` is the text on the severity and countdown badges (black on a
# dark theme's bright badges, white on a light theme's dark ones: no colour reads both as text
# on a light background and under black text).
PAIRS = [
    ("text", "text", "background"),
    ("text in dialogs", "text", "surface"),
    ("header text", "text", "panel"),
    ("pane titles, help notes", "text-muted", "background"),
    ("dialog notes", "text-muted", "surface"),
    ("unfocused pane borders", "pane-border", "background"),
    ("focused pane borders, dialog titles", "primary", "background"),
    ("dialog borders", "primary", "surface"),
    ("errors (log lines, dialogs)", "error", "background"),
    ("dialog errors", "error", "surface"),
    ("warnings (log lines)", "warning", "background"),
    ("log sources", "primary", "background"),
    ("automatic timeline entries", "auto-entry", "background"),
    *[(f"check {state}", f"check-{state}", "background") for state in ("up", "degraded", "down", "unknown")],
    *[(f"countdown {phase}", f"countdown-{phase}", "background") for phase in ("ok", "soon", "overdue")],
    *[(f"severity badge {n}", "badge-text", f"sev-{n}") for n in range(4)],
    ("update due soon, in the header", "badge-text", "countdown-soon"),
    ("update overdue, in the header", "badge-text", "countdown-overdue"),
]


def luminance(color: Color) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(one: Color, other: Color) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def resolve(variables: dict[str, str], name: str, under: Color) -> Color:
    """A variable as drawn over `under`: `auto 87%` is Textual's contrasting text at that alpha."""
    value = variables[name]
    auto = re.fullmatch(r"auto(?: (\d+)%)?", value)
    if auto:
        alpha = int(auto.group(1) or 100) / 100
        return under.blend(under.get_contrast_text(1.0), alpha)
    color = Color.parse(value)
    return under.blend(color.with_alpha(1.0), color.a) if color.a < 1 else color


def variables_of(theme) -> dict[str, str]:
    return {**theme.to_color_system().generate(), **theme.variables}


def test_every_theme_file_is_loaded():
    assert sorted(theme.name for theme in THEMES) == ["warroom-dark", "warroom-high-contrast", "warroom-light"]
    assert len(list(THEMES_DIR.glob("*.toml"))) == len(THEMES)


@pytest.mark.parametrize("theme", THEMES, ids=lambda theme: theme.name)
def test_text_and_borders_reach_4_5_to_1(theme):
    variables = variables_of(theme)
    failures = []
    for what, foreground, background in PAIRS:
        under = resolve(variables, background, Color(0, 0, 0))
        over = resolve(variables, foreground, under)
        ratio = contrast(over, under)
        if ratio < MINIMUM:
            failures.append(f"{what}: {foreground} {over.hex} on {background} {under.hex} is {ratio:.2f}:1")
    assert not failures, "\n".join(failures)


def test_the_formula_matches_wcag_reference_values():
    assert contrast(Color(0, 0, 0), Color(255, 255, 255)) == pytest.approx(21.0)
    assert contrast(Color(119, 119, 119), Color(255, 255, 255)) == pytest.approx(4.48, abs=0.01)  # #777 fails


def test_the_stylesheet_draws_pane_borders_in_the_checked_variable():
    """The test above checks `pane-border`; the stylesheet must be what uses it."""
    from warroom.ui.app import WarroomApp

    sheet = (THEMES_DIR.parent / "src" / "warroom" / "ui" / WarroomApp.CSS_PATH).read_text()
    borders = re.findall(r"border(?:-top)?: \w+ \$([\w-]+)", sheet)
    assert borders and set(borders) <= {"pane-border", "primary", "countdown-ok", "countdown-soon",
                                         "countdown-overdue", "error"}, set(borders)
