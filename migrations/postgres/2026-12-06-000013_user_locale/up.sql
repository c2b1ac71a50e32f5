-- The language the user chose for the web app and their mails (`en`, `zh-CN`); NULL: no choice
-- made (the browser's language, else English).
ALTER TABLE users ADD COLUMN locale TEXT;
