# syntax=docker/dockerfile:1
# Three targets (Rasa 3.6 needs Python 3.10; the app runs on 3.11):
#   docker build --target app  -t pustakabot-app .    gateway + answer engine, CLI, catalog sync
#   docker build --target rasa -t pustakabot-rasa .   the NLU server with its trained model
# The rasa target is trained with the catalog's lookup tables (titles, authors, synonyms):
# they are written by the app from the catalog export in deploy/catalog/ (MARC, MARCXML,
# CSV/TSV; see deploy/README.md), so the NLU knows the library's own titles.
# docker-compose.yml builds both and runs them with PostgreSQL, Redis and HAProxy.

############## Gateway with the answer engine (Python 3.11) ##############
FROM python:3.11-slim AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1
WORKDIR /app
COPY requirements/app.lock requirements/app.lock
# CPU-only PyTorch first (PyPI's default build is the CUDA one, gigabytes larger).
RUN pip install -U pip \
    && pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install -r requirements/app.lock
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY actions/ actions/
COPY knowledge/ knowledge/
COPY nlu/ nlu/
RUN pip install --no-deps .
# A sentence-transformers FAQ model is fine-tuned on the FAQ files here; the default numpy
# embedder is served as shipped (nothing to tune).
ENV PUSTAKABOT_MODELS_DIR=/app/models
RUN if python -c "import sys; from bot.settings import Settings; from knowledge.faq_tune import tunable; sys.exit(0 if tunable(Settings().embedding_model) else 1)"; \
    then python -m bot faq tune; fi
RUN useradd --system --uid 1001 pustakabot && mkdir -p /app/data /app/models && chown -R pustakabot /app
USER pustakabot
ENV PUSTAKABOT_HOST=0.0.0.0 PUSTAKABOT_DATA_DIR=/app/data PUSTAKABOT_LOAD_DEMO=false
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)" || exit 1
CMD ["pustakabot", "gateway"]

############## The catalog's lookup tables for the NLU (build-time only) ##############
FROM app AS lookups
USER root
COPY deploy/catalog/ /catalog/
# The export is imported into a throw-away SQLite database; with no export the demo catalog's
# names are used (and said so in the build log).
RUN export PUSTAKABOT_DATA_DIR=/tmp/lookups && pustakabot db upgrade >/dev/null \
    && for f in /catalog/*; do case "$f" in \
         *.mrc|*.marc|*.xml|*.csv|*.tsv) pustakabot catalog import "$f" ;; esac; done \
    && pustakabot lookups --out /lookups

######################## Rasa NLU server (Python 3.10) ########################
FROM python:3.10-slim AS rasa
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=/app MALLOC_ARENA_MAX=2
WORKDIR /app
COPY requirements/rasa.lock requirements/rasa.lock
RUN pip install -U pip && pip install -r requirements/rasa.lock "setuptools>=70.3,<70.4"
COPY config.yml ./
COPY nlu/ nlu/
COPY --from=lookups /lookups/ nlu/data/generated/
# The NLU model is trained at build time, so the image carries exactly the model of its sources.
RUN rasa train nlu --config config.yml --nlu nlu/data --out models --fixed-model-name pustakabot \
    && rm -rf .rasa
RUN useradd --system --uid 1001 pustakabot && chown -R pustakabot /app
USER pustakabot
EXPOSE 5005
# Rasa's HTTP API can replace the model: it never starts without a token (shared with the gateway).
CMD ["sh", "-c", ": \"${PUSTAKABOT_RASA_TOKEN:?set PUSTAKABOT_RASA_TOKEN}\" && exec rasa run --enable-api --auth-token \"$PUSTAKABOT_RASA_TOKEN\" --model models/pustakabot.tar.gz --interface 0.0.0.0 --port 5005"]
