"""Product image variants: small JPEGs, fingerprinted by content so they can be cached forever.

They are stored in the database (media_files), not on a disk: every application machine
serves every image, with no shared filesystem to run (see deploy/README.md)."""

import hashlib
from io import BytesIO

from PIL import Image, ImageOps
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from wapshop.extensions import db
from wapshop.models import MediaFile

# "s": thumbnails on `color` (20 KB per page, images included); "t" and its double-density
# "t2": `touch` lists, shown at 96 px; "m": the `touch` product page, shown at 240 px.
IMAGE_SIZES = {"s": (48, 48), "t": (96, 96), "t2": (192, 192), "m": (240, 240)}
JPEG_QUALITY = {"s": 70, "t": 75, "t2": 70, "m": 80}
BACKGROUND = (255, 255, 255)


def image_path(name: str, size: str) -> str:
    """The stored name of one variant: its path under /media/."""
    if size not in IMAGE_SIZES:
        raise ValueError(f"unknown image size {size!r}")
    return f"products/{name}-{size}.jpg"


def write_variants(image: Image.Image, basename: str) -> str:
    """Store every size of `image` and return the variant name: basename plus a fingerprint
    of the pixels. Variants already stored are kept. Flushes; the caller commits."""
    name = f"{basename}-{fingerprint(image)}"
    flat = _on_white(image)
    for size, box in IMAGE_SIZES.items():
        store(
            image_path(name, size), "image/jpeg", _jpeg(_fit_square(flat, box), JPEG_QUALITY[size])
        )
    return name


def store(name: str, content_type: str, data: bytes) -> None:
    """Keep a file under `name` unless one is there already (names carry a content hash, so
    the one there is the same). Two machines storing it at once both succeed."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(MediaFile)
        .values(name=name, content_type=content_type, data=data)
        .on_conflict_do_nothing(index_elements=["name"])
    )


def stored(name: str) -> bytes | None:
    """The bytes stored under `name`, or None."""
    return db.session.scalar(select(MediaFile.data).where(MediaFile.name == name))


def fingerprint(image: Image.Image) -> str:
    """The first 8 hex digits of a SHA-1 over the image's mode, size and pixels."""
    digest = hashlib.sha1(f"{image.mode}:{image.width}x{image.height}:".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()[:8]


def _on_white(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited onto the white background."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _fit_square(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    """Scale to fit inside the box, keeping the aspect ratio, centred on white."""
    fitted = ImageOps.contain(image, box, method=Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", box, BACKGROUND)
    canvas.paste(fitted, ((box[0] - fitted.width) // 2, (box[1] - fitted.height) // 2))
    return canvas


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=False)
    return out.getvalue()
