# gospublic's Airflow image: the official image plus the project's locked dependencies.
# The project folders are mounted by docker-compose.yml, so code changes need no rebuild.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt

ENV GOSPUBLIC_HOME=/opt/airflow/project \
    PYTHONPATH=/opt/airflow/project:/opt/airflow/project/plugins
