"""Settings for the test suite: the real settings, with a fixed key and fast hashing."""

import os

os.environ.setdefault("ICCC_INSECURE_DEV_KEY", "1")
os.environ.setdefault("DATABASE_URL", "sqlite:///var/test.sqlite3")

from iccc.config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
