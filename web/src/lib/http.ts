import createClient from 'openapi-fetch';
import type { paths } from '@/api/schema';

/**
 * The client without the bearer middleware: for the calls that must not trigger a refresh
 * themselves (the refresh call, sign-in, the public SSO list). Same origin, so the browser
 * sends the `cx_refresh` cookie on `/api/v1/auth/*` and sets `Origin` on POSTs.
 */
export const http = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });
