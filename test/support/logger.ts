/** A Logger that keeps its JSON lines in memory, for tests that inspect what was logged. */
import { createLogger, type Logger, type LogLevel } from '../../src/logger.js';

export interface MemoryLogger extends Logger {
  readonly lines: string[];
  /** Every line as parsed JSON. */
  entries(): Array<Record<string, unknown>>;
}

export function memoryLogger(level: LogLevel = 'debug'): MemoryLogger {
  const lines: string[] = [];
  const logger = createLogger(level, (line) => {
    lines.push(line);
  });
  return Object.assign(logger, {
    lines,
    entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  });
}
