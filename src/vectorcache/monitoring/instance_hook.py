"""The instance's own alert webhook, from settings: where alerts that no project owns go (a
burst of failed authentications with keys the server does not know names no project).

``VECTORCACHE_ALERT_WEBHOOK_URL`` with ``VECTORCACHE_ALERT_WEBHOOK_SECRET`` (and optionally
``VECTORCACHE_ALERT_WEBHOOK_FORMAT``). Deliveries to it are queued, signed, retried and kept
like a project webhook's, under the webhook id ``instance``; its secret stays in the
settings (never in the database).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from vectorcache.errors import ConfigurationError
from vectorcache.monitoring.alert_models import Webhook
from vectorcache.settings import Settings

__all__ = ["INSTANCE_WEBHOOK", "InstanceHook", "instance_hook"]

#: the webhook id of the instance's webhook on delivery rows (project webhooks have UUIDs)
INSTANCE_WEBHOOK = "instance"


@dataclass(frozen=True)
class InstanceHook:
    url: str
    secret: str = field(repr=False)
    format: str = "json"

    @property
    def webhook(self) -> Webhook:
        return Webhook(INSTANCE_WEBHOOK, "", self.url, self.format, 0.0, True)


def instance_hook(settings: Settings) -> InstanceHook | None:
    """The configured instance webhook; None when there is none. A URL without a secret (or
    not http(s)) is a configuration error, said at start."""
    url = settings.alert_webhook_url
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError("VECTORCACHE_ALERT_WEBHOOK_URL must be an http(s) URL.")
    if settings.alert_webhook_secret is None:
        raise ConfigurationError(
            "Config 'VECTORCACHE_ALERT_WEBHOOK_SECRET' is missing, and has no default: the "
            "instance's alert webhook signs every delivery with it (16 to 256 characters).")
    return InstanceHook(url, settings.alert_webhook_secret.get_secret_value(),
                        settings.alert_webhook_format)
