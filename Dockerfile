# syntax=docker/dockerfile:1
# One image for every silo: the Orleans silo, the REST API and the web page in one process.
#   docker build -t rootcause-silo .
# docker-compose.yml runs three of these behind HAProxy on one PostgreSQL.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files only, so that a code change does not invalidate the
# package layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Grains.Abstractions/RootCause.Grains.Abstractions.csproj src/Grains.Abstractions/
COPY src/Grains/RootCause.Grains.csproj src/Grains/
COPY src/Api/RootCause.Api.csproj src/Api/
COPY src/Silo/RootCause.Silo.csproj src/Silo/
RUN dotnet restore src/Silo/RootCause.Silo.csproj
COPY src/ src/
RUN dotnet publish src/Silo/RootCause.Silo.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# curl is for the container health check (the aspnet image ships neither curl nor wget).
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*
# The silo's search index directory: owned by the app user, so a named volume mounted there
# starts out writable (Docker copies the directory's ownership into a new volume).
RUN mkdir -p /var/lib/rootcause/index && chown "$APP_UID" /var/lib/rootcause/index
WORKDIR /app
COPY --from=build /app ./
COPY deploy/silo-entrypoint.sh /usr/local/bin/rootcause-silo-entrypoint.sh
# The non-root user the .NET images define (APP_UID=1654).
USER $APP_UID
ENV ASPNETCORE_URLS=http://+:8080 \
    Otlp__GrpcUrl=http://+:4317 \
    DOTNET_ENVIRONMENT=Production \
    Search__IndexPath=/var/lib/rootcause/index
# 8080: HTTP (API, web page, health). 4317: OTLP/gRPC traces. 11111: silo-to-silo. 30000: Orleans client gateway.
EXPOSE 8080 4317 11111 30000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["/bin/sh", "/usr/local/bin/rootcause-silo-entrypoint.sh"]
