/** JSON logs (pino), one line per event, tagged with the service and the active trace; children add a request or job id. */
import pino from "pino";
import { activeTraceId } from "./tracing.ts";

export type Logger = pino.Logger;

/** `destination` defaults to stdout (tests pass their own to read the lines). */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? "info", destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => {
      const traceId = activeTraceId();
      return traceId ? { trace_id: traceId } : {};
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
