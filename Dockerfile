FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY worker.py broker.py scheduler.py manage.py ./
RUN pip install --no-cache-dir -e .
CMD ["python", "worker.py"]
