# GridWatch runtime image: onnxruntime + OpenCV + numpy, no torch.
# Build: docker build -t gridwatch .    Run: docker run --rm -v "$PWD/photos:/photos" gridwatch detect /photos
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    GRIDWATCH_DATA_DIR=/data

WORKDIR /app
# Dependencies first so code edits do not invalidate the install layer.
COPY pyproject.toml README.md LICENSE ./
COPY vision ./vision
COPY service ./service
COPY training ./training
COPY datasets ./datasets
COPY models ./models
COPY samples ./samples
# Editable install keeps models/ found next to the code (the runtime loads models by path).
RUN pip install -e . && useradd --create-home --uid 10001 gridwatch && mkdir -p /data && chown gridwatch /data
USER gridwatch
VOLUME ["/data"]
ENTRYPOINT ["gridwatch"]
CMD ["detect", "/app/samples"]
