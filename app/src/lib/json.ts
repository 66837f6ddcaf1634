// JSON from the engine carries i128 values (funding index, margin, PnL) that can exceed 2^53.
// `parseJson` keeps every integer with more than 15 digits as a string, so no value is
// silently rounded; `big()` turns either form into a bigint.

export function parseJson<T = unknown>(text: string): T {
  let out = '';
  let index = 0;
  let inString = false;
  while (index < text.length) {
    const char = text[index];
    if (inString) {
      out += char;
      if (char === '\\') {
        out += text[index + 1] ?? '';
        index += 2;
        continue;
      }
      if (char === '"') inString = false;
      index += 1;
      continue;
    }
    if (char === '"') {
      inString = true;
      out += char;
      index += 1;
      continue;
    }
    if (char === '-' || (char >= '0' && char <= '9')) {
      let end = index + 1;
      while (end < text.length && /[0-9.eE+-]/.test(text[end])) end += 1;
      const token = text.slice(index, end);
      const digits = token.replace('-', '').length;
      out += /^-?\d+$/.test(token) && digits > 15 ? `"${token}"` : token;
      index = end;
      continue;
    }
    out += char;
    index += 1;
  }
  return JSON.parse(out) as T;
}
