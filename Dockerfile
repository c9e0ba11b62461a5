# DevOrchestrator container image: one image, the role chosen by the command (ENTRYPOINT is devorch).
#   docker build -t devorch .
#   docker run -p 8000:8000 -v devorch-data:/data devorch                    # serve (API + worker), SQLite in /data
#   docker run ... devorch serve --role api | serve --role worker | db migrate | user create --email …
# Build and run instructions, volumes, settings and the sandbox: docs/deployment/docker.md.

# --- Build: restore (a layer cached as long as the project files do not change), then publish.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
    UseSharedCompilation=false
# Another package source (a mirror): docker build --build-arg NUGET_SOURCE=https://nuget.example/v3/index.json .
ARG NUGET_SOURCE=https://api.nuget.org/v3/index.json
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/DevOrchestrator/DevOrchestrator.csproj src/DevOrchestrator/
COPY src/DevOrchestrator.Abstractions/DevOrchestrator.Abstractions.csproj src/DevOrchestrator.Abstractions/
COPY src/Plugins/DevOrchestrator.Plugins.GitHub/DevOrchestrator.Plugins.GitHub.csproj src/Plugins/DevOrchestrator.Plugins.GitHub/
COPY src/Plugins/DevOrchestrator.Plugins.Jira/DevOrchestrator.Plugins.Jira.csproj src/Plugins/DevOrchestrator.Plugins.Jira/
COPY src/Plugins/DevOrchestrator.Plugins.Slack/DevOrchestrator.Plugins.Slack.csproj src/Plugins/DevOrchestrator.Plugins.Slack/
COPY src/Plugins/DevOrchestrator.Plugins.Confluence/DevOrchestrator.Plugins.Confluence.csproj src/Plugins/DevOrchestrator.Plugins.Confluence/
RUN dotnet restore src/DevOrchestrator/DevOrchestrator.csproj --source "$NUGET_SOURCE"
COPY src/ src/
# Analyzers and documentation files are the CI build's business (dotnet build -warnaserror); the image only compiles.
RUN dotnet publish src/DevOrchestrator/DevOrchestrator.csproj --no-restore -c Release -o /out \
      -p:RunAnalyzers=false -p:GenerateDocumentationFile=false

# --- Runtime: the ASP.NET Core runtime plus what tasks need (git, ssh for git remotes, CA certificates, bubblewrap) and
# what `devorch db backup|restore` needs on PostgreSQL (pg_dump/pg_restore, a client at least as new as the server).
FROM mcr.microsoft.com/dotnet/aspnet:10.0
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates bubblewrap postgresql-client \
 && rm -rf /var/lib/apt/lists/*
# The service runs as uid/gid 1000 ("devorch"); a base image's own user with that id (Ubuntu's "ubuntu") is removed.
RUN if getent passwd 1000 >/dev/null; then userdel --remove "$(getent passwd 1000 | cut -d: -f1)" 2>/dev/null || true; fi \
 && if getent group 1000 >/dev/null; then groupdel "$(getent group 1000 | cut -d: -f1)"; fi \
 && groupadd --gid 1000 devorch \
 && useradd --uid 1000 --gid 1000 --home-dir /home/devorch --create-home --shell /bin/sh devorch \
 && mkdir -p /data /workspaces /workflows /prompts /package-caches /backups \
 && chown devorch:devorch /data /workspaces /workflows /package-caches /backups
WORKDIR /app
COPY --from=build /out/ /app/
# The backup scripts (BACKUP_DIR, RETENTION_DAYS) the Compose file and the Kubernetes CronJob run.
COPY deploy/scripts/backup.sh deploy/scripts/restore.sh /app/scripts/
RUN ln -s /app/devorch /usr/local/bin/devorch
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    ASPNETCORE_HTTP_PORTS= \
    URLS=http://0.0.0.0:8000 \
    DATA_DIR=/data \
    WORKSPACES_DIR=/workspaces \
    WORKFLOWS_DIR=/workflows \
    PROMPTS_DIR=/prompts \
    PACKAGE_CACHE_DIR=/package-caches
USER 1000:1000
VOLUME ["/data", "/workspaces"]
EXPOSE 8000
# "devorch health" asks the local server's /health (no curl in the image): exit 0 healthy or degraded, 1 unhealthy.
# (No --start-period: dockerfilelint 1.8 misreads it; three failures 30 s apart leave a start enough time.)
HEALTHCHECK --interval=30s --timeout=10s --retries=3 CMD ["devorch", "health"]
ENTRYPOINT ["/app/devorch"]
CMD ["serve"]
