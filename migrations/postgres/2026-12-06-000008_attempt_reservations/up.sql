-- Attempt reservations: a guess is counted as in flight (`pending`) before it is checked, and
-- settled as a failure or given back after. `reserved_at` lets a reservation whose process died
-- expire instead of holding the budget for ever.
ALTER TABLE login_throttle ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE login_throttle ADD COLUMN reserved_at BIGINT;
ALTER TABLE mfa_throttle ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE mfa_throttle ADD COLUMN reserved_at BIGINT;
