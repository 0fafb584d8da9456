"""Product image uploads: checked by content, size, pixel dimensions and against decompression
bombs; a good photo keeps its original and gets per-rendition variants within their budgets."""

import io
import random
import struct
import zlib

import pytest
from PIL import Image, ImageDraw, ImageFilter
from sqlalchemy import select

from conftest import sibling_app
from factories import make_product
from support.pages import post_form
from support.staff import log_in_as
from wapshop import images
from wapshop.extensions import db
from wapshop.models import AuditEntry, MediaFile, Product
from wapshop.services import products


def photo(width=1600, height=1200, fmt="JPEG") -> bytes:
    """A stand-in for a phone photo: soft shapes on a gradient, with sensor-like noise."""
    rng = random.Random(7)
    picture = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(picture)
    for _ in range(60):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(20, 300)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    picture = picture.filter(ImageFilter.GaussianBlur(3))
    noisy = Image.blend(picture, Image.effect_noise((width, height), 20).convert("RGB"), 0.15)
    if fmt == "PNG":
        noisy = noisy.convert("RGBA")
    out = io.BytesIO()
    noisy.save(out, fmt, quality=90) if fmt == "JPEG" else noisy.save(out, fmt)
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of blank rows: a few kilobytes that decode to width x height pixels."""
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row * 1000) for _ in range(height // 1000))
    body += packer.compress(row * (height % 1000)) + packer.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


@pytest.fixture
def product_id(app, client):
    log_in_as(app, client, "operator")
    with app.app_context():
        product_id = make_product().id
        db.session.commit()
        return product_id


def upload(client, product_id, data: bytes, filename: str):
    return post_form(
        client,
        f"/admin/products/{product_id}/image",
        {"image": (io.BytesIO(data), filename)},
        form_page=f"/admin/products/{product_id}",
        content_type="multipart/form-data",
    )


def assert_refused(app, response, status, message, product_id):
    assert response.status_code == status and message in response.text
    with app.app_context():
        assert db.session.get(Product, product_id).image is None
        assert db.session.scalar(select(AuditEntry)) is None
        assert db.session.scalar(select(MediaFile.name)) is None


@pytest.mark.parametrize(
    "data,filename",
    [
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n", "photo.jpg"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "photo.svg"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "broken.jpg"),
    ],
)
def test_a_file_that_is_not_an_image_is_refused(app, client, product_id, data, filename):
    response = upload(client, product_id, data, filename)
    assert_refused(app, response, 422, "这不是图片，或图片已损坏", product_id)


def test_an_image_format_we_do_not_serve_is_refused(app, client, product_id):
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(out, "BMP")
    response = upload(client, product_id, out.getvalue(), "red.jpg")  # named .jpg: content decides
    assert_refused(app, response, 422, "不支持 BMP 格式", product_id)


def test_an_image_file_over_the_size_limit_is_refused(app, client, product_id):
    data = photo()  # under 500 KB, so the test client keeps the body in memory
    app.config["ADMIN_IMAGE_MAX_BYTES"] = len(data) // 4  # far beyond the request's allowance
    response = upload(client, product_id, data, "big.jpg")
    assert_refused(app, response, 413, "图片文件太大", product_id)


def test_an_image_just_over_the_limit_is_refused_by_the_check_itself(app, client, product_id):
    data = photo()
    app.config["ADMIN_IMAGE_MAX_BYTES"] = len(data) - 1  # inside the request's allowance
    response = upload(client, product_id, data, "big.jpg")
    assert_refused(app, response, 422, "图片文件太大", product_id)


def test_an_image_with_huge_dimensions_is_refused(app, client, product_id):
    out = io.BytesIO()
    Image.new("1", (12_000, 20)).save(out, "PNG")
    response = upload(client, product_id, out.getvalue(), "banner.png")
    assert_refused(app, response, 422, "图片尺寸 12000×20 太大", product_id)


@pytest.mark.parametrize("side", [10_000, 30_000])  # over Pillow's warning, over its error line
def test_a_decompression_bomb_is_refused(app, client, product_id, side):
    bomb = png_bomb(side, side)
    assert len(bomb) < 200_000  # small on the wire, side² pixels once decoded
    response = upload(client, product_id, bomb, "bomb.png")
    assert_refused(app, response, 422, "疑似解压炸弹", product_id)


@pytest.mark.parametrize("fmt,filename", [("JPEG", "phone.jpg"), ("PNG", "phone.png")])
def test_a_photo_keeps_its_original_and_gets_variants_within_budget(
    app, client, product_id, fmt, filename
):
    # Under 500 KB either way, so the test client keeps the body in memory (no temp file).
    data = photo(fmt=fmt) if fmt == "JPEG" else photo(600, 450, fmt)
    response = upload(client, product_id, data, filename)
    assert response.status_code == 303
    assert "超过预算" not in client.get(response.headers["Location"]).text
    with app.app_context():
        name = db.session.get(Product, product_id).image
        entry = db.session.scalar(select(AuditEntry))
        assert (entry.action, entry.before["image"], entry.after["image"]) == ("image", None, name)
        originals = db.session.scalars(
            select(MediaFile).where(MediaFile.name.startswith("originals/"))
        ).all()
        assert [o.data for o in originals] == [data]
        assert originals[0].name == entry.after["original"]
        assert originals[0].name.endswith("." + fmt.lower().replace("jpeg", "jpg"))
    guest = app.test_client()
    assert guest.get("/media/" + originals[0].name).status_code == 404  # kept, never served
    for size, box in images.IMAGE_SIZES.items():
        served = guest.get("/media/" + images.image_path(name, size))
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert "max-age=31536000" in served.headers["Cache-Control"]
        with Image.open(io.BytesIO(served.data)) as written:
            assert (written.format, written.size) == ("JPEG", box)
        assert len(served.data) <= products.VARIANT_BUDGETS[size]
        again = guest.get(served.request.path, headers={"If-None-Match": served.headers["ETag"]})
        assert again.status_code == 304
    # Eight thumbnails beside the largest markup allowed still fit the color page's 20 KB.
    assert 10240 + 8 * products.VARIANT_BUDGETS["s"] <= 20480
    buyer = app.test_client().get(f"/p/{product_id}?ver=color").text
    assert f"{name}-s.jpg" in buyer


def test_an_image_uploaded_on_one_machine_is_served_by_another(app, client, product_id):
    # Another application machine: the same database, nothing else shared.
    other = sibling_app(app)
    assert upload(client, product_id, photo(), "phone.jpg").status_code == 303
    with app.app_context():
        name = db.session.get(Product, product_id).image
    try:
        for size in images.IMAGE_SIZES:
            served = other.test_client().get("/media/" + images.image_path(name, size))
            assert served.status_code == 200
            with Image.open(io.BytesIO(served.data)) as written:
                assert written.size == images.IMAGE_SIZES[size]
    finally:
        with other.app_context():
            db.engine.dispose()
