import WebSocket from "ws";
import { serverFrameSchema, type ServerFrame } from "../../runtime/protocol/index.js";

export interface FrameLog {
  socket: WebSocket;
  frames: ServerFrame[];
  /** Resolves with the first frame (already received or coming) that matches. */
  waitFor(match: (frame: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
  close(): Promise<void>;
}

/** Opens `/ws?orgId=…` with a session cookie and records every (validated) frame. */
export async function openFrameLog(baseUrl: string, orgId: string, cookie: string): Promise<FrameLog> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/ws?orgId=${orgId}`, { headers: { cookie } });
  const frames: ServerFrame[] = [];
  const waiters = new Set<() => void>();
  socket.on("message", (data) => {
    frames.push(serverFrameSchema.parse(JSON.parse(data.toString())));
    for (const wake of waiters) wake();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return {
    socket,
    frames,
    waitFor(match, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.find(match);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching frame in ${timeoutMs} ms; got ${JSON.stringify(frames.map((f) => f.type))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        if (socket.readyState === WebSocket.CLOSED) return resolve();
        socket.once("close", () => resolve());
        socket.close();
      }),
  };
}

/** Tries an upgrade and reports how it ended: opened, or refused with an HTTP status. */
export function tryUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ opened: boolean; status?: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { headers });
    socket.once("open", () => {
      socket.close();
      resolve({ opened: true });
    });
    socket.once("unexpected-response", (_request, response) => {
      resolve({ opened: false, status: response.statusCode });
      socket.terminate();
    });
    socket.once("error", () => resolve({ opened: false }));
  });
}
