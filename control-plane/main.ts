import { createLogger } from "../common/logger.js";
import { loadControlPlaneEnv } from "./config.js";
import { startControlPlane } from "./server.js";

/** The control-plane process: HTTP API, WebSocket relay, console. Stops cleanly on SIGTERM/SIGINT. */
const logger = createLogger("control-plane");
const config = loadControlPlaneEnv();
const controlPlane = await startControlPlane(config, logger);
logger.info({ url: controlPlane.url }, "control plane listening");

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, "stopping control plane");
  await controlPlane.stop();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
