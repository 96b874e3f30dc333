"""Readers, one per source kind: canonical CSV / Parquet / XLSX, the SEN2 Blade export, sql:NAME."""
