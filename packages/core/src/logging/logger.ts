import { VigilConfigError } from '../errors.js';

/** Any pino-compatible logger: `logger.warn(obj, msg)`. Console works too. */
export interface Logger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything: Vigil's default. */
export const silentLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

/** Validates the `logger` option and returns a logger whose calls never throw. */
export function compileLogger(logger: unknown): Required<Logger> {
  if (logger === undefined) return silentLogger as Required<Logger>;
  if (logger === null || typeof logger !== 'object' || typeof (logger as Logger).warn !== 'function' || typeof (logger as Logger).error !== 'function') {
    throw new VigilConfigError('VIGIL_E_LOGGER', 'logger', logger, 'which has no warn() and error() methods', 'Pass a pino-compatible logger (pino(), fastify.log, console) or leave logger out.');
  }
  const target = logger as Logger;
  const safe = (level: keyof Logger) => (obj: object, msg?: string) => {
    try {
      const fn = target[level];
      if (typeof fn === 'function') fn.call(target, obj, msg);
    } catch {
      // A broken logger must not break a request.
    }
  };
  return { debug: safe('debug'), info: safe('info'), warn: safe('warn'), error: safe('error') };
}

/**
 * What of an error goes to a log line: its name, message and code — never the error
 * object itself, whose properties (an HTTP client's request options, say) can carry
 * credentials.
 */
export function describeError(error: unknown): Record<string, unknown> | undefined {
  if (error === undefined || error === null) return undefined;
  if (typeof error !== 'object') return { message: String(error) };
  const e = error as { name?: unknown; message?: unknown; code?: unknown; status?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(error),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.status === 'number' ? { status: e.status } : {}),
  };
}
