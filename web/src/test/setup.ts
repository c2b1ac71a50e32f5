import { afterEach } from 'vitest';
import { cleanup } from '@testing-library/react';

afterEach(() => cleanup());

// jsdom has no layout: the router's scroll to the top is a no-op in tests.
window.scrollTo = (() => {}) as typeof window.scrollTo;
