"""The merge laws, checked by hypothesis on real SQLite files.

Merging is a union of events by id, so it must be commutative, associative and idempotent:
for git's merge driver on exchange copies (`exchange.merge_files`), and for records taking in
each other's exchange copies (`Store.import_file`). Replicas that write with skewed clocks and
merge in any order never lose an event, and once everyone has merged with everyone they hold
the same record (same dump, same fold, same derived rows).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from warroom.record.clock import FrozenClock, OffsetClock
from warroom.record.events import STATUSES, Event, from_row, from_values
from warroom.record.model import State
from warroom.record.fold import fold
from warroom.record.store import Store
from warroom.paths import record_path
from warroom.share import exchange
from warroom.share.dump import dump_text
from warroom.share.exchange import merge_files

AUTHORS = ("alice", "bob", "carol")
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- a pool of well-formed events; replicas hold subsets of it ------------------------------


def _stamp(ms: int, counter: int) -> str:
    return f"{1795536000000 + ms:013d}.{counter:05d}"


def _at(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    return f"2026-11-24T15:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{millis:03d}Z"


@st.composite
def event_pool(draw) -> list[Event]:
    """Two declared incidents, then entries, edits, statuses and roles on them. Stamps are drawn
    from a small range so equal stamps from different authors (ties) are common."""
    ids = draw(st.lists(st.uuids(version=4).map(str), min_size=4, max_size=24, unique=True))
    incidents = ids[:2]
    events = []
    for incident in incidents:
        events.append(Event(incident, incident, _stamp(draw(st.integers(0, 50)), 0), draw(st.sampled_from(AUTHORS)),
                            "incident.declared", _at(0), {"title": f"incident {incident[:4]}", "severity": "P2"}))
    entries: list[str] = []
    for event_id in ids[2:]:
        incident = draw(st.sampled_from(incidents))
        ms, counter = draw(st.integers(0, 400)), draw(st.integers(0, 2))
        kind = draw(st.sampled_from(["entry.logged", "entry.logged", "incident.status", "entry.edited",
                                     "role.assigned", "incident.severity"]))
        if kind == "entry.edited" and not entries:
            kind = "entry.logged"
        if kind == "entry.logged":
            body = {"text": draw(st.text(max_size=12)), "type": draw(st.sampled_from(["note", "decision"]))}
            entries.append(event_id)
        elif kind == "entry.edited":
            body = {"target": draw(st.sampled_from(entries)), "text": draw(st.text(min_size=1, max_size=8))}
        elif kind == "incident.status":
            body = {"status": draw(st.sampled_from(STATUSES))}
        elif kind == "role.assigned":
            body = {"role": "Scribe", "person": draw(st.sampled_from(AUTHORS))}
        else:
            body = {"severity": draw(st.sampled_from(["P1", "P2", "P3"]))}
        events.append(Event(event_id, incident, _stamp(ms, counter), draw(st.sampled_from(AUTHORS)),
                            kind, _at(ms), body))
    return events


def write_db(path: Path, events: list[Event], vacuum: bool = False) -> Path:
    """An exchange copy holding `events`, as a teammate's git would bring it."""
    exchange.write_rows(path, [tuple(e.to_row().values()) for e in events])
    if vacuum:
        conn = sqlite3.connect(path)
        conn.execute("vacuum")
        conn.close()
    return path


def merged(folder: Path, name: str, ours: Path, *others: Path) -> Path:
    target = folder / name
    shutil.copyfile(ours, target)
    for other in others:
        merge_files(target, other)
    return target


def summary(state: State) -> list:
    """What a responder sees, as plain data: per incident its fields, roles and timeline."""
    return sorted(
        (i.id, i.short_id, i.title, i.severity, i.status, tuple(sorted((r, v.person) for r, v in i.roles.items())),
         tuple((e.id, e.text, e.deleted, len(e.history)) for e in i.timeline))
        for i in state.incidents.values())


def read_events(path: Path) -> list[Event]:
    """The events of an exchange copy or a record, as a reader decodes them."""
    try:
        rows, bad = exchange.read_rows(path)
    except Exception:  # a record: read it as the store does
        with Store(path, author="reader") as store:
            loaded = store.load()
        assert loaded.quarantined == []
        return loaded.events
    assert bad == []
    return [from_values(*row) for row in rows]


def record(path: Path) -> tuple[str, list]:
    return dump_text(path), summary(fold(read_events(path)))


def as_read(event: Event) -> Event:
    return from_row(event.to_row())  # every string inert, as decoded


subsets = st.lists(st.booleans(), min_size=24, max_size=24)


def pick(pool: list[Event], mask: list[bool], order: int) -> list[Event]:
    chosen = [e for e, keep in zip(pool, mask) if keep]
    return chosen[::-1] if order % 2 else chosen  # insertion order must not matter


