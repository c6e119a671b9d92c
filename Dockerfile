# The complaintflow image: worker (`python -m worker`), API (`complaints serve`) and the
# operators' `complaints` command, all from one install of the project.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md worker.py starter.py ./
COPY complaints ./complaints
COPY workflows ./workflows
COPY activities ./activities
RUN pip install . \
    && python -m compileall -q workflows \
    && useradd --system --uid 10001 --home-dir /var/lib/complaints --create-home complaints

USER complaints
ENV COMPLAINTS_DATA_DIR=/var/lib/complaints
EXPOSE 8000
CMD ["complaints", "--help"]
