// The .npy header is a Python dict literal that NumPy reads with ast.literal_eval. This parses
// the subset such a header can hold (str, int, bool, None, tuple, list, dict with str keys) and
// keeps Python's meaning: `(5)` is the int 5, only `(5,)` is a tuple.

export type PyValue =
  | { type: 'str'; value: string }
  | { type: 'int'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'none' }
  | { type: 'tuple' | 'list'; items: PyValue[] }
  | { type: 'dict'; entries: Map<string, PyValue> };

export class PyLiteralError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

const WORD = /True|False|None|[-+]?\d+/y;

/** Parses `text` as one literal surrounded by optional whitespace. `longSuffix` accepts the
 * Python 2 `3L` ints that NumPy still reads in format 1.0 and 2.0 headers. */
export function parsePyLiteral(text: string, longSuffix = false): PyValue {
  let pos = 0;

  const fail = (what: string): never => {
    const found = pos < text.length ? JSON.stringify(text[pos]) : 'the end';
    throw new PyLiteralError(`expected ${what} but found ${found} at offset ${pos}`, pos);
  };
  const skipSpace = (): void => {
    while (pos < text.length && ' \t\r\n\f'.includes(text[pos])) pos++;
  };
  const eat = (token: string): boolean => {
    skipSpace();
    if (!text.startsWith(token, pos)) return false;
    pos += token.length;
    return true;
  };

  const str = (): string => {
    const quote = text[pos++];
    let out = '';
    while (pos < text.length && text[pos] !== quote) {
      const ch = text[pos++];
      if (ch === '\n') fail(`closing ${quote}`);
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      if (!'\\\'"'.includes(text[pos] ?? 'x')) fail('a backslash or quote after a backslash');
      out += text[pos++];
    }
    if (pos >= text.length) fail(`closing ${quote}`);
    pos++;
    return out;
  };

  // Items up to `close`, comma-separated, trailing comma allowed; reports whether a comma was seen.
  const sequence = (close: string, item: () => void): boolean => {
    let comma = false;
    while (!eat(close)) {
      item();
      if (eat(',')) comma = true;
      else if (eat(close)) break;
      else fail(`',' or '${close}'`);
    }
    return comma;
  };

  const value = (): PyValue => {
    skipSpace();
    const ch = text[pos];
    if (ch === "'" || ch === '"') return { type: 'str', value: str() };
    if (ch === '(') {
      pos++;
      const items: PyValue[] = [];
      const comma = sequence(')', () => items.push(value()));
      return items.length === 1 && !comma ? items[0] : { type: 'tuple', items };
    }
    if (ch === '[') {
      pos++;
      const items: PyValue[] = [];
      sequence(']', () => items.push(value()));
      return { type: 'list', items };
    }
    if (ch === '{') {
      pos++;
      const entries = new Map<string, PyValue>();
      sequence('}', () => {
        skipSpace();
        const keyAt = pos;
        if (text[pos] !== "'" && text[pos] !== '"') fail('a quoted dict key');
        const key = str();
        if (entries.has(key)) throw new PyLiteralError(`key '${key}' appears twice`, keyAt);
        if (!eat(':')) fail("':'");
        entries.set(key, value());
      });
      return { type: 'dict', entries };
    }
    WORD.lastIndex = pos;
    const word = WORD.exec(text)?.[0];
    if (word === undefined) return fail('a value');
    pos += word.length;
    if (longSuffix && /\d/.test(word) && text[pos] === 'L') pos++;
    if (/[\w.]/.test(text[pos] ?? '')) fail(`a separator after ${word}`);
    if (word === 'None') return { type: 'none' };
    if (word === 'True' || word === 'False') return { type: 'bool', value: word === 'True' };
    return { type: 'int', value: BigInt(word) };
  };

  const result = value();
  skipSpace();
  if (pos < text.length) fail('the end of the literal');
  return result;
}
