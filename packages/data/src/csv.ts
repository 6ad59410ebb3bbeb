// Labelled samples from a CSV file: one row per sample, numeric feature columns and one label
// column. Rows are converted as they are split, so only the labels are kept as strings.
import type { Dataset } from './dataset.js';
import { classLabels, decimalValue, isNotFinite, isNumber, MAX_CLASSES, quoteField, type LabelColumn } from './csv-labels.js';
import { csvRecords, type CsvRecord } from './csv-records.js';
import { DataError } from './errors.js';
import { readWhole } from './io.js';

export interface CsvOptions {
  /** The label column: its name in the header, or its 0-based index (negative counts from the end). Default -1, the last column. */
  labelColumn?: string | number;
  /** Whether the first row names the columns. Default 'auto': see `firstRowIsHeader`. */
  header?: boolean | 'auto';
  /** One character; default ','. */
  delimiter?: string;
  /** K. Integer labels must lie in [0, K) (default: the largest label + 1); class-name labels must number exactly K. */
  classes?: number;
}

/** Reads a CSV file (UTF-8) into a `Dataset` with `x` of shape [rows, features]. */
export async function readCsv(path: string, options: CsvOptions = {}): Promise<Dataset> {
  return parseCsv(await readWhole(path), options, path);
}

/** The same as `readCsv` on text or UTF-8 bytes; `name` labels messages and `source`. */
export function parseCsv(input: string | Uint8Array, options: CsvOptions = {}, name?: string): Dataset {
  const { labelColumn = -1, header = 'auto', delimiter = ',', classes } = options;
  checkOptions(options);
  const records = csvRecords(decodeText(input, name), delimiter, name);
  const first = records.next();
  if (first.done) throw new DataError(name, 'file is empty; expected rows of feature columns and a label column');
  const width = first.value.fields.length;
  if (width < 2) {
    throw new DataError(name, `line ${first.value.line} has 1 column; expected feature columns and a label column (is the delimiter ${quoteField(delimiter)} right?)`);
  }

  let columnNames: string[] | undefined;
  let labelIndex: number;
  if (typeof labelColumn === 'string') {
    columnNames = first.value.fields.map((field) => field.trim());
    labelIndex = columnNames.indexOf(labelColumn);
    if (labelIndex < 0) {
      throw new DataError(name, `has no column ${quoteField(labelColumn)}; its columns are ${columnNames.map(quoteField).join(', ')}, pass one of them as labelColumn`);
    }
  } else {
    if (labelColumn < -width || labelColumn >= width) {
      throw new DataError(name, `labelColumn ${labelColumn} is outside its ${width} columns; pass an index in 0..${width - 1} or -${width}..-1`);
    }
    labelIndex = labelColumn < 0 ? width + labelColumn : labelColumn;
    const decided = header === 'auto' ? firstRowIsHeader(first.value.fields, labelIndex) : header;
    if (decided === true) columnNames = first.value.fields.map((field) => field.trim());
  }

  const table = new Table(width, labelIndex, columnNames, name);
  if (columnNames === undefined) table.add(first.value);
  for (const record of records) table.add(record);
  // An all-numeric first row whose label is not a number is a header exactly when the labels below it are numbers.
  if (columnNames === undefined && header === 'auto' && !isNumber(table.labels[0]) && table.labels.some((label, i) => i > 0 && isNumber(label))) table.dropFirst();
  if (table.rows === 0) throw new DataError(name, 'has a header but no data rows');

  const column: LabelColumn = { values: table.labels, lines: table.lines, where: table.where(labelIndex) };
  const { y, classes: count, classNames } = classLabels(column, classes, name);
  return {
    x: table.features(),
    shape: [table.rows, width - 1],
    y,
    classes: count,
    classNames,
    source: name === undefined ? 'csv' : `csv:${name}`,
  };
}

