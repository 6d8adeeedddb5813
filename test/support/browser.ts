import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];

/**
 * Debian's Chromium driven by playwright-core (no browser download). The flags keep it off the
 * network: this machine's closed network refuses Chromium's background connections.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = candidates.find((path): path is string => !!path && existsSync(path));
  if (!executablePath) throw new Error("Chromium not found: apt-get install -y chromium (or set CHROMIUM_PATH)");
  return chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
