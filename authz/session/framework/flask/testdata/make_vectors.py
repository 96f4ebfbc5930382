# Writes vectors.json: session cookies made by the installed Flask (Debian's
# python3-flask) through its own SecureCookieSessionInterface. Run with
# /usr/bin/python3 make_vectors.py.
import json, uuid
import flask
from flask import Flask, session
from markupsafe import Markup

out = {"flask": flask.__version__, "secret": "flask-test-secret-key-0123456789", "old_secret": "flask-old-secret-abcdef"}

def cookie(secret, fill):
    app = Flask("vectors")
    app.secret_key = secret
    with app.test_request_context("/"):
        fill(session)
        resp = app.response_class()
        app.session_interface.save_session(app, session, resp)
        return resp.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]

def login(s):
    s["_user_id"] = "42"
    s["_fresh"] = True
    s["roles"] = ("editors", "admins")
    s["uid"] = uuid.UUID("12345678-1234-5678-1234-567812345678")
    s["raw"] = b"\x00\x01"
    s["html"] = Markup("<b>hi</b>")
    s[" t"] = "a key that looks like a tag"
    s["note"] = "Zo\u00eb " + "x" * 300

out["cookie"] = cookie(out["secret"], login)
out["small_cookie"] = cookie(out["secret"], lambda s: s.update({"_user_id": "7"}))
out["old_key_cookie"] = cookie(out["old_secret"], login)
print(json.dumps(out, indent=1))
