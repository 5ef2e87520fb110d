# Build a static binary, then ship it alone in a distroless, non-root image.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
WORKDIR /workspace
# Cache modules before copying the sources.
COPY go.mod go.sum ./
RUN go mod download
COPY *.go ./
COPY api/ api/
COPY internal/ internal/
COPY controllers/ controllers/
# Pure Go (the SQLite driver is modernc.org/sqlite): no cgo, no libc.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o wallet-operator .

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/wallet-operator /wallet-operator
USER 65532:65532
ENTRYPOINT ["/wallet-operator"]
