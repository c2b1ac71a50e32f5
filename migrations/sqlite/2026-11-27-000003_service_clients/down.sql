DROP INDEX access_tokens_subject;
DROP TABLE service_clients;
