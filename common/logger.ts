import { pino, type Logger, type LoggerOptions } from "pino";

/**
 * Paths whose values never reach a log line. Secrets travel in these fields only; anything else
 * that could hold one is not logged at all.
 */
export const redactPaths = [
  "password",
  "*.password",
  "passwordHash",
  "*.passwordHash",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "headers.cookie",
  "req.headers.cookie",
  "req.headers.authorization",
  "apiKey",
  "*.apiKey",
  "databaseUrl",
  "*.databaseUrl",
  "credentials",
  "*.credentials",
  "encryptedCredentials",
  "*.encryptedCredentials",
  "creds",
  "*.creds",
  "seed",
  "*.seed",
];

/**
 * The process logger: JSON lines on stdout, pretty when LOG_PRETTY=true (npm start sets it).
 * Library code takes a child of it bound to orgId / agentId / executionId.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const pretty = process.env.LOG_PRETTY === "true";
  return pino({
    name,
    level: process.env.LOG_LEVEL ?? "info",
    redact: { paths: redactPaths, censor: "[redacted]" },
    ...(pretty
      ? { transport: { target: "pino-pretty", options: { colorize: true, ignore: "pid,hostname", translateTime: "HH:MM:ss.l" } } }
      : {}),
    ...options,
  });
}
