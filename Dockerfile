# syntax=docker/dockerfile:1
# prewarm's image: one static binary (SQLite is modernc.org/sqlite, pure Go,
# so CGO_ENABLED=0 loses nothing), the CA bundle, a non-root user. The same
# image runs `serve` (the default) and `agent`:
#   docker build -t prewarm .
#   docker run -p 8080:8080 -e PREWARM_API_KEY=… prewarm
#   docker run -e PREWARM_DATABASE=postgres://… prewarm agent
# Without an engine, cmd/prewarm-image builds the same image; its test
# checks that this file and it agree.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X prewarm/internal/cli.Version=${VERSION}" \
      -o /out/usr/local/bin/prewarm ./cmd/prewarm \
 && mkdir -p /out/etc/ssl/certs /out/var/lib/prewarm /out/tmp \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/var/lib/prewarm:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /out/etc/group \
 && chown 65532:65532 /out/var/lib/prewarm && chmod 0750 /out/var/lib/prewarm && chmod 1777 /out/tmp

FROM scratch
COPY --from=build /out/ /
ENV PATH=/usr/local/bin SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
WORKDIR /var/lib/prewarm
EXPOSE 8080/tcp
ENTRYPOINT ["/usr/local/bin/prewarm"]
CMD ["serve"]
