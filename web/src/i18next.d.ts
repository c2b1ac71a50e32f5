// The English catalogs are the type of every `t()` key: a key that is not in them does not compile.
import 'i18next';
import type admin from './locales/en/admin.json';
import type auth from './locales/en/auth.json';
import type common from './locales/en/common.json';
import type profile from './locales/en/profile.json';
import type security from './locales/en/security.json';
import type sso from './locales/en/sso.json';

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'common';
    resources: { admin: typeof admin; auth: typeof auth; common: typeof common; profile: typeof profile; security: typeof security; sso: typeof sso };
  }
}
