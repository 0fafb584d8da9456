"""Collections (专场) in the back office: a named, ordered list of products shown to some
renditions. Every change flushes and writes the audit log; the caller commits."""

from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from wapshop.extensions import db
from wapshop.models import Collection, Product, collection_products
from wapshop.renditions import RENDITIONS
from wapshop.services import NotFound, Refusal, admin_audit


class CollectionError(Refusal):
    """A refusal of a collection; `field` names the form field it belongs to."""


@dataclass(frozen=True)
class CollectionInput:
    slug: str
    name: str
    blurb: str
    renditions: tuple[str, ...]
    position: int
    active: bool
    product_ids: tuple[int, ...]


COLLECTION_AUDITED = ("slug", "name", "blurb", "renditions", "position", "active")


def listing() -> list[Collection]:
    return list(db.session.scalars(select(Collection).order_by(Collection.position, Collection.id)))


def get_collection(collection_id: int) -> Collection:
    found = db.session.get(Collection, collection_id)
    if found is None:
        raise NotFound("没有这个专场。")
    return found


def save_collection(collection: Collection | None, data: CollectionInput, actor) -> Collection:
    """Create (collection None) or change a collection and its products, in the order given.
    Raises CollectionError."""
    taken = db.session.scalar(select(Collection.id).where(Collection.slug == data.slug))
    if taken is not None and (collection is None or taken != collection.id):
        raise CollectionError("这个网址名已被别的专场使用。", "slug")
    if not data.renditions or not set(data.renditions) <= set(RENDITIONS):
        raise CollectionError("请至少选择一个版本。", "renditions")
    if len(set(data.product_ids)) != len(data.product_ids):
        raise CollectionError("商品 ID 有重复。", "product_ids")
    known = set(db.session.scalars(select(Product.id).where(Product.id.in_(data.product_ids))))
    missing = [str(i) for i in data.product_ids if i not in known]
    if missing:
        raise CollectionError(f"没有这些商品：{'、'.join(missing)}。", "product_ids")
    before = None
    if collection is None:
        collection = Collection()
        db.session.add(collection)
    else:
        before = {
            **admin_audit.snapshot(collection, COLLECTION_AUDITED),
            "products": [p.id for p in collection.products],
        }
    collection.slug, collection.name, collection.blurb = data.slug, data.name, data.blurb
    collection.renditions = ",".join(r for r in RENDITIONS if r in data.renditions)
    collection.position, collection.active = data.position, data.active
    db.session.flush()
    link = collection_products
    db.session.execute(delete(link).where(link.c.collection_id == collection.id))
    if data.product_ids:
        db.session.execute(
            insert(link),
            [
                {"collection_id": collection.id, "product_id": pid, "position": i}
                for i, pid in enumerate(data.product_ids)
            ],
        )
    db.session.expire(collection, ["products"])
    after = {
        **admin_audit.snapshot(collection, COLLECTION_AUDITED),
        "products": list(data.product_ids),
    }
    action = "create" if before is None else "update"
    admin_audit.record(actor, action, "collection", collection.id, before, after)
    return collection
