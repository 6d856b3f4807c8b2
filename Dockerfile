# mpu-operator: the operator (`run`) and the RTC emulator (`emulator`) in one image.
#   docker build -t mpu-operator:0.1.0 .
# Two stages: the wheel is built with the build tools, the runtime image gets only the
# installed package, runs as a fixed non-root UID (manager.yaml's runAsUser) and works
# with a read-only root filesystem (nothing is written outside /tmp).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md* ./
COPY operator ./operator
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 10001 mpu \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin mpu
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["mpu-operator"]
CMD ["run", "--all-namespaces", "--liveness", "http://0.0.0.0:8080/healthz"]
