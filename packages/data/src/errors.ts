/**
 * A file or dataset that cannot be read, or an array that cannot be written. The message is one
 * line: it starts with the file name when one is known and ends by saying what to do about it.
 */
export class DataError extends Error {
  override name = 'DataError';
  /** The file (or `archive.npz: member 'x.npy'`) the message is about, when known. */
  readonly file: string | undefined;

  constructor(file: string | undefined, message: string) {
    super(file === undefined ? message : `${file}: ${message}`);
    this.file = file;
  }
}
