# A one-file Django project for lbauthz's tests: django.contrib.auth and
# django.contrib.sessions with the session engine the test asks for, a user
# "alice" (password "alice-password") in the groups "editors" and "staff",
# and Django's own login and logout; POST /password resets alice's password
# (to the same one, with a new salt) as an administrator would. Configured by environment:
#   PORT, SECRET_KEY_FILE, SESSION_ENGINE (db, cached_db, signed_cookies),
#   PG_URL (postgres://user:password@host:port/db), MYSQL_URL
#   (mysql://user:password@host:port/db, MySQL or MariaDB through Debian's
#   python3-mysqldb; SQLite in DATA_DIR when neither is set), DATA_DIR,
#   SESSION_COOKIE_AGE (seconds).
import os
import sys
from urllib.parse import urlparse

import django
from django.conf import settings

pg = os.environ.get("PG_URL", "")
my = os.environ.get("MYSQL_URL", "")
if my:
    u = urlparse(my)
    db = {"ENGINE": "django.db.backends.mysql", "NAME": u.path.lstrip("/"), "USER": u.username,
          "PASSWORD": u.password, "HOST": u.hostname, "PORT": str(u.port), "OPTIONS": {"charset": "utf8mb4"}}
elif pg:
    u = urlparse(pg)
    db = {"ENGINE": "django.db.backends.postgresql", "NAME": u.path.lstrip("/"), "USER": u.username,
          "PASSWORD": u.password, "HOST": u.hostname, "PORT": str(u.port)}
else:
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(os.environ["DATA_DIR"], "db.sqlite3")}
with open(os.environ["SECRET_KEY_FILE"]) as f:
    secret = f.read().strip()
settings.configure(
    DEBUG=False, SECRET_KEY=secret, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions"],
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware"],
    DATABASES={"default": db},
    SESSION_ENGINE="django.contrib.sessions.backends." + os.environ.get("SESSION_ENGINE", "db"),
    SESSION_COOKIE_AGE=int(os.environ.get("SESSION_COOKIE_AGE", "1209600")),
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    DEFAULT_AUTO_FIELD="django.db.models.AutoField", USE_TZ=True,
)
django.setup()

from django.contrib import auth
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def login(request):
    user = auth.authenticate(request, username=request.POST.get("username"), password=request.POST.get("password"))
    if user is None:
        return HttpResponse("bad credentials", status=401)
    auth.login(request, user)
    return JsonResponse({"id": user.pk})


@csrf_exempt
def logout(request):
    auth.logout(request)
    return HttpResponse("bye")


@csrf_exempt
def password(request):
    # What an administrator's password reset does: the same password with
    # a new salt, so every session's _auth_user_hash stops matching.
    user = User.objects.get(username="alice")
    user.set_password("alice-password")
    user.save()
    return HttpResponse("changed")


def health(request):
    return HttpResponse("ok")


urlpatterns = [path("login", login), path("logout", logout), path("password", password), path("health", health)]

if __name__ == "__main__":
    call_command("migrate", verbosity=0, interactive=False)
    alice, _ = User.objects.get_or_create(username="alice")
    alice.set_password("alice-password")
    alice.save()
    for name in ("staff", "editors"):
        alice.groups.add(Group.objects.get_or_create(name=name)[0])
    from wsgiref.simple_server import WSGIRequestHandler, make_server
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", int(os.environ["PORT"]), get_wsgi_application(), handler_class=Quiet)
    print("django", django.get_version(), "ready", flush=True)
    server.serve_forever()
