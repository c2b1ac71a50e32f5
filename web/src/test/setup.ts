import { afterEach, beforeEach, expect } from 'vitest';
import { cleanup } from '@testing-library/react';
import i18n from '@/lib/i18n';

// Every test renders in English unless it switches; a key missing from the catalog (a raw key
// on screen) fails the test that rendered it.
const missing: string[] = [];
i18n.options.saveMissing = true;
i18n.on('missingKey', (lngs, ns, key) => missing.push(`${lngs.join(',')}:${ns}:${key}`));

beforeEach(async () => {
  missing.length = 0;
  await i18n.changeLanguage('en');
});

afterEach(() => {
  cleanup();
  expect(missing, 'keys missing from the catalog were rendered').toEqual([]);
});

// jsdom has no layout: the router's scroll to the top is a no-op in tests.
window.scrollTo = (() => {}) as typeof window.scrollTo;
