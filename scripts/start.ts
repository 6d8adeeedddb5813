import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * `npm start`: runs scripts/stack.ts in a process group of its own, so the terminal's Ctrl-C
 * reaches only this launcher, which then asks the stack to stop in order (workers, control plane,
 * Postgres, NATS) instead of every process dying at once. If the launcher itself is killed, the
 * stack notices (its IPC channel closes) and stops too.
 */
const stack = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./stack.ts", import.meta.url)), ...process.argv.slice(2)], {
  detached: true,
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});

let signalled = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    if (signalled) {
      process.stderr.write("\nStill stopping cleanly; press Ctrl-C again within a second of this to force.\n");
      return;
    }
    signalled = true;
    process.stderr.write("\nStopping NeuroFlow Hub…\n");
    stack.kill("SIGTERM");
  });
}
stack.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
