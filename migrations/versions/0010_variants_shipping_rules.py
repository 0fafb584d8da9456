"""variants, shipping rules, order amounts: every product gets one variant holding its stock
(products sold in one form keep exactly that one), every order line points at it, and an order's
total is split into goods + shipping − discount (old orders: all goods).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 11:39:08.182266

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "shipping_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carrier", sa.String(length=20), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("first_weight_g", sa.Integer(), nullable=False),
        sa.Column("first_fee_fen", sa.Integer(), nullable=False),
        sa.Column("extra_weight_g", sa.Integer(), nullable=False),
        sa.Column("extra_fee_fen", sa.Integer(), nullable=False),
        sa.Column("free_above_fen", sa.Integer(), nullable=True),
        sa.Column("cod_fee_fen", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "first_weight_g > 0 AND extra_weight_g > 0 AND first_fee_fen >= 0 AND extra_fee_fen >= 0 AND cod_fee_fen >= 0 AND (free_above_fen IS NULL OR free_above_fen > 0)",
            name=op.f("ck_shipping_rules_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_shipping_rules_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_rules")),
    )
    with op.batch_alter_table("shipping_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipping_rules_region_code"), ["region_code"], unique=False
        )

    op.create_table(
        "variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("values_json", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("price_fen", sa.Integer(), nullable=True),
        sa.Column("stock", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("price_fen IS NULL OR price_fen > 0", name=op.f("ck_variants_price")),
        sa.CheckConstraint("stock >= 0", name=op.f("ck_variants_stock")),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_variants_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_variants")),
        sa.UniqueConstraint("code", name=op.f("uq_variants_code")),
        sa.UniqueConstraint("product_id", "values_json", name="uq_variants_product_values"),
    )
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_variants_product_id"), ["product_id"], unique=False)

    op.create_table(
        "deal_variants",
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_variants_deal_id_deals")
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"], ["variants.id"], name=op.f("fk_deal_variants_variant_id_variants")
        ),
        sa.PrimaryKeyConstraint("deal_id", "variant_id", name=op.f("pk_deal_variants")),
    )
    with op.batch_alter_table("deal_variants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_variants_variant_id"), ["variant_id"], unique=False
        )

    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("variant_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("variant_label", sa.String(length=80), nullable=False, server_default="")
        )
        batch_op.create_index(batch_op.f("ix_order_items_variant_id"), ["variant_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_order_items_variant_id_variants"), "variants", ["variant_id"], ["id"]
        )

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("goods_fen", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("shipping_fen", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("discount_fen", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("group_number", sa.String(length=12), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_group_number"), ["group_number"], unique=False)

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("options_json", sa.Text(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("weight_g", sa.Integer(), nullable=False, server_default="500")
        )
        batch_op.add_column(
            sa.Column("free_shipping", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    # Data: one variant per product with its stock; lines point at it; goods = the old total.
    op.execute(
        "INSERT INTO variants (product_id, values_json, label, stock, position, active)"
        " SELECT id, '[]', '', stock, 0, TRUE FROM products"
    )
    op.execute(
        "UPDATE order_items SET variant_id ="
        " (SELECT v.id FROM variants v WHERE v.product_id = order_items.product_id)"
    )
    op.execute("UPDATE orders SET goods_fen = total_fen")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("goods_fen", existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(
            "amounts",
            "goods_fen > 0 AND shipping_fen >= 0 AND discount_fen >= 0"
            " AND total_fen = goods_fen + shipping_fen - discount_fen",
        )


def downgrade():
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("free_shipping")
        batch_op.drop_column("weight_g")
        batch_op.drop_column("options_json")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_orders_amounts"), type_="check")
        batch_op.drop_index(batch_op.f("ix_orders_group_number"))
        batch_op.drop_column("group_number")
        batch_op.drop_column("discount_fen")
        batch_op.drop_column("shipping_fen")
        batch_op.drop_column("goods_fen")

    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_order_items_variant_id_variants"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_order_items_variant_id"))
        batch_op.drop_column("variant_label")
        batch_op.drop_column("variant_id")

    with op.batch_alter_table("deal_variants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_variants_variant_id"))

    op.drop_table("deal_variants")
    with op.batch_alter_table("variants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_variants_product_id"))

    op.drop_table("variants")
    with op.batch_alter_table("shipping_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipping_rules_region_code"))

    op.drop_table("shipping_rules")
