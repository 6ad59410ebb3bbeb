/** Training that cannot start or go on: the message is one line and says what to do. */
export class TrainingError extends Error {
  override readonly name = 'TrainingError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
