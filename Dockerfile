# The Airflow image for this provider: the official apache/airflow image of the locked Airflow version,
# plus this package and its dependencies exactly as uv.lock pins them (extra `celery` for the Celery
# worker). docker-compose.yaml builds it (`build: .`).
#
#   docker compose build            # or: docker build -t okta-salesforce-airflow .
#
# The Airflow version in AIRFLOW_IMAGE must match the apache-airflow pin in uv.lock
# (tests/unit/test_compose.py checks it).
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

# Stage 1: turn the lock into a hashed requirements file and build this package's wheel.
FROM ${AIRFLOW_IMAGE} AS build
# Builder stage only: root keeps the scratch directories writable; the runtime stage stays `airflow`.
USER 0
COPY --from=uv /uv /tmp/uv
WORKDIR /tmp/src
COPY pyproject.toml uv.lock README.md LICENSE ./
COPY testbed ./testbed
RUN /tmp/uv export --frozen --no-dev --extra celery --no-emit-project \
        --output-file /tmp/dist/requirements.txt --quiet \
    && /tmp/uv export --frozen --no-dev --package okta-salesforce-testbed --no-emit-workspace \
        --output-file /tmp/testbed/requirements.txt --quiet
COPY plugins/okta_salesforce ./plugins/okta_salesforce
RUN /tmp/uv build --wheel --out-dir /tmp/dist --quiet \
    && /tmp/uv build --wheel --package okta-salesforce-testbed --out-dir /tmp/testbed --quiet

# Stage 2: the runtime image. Install the locked requirements (hash-checked), then the wheel alone.
FROM ${AIRFLOW_IMAGE} AS runtime
COPY --from=build --chown=airflow:0 /tmp/dist/ /tmp/okta-salesforce/
RUN uv pip install --no-cache --require-hashes -r /tmp/okta-salesforce/requirements.txt \
    && uv pip install --no-cache --no-deps /tmp/okta-salesforce/*.whl \
    && rm -rf /tmp/okta-salesforce
# The sync configuration ships in the image; docker-compose.yaml mounts ./include over it for editing.
COPY --chown=airflow:0 include /opt/airflow/include
ENV OKTA_SALESFORCE_CONFIG=/opt/airflow/include/okta_salesforce.yaml

# Stage 3 (target `sandbox`, only for the compose profile `sandbox`): the runtime image plus the
# repository's test bed (Okta and Salesforce emulators), which the provider wheel does not contain.
FROM runtime AS sandbox
COPY --from=build --chown=airflow:0 /tmp/testbed/ /tmp/okta-salesforce-testbed/
RUN uv pip install --no-cache --require-hashes -r /tmp/okta-salesforce-testbed/requirements.txt \
    && uv pip install --no-cache --no-deps /tmp/okta-salesforce-testbed/*.whl \
    && rm -rf /tmp/okta-salesforce-testbed

# The default target: the runtime image, without the test bed.
FROM runtime
