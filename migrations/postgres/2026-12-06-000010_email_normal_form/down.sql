-- Nothing to undo: normalised addresses stay valid under the older rules.
SELECT 1;
