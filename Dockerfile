# syntax=docker/dockerfile:1
# Two runtimes, two targets (Rasa 3.6 needs Python 3.10; the app runs on 3.11):
#   docker build --target rasa -t pustakabot-rasa .
#   docker build --target app  -t pustakabot-app .
# docker-compose.yml builds both and runs them with PostgreSQL and Redis.

######################## Rasa NLU server (Python 3.10) ########################
FROM python:3.10-slim AS rasa
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH=/app
WORKDIR /app
COPY requirements/rasa.lock requirements/rasa.lock
RUN pip install -U pip && pip install -r requirements/rasa.lock "setuptools>=70.3,<70.4"
COPY config.yml ./
COPY nlu/ nlu/
# The NLU model is trained at build time, so the image carries exactly the model of its sources.
RUN rasa train nlu --config config.yml --nlu nlu/data --out models --fixed-model-name pustakabot \
    && rm -rf .rasa
RUN useradd --system --uid 1001 pustakabot && chown -R pustakabot /app
USER pustakabot
EXPOSE 5005
# Rasa's HTTP API can replace the model: it never starts without a token (shared with the gateway).
CMD ["sh", "-c", ": \"${PUSTAKABOT_RASA_TOKEN:?set PUSTAKABOT_RASA_TOKEN}\" && exec rasa run --enable-api --auth-token \"$PUSTAKABOT_RASA_TOKEN\" --model models/pustakabot.tar.gz --interface 0.0.0.0 --port 5005"]

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
# The FAQ embedding model fine-tuned on the FAQ files, with its calibrated thresholds.
ENV PUSTAKABOT_MODELS_DIR=/app/models
RUN python -m bot faq tune
RUN useradd --system --uid 1001 pustakabot && mkdir -p /app/data && chown -R pustakabot /app
USER pustakabot
ENV PUSTAKABOT_HOST=0.0.0.0 PUSTAKABOT_DATA_DIR=/app/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)" || exit 1
CMD ["pustakabot", "gateway"]
