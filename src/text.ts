/** Makes caller-supplied text safe to record: one line, printable ASCII, bounded length. */
export function printable(value: string, max = 128): string {
  let out = '';
  for (const ch of value.length > max ? value.slice(0, max) : value) {
    const code = ch.codePointAt(0) as number;
    out += code >= 0x20 && code < 0x7f ? ch : `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return value.length > max ? `${out}…` : out;
}
