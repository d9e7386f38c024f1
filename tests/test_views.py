"""The record's derived tables (views.py) say what the fold says, whatever the order of arrival.

Events reach a record by appends (one at a time, in the order they were made) and by imports
of exchange copies (batches, in any order, with duplicates). However they came, the `entries`
and `incidents` rows must equal what `fold` of all the events says, incident by incident.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_state import deliveries, event_sequences

from warroom.record.clock import FrozenClock
from warroom.record.events import Event, from_row, problem
from warroom.record.model import State
from warroom.record.fold import fold
from warroom.record.store import Store
from warroom.paths import record_path
from warroom.share import exchange

LATER = FrozenClock("2026-11-25T09:00:00Z")  # after every stamp of the pool: none is "from the future"


def as_read(events: list[Event]) -> list[Event]:
    """The events as a record gives them back: every string made inert when decoded."""
    return [from_row(event.to_row()) for event in events]


def fold_rows(state: State) -> tuple[dict, dict]:
    entries = {}
    for incident in state.incidents.values():
        for entry in incident.entries:
            entries[entry.id] = (incident.id, entry.at, entry.hlc, entry.author, entry.type, entry.text, entry.auto,
                                 entry.source, int(entry.deleted), len(entry.history))
    incidents = {i.id: (i.declared_at, i.status, i.severity, i.title) for i in state.incidents.values()}
    return entries, incidents


def view_rows(store: Store) -> tuple[dict, dict]:
    entries = {row[0]: row[1:] for row in store.conn.execute(
        "select id, incident, at, hlc, author, type, text, auto, source, deleted, revisions from entries")}
    incidents = {row[0]: row[1:] for row in store.conn.execute(
        "select id, declared_at, status, severity, title from incidents")}
    return entries, incidents


def deliver(store: Store, folder: Path, batch: list[Event], n: int, one_by_one: bool) -> None:
    if one_by_one:  # the append path: each event in its own transaction, as Store.append writes it
        for event in batch:
            if problem(event) is not None or store.events("where id = ?", (event.id,)):
                continue  # append refuses what the fold would; an id is written once
            store.conn.execute("begin immediate")
            store._insert(as_read([event]))  # what Store.append stores: the event as read back
            store.conn.execute("commit")
        return
    copy = folder / f"batch-{n}.db"
    rows = {}
    for event in batch:
        values = event.to_row()
        rows[event.id] = tuple(values[c] for c in ("id", "incident", "hlc", "author", "kind", "at", "body"))
    exchange.write_rows(copy, list(rows.values()))
    store.import_file(copy, f"batch-{n}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_views_equal_the_fold_whatever_the_order_and_batching(data):
    events = data.draw(event_sequences())
    first, second = deliveries(data.draw, events)
    delivered = first + second
    cuts = sorted(data.draw(st.lists(st.integers(0, len(delivered)), max_size=4)))
    batches = [delivered[i:j] for i, j in zip([0, *cuts], [*cuts, len(delivered)])]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with Store(record_path(folder), clock=LATER, author="reader", create_missing=True) as store:
            for n, batch in enumerate(batches):
                deliver(store, folder, batch, n, one_by_one=data.draw(st.booleans()))
            expected = fold_rows(fold(as_read(events)))
            assert view_rows(store) == expected
            store.rebuild_views()
            assert view_rows(store) == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_sequences())
def test_appends_in_order_keep_the_views_equal_to_the_fold(events):
    """The usual case: events arrive one by one in the order they were made."""
    with tempfile.TemporaryDirectory() as tmp:
        with Store(record_path(Path(tmp)), clock=LATER, author="reader", create_missing=True) as store:
            deliver(store, Path(tmp), sorted(events, key=lambda e: e.order_key), 0, one_by_one=True)
            assert view_rows(store) == fold_rows(fold(as_read(events)))
