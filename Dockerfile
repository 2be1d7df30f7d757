# gospublic's Airflow image: the official image plus the project's locked dependencies.
FROM apache/airflow:3.3.2-python3.11

# Headless Chromium prints the publication's PDFs (GOSPUBLIC_PUBLICATION_PDF=on in compose), with
# DejaVu fonts for Cyrillic; Debian's packages, as `make browser` installs them for development.
USER root
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
USER airflow

# The lock is hashed (`make lock`): --require-hashes refuses any archive whose sha256 is not in it,
# and any requirement that is not pinned with == and hashed. The lock is complete (every dependency
# resolved and pinned), so --no-deps: pip's resolver, in hash mode, rejects a dependency asked for
# with extras (the Celery provider's `celery[redis]`) as "not pinned" (pypa/pip#9644).
COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r /opt/airflow/requirements.txt

# The project's own distribution (packages gospublic and transforms; pyproject.toml), built from
# the copied sources without isolation so that the build uses the locked setuptools. Code is part of
# the image: a change to plugins/ or transforms/ needs `docker compose build`. Nothing is put on
# PYTHONPATH; DAGs, SQL, suites and configuration are mounted under GOSPUBLIC_HOME.
COPY --chown=airflow:0 pyproject.toml /opt/airflow/src/pyproject.toml
COPY --chown=airflow:0 plugins/gospublic /opt/airflow/src/plugins/gospublic
COPY --chown=airflow:0 transforms /opt/airflow/src/transforms
RUN pip install --no-cache-dir --no-deps --no-build-isolation /opt/airflow/src

ENV GOSPUBLIC_HOME=/opt/airflow/project
