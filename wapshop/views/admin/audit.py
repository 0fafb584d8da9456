"""The audit log, for admins: every change, newest first, optionally for one thing. Staff read
each action, field and value in words (one label map per kind), never a column name or code."""

from flask import Blueprint, abort, current_app, render_template, request

from wapshop.models.staff import ROLE_LABELS
from wapshop.money import format_fen
from wapshop.renditions import LABELS as RENDITION_LABELS
from wapshop.services import admin_audit
from wapshop.services.pagination import PageOutOfRange
from wapshop.views import page_arg
from wapshop.views.admin.access import ADMINS, staff_required

bp = Blueprint("audit", __name__, url_prefix="/audit")
ENTITY_LABELS = {
    "deal": "特价",
    "product": "商品",
    "category": "分类",
    "collection": "专场",
    "staff": "员工",
}
ACTION_LABELS = {
    "create": "新建",
    "update": "修改",
    "import": "导入",
    "image": "更换图片",
    "delete": "删除",
    "stop": "停止",
    "copy": "复制",
}
FIELD_LABELS = {
    "title": "标题",
    "subtitle": "副标题",
    "category_id": "分类",
    "seller_id": "卖家",
    "shop_price_fen": "售价",
    "market_price_fen": "市场价",
    "deal_price_fen": "特价",
    "stock": "库存",
    "specs_json": "规格参数",
    "active": "启用",
    "product_id": "商品",
    "starts_at": "开始时间",
    "ends_at": "结束时间",
    "quantity": "数量",
    "per_buyer_limit": "每人限购",
    "renditions": "显示的版本",
    "position": "排序",
    "stopped": "已停止",
    "username": "用户名",
    "name": "名称",
    "role": "角色",
    "parent_id": "上级分类",
    "slug": "网址名",
    "blurb": "简介",
    "password": "密码",
    "image": "图片",
    "original": "原图",
}


def value_text(key: str, value) -> str:
    """A field's value as staff read it: money in yuan, yes/no, roles and renditions in words."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key.endswith("_fen") and isinstance(value, int):
        return format_fen(value)
    if key == "role":
        return ROLE_LABELS.get(value, "其他角色")
    if key == "renditions":
        codes = value if isinstance(value, list) else str(value).split(",")
        return "、".join(RENDITION_LABELS.get(c.strip(), c.strip()) for c in codes if c) or "全部"
    if isinstance(value, (list, dict)):
        return "；".join(map(str, value.items() if isinstance(value, dict) else value))
    return str(value)


def changes(entry) -> list[tuple[str, str, str]]:
    """(field, before, after) in words, for every field the entry names."""
    before, after = entry.before, entry.after
    keys = sorted({*before, *after})
    return [
        (
            FIELD_LABELS.get(k, "其他"),
            value_text(k, before.get(k)) if k in before else "",
            value_text(k, after.get(k)) if k in after else "",
        )
        for k in keys
    ]


@bp.get("/")
@staff_required(*ADMINS)
def index():
    entity = request.args.get("entity", "")
    entity_id = request.args.get("id", "")[:40]
    if entity and entity not in ENTITY_LABELS:
        abort(400, "没有这种记录。")
    try:
        page = admin_audit.entries(
            page_arg(), current_app.config["ADMIN_PAGE_SIZE"], entity or None, entity_id or None
        )
    except PageOutOfRange:
        abort(404)
    return render_template(
        "admin/audit/index.html",
        title="操作日志",
        page=page,
        entity=entity,
        entity_id=entity_id,
        labels=ENTITY_LABELS,
        actions=ACTION_LABELS,
        changes=changes,
    )
