import {
  WS_CLOSE,
  clientFrameSchema,
  serverFrameSchema,
  type AgentView,
  type ClientFrame,
  type ExecutionView,
} from "../../../runtime/protocol/index.js";
import { applySnapshot, applyStatusEvent, applySubmitted, type AgentLive } from "./agent-state.js";

/**
 * The console's only WebSocket. It owns the socket to `/ws?orgId=…`, validates every frame with
 * the protocol schemas, and folds status events into shared `$state` that components read.
 * The socket class and the timers are injected, so tests drive it with fakes.
 */

export type ConnectionPhase = "connecting" | "live" | "offline";

/** The part of the browser WebSocket this module uses; the real `WebSocket` class satisfies it. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
}

export type SocketConstructor = new (url: string) => SocketLike;

/** Schedules `run` after `ms`; returns a function that cancels it. */
export type ScheduleFn = (run: () => void, ms: number) => () => void;

export interface ConnectionDeps {
  WebSocket: SocketConstructor;
  /** Where the page was loaded from: the socket goes to the same host, `wss:` under `https:`. */
  location: { protocol: string; host: string };
  schedule?: ScheduleFn;
  /** First reconnect delay, doubled per failed attempt up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Interval between application pings; a ping still unanswered at the next one drops the socket. */
  heartbeatMs?: number;
}

export interface ConnectionState {
  phase: ConnectionPhase;
  orgId: string | null;
  /** Why the socket is not live, in words for people; null while healthy. */
  problem: string | null;
  /** Close code of the last socket that closed on us (not by `disconnect`). */
  closeCode: number | null;
  /** Delay before the next reconnect attempt, while one is scheduled. */
  retryInMs: number | null;
  /** Incremented on every `hello` after the first for the same org: a cue to reload snapshots. */
  resyncs: number;
  agents: Record<string, AgentLive>;
  /** Frames that failed to parse or validate; they are dropped. */
  rejectedFrames: number;
  /** Valid frames for another organization; they are dropped. */
  ignoredFrames: number;
}

const SOCKET_OPEN = 1;

const defaultSchedule: ScheduleFn = (run, ms) => {
  const handle = setTimeout(run, ms);
  return () => clearTimeout(handle);
};

