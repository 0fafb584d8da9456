"""The floor: a bare Flask app returning a short string, served like the shop.

gunicorn -c gunicorn.conf.py bench.bare_app:app"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
