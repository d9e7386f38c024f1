"""Every use of Textual's private parts, in one place.

The console leans on a few of Textual's internals where its public API has no way in:

- the key gate (controllers/keygate.py) asks whether a widget still has work in hand: a
  message pump's queue (`_message_queue`, its `_unfinished_tasks`), its `call_next`
  callbacks (`_next_callbacks`) and a screen's after-refresh callbacks (`_callbacks`);
- the log view (panes/logview.py) updates its virtual size without the layout pass the
  `virtual_size` reactive asks for (`set_reactive`, then `_scroll_update`);
- the exact inputs (inputs.py, panes/timeline.py) run an Input's own bindings the moment
  they read a key (`_bindings`, `_restart_blink`) and override Input's key and paste
  handlers (`_on_key`, `_on_paste`).

`RELIED_ON` names each one; tests/test_textual_private.py fails when an upgrade of Textual
renames or removes any of them, instead of the console quietly losing what they give.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.binding import Binding
    from textual.geometry import Size
    from textual.message_pump import MessagePump
    from textual.screen import Screen
    from textual.scroll_view import ScrollView
    from textual.widgets import Input

# (class, attribute): what must exist on a fresh instance of the class (or on the class)
RELIED_ON = (
    ("textual.message_pump.MessagePump", "_message_queue"),
    ("textual.message_pump.MessagePump", "_next_callbacks"),
    ("textual.message_pump.MessagePump", "_closed"),
    ("textual.screen.Screen", "_callbacks"),
    ("textual.widget.Widget", "_scroll_update"),
    ("textual.dom.DOMNode", "_bindings"),
    ("textual.widgets.Input", "_restart_blink"),
    ("textual.widgets.Input", "_on_key"),
    ("textual.widgets.Input", "_on_paste"),
)


def busy(pump: MessagePump) -> bool:
    """Has `pump` a message queued or in hand, or a callback waiting for its next idle?"""
    if getattr(pump, "_closed", False):
        return False
    queue = pump.__dict__.get("_message_queue")  # made on first use: none yet means empty
    if queue is not None and (queue.qsize() or getattr(queue, "_unfinished_tasks", 0)):
        return True
    return bool(getattr(pump, "_next_callbacks", None))


def has_refresh_callbacks(screen: Screen[Any]) -> bool:
    """Callbacks the screen runs after its next refresh (a dismissed dialog's result)."""
    return bool(getattr(screen, "_callbacks", None))


def set_virtual_size(view: ScrollView, size: Size) -> None:
    """A new virtual size without the whole-screen layout pass the reactive asks for (the
    view's height is fixed by the stylesheet, whatever it holds); the scrollbars follow."""
    view.set_reactive(type(view).virtual_size, size)
    view._scroll_update(size)


def key_bindings(widget: Input, key: str) -> tuple[Binding, ...]:
    """The bindings `widget` itself has for `key` (not its ancestors')."""
    return tuple(widget._bindings.key_to_bindings.get(key, ()))


def restart_blink(widget: Input) -> None:
    """Show the cursor at once after an edit, as Input does for the keys it handles."""
    widget._restart_blink()


def missing() -> list[str]:
    """The relied-on names the installed Textual lacks (empty when all is well)."""
    import importlib

    from textual.screen import Screen
    from textual.widget import Widget
    from textual.widgets import Input

    samples: dict[str, Any] = {
        "textual.message_pump.MessagePump": Widget(),
        "textual.screen.Screen": Screen(),
        "textual.widget.Widget": Widget(),
        "textual.dom.DOMNode": Widget(),
        "textual.widgets.Input": Input(),
    }
    gone = []
    for dotted, attribute in RELIED_ON:
        module, _, name = dotted.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        if not (hasattr(cls, attribute) or hasattr(samples[dotted], attribute)):
            gone.append(f"{dotted}.{attribute}")
    return gone
