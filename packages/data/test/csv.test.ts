import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { parseCsv, readCsv, type CsvOptions } from '../src/index.js';
import { dataErrorMessage, tempDir } from './helpers.js';

/** Hand-written files in fixtures/csv. */
const fixturePath = (name: string): string => fileURLToPath(new URL(`./fixtures/csv/${name}`, import.meta.url));
const f32 = (values: number[]): number[] => values.map(Math.fround);

function csvError(text: string | Uint8Array, options: CsvOptions = {}): string {
  return dataErrorMessage(() => parseCsv(text, options, 'data.csv'));
}

describe('readCsv on hand-written files', () => {
  it('reads a header and names its classes in sorted order', async () => {
    const path = fixturePath('iris-header.csv');
    const data = await readCsv(path);
    expect(data.shape).toEqual([4, 2]);
    expect(Array.from(data.x)).toEqual(f32([5.1, 3.5, 7.0, 3.2, 6.3, 3.3, 4.9, 3.0]));
    expect(Array.from(data.y)).toEqual([0, 1, 2, 0]);
    expect(data.classes).toBe(3);
    expect(data.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(data.source).toBe(`csv:${path}`);
    expect(await readCsv(path, { labelColumn: 'species', header: true })).toEqual(data);
  });

  it('reads CRLF rows without a header, with class indices as labels', async () => {
    const data = await readCsv(fixturePath('digits-no-header.csv'));
    expect(data.shape).toEqual([3, 2]);
    expect(Array.from(data.x)).toEqual(f32([0.5, 1, -1.25, 2e-3, 3, 0.5]));
    expect(Array.from(data.y)).toEqual([2, 0, 1]);
    expect(data.classNames).toEqual(['0', '1', '2']);
  });

  it('reads quoted fields holding delimiters, doubled quotes and line breaks', async () => {
    const data = await readCsv(fixturePath('quoted-semicolon.csv'), { delimiter: ';' });
    expect(data.shape).toEqual([3, 2]);
    expect(Array.from(data.x)).toEqual([1, 2.5, -4, 0, 3, 100]);
    expect(data.classNames).toEqual(['a "fine" day', 'two\nlines; here']);
    expect(Array.from(data.y)).toEqual([0, 1, 0]);
  });

  it('takes an all-numeric first row for a header when its label is a name over numeric labels', async () => {
    const data = await readCsv(fixturePath('numeric-header.csv'));
    expect(data.shape).toEqual([2, 3]);
    expect(Array.from(data.x)).toEqual(f32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]));
    expect(Array.from(data.y)).toEqual([1, 0]);
    expect(data.x.byteOffset).toBe(0);
    expect(data.x.buffer.byteLength).toBe(6 * 4);
  });

  it('reports a file whose last row was cut short', async () => {
    const path = join(tempDir(), 'cut.csv');
    writeFileSync(path, '1,2,0\n3,4,1\n5,');
    await expect(readCsv(path)).rejects.toThrow(`${path}: line 3 has 2 columns but the first row has 3; every row needs the same number (is the file truncated?)`);
  });
});

describe('parseCsv options and details', () => {
  it('takes the label from any column, counting from the end when negative', () => {
    const first = parseCsv('3,0.5,7\n1,0.25,8\n', { labelColumn: 0 });
    expect(Array.from(first.y)).toEqual([3, 1]);
    expect(Array.from(first.x)).toEqual([0.5, 7, 0.25, 8]);
    expect(parseCsv('3,0.5,7\n1,0.25,8\n', { labelColumn: -3 })).toEqual(first);
    expect(first.source).toBe('csv');
  });

  it('uses classes for the class count of integer labels', () => {
    const data = parseCsv('0.1,1\n0.2,0\n', { classes: 5 });
    expect(data.classes).toBe(5);
    expect(data.classNames).toEqual(['0', '1', '2', '3', '4']);
  });

  it('accepts integral labels written as floats, as pandas writes them', () => {
    expect(Array.from(parseCsv('0.1,1.0\n0.2,0.0\n0.3,2e0\n').y)).toEqual([1, 0, 2]);
  });

  it('skips a byte order mark, empty lines and the spaces around fields', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from('a, b ,label\n\n 1 , 2,cat \r\n\r\n3,4, dog\n\n')]);
    const data = parseCsv(bytes);
    expect(Array.from(data.x)).toEqual([1, 2, 3, 4]);
    expect(data.classNames).toEqual(['cat', 'dog']);
  });

  it("reads pandas' to_csv header, whose index column has an empty name", () => {
    const data = parseCsv(',a,label\n0,0.5,cat\n1,0.25,dog\n');
    expect(Array.from(data.x)).toEqual([0, 0.5, 1, 0.25]);
    expect(data.classNames).toEqual(['cat', 'dog']);
  });

  it('reads a header it is told about even when every field is a number', () => {
    expect(parseCsv('1,2,3\n4,5,6\n', { header: true }).shape).toEqual([1, 2]);
    expect(parseCsv('1,2,3\n4,5,6\n').shape).toEqual([2, 2]);
  });

  it('sorts class names by code unit, not by locale or numeric value', () => {
    expect(parseCsv('1,b\n2,B\n3,a\n4,_\n').classNames).toEqual(['B', '_', 'a', 'b']);
  });

  it.each<[CsvOptions, string]>([
    [{ delimiter: ';;' }, 'delimiter must be one character other than a quote or line break, got ";;"'],
    [{ delimiter: '"' }, 'delimiter must be one character other than a quote or line break, got "\\""'],
    [{ classes: 0 }, 'classes must be an integer in 1..1048576, got 0'],
    [{ labelColumn: 1.5 }, 'labelColumn must be an integer or a column name, got 1.5'],
    [{ labelColumn: 'y', header: false }, `labelColumn "y" names a column, which needs header: true or 'auto'`],
  ])('refuses the options %j', (options, message) => {
    expect(() => parseCsv('1,0\n', options)).toThrow(new RangeError(message));
  });
});

