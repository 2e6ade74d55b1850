"""What a command works with, opened in one place from :class:`Settings`: the site, the store, the evidence folder,
the detector and the case manager.

Every command opens them the same way, so ``GRIDWATCH_DATA_DIR``, ``GRIDWATCH_DATABASE_URL`` and ``GRIDWATCH_SITE``
mean the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from service.cases.manager import CaseManager
from service.core.config import Settings
from service.core.registry import SiteRegistry
from service.core.site import SiteConfig, default_site, load_site
from service.store.blobs import open_blob_store
from service.store.db import Store, database_url, open_settings_store
from service.store.sites import sync_site
from service.workers.cameras import CameraRunner
from vision.detector import Detector
from vision.ocr import PosterReader
from vision.pipeline import PhotoDetector, photo_detector
from vision.textfinder import TextFinder
from vision.walltext import WallText


class Context:
    """An open store with the site synced into it, the site registry, the evidence folder and the case manager; the
    detector is loaded on first use (commands that only read the store never pay for it)."""

    def __init__(
        self,
        settings: Settings,
        site: SiteConfig,
        store: Store,
        store_url: str,
        *,
        model: Path | None = None,
        detector: Detector | None = None,
    ) -> None:
        self.settings, self.store, self.store_url = settings, store, store_url
        self.sites = SiteRegistry(site)  # the one owner of the site: the editor replaces it, the rest read it
        self.evidence = open_blob_store(settings)
        self.manager = CaseManager(store, self.sites, self.evidence)
        self.ocr = PosterReader(threads=settings.threads)  # its models load on the first poster
        self._model = model or settings.model
        self._detector = detector
        self._photos: PhotoDetector | None = None
        self._walls: WallText | None = None
        self.cameras: CameraRunner | None = None  # the camera stream workers, when the service runs them

    @property
    def site(self) -> SiteConfig:
        """The site now (:attr:`SiteRegistry.current`)."""
        return self.sites.current

    @property
    def detector(self) -> Detector:
        if self._detector is None:
            # The model's calibrated per-label thresholds are the floor; the site's rules may ask for more.
            self._detector = Detector(
                self._model,
                providers=self.settings.providers,
                precision=self.settings.precision,
                threads=self.settings.threads,
                model_thresholds=True,
                tuning_cache=self.settings.tuning_cache,
            )
        return self._detector

    @property
    def photos(self) -> PhotoDetector:
        """The photo pipeline every scan runs (the command, uploads, Ray actors): the detector, tiles and the text
        finder as the settings say, the same as ``gridwatch detect`` with the same settings."""
        if self._photos is None:
            reader = self.ocr if self.settings.text_finder else None
            self._photos = photo_detector(self.detector, tiles=self.settings.tiles, reader=reader)
        return self._photos

    @property
    def walls(self) -> WallText | None:
        """The text finder on the cameras' wall zones (read once every few minutes), None when it is off."""
        if self._walls is None and self.settings.text_finder:
            self._walls = WallText(TextFinder(self.ocr))
        return self._walls

    @property
    def store_location(self) -> str:
        """The store URL with any password hidden, for messages."""
        return make_url(self.store_url).render_as_string(hide_password=True)


@contextmanager
def open_context(
    settings: Settings | None = None,
    *,
    site: Path | None = None,
    model: Path | None = None,
    detector: Detector | None = None,
) -> Iterator[Context]:
    """Open what a command needs and close it afterwards.

    Args:
        settings: defaults to :class:`Settings` read from the environment.
        site: a site YAML overriding ``settings.site``; without either, :func:`default_site`.
        model: an ONNX model overriding ``settings.model``.
        detector: an already loaded detector to use instead of loading one.

    The site file is read and validated before the store is touched, so a bad file changes nothing; the store is
    migrated to the latest schema and the site synced into it.
    """
    settings = settings or Settings()
    site_path = site or settings.site
    cfg = load_site(site_path) if site_path else default_site()
    url = database_url(settings.data_dir, settings.database_url)
    store = open_settings_store(settings)
    try:
        with store.transaction() as session:
            sync_site(session, cfg)
        # The settings as applied (site and model included): what a worker elsewhere needs to open the same context.
        applied = settings.model_copy(update={"site": site_path, "model": model or settings.model})
        yield Context(applied, cfg, store, url, detector=detector)
    finally:
        store.dispose()
