"""Categories in the back office: two levels, products sit in the second. Every change
flushes and writes the audit log; the caller commits."""

from sqlalchemy import select

from wapshop.extensions import db
from wapshop.models import Category, Product
from wapshop.services import Refusal, admin_audit


class CategoryError(Refusal):
    """A refusal of a category; `field` names the form field it belongs to."""


def save_category(
    category: Category | None, name: str, parent_id: int | None, position: int, actor
) -> Category:
    """Create (category None) or change a category. Raises CategoryError: the parent must be
    a top-level category, and a category with subcategories stays top-level."""
    if not name.strip():
        raise CategoryError("请填写分类名称。", "name")
    if parent_id is not None:
        parent = db.session.get(Category, parent_id)
        if parent is None or parent.parent_id is not None:
            raise CategoryError("上级只能是一级分类（分类只有两级）。", "parent_id")
        if category is not None and (parent.id == category.id or category.children):
            raise CategoryError("这个分类下还有二级分类，不能再挂到别的分类下。", "parent_id")
    if category is not None and parent_id is None and _has_products(category.id):
        raise CategoryError("这个分类下有商品，商品只能放在二级分类里。", "parent_id")
    fields = ("name", "parent_id", "position")
    before = admin_audit.snapshot(category, fields) if category is not None else None
    if category is None:
        category = Category()
        db.session.add(category)
    category.name, category.parent_id, category.position = name.strip(), parent_id, position
    db.session.flush()
    after = admin_audit.snapshot(category, fields)
    action = "create" if before is None else "update"
    admin_audit.record(actor, action, "category", category.id, before, after)
    return category


def delete_category(category: Category, actor) -> None:
    """Only an empty category goes. Raises CategoryError."""
    if category.children or _has_products(category.id):
        raise CategoryError("分类下还有子分类或商品，不能删除。", "name")
    before = admin_audit.snapshot(category, ("name", "parent_id", "position"))
    db.session.delete(category)
    db.session.flush()
    admin_audit.record(actor, "delete", "category", category.id, before, None)


def _has_products(category_id: int) -> bool:
    return (
        db.session.scalar(select(Product.id).where(Product.category_id == category_id).limit(1))
        is not None
    )