describe('parseCsv on bad input: one message each', () => {
  const RAGGED = 'every row needs the same number (is the file truncated?)';
  const NOT_A_NUMBER = 'not a number; every column but the label must hold numbers (is labelColumn right?)';
  it.each<[string, string, string | Uint8Array, CsvOptions?]>([
    ['an empty file', 'file is empty; expected rows of feature columns and a label column', ''],
    ['only line breaks', 'file is empty; expected rows of feature columns and a label column', '\n\r\n\n'],
    ['a header and nothing else', 'has a header but no data rows', 'a,b,label\n'],
    ['one column', `line 1 has 1 column; expected feature columns and a label column (is the delimiter "," right?)`, '1;2;0\n3;4;1\n'],
    ['a short row', `line 3 has 2 columns but the first row has 3; ${RAGGED}`, '1,2,0\n3,4,1\n5,1\n6,7,0\n'],
    ['a long row', `line 2 has 4 columns but the first row has 3; ${RAGGED}`, '1,2,0\n3,4,1,9\n'],
    ['a word among the features', `line 3, column 2 ("petal") is "x1", ${NOT_A_NUMBER}`, 'sepal,petal,label\n1,2,0\n3,x1,1\n'],
    ['a header it was told is not one', `line 1, column 1 is "sepal", ${NOT_A_NUMBER}`, 'sepal,label\n1,0\n', { header: false }],
    ['an empty feature', 'line 2, column 1 is empty; fill in or drop rows with missing values', '1,2,0\n,4,1\n'],
    ['NaN', 'line 1, column 2 is "nan"; features must be finite numbers, so drop or impute that row', '1,nan,0\n'],
    ['NaN on line 1 over good rows, not taken for a header', 'line 1, column 2 is "nan"; features must be finite numbers, so drop or impute that row', '1,nan,0\n2,3,1\n'],
    ['NaN as pandas writes it', 'line 1, column 1 is "NaN"; features must be finite numbers, so drop or impute that row', 'NaN,1,0\n'],
    ['infinity', 'line 2, column 1 is "-inf"; features must be finite numbers, so drop or impute that row', '1,2,0\n-inf,2,1\n'],
    ['Infinity', 'line 1, column 2 is "Infinity"; features must be finite numbers, so drop or impute that row', '1,Infinity,0\n'],
    ['a float32 overflow', "line 1, column 1 is 1e39, beyond float32's range (about ±3.4e38); rescale that column", '1e39,2,0\n'],
    ['a hexadecimal number', `line 1, column 1 is "0x10", ${NOT_A_NUMBER}`, '0x10,2,0\n'],
    ['a negative label', 'line 2, column 3: the label -1 is outside [0, K); labels must not be negative', '1,2,0\n3,4,-1\n'],
    ['a label past classes', 'line 2, column 2: the label 3 is outside [0, K); labels must lie in [0, 3) since classes is 3', '1,2\n3,3\n', { classes: 3 }],
    ['a fractional label', 'line 1, column 2: the label 0.5 is not an integer; labels must be class indices 0..K-1 or class names (is labelColumn right?)', '1,0.5\n'],
    ['a huge label', 'line 2, column 2: the label 5000000 would make 5000001 classes, more than 1048576; is labelColumn right?', '1,0\n2,5000000\n'],
    ['names mixed with numbers', 'line 2, column 2: the label "cat" is a name but line 1 has the number 1; use class names or class indices throughout', '1,1\n2,cat\n'],
    ['an empty label', 'line 2, column 2: the label is empty; drop rows without a label', '1,0\n2,\n'],
    ['a NaN label', 'line 2, column 2 ("y"): the label is "nan"; drop rows without a label', 'x,y\n1,nan\n'],
    ['a label column that is not there', 'has no column "species"; its columns are "a", "b", pass one of them as labelColumn', 'a,b\n1,0\n', { labelColumn: 'species' }],
    ['a label index past the columns', 'labelColumn 2 is outside its 2 columns; pass an index in 0..1 or -2..-1', '1,0\n', { labelColumn: 2 }],
    ['more names than classes', 'has 3 class names ("a", "b", "c") but classes is 2; pass the right classes or fix the labels', '1,a\n2,b\n3,c\n', { classes: 2 }],
    ['an unclosed quote (a truncated file)', `line 2, character 3: this quoted field is never closed; the file is truncated or a '"' is not doubled`, '1,0\n2,"1'],
    ['text after a closing quote', `line 1, character 6: text follows a closing quote; quote the whole field and double each '"' inside it`, '1,"2"x,0\n'],
    ['a quote inside an unquoted field', `line 1, character 4: a '"' inside an unquoted field; quote the field and double the '"'`, '1,2"3,0\n'],
    ['bytes that are not UTF-8', 'is not UTF-8 text; save it as UTF-8 CSV', new Uint8Array([0x31, 0x2c, 0xff, 0x0a])],
  ])('%s', (_, message, text, options) => {
    expect(csvError(text, options)).toBe(`data.csv: ${message}`);
  });

  it('counts the lines inside quoted fields for later messages', () => {
    expect(csvError('1,"two\nlines"\n"x\ny",b\n')).toBe(`data.csv: line 3, column 1 is "x\\ny", ${NOT_A_NUMBER}`);
    expect(csvError('1,"two\nlines"\n2,"a"b\n')).toBe(`data.csv: line 3, character 6: text follows a closing quote; quote the whole field and double each '"' inside it`);
  });
});
