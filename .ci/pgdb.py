"""Create or drop a throwaway PostgreSQL database for one CI run: pgdb.py create|drop NAME."""

import os
import sys

import psycopg

action, name = sys.argv[1], sys.argv[2]
admin_url = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
with psycopg.connect(admin_url, autocommit=True) as conn:
    if action == "create":
        conn.execute(f'CREATE DATABASE "{name}"')
    else:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
