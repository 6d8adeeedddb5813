import { flushSync } from "svelte";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { WS_CLOSE } from "../../../runtime/protocol/index.js";
import { createConnection, socketUrl, type ScheduleFn, type SocketLike } from "./connection.svelte.js";
import { AGENT_ID, ORG_ID, OTHER_ORG_ID, agentView, completedEvent, executionView, statusEvent } from "./testing/fixtures.js";

/** Stands in for the browser WebSocket: records what the code sends and lets the test play the server. */
class FakeWebSocket implements SocketLike {
  static instances: FakeWebSocket[] = [];

  readyState = 0;
  sent: string[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this);
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    // Same rule as the browser: a client may only close with 1000 or an application code.
    if (code !== undefined && code !== 1000 && (code < 3000 || code > 4999)) {
      throw new DOMException(`close code ${code} is not allowed`, "InvalidAccessError");
    }
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  serverOpens(): void {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }

  serverSends(frame: unknown): void {
    this.serverSendsRaw(JSON.stringify(frame));
  }

  serverSendsRaw(data: unknown): void {
    this.onmessage?.(new MessageEvent("message", { data }));
  }

  serverCloses(code: number, reason = ""): void {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code, reason }));
  }
}

/** A scheduler the test advances by hand, so backoff and heartbeats need no real time. */
class ManualClock {
  now = 0;
  private tasks: { due: number; run: () => void; cancelled: boolean }[] = [];

  readonly schedule: ScheduleFn = (run, ms) => {
    const task = { due: this.now + ms, run, cancelled: false };
    this.tasks.push(task);
    return () => {
      task.cancelled = true;
    };
  };

  pendingDelays(): number[] {
    return this.tasks.filter((task) => !task.cancelled).map((task) => task.due - this.now);
  }

  advance(ms: number): void {
    this.now += ms;
    for (;;) {
      const due = this.tasks.filter((task) => !task.cancelled && task.due <= this.now);
      if (due.length === 0) return;
      for (const task of due) {
        task.cancelled = true;
        task.run();
      }
    }
  }
}

let clock: ManualClock;

function setup() {
  return createConnection({
    WebSocket: FakeWebSocket,
    location: { protocol: "https:", host: "hub.example" },
    schedule: clock.schedule,
    heartbeatMs: 20_000,
  });
}

function latestSocket(): FakeWebSocket {
  const socket = FakeWebSocket.instances.at(-1);
  if (!socket) throw new Error("no socket was opened");
  return socket;
}

/** Connects and completes the handshake; returns the live socket. */
function goLive(connection: ReturnType<typeof setup>): FakeWebSocket {
  connection.connect(ORG_ID);
  const socket = latestSocket();
  socket.serverOpens();
  socket.serverSends({ type: "hello", orgId: ORG_ID });
  return socket;
}

beforeEach(() => {
  FakeWebSocket.instances = [];
  clock = new ManualClock();
});

afterEach(() => {
  FakeWebSocket.instances = [];
});

describe("socketUrl", () => {
  it("uses wss under https and ws under http, on the page's host", () => {
    expect(socketUrl({ protocol: "https:", host: "hub.example" }, ORG_ID)).toBe(`wss://hub.example/ws?orgId=${ORG_ID}`);
    expect(socketUrl({ protocol: "http:", host: "localhost:5173" }, ORG_ID)).toBe(`ws://localhost:5173/ws?orgId=${ORG_ID}`);
  });
});

