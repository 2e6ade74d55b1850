# GridWatch service image: `gridwatch serve` (API, web UI, camera streams, photo batches) on onnxruntime + OpenCV,
# no torch. The same image runs the nodes of a Ray cluster (`ray start ...`, see docs/deployment.md).
#
#   docker build -t gridwatch .                                  # CPU, with the cluster and S3 extras
#   docker build -t gridwatch:lite --build-arg EXTRAS=s3 .       # one machine, no Ray
#   docker run -p 8000:8000 -v gridwatch-data:/data -e GRIDWATCH_ADMIN_PASSWORD=... gridwatch
#   docker run --rm -v "$PWD/photos:/photos" gridwatch scan /photos --place market-lane-corner

# ---- dependencies: a virtual environment, rebuilt only when pyproject.toml changes ----------------------------------
FROM python:3.11-slim AS deps
ARG EXTRAS=cluster,s3
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
# Installs the dependencies and extras of pyproject.toml; the package itself (no code copied yet) comes later.
RUN pip install ".[${EXTRAS}]" && pip uninstall -y gridwatch

# ---- runtime ---------------------------------------------------------------------------------------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/venv/bin:$PATH \
    GRIDWATCH_DATA_DIR=/data
# libgomp: OpenMP of onnxruntime's CPU kernels; tini reaps the children of Ray and FFmpeg and forwards signals.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 gridwatch \
    && mkdir -p /data && chown gridwatch /data
COPY --from=deps /opt/venv /opt/venv
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
# The runtime: the domain core, vision, the service and the command line. training/ and datasets/ are developer
# tools (their commands import them only when run) and stay out of the image.
COPY domain ./domain
COPY vision ./vision
COPY service ./service
COPY cli ./cli
COPY models ./models
COPY samples ./samples
COPY docs/site.example.yaml ./docs/site.example.yaml
# Editable, without dependencies (installed above): models/ stays next to the code, where the runtime looks for it.
RUN pip install --no-deps -e . && gridwatch --help > /dev/null

USER gridwatch
VOLUME ["/data"]
EXPOSE 8000
# /healthz answers while the process is up (/readyz also waits for the model and the store).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["tini", "--", "gridwatch"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
