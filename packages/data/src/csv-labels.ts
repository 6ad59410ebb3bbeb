// Turning a CSV's label column into class indices. Labels are either all class indices or all
// class names; a mix is refused rather than guessed at, since it usually means a wrong column.
import { DataError } from './errors.js';

/** More classes than this is taken for a wrong label column, not a dataset. */
export const MAX_CLASSES = 1 << 20;

const NOT_FINITE = /^[+-]?(?:nan|inf|infinity)$/i;
const ZERO = 0x30;
/** Lower-case x, b and o, as in the 0x, 0b and 0o prefixes Number() accepts. */
const RADIX_LETTERS = [0x78, 0x62, 0x6f];

/**
 * The value of a plain decimal number such as `-1.5e3` (spaces around it allowed), or NaN for
 * anything else: empty, hexadecimal, `Infinity`. Number() does the work, being far faster than a
 * regular expression over every field; what it accepts beyond decimals is ruled out here.
 * A decimal too large for a double, like 1e400, gives Infinity.
 */
export function decimalValue(field: string): number {
  const text = field.trim();
  if (text === '') return NaN;
  const value = Number(text);
  if (Number.isNaN(value)) return NaN;
  if (text.charCodeAt(0) === ZERO && RADIX_LETTERS.includes(text.charCodeAt(1) | 0x20)) return NaN;
  if (!Number.isFinite(value) && NOT_FINITE.test(text)) return NaN;
  return value;
}

export function isNumber(field: string): boolean {
  return !Number.isNaN(decimalValue(field));
}

export function isNotFinite(field: string): boolean {
  return NOT_FINITE.test(field.trim());
}

/** `text` as it appears in a message: quoted, escaped and cut short. */
export function quoteField(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

export interface LabelColumn {
  /** The trimmed label of each row. */
  values: string[];
  /** The line each label came from. */
  lines: number[];
  /** Where the column is, for messages: `column 5 ('species')`. */
  where: string;
}

export interface ClassLabels {
  y: Int32Array;
  classes: number;
  classNames: string[];
}

/**
 * Class indices from labels: integers (`3`, or `3.0` as pandas writes a float column) are the
 * indices themselves, in [0, classes); names are numbered in sorted (UTF-16 code unit) order.
 */
export function classLabels(column: LabelColumn, classes: number | undefined, file: string | undefined): ClassLabels {
  const { values, lines, where } = column;
  const at = (i: number): string => `line ${lines[i]}, ${where}`;
  let firstNumber = -1;
  let firstName = -1;
  values.forEach((value, i) => {
    if (value === '') throw new DataError(file, `${at(i)}: the label is empty; drop rows without a label`);
    if (isNotFinite(value)) throw new DataError(file, `${at(i)}: the label is ${quoteField(value)}; drop rows without a label`);
    if (isNumber(value)) {
      if (!Number.isInteger(Number(value))) {
        throw new DataError(file, `${at(i)}: the label ${value} is not an integer; labels must be class indices 0..K-1 or class names (is labelColumn right?)`);
      }
      if (firstNumber < 0) firstNumber = i;
    } else if (firstName < 0) firstName = i;
  });
  if (firstNumber >= 0 && firstName >= 0) {
    throw new DataError(
      file,
      `${at(firstName)}: the label ${quoteField(values[firstName])} is a name but line ${lines[firstNumber]} has the number ${values[firstNumber]}; use class names or class indices throughout`,
    );
  }
  return firstName >= 0 ? namedClasses(column, classes, file) : indexedClasses(column, classes, file);
}

function indexedClasses({ values, lines, where }: LabelColumn, classes: number | undefined, file: string | undefined): ClassLabels {
  const y = new Int32Array(values.length);
  let largest = 0;
  let largestAt = 0;
  values.forEach((value, i) => {
    const label = Number(value);
    const outside = label < 0 || (classes !== undefined && label >= classes);
    if (outside) {
      const range = classes === undefined ? 'labels must not be negative' : `labels must lie in [0, ${classes}) since classes is ${classes}`;
      throw new DataError(file, `line ${lines[i]}, ${where}: the label ${value} is outside [0, K); ${range}`);
    }
    if (label > largest) [largest, largestAt] = [label, i];
    y[i] = label;
  });
  if (classes === undefined && largest >= MAX_CLASSES) {
    throw new DataError(file, `line ${lines[largestAt]}, ${where}: the label ${values[largestAt]} would make ${largest + 1} classes, more than ${MAX_CLASSES}; is labelColumn right?`);
  }
  const count = classes ?? largest + 1;
  return { y, classes: count, classNames: Array.from({ length: count }, (_, k) => String(k)) };
}

function namedClasses({ values }: LabelColumn, classes: number | undefined, file: string | undefined): ClassLabels {
  const classNames = [...new Set(values)].sort();
  if (classNames.length > MAX_CLASSES) throw new DataError(file, `has ${classNames.length} distinct labels, more than ${MAX_CLASSES} classes; is labelColumn right?`);
  if (classes !== undefined && classNames.length !== classes) {
    const shown = classNames.slice(0, 10).map(quoteField).join(', ') + (classNames.length > 10 ? ', ...' : '');
    throw new DataError(file, `has ${classNames.length} class names (${shown}) but classes is ${classes}; pass the right classes or fix the labels`);
  }
  const index = new Map(classNames.map((name, k) => [name, k]));
  return { y: Int32Array.from(values, (name) => index.get(name)!), classes: classNames.length, classNames };
}
