// Keyboard checks for the journeys.

/**
 * Waits (up to `timeoutMs`) until the element with keyboard focus is the button (or other
 * element) whose accessible label is `label`; fails saying where focus is instead.
 */
export async function focusIsOn(page, label, { timeoutMs = 5_000 } = {}) {
  try {
    await page.waitForFunction(
      (name) => {
        const el = document.activeElement;
        if (!el || el === document.body) return false;
        return (el.getAttribute('aria-label') ?? el.textContent?.trim()) === name;
      },
      label,
      { timeout: timeoutMs },
    );
  } catch {
    const where = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el) return 'nothing';
      return `<${el.tagName.toLowerCase()}> ${el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 60) ?? ''}`;
    });
    throw new Error(`focus should be on "${label}", but it is on ${where}`);
  }
}
