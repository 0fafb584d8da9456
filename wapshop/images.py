"""Product image variants: small JPEGs, fingerprinted by content so they can be cached forever."""

import hashlib
import os
from pathlib import Path

from PIL import Image, ImageOps

# "s": thumbnails on `color` (20 KB per page, images included); "t" and its double-density
# "t2": `touch` lists, shown at 96 px; "m": the `touch` product page, shown at 240 px.
IMAGE_SIZES = {"s": (48, 48), "t": (96, 96), "t2": (192, 192), "m": (240, 240)}
JPEG_QUALITY = {"s": 70, "t": 75, "t2": 70, "m": 80}
BACKGROUND = (255, 255, 255)


def image_path(name: str, size: str) -> str:
    """The path of one variant, relative to the media directory."""
    if size not in IMAGE_SIZES:
        raise ValueError(f"unknown image size {size!r}")
    return f"products/{name}-{size}.jpg"


def write_variants(image: Image.Image, media_dir: Path, basename: str) -> str:
    """Write every size of `image` under media_dir/products/ and return the variant name.

    The name is basename plus a fingerprint of the pixels; variants already on disk are kept."""
    name = f"{basename}-{fingerprint(image)}"
    flat = _on_white(image)
    for size, box in IMAGE_SIZES.items():
        path = Path(media_dir) / image_path(name, size)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            _save_jpeg(_fit_square(flat, box), path, JPEG_QUALITY[size])
    return name


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


def _save_jpeg(image: Image.Image, path: Path, quality: int) -> None:
    # Write beside the target and rename, so the media route never serves half a file.
    partial = path.with_name(path.name + ".part")
    image.save(partial, "JPEG", quality=quality, optimize=True, progressive=False)
    os.replace(partial, path)
