"""Product images from the database (media_files), so every machine serves every image.

Names carry a hash of the pixels (see images.py): a name never changes content, so browsers
and nginx (deploy/nginx.conf caches /media/) may keep a response for a year."""

import hashlib
from io import BytesIO

from flask import Blueprint, abort, send_file
from sqlalchemy import select

from wapshop.extensions import db
from wapshop.models import MediaFile

bp = Blueprint("media", __name__)

YEAR = 31536000
SERVED = ("products/",)  # uploaded originals are kept, never served


@bp.get("/media/<path:path>")
def file(path):
    if not path.startswith(SERVED):
        abort(404)
    found = db.session.execute(
        select(MediaFile.data, MediaFile.content_type, MediaFile.created_at).where(
            MediaFile.name == path
        )
    ).one_or_none()
    if found is None:
        abort(404)
    # send_file: conditional GETs and ranges, and a passthrough body that no one gzips again.
    response = send_file(
        BytesIO(found.data),
        mimetype=found.content_type,
        etag=hashlib.sha1(found.data).hexdigest()[:16],
        last_modified=found.created_at,
        max_age=YEAR,
    )
    response.cache_control.immutable = True
    return response
