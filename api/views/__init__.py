"""The API's endpoints, one module per area; the token and docs pages in pages.py."""
