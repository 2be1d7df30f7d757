# gospublic's Airflow image: the official image plus the project's locked dependencies.
# The project folders are mounted by docker-compose.yml, so code changes need no rebuild.
FROM apache/airflow:3.3.2-python3.11

# The lock is hashed (`make lock`): --require-hashes refuses any archive whose sha256 is not in it,
# and any requirement that is not pinned with == and hashed. The lock is complete (every dependency
# resolved and pinned), so --no-deps: pip's resolver, in hash mode, rejects a dependency asked for
# with extras (the Celery provider's `celery[redis]`) as "not pinned" (pypa/pip#9644).
COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir --require-hashes --no-deps -r /opt/airflow/requirements.txt

ENV GOSPUBLIC_HOME=/opt/airflow/project \
    PYTHONPATH=/opt/airflow/project:/opt/airflow/project/plugins
