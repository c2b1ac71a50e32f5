/** Initials of a name or an e-mail: "Ada Lovelace" → "AL", "ada@x" → "A". */
export function initials(name: string): string {
  const words = name.replace(/@.*/, '').split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]![0], words[words.length - 1]![0]] : [words[0]?.[0]];
  return letters.filter(Boolean).join('').toUpperCase() || '?';
}

/**
 * The initials in a circle. They are drawn by CSS from `data-initials`, not written as text: the
 * button around them is named "Account menu for …", and visible text that is not part of that
 * name would break WCAG 2.5.3 (Label in Name: axe's `label-content-name-mismatch`).
 */
export function Avatar({ name }: { name: string }) {
  return <span className="avatar" aria-hidden="true" data-initials={initials(name)} />;
}
