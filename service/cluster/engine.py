"""Where the work runs: ``local`` (this process, no Ray), ``auto`` or a Ray cluster address."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url

from domain.errors import ClusterError
from service.core.config import Settings

NAMESPACE = "gridwatch"  # named actors of GridWatch live here


@dataclass(frozen=True)
class Engine:
    """``--cluster``: ``local``, ``auto`` (``RAY_ADDRESS``, else the cluster started on this machine with ``ray
    start``, else a new single-machine Ray), ``ray://host:10001`` (Ray client) or ``host:6379`` (a cluster node)."""

    address: str = "local"

    @property
    def is_local(self) -> bool:
        return self.address == "local"

    def connect(self) -> None:
        """Join the cluster, or start a single-machine Ray for ``auto`` when none is running (idempotent)."""
        if self.is_local:
            raise ClusterError("the local engine runs in this process: there is no cluster to connect to")
        try:
            import ray
        except ImportError as exc:
            raise ClusterError("--cluster needs Ray: pip install 'gridwatch[cluster]'") from exc
        if not ray.is_initialized():
            # The package is installed on every node (the service image): workers import it, nothing is uploaded.
            ray.init(address=None if self.address == "auto" else self.address, namespace=NAMESPACE)

    def nodes(self) -> int:
        """Alive nodes of the connected cluster."""
        import ray

        return len([node for node in ray.nodes() if node.get("Alive")])  # type: ignore[no-untyped-call]


def parse_engine(text: str) -> Engine:
    """``--cluster`` argument: ``local``, ``auto``, ``ray://host[:port]`` or ``host:port``."""
    if text in ("local", "auto") or text.startswith("ray://") or (":" in text and "/" not in text):
        return Engine(text)
    raise ClusterError(f"--cluster takes local, auto, ray://host:port or host:port, not {text!r}")


def check_shared_store(database_url: str, nodes: int) -> None:
    """A store every worker can reach: SQLite is one machine's file, so only a single-node cluster may use it."""
    if nodes > 1 and make_url(database_url).get_backend_name() == "sqlite":
        raise ClusterError(
            f"a {nodes}-node cluster needs a shared store: set GRIDWATCH_DATABASE_URL to PostgreSQL "
            "(the SQLite file of this machine is not reachable from the others)"
        )


def portable(settings: Settings) -> Settings:
    """``settings`` with their paths made absolute: an actor runs in another working directory (on another node,
    where the paths must name the same shared files)."""
    return settings.model_copy(
        update={
            "data_dir": settings.data_dir.resolve(),
            "model": settings.model.resolve(),
            "site": settings.site.resolve() if settings.site else None,
        }
    )
