"""The page cache's tests' shared pieces (tests/test_cache_*.py): the goods, a phone, the
caches and the session rows to look into."""

import json

from factories import make_deal, make_product
from wapclient import FlaskTransport, WapClient
from wapshop.extensions import db
from wapshop.models import WebSession
from wapshop.web import cache as page_cache

NOKIA = "Nokia6300/2.0 (05.00) Profile/MIDP-2.0 Configuration/CLDC-1.1"
XHTML = "application/vnd.wap.xhtml+xml,application/xhtml+xml;q=0.9,text/html;q=0.5"
CACHE_ON = {"PAGE_CACHE_IN_TESTS": True}


def make_goods(app) -> dict:
    """A product, a product on a deal, and their category."""
    with app.app_context():
        product = make_product(title="老人手机", stock=40)
        deal_product = make_product(title="特价收音机", stock=80, category_id=product.category_id)
        make_deal(deal_product, quantity=50)
        db.session.commit()
        return {"product": product.id, "deal_product": deal_product.id, "cat": product.category_id}


def phone(app) -> WapClient:
    return WapClient(FlaskTransport(app), NOKIA, XHTML)


def cache_of(app) -> page_cache.PageCache:
    return app.extensions["page_cache"]


def set_session(app, sid: str, **values) -> None:
    with app.app_context():
        row = db.session.get(WebSession, sid)
        row.data = json.dumps({**json.loads(row.data), **values})
        db.session.commit()


def generation(app) -> int:
    with app.app_context():
        return page_cache.current_generation()
