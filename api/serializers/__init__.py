"""What the API reads and writes. Writes are validated by the pages' own forms, then
saved by the services the pages call (see api/serializers/forms.py)."""
