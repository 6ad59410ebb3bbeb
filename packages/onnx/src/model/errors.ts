/**
 * A model that cannot be read, written or used. The message is one line: it names the file (or
 * tensor) and says what to do about it, so the CLI can print it as is.
 */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
