# Writes vectors.json: session values made by the installed Django (Debian's
# python3-django), read back by the Go decoder's tests. Run with
# /usr/bin/python3 make_vectors.py.
import json
import django
from django.conf import settings

settings.configure(SECRET_KEY="django-test-secret-key-0123456789",
                   INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"],
                   DATABASES={}, SESSION_SERIALIZER="django.contrib.sessions.serializers.JSONSerializer")
django.setup()
from django.core import signing
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.contrib.sessions.serializers import PickleSerializer

doc = {"_auth_user_id": "42", "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
       "_auth_user_hash": "abc", "note": "Zo\u00eb " + "x" * 200}
db = DBStore()
out = {
    "django": django.get_version(),
    "secret": settings.SECRET_KEY,
    "doc": doc,
    "signed_cookie": signing.dumps(doc, salt="django.contrib.sessions.backends.signed_cookies", compress=True),
    "session_data": db.encode(doc),
    "legacy_session_data": db._legacy_encode(doc),
    "pickled_session_data": signing.dumps(doc, salt="django.contrib.sessions.SessionStore",
                                          serializer=PickleSerializer, compress=True),
    "small_signed_cookie": signing.dumps({"_auth_user_id": "7"}, salt="django.contrib.sessions.backends.signed_cookies", compress=True),
}
from django.contrib.auth.hashers import make_password
from django.utils.crypto import salted_hmac
out["password_hash"] = make_password("alice-password")
out["session_auth_hash"] = salted_hmac("django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
                                       out["password_hash"], algorithm="sha256").hexdigest()
settings.SECRET_KEY = "django-old-secret-key-abcdefghij"
out["old_key_signed_cookie"] = signing.dumps(doc, salt="django.contrib.sessions.backends.signed_cookies", compress=True)
out["old_secret"] = settings.SECRET_KEY
print(json.dumps(out, indent=1))
