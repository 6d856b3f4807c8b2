"""The indexed ledger answers every question exactly as the plain lists did.

A state machine tells the same random sequence of words (the cluster's, this process's,
another shard's; deletions; prunes) to ``Ledger`` and to ``ReferenceLedger`` (the O(N)
version it replaced, fed the way the kopf index used to feed it), and after each word asks
both every question the reconciler asks: the URL gate of every owner on every URL, the
quota of every app at several limits, the count of live tasks, whether a TaskId is
another's, and what each holds. Unsharded, sharded by URL hash and sharded by label.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from mpu_operator.core.ledger import Ledger
from mpu_operator.core.model import Owner
from mpu_operator.core.rules import IdClaim, UrlUse
from mpu_operator.core.shard import Shard, parse_selector

from .fixtures import at
from .ledger_reference import ReferenceLedger

TEN = timedelta(seconds=10)
OWNERS = (Owner(at(-100), "a", "one", "u1"), Owner(at(-50), "b", "two", "u2"),
          Owner(at(-50), "a", "three", "u0"), Owner(at(-10), "c", "four", "u4"))
#: Shards 0, 0 and 1 of 2 (pinned in test_killers_shard.py).
KEYS = ("rtmp://push.example.com/live/3", "rtmp://push.example.com/live/4",
        "rtmp://push.example.com/live/0")
APPS = ("a", "b")
IDS = ("X", "Y", "Z")
TIMES = tuple(at(s) for s in range(-30, 31, 3))
SHARDS = {"none": None, "hash": Shard(0, 2),
          "label": Shard(0, 2, parse_selector("team=a"))}

owners = st.sampled_from(OWNERS)
times = st.sampled_from(TIMES)


@st.composite
def uses_of(draw: st.DrawFn, owner: Owner) -> list[UrlUse]:
    return draw(st.lists(st.builds(
        UrlUse, st.just(owner), st.none() | st.sampled_from(KEYS), st.sampled_from(APPS),
        st.booleans(), st.none() | times, st.booleans()), max_size=3))


@st.composite
def owner_and_uses(draw: st.DrawFn) -> tuple[Owner, list[UrlUse]]:
    owner = draw(owners)
    return owner, draw(uses_of(owner))


def claims_of(owner: Owner) -> st.SearchStrategy[IdClaim]:
    return st.builds(IdClaim, st.just(owner), st.sampled_from(APPS), st.sampled_from(IDS),
                     st.none() | st.sampled_from(IDS))


@st.composite
def owner_and_claim(draw: st.DrawFn) -> IdClaim:
    return draw(claims_of(draw(owners)))


class SameAnswers(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.mode = "none"
        self.ledger = Ledger(at(-3600), TEN)
        self.reference = ReferenceLedger(at(-3600), TEN)
        self.seen: dict[Owner, tuple[list[UrlUse], IdClaim | None]] = {}
        self.woken = Counter[str]()

    @initialize(mode=st.sampled_from(sorted(SHARDS)))
    def start(self, mode: str) -> None:
        self.mode = mode
        self.ledger = Ledger(at(-3600), TEN, shard=SHARDS[mode])
        self.reference = ReferenceLedger(at(-3600), TEN, shard=SHARDS[mode])
        self.ledger.subscribe(lambda: self.woken.update(["indexed"]))
        self.reference.subscribe(lambda: self.woken.update(["reference"]))

    # ------------------------------------------------------------------ the words

    @rule(said=owner_and_uses(), claim=st.none() | st.booleans(), mine=st.booleans())
    def cluster_shows(self, said: tuple[Owner, list[UrlUse]], claim: bool | None,
                      mine: bool) -> None:
        """The index handler: another shard's object, sharded by label, then the uses."""
        owner, uses = said
        given = IdClaim(owner, "a", "X", "Y" if claim else None) if claim is not None \
            else None
        if self.mode == "label":
            self.ledger.note_foreign(owner, None if mine else uses)
            self.reference.note_foreign(owner, None if mine else list(uses))
        self.ledger.observe(owner, uses, given)
        before = self.seen.get(owner, ([], None))[1]
        self.seen[owner] = (uses, given if given is not None else before)

    @rule(owner=owners)
    def deleted(self, owner: Owner) -> None:
        self.ledger.unobserve(owner)
        self.seen.pop(owner, None)

    @rule(said=owner_and_uses())
    def recorded(self, said: tuple[Owner, list[UrlUse]]) -> None:
        owner, uses = said
        self.ledger.record(owner, uses)
        self.reference.record(owner, list(uses))

    @rule(claim=owner_and_claim())
    def claimed(self, claim: IdClaim) -> None:
        self.ledger.claim(claim)
        self.reference.claim(claim)

    @rule(now=times)
    def pruned(self, now: object) -> None:
        self.ledger.prune(now)  # type: ignore[arg-type]
        self.reference.prune(set(self.seen), now)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ the questions

    def _indexed(self) -> list[UrlUse]:
        return [u for uses, _ in self.seen.values() for u in uses]

    def _indexed_claims(self) -> list[IdClaim]:
        return [c for _, c in self.seen.values() if c is not None]

    @invariant()
    def same_gates(self) -> None:
        indexed = self._indexed()
        for me in OWNERS:
            for key in KEYS:
                for now in (at(-25), at(0), at(12)):
                    assert self.ledger.gate(me, key, now) == \
                        self.reference.gate(me, key, indexed, now), (me, key, now)

    @invariant()
    def same_quota_and_count(self) -> None:
        indexed = self._indexed()
        for me in OWNERS:
            for app in APPS:
                for limit in (0, 1, 2, 3):
                    assert self.ledger.quota_ok(me, app, limit) == \
                        self.reference.quota_ok(me, app, indexed, limit), (me, app, limit)
        assert self.ledger.active_count() == self.reference.active_count(indexed)

    @invariant()
    def same_taskids(self) -> None:
        indexed = self._indexed_claims()
        for owner in OWNERS:
            for app in APPS:
                for base, current in (("X", None), ("Y", "X"), ("Z", "Z")):
                    me = IdClaim(owner, app, base, current)
                    for candidate in IDS:
                        assert self.ledger.task_id_taken(me, candidate) == \
                            self.reference.task_id_taken(me, candidate, indexed), \
                            (me, candidate)

    @invariant()
    def same_memory(self) -> None:
        assert Counter(self.ledger.uses()) == Counter(self.reference.uses(self._indexed()))
        assert set(self.ledger.claims()) == set(self.reference.claims(self._indexed_claims()))
        for key in KEYS:
            assert Counter(self.ledger.uses_at(key)) == Counter(
                u for u in self.reference.uses(self._indexed()) if u.key == key)
        assert self.woken["indexed"] == self.woken["reference"]


SameAnswers.TestCase.settings = settings(max_examples=150, stateful_step_count=25,
                                         deadline=None)
test_the_indexed_ledger_answers_as_the_plain_lists_did = SameAnswers.TestCase
