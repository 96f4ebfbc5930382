# A one-file Flask app for lbauthz's tests: Flask's default signed-cookie
# session and Flask-Login, a user "alice" (id "42", password
# "alice-password") whose groups the app keeps in the session at login.
# Configured by environment: PORT, SECRET_KEY_FILE, SESSION_LIFETIME
# (seconds, PERMANENT_SESSION_LIFETIME).
import datetime
import os

import flask
import flask_login
from flask import Flask, request, session

app = Flask(__name__)
with open(os.environ["SECRET_KEY_FILE"]) as f:
    app.secret_key = f.read().strip()
app.permanent_session_lifetime = datetime.timedelta(seconds=int(os.environ.get("SESSION_LIFETIME", "2678400")))
login_manager = flask_login.LoginManager(app)
USERS = {"alice": ("42", "alice-password", ["editors", "staff"])}


class User(flask_login.UserMixin):
    def __init__(self, uid):
        self.id = uid


@login_manager.user_loader
def load_user(uid):
    return User(uid) if any(u[0] == uid for u in USERS.values()) else None


@app.post("/login")
def login():
    u = USERS.get(request.form.get("username"))
    if u is None or u[1] != request.form.get("password"):
        return "bad credentials", 401
    session.permanent = True
    flask_login.login_user(User(u[0]))
    session["groups"] = u[2]
    return {"id": u[0]}


@app.post("/logout")
def logout():
    flask_login.logout_user()
    session.pop("groups", None)
    return "bye"


@app.get("/health")
def health():
    return "ok"


if __name__ == "__main__":
    import logging
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print("flask", flask.__version__, "flask-login", flask_login.__version__, "ready", flush=True)
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]))
