"""Sandbox processors: a prepaid-card processor and a bank that speak the shop's signed
protocol, served by this project only when SANDBOX_PAYMENTS is on (never in production).

Test cards, any operator, the serial's last digit decides (password: any digits of the
operator's length): 1 → success, 2 → wrong password, 3 → card already used, 4 → wrong face
value; anything else → wrong password. The bank's page lets the tester choose the outcome.
Notifications are kept and can be replayed, one by one or concurrently, to test idempotency;
like a real processor's retries, every delivery carries a fresh timestamp, signed anew."""

import csv
import io
import json
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, abort, current_app, redirect, render_template, request
from sqlalchemy import select

from wapshop.extensions import db
from wapshop.models import SandboxNotification
from wapshop.parsing import parse_int
from wapshop.payments import http, online, signing

bp = Blueprint("sandbox", __name__)

CARD_OUTCOMES = {"1": "success", "2": "wrong_password", "3": "used", "4": "wrong_face_value"}
REQUEST_MAX_AGE = 15 * 60


def _key(processor: str) -> str:
    return online.Settings.from_config(current_app.config).keys[processor]


def record(processor: str, url: str, fields: dict) -> SandboxNotification:
    note = SandboxNotification(processor=processor, url=url, body=json.dumps(fields))
    db.session.add(note)
    db.session.commit()
    return note


def deliver(note_id: int, times: int = 1) -> list[str]:
    """POST a kept notification to the shop `times` times at once; returns the answers.
    Each delivery is stamped and signed anew, as a processor's retry is."""
    note = db.session.get(SandboxNotification, note_id)
    url, kept, key = note.url, json.loads(note.body), _key(note.processor)

    def once(_):
        try:
            status, body = http.post_form(url, signing.resigned(kept, key))
            return f"{status} {body.strip()}"
        except http.Unreachable as exc:
            return f"unreachable {exc}"

    with ThreadPoolExecutor(max_workers=min(times, 20)) as pool:
        answers = list(pool.map(once, range(times)))
    note.deliveries += times
    note.last_answer = answers[-1][:200]
    db.session.commit()
    return answers


def _deliver_later(app, note_id: int, delay: float) -> None:
    """Answer like a real processor: after a while, from elsewhere (a thread here)."""

    def run():
        time.sleep(delay)
        with app.app_context():
            deliver(note_id)

    threading.Thread(target=run, daemon=True).start()


@bp.post(online.SANDBOX_CARD_SUBMIT_PATH)
def card_submit():
    card_key = _key("card")
    fields = request.form.to_dict()
    if not signing.verify(fields, card_key, REQUEST_MAX_AGE):
        return "refused: bad signature", 400
    outcome = CARD_OUTCOMES.get(fields.get("serial", "")[-1:], "wrong_password")
    transaction = "C" + secrets.token_hex(8)
    answer = {
        "merchant_id": fields["merchant_id"],
        "reference": fields["reference"],
        "transaction_id": transaction,
        "face_fen": fields["face_fen"],
        "status": "success" if outcome == "success" else "failed",
    }
    if outcome != "success":
        answer["reason"] = outcome
    # The password is checked and forgotten, as a real processor would: never kept.
    note = record("card", fields["notify_url"], signing.signed(answer, card_key))
    delay = current_app.config["SANDBOX_NOTIFY_DELAY"]
    if delay >= 0:
        _deliver_later(current_app._get_current_object(), note.id, delay)
    return f"accepted {transaction}", 200, {"Content-Type": "text/plain"}


@bp.get(online.SANDBOX_BANK_PAGE_PATH)
def bank_page():
    bank_key = _key("bank")
    fields = request.args.to_dict()
    if not signing.verify(fields, bank_key, REQUEST_MAX_AGE):
        abort(400, "签名无效或已过期")
    return render_template("sandbox/bank.html", fields=fields)


@bp.post("/sandbox/bank/decide")
def bank_decide():
    bank_key = _key("bank")
    fields = {k: v for k, v in request.form.items() if k != "outcome"}
    if not signing.verify(fields, bank_key):
        abort(400, "签名无效")
    answer = {
        "merchant_id": fields["merchant_id"],
        "reference": fields["reference"],
        "transaction_id": "B" + secrets.token_hex(8),
        "amount_fen": fields["amount_fen"],
        "currency": fields["currency"],
        "status": "success" if request.form.get("outcome") == "success" else "failed",
    }
    note = record("bank", fields["notify_url"], signing.signed(answer, bank_key))
    deliver(note.id)
    return redirect(fields["return_url"], 303)


@bp.get("/sandbox/notifications")
def notifications():
    notes = db.session.scalars(
        select(SandboxNotification).order_by(SandboxNotification.id.desc()).limit(50)
    ).all()
    return render_template("sandbox/notifications.html", notes=notes, answers=None)


@bp.post("/sandbox/notifications/<int:note_id>/replay")
def replay(note_id):
    if db.session.get(SandboxNotification, note_id) is None:
        abort(404)
    try:
        times = min(max(parse_int(request.form.get("times") or "1"), 1), 50)
    except ValueError:
        abort(400, "次数请填 1 到 50。")
    answers = deliver(note_id, times)
    notes = db.session.scalars(
        select(SandboxNotification).order_by(SandboxNotification.id.desc()).limit(50)
    ).all()
    return render_template("sandbox/notifications.html", notes=notes, answers=answers)


@bp.get("/sandbox/bank/statement.csv")
def bank_statement():
    """The bank's statement of successful payments, for `flask payments reconcile`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "transaction_id", "amount_fen", "status"])
    for note in db.session.scalars(
        select(SandboxNotification).where(SandboxNotification.processor == "bank")
    ):
        fields = json.loads(note.body)
        if fields["status"] == "success":
            writer.writerow(
                [fields["reference"], fields["transaction_id"], fields["amount_fen"], "success"]
            )
    return out.getvalue(), 200, {"Content-Type": "text/csv; charset=utf-8"}
