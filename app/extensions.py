"""Extension instances only; ``create_app`` wires them."""

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
talisman = Talisman()
sock = Sock()
babel = Babel()


class RedisConnection:
    """The app's Redis client, configured once in ``create_app`` (URL or the embedded server)."""

    def __init__(self) -> None:
        self.url: str | None = None
        self._client = None

    def init_app(self, url: str) -> None:
        import redis

        self.url = url
        self._client = redis.Redis.from_url(url, health_check_interval=30)

    @property
    def client(self):
        if self._client is None:
            raise RuntimeError("Redis is not configured; call create_app() first")
        return self._client


redis_store = RedisConnection()
