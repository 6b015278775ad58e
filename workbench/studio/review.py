"""Storing and reviewing AI model photos (AI模特图审核): provenance, the review queue, what is for use.

Every generated image is a PNG under ``studio.output_dir`` (``<skc>/<photo_id>.png``, with a JSON file of
its provenance beside it and the same in the PNG's text chunks) and a row of ``raw.model_photos`` written
through the user's governed session (granted, audited). Review decisions are rows of
``raw.model_photo_decisions``: append-only, the latest per photo wins; ``rejected`` needs a reason; nobody
decides on a photo they generated (four eyes: the shoot's author is not its reviewer). A photo is
**pending** until decided, and only **approved** photos are for use (:func:`photos_for_use`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from typing import Iterable

import pandas as pd
import pyarrow as pa
from PIL import Image, PngImagePlugin

from workbench.studio.model_photos import ModelPhoto
from workbench.warehouse.schema import LOGS

__all__ = ["PHOTOS", "DECISIONS_LOG", "DECISIONS", "save_photos", "decide", "review_queue", "photos_for_use",
           "latest_decisions", "decision_problems"]

PHOTOS = "raw.model_photos"
DECISIONS_LOG = "raw.model_photo_decisions"
DECISIONS = ("approved", "rejected")
MAX_REASON = 1000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _png(photo: ModelPhoto) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("provenance", json.dumps(photo.provenance, ensure_ascii=False, sort_keys=True))
    buffer = io.BytesIO()
    photo.image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def _row(photo: ModelPhoto, relative: str, data: bytes, created_at: dt.datetime) -> dict:
    columns = LOGS[PHOTOS].column_names
    row = {k: v for k, v in photo.provenance.items() if k in columns}
    return {**{c: None for c in columns}, **row, "image_path": relative,
            "image_sha256": hashlib.sha256(data).hexdigest(), "created_at": created_at}


def _empty(table: str) -> pd.DataFrame:
    return LOGS[table].ibis_schema().to_pyarrow().empty_table().to_pandas()


def _arrow(table: str, frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, schema=LOGS[table].arrow_schema(), preserve_index=False)


def _read(session, table: str) -> pd.DataFrame:
    return session.table(table).to_pandas() if session.table_exists(table) else _empty(table)


def save_photos(session, photos: Iterable[ModelPhoto], output_dir: str | Path) -> pd.DataFrame:
    """Store ``photos`` (files under ``output_dir``, rows in ``raw.model_photos``); the rows written.

    A photo already stored (same ``photo_id``) is not written again, so re-running a shoot adds nothing.
    """
    photos = list(photos)
    known = set(_read(session, PHOTOS)["photo_id"])
    created_at, rows = _now(), []
    for photo in [p for p in photos if p.photo_id not in known]:
        relative = f"{photo.provenance['skc_code']}/{photo.photo_id}.png"
        target = Path(output_dir) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        data = _png(photo)
        target.write_bytes(data)
        row = _row(photo, relative, data, created_at)
        target.with_suffix(".json").write_text(json.dumps({**photo.provenance, **row}, default=str,
                                                          ensure_ascii=False, indent=1), encoding="utf-8")
        rows.append(row)
        known.add(photo.photo_id)
    frame = pd.DataFrame(rows, columns=LOGS[PHOTOS].column_names)
    if rows:
        session.write(PHOTOS, _arrow(PHOTOS, frame))
    return frame


def decision_problems(photo_id: str, decision: str, reason: str, reviewer: str, photos: pd.DataFrame) -> list[str]:
    """What is wrong with deciding ``decision`` on ``photo_id`` (empty: nothing). Pure."""
    if decision not in DECISIONS:
        return [f"{photo_id}: unknown decision {decision!r}; choose {' or '.join(DECISIONS)}"]
    found = photos[photos["photo_id"] == photo_id]
    problems = []
    if found.empty:
        problems.append(f"{photo_id}: no such photo in {PHOTOS}")
    elif (found["created_by"] == reviewer).any():
        problems.append(f"{photo_id}: {reviewer} generated this photo; another person must review it")
    reason = (reason or "").strip()
    if decision == "rejected" and not reason:
        problems.append(f"{photo_id}: a reason is required to reject a photo")
    if len(reason) > MAX_REASON:
        problems.append(f"{photo_id}: the reason is {len(reason)} characters; keep it under {MAX_REASON}")
    return problems


def decide(session, photo_ids: Iterable[str], decision: str, reason: str = "") -> pd.DataFrame:
    """Approve or reject ``photo_ids`` as the session's user, all or none; the decision rows written.

    Raises ``ValueError`` listing every problem (nothing written), or ``PermissionError`` from the door when
    the user may not review.
    """
    photo_ids = list(dict.fromkeys(photo_ids))
    if not photo_ids:
        raise ValueError("nothing to decide: give one or more photo ids")
    photos = _read(session, PHOTOS)
    problems = [p for pid in photo_ids for p in decision_problems(pid, decision, reason, session.user.name, photos)]
    if problems:
        raise ValueError("; ".join(problems))
    when = _now()
    rows = pd.DataFrame([{"photo_id": pid, "decision": decision, "reason": (reason or "").strip() or None,
                          "decided_by": session.user.name, "decided_role": session.role.name, "decided_at": when,
                          "run_id": None} for pid in photo_ids], columns=LOGS[DECISIONS_LOG].column_names)
    session.write(DECISIONS_LOG, _arrow(DECISIONS_LOG, rows))
    return rows


def latest_decisions(decisions: pd.DataFrame) -> pd.DataFrame:
    """The decision in force per photo: its latest row by ``decided_at``. Pure."""
    ordered = decisions.sort_values("decided_at", kind="stable")
    return ordered.drop_duplicates("photo_id", keep="last").reset_index(drop=True)


def review_queue(session, status: str | None = None, skc_code: str | None = None) -> pd.DataFrame:
    """Every photo the user may see with its ``status`` (pending | approved | rejected), reviewer and reason,
    newest first; ``status`` / ``skc_code`` narrow it."""
    photos = _read(session, PHOTOS)
    now = latest_decisions(_read(session, DECISIONS_LOG))[["photo_id", "decision", "reason", "decided_by", "decided_at"]]
    queue = photos.merge(now, on="photo_id", how="left")
    queue.insert(1, "status", queue.pop("decision").fillna("pending"))
    if status is not None:
        queue = queue[queue["status"] == status]
    if skc_code is not None:
        queue = queue[queue["skc_code"] == skc_code]
    return queue.sort_values(["created_at", "skc_code", "variant"], ascending=[False, True, True]).reset_index(drop=True)


def photos_for_use(session, skc_code: str | None = None) -> pd.DataFrame:
    """The approved photos (可用图片): the only ones the shop, the catalogue and campaigns may use."""
    return review_queue(session, status="approved", skc_code=skc_code)
