"""Uploaded and generated images under instance/media, served with long cache lifetimes."""

from flask import Blueprint, current_app, send_from_directory

bp = Blueprint("media", __name__)


@bp.get("/media/<path:path>")
def file(path):
    # Names carry a content hash (see images.py), so a year-long cache is safe.
    return send_from_directory(current_app.config["MEDIA_DIR"], path, max_age=31536000)
