"""The PostgreSQL order store: the same repository port as DynamoDB, on psycopg 3."""
