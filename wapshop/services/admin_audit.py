"""The audit log: every change made in the back office or from the command line, with the
values before and after, readable by admins."""

import json
from datetime import date, datetime

from sqlalchemy import insert, select

from wapshop.extensions import db
from wapshop.models import AuditEntry, Staff
from wapshop.clock import utcnow
from wapshop.services.pagination import Page, paginate

CLI = "cli"  # the actor of changes made by `flask` commands


def snapshot(obj, fields: tuple[str, ...]) -> dict:
    """The named attributes of a model as JSON-ready values."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def record(
    actor: Staff | None,
    action: str,
    entity: str,
    entity_id,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry | None:
    """Write one entry (flushes; the caller commits). With both before and after, only the
    fields that changed are kept, and a change that changed nothing writes no entry."""
    if before is not None and after is not None:
        changed = [k for k in after if before.get(k) != after[k]]
        if not changed:
            return None
        before = {k: before.get(k) for k in changed}
        after = {k: after[k] for k in changed}
    entry = AuditEntry(**_values(actor, action, entity, entity_id, before, after))
    db.session.add(entry)
    db.session.flush()
    return entry


def record_created(actor: Staff | None, action: str, entity: str, created) -> None:
    """One entry per (entity_id, after) pair, inserted in bulk: an import adds thousands."""
    rows = [_values(actor, action, entity, entity_id, None, after) for entity_id, after in created]
    if rows:
        db.session.execute(insert(AuditEntry), rows)


def _values(actor: Staff | None, action, entity, entity_id, before, after) -> dict:
    return {
        "at": utcnow(),
        "staff_id": actor.id if actor else None,
        "actor": actor.username if actor else CLI,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "before_json": _json(before),
        "after_json": _json(after),
    }


def _json(values: dict | None) -> str | None:
    return None if values is None else json.dumps(values, ensure_ascii=False, sort_keys=True)


def entries(
    number: int, per_page: int, entity: str | None = None, entity_id: str | None = None
) -> Page:
    """Newest first, optionally for one entity (and id). Raises PageOutOfRange."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
        if entity_id:
            stmt = stmt.where(AuditEntry.entity_id == entity_id)
    return paginate(stmt, number, per_page)
