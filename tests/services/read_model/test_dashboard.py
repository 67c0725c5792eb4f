"""The dashboard's own reads: the badges' counts and the provider picker, per viewer."""

from __future__ import annotations

from tests.factories import make_engagement, make_user
from tracker.extensions import db
from tracker.models import Engagement, User
from tracker.services.judgments import engagement_counts
from tracker.services.read_model.dashboard import build_dashboard
from tracker.services.read_model.engagement_list import ListQuery


def test_counts_and_pickers_follow_what_each_viewer_may_see(ctx):
    """The badges' statement and the providers' one are built once per visibility rule
    (ADR 0257): whoever asks first, a manager, a provider and a stakeholder each count
    only the engagements they may see, and see a provider filter only with two."""
    owner = make_user("manager")
    northwind = [make_engagement(owner, provider="Northwind ML") for _ in range(3)]
    quanta = make_engagement(owner, provider="Quanta Labs")
    follower = make_user("stakeholder")
    db.session.get(Engagement, quanta.id).followers.append(db.session.get(User, follower.id))
    provider = make_user("provider", provider="Northwind ML")
    db.session.commit()
    # written straight to the cached column the lists read (the derived-data hooks would
    # recompute it from the data)
    db.session.execute(
        db.update(Engagement).where(Engagement.id == quanta.id).values(effective_health="red")
    )
    engagement_counts.recount(db.session)  # what the app's writers would have recorded
    db.session.commit()
    expected = {
        follower.id: ({"red": 1, "amber": 0, "green": 0}, 1, False),
        provider.id: ({"red": 0, "amber": 0, "green": 3}, 3, False),
        owner.id: ({"red": 1, "amber": 0, "green": 3}, 4, True),
    }
    for _round in range(2):  # the statements built for one viewer serve the next
        for user_id, (by_health, rows, several) in expected.items():
            viewer = db.session.get(User, user_id)
            board = build_dashboard(viewer, ListQuery(live_only=True))
            assert board.by_health == by_health, viewer.role
            assert sum(board.by_state.values()) == board.total == len(board.rows) == rows
            assert board.pickers.several_providers is several, viewer.role
    assert {row.engagement.id for row in build_dashboard(provider, ListQuery()).rows} == {
        e.id for e in northwind
    }