function checkOptions({ delimiter, classes, labelColumn, header }: CsvOptions): void {
  if (delimiter !== undefined && (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r')) {
    throw new RangeError(`delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`);
  }
  if (classes !== undefined && (!Number.isInteger(classes) || classes < 1 || classes > MAX_CLASSES)) {
    throw new RangeError(`classes must be an integer in 1..${MAX_CLASSES}, got ${classes}`);
  }
  if (typeof labelColumn === 'number' && !Number.isInteger(labelColumn)) throw new RangeError(`labelColumn must be an integer or a column name, got ${labelColumn}`);
  if (typeof labelColumn === 'string' && header === false) throw new RangeError(`labelColumn ${JSON.stringify(labelColumn)} names a column, which needs header: true or 'auto'`);
}

function decodeText(input: string | Uint8Array, name: string | undefined): string {
  if (typeof input === 'string') return input.replace(/^\uFEFF/, '');
  try {
    // TextDecoder drops a UTF-8 byte order mark itself.
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch (error) {
    if (error instanceof RangeError) throw new DataError(name, `is ${input.length} bytes, more than one JavaScript string holds; split it into several files`);
    throw new DataError(name, 'is not UTF-8 text; save it as UTF-8 CSV');
  }
}

/**
 * With header: 'auto', the first row names the columns when its feature fields are names: none a
 * number, NaN or infinity, some not empty (pandas leaves the index column's name empty). A row of
 * numbers is a header only if its label is not a number while the labels below are
 * (`0,1,...,783,label` over digits); that is settled once the rows are read. Any other row is
 * data, so a bad value on line 1 gets its own message instead of passing for a header.
 */
function firstRowIsHeader(fields: string[], labelIndex: number): boolean {
  const features = fields.filter((_, i) => i !== labelIndex).map((field) => field.trim());
  return features.some((field) => field !== '') && features.every((field) => field === '' || (!isNumber(field) && !isNotFinite(field)));
}

/** The rows read so far: features as float32, labels as trimmed strings. */
class Table {
  labels: string[] = [];
  lines: number[] = [];
  private values = new Float32Array(1024);
  private length = 0;
  private start = 0;

  constructor(
    private readonly width: number,
    private readonly labelIndex: number,
    private readonly columnNames: string[] | undefined,
    private readonly file: string | undefined,
  ) {}

  get rows(): number {
    return this.labels.length;
  }

  add({ fields, line }: CsvRecord): void {
    if (fields.length !== this.width) {
      throw new DataError(this.file, `line ${line} has ${fields.length} columns but the first row has ${this.width}; every row needs the same number (is the file truncated?)`);
    }
    if (this.length + this.width > this.values.length) {
      const grown = new Float32Array(this.values.length * 2);
      grown.set(this.values.subarray(0, this.length));
      this.values = grown;
    }
    fields.forEach((field, i) => {
      if (i === this.labelIndex) return;
      this.values[this.length++] = this.feature(field, line, i);
    });
    this.labels.push(fields[this.labelIndex].trim());
    this.lines.push(line);
  }

  /** Forgets the first row, which turned out to be a header. */
  dropFirst(): void {
    this.start = this.width - 1;
    this.labels.shift();
    this.lines.shift();
  }

  /** A standalone copy, exactly as long as the data. */
  features(): Float32Array {
    return this.values.slice(this.start, this.length);
  }

  /** `column 3 ('petal_width')`, 1-based like an editor's columns. */
  where(index: number): string {
    return `column ${index + 1}${this.columnNames === undefined ? '' : ` (${quoteField(this.columnNames[index])})`}`;
  }

  private feature(field: string, line: number, index: number): number {
    const value = decimalValue(field);
    if (Number.isFinite(Math.fround(value))) return value;
    const text = field.trim();
    const at = `line ${line}, ${this.where(index)}`;
    if (text === '') throw new DataError(this.file, `${at} is empty; fill in or drop rows with missing values`);
    if (isNotFinite(text)) throw new DataError(this.file, `${at} is ${quoteField(text)}; features must be finite numbers, so drop or impute that row`);
    if (!Number.isNaN(value)) throw new DataError(this.file, `${at} is ${text}, beyond float32's range (about ±3.4e38); rescale that column`);
    throw new DataError(this.file, `${at} is ${quoteField(text)}, not a number; every column but the label must hold numbers (is labelColumn right?)`);
  }
}
