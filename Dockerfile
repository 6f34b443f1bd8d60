# Millwright's image: built from the sources with the single-file build, production dependencies only,
# run as an unprivileged user on a read-only root filesystem (writable: the /var/lib/millwright volume
# and /tmp). Build: podman build --format docker -t millwright . (or docker build); see README,
# "Running in production". NODE_IMAGE picks the base (any Debian-based Node 20 image).
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim

# 1. Build: every dependency, the type check and bundle (npm run build), then drop the dev ones.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
# Behind a TLS-inspecting proxy, hand its CA to npm as a build secret (bin/build-image.mjs passes the
# host's NODE_EXTRA_CA_CERTS): --secret id=npm-ca,src=FILE. It never lands in a layer.
RUN --mount=type=secret,id=npm-ca,required=false \
  if [ -f /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
  && npm ci
COPY bin ./bin
COPY src ./src
COPY commands ./commands
COPY adapters ./adapters
COPY runbooks ./runbooks
COPY migrations ./migrations
COPY tsconfig.json ./
RUN npm run build && npm prune --omit=dev

# 2. Runtime: what `millwright` needs and nothing else, owned by root and read-only to the bot.
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
# A fixed uid/gid (10001) so Kubernetes' runAsNonRoot can check it; no shell login, no home but the volume.
RUN echo 'millwright:x:10001:10001:Millwright:/var/lib/millwright:/usr/sbin/nologin' >> /etc/passwd \
  && echo 'millwright:x:10001:' >> /etc/group \
  && mkdir -p /var/lib/millwright /etc/millwright \
  && chown 10001:10001 /var/lib/millwright \
  && chmod 0700 /var/lib/millwright
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/src ./src
COPY --from=build /src/commands ./commands
COPY --from=build /src/adapters ./adapters
COPY --from=build /src/runbooks ./runbooks
# The PostgreSQL schema's versions, read by `millwright store migrate` (and by serve with store.migrate: onStart).
COPY --from=build /src/migrations ./migrations
COPY --from=build /src/dist ./dist
COPY deploy/image/millwright.yml /etc/millwright/millwright.yml
ENV NODE_ENV=production \
  MILLWRIGHT_CONFIG=/etc/millwright/millwright.yml \
  MILLWRIGHT_HEALTHCHECK_URL=http://127.0.0.1:3000/healthz
# The sources are the ones the bundle was built from, but copying gave them (and their folders) new
# times; set them to the epoch so bin/millwright.js sees the bundle as current and runs it, not tsx.
# Then one run as root leaves the bundle's V8 code cache beside it: the bot cannot write it later.
RUN find /app/src /app/commands /app/adapters -exec touch -h -d @0 {} + \
  && ln -s /app/bin/millwright.js /usr/local/bin/millwright \
  && MILLWRIGHT_STORE=/tmp/millwright-warm millwright shell -e help > /dev/null \
  && rm -rf /tmp/millwright-warm \
  && ls /app/dist/.millwright.*.cache > /dev/null
VOLUME ["/var/lib/millwright"]
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.MILLWRIGHT_HEALTHCHECK_URL).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["millwright"]
CMD ["serve"]

# 3. The image itself, smoke-tested as the unprivileged user: the baked config checks, the shell
#    answers, the bundle is current, and nothing of /app is writable. What the checks write goes to /tmp.
FROM runtime
RUN export MILLWRIGHT_STORE=/tmp/millwright-smoke \
  && millwright config check \
  && millwright shell -e help > /tmp/millwright-smoke.help \
  && grep -q 'runbook' /tmp/millwright-smoke.help \
  && node --input-type=module -e "const { buildIsFresh } = await import('/app/bin/bundle.js'); if (!(await buildIsFresh('/app', '/app/dist'))) { console.error('the bundle is older than its sources: the image would run them through tsx'); process.exit(1); }" \
  && if [ -n "$(find /app /etc/millwright -writable -print -quit)" ]; then echo 'part of /app is writable by the bot' >&2; exit 1; fi \
  && rm -rf /tmp/millwright-smoke /tmp/millwright-smoke.help
