"""The database: its schema and migrations, opening it safely, backups and the run lock."""
