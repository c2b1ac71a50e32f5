DROP INDEX refresh_families_user_created;
DROP TABLE password_resets;
