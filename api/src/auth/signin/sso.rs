//! The SSO sign-in flow: the callback's outcome, link tokens, connecting an account.
