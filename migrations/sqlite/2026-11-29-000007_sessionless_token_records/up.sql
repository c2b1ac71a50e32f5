-- A user's access token is no longer recorded: it names its session (`sid`) and dies with it
-- (`sessions::is_revoked`). Only session-less tokens (client credentials) are recorded, so no
-- new row has a family and the index by family has nothing left to find.
DROP INDEX access_tokens_family;
