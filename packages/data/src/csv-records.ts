// Splitting CSV text into records, per RFC 4180 (https://www.rfc-editor.org/rfc/rfc4180): fields
// split on a delimiter, records on LF or CRLF, and a field in double quotes may hold delimiters,
// line breaks and "" for one quote. Strict where the RFC is: a quote inside an unquoted field or
// text after a closing quote is an error, not guessed at, since either usually means a broken file.
import { DataError } from './errors.js';

export interface CsvRecord {
  fields: string[];
  /** The 1-based line the record starts on. */
  line: number;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** The records of `text`, one at a time so that a large file is never held as strings at once. Empty lines are skipped. */
export function* csvRecords(text: string, delimiter: string, file: string | undefined): Generator<CsvRecord> {
  const separator = delimiter.charCodeAt(0);
  const end = text.length;
  let at = 0;
  let line = 1;
  let lineStart = 0;
  let nextQuote = text.indexOf('"');
  const isBreak = (i: number): boolean => text.charCodeAt(i) === LF || (text.charCodeAt(i) === CR && text.charCodeAt(i + 1) === LF);
  const skipBreak = (): void => {
    at += text.charCodeAt(at) === CR ? 2 : 1;
    line++;
    lineStart = at;
  };
  const fail = (i: number, why: string): DataError => new DataError(file, `line ${line}, character ${i - lineStart + 1}: ${why}`);

  while (at < end) {
    if (isBreak(at)) {
      skipBreak();
      continue;
    }
    // Most lines hold no quote: native split is several times faster than walking characters.
    if (nextQuote >= 0 && nextQuote < at) nextQuote = text.indexOf('"', at);
    const newline = text.indexOf('\n', at);
    const lineEnd = newline < 0 ? end : newline;
    if (nextQuote < 0 || nextQuote > lineEnd) {
      const content = text.slice(at, newline > 0 && text.charCodeAt(newline - 1) === CR ? newline - 1 : lineEnd);
      yield { fields: content.split(delimiter), line };
      at = lineEnd;
      if (at < end) skipBreak();
      continue;
    }
    const record: CsvRecord = { fields: [], line };
    for (;;) {
      if (text.charCodeAt(at) === QUOTE) {
        const opening = at;
        let value = '';
        let from = at + 1;
        for (;;) {
          const quote = text.indexOf('"', from);
          if (quote < 0) throw fail(opening, "this quoted field is never closed; the file is truncated or a '\"' is not doubled");
          value += text.slice(from, quote);
          if (text.charCodeAt(quote + 1) !== QUOTE) {
            at = quote + 1;
            break;
          }
          value += '"';
          from = quote + 2;
        }
        // Line breaks inside the quotes still count for the line numbers of later messages.
        for (let i = value.indexOf('\n'); i >= 0; i = value.indexOf('\n', i + 1)) line++;
        if (value.includes('\n')) lineStart = text.lastIndexOf('\n', at) + 1;
        record.fields.push(value);
        if (at < end && text.charCodeAt(at) !== separator && !isBreak(at)) {
          throw fail(at, "text follows a closing quote; quote the whole field and double each '\"' inside it");
        }
      } else {
        let stop = at;
        while (stop < end && text.charCodeAt(stop) !== separator && !isBreak(stop)) {
          if (text.charCodeAt(stop) === QUOTE) throw fail(stop, "a '\"' inside an unquoted field; quote the field and double the '\"'");
          stop++;
        }
        record.fields.push(text.slice(at, stop));
        at = stop;
      }
      if (at >= end || isBreak(at)) break;
      at++; // the delimiter
    }
    yield record;
    if (at < end) skipBreak();
  }
}
