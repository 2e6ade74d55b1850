"""Process-wide settings, read once from ``GRIDWATCH_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = REPO_ROOT / "models"
DEFAULT_MODEL = MODELS_DIR / "gridwatch-yolo26n.onnx"
COCO_MODEL = MODELS_DIR / "yolo26n-coco.onnx"  # pseudo-labels people and vehicles when datasets are built


class Settings(BaseSettings):
    """Settings shared by every command; each field can be set as ``GRIDWATCH_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_", extra="forbid")

    model: Path = Field(default=DEFAULT_MODEL, description="ONNX detector used when no --model is given")
    data_dir: Path = Field(default=Path("data"), description="evidence files and the default SQLite store")
    providers: str = Field(
        default="auto",
        description="inference runtime: auto (GPU where offered, else the faster of onnxruntime and OpenVINO here, "
        "measured once), openvino, cpu, cuda, tensorrt",
    )
    precision: str = Field(default="auto", description="OpenVINO precision: auto (= fp32), fp32, bf16")
    threads: int = Field(default=0, ge=0, le=256, description="CPU inference threads; 0 = one per core")
    tiles: Literal["auto", "on", "off"] = Field(
        default="auto", description="photos also detected in overlapping tiles: auto (photos >= 2x the model input)"
    )
    text_finder: bool = Field(default=True, description="read the text on photos to find small ads (flyposting)")
    database_url: str | None = Field(
        default=None,
        description="case store URL, e.g. postgresql+psycopg://user@host/db; default: SQLite at data_dir/gridwatch.db",
    )
    site: Path | None = Field(default=None, description="site configuration YAML; default: one unit, one grid")
    keep_originals: bool = Field(
        default=False,
        description="let admins fetch original evidence files; everyone else only ever gets faces and plates blurred",
    )
    admin_password: SecretStr | None = Field(
        default=None, description="password of the first admin, created at start-up when the store has no user"
    )
    session_hours: float = Field(default=12.0, gt=0.0, le=24.0 * 30, description="lifetime of a login session")
    cookie_secure: bool = Field(
        default=False, description="send the session cookie over HTTPS only: turn on whenever the site is behind TLS"
    )
    trusted_proxies: str = Field(
        default="",
        max_length=2000,
        description="comma-separated addresses of reverse proxies whose X-Forwarded-For/-Proto are believed; "
        "empty: none (the client address is the connection's)",
    )
    hsts_seconds: int = Field(
        default=0,
        ge=0,
        le=2 * 365 * 86_400,
        description="Strict-Transport-Security max-age; 0 = not sent (set it only when the site is served over HTTPS)",
    )
    max_body_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        le=1024**3,
        description="largest request body of any route but the uploads, which stream to disk under their own limits",
    )
    # Slow clients (slowloris): how long the server waits for a request's parts before answering 408 and closing.
    header_timeout_s: float = Field(
        default=10.0, gt=0.0, le=600.0, description="seconds a connection may take to send a request's headers"
    )
    body_timeout_s: float = Field(
        default=30.0,
        gt=0.0,
        le=3600.0,
        description="seconds a request body may take (the uploads: the longest pause between two of its pieces)",
    )
    keep_alive_s: int = Field(default=5, ge=1, le=600, description="seconds an idle keep-alive connection is kept")
    # Uploads (photo batches, handling photos) per principal: a leaked token or a runaway phone app must not fill
    # the disk or starve the detector for everyone else.
    upload_rate_limit: int = Field(
        default=60, ge=0, le=1_000_000, description="uploads per principal within upload_rate_window_s; 0 = no limit"
    )
    upload_rate_window_s: float = Field(default=60.0, gt=0.0, le=86_400.0, description="upload rate-limit window")
    # PostgreSQL connection pool, per process (CLI, API worker, Ray actor); SQLite ignores these.
    db_pool_size: int = Field(default=5, ge=1, le=500, description="connections each process keeps open")
    db_max_overflow: int = Field(default=10, ge=0, le=500, description="extra connections a busy process may open")
    db_pool_timeout: float = Field(default=30.0, gt=0.0, le=600.0, description="seconds to wait for a free connection")
    db_pool_recycle: int = Field(default=1800, ge=60, le=86_400, description="seconds before a connection is renewed")
    db_pool_pre_ping: bool = Field(default=True, description="test a pooled connection before use")
    # Evidence in S3-compatible object storage instead of data_dir/evidence when a bucket is named.
    s3_bucket: str | None = Field(default=None, min_length=3, max_length=63, description="evidence bucket")
    s3_prefix: str = Field(default="evidence/", max_length=200, description="key prefix of evidence objects")
    s3_endpoint: str | None = Field(default=None, description="endpoint URL (MinIO, Ceph...); default: AWS")
    s3_region: str | None = Field(default=None, description="region of the bucket")
    s3_access_key: str | None = Field(default=None, description="access key id; default: the AWS credential chain")
    s3_secret_key: SecretStr | None = Field(default=None, description="secret access key")
    # Where camera streams and photo scans run: this process, or a Ray cluster (the [cluster] extra).
    cluster: str = Field(
        default="local", description="local, auto (RAY_ADDRESS or this machine's Ray), ray://head:10001 or host:port"
    )
    cluster_camera_workers: int = Field(default=2, ge=1, le=10_000, description="camera actors the service keeps")
    cluster_cpus_per_worker: float = Field(default=1.0, gt=0.0, le=256.0, description="CPUs of each Ray actor")
    cluster_gpus_per_worker: float = Field(default=0.0, ge=0.0, le=16.0, description="GPUs of each Ray actor")

    @property
    def tuning_cache(self) -> Path:
        """Where ``providers: auto`` keeps its measured choice of CPU runtime (:mod:`vision.engines.tuning`)."""
        return self.data_dir / "runtime-choice.json"
