import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { WebSocketServer, type WebSocket } from "ws";
import type { OrgGate } from "../auth/org-gate.js";
import { clientFrameSchema, NeuroflowError, WS_CLOSE, type ServerFrame, type TeamExecEvent } from "../../runtime/protocol/index.js";
import { httpStatusOf } from "../http/error-table.js";

export interface WsRelayDeps {
  server: Server;
  gate: OrgGate;
  logger: Logger;
  /** How often dead peers are looked for; a peer that missed one ping is terminated. */
  heartbeatMs?: number;
}

export const WS_PATH = "/ws";

interface Client {
  socket: WebSocket;
  orgId: string;
  alive: boolean;
}

/**
 * The console's live feed: `/ws?orgId=…`. Authenticated during the HTTP upgrade (session cookie,
 * `Authorization: Bearer` session token or API key), refused there with 401/404 before any WebSocket exists; each
 * connection is scoped to one organization and only receives that org's frames.
 */
export class WsRelay {
  readonly #deps: WsRelayDeps;
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  readonly #clients = new Map<WebSocket, Client>();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => void this.#upgrade(request, socket, head);

  constructor(deps: WsRelayDeps) {
    this.#deps = deps;
    deps.server.on("upgrade", this.#onUpgrade);
    this.#heartbeat = setInterval(() => this.#sweep(), deps.heartbeatMs ?? 30_000);
    this.#heartbeat.unref();
  }

  /** Connected clients of one org (all orgs when omitted). */
  clientCount(orgId?: string): number {
    return [...this.#clients.values()].filter((client) => !orgId || client.orgId === orgId).length;
  }

  /** Sends a frame to every client of `orgId`. */
  broadcast(orgId: string, frame: ServerFrame): void {
    const data = JSON.stringify(frame);
    for (const client of this.#clients.values()) {
      if (client.orgId === orgId && client.socket.readyState === client.socket.OPEN) client.socket.send(data);
    }
  }

  /** Relays one team execution log entry to its org's clients as a `team.event` frame. */
  broadcastTeamEvent(event: TeamExecEvent): void {
    this.broadcast(event.orgId, { type: "team.event", ...event });
  }

  /** Closes every client with 1001 and stops accepting upgrades. */
  close(): void {
    clearInterval(this.#heartbeat);
    this.#deps.server.off("upgrade", this.#onUpgrade);
    for (const { socket } of this.#clients.values()) socket.close(WS_CLOSE.goingAway, "server shutting down");
    for (const { socket } of this.#clients.values()) socket.terminate();
    this.#clients.clear();
    this.#wss.close();
  }

  async #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname !== WS_PATH) return refuse(socket, 404, "Not Found");
    try {
      const origin = request.headers.origin;
      if (origin && new URL(origin).host !== request.headers.host) {
        throw new NeuroflowError("FORBIDDEN", "cross-origin WebSocket refused");
      }
      const orgId = url.searchParams.get("orgId") ?? "";
      const { userId } = await this.#deps.gate.run(request.headers, orgId, "VIEWER", async (_em, access) => access);
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, orgId, userId));
    } catch (error) {
      const code = error instanceof NeuroflowError ? error.code : "INTERNAL";
      if (code === "INTERNAL") this.#deps.logger.error({ err: error }, "WebSocket upgrade failed");
      const status = httpStatusOf[code];
      refuse(socket, status, code);
    }
  }

  #accept(socket: WebSocket, orgId: string, userId: string): void {
    const client: Client = { socket, orgId, alive: true };
    this.#clients.set(socket, client);
    const logger = this.#deps.logger.child({ orgId, userId });
    logger.debug("WebSocket client connected");
    socket.on("pong", () => {
      client.alive = true;
    });
    socket.on("message", (data, isBinary) => {
      let frame: unknown;
      try {
        frame = isBinary ? undefined : JSON.parse(data.toString());
      } catch {
        frame = undefined;
      }
      const parsed = clientFrameSchema.safeParse(frame);
      if (!parsed.success) {
        socket.close(WS_CLOSE.invalidFrame, "invalid frame");
        return;
      }
      socket.send(JSON.stringify({ type: "pong", id: parsed.data.id } satisfies ServerFrame));
    });
    socket.on("close", () => this.#clients.delete(socket));
    socket.on("error", (error) => logger.warn({ err: error }, "WebSocket error"));
    socket.send(JSON.stringify({ type: "hello", orgId } satisfies ServerFrame));
  }

  #sweep(): void {
    for (const client of this.#clients.values()) {
      if (!client.alive) {
        client.socket.terminate();
        this.#clients.delete(client.socket);
        continue;
      }
      client.alive = false;
      client.socket.ping();
    }
  }
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const text = status === 401 ? "Unauthorized" : status === 403 ? "Forbidden" : status === 404 ? "Not Found" : "Error";
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`);
}
