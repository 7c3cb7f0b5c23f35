"""The store: actuals and served forecasts in one SQL database (SQLite by default, PostgreSQL for replicas).

Torch-free, SQLAlchemy Core only. `engine` opens it, `migrations` brings its schema up to date, `schema`
declares the tables, `rows` holds the rules an actual must meet, `actuals` writes them and `actuals_file`
reads them from a `unique_id,ds,y` file.
"""
