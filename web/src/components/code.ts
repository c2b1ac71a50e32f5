/** Keeps the digits of what was typed or pasted ("123 456", "123-456"), at most `length`. */
export function sanitizeCode(raw: string, length = 6): string {
  return raw.replace(/\D/g, '').slice(0, length);
}
