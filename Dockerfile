# The streamalert worker. Build: docker build -t streamalert .
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml constraints.txt README.md ./
COPY src ./src
# EXTRAS="[sink]" for an image that also runs `streamalert sink` (docker-compose.yml's sink).
ARG EXTRAS=""
RUN pip install --no-cache-dir -c constraints.txt ".${EXTRAS}" \
 && useradd --create-home --uid 10001 streamalert \
 && mkdir -p /var/lib/streamalert && chown streamalert /var/lib/streamalert
USER streamalert
ENV STREAMALERT_DATA_DIR=/var/lib/streamalert/data
EXPOSE 6066
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6066/healthz')"
ENTRYPOINT ["streamalert"]
CMD ["worker"]
