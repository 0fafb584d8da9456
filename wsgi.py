"""gunicorn wsgi:app"""

from wapshop import create_app

app = create_app()
