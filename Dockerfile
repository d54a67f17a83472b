# The regenkey conformance kit in a container, with the reference server (the server extra).
#
#   docker build -t regenkey .
#   docker run --rm regenkey run
#   docker run --rm --network host -e REGENKEY_PASSWORD regenkey check-server \
#       --base-url http://127.0.0.1:8080 --user-id sandbox
#   docker run --rm -p 8080:8080 regenkey serve --host 0.0.0.0 --memory --account demo:demo
#
# Reports go to /work/reports: mount a directory there (-v "$PWD/reports:/work/reports").
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY . .
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM python:3.11-slim
COPY --from=wheel /dist /dist
RUN python -m pip install --no-cache-dir "$(ls /dist/regenkey_kit-*.whl)[server]" \
    && rm -rf /dist \
    && useradd --create-home --uid 10001 regenkey \
    && mkdir /work && chown regenkey /work
USER regenkey
WORKDIR /work
ENTRYPOINT ["regenkey"]
CMD ["--help"]