describe("connection lifecycle", () => {
  it("is connecting until the server says hello, then live", () => {
    const connection = setup();
    expect(connection.state.phase).toBe("offline");
    connection.connect(ORG_ID);
    expect(connection.state.phase).toBe("connecting");
    expect(latestSocket().url).toBe(`wss://hub.example/ws?orgId=${ORG_ID}`);

    latestSocket().serverOpens();
    expect(connection.state.phase).toBe("connecting");
    latestSocket().serverSends({ type: "hello", orgId: ORG_ID });
    expect(connection.state.phase).toBe("live");
  });

  it("opens one socket per org and ignores repeated connects", () => {
    const connection = setup();
    connection.connect(ORG_ID);
    connection.connect(ORG_ID);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it("reconnects after an abnormal close with a doubling, capped backoff", () => {
    const connection = setup();
    goLive(connection);

    latestSocket().serverCloses(1006);
    expect(connection.state.phase).toBe("offline");
    expect(connection.state.retryInMs).toBe(500);
    clock.advance(500);
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(connection.state.phase).toBe("connecting");

    const delays: (number | null)[] = [];
    for (let i = 0; i < 6; i += 1) {
      latestSocket().serverCloses(1006);
      delays.push(connection.state.retryInMs);
      clock.advance(connection.state.retryInMs ?? 0);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);

    // A successful handshake resets the backoff and, being a reconnect, cues a resync.
    expect(connection.state.resyncs).toBe(0);
    latestSocket().serverOpens();
    latestSocket().serverSends({ type: "hello", orgId: ORG_ID });
    expect(connection.state.resyncs).toBe(1);
    latestSocket().serverCloses(1001);
    expect(connection.state.retryInMs).toBe(500);
  });

  it.each([
    [WS_CLOSE.unauthenticated, "session expired"],
    [WS_CLOSE.forbidden, "not a member"],
  ])("does not retry after close code %i and shows the reason", (code, reason) => {
    const connection = setup();
    goLive(connection);
    latestSocket().serverCloses(code, reason);
    expect(connection.state.phase).toBe("offline");
    expect(connection.state.closeCode).toBe(code);
    expect(connection.state.problem).toBe(reason);
    expect(connection.state.retryInMs).toBeNull();
    clock.advance(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it("closes for good on disconnect", () => {
    const connection = setup();
    const socket = goLive(connection);
    connection.disconnect();
    expect(socket.closedWith?.code).toBe(WS_CLOSE.normal);
    socket.serverCloses(WS_CLOSE.normal);
    clock.advance(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
    expect(connection.state.phase).toBe("offline");
    expect(connection.state.problem).toBeNull();
  });

  it("pings while live and drops a socket whose ping goes unanswered", () => {
    const connection = setup();
    const socket = goLive(connection);

    clock.advance(20_000);
    expect(socket.sent.map((data) => JSON.parse(data))).toEqual([{ type: "ping", id: "ping-1" }]);
    socket.serverSends({ type: "pong", id: "ping-1" });
    clock.advance(20_000);
    expect(socket.sent).toHaveLength(2);
    expect(connection.state.phase).toBe("live");

    // No pong for ping-2: the next beat gives up on this socket and schedules a reconnect.
    clock.advance(20_000);
    expect(socket.closedWith).not.toBeNull();
    expect(connection.state.phase).toBe("offline");
    clock.advance(500);
    expect(FakeWebSocket.instances).toHaveLength(2);
  });
});

describe("status frames", () => {
  it("applies a status event to the agent's shared state", () => {
    const connection = setup();
    const socket = goLive(connection);

    socket.serverSends(statusEvent({ status: "BUSY", at: "2025-01-01T12:00:00.000Z" }));
    expect(connection.state.agents[AGENT_ID]?.status).toBe("BUSY");

    socket.serverSends(completedEvent("the answer"));
    const agent = connection.state.agents[AGENT_ID];
    expect(agent?.status).toBe("IDLE");
    expect(agent?.answer?.text).toBe("the answer");
    expect(agent?.timeline.map((entry) => entry.status)).toEqual(["BUSY", "IDLE"]);
  });

  it("is reactive: effects that read the state re-run on each frame", () => {
    const connection = setup();
    const socket = goLive(connection);
    const seen: string[] = [];
    const stop = $effect.root(() => {
      $effect(() => {
        seen.push(connection.state.agents[AGENT_ID]?.status ?? "unknown");
      });
    });
    flushSync();
    socket.serverSends(statusEvent({ status: "BUSY" }));
    flushSync();
    socket.serverSends(completedEvent("done"));
    flushSync();
    stop();
    expect(seen).toEqual(["unknown", "BUSY", "IDLE"]);
  });

  it("ignores frames for another organization", () => {
    const connection = setup();
    const socket = goLive(connection);
    socket.serverSends(statusEvent({ orgId: OTHER_ORG_ID, status: "ERROR" }));
    expect(connection.state.agents).toEqual({});
    expect(connection.state.ignoredFrames).toBe(1);
  });

  it.each([
    ["text that is not JSON", "{not json"],
    ["a binary frame", new ArrayBuffer(4)],
    ["an unknown frame type", JSON.stringify({ type: "agent.deleted", agentId: AGENT_ID })],
    ["an invalid status", JSON.stringify({ ...statusEvent(), status: "SLEEPING" })],
    ["a non-uuid agent id", JSON.stringify({ ...statusEvent(), agentId: "agent.>" })],
  ])("rejects %s without touching state", (_name, data) => {
    const connection = setup();
    const socket = goLive(connection);
    socket.serverSendsRaw(data);
    expect(connection.state.rejectedFrames).toBe(1);
    expect(connection.state.agents).toEqual({});
    expect(connection.state.phase).toBe("live");
  });

  it("refuses a hello for another organization and does not retry", () => {
    const connection = setup();
    connection.connect(ORG_ID);
    const socket = latestSocket();
    socket.serverOpens();
    socket.serverSends({ type: "hello", orgId: OTHER_ORG_ID });
    expect(socket.closedWith?.code).toBe(WS_CLOSE.invalidFrame);
    expect(connection.state.phase).toBe("offline");
    clock.advance(60_000);
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it("forgets the previous org's agents when switching org", () => {
    const connection = setup();
    const socket = goLive(connection);
    socket.serverSends(statusEvent());
    connection.connect(OTHER_ORG_ID);
    expect(socket.closedWith?.code).toBe(WS_CLOSE.normal);
    expect(connection.state.agents).toEqual({});
    expect(latestSocket().url).toContain(OTHER_ORG_ID);
  });
});

describe("snapshots and submissions", () => {
  it("merges HTTP snapshots and submitted tasks, but only for the current org", () => {
    const connection = setup();
    goLive(connection);

    connection.applyAgentSnapshot(agentView({ orgId: OTHER_ORG_ID }), []);
    expect(connection.state.agents).toEqual({});

    connection.applyAgentSnapshot(agentView(), [executionView({ output: "from history" })]);
    expect(connection.state.agents[AGENT_ID]?.answer?.text).toBe("from history");

    const pending = executionView({
      id: "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
      status: "PENDING",
      output: null,
      startedAt: null,
      completedAt: null,
      duration: null,
    });
    connection.noteSubmitted(agentView(), pending);
    expect(connection.state.agents[AGENT_ID]?.run?.status).toBe("PENDING");
  });
});
