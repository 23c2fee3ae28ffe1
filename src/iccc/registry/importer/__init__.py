"""The lab line-list importer: readers (CSV/XLSX), header mapping, row validation, pipeline.

Services (`iccc.registry.services`) are the entry points; this package does the work.
"""
