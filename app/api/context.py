"""Everything a request needs, built once per application from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from authlib.integrations.starlette_client import OAuth
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff

from app.catalogue import ModelCatalogue
from app.core.cdn import SignedCdn
from app.core.config import Settings
from app.core.database import Database
from app.core.loops import PerLoop
from app.core.queue import JobQueue
from app.core.ratelimit import RateLimiter
from app.core.redis_clients import AsyncRedis, SyncRedis, async_client, sync_client
from app.core.security import CsrfTokens, TokenService
from app.core.storage import ImageStorage


@dataclass
class AppContext:
    settings: Settings
    db: Database
    redis: SyncRedis
    # The same server from the event loop (the generation endpoint's XADD).
    redis_async: PerLoop[AsyncRedis]
    queue: JobQueue
    storage: ImageStorage
    limiter: RateLimiter
    tokens: TokenService
    csrf: CsrfTokens
    catalogue: ModelCatalogue
    oauth: OAuth

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        options: dict[str, Any] = {
            "decode_responses": True,
            "socket_timeout": 5,
            "socket_connect_timeout": 5,
            "health_check_interval": 30,
            "max_connections": 100,
        }
        cluster = settings.redis_cluster
        client = sync_client(settings.redis_url, cluster=cluster, **options)
        return cls(
            settings=settings,
            db=Database(
                settings.database_url,
                settings.db_schema,
                settings.database_read_url,
                pool_size=settings.db_pool_size,
                pool_timeout=settings.db_pool_timeout_seconds,
            ),
            redis=client,
            redis_async=PerLoop(
                lambda: async_client(
                    settings.redis_url,
                    cluster=cluster,
                    **options,
                    # A restarted Redis leaves pooled connections closed: reconnect, retry.
                    retry=AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), 3),
                    retry_on_error=[redis.ConnectionError],
                )
            ),
            queue=JobQueue(client),
            storage=ImageStorage(
                bucket=settings.s3_bucket,
                region=settings.aws_region,
                endpoint_url=settings.aws_endpoint_url,
                cdn=_signed_cdn(settings),
                url_ttl_seconds=settings.image_url_ttl_seconds,
            ),
            limiter=RateLimiter(settings.redis_url, cluster=cluster),
            tokens=TokenService(
                settings.jwt_secret.get_secret_value(),
                settings.access_token_minutes,
                settings.refresh_token_days,
            ),
            csrf=CsrfTokens(settings.session_secret.get_secret_value()),
            catalogue=ModelCatalogue(settings.models_dir),
            oauth=_oauth_clients(settings),
        )

    async def aclose(self) -> None:
        """Close everything, the running loop's asyncio clients included."""
        await self.db.statements.close()
        client = self.redis_async.pop()
        if client is not None:
            await client.aclose()
        self.db.dispose()
        self.redis.close()


def _signed_cdn(settings: Settings) -> SignedCdn | None:
    if not settings.image_base_url:
        return None
    # The settings' validator refused a CDN without its key.
    assert settings.cloudfront_key_pair_id
    assert settings.cloudfront_private_key
    return SignedCdn(
        settings.image_base_url,
        settings.cloudfront_key_pair_id,
        settings.cloudfront_private_key.get_secret_value(),
        distribution_id=settings.cloudfront_distribution_id,
        region=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
    )


def _oauth_clients(settings: Settings) -> OAuth:
    oauth = OAuth()
    if settings.google_client_id and settings.google_client_secret:
        oauth.register(
            "google",
            client_id=settings.google_client_id,
            client_secret=settings.google_client_secret.get_secret_value(),
            server_metadata_url=settings.google_metadata_url,
            client_kwargs={"scope": "openid email profile"},
        )
    if settings.discord_client_id and settings.discord_client_secret:
        api = settings.discord_api_url.rstrip("/")
        oauth.register(
            "discord",
            client_id=settings.discord_client_id,
            client_secret=settings.discord_client_secret.get_secret_value(),
            authorize_url="https://discord.com/oauth2/authorize",
            access_token_url=f"{api}/oauth2/token",
            api_base_url=f"{api}/",
            client_kwargs={
                "scope": "identify email",
                "token_endpoint_auth_method": "client_secret_post",
            },
        )
    return oauth
