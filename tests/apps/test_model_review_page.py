"""The model review page: what a viewer and the model reviewer see, and the Promote button.

Built with the page contract (``view(session)`` with a governed session of the
tiny warehouse, ``entry_point="app"``) and driven through its widgets, as the
browser would; no browser here (the lead's harness covers serving).
The MLflow parts share one module-scoped model set up through the real gate.
"""

from __future__ import annotations

import uuid

import panel as pn
import pytest

import workbench as wb
from tests.tracking.test_model_review import register, reviewed_model
from workbench.apps import model_review as review_page
from workbench.tracking import model_review as mr
from workbench.tracking import registry


@pytest.fixture
def open_session(tiny_settings):
    """``open_session(user)``: the read-only app session the page gets; closed after the test."""
    opened = []

    def open_(user: str):
        opened.append(wb.session(user, settings=tiny_settings, entry_point="app"))
        return opened[-1]

    yield open_
    for session in opened:
        session.close()


def texts(layout) -> str:
    """Everything the page says in Markdown and alerts, one string."""
    return "\n".join(str(p.object) for p in layout.select(pn.pane.Markdown))


def alerts(layout, kind: str | None = None) -> list[str]:
    return [str(a.object) for a in layout.select(pn.pane.Alert) if kind is None or a.alert_type == kind]


def usable_buttons(layout) -> list[pn.widgets.Button]:
    return [b for b in layout.select(pn.widgets.Button) if b.visible and not b.disabled]


def choose(layout, name: str) -> None:
    selector = layout.select(pn.widgets.Select)[0]
    assert name in selector.options
    selector.value = name


def aliases(name: str) -> dict[str, int]:
    return {alias: int(v) for alias, v in registry.connect().get_registered_model(name).aliases.items()}


# --- without MLflow ------------------------------------------------------------------------------------------


def test_no_mlflow_server_is_a_message_not_a_trace(open_session, monkeypatch):
    monkeypatch.setenv("WB_MLFLOW_URI", "http://127.0.0.1:9")  # nothing listens there
    layout = review_page.view(open_session("u_analyst"))
    assert any("MLflow) is not running" in a for a in alerts(layout, "warning"))
    assert not layout.select(pn.widgets.Select) and not layout.select(pn.widgets.Button)


def test_no_registered_models_is_a_message_in_the_frame(tiny_settings, monkeypatch):
    """Through the lead's frame (page.build): the model reviewer may open the page and gets the message."""
    from workbench.apps import page as frame

    monkeypatch.setattr(mr, "registered_models", lambda settings=None: [])
    layout, session = frame.build("model_review", "u_model_reviewer", settings=tiny_settings)
    try:
        assert session is not None and session.role.name == "model_reviewer"
        assert review_page.NO_MODELS in alerts(layout, "info")
    finally:
        session.close()


# --- with models on the real server --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(mlflow_server) -> dict[str, str]:
    """``reviewed``: v1 champion, v2 a challenger the gate rejected; ``unreviewed``: v1 never reviewed."""
    tag = uuid.uuid4().hex[:6]
    reviewed, unreviewed = f"page_reviewed_{tag}", f"page_unreviewed_{tag}"
    reviewed_model(reviewed)  # the library tests' set-up: metrics differ by version, v2 rejected for brand B
    register(unreviewed, 1)
    return {"reviewed": reviewed, "unreviewed": unreviewed}


@pytest.mark.slow
def test_a_viewer_sees_both_versions_and_cannot_promote(models, open_session):
    layout = review_page.view(open_session("u_analyst"))
    choose(layout, models["reviewed"])
    shown = texts(layout)
    assert "**Version 1** (champion)" in shown and "**Version 2** (challenger)" in shown
    assert "**Rejected**: challenger v2 against v1, decided by the gate" in shown
    assert review_page.VIEW_ONLY in alerts(layout, "secondary")
    assert not usable_buttons(layout) and not layout.select(pn.widgets.TextAreaInput)
    pngs = layout.select(pn.pane.PNG)
    assert len(pngs) == 4 and all(p.object.startswith(b"\x89PNG") for p in pngs)  # backtest + importance, twice
    tables = layout.select(pn.pane.DataFrame)
    assert len(tables) == 2  # the metrics and the gate's evidence
    metrics_html = tables[0].object.to_html()
    assert review_page.BETTER in metrics_html or review_page.WORSE in metrics_html


@pytest.mark.slow
def test_the_reviewer_promotes_with_a_reason(models, open_session):
    name = models["reviewed"]
    layout = review_page.view(open_session("u_model_reviewer"))
    choose(layout, name)
    buttons = usable_buttons(layout)
    assert [b.label for b in buttons] == ["Promote challenger v2 to champion"]
    reason = layout.select(pn.widgets.TextAreaInput)[0]

    buttons[0].clicks += 1  # no reason yet: refused, nothing moves
    assert any("needs a reason" in a for a in alerts(layout, "danger"))
    assert aliases(name) == {"champion": 1, "challenger": 2}

    why = "brand B is discontinued next season"
    reason.value = why
    buttons[0].clicks += 1
    assert aliases(name) == {"champion": 2, "previous_champion": 1}
    assert any("Version 2 of" in a and "is now the champion" in a for a in alerts(layout, "success"))
    latest = mr.latest_review(name)
    assert (latest.kind, latest.reviewer, latest.reason) == ("manual", "u_model_reviewer", why)
    assert reason.value == ""  # cleared for the next decision
    assert "decided by a model reviewer (signed u_model_reviewer)" in texts(layout)
    assert not usable_buttons(layout)  # no challenger left to promote


@pytest.mark.slow
def test_the_reviewer_is_told_to_run_the_gate_first(models, open_session):
    layout = review_page.view(open_session("u_model_reviewer"))
    choose(layout, models["unreviewed"])
    assert not usable_buttons(layout)
    assert any(f"run `wb models review {models['unreviewed']}` first" in a for a in alerts(layout, "info"))
