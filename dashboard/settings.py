"""Berth settings: every value comes from an environment variable with a safe default."""

from datetime import timedelta
from pathlib import Path

from dashboard import datadir
from dashboard.env import env_bool, env_int, env_list, env_str

# First, before anything is made: the database, its journal and the key are for Berth's user only.
datadir.restrict_umask()
BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("BERTH_DATA_DIR", str(BASE_DIR / "data")))
datadir.prepare(DATA_DIR)

# The given key, or one generated on first start and kept in the data folder.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "") or datadir.secret_key(DATA_DIR)
# The Fernet key registry passwords are encrypted with. Empty: the one credentials.py generates
# into the data folder (credentials_key) the first time a password is stored or read.
BERTH_CREDENTIALS_KEY = env_str("BERTH_CREDENTIALS_KEY", "")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# Behind TLS (a reverse proxy or daphne's own): secure cookies, HSTS and the redirect.
HTTPS = env_bool("BERTH_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env_int("BERTH_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("BERTH_HSTS_PRELOAD", False)
# Preloading binds the whole domain to HTTPS in browsers for a long time, so it is the
# operator's decision (BERTH_HSTS_PRELOAD) and `check --deploy` need not warn while it is off.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if env_bool("BERTH_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("BERTH_SESSION_SECONDS", 8 * 3600)
X_FRAME_OPTIONS = "DENY"
# A bulk action posts one field per selected row; the form itself caps a selection.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# The Docker Engine Berth manages. DOCKER_HOST as the docker CLI reads it.
DOCKER_HOST = env_str("DOCKER_HOST", "unix:///var/run/docker.sock")
DOCKER_TIMEOUT = env_int("BERTH_DOCKER_TIMEOUT", 30)
# The engine of URLs without /engines/<slug>/, registered from DOCKER_HOST on first migrate.
BERTH_DEFAULT_ENGINE = env_str("BERTH_DEFAULT_ENGINE", "local")
# How often each engine's health is checked (seconds), and how long its ping may take.
ENGINE_HEALTH_SECONDS = env_int("BERTH_ENGINE_HEALTH_SECONDS", 5)
ENGINE_HEALTH_TIMEOUT = env_int("BERTH_ENGINE_HEALTH_TIMEOUT", 3)
# How long the All engines page waits for each engine's list (asked of all at once).
ENGINE_PAGE_TIMEOUT = env_int("BERTH_ENGINE_PAGE_TIMEOUT", 5)

# What one user can make the server hold: websockets open at once (per process, all routes
# together), and the history a log view reads, the newest part kept (merged views share it).
MAX_WEBSOCKETS_PER_USER = env_int("BERTH_MAX_WEBSOCKETS_PER_USER", 50)
LOG_HISTORY_BYTES = env_int("BERTH_LOG_HISTORY_BYTES", 8 * 1024 * 1024)
# Pulls, pushes, builds, loads, commits and recreates running at once per engine; more wait.
MAX_JOBS_PER_ENGINE = env_int("BERTH_MAX_JOBS_PER_ENGINE", 3)
# Per user: jobs running at once, and more waiting for a slot (jobs.py).
MAX_RUNNING_JOBS_PER_USER = env_int("BERTH_MAX_RUNNING_JOBS_PER_USER", 2)
MAX_QUEUED_JOBS_PER_USER = env_int("BERTH_MAX_QUEUED_JOBS_PER_USER", 5)
# A job's output kept (the newest), in bytes; its page and socket never send more.
JOB_OUTPUT_BYTES = env_int("BERTH_JOB_OUTPUT_BYTES", 1024 * 1024)
# Teams' own bridge networks (team_networks.py): subnets of this size, out of this pool.
TEAM_NETWORK_POOL = env_str("BERTH_TEAM_NETWORK_POOL", "10.231.0.0/16")
TEAM_NETWORK_PREFIX = env_int("BERTH_TEAM_NETWORK_PREFIX", 24)
# Uploads (a build's context, a tar to load): as sent, and once unpacked (a small gzip can
# unpack to a huge tar). Each is refused, naming its cap, before the engine gets it.
UPLOAD_MAX_BYTES = env_int("BERTH_UPLOAD_MAX_BYTES", 4 * 1024**3)
UPLOAD_MAX_EXPANDED_BYTES = env_int("BERTH_UPLOAD_MAX_EXPANDED_BYTES", 16 * 1024**3)

# Folders from which a superuser may import the files of a compose project found on the local
# engine (its labels name them, and labels can be set by anyone): none unless listed, never
# inside BERTH_DATA_DIR.
COMPOSE_IMPORT_DIRS = env_list("BERTH_COMPOSE_IMPORT_DIRS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "channels",
    "containers_app",
]

MIDDLEWARE = [
    "containers_app.context_processors.RequestStartMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF's check, which reads the body: an upload above its cap is never read.
    "containers_app.views.errors.UploadCapMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Default deny: a view runs only if it declares what it needs and the user has it.
    "containers_app.views.common.AccessMiddleware",
    "containers_app.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "containers_app.views.errors.EngineErrorMiddleware",
    # Last, as django-axes asks: turns a sign-in refused for too many failures into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
ASGI_APPLICATION = "dashboard.asgi.application"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "containers_app.context_processors.engine",
                "containers_app.context_processors.live_since",
            ],
            # {% engine_url %} in every template: most pages link within their engine.
            "builtins": ["containers_app.templatetags.engine_urls"],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": Path(env_str("BERTH_DATABASE", str(DATA_DIR / "berth.sqlite3"))),
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "default-engine:containers:list"
LOGOUT_REDIRECT_URL = "login"

# Sign-in throttling (django-axes), on /accounts/login/ and /admin/login/ alike: after
# BERTH_SIGNIN_FAILURES failures for one username, or from one address (either alone, so neither
# many addresses against one account nor many accounts from one address get further), that
# username or address is refused until BERTH_SIGNIN_LOCKOUT_MINUTES pass without an attempt;
# that long without a failure and the count starts again. A superuser unlocks early in the
# admin (Access attempts) or with `manage.py axes_reset_username`.
# ModelBackend stays listed after axes' backend: it is the one that signs users in, and sessions,
# the websockets' included, name it.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("BERTH_SIGNIN_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("BERTH_SIGNIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_CALLABLE = "containers_app.views.accounts.locked_out"
# Log lines name the username and address (never the password), so an operator can act on them.
AXES_SENSITIVE_PARAMETERS = []

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("BERTH_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("BERTH_LOG_LEVEL", "INFO")},
    # Sign-ins, failures and lock-outs are kept whatever BERTH_LOG_LEVEL says.
    "loggers": {"axes": {"level": "INFO"}},
}