/** The `/ws` URL for an organization on the page's own host. Never fails. */
export function socketUrl(location: { protocol: string; host: string }, orgId: string): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws?orgId=${encodeURIComponent(orgId)}`;
}

function closeProblem(code: number, reason: string): string {
  if (code === WS_CLOSE.unauthenticated) return reason || "Your session has ended. Sign in again.";
  if (code === WS_CLOSE.forbidden) return reason || "You are not a member of this organization.";
  return reason ? `Connection lost: ${reason}` : "Connection lost";
}

/**
 * Creates the connection. Nothing is opened until `connect(orgId)`. Failures never throw: they
 * become `state.phase = "offline"` with `state.problem`, followed by a reconnect with backoff —
 * except after 4401/4403 (session or membership is gone; retrying cannot help) or an explicit
 * `disconnect()`.
 */
export function createConnection(deps: ConnectionDeps) {
  const schedule = deps.schedule ?? defaultSchedule;
  const initialBackoffMs = deps.initialBackoffMs ?? 500;
  const maxBackoffMs = deps.maxBackoffMs ?? 10_000;
  const heartbeatMs = deps.heartbeatMs ?? 20_000;

  const state: ConnectionState = $state({
    phase: "offline",
    orgId: null,
    problem: null,
    closeCode: null,
    retryInMs: null,
    resyncs: 0,
    agents: {},
    rejectedFrames: 0,
    ignoredFrames: 0,
  });

  let socket: SocketLike | null = null;
  let failedAttempts = 0;
  let greeted = false;
  let cancelRetry: (() => void) | null = null;
  let cancelHeartbeat: (() => void) | null = null;
  let pingCounter = 0;
  let awaitedPong: string | null = null;

  function stopTimers(): void {
    cancelRetry?.();
    cancelRetry = null;
    cancelHeartbeat?.();
    cancelHeartbeat = null;
    awaitedPong = null;
  }

  /** Closes the current socket without letting its close event trigger a reconnect. */
  function closeQuietly(code: number, reason: string): void {
    const current = socket;
    socket = null;
    current?.close(code, reason);
  }

  function open(): void {
    const orgId = state.orgId;
    if (orgId === null) return;
    cancelRetry = null;
    state.phase = "connecting";
    state.retryInMs = null;
    let ws: SocketLike;
    try {
      ws = new deps.WebSocket(socketUrl(deps.location, orgId));
    } catch {
      lost(1006, "");
      return;
    }
    socket = ws;
    // Handlers compare against `socket` so a replaced or quietly closed socket stays silent.
    ws.onmessage = (event) => {
      if (socket === ws) receive(event.data);
    };
    ws.onclose = (event) => {
      if (socket === ws) {
        socket = null;
        lost(event.code, event.reason);
      }
    };
    // An error is always followed by a close event, which carries the code; nothing to do here.
    ws.onerror = () => {};
  }

  function lost(code: number, reason: string): void {
    stopTimers();
    state.phase = "offline";
    state.closeCode = code;
    state.problem = closeProblem(code, reason);
    if (code === WS_CLOSE.unauthenticated || code === WS_CLOSE.forbidden) return;
    const delay = Math.min(initialBackoffMs * 2 ** failedAttempts, maxBackoffMs);
    failedAttempts += 1;
    state.retryInMs = delay;
    cancelRetry = schedule(open, delay);
  }

  function heartbeat(): void {
    if (awaitedPong !== null) {
      // The previous ping went unanswered: the peer or the path is dead even if TCP hasn't noticed.
      // Browsers only let a client close with 1000 or 3000–4999.
      closeQuietly(WS_CLOSE.normal, "heartbeat timeout");
      lost(1006, "no reply to ping");
      return;
    }
    const id = `ping-${++pingCounter}`;
    if (send({ type: "ping", id })) awaitedPong = id;
    cancelHeartbeat = schedule(heartbeat, heartbeatMs);
  }

  function receive(data: unknown): void {
    let json: unknown;
    try {
      json = typeof data === "string" ? JSON.parse(data) : undefined;
    } catch {
      json = undefined;
    }
    const parsed = serverFrameSchema.safeParse(json);
    if (!parsed.success) {
      state.rejectedFrames += 1;
      return;
    }
    const frame = parsed.data;
    switch (frame.type) {
      case "hello":
        if (frame.orgId !== state.orgId) {
          // The server scoped us to another org; showing its events would leak across tenants.
          closeQuietly(WS_CLOSE.invalidFrame, "unexpected organization");
          stopTimers();
          state.phase = "offline";
          state.problem = "The server answered for another organization.";
          return;
        }
        if (greeted) state.resyncs += 1;
        greeted = true;
        failedAttempts = 0;
        state.phase = "live";
        state.problem = null;
        state.closeCode = null;
        cancelHeartbeat?.();
        cancelHeartbeat = schedule(heartbeat, heartbeatMs);
        return;
      case "agent.status.changed":
        if (frame.orgId !== state.orgId) {
          state.ignoredFrames += 1;
          return;
        }
        state.agents[frame.agentId] = applyStatusEvent(state.agents[frame.agentId], frame);
        return;
      case "pong":
        if (frame.id === awaitedPong) awaitedPong = null;
        return;
    }
  }

  /**
   * Sends a client frame after validating it. Returns false (and sends nothing) when the socket
   * is not open; throws a ZodError if the frame is not a valid client frame, a programming error.
   */
  function send(frame: ClientFrame): boolean {
    const valid = clientFrameSchema.parse(frame);
    if (!socket || socket.readyState !== SOCKET_OPEN) return false;
    socket.send(JSON.stringify(valid));
    return true;
  }

  /**
   * Opens the socket for `orgId`, replacing any socket for another org (and forgetting that org's
   * agents). Calling it again for the current org is a no-op. Never throws.
   */
  function connect(orgId: string): void {
    if (state.orgId === orgId && (socket !== null || cancelRetry !== null)) return;
    closeQuietly(WS_CLOSE.normal, "switching organization");
    stopTimers();
    if (state.orgId !== orgId) {
      state.agents = {};
      state.resyncs = 0;
      greeted = false;
    }
    state.orgId = orgId;
    state.closeCode = null;
    state.problem = null;
    failedAttempts = 0;
    open();
  }

  /** Closes the socket for good (logout, leaving the page); no reconnect follows. Never throws. */
  function disconnect(): void {
    closeQuietly(WS_CLOSE.normal, "client closing");
    stopTimers();
    greeted = false;
    state.orgId = null;
    state.agents = {};
    state.phase = "offline";
    state.problem = null;
    state.retryInMs = null;
  }

  /**
   * Merges an HTTP snapshot of one agent (and its recent executions, newest first). Ignored when
   * the agent belongs to another org than the connection's — a late response after a switch.
   */
  function applyAgentSnapshot(agent: AgentView, executions: readonly ExecutionView[]): void {
    if (agent.orgId !== state.orgId) return;
    state.agents[agent.id] = applySnapshot(state.agents[agent.id], agent, executions);
  }

  /** Records a task the console just submitted as the agent's latest run. Same org rule as above. */
  function noteSubmitted(agent: AgentView, execution: ExecutionView): void {
    if (agent.orgId !== state.orgId || execution.agentId !== agent.id) return;
    state.agents[agent.id] = applySubmitted(state.agents[agent.id], agent, execution);
  }

  return { state, connect, disconnect, send, applyAgentSnapshot, noteSubmitted };
}

export type Connection = ReturnType<typeof createConnection>;