@SETTINGS
@given(pool=event_pool(), masks=st.tuples(subsets, subsets, subsets), vacuum=st.booleans())
def test_merge_is_commutative_associative_idempotent(pool, masks, vacuum):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        a, b, c = (write_db(folder / f"{n}.db", pick(pool, m, i), vacuum=vacuum and i == 1)
                   for i, (n, m) in enumerate(zip("abc", masks)))
        ab, ba = merged(folder, "ab.db", a, b), merged(folder, "ba.db", b, a)
        assert record(ab) == record(ba)
        left = merged(folder, "ab_c.db", ab, c)
        bc = merged(folder, "bc.db", b, c)
        right = merged(folder, "a_bc.db", a, bc)
        assert record(left) == record(right)
        before = left.read_bytes()
        for again in (a, b, c, left):
            assert merge_files(left, again) == (0, [])
        assert left.read_bytes() == before  # idempotent: not even rewritten
        # The union, exactly: every event of every side, nothing else.
        union = {e.id: as_read(e) for mask in masks for e, keep in zip(pool, mask) if keep}
        assert {e.id: e for e in read_events(left)} == union
        assert sqlite3.connect(left).execute("pragma integrity_check").fetchone()[0] == "ok"
        # Records taking in the same copies, in either order, hold the same union.
        with Store(record_path(folder / "r1"), clock=LATER, author="r1", create_missing=True) as one, \
                Store(record_path(folder / "r2"), clock=LATER, author="r2", create_missing=True) as two:
            for store, order in ((one, (a, b, c)), (two, (c, left, b, a))):
                for copy in order:
                    store.import_file(copy, copy.name)
                assert {e.id: e for e in store.load().events} == union
            assert dump_text(one.path) == dump_text(two.path) == dump_text(left)
            assert views_of(one) == views_of(two)


LATER = FrozenClock("2026-11-25T09:00:00Z")  # after every stamp of the pool


def views_of(store: Store) -> tuple[list, list]:
    return (store.conn.execute("select id, incident, at, hlc, author, type, text, auto, source, deleted, "
                               "revisions from entries order by id").fetchall(),
            store.conn.execute("select * from incidents order by id").fetchall())


# --- replicas writing with skewed clocks and merging at random -------------------------------

SKEWS = (timedelta(0), timedelta(hours=-3), timedelta(minutes=7))


class Replicas(RuleBasedStateMachine):
    """Three war rooms on machines whose clocks disagree by hours, writing and merging at random:
    each takes in the others' exchange copies (as sync does with their refs)."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        folder = self.folder = Path(self.tmp.name)
        self.base = FrozenClock("2026-11-24T15:00:00Z")
        self.paths = [record_path(folder / f"r{i}") for i in range(len(SKEWS))]
        self.stores = [self._open(i) for i in range(len(SKEWS))]
        self.written: list[dict[str, Event]] = [{} for _ in SKEWS]  # what each replica must hold

    def _open(self, i: int) -> Store:
        return Store(self.paths[i], clock=OffsetClock(SKEWS[i], base=self.base), author=AUTHORS[i],
                     create_missing=True)

    def _incidents(self, i: int) -> list[str]:
        return sorted(e.id for e in self.written[i].values() if e.kind == "incident.declared")

    def _append(self, i: int, kind: str, incident: str | None, body: dict) -> None:
        newest = max((e.hlc for e in self.written[i].values()), default="")
        event = self.stores[i].append(kind, incident, body)
        assert event.hlc > newest  # causality: after everything this replica has seen, whatever its clock
        self.written[i][event.id] = event

    @rule(i=st.integers(0, 2))
    def declare(self, i):
        self._append(i, "incident.declared", None, {"title": f"from {AUTHORS[i]}", "severity": "P1"})

    @precondition(lambda self: any(self._incidents(i) for i in range(3)))
    @rule(i=st.integers(0, 2), which=st.integers(0, 10), text=st.text(max_size=10))
    def log(self, i, which, text):
        incidents = self._incidents(i)
        if incidents:
            self._append(i, "entry.logged", incidents[which % len(incidents)], {"text": text, "type": "note"})

    @rule(i=st.integers(0, 2), which=st.integers(0, 10), status=st.sampled_from(STATUSES))
    def set_status(self, i, which, status):
        incidents = self._incidents(i)
        if incidents:
            self._append(i, "incident.status", incidents[which % len(incidents)], {"status": status})

    @rule(seconds=st.integers(0, 5000))
    def time_passes(self, seconds):
        self.base.advance(seconds / 1000)

    def _take_in(self, a: int, b: int, other_process: bool = False) -> None:
        """b's record, published as an exchange copy, taken into a's record."""
        copy = self.folder / f"copy-{b}.db"
        exchange.write(self.paths[b], copy)
        if other_process:  # a `warroom sync` while a's console holds the record open
            with self._open(a) as store:
                result = store.import_file(copy, f"copy-{b}")
        else:
            result = self.stores[a].import_file(copy, f"copy-{b}")
        assert result.quarantined == []
        self.written[a].update(self.written[b])

    @rule(a=st.integers(0, 2), b=st.integers(0, 2), other_process=st.booleans())
    def merge(self, a, b, other_process):
        self._take_in(a, b, other_process)

    @invariant()
    def nothing_is_ever_lost(self):
        for i, store in enumerate(self.stores):
            held = {e.id: e for e in store.load().events}
            for event_id, event in self.written[i].items():
                assert held.get(event_id) == event

    @rule()
    def everyone_merges_with_everyone(self):
        n = len(self.paths)
        for _ in range(2):
            for a in range(n):
                for b in range(n):
                    if a != b:
                        self._take_in(a, b)
        records = [record(path) for path in self.paths]
        assert all(r == records[0] for r in records)
        assert all(views_of(store) == views_of(self.stores[0]) for store in self.stores)

    def teardown(self) -> None:
        try:
            self.everyone_merges_with_everyone()
            for path in self.paths:
                assert sqlite3.connect(path).execute("pragma integrity_check").fetchone()[0] == "ok"
        finally:
            for store in self.stores:
                store.close()
            self.tmp.cleanup()


Replicas.TestCase.settings = settings(max_examples=20, stateful_step_count=15, deadline=None,
                                      suppress_health_check=[HealthCheck.too_slow])
TestReplicas = Replicas.TestCase
