FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY worker.py worker_ui.py broker.py scheduler.py manage.py ./
COPY scripts ./scripts
RUN pip install --no-cache-dir -e . && pip install --no-cache-dir --no-deps dramatiq-dashboard==0.4.0
CMD ["python", "worker.py"]
